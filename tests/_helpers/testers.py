"""One tester for "semtool's function equals its reference on seeded inputs".

After torchmetrics' ``tests/unittests/_helpers/testers.py``: a measure is run against a
reference implementation (NLTK, scikit-image, SciPy, rsatoolbox, a plain loop) on cases
drawn from seeded generators, with one tolerance policy, and a failure names the case,
the seed and where the reference comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np


@dataclass
class Case:
    """The positional and keyword arguments of one call, and a name for failure messages."""

    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    name: str = ""


def seeded_cases(make: Callable[[np.random.Generator], Any], seeds: Iterable[int] = (0, 1, 2),
                 name: str = "") -> list[Case]:
    """One :class:`Case` per seed: ``make(default_rng(seed))`` returns the args (a tuple), the
    kwargs (a dict) or a Case."""
    out = []
    for seed in seeds:
        made = make(np.random.default_rng(seed))
        case = made if isinstance(made, Case) else (Case(kwargs=made) if isinstance(made, dict) else
                                                    Case(args=made if isinstance(made, tuple) else (made,)))
        case.name = f"{name or case.name or 'case'} (seed {seed})"
        out.append(case)
    return out


def assert_matches_reference(fn: Callable[..., Any], reference: Callable[..., Any], cases: Iterable[Case], *,
                             atol: float = 1e-12, rtol: float = 0.0, source: str = "",
                             equal_nan: bool = True) -> None:
    """``fn(*case.args, **case.kwargs)`` equals ``reference(…)`` for every case, within atol + rtol·|ref|.

    Results may be numbers, arrays or dicts of either (compared key by key, same keys).
    ``source`` says where the reference comes from (a library and its function, a paper's
    formula as a plain loop); it is part of every failure message.
    """
    n = 0
    for case in cases:
        n += 1
        got = fn(*case.args, **case.kwargs)
        want = reference(*case.args, **case.kwargs)
        where = f"{getattr(fn, '__name__', fn)} vs {source or getattr(reference, '__name__', reference)}, {case.name}"
        _compare(got, want, atol, rtol, equal_nan, where)
    assert n, "no cases to compare"


def _compare(got: Any, want: Any, atol: float, rtol: float, equal_nan: bool, where: str) -> None:
    if isinstance(want, dict):
        assert isinstance(got, dict) and sorted(got) == sorted(want), f"{where}: keys {sorted(got)} vs {sorted(want)}"
        for k in want:
            _compare(got[k], want[k], atol, rtol, equal_nan, f"{where}, '{k}'")
        return
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64),
                               atol=atol, rtol=rtol, equal_nan=equal_nan, err_msg=where)
