"""Process-wide settings the CLI sets once (--quiet, --verbose) and engines read."""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

quiet: bool = False
verbose: bool = False

#: set by the CLI's SIGINT handler; stays set when a library swallows the KeyboardInterrupt
interrupted: bool = False
#: outputs renamed into place by this process (removed again when the command is interrupted)
committed: list = []
#: the checkpoint or partial file (or a list of them) an interrupted run leaves for --resume, if any
checkpoint = None
#: what an interrupted run that resumes by itself tells the user (``semtool report``
#: reuses its finished steps when rerun), if any
rerun_hint: str | None = None


def check_interrupt() -> None:
    """Raise KeyboardInterrupt if SIGINT arrived, even where a library swallowed it (the
    atomic-write layer calls this before renaming an output into place)."""
    if interrupted:
        raise KeyboardInterrupt


def exit_interrupted() -> None:
    """End the process with exit code 130 at once (streams flushed, clean-up already done).

    Not ``sys.exit(130)``: a KeyboardInterrupt that passed through C code running Python
    (pybind11's ``exec``, as some extensions do while importing) marks CPython's "unhandled
    KeyboardInterrupt" flag even when semtool caught it, and the interpreter would then end
    by re-raising SIGINT on itself (exit status -2) instead of 130.
    """
    import os

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(130)


def on_sigint(signum, frame) -> None:
    """The CLI's SIGINT handler: remember the interrupt, then interrupt as Python would.

    Where Python would only print the exception and carry on (a weak reference's callback
    or a ``__del__``, which h5py runs for every object it frees while writing a batch), it
    remembers, and sends itself SIGINT again a moment later, when the program has left that
    callback: a command that never calls :func:`check_interrupt` (a long permutation test)
    still stops at the first Ctrl-C. (The CLI ignores SIGINT once it is cleaning up.)
    """
    global interrupted
    interrupted = True
    if frame is not None and (frame.f_code.co_name == "__del__"
                              or os.path.basename(frame.f_code.co_filename) in ("weakref.py", "_weakrefset.py")):
        import threading

        again = threading.Timer(0.05, _send_sigint)
        again.daemon = True
        again.start()
        return
    raise KeyboardInterrupt


def _send_sigint() -> None:
    import signal

    os.kill(os.getpid(), signal.SIGINT)


@dataclass(frozen=True)
class Ranks:
    """This process's place in a torchrun job: global ``rank``, ``world`` size, ``local`` rank on its machine."""

    rank: int = 0
    world: int = 1
    local: int = 0

    @property
    def main(self) -> bool:
        """Rank 0: the process that writes the combined file and prints."""
        return self.rank == 0

    @property
    def on(self) -> bool:
        """Several processes: a distributed run."""
        return self.world > 1


def ranks() -> Ranks:
    """The distributed rank from torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK); (0, 1, 0) alone."""
    env = os.environ
    return Ranks(int(env.get("RANK", "0")), int(env.get("WORLD_SIZE", "1")), int(env.get("LOCAL_RANK", "0")))


def shard_bounds(n: int, rank: int, world: int) -> tuple[int, int]:
    """Rank ``rank``'s contiguous block of ``n`` items (contiguous keeps an image's targets
    together, so its one VAE encode is shared)."""
    import numpy as np

    edges = np.linspace(0, n, world + 1).round().astype(int)
    return int(edges[rank]), int(edges[rank + 1])


def shard_path(target: str | os.PathLike, rank: int, world: int) -> Path:
    """Where rank ``rank`` of ``world`` writes its part of ``target`` before rank 0 combines the parts."""
    target = Path(target)
    return target.parent / f"{target.name}.rank{rank}of{world}"


@contextlib.contextmanager
def process_group(world: int) -> Iterator[Any]:
    """``torch.distributed`` with a gloo group for ``world`` > 1 processes (None alone).

    gloo only serves barriers here (no tensors travel), so it works on CPU and GPU.
    """
    if world <= 1:
        yield None
        return
    import datetime

    import torch.distributed as dist

    dist.init_process_group("gloo", timeout=datetime.timedelta(hours=12))
    try:
        yield dist
    finally:
        dist.destroy_process_group()


def log(message: str) -> None:
    """A progress or status line on stderr (never stdout: stdout carries data)."""
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def warn(message: str) -> None:
    """A result that is not what it seems: one line on stderr, shown even with --quiet."""
    print(f"semtool: warning: {message}", file=sys.stderr, flush=True)


def debug(message: str) -> None:
    if verbose and not quiet:
        print(message, file=sys.stderr, flush=True)


def resolve_device(name: str = "auto"):
    """``--device`` -> a ``torch.device`` (torch imported here, not at start-up).

    ``auto`` is this rank's CUDA GPU (``LOCAL_RANK`` under torchrun) when torch sees one,
    else the CPU; a bare ``cuda`` is this rank's GPU too. A device this machine cannot
    use is a one-line UserError naming the option.
    """
    import torch

    from semtool.errors import UserError

    name = (name or "auto").strip().lower()
    local = ranks().local
    if name == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        return torch.device("cuda", local % torch.cuda.device_count())
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise UserError(f"--device {name}: not a torch device (cpu, cuda, cuda:1, mps, auto)") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"--device {name}: this torch sees no CUDA GPU (torch.cuda.is_available() is "
                            "False); use --device cpu")
        count = torch.cuda.device_count()
        if dev.index is None:
            return torch.device("cuda", local % count)
        if dev.index >= count:
            raise UserError(f"--device {name}: only {count} CUDA device(s) visible")
    elif dev.type == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise UserError(f"--device {name}: MPS is not available on this machine; use --device cpu")
    elif dev.type != "cpu":
        raise UserError(f"--device {name}: unsupported; choose cpu, cuda, cuda:N, mps or auto")
    return dev
