"""The card's numbers, read from its files through the functions the single commands call.

``sai`` = :func:`semtool.data.csmio.read_aligned` + :func:`semtool.measure.sai.sai` (``semtool
sai A B --intersect``); ``idm`` = :func:`semtool.analyse.files.idm_files` (``semtool idm``);
``wsi`` = :func:`semtool.measure.wsi.wsi` (``semtool wsi``); 2 vs 2 and RSM numbers are the
ones their files hold. Chance levels come from :mod:`semtool.measure` too.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from semtool.errors import UserError

#: SAI chance levels: draws of shuffled classes (:func:`semtool.measure.sai.sai_null`).
SAI_NULL_DRAWS = 200
#: Network CSMs compared with the reference, in table order.
NETWORK_CSMS = (("ncsm", "NCSM (classifier weights)"), ("ccsm", "CCSM (clean confusions)"),
                ("tncsm", "TNCSM (class-mean features)"))


def _num(x: Any) -> float | None:
    """JSON-safe float: NaN -> None."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def accuracy(card: Any) -> dict[str, Any]:
    from semtool.data.csmio import read_predictions
    from semtool.measure.attack_metrics import severity

    p = read_predictions(card.files["predictions"])
    s = severity(p.labels, p.predicted[0])
    k = len(p.classes)
    return {"accuracy": _num(s["accuracy"]), "chance": 1.0 / k, "samples": int(p.labels.size),
            "mistakes": int(s["mistakes"]), "model_classes": k,
            "data_classes": int(len(set(p.labels.tolist())))}


def sai_rows(card: Any, seed: int) -> list[dict[str, Any]]:
    from semtool.data.csmio import read_aligned
    from semtool.measure.sai import sai, sai_null

    rows = []
    for key, what in NETWORK_CSMS:
        if key not in card.files or not card.files[key].exists():
            continue
        a, b, ma, mb, classes = read_aligned(card.files[key], card.files["wordnet"], intersect=True)
        for measure in ("cosine", "ssim"):
            row: dict[str, Any] = {"csm": key, "what": what, "measure": measure, "classes": len(classes),
                                   "file": card.files[key].name, "reference": card.files["wordnet"].name}
            if len(classes) < 2 or (measure == "ssim" and len(classes) < 8):
                row.update({"sai": None, "chance": None, "null_95": None,
                            "note": f"{len(classes)} classes: SSIM needs at least 8" if measure == "ssim"
                            else "fewer than 2 shared classes"})
            else:
                null = sai_null(ma, mb, measure, permutations=SAI_NULL_DRAWS, seed=seed)
                row.update({"sai": _num(sai(ma, mb, measure, names=(a.path, b.path))),
                            "chance": _num(np.median(null)), "null_95": _num(np.percentile(null, 95))})
            rows.append(row)
    return rows


def idm_rows(card: Any, acc: dict[str, Any]) -> list[dict[str, Any]]:
    from semtool.analyse.files import idm_files
    from semtool.measure.idm import idm_chance

    rows = []
    refs = [("wordnet_all", "WordNet-based" if card.reference_name == "WordNet" else "reference-based"),
            ("ncsm", "network-based (own NCSM)")]
    for key, what in refs:
        if key not in card.files or not card.files[key].exists():
            continue
        for errors_only in (False, True):
            p, c, values, _ = idm_files(card.files["predictions"], card.files[key], errors_only=errors_only)
            k = len(p.classes)
            chance = idm_chance(k) if errors_only else idm_chance(k, accuracy=acc["accuracy"] or 0.0)
            rows.append({"csm": key, "what": what, "errors_only": errors_only, "idm": _num(values[0]),
                         "chance": _num(chance), "file": card.files[key].name})
    return rows


def wsi_row(card: Any) -> dict[str, Any] | None:
    from semtool.data.csmio import read_csm
    from semtool.measure.wsi import wsi

    if "ncsm" not in card.files or not card.files["ncsm"].exists():
        return None
    v = wsi(read_csm(card.files["ncsm"]).matrix)
    return {k: _num(v[k]) for k in ("mean", "max", "min")}


def twovtwo_rows(card: Any) -> list[dict[str, Any]]:
    from semtool import store
    from semtool.report.twovtwo import null_threshold

    with store.open_file(card.files["twovtwo"], "twovtwo") as f:
        layers = store.read_strings(f["layers"])
        acc, p, null = f["accuracy"][...], f["p_value"][...], f["null"][...]
        tests = int(np.asarray(f["tests"][...]).reshape(-1)[0])
        one = {k: f["one_vs_two"][k][...] for k in ("accuracy", "tests", "p_value")} if "one_vs_two" in f else None
    q95 = null_threshold(null)
    rows = []
    for i, layer in enumerate(layers):
        row = {"layer": layer, "accuracy": _num(acc[i]), "p_value": _num(p[i]), "null_95": _num(q95[i]),
               "tests": tests, "chance": 0.5}
        if one is not None:
            row.update({"one_vs_two_accuracy": _num(one["accuracy"][i]), "one_vs_two_tests": int(one["tests"][i]),
                        "one_vs_two_p_value": _num(one["p_value"][i])})
        rows.append(row)
    return rows


def rsm_rows(card: Any) -> list[dict[str, Any]]:
    from semtool import store
    from semtool.measure.rsm import retrieval_chance

    rows = []
    for key, what in (("rsm_spatial", "spatio-semantic (flattened maps)"),
                      ("rsm_semantic", "semantic (positions matched)")):
        if key not in card.files:
            continue
        with store.open_file(card.files[key], "rsm") as f:
            at = dict(f.attrs)
            labels = f["labels"][...]
        rows.append({"rsm": key, "what": what, "samples": int(labels.size),
                     "top1": _num(at.get("eval_top1")), "f1_at_1": _num(at.get("eval_f1_at_1")),
                     "pearson": _num(at.get("eval_pearson")), "spearman": _num(at.get("eval_spearman")),
                     "top1_chance": _num(retrieval_chance(labels))})
    return rows


def attack_rows(card: Any) -> list[dict[str, Any]]:
    from semtool.data.csmio import read_predictions, read_reference
    from semtool.measure.attack_metrics import mistake_chance, severity

    path = card.files["attack"]
    if not path.exists():
        return []
    p = read_predictions(path)
    ref = read_reference(card.files["wordnet_all"], p.classes, option="--csm")[1]
    g = None if p.groups is None else p.groups.index
    vg = None if p.visual_groups is None else p.visual_groups.index
    sem_chance = _num(mistake_chance(p.labels, g, len(p.classes))) if g is not None else None
    vis_chance = _num(mistake_chance(p.labels, vg, len(p.classes))) if vg is not None else None
    rows = []
    for e, pred in zip(p.epsilons, p.predicted):
        m = severity(p.labels, pred, groups=g, visual_groups=vg, csm=ref)
        rows.append({"eps": float(e), **{k: (_num(v) if k != "mistakes" else int(v)) for k, v in m.items()},
                     "mistake_superclass_chance": sem_chance, "mistake_visual_chance": vis_chance})
    return rows


def numbers(card: Any, seed: int = 0) -> dict[str, Any]:
    """Every headline number of a card (summary.json)."""
    acc = accuracy(card)
    try:
        sai_tab = sai_rows(card, seed)
    except UserError as exc:  # e.g. a --reference CSM naming other classes
        sai_tab = []
        card.notes.append(f"SAI is not computed: {exc}")
    return {"model": str(card.model), "data": str(card.data), "reference": card.reference_name,
            "layers": card.layers, "accuracy": acc, "sai": sai_tab, "idm": idm_rows(card, acc),
            "wsi": wsi_row(card), "twovtwo": twovtwo_rows(card), "rsm": rsm_rows(card),
            "attack": attack_rows(card), "notes": list(card.notes)}
