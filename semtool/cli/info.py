"""``semtool info FILE…``: what a semtool file holds and how it was made."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from semtool.cli._common import JsonOpt, guarded, print_json, stdout_is_terminal


def _abbrev(names: list[str], n: int = 8) -> str:
    if len(names) <= n:
        return ", ".join(names)
    return ", ".join(names[: n - 2]) + f", … ({len(names) - n + 2} more) …, " + ", ".join(names[-2:])


def describe_model(path: str) -> dict[str, Any]:
    """A semtool model file (.safetensors + metadata): the same layout as :func:`describe`."""
    from semtool.models.metadata import list_tensors, read_metadata

    meta = read_metadata(path)
    out: dict[str, Any] = {
        "file": str(path),
        "kind": "model",
        "schema": 1,
        "creator": str(meta.get("creator", "")),
        "created_at": str(meta.get("created_at", "")),
        "attributes": {k: meta[k] for k in ("architecture", "input_size", "in_channels", "cifar_stem", "head",
                                             "epoch", "seed", "metrics") if meta.get(k) is not None},
        "datasets": {name: {"shape": list(shape), "dtype": "tensor"} for name, shape in list_tensors(path).items()},
        "classes": list(meta.get("classes") or []),
        "provenance": list(meta.get("provenance") or []),
    }
    for key, names_key, label in (("groups", "group_names", "groups"),
                                  ("visual_groups", "visual_group_names", "visual_groups")):
        g, names = meta.get(key), meta.get(names_key)
        if g is not None and names:
            out[label] = {n: [c for c, gi in zip(out["classes"], g) if gi == j] for j, n in enumerate(names)}
    return out


def describe_spec(spec: str) -> dict[str, Any]:
    """A pretrained network (torchvision, Hugging Face, timm): built, not run."""
    from semtool.models import open_model
    from semtool.models.features import block_names, layer_names

    net, meta = open_model(spec)
    attrs = {k: meta[k] for k in ("family", "architecture", "weights", "num_classes", "input_size", "preprocess",
                                  "head", "backbone") if meta.get(k) is not None}
    attrs["parameters"] = sum(p.numel() for p in net.parameters())
    attrs["layers_total"] = len(layer_names(net))
    out = {"file": spec, "kind": "model", "schema": 1, "creator": meta["family"], "created_at": "",
           "attributes": attrs, "datasets": {}, "classes": list(meta["classes"]), "layers": block_names(net),
           "provenance": []}
    if not out["classes"]:  # a backbone
        del out["classes"]
    return out


def describe(path: str) -> dict[str, Any]:
    """Everything ``info`` shows, as a plain dict (also what ``--json`` prints)."""
    from semtool import store
    from semtool.models.spec import is_spec

    if is_spec(path):
        return describe_spec(str(path))
    if str(path).endswith(".safetensors"):
        return describe_model(path)

    return store.describe(path)


def _lines(d: dict[str, Any]) -> tuple[list[str], list[tuple[str, str, str]], list[str]]:
    """The summary as plain lines: (before the dataset table, the table's rows, after it)."""
    before = [f"{d['file']}: {d['kind']} (schema {d['schema']}), {d['creator']}, {d['created_at']}"]
    before += [f"  {k}: {v}" for k, v in d["attributes"].items()]
    rows = [(name, "×".join(map(str, meta["shape"])) or "scalar", meta["dtype"]) for name, meta in d["datasets"].items()]
    after = []
    for key in ("classes", "concepts", "layers"):
        if key in d:
            after.append(f"  {key} ({len(d[key])}): {_abbrev(d[key])}")
    for key, title in (("groups", "semantic groups"), ("visual_groups", "visual groups")):
        if key in d:
            after.append(f"  {title}:")
            after += [f"    {g}: {', '.join(members)}" for g, members in d[key].items()]
    if d["provenance"]:
        after.append("  provenance:")
        for i, s in enumerate(d["provenance"], 1):
            argv = " ".join(s["argv"]) if s["argv"] else s["command"]
            after.append(f"    {i}. {s['created_at']}  {argv}")
    return before, rows, after


def _show(d: dict[str, Any]) -> None:
    before, rows, after = _lines(d)
    header = ("dataset", "shape", "dtype")
    if not stdout_is_terminal():  # piped: plain text, and no rich import (start-up time)
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
        table = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header, *rows]]
        print("\n".join(before + table + after))
        return
    from rich.console import Console
    from rich.table import Table

    con = Console()
    con.print(f"[bold]{before[0]}[/bold]", highlight=False)
    for line in before[1:]:
        con.print(line, markup=False, highlight=False)
    t = Table(box=None, pad_edge=False, show_header=True)
    for c in header:
        t.add_column(c)
    for r in rows:
        t.add_row(*r)
    con.print(t)
    for line in after:
        con.print(line, markup=False, highlight=False)


@guarded
def info(
    files: Annotated[list[Path], typer.Argument(help="semtool HDF5 files ('-' for stdin), .safetensors model files, or model specifications (torchvision:NAME[:WEIGHTS], a Hugging Face folder or hf:ORG/NAME, timm:NAME).", show_default=False)],
    as_json: JsonOpt = False,
) -> None:
    """Show a file's kind, schema, datasets (shape, dtype), classes, groups and provenance.

    For a model specification: family, weights, number of classes, input size and
    preprocessing, classifier head, number of layers and the main stages ('features
    --layers blocks'), from the built network without running it.
    """
    described = [describe(str(p)) for p in files]
    if as_json:
        print_json(described)
        return
    for i, d in enumerate(described):
        if i:
            print()
        _show(d)


def register(app: typer.Typer) -> None:
    app.command("info")(info)
