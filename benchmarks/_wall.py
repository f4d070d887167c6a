"""Wall time of one fresh process, the measure the start-up benchmarks share."""

from __future__ import annotations

import subprocess
import time


def wall(cmd: list[str], env: dict, before=None) -> float:
    """Seconds for ``cmd`` to run to completion (output discarded; a failure raises).
    ``before`` (optional) runs first, outside the timing."""
    if before is not None:
        before()
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t0
