"""``semtool regroup``: keep some classes of an imageset and give them semantic groups."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from semtool.cli._common import ForceOpt, OutputOpt, guarded, wrote


@guarded
def regroup(
    input: Annotated[Path, typer.Argument(metavar="INPUT", help="imageset file to regroup.", show_default=False)],
    output: OutputOpt,
    preset: Annotated[Optional[str], typer.Option(
        "--preset", metavar="NAME", show_default=False,
        help="A named grouping: abreu2023 (CIFAR-100) or fashion-mnist.")] = None,
    latin: Annotated[bool, typer.Option("--latin", help="Latin-square grouping from visual superclasses.")] = False,
    spec: Annotated[Optional[Path], typer.Option(
        "--spec", metavar="FILE", show_default=False, help="A grouping written by hand (.json or .toml).")] = None,
    visual: Annotated[int, typer.Option("--visual-superclasses", metavar="V",
                                        help="--latin: how many visual superclasses.")] = 5,
    per_superclass: Annotated[int, typer.Option("--per-superclass", metavar="K",
                                                help="--latin: classes taken from each (= semantic groups).")] = 5,
    superclasses: Annotated[Optional[Path], typer.Option(
        "--superclasses", metavar="FILE", show_default=False,
        help="--latin: 'class<TAB>superclass' lines instead of the imageset's coarse classes.")] = None,
    order: Annotated[str, typer.Option("--order", metavar="alphabetical|shuffled",
                                       help="--latin: take superclasses and classes alphabetically or shuffled by --seed.")] = "alphabetical",
    seed: Annotated[int, typer.Option("--seed", help="--latin --order shuffled: random seed.", min=0)] = 0,
    force: ForceOpt = False,
) -> None:
    """Regroup an imageset into semantic groups that disagree with visual similarity (Abreu et al. 2023).

    Give exactly one of --preset, --latin, --spec. Keeps only the chosen classes and relabels
    them group by group (A's classes first, each group in its visual superclasses' order),
    storing groups, visual_groups, their names and the synsets.

    \b
    --preset abreu2023 (Table 1, from CIFAR-100; visual groups = coarse classes):
      group  flowers    household_furniture  insects      large_carnivores  vehicles_1
      A      orchid     bed                  bee          bear              bicycle
      B      poppy      chair                beetle       leopard           bus
      C      rose       couch                butterfly    lion              motorcycle
      D      sunflower  table                caterpillar  tiger             pickup_truck
      E      tulip      wardrobe             cockroach    wolf              train

    \b
    --preset fashion-mnist (tops and footwear spread over groups; '-': no visual group):
      group   tops         footwear    -
      summer  T-shirt/top  Sandal      Dress
      sport   Pullover     Sneaker
      winter  Coat         Ankle boot  Trouser
      office  Shirt                    Bag

    --latin picks V visual superclasses (the imageset's coarse classes, or --superclasses
    FILE) and K classes of each; semantic group j takes the j-th class of every superclass.

    --spec FILE (JSON or TOML): {"groups": {"A": ["orchid", "bed"], ...},
    "visual_groups": {"flowers": ["orchid", ...], ...}} (visual_groups optional).
    """
    from semtool import store
    from semtool.data import groupings as G
    from semtool.data.imageset import read_imageset, summary, write_imageset
    from semtool.errors import UserError

    chosen = [name for name, on in (("--preset", preset is not None), ("--latin", latin), ("--spec", spec is not None)) if on]
    if len(chosen) != 1:
        raise UserError("give exactly one of --preset, --latin, --spec" + (f" (got {', '.join(chosen)})" if chosen else ""))
    store.check_output(output, force=force, kind="imageset")
    meta = read_imageset(input, images=False)
    if preset is not None:
        grouping = G.preset(preset, meta.classes)
    elif spec is not None:
        grouping = G.read_spec(spec)
        grouping.check_against(meta.classes, str(spec))
    else:
        if superclasses is not None:
            table = G.read_superclasses(superclasses)
            G.check_classes(list(table), meta.classes, str(superclasses))
        elif meta.coarse_labels is not None and meta.coarse_classes:
            table = G.superclasses_from_coarse(meta.classes, meta.labels, meta.coarse_labels, meta.coarse_classes,
                                               store.display_name(input))
        else:
            raise UserError(f"{input}: no coarse classes for --latin; give --superclasses FILE (class<TAB>superclass)")
        grouping = G.latin(table, visual=visual, per_group=per_superclass, order=order, seed=seed)
    data = read_imageset(input, keep=G.kept_samples(meta.labels, meta.classes, grouping))
    out = G.regroup(data, grouping)
    parameters = {"preset": preset, "latin": latin, "spec": str(spec) if spec else None,
                  "grouping": grouping.name, "classes": grouping.classes, "group_names": grouping.group_names}
    if latin:
        parameters.update(visual_superclasses=visual, per_superclass=per_superclass, order=order, seed=seed,
                          superclasses=str(superclasses) if superclasses else None)
    write_imageset(output, out, force=force, command="regroup", parameters=parameters,
                   inputs=[str(input)] + ([str(spec)] if spec else []))
    wrote(output, f"{summary(out)}, {len(grouping.group_names)} groups")


def register(app: typer.Typer) -> None:
    app.command("regroup")(regroup)
