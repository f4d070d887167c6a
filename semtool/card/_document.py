"""REPORT.md, a self-contained report.html (figures embedded) and summary.json of a card.

One list of blocks (heading, paragraph, table, figure) is rendered twice, as Markdown and
as HTML, so the two say the same. Each number is read against its chance level in plain
words; a closing section says what the numbers do not show.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

from semtool import store

Block = tuple  # ("h", level, text) | ("p", text) | ("table", header, rows) | ("fig", file, caption)


def fmt(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, (int,)) and not isinstance(x, bool):
        return f"{x:,}"
    return f"{x:.{digits}f}"


def _versus(value: float | None, chance: float | None, high: float | None = None) -> str:
    """Plain words for a value against its chance level (and, when known, the null's 95th percentile)."""
    if value is None or chance is None:
        return "cannot be read (undefined)"
    if high is not None:
        if value > high:
            return "above chance (beyond the 95th percentile of the shuffled-class null)"
        return "within chance (not beyond the 95th percentile of the shuffled-class null)"
    return "above chance" if value > chance else "at or below chance"


# ------------------------------------------------------------------------------ blocks
def blocks(n: dict[str, Any], figures: dict[str, Path]) -> list[Block]:
    out: list[Block] = []
    acc = n["accuracy"]
    ref = n["reference"]
    out.append(("h", 1, "Semantic-alignment card"))
    out.append(("p", f"Model `{n['model']}` on `{Path(n['data']).name}`: {fmt(acc['samples'])} images of "
                     f"{acc['data_classes']} classes; the model has {acc['model_classes']} output classes. "
                     "Every file in this folder records how it was made (`semtool info FILE`); every number "
                     "below is what the single command prints on those files."))
    out.append(("h", 2, "Accuracy"))
    out.append(("table", ["top-1 accuracy", "chance (1 / classes)", "mistakes"],
                [[fmt(acc["accuracy"]), fmt(acc["chance"]), fmt(acc["mistakes"])]]))
    out.append(("p", f"*Reading*: the accuracy is {_versus(acc['accuracy'], acc['chance'])} "
                     f"({fmt(acc['accuracy'])} against {fmt(acc['chance'])} for a uniform guess)."))

    out.append(("h", 2, f"Class similarity matrices against {ref} (SAI, Filus et al.)"))
    if n["sai"]:
        out.append(("table", ["network CSM", "measure", "SAI", "shuffled-class median", "shuffled 95th pct",
                              "classes"],
                    [[r["what"], r["measure"], fmt(r["sai"]), fmt(r["chance"]), fmt(r["null_95"]),
                      str(r["classes"])] for r in n["sai"]]))
        reads = [f"{r['what'].split(' (')[0]} ({r['measure']}) {fmt(r['sai'])}: "
                 f"{_versus(r['sai'], r['chance'], r['null_95'])}" for r in n["sai"] if r["sai"] is not None]
        out.append(("p", "SAI drops the diagonal, min–max normalises both matrices and compares them (1 = the same "
                         "pattern). Its chance level is not 0: the shuffled-class columns give SAI after relabelling "
                         f"the reference's classes at random ({_sai_draws()} draws). *Reading*: " + "; ".join(reads)
                    + "."))
    if "csm" in figures:
        out.append(("fig", figures["csm"], "The network's CSMs beside the reference."))

    out.append(("h", 2, "Mistakes (IDM, Filus et al.)"))
    if n["idm"]:
        out.append(("table", ["IDM", "over", "value", "random-mistake level"],
                    [[r["what"], "mistakes only" if r["errors_only"] else "all samples", fmt(r["idm"]),
                      fmt(r["chance"])] for r in n["idm"]]))
        err = [r for r in n["idm"] if r["errors_only"]]
        out.append(("p", "A mistake scores the rank of the predicted class among the other classes by similarity "
                         "to the true one, over C − 1; IDM = 1 − the mean score (higher: mistakes land on closer "
                         "classes). The random-mistake level is what mistakes spread uniformly over the other classes "
                         "would give. *Reading*: " + "; ".join(
                             f"{r['what']}, mistakes only, {fmt(r['idm'])}: {_versus(r['idm'], r['chance'])}"
                             for r in err) + "."))
    if n["wsi"] is not None:
        w = n["wsi"]
        out.append(("h", 2, "Spread of the class templates (WSI)"))
        out.append(("table", ["mean WSI", "max WSI", "min WSI"], [[fmt(w["mean"]), fmt(w["max"]), fmt(w["min"])]]))
        out.append(("p", "WSI summarises the NCSM: the mean cosine between class templates, and the mean of each "
                         "class's top (max) and bottom (min) 5 %. There is no chance level: a mean near 0 means "
                         "nearly orthogonal templates, a high max WSI that some classes share templates."))

    out.append(("h", 2, "Which layers agree with the word space? (2 vs 2, Dharmaretnam & Fyshe 2018)"))
    tv = n["twovtwo"]
    has_one = bool(tv) and "one_vs_two_accuracy" in tv[0]
    header = ["layer", "2 vs 2 accuracy", "null 95th pct", "p-value"] + (
        ["1 vs 2 accuracy", "1 vs 2 tests", "1 vs 2 p-value"] if has_one else [])
    out.append(("table", header, [[r["layer"], fmt(r["accuracy"]), fmt(r["null_95"]), fmt(r["p_value"])]
                                  + ([fmt(r["one_vs_two_accuracy"]), str(r["one_vs_two_tests"]),
                                      fmt(r["one_vs_two_p_value"])] if has_one else []) for r in tv]))
    sig = [r["layer"] for r in tv if r["p_value"] is not None and r["p_value"] < 0.05]
    out.append(("p", f"{tv[0]['tests'] if tv else 0} concept pairs per layer, chance 0.5; the null permutes the "
                     "concepts of the word space. *Reading*: "
                + (f"significant (p < 0.05) at {', '.join(sig)}; " if sig else "no layer is significant at p < 0.05; ")
                + "accuracies inside the null mean *no evidence*, not *no alignment*."
                + (" 1 vs 2: each misclassified image must correlate more with its true class's word-space row "
                   "than with the predicted one's (chance 0.5)." if has_one else "")))
    if "twovtwo" in figures:
        out.append(("fig", figures["twovtwo"], "2 vs 2 accuracy per layer with its permutation null."))

    out.append(("h", 2, "Semantic vs spatio-semantic RSM (Wald et al. 2024)"))
    rs = n["rsm"]
    out.append(("table", ["RSM", "retrieval top-1", "chance", "F1@1", "Pearson with predictions",
                          "Spearman with predictions"],
                [[r["what"], fmt(r["top1"]), fmt(r["top1_chance"]), fmt(r["f1_at_1"]), fmt(r["pearson"]),
                  fmt(r["spearman"])] for r in rs]))
    out.append(("p", f"{rs[0]['samples']} images, the last stage's whole maps, cosine kernel. Retrieval top-1: how "
                     "often an image's most similar other image has its class (chance: a random other image). "
                     "The correlations compare the RSM with the Jensen–Shannon similarity of the predicted class "
                     "probabilities. *Reading*: " + "; ".join(
                         f"{r['what']}: top-1 {fmt(r['top1'])}, {_versus(r['top1'], r['top1_chance'])}" for r in rs)
                + "."))
    if "rsm" in figures:
        out.append(("fig", figures["rsm"], "The two RSMs, images sorted by class."))

    if n["attack"]:
        out.append(("h", 2, "Under attack: where do the mistakes go? (L2 PGD; Abreu, Vaska, Helus 2023)"))
        cols = [("eps", "ε"), ("accuracy", "accuracy"), ("superclass_accuracy", "semantic-group accuracy"),
                ("mistakes", "mistakes"), ("mistake_superclass_accuracy", "semantic-group accuracy of mistakes"),
                ("mistake_visual_share", "mistakes inside the visual group"), ("idm", f"IDM ({ref})")]
        out.append(("table", [c[1] for c in cols],
                    [[(f"{r[k]:g}" if k == "eps" else fmt(r.get(k))) for k, _ in cols] for r in n["attack"]]))
        r0 = n["attack"][0]
        out.append(("p", "If mistakes fell uniformly on the other classes, "
                         f"{fmt(r0['mistake_superclass_chance'])} of them would stay in the semantic group and "
                         f"{fmt(r0['mistake_visual_chance'])} in the visual group (– where the data has no such "
                         "groups; give --groups)."))
        if "attack" in figures:
            out.append(("fig", figures["attack"], "Accuracy and mistake severity against ε."))

    out.append(("h", 2, "What these numbers do not show"))
    out.append(("p", "- One model, one data sample, one seed: differences of a few hundredths between models are "
                     "within noise unless repeated.\n"
                     f"- {ref} is one view of semantics; SAI, IDM and 2 vs 2 measure agreement of *patterns* with it, "
                     "not understanding.\n"
                     "- 2 vs 2 with few concepts has little power; the RSM sample is small "
                     "(--rsm-samples), and retrieval on it is noisy."))
    for note in n["notes"]:
        out.append(("p", f"Note: {note}."))
    return out


def _sai_draws() -> int:
    from semtool.card._numbers import SAI_NULL_DRAWS

    return SAI_NULL_DRAWS


# --------------------------------------------------------------------------- rendering
def to_markdown(doc: list[Block], root: Path) -> str:
    lines: list[str] = []
    for b in doc:
        if b[0] == "h":
            lines += ["#" * b[1] + " " + b[2], ""]
        elif b[0] == "p":
            lines += [b[1], ""]
        elif b[0] == "table":
            lines.append("| " + " | ".join(b[1]) + " |")
            lines.append("|" + "|".join("---" for _ in b[1]) + "|")
            lines += ["| " + " | ".join(r) + " |" for r in b[2]]
            lines.append("")
        elif b[0] == "fig":
            lines += [f"![{b[2]}]({Path(b[1]).relative_to(root).as_posix()})", ""]
    return "\n".join(lines)


def _inline(text: str) -> str:
    """Markdown's `code` and *emphasis* as HTML, the rest escaped."""
    import re

    t = html.escape(text)
    t = re.sub(r"`([^`]+)`", r"<code>\1</code>", t)
    return re.sub(r"\*([^*]+)\*", r"<em>\1</em>", t)


def to_html(doc: list[Block], title: str) -> str:
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', f"<title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:.2em .5em}"
             "img{max-width:100%}</style>", "</head><body>"]
    for b in doc:
        if b[0] == "h":
            parts.append(f"<h{b[1]}>{_inline(b[2])}</h{b[1]}>")
        elif b[0] == "p":
            if b[1].startswith("- "):
                items = "".join(f"<li>{_inline(x[2:])}</li>" for x in b[1].splitlines())
                parts.append(f"<ul>{items}</ul>")
            else:
                parts.append(f"<p>{_inline(b[1])}</p>")
        elif b[0] == "table":
            head = "".join(f"<th>{_inline(h)}</th>" for h in b[1])
            body = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in b[2])
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif b[0] == "fig":
            data = base64.b64encode(Path(b[1]).read_bytes()).decode("ascii")
            parts.append(f'<figure><img alt="{html.escape(b[2])}" src="data:image/png;base64,{data}">'
                         f"<figcaption>{_inline(b[2])}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _write_text(path: Path, text: str) -> None:
    with store.atomic_path(path, force=True) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_documents(card: Any, numbers: dict[str, Any], figures: dict[str, Path]) -> dict[str, Path]:
    """REPORT.md, report.html and summary.json in the card's folder (atomic writes)."""
    out = card.outdir
    doc = blocks(numbers, figures)
    paths = {"md": out / "REPORT.md", "html": out / "report.html", "json": out / "summary.json"}
    _write_text(paths["md"], to_markdown(doc, out))
    _write_text(paths["html"], to_html(doc, f"semtool card: {numbers['model']}"))
    _write_text(paths["json"], json.dumps(numbers, indent=2, allow_nan=False) + "\n")
    return paths


def draw_figures(card: Any, numbers: dict[str, Any]) -> dict[str, Path]:
    """The card's figures through the ``semtool plot`` modules (figures/*.png)."""
    from semtool.report.attack import plot_attack
    from semtool.report.csm import plot_csm
    from semtool.report.rsm import plot_rsm
    from semtool.report.twovtwo import plot_twovtwo

    fig = card.outdir / "figures"
    fig.mkdir(exist_ok=True)
    f = card.files
    out: dict[str, Path] = {}
    csms = [(k, lab) for k, lab in (("ncsm", "NCSM"), ("ccsm", "CCSM"), ("tncsm", "TNCSM"),
                                    ("wordnet", numbers["reference"])) if k in f and f[k].exists()]
    if numbers["accuracy"]["model_classes"] <= 100 or not card.same_classes:
        # a 1000-class NCSM is unreadable as a heatmap; the data's classes are shown instead
        csms = [(k, lab) for k, lab in csms if k != "ncsm" or numbers["accuracy"]["model_classes"] <= 100]
        csms = [(k, lab) for k, lab in csms if k != "ccsm" or numbers["accuracy"]["model_classes"] <= 100]
    out["csm"] = plot_csm([f[k] for k, _ in csms], fig / "csm.png", labels=[lab for _, lab in csms], force=True)
    out["twovtwo"] = plot_twovtwo([f["twovtwo"]], fig / "twovtwo.png", labels=["2 vs 2"], force=True)
    rsms = [(k, lab) for k, lab in (("rsm_spatial", "spatio-semantic"), ("rsm_semantic", "semantic")) if k in f]
    out["rsm"] = plot_rsm([f[k] for k, _ in rsms], fig / "rsm.png", labels=[lab for _, lab in rsms], force=True)
    if numbers["attack"]:
        out["attack"] = plot_attack([f["attack"]], fig / "attack.png", labels=["model"], force=True)
    return {k: Path(v) for k, v in out.items()}
