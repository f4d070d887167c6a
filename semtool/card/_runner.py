"""Steps of a card: run, or reuse an output made from the same inputs with the same options.

A step's outputs are semtool files; each records its parameters and its inputs' SHA-256 in
its provenance (:func:`semtool.store.init_root`). A step is reused when every output
exists and its last provenance record names the same parameters and inputs whose files
still have the recorded SHA-256, so an interrupted or extended report resumes where it
stopped. One line per step on stderr with its time; ``-q`` silences them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from semtool import _runtime, store


def _normal(obj: Any) -> Any:
    """Parameters as the provenance stores them (JSON, sorted keys, paths and numpy as text/numbers)."""
    return json.loads(store._io._json(obj))


def _current_sha(path: str) -> str | None:
    try:
        return store.sha256_of(path) if Path(path).is_file() else None
    except OSError:
        return None


def up_to_date(output: Path, parameters: dict[str, Any], inputs: Sequence[Any]) -> bool:
    """Whether ``output`` was written with ``parameters`` from ``inputs`` as they are now."""
    if not output.is_file():
        return False
    try:
        with store.open_file(output) as f:
            steps = store.read_provenance(f)
    except Exception:  # unreadable (e.g. a file cut short): make it again
        return False
    if not steps:
        return False
    last = steps[-1]
    if last["parameters"] != _normal(parameters):
        return False
    recorded = [r.get("sha256") for r in last["inputs"]]
    return recorded == [_current_sha(str(p)) for p in inputs]


class Runner:
    """Counts and times the steps; ``ran`` and ``reused`` name them (tests count them)."""

    def __init__(self, total: int):
        self.total = total
        self.index = 0
        self.ran: list[str] = []
        self.reused: list[str] = []
        self.seconds: dict[str, float] = {}

    def step(self, name: str, outputs: Sequence[Path], parameters: dict[str, Any], inputs: Sequence[Any],
             work: Callable[[], Any]) -> bool:
        """Run ``work`` unless every output is :func:`up_to_date`; True when it ran."""
        self.index += 1
        head = f"[{self.index}/{self.total}] {name}"
        if all(up_to_date(o, parameters, inputs) for o in outputs):
            self.reused.append(name)
            _runtime.log(f"{head}: reused {', '.join(o.name for o in outputs)}")
            return False
        t = time.perf_counter()
        work()
        dt = time.perf_counter() - t
        # A finished step's files are kept if the card is interrupted later (the CLI removes the
        # outputs of an interrupted command): they are what a rerun resumes from.
        done = {Path(o).resolve() for o in outputs}
        _runtime.committed[:] = [p for p in _runtime.committed if Path(p).resolve() not in done]
        self.ran.append(name)
        self.seconds[name] = dt
        _runtime.log(f"{head}: {dt:.1f} s")
        return True

    def skip(self, name: str, reason: str) -> None:
        self.index += 1
        _runtime.log(f"[{self.index}/{self.total}] {name}: skipped ({reason})")
