"""A card per model of a zoo, split over workers, and the table and figures across models.

``--shard I/N`` (1 ≤ I ≤ N) takes models k with k mod N = I − 1, so any scheduler (a SLURM
array, a loop over GPUs) can run the parts; under ``torchrun`` (``RANK``/``WORLD_SIZE`` in
the environment) each rank takes part RANK + 1 of WORLD_SIZE. Each part writes
``parts/part-I-of-N.json``; ``--merge`` gathers them (refusing, by name, missing parts) into
``zoo.tsv``, ``zoo.json`` and the figures. An unsharded run is part 1 of 1 and a merge.
A model that cannot be loaded (weights not cached, an unknown name) is listed as skipped
with the reason, not fatal.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path
from typing import Any

from semtool import _runtime
from semtool.errors import UserError

#: Columns of zoo.tsv (and keys of each model's record in zoo.json).
COLUMNS = ("model", "status", "accuracy", "sai_ncsm_wordnet", "sai_ccsm_wordnet", "sai_tncsm_wordnet",
           "idm_wordnet_errors", "twovtwo_last", "twovtwo_best_layer", "stages", "card", "reason")
TORCHVISION_IMAGENET = "torchvision-imagenet"


def torchvision_imagenet() -> list[str]:
    """Every torchvision ImageNet-1k classification weight, as model specifications."""
    import torchvision.models as tvm

    out = []
    for name in tvm.list_models(module=tvm):
        for w in tvm.get_model_weights(name):
            if len(w.meta.get("categories") or ()) == 1000:
                out.append(f"torchvision:{name}:{w.name}")
    return out


def read_zoo(zoo: str) -> list[str]:
    """Model specifications of a zoo file (one per line, '#' comments, blank lines skipped)."""
    if zoo == TORCHVISION_IMAGENET:
        return torchvision_imagenet()
    p = Path(zoo)
    if not p.is_file():
        raise UserError(f"--zoo {zoo}: no such file (or '{TORCHVISION_IMAGENET}')")
    specs = [ln.split("#", 1)[0].strip() for ln in p.read_text(encoding="utf-8").splitlines()]
    specs = [s for s in specs if s]
    if not specs:
        raise UserError(f"--zoo {zoo}: lists no model specification (one per line)")
    if len(set(specs)) != len(specs):
        dup = next(s for s in specs if specs.count(s) > 1)
        raise UserError(f"--zoo {zoo}: lists '{dup}' twice")
    return specs


def parse_shard(shard: str | None) -> tuple[int, int]:
    """'I/N' -> (I, N) with 1 ≤ I ≤ N; torchrun's RANK/WORLD_SIZE when not given; else (1, 1)."""
    if shard is None:
        if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
            return int(os.environ["RANK"]) + 1, int(os.environ["WORLD_SIZE"])
        return 1, 1
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", shard)
    if not m:
        raise UserError(f"--shard: expected I/N (e.g. 1/4), got '{shard}'")
    i, n = int(m.group(1)), int(m.group(2))
    if n < 1 or not 1 <= i <= n:
        raise UserError(f"--shard {shard}: I must lie in 1..N")
    return i, n


def slug(spec: str) -> str:
    """A folder name for a model specification."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", Path(spec).name if Path(spec).exists() else spec).strip("_") or "model"


def _record(spec: str, card_dir: Path, nums: dict[str, Any], layers: list[str]) -> dict[str, Any]:
    sai = {(r["csm"], r["measure"]): r["sai"] for r in nums["sai"]}
    err = [r["idm"] for r in nums["idm"] if r["csm"] == "wordnet_all" and r["errors_only"]]
    tv = nums["twovtwo"]
    best = max(tv, key=lambda r: -1 if r["accuracy"] is None else r["accuracy"]) if tv else None
    return {"model": spec, "status": "done", "accuracy": nums["accuracy"]["accuracy"],
            "sai_ncsm_wordnet": sai.get(("ncsm", "cosine")), "sai_ccsm_wordnet": sai.get(("ccsm", "cosine")),
            "sai_tncsm_wordnet": sai.get(("tncsm", "cosine")), "idm_wordnet_errors": err[0] if err else None,
            "twovtwo_last": tv[-1]["accuracy"] if tv else None,
            "twovtwo_best_layer": best["layer"] if best else None, "stages": len(layers) - 1,
            "twovtwo": [r["accuracy"] for r in tv], "layers": [r["layer"] for r in tv],
            "card": str(card_dir), "reason": ""}


def run_part(specs: list[str], data: str, outdir: Path, opts: Any, i: int, n: int) -> Path:
    """Cards of the models of part ``i`` of ``n``; returns the part's JSON file."""
    from semtool import store
    from semtool.card import report

    records = []
    mine = [s for k, s in enumerate(specs) if k % n == i - 1]
    (outdir / "cards").mkdir(exist_ok=True)
    for k, spec in enumerate(mine, 1):
        card_dir = outdir / "cards" / slug(spec)
        _runtime.log(f"== zoo part {i}/{n}, model {k}/{len(mine)}: {spec}")
        try:
            card, nums = report(spec, data, card_dir, opts)
        except UserError as exc:
            _runtime.log(f"== skipped {spec}: {exc}")
            records.append({"model": spec, "status": "skipped", "reason": str(exc), "card": str(card_dir)})
            continue
        records.append(_record(spec, card_dir, nums, card.layers))
    parts = outdir / "parts"
    parts.mkdir(exist_ok=True)
    path = parts / f"part-{i}-of-{n}.json"
    with store.atomic_path(path, force=True) as tmp:
        tmp.write_text(json.dumps({"part": i, "of": n, "models": mine, "records": records}, indent=2) + "\n",
                       encoding="utf-8")
    return path


def merge_parts(specs: list[str], outdir: Path, n: int | None = None) -> list[dict[str, Any]]:
    """zoo.tsv, zoo.json and figures from every part's JSON, in the zoo list's order."""
    parts = outdir / "parts"
    found = sorted(parts.glob("part-*-of-*.json")) if parts.is_dir() else []
    if not found:
        raise UserError(f"--merge: {parts} holds no parts (run the zoo with --shard I/N first)")
    counts = {int(re.search(r"-of-(\d+)\.json$", p.name).group(1)) for p in found}
    if n is None:
        if len(counts) != 1:
            raise UserError(f"--merge: {parts} mixes splits into {', '.join(map(str, sorted(counts)))} parts")
        n = counts.pop()
    missing = [f"part-{i}-of-{n}.json" for i in range(1, n + 1) if not (parts / f"part-{i}-of-{n}.json").is_file()]
    if missing:
        raise UserError(f"--merge: missing part(s) {', '.join(missing)} in {parts} (run --shard "
                        f"{', '.join(m.split('-')[1] + '/' + str(n) for m in missing)})")
    by_model: dict[str, dict[str, Any]] = {}
    for i in range(1, n + 1):
        part = json.loads((parts / f"part-{i}-of-{n}.json").read_text(encoding="utf-8"))
        for r in part["records"]:
            by_model[r["model"]] = r
    lost = [s for s in specs if s not in by_model]
    if lost:
        raise UserError(f"--merge: the parts do not cover {', '.join(lost[:3])} (rerun the zoo with the same list)")
    records = [by_model[s] for s in specs]
    _write_tables(outdir, records)
    _figures(outdir, records)
    return records


def _write_tables(outdir: Path, records: list[dict[str, Any]]) -> None:
    from semtool import store

    def cell(v: Any) -> str:
        if v is None:
            return ""
        return f"{v:.6g}" if isinstance(v, float) else str(v).replace("\t", " ").replace("\n", " ")

    lines = ["\t".join(COLUMNS)]
    lines += ["\t".join(cell(r.get(c)) for c in COLUMNS) for r in records]
    for name, text in (("zoo.tsv", "\n".join(lines) + "\n"),
                       ("zoo.json", json.dumps(records, indent=2, allow_nan=False) + "\n")):
        with store.atomic_path(outdir / name, force=True) as tmp:
            tmp.write_text(text, encoding="utf-8")


def _figures(outdir: Path, records: list[dict[str, Any]]) -> None:
    from semtool.report.zoo import plot_zoo

    done = [r for r in records if r["status"] == "done"]
    if done:
        (outdir / "figures").mkdir(exist_ok=True)
        plot_zoo(done, outdir / "figures" / "zoo.png")


def run_zoo(zoo: str, data: Any, outdir: Path, opts: Any, *, shard: str | None = None, merge: bool = False) -> None:
    """``semtool report --zoo``: a part (``shard``), the whole zoo, or the merge of the parts."""
    specs = read_zoo(zoo)
    if merge:
        if shard is not None:
            raise UserError("--merge gathers every part; leave out --shard")
        records = merge_parts(specs, outdir)
        _summary(outdir, records)
        return
    if data is None:
        raise UserError("--zoo: give DATA, the imageset every model is run on")
    i, n = parse_shard(shard)
    if shard is None and "LOCAL_RANK" in os.environ and opts.device == "auto":
        opts = dataclasses.replace(opts, device=_rank_device(int(os.environ["LOCAL_RANK"])))
    outdir.mkdir(exist_ok=True)
    run_part(specs, str(data), outdir, opts, i, n)
    if n == 1:
        records = merge_parts(specs, outdir, 1)
        _summary(outdir, records)
    else:
        _runtime.log(f"zoo part {i}/{n} done; when every part is, run: semtool report --zoo {zoo} -o {outdir} --merge")


def _rank_device(local_rank: int) -> str:
    """torchrun: each rank on its own GPU (LOCAL_RANK), else the CPU."""
    import torch

    return f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"


def _summary(outdir: Path, records: list[dict[str, Any]]) -> None:
    done = sum(r["status"] == "done" for r in records)
    _runtime.log(f"zoo: {done} card(s), {len(records) - done} skipped: {outdir / 'zoo.tsv'}")
    for r in records:
        if r["status"] != "done":
            _runtime.log(f"  skipped {r['model']}: {r['reason']}")
