"""The steps of a card: one model load, one pass over the images, then every measure on files.

Every number comes from the library functions the single commands call, and every
intermediate file is written by the writers they use (the records of :mod:`semtool.kinds`,
:func:`semtool.data.csmio.write_csm`), so ``semtool info`` shows how each was made and the
single commands read them. The card's own work is only choosing files and options.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from semtool import _runtime
from semtool.card._runner import Runner
from semtool.errors import UserError

#: The intermediate files of a card, by role.
FILES = {
    "features": "features.h5", "predictions": "predictions.h5", "maps": "maps.h5",
    "maps_predictions": "maps-predictions.h5", "wordnet": "wordnet.h5", "wordnet_all": "wordnet-all.h5",
    "ncsm": "ncsm.h5", "ccsm": "ccsm.h5", "tncsm": "tncsm.h5", "words": "words.h5", "twovtwo": "twovtwo.h5",
    "rsm_semantic": "rsm-semantic.h5", "rsm_spatial": "rsm-spatial.h5", "attack": "attack.h5",
}


@dataclass
class CardOptions:
    """What a card computes besides the defaults (the CLI's options, one to one)."""

    words: str | None = None  # an embeddings file; default MiniLM on the class names
    reference: str | None = None  # a reference csm when the classes have no synsets
    synsets: str | None = None  # a preset name or class<TAB>synset file for the data's classes
    rsm_samples: int = 256
    permutations: int = 1000
    attack: list[float] | None = None
    attack_steps: int = 20
    groups: str | None = None  # a regroup preset or spec file
    matcher: str = "optimal"
    batch_size: int = 100
    limit: int | None = None
    seed: int = 0
    device: str = "auto"
    trust_remote_code: bool = False
    figures: bool = True  # off: tables only (REPORT.md, report.html without figures, summary.json)


@dataclass
class Card:
    """A finished card: its folder, the files by role, what ran and what was reused, notes."""

    outdir: Path
    model: str
    data: str
    files: dict[str, Path]
    runner: Runner
    notes: list[str] = field(default_factory=list)
    reference_name: str = "WordNet"
    layers: list[str] = field(default_factory=list)
    last: str = ""
    same_classes: bool = True
    meta: dict[str, Any] = field(default_factory=dict)


def _grouped(images: Any, spec: str, data: str) -> Any:
    """The imageset with the semantic (and visual) groups of a regroup preset or spec file."""
    from semtool.data.groupings import PRESETS, preset, read_spec

    if spec in PRESETS:
        g = preset(spec, images.classes, option="--groups")
    elif Path(spec).is_file():
        g = read_spec(spec)
    else:
        raise UserError(f"--groups: '{spec}' is neither a preset ({', '.join(PRESETS)}) nor a spec file")
    g.check_against(images.classes, f"--groups {spec}")
    out = {"groups": np.full(len(images.classes), -1, np.int64), "group_names": list(g.group_names)}
    if g.visual_groups is not None:
        out["visual_groups"] = np.full(len(images.classes), -1, np.int64)
        out["visual_group_names"] = list(g.visual_group_names)
    for k, c in enumerate(g.classes):
        i = images.classes.index(c)
        out["groups"][i] = g.groups[k]
        if g.visual_groups is not None:
            out["visual_groups"][i] = g.visual_groups[k]
    return dataclasses.replace(images, **out)


def _is_semtool_file(path: str) -> bool:
    from semtool.data.csmio import is_hdf5_path

    return is_hdf5_path(path)


def _synsets(images: Any, scored: Any, opts: CardOptions, data: str) -> list[str] | None:
    """WordNet synsets of the model's classes: the model's, the data's, or --synsets."""
    from semtool.semantics.wordnet import PRESETS, synsets_for

    if opts.synsets is not None:
        if scored.classes != images.classes:
            raise UserError("--synsets: names synsets of the data's classes, but the model's classes differ "
                            "(a pretrained network brings its own synsets)")
        if opts.synsets in PRESETS:
            return synsets_for(images.classes, preset=opts.synsets)
        return synsets_for(images.classes, mapping=Path(opts.synsets))
    syn = scored.synsets
    if syn is not None and all(s and s.strip() for s in syn):
        return list(syn)
    return None


def make_card(model: str, data: str, outdir: str | os.PathLike, opts: CardOptions | None = None) -> Card:
    """Compute (or reuse) every step of a card for ``model`` on ``data`` into ``outdir``.

    Steps: one pass over the images for the features of ``pixels`` and the main stages
    (mean-pooled), the clean predictions, and the last stage's whole maps of the first
    ``rsm_samples`` images; the WordNet CSM; NCSM; CCSM; TNCSM of the last stage; the
    word space; 2 vs 2 per layer (and 1 vs 2 on the mistakes); semantic and
    spatio-semantic RSMs; the optional PGD sweep. A step whose files exist with the
    same inputs (SHA-256) and options is reused.
    """
    from semtool.models.features import PIXELS, block_names
    from semtool.models.loading import groupings, in_model_classes, load_model_and_data

    opts = opts or CardOptions()
    out = Path(outdir)
    files = {k: out / v for k, v in FILES.items()}
    if opts.rsm_samples < 4:
        raise UserError(f"--rsm-samples: expected at least 4, got {opts.rsm_samples}")
    if opts.permutations < 1:
        raise UserError(f"--permutations: expected at least 1, got {opts.permutations}")
    net, meta, images, dev = load_model_and_data(model, data, opts.device, same_classes=False, limit=opts.limit,
                                                 trust_remote_code=opts.trust_remote_code, needs_logits="report")
    if opts.groups is not None:
        images = _grouped(images, opts.groups, data)
    scored = in_model_classes(images, meta, data, model)
    if len(images.classes) < 4:
        raise UserError(f"{data}: {len(images.classes)} classes; a card needs at least 4 (2 vs 2 compares pairs "
                        "of classes against the others)")
    synsets = _synsets(images, scored, opts, data)
    if synsets is None and opts.reference is None:
        raise UserError(f"{data}: its classes have no WordNet synsets, so the WordNet CSM, SAI and IDM against "
                        "WordNet would be skipped; add synsets (--synsets PRESET|FILE, or 'semtool dataset … "
                        "--synsets') or give --reference CSM")
    same = list(scored.classes) == list(images.classes)
    out.mkdir(exist_ok=True)  # only now: bad input leaves nothing behind
    _runtime.rerun_hint = f"the finished steps stay in {out}; rerun the same command to go on from them"
    layers = [PIXELS] + block_names(net)
    last = layers[-1]
    card = Card(out, model, data, files, Runner(0), layers=layers, last=last, same_classes=same, meta=meta)
    present = sorted(set(scored.labels.tolist()))
    n = len(images.labels)
    rsm_n = min(opts.rsm_samples, n)
    steps = 9 + (synsets is not None and len(present) < len(scored.classes)) + (opts.attack is not None)
    card.runner = runner = Runner(steps)
    model_in = [model, data]

    # 1. one pass: features of every layer, clean predictions, the last stage's maps of the first images
    ex_params = {"layers": layers, "pool": "mean", "maps_layer": last, "rsm_samples": rsm_n,
                 "batch_size": opts.batch_size, "limit": opts.limit, "groups": opts.groups}

    def extract() -> None:
        import contextlib

        from semtool._progress import progress
        from semtool.kinds import Grouping
        from semtool.kinds.features import FeaturesWriter
        from semtool.kinds.predictions import CleanPredictionsWriter
        from semtool.models.features import iter_outputs

        requests = {name: (name, "mean") for name in layers}
        requests["\0maps"] = (last, "none")

        def predictions_writer(path: Path, part: Any, n_rows: int) -> CleanPredictionsWriter:
            return CleanPredictionsWriter(path, n_rows, labels=part.labels, classes=part.classes, synsets=part.synsets,
                                          groups=Grouping.of(part.groups, part.group_names),
                                          visual_groups=Grouping.of(part.visual_groups, part.visual_group_names),
                                          force=True, parameters=ex_params, inputs=model_in)

        head = images.subset(slice(0, rsm_n))
        with contextlib.ExitStack() as st:
            feats = st.enter_context(FeaturesWriter(files["features"], n, labels=images.labels, classes=images.classes,
                                                    synsets=images.synsets, pool="mean", batch_size=opts.batch_size,
                                                    force=True, parameters=ex_params, inputs=model_in))
            preds = st.enter_context(predictions_writer(files["predictions"], scored, n))
            maps = st.enter_context(FeaturesWriter(files["maps"], rsm_n, labels=head.labels, classes=head.classes,
                                                   synsets=head.synsets, pool="none", batch_size=opts.batch_size,
                                                   force=True, parameters=ex_params, inputs=model_in))
            mpreds = st.enter_context(predictions_writer(files["maps_predictions"], scored.subset(slice(0, rsm_n)),
                                                         rsm_n))
            bar = st.enter_context(progress(n, "features", unit="images"))
            for start, out_, logits in iter_outputs(net, images.images, requests, batch_size=opts.batch_size,
                                                    device=dev, logits=True):
                m = out_.pop("\0maps")
                feats.add(start, out_)
                preds.add(start, logits)
                if start < rsm_n:
                    maps.add(start, {last: m[:rsm_n - start]})
                    mpreds.add(start, logits[:rsm_n - start])
                bar.advance(len(logits))

    runner.step("features and predictions (one pass)",
                [files[k] for k in ("features", "predictions", "maps", "maps_predictions")], ex_params, model_in, extract)

    # 2. the reference: WordNet over the classes in the data (and over all the model's, for IDM)
    if synsets is not None:
        _wordnet_steps(card, runner, scored, synsets, present)
    else:
        card.reference_name = "the reference CSM"
        files["wordnet"] = files["wordnet_all"] = Path(opts.reference)
        runner.skip("WordNet CSM", f"no synsets; --reference {opts.reference} instead")

    # 3–5. network CSMs
    _csm_steps(card, runner, net, meta, model_in)

    # 6. the word space
    if opts.words is not None and _is_semtool_file(opts.words):
        files["words"] = Path(opts.words)
        runner.skip("word space", f"--words {opts.words}")
    elif opts.words is not None:  # a word2vec / GloVe / fastText file, read as 'embed --vectors' reads it
        vectors = Path(opts.words)
        v_params = {"words": None, "concepts_from": str(files["features"]), "preset": None, "vectors": str(vectors),
                    "vectors_bytes": vectors.stat().st_size, "phrases": "mean", "require_all": True}

        def word_vectors() -> None:
            from semtool.semantics.vectors import read_vectors, vector_embeddings

            r = read_vectors(vectors, images.classes, phrases="mean")
            if r.missing:
                raise UserError(f"--words {vectors}: {len(r.missing)} of {len(images.classes)} classes not found "
                                f"({', '.join(r.missing[:5])}); 2 vs 2 needs a vector for every class")
            vector_embeddings(r, vectors, phrases="mean").write(files["words"], force=True, parameters=v_params,
                                                               inputs=[files["features"]])

        runner.step(f"word space ({vectors.name})", [files["words"]], v_params, [files["features"]], word_vectors)
    else:
        w_params = {"words": None, "concepts_from": str(files["features"]), "preset": None, "model": None,
                    "template": "{}"}

        def words() -> None:
            from semtool.kinds import Embeddings
            from semtool.semantics.text import default_model, embed_texts

            name = default_model()
            vectors = embed_texts(images.classes, model=name, template="{}", device="cpu")
            Embeddings(str(files["words"]), vectors, images.classes, "text",
                       {"model": name, "template": "{}", "pooling": "mean"}).write(
                files["words"], force=True, command="embed", parameters=w_params, inputs=[files["features"]])

        runner.step("word space (MiniLM on the class names)", [files["words"]], w_params, [files["features"]], words)

    # 7. 2 vs 2 per layer, 1 vs 2 on the mistakes
    one_vs_two = files["predictions"] if same else None
    if not same:
        card.notes.append("1 vs 2 is not run: the model's classes are not the data's (the test needs the mistakes "
                          "among the data's classes)")
    tv_params = {"layers": "all", "permutations": opts.permutations, "seed": opts.seed, "common": False,
                 "drop_constant": False, "one_vs_two": str(one_vs_two) if one_vs_two else None,
                 "exclude_predicted": False, "null": "rows", "min_reference": 3}
    tv_inputs = [files["features"], files["words"]] + ([one_vs_two] if one_vs_two else [])

    def twovtwo() -> None:
        from semtool.analyse.files import two_vs_two_files, twovtwo_record

        try:
            concepts, results = two_vs_two_files(files["features"], files["words"], one_vs_two=one_vs_two,
                                                 permutations=opts.permutations, seed=opts.seed)
        except UserError as exc:  # 1 vs 2 needs mistakes and correctly classified concepts; 2 vs 2 does not
            if one_vs_two is None or not str(exc).startswith("1 vs 2"):
                raise
            card.notes.append(f"1 vs 2 is not computed ({str(exc)[len('1 vs 2: '):]})")
            concepts, results = two_vs_two_files(files["features"], files["words"], permutations=opts.permutations,
                                                 seed=opts.seed)
        twovtwo_record(files["twovtwo"], results, concepts, permutations=opts.permutations, seed=opts.seed).write(
            files["twovtwo"], force=True, command="twovtwo", parameters=tv_params, inputs=tv_inputs)

    runner.step("2 vs 2 per layer" + (" and 1 vs 2" if one_vs_two else ""), [files["twovtwo"]], tv_params,
                tv_inputs, twovtwo)

    # 8–9. RSMs of the last stage
    for semantic, key in ((True, "rsm_semantic"), (False, "rsm_spatial")):
        _rsm_step(card, runner, semantic, key, opts)

    # 10. the PGD sweep
    if opts.attack is not None:
        _attack_step(card, runner, net, meta, scored, dev, opts, model_in, groupings)
    return card


def _wordnet_steps(card: Card, runner: Runner, scored: Any, synsets: list[str], present: list[int]) -> None:
    from semtool.data.csmio import write_csm

    files = card.files
    targets = [("wordnet", present)]
    if len(present) < len(scored.classes):
        targets.append(("wordnet_all", list(range(len(scored.classes)))))
    else:
        files["wordnet_all"] = files["wordnet"]
    for key, idx in targets:
        classes = [scored.classes[i] for i in idx]
        names = [synsets[i] for i in idx]
        params = {"preset": None, "measure": "path", "classes": classes, "synsets": names}

        def work(classes=classes, names=names, key=key, params=params) -> None:
            from semtool.semantics.wordnet import resolve_synset, wordnet
            from semtool.semantics.wordnet_csm import wordnet_csm

            syns = [resolve_synset(s, origin=f"class '{c}'") for c, s in zip(classes, names)]
            write_csm(files[key], wordnet_csm(syns, "path", reader=wordnet()), classes, source="wordnet",
                      measure="path", synsets=[s.name() for s in syns], force=True, parameters=params, inputs=[])

        what = "the data's classes" if key == "wordnet" else "all the model's classes"
        runner.step(f"WordNet CSM ({what})", [files[key]], params, [], work)


def _csm_steps(card: Card, runner: Runner, net: Any, meta: dict[str, Any], model_in: list[Any]) -> None:
    from semtool.data.csmio import write_csm
    from semtool.measure.csm import ncsm, tncsm
    from semtool.models import classifier_weight

    files = card.files
    try:
        key, weight = classifier_weight(net, meta)
    except UserError as exc:
        key, weight = None, None
        card.notes.append(f"NCSM and WSI are not computed: {exc}")
    if weight is not None and weight.shape[0] != len(meta["classes"]):
        card.notes.append(f"NCSM and WSI are not computed: head '{key}' has {weight.shape[0]} rows for "
                          f"{len(meta['classes'])} classes")
        weight = None
    if weight is None:
        files.pop("ncsm")
        runner.skip("NCSM", "no classifier head")
    else:
        n_params = {"head": key, "classes": None, "weights": str(meta.get("weights"))}
        runner.step("NCSM (classifier weights)", [files["ncsm"]], n_params, model_in[:1], lambda: write_csm(
            files["ncsm"], ncsm(weight), list(meta["classes"]), source="ncsm", measure="cosine",
            synsets=meta.get("synsets"), groups=meta.get("groups"),
            group_names=meta.get("group_names") if meta.get("groups") is not None else None, force=True,
            parameters=n_params, inputs=model_in[:1]))

    c_params = {"eps": None, "symmetric": False, "all_classes": False}

    def confusion() -> None:  # as `semtool csm ccsm PREDICTIONS` makes it
        from semtool.analyse.files import ccsm_file

        ccsm_file(files["predictions"])[0].write(files["ccsm"], force=True, parameters=c_params,
                                                 inputs=[files["predictions"]])

    runner.step("CCSM (clean confusions)", [files["ccsm"]], c_params, [files["predictions"]], confusion)

    t_params = {"layer": card.last, "pool": "mean"}

    def template() -> None:
        from semtool.kinds import Features

        feats = Features.read(files["features"], [card.last])
        write_csm(files["tncsm"], tncsm(feats.layers[card.last], feats.labels, len(feats.classes), pool="mean"),
                  feats.classes, source="tncsm", measure="cosine", synsets=feats.synsets, force=True,
                  parameters=t_params, inputs=[files["features"]])

    runner.step(f"TNCSM ({card.last})", [files["tncsm"]], t_params, [files["features"]], template)


def _rsm_step(card: Card, runner: Runner, semantic: bool, key: str, opts: CardOptions) -> None:
    from semtool.measure.matching import get_matcher

    files = card.files
    if semantic:
        from semtool.analyse.files import layer_set_size

        if layer_set_size(files["maps"], card.last) == 1:
            files.pop(key)
            card.notes.append(f"the semantic RSM is not computed: the last stage ({card.last}) has one position per "
                              "image, so there is nothing to match (it would equal the spatio-semantic RSM)")
            runner.skip("semantic RSM", f"{card.last} has one position per image")
            return
    spec = get_matcher(opts.matcher).name if semantic else "none"
    params = {"layer": card.last, "kernel": "cosine", "sigma": "median", "semantic": semantic, "matcher": spec,
              "samples": None, "seed": opts.seed, "device": "cpu", "workers": 1, "quality_pairs": 200}
    inputs = [files["maps"], files["maps_predictions"]]

    def work() -> None:
        from semtool.analyse.files import rsm_file

        r = rsm_file(files["maps"], card.last, kernel="cosine", semantic=semantic, matcher=spec, evaluate=True,
                     predictions=files["maps_predictions"], seed=opts.seed)
        r.record(files[key]).write(files[key], force=True, command="rsm", parameters=params, inputs=inputs)

    what = "semantic RSM (positions matched)" if semantic else "spatio-semantic RSM"
    runner.step(f"{what}, {card.last}", [files[key]], params, inputs, work)


def _attack_step(card: Card, runner: Runner, net: Any, meta: dict[str, Any], scored: Any, dev: Any,
                 opts: CardOptions, model_in: list[Any], groupings: Any) -> None:
    from semtool.data.csmio import read_reference
    from semtool.kinds import Predictions

    files = card.files
    csm_path = files["wordnet_all"]
    params = {"eps": list(opts.attack), "steps": opts.attack_steps, "step_size": None, "random_start": False,
              "targeted": None, "use_best": False, "batch_size": opts.batch_size, "seed": opts.seed,
              "limit": opts.limit, "groups": opts.groups}
    inputs = model_in + [csm_path]

    def work() -> None:
        from semtool.attack import sweep

        ref = read_reference(csm_path, scored.classes, option="--csm")[1]
        groups = groupings(scored, meta)
        res = sweep(net, scored.images, scored.labels, opts.attack, steps=opts.attack_steps,
                    batch_size=opts.batch_size, device=dev, seed=opts.seed,
                    groups=None if groups["groups"] is None else groups["groups"].index,
                    visual_groups=None if groups["visual_groups"] is None else groups["visual_groups"].index, csm=ref)
        Predictions(str(files["attack"]), res.labels, res.predictions, scored.classes, res.epsilons, groups["groups"],
                    groups["visual_groups"], scored.synsets, res.logits, attrs={"attack": "pgd-l2"}).write(
            files["attack"], force=True, command="attack", parameters=params, inputs=inputs)

    runner.step(f"L2 PGD sweep (ε = {', '.join(f'{e:g}' for e in opts.attack)})", [files["attack"]], params,
                inputs, work)


def log(message: str) -> None:
    _runtime.log(message)
