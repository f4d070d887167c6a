"""``semtool report MODEL DATA -o OUTDIR``: a semantic-alignment card; ``--zoo FILE``: one per model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from semtool.cli._common import SeedOpt, TrustOpt, DeviceOpt, guarded, parse_floats


@guarded
def report(
    model: Annotated[Optional[str], typer.Argument(
        help="Model specification: a semtool model file, torchvision:NAME[:WEIGHTS], a Hugging Face folder or "
        "hf:ID, timm:NAME. With --zoo, leave it out (the one argument is DATA).", show_default=False)] = None,
    data: Annotated[Optional[Path], typer.Argument(
        help="Imageset whose classes the model knows (matched by synset, else name).", show_default=False)] = None,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="Folder of the card (made if missing; an existing card is resumed: steps whose "
        "inputs and options are unchanged are reused).")] = None,
    words: Annotated[Optional[Path], typer.Option(
        "--words", help="Word space for 2 vs 2: an embeddings file (semtool embed) naming the data's classes, or "
        "a word2vec / GloVe / fastText file read as 'embed --vectors' reads it (every class must be found) "
        "(default: MiniLM sentence embeddings of the class names).")] = None,
    reference: Annotated[Optional[Path], typer.Option(
        "--reference", help="A reference csm file used in place of the WordNet CSM (classes without synsets).")] = None,
    synsets: Annotated[Optional[str], typer.Option(
        "--synsets", help="WordNet synsets of the data's classes: a preset (cifar100, cifar10, fashion-mnist, "
        "imagenet) or a class<TAB>synset file (default: the model's, else the imageset's).")] = None,
    rsm_samples: Annotated[int, typer.Option(
        "--rsm-samples", help="Images (the first N) for the semantic and spatio-semantic RSMs.")] = 256,
    permutations: Annotated[int, typer.Option(
        "--permutations", help="Permutations of the 2 vs 2 / 1 vs 2 nulls.")] = 1000,
    attack: Annotated[Optional[str], typer.Option(
        "--attack", help="Also run the L2 PGD sweep at these radii, e.g. 0,0.25,0.5,1 ([0, 1] pixel units).")] = None,
    attack_steps: Annotated[int, typer.Option("--attack-steps", help="PGD steps per radius.")] = 20,
    groups: Annotated[Optional[str], typer.Option(
        "--groups", help="Semantic (and visual) groups for the attack's superclass measures: a regroup preset "
        "(abreu2023, fashion-mnist) or a spec file (.json/.toml); default: the imageset's groups.")] = None,
    matcher: Annotated[str, typer.Option(
        "--matcher", help="Matcher of the semantic RSM: optimal, batch-optimal:K or greedy.")] = "optimal",
    batch_size: Annotated[int, typer.Option("--batch-size", help="Images per batch.", min=1)] = 100,
    limit: Annotated[Optional[int], typer.Option("--limit", help="Only the first N images.")] = None,
    figures: Annotated[bool, typer.Option(
        "--figures/--no-figures", help="Draw the figures (off: tables only, faster for a large zoo).")] = True,
    zoo: Annotated[Optional[str], typer.Option(
        "--zoo", help="A file listing model specifications (one per line, '#' comments): one card per model in "
        "OUTDIR/cards/ plus zoo.tsv, zoo.json and figures across models. 'torchvision-imagenet' prints (without "
        "DATA) or uses every torchvision ImageNet-1k classification weight.")] = None,
    shard: Annotated[Optional[str], typer.Option(
        "--shard", help="With --zoo: do only part I of N (I in 1..N; model k goes to part k mod N + 1), for a "
        "SLURM array or a loop over GPUs; under torchrun each rank takes its part. Finish with --merge.")] = None,
    merge: Annotated[bool, typer.Option(
        "--merge", help="With --zoo: gather the parts' results into zoo.tsv, zoo.json and figures.")] = False,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    trust_remote_code: TrustOpt = False,
) -> None:
    """A semantic-alignment card for one network, or a sweep over a model zoo.

    The card runs, with one model load and one pass over the images: clean predictions →
    CCSM; NCSM; TNCSM of the last stage; the WordNet CSM of the classes; SAI (cosine and
    SSIM) of each against WordNet; IDM (WordNet- and network-based, all samples and
    mistakes only) and WSI (Filus et al.); 2 vs 2 per layer (pixels and the main stages)
    against a word space with permutations, and 1 vs 2 on the mistakes (Dharmaretnam &
    Fyshe 2018); semantic vs spatio-semantic RSM retrieval and prediction-similarity
    correlation (Wald et al. 2024); optionally the L2 PGD mistake-severity sweep (Abreu,
    Vaska, Helus 2023). Every intermediate file stays in OUTDIR with its provenance (the
    single commands read them); REPORT.md, a self-contained report.html and summary.json
    read each number against its chance level. SAI's chance level is SAI after shuffling
    the reference's classes (median of 200 draws), IDM's the value of uniformly random
    mistakes, retrieval's a random other image. One line per step on stderr; -q silences them.
    """
    from semtool.card.zoo import run_zoo, torchvision_imagenet

    if zoo is not None:
        if data is None and model is not None:
            model, data = None, Path(model)
        if model is not None:
            from semtool.errors import UserError

            raise UserError("--zoo: give DATA only (the models come from the zoo list)")
        if data is None and not merge:
            if zoo == "torchvision-imagenet":
                for spec in torchvision_imagenet():
                    print(spec)
                return
        run_zoo(zoo, data, _outdir(output), _options(locals()), shard=shard, merge=merge)
        return
    from semtool.errors import UserError

    if shard is not None or merge:
        raise UserError("--shard and --merge split a zoo; add --zoo FILE")
    if model is None or data is None:
        raise UserError("give MODEL and DATA (or --zoo FILE DATA)")
    from semtool.card import report as make_report

    card, nums = make_report(model, str(data), _outdir(output), _options(locals()))
    from semtool import _runtime

    _runtime.log(f"card: {card.outdir / 'report.html'} ({len(card.runner.ran)} step(s) run, "
                 f"{len(card.runner.reused)} reused)")


def _outdir(output: Optional[Path]) -> Path:
    from semtool.errors import UserError

    if output is None:
        raise UserError("-o: give the folder for the card")
    if output.exists() and not output.is_dir():
        raise UserError(f"-o {output}: is a file; give a folder")
    if not output.parent.exists():
        raise UserError(f"-o {output}: its folder {output.parent} does not exist")
    return output


def _options(values: dict):
    from semtool.card import CardOptions
    from semtool.errors import UserError

    v = values
    if v["rsm_samples"] < 4:
        raise UserError(f"--rsm-samples: expected at least 4, got {v['rsm_samples']}")
    if v["permutations"] < 1:
        raise UserError(f"--permutations: expected at least 1, got {v['permutations']}")
    for opt, path in (("--words", v["words"]), ("--reference", v["reference"])):
        if path is not None and not Path(path).is_file():
            raise UserError(f"{opt} {path}: no such file")
    return CardOptions(words=str(v["words"]) if v["words"] else None,
                       reference=str(v["reference"]) if v["reference"] else None, synsets=v["synsets"],
                       rsm_samples=v["rsm_samples"], permutations=v["permutations"],
                       attack=parse_floats(v["attack"], "--attack") if v["attack"] else None,
                       attack_steps=v["attack_steps"], groups=v["groups"], matcher=v["matcher"],
                       batch_size=v["batch_size"], limit=v["limit"], seed=v["seed"], device=v["device"],
                       trust_remote_code=v["trust_remote_code"], figures=v["figures"])


def register(app: typer.Typer) -> None:
    app.command("report")(report)
