"""Process-wide settings the CLI sets once (--quiet, --verbose) and engines read."""

from __future__ import annotations

import sys

quiet: bool = False
verbose: bool = False


def log(message: str) -> None:
    """A progress or status line on stderr (never stdout: stdout carries data)."""
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def debug(message: str) -> None:
    if verbose and not quiet:
        print(message, file=sys.stderr, flush=True)
