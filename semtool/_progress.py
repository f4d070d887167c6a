"""One progress bar for all long work: rich on a terminal, silent otherwise or with -q."""

from __future__ import annotations

import contextlib
import sys
from typing import Iterator

from semtool import _runtime


class _Silent:
    def advance(self, n: int = 1) -> None:
        pass

    def update(self, **kwargs) -> None:
        pass


class _Bar:
    def __init__(self, progress, task):
        self._p, self._t = progress, task

    def advance(self, n: int = 1) -> None:
        self._p.advance(self._t, n)

    def update(self, **kwargs) -> None:
        self._p.update(self._t, **kwargs)


@contextlib.contextmanager
def progress(total: int | None, description: str, *, unit: str = "items", enabled: bool | None = None) -> Iterator:
    """``with progress(n, "mix") as bar: bar.advance(k)`` — items/s and ETA on stderr.

    Enabled only when stderr is a terminal and ``--quiet`` was not given (or ``enabled``
    forces it).
    """
    on = (not _runtime.quiet and sys.stderr.isatty()) if enabled is None else enabled
    if not on:
        yield _Silent()
        return
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn,
                               TextColumn, TimeElapsedColumn, TimeRemainingColumn)

    class _Rate(TextColumn):
        def render(self, task):  # items per second
            from rich.text import Text

            speed = task.finished_speed or task.speed
            return Text(f"{speed:.1f} {unit}/s" if speed else f"- {unit}/s")

    cols = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
            _Rate(""), TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*cols, console=Console(stderr=True), transient=False) as p:
        task = p.add_task(description, total=total)
        yield _Bar(p, task)
