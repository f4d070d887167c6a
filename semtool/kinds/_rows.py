"""An output file filled row by row: atomically at the end, or resumably through a partial file.

The writers of ``semtool features`` (features, clean predictions) and ``semtool attack -o``
(predictions with an ε axis) write one batch of rows at a time. With ``resume=None`` the
file is written atomically (what ``semtool report`` uses; it resumes per step by itself);
with ``resume`` False or True it goes through :class:`semtool.store.Resumable`: a partial
file ``.<name>.partial`` beside the target with a ``done`` mask, the data of a batch
flushed before the mask that vouches for it, so ``--resume`` after a ``kill -9`` skips the
finished rows. The bookkeeping datasets (``done`` and any the writer adds) are removed when
the file is finished: the final file holds what an atomic write holds.
"""

from __future__ import annotations

import glob
import os
import re
import signal
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from semtool import _runtime, store
from semtool.errors import UserError

#: options that do not change the numbers: a resumed run may differ in them
IGNORED_ON_RESUME = ("resume", "force", "device", "quiet", "verbose", "as_json", "trust_remote_code")


class RowFile:
    """One output of ``n`` rows. ``open()`` returns the h5py file; :attr:`fresh` says whether
    the fixed datasets still have to be written; :meth:`done` is the mask of finished rows."""

    def __init__(self, path: str | os.PathLike, kind: str, n: int, *, resume: bool | None, force: bool,
                 command: str | None, parameters: dict[str, Any] | None,
                 inputs: Sequence[str | os.PathLike], bookkeeping: Sequence[str] = ()) -> None:
        self.path, self.kind, self.n = path, kind, n
        self.resume, self.force = resume, force
        self.command, self.parameters, self.inputs = command, parameters, inputs
        self.bookkeeping = ("done", *bookkeeping)
        self.res: store.Resumable | None = None
        self.fresh = True

    @property
    def partial(self) -> Any:
        return None if self.res is None else self.res.partial

    def open(self) -> Any:
        if self.resume is None:
            self._create = store.create(self.path, self.kind, force=self.force, command=self.command,
                                        parameters=self.parameters, inputs=self.inputs)
            self.f = self._create.__enter__()
            return self.f
        check_resume(self.path, self.kind, force=self.force, resume=self.resume)
        self.res = store.Resumable(self.path, self.kind, force=self.force, resume=self.resume,
                                   command=self.command, parameters=self.parameters, inputs=self.inputs)
        self.f = self.res.file
        if self.res.resumed:
            try:
                self._check_same_run()
            except BaseException:
                self.res.close()
                raise
            self.fresh = False
        else:
            self.f.create_dataset("done", data=np.zeros(self.n, dtype=bool))
        return self.f

    def _check_same_run(self) -> None:
        res = self.res
        _refuse_changed(res.partial, res.changed_parameters(self.parameters or {}, ignore=IGNORED_ON_RESUME))
        if "done" not in res.file or res.file["done"].shape != (self.n,):
            raise UserError(f"{res.partial}: does not hold the {self.n} rows this run makes (damaged or from "
                            "another input); use --force to start over")
        recorded = store.read_provenance(res.file)[-1]["inputs"]
        for k, path in enumerate(self.inputs):
            rec = recorded[k] if k < len(recorded) else {}
            if str(path) == "-" or (os.path.exists(path) and not os.path.isfile(path)):
                continue  # stdin, a model folder: nothing recorded to compare
            if os.path.isfile(path):
                same = rec.get("sha256") in (None, store.sha256_of(path))
            else:  # a model named by a specification (torchvision:NAME, hf:ORG/NAME): the name
                same = rec.get("path") == store.display_name(path)
            if not same:
                raise UserError(f"{store.display_name(path)}: differs from the input '{rec.get('path')}' the "
                                f"interrupted run in {res.partial.name} read; resume with the same input or use "
                                "--force to start over")

    def done(self) -> np.ndarray:
        """(n,) bool: the rows an interrupted run finished (all False for a new file)."""
        if self.res is None or self.fresh:
            return np.zeros(self.n, dtype=bool)
        return self.f["done"][...]

    def flush(self) -> None:
        if self.res is not None:
            self.res.checkpoint()

    def mark_done(self, start: int, stop: int) -> None:
        """Rows ``start:stop`` are written: flush them, then the mask that vouches for them."""
        if self.res is None:
            return
        self.res.checkpoint()
        self.f["done"][start:stop] = True
        self.res.checkpoint()
        if os.environ.get("SEMTOOL_DEBUG_SIGKILL_ROWS") == str(stop):
            # the resume tests' reproducible kill -9, once the rows up to ``stop`` are vouched for
            os.kill(os.getpid(), signal.SIGKILL)
        _runtime.check_interrupt()  # a Ctrl-C that arrived where it could not be raised

    def close(self, exc: tuple[Any, Any, Any] = (None, None, None)) -> Any:
        """Finish (rename into place) after success; otherwise leave the partial file for --resume."""
        if self.res is None:
            return self._create.__exit__(*exc)
        if exc[0] is not None:
            self.res.close()
            return False
        if not self.f["done"][...].all():
            self.res.close()
            raise RuntimeError(f"{self.res.partial}: rows left undone")
        for name in self.bookkeeping:
            if name in self.f:
                del self.f[name]
        others = _runtime.checkpoint  # the command's other partial files, named if Ctrl-C comes now
        self.res.finish()
        if isinstance(others, list):
            _runtime.checkpoint = [p for p in others if p != self.res.partial] or None
        return False


def check_resume(path: str | os.PathLike, kind: str, *, force: bool, resume: bool,
                 parameters: dict[str, Any] | None = None, later: Sequence[str] = ()) -> None:
    """Before any expensive work: the output may be written (exists, partial left without
    --resume), ``--resume`` has a partial file to continue (as ``train``'s checkpoint) and,
    given the ``parameters``, the partial file was started with them (those named in
    ``later``, known only once the model is loaded, are checked when the file opens)."""
    store.Resumable.check_start(path, kind, force=force, resume=resume)
    partial = store.Resumable.partial_path(path)
    if not resume:
        return
    if not partial.exists():
        raise UserError(f"--resume: no partial file {partial} to continue from")
    if parameters is not None:
        res = store.Resumable(path, kind, force=force, resume=True)
        res.close()
        _refuse_changed(partial, res.changed_parameters(parameters, ignore=(*IGNORED_ON_RESUME, *later)))


def _refuse_changed(partial: os.PathLike, changed: Sequence[str]) -> None:
    if changed:
        raise UserError(f"{partial}: was started with other options ({', '.join(changed)}); "
                        "resume with the same options or use --force to start over")


def check_parts(path: str | os.PathLike, kind: str, *, force: bool, resume: bool, parameters: dict[str, Any] | None,
                rank: int, world: int) -> None:
    """:func:`check_resume` for a run that may be one of ``world`` torchrun processes, each
    writing its part ``<name>.rank<r>of<W>`` (:func:`semtool._runtime.shard_path`) that rank 0
    combines into ``path``. Partial files left by another number of processes are refused:
    their blocks of rows would not match this run's (``--force`` removes them)."""
    target = Path(path)
    single = store.Resumable.partial_path(target)
    others = []
    for p in sorted(target.parent.glob(f".{glob.escape(target.name)}.rank*of*.partial")):
        m = re.fullmatch(r"\.rank(\d+)of(\d+)\.partial", p.name[len(target.name) + 1:])
        if m and int(m.group(2)) != world:
            others.append((p, int(m.group(2))))
    if others and not force:
        p, n = others[0]
        how = "run it under 'torchrun --nproc-per-node {n}'".format(n=n)
        raise UserError(f"{target}: an interrupted run of {n} processes left {p.name}; "
                        + (f"--resume needs the same number of processes ({how}, this run has {world})"
                           if resume else f"{how} with --resume to continue it, or use --force to start over"))
    if force:
        for p, _ in others:
            p.unlink(missing_ok=True)
    if world == 1:
        check_resume(target, kind, force=force, resume=resume, parameters=parameters)
        return
    if resume and single.exists():
        raise UserError(f"{target}: {single.name} was left by a run of one process; --resume needs the same "
                        "number of processes (run it without torchrun)")
    store.Resumable.check_start(target, kind, force=force or resume, resume=False)
    part = _runtime.shard_path(target, rank, world)
    if resume and not store.Resumable.partial_path(part).exists() and (
            part.exists() or any(store.Resumable.partial_path(_runtime.shard_path(target, k, world)).exists()
                                 for k in range(world))):
        return  # this rank's part was finished (or never begun, or had no rows) when another rank was interrupted
    check_resume(part, kind, force=force, resume=resume, parameters=parameters)
