"""Running a generator's batches into a resumable, shardable output file.

One process: the output's partial file (:class:`semtool.store.Resumable`) holds datasets
pre-sized to all items plus a ``done`` mask; each batch writes its rows, marks them done
and flushes, so ``--resume`` after ``kill -9`` continues with the rows not yet done and
ends with the same datasets as an uninterrupted run.

Under ``torchrun`` (``WORLD_SIZE > 1``) rank *r* takes a contiguous block of the items
and writes the same layout into its own shard file ``<name>.rank<r>of<W>`` (rows of other
ranks stay unwritten, which costs no disk in chunked datasets); after a gloo barrier rank 0
copies each shard's rows into the one output and removes the shards.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import h5py
import numpy as np

from semtool import _runtime, store
from semtool.errors import UserError
from semtool._runtime import shard_bounds
from semtool.generate._items import batches
from semtool._progress import progress

_COPY_ROWS = 256
_IGNORED_ON_RESUME = {"resume", "force", "batch_size", "device", "quiet"}


@dataclass
class Layout:
    """What the output holds: per-item datasets (M, ...) and fixed ones written once."""

    kind: str
    rows: int
    per_item: dict[str, tuple[tuple[int, ...], Any]]  # name -> (row shape, dtype), filled per batch
    fixed: dict[str, Any] = field(default_factory=dict)  # name -> array or list[str]
    attrs: dict[str, Any] = field(default_factory=dict)


def check_batch_size(batch_size: int) -> None:
    if batch_size < 1:
        raise UserError(f"--batch-size: expected a positive size, got {batch_size}")


def precheck(output: str | os.PathLike, *, kind: str = "hybrids", force: bool, resume: bool,
             batch_size: int = 1, inputs: Sequence[str | os.PathLike] = ()) -> None:
    """Refuse the output and the batch size before a model is loaded (exists, is an input,
    partial left, nothing to resume)."""
    check_batch_size(batch_size)
    store.check_output(output, force=force, kind=kind, inputs=inputs)
    _, world_size = world()
    if world_size == 1:
        store.Resumable.check_start(output, kind, force=force, resume=resume)


def world() -> tuple[int, int]:
    """(rank, world size) from torchrun's environment; (0, 1) otherwise."""
    r = _runtime.ranks()
    return r.rank, r.world


def _write_fixed(f: h5py.File, layout: Layout) -> None:
    for name, value in layout.fixed.items():
        if isinstance(value, (list, tuple)) and (not value or isinstance(value[0], str)):
            store.write_strings(f, name, value)
        else:
            f.create_dataset(name, data=np.asarray(value))
    for name, (shape, dtype) in layout.per_item.items():
        row_bytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize if shape else 8
        rows = max(1, min(layout.rows, 4096, (1 << 18) // max(row_bytes, 1)))  # chunks up to 256 KiB
        chunk = (rows,) + shape
        kw = {"compression": "gzip", "compression_opts": 4} if len(shape) >= 2 else {}
        f.create_dataset(name, shape=(layout.rows,) + shape, dtype=dtype, chunks=chunk, **kw)
    f.create_dataset("done", data=np.zeros(layout.rows, dtype=bool))
    for k, v in layout.attrs.items():
        f.attrs[k] = v


def _check_same_run(res: store.Resumable, parameters: dict[str, Any], inputs: Sequence[str | os.PathLike]) -> None:
    """A resumed run must have the options and the input *contents* (SHA-256 recorded in
    the partial file's provenance) of the run it continues, else its rows would mix two runs."""
    import json

    changed = res.changed_parameters(parameters, ignore=_IGNORED_ON_RESUME)
    if changed:
        raise UserError(f"{res.partial}: was started with other options ({', '.join(changed)}); "
                        "resume with the same options or use --force to start over")
    prov = res.file["provenance"]
    recorded = json.loads(prov[sorted(prov.keys())[-1]].attrs.get("inputs", "[]"))
    old = [r.get("sha256") for r in recorded]
    for k, path in enumerate(inputs):
        if k < len(old) and old[k] is not None and old[k] != store.sha256_of(path):
            raise UserError(f"{store.display_name(path)}: differs from the input '{recorded[k].get('path')}' "
                            f"the interrupted run in {res.partial.name} read; resume with the same input "
                            "or use --force to start over")


def run(output: str | os.PathLike, layout: Layout, make_batch: Callable[[np.ndarray], dict[str, np.ndarray]], *,
        batch_size: int, force: bool, resume: bool, command: str, parameters: dict[str, Any],
        inputs: Sequence[str | os.PathLike], description: str) -> Path:
    """Fill ``layout``'s per-item datasets by calling ``make_batch(row_indices)`` per batch.

    ``make_batch`` gets sorted row indices ``(B,)`` and returns ``{name: (B, ...)}`` for
    every per-item dataset. Returns the final output path.
    """
    check_batch_size(batch_size)
    target = Path(output)
    rank, world_size = world()
    store.check_output(target, force=force, kind=layout.kind)
    with _runtime.process_group(world_size) as dist:
        shard_path = target if world_size == 1 else _runtime.shard_path(target, rank, world_size)
        res = store.Resumable(shard_path, layout.kind, force=force or world_size > 1, resume=resume,
                              command=command, parameters=parameters, inputs=inputs)
        try:
            if res.resumed:
                _check_same_run(res, parameters, inputs)
                if int(res.file["done"].shape[0]) != layout.rows:
                    raise UserError(f"{res.partial}: holds {res.file['done'].shape[0]} items, this run makes "
                                    f"{layout.rows}; use --force to start over")
            else:
                _write_fixed(res.file, layout)
            res.checkpoint()
            lo, hi = shard_bounds(layout.rows, rank, world_size)
            done = res.file["done"][lo:hi]
            todo = np.arange(lo, hi)[~done]
            if res.resumed:
                _runtime.log(f"resuming: {int(done.sum())} of {hi - lo} items already done")
            with progress(len(todo), description, enabled=None if rank == 0 else False) as bar:
                for rows in batches(todo, batch_size, start=lo):
                    out = make_batch(rows)
                    where = slice(int(rows[0]), int(rows[-1]) + 1) if rows[-1] - rows[0] + 1 == len(rows) else rows
                    for name in layout.per_item:
                        res.file[name][where] = out[name]
                    res.checkpoint()  # data first, then the mask that vouches for it
                    res.file["done"][rows] = True
                    res.checkpoint()
                    bar.advance(len(rows))
            if world_size == 1:
                return res.finish()
            res.finish()
        except BaseException:
            res.close()
            raise
        dist.barrier()
        if rank == 0:
            shards = [_runtime.shard_path(target, r, world_size) for r in range(world_size)]
            _combine(target, shards, layout, force=force, command=command, parameters=parameters, inputs=inputs)
        dist.barrier()
    return target


def _combine(target: Path, shards: list[Path], layout: Layout, *, force: bool, command: str,
             parameters: dict[str, Any], inputs: Sequence[str | os.PathLike]) -> None:
    """Rank 0: one output from the shards' rows (each rank's block from its own shard)."""
    with store.create(target, layout.kind, force=force, command=command, parameters=parameters,
                      inputs=inputs) as out:
        _write_fixed(out, layout)
        for r, shard in enumerate(shards):
            lo, hi = shard_bounds(layout.rows, r, len(shards))
            with h5py.File(shard, "r") as f:
                if not f["done"][lo:hi].all():
                    raise RuntimeError(f"{shard}: rank {r} left items undone")
                for name in layout.per_item:
                    for a in range(lo, hi, _COPY_ROWS):
                        b = min(a + _COPY_ROWS, hi)
                        out[name][a:b] = f[name][a:b]
        out["done"][...] = True
    for shard in shards:
        shard.unlink()


def hybrids_layout(ims, items: np.ndarray, *, method: str, factor: float, model: str,
                   full_size: tuple[int, int] | None = None, attrs: dict[str, Any] | None = None) -> Layout:
    """The ``hybrids`` file for ``items`` (M, 2) = (source image, target class) of ``ims``.

    Per item: ``images`` at the dataset's resolution (and ``full_size_images`` at the
    model's, ``full_size`` = (h, w), when given); fixed: ``base_labels``, ``target_labels``,
    ``source_index``, ``classes`` (and the imageset's ``groups``/``group_names``).
    """
    H, W = ims.input_size
    C = ims.channels
    per_item: dict[str, tuple[tuple[int, ...], Any]] = {"images": ((H, W, C), np.uint8)}
    if full_size is not None:
        per_item["full_size_images"] = ((*full_size, C), np.uint8)
    fixed: dict[str, Any] = {
        "base_labels": ims.labels[items[:, 0]].astype(np.int64),
        "target_labels": items[:, 1].astype(np.int64),
        "source_index": items[:, 0].astype(np.int64),
        "classes": list(ims.classes),
    }
    if ims.groups is not None and ims.group_names is not None:
        fixed["groups"] = ims.groups.astype(np.int64)
        fixed["group_names"] = list(ims.group_names)
    meta = {"method": method, "factor": float(factor), "model": model}
    meta.update(attrs or {})
    return Layout("hybrids", len(items), per_item, fixed, meta)
