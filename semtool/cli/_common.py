"""What every subcommand shares: the error guard, common options, and one printer.

Output rules: data goes to stdout, logs and progress to stderr. On a terminal results
are a rich table; piped, they are plain values (a bare number for a single value, TSV for
tables) so that ``x=$(semtool sai a.h5 b.h5)`` works; ``--json`` gives JSON, always in one
layout: a list of records (objects), one per row of the table, each repeating its context
(the files compared, the options that shape the numbers).
"""

from __future__ import annotations

import functools
import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any, Callable, Optional, Sequence

import typer

from semtool import _runtime

# ------------------------------------------------------------------ shared option types
OutputOpt = Annotated[Path, typer.Option("--output", "-o", help="Output file ('-' for stdout where the kind is small).")]
OptionalOutputOpt = Annotated[Optional[Path], typer.Option("--output", "-o", help="Also write the result to this file.")]
ForceOpt = Annotated[bool, typer.Option("--force", "-f", help="Overwrite an existing output file.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
ResumeOpt = Annotated[bool, typer.Option("--resume", help="Continue an interrupted run from its partial file.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same numbers.", min=0)]
DeviceOpt = Annotated[str, typer.Option("--device", help="torch device: cpu, cuda, cuda:1, mps, or auto.")]
TrustOpt = Annotated[bool, typer.Option("--trust-remote-code", help="Let a Hugging Face model run the code shipped in its folder or repository (off: such a model is refused).")]
#: A model specification argument (resolved by semtool.models.open_model).
MODEL_HELP = ("Model: a semtool model file (.safetensors), torchvision:NAME[:WEIGHTS|:none|:PATH], a Hugging Face "
              "folder or hf:ORG/NAME, or timm:NAME[:none|:PATH] (see 'Your own network' in the README).")


#: the values of choice options, for shell completion; written here (the libraries that define
#: them import torch or SciPy) and kept equal to the libraries' registries by a test
CHOICES: dict[str, tuple[str, ...]] = {
    "mix --method": ("magicmix", "sgid", "mixup", "cutmix"),
    "sai --measure": ("cosine", "ssim", "mse", "mae", "all"),
    "attack --targeted": ("random", "next", "least-likely"),
    "rsm --kernel": ("inner", "cosine", "rbf"),
    "rsm --matcher": ("optimal", "batch-optimal:", "greedy"),
    "features --pool": ("mean", "max", "cls", "none"),
}


def complete(key: str) -> Callable[[str], list[str]]:
    """A Typer ``autocompletion`` function offering ``CHOICES[key]`` that start with what was typed."""
    def values(incomplete: str) -> list[str]:
        return [v for v in CHOICES[key] if v.startswith(incomplete)]

    return values


def guarded(func: Callable) -> Callable:
    """Wrap a command: UserError -> one line + exit 2; a bug -> one line + exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from semtool.errors import UserError

        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except UserError as exc:
            _runtime.check_interrupt()  # SIGINT that a library turned into another error
            flag = option_flag(func, exc.parameter) if exc.parameter else None
            fail(exc.naming(flag) if flag else str(exc))
        except BrokenPipeError:
            raise typer.Exit(0) from None
        except Exception as exc:
            _runtime.check_interrupt()
            if _runtime.verbose:
                raise
            print(f"semtool: internal error: {type(exc).__name__}: {exc} "
                  "(rerun with -v for the traceback)", file=sys.stderr)
            raise typer.Exit(1) from None

    return wrapper


def option_flag(command: Callable, parameter: str) -> str | None:
    """The long flag (``--quantile``) of ``command``'s option for ``parameter``; None without one."""
    import inspect
    import typing

    from typer.models import OptionInfo

    param = inspect.signature(command).parameters.get(parameter)
    if param is None:
        return None
    try:
        hint = typing.get_type_hints(command, include_extras=True).get(parameter)
    except Exception:  # an annotation that does not resolve: no flag to name
        hint = None
    for info in (*getattr(hint, "__metadata__", ()), param.default):
        if isinstance(info, OptionInfo):
            # With Annotated, Typer reads the first declaration from ``default``.
            decls = [d for d in (info.default, *(info.param_decls or ())) if isinstance(d, str) and d.startswith("-")]
            return next((d for d in decls if d.startswith("--")), decls[0] if decls else None)
    return None


def fail(message: str) -> None:
    """Print one error line and exit 2."""
    print(f"semtool: error: {message}", file=sys.stderr)
    raise typer.Exit(2)


def parse_floats(text: str, option: str) -> list[float]:
    """'0,0.25,0.5' -> [0.0, 0.25, 0.5], with a one-line error naming the option."""
    from semtool.errors import UserError

    try:
        vals = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise UserError(f"{option}: expected comma-separated numbers, got '{text}'") from None
    if not vals:
        raise UserError(f"{option}: expected at least one number")
    return vals


def stdin_once(*paths: Any) -> None:
    """Refuse '-' (stdin) for more than one input: stdin holds one file, and reading it
    twice would silently compare a file with itself."""
    from semtool.errors import UserError

    if sum(str(p) == "-" for p in paths if p is not None) > 1:
        raise UserError("'-' (stdin) can stand for one input only; give the others by path")


# ------------------------------------------------------------------------- printing
def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        return f"{v:.6g}"
    return str(v)


def records(rows: Sequence[Sequence[Any]], columns: Sequence[str], **context: Any) -> list[dict[str, Any]]:
    """Table rows as the one JSON layout: a list of records, each with ``context`` first."""
    return [{**context, **dict(zip(columns, r))} for r in rows]


def print_json(obj: Any) -> None:
    def default(o: Any) -> Any:
        try:
            import numpy as np

            if isinstance(o, np.generic):
                return o.item()
            if isinstance(o, np.ndarray):
                return o.tolist()
        except ImportError:  # pragma: no cover
            pass
        return str(o)

    print(json.dumps(obj, default=default, indent=2 if stdout_is_terminal() else None, allow_nan=True))


def print_value(value: Any, *, label: str = "value", as_json: bool = False) -> None:
    """A single result: the bare value when piped, a labelled line on a terminal."""
    if as_json:
        print_json([{label: value}])
    elif stdout_is_terminal():
        from rich.console import Console

        Console().print(f"[bold]{label}[/bold] {_fmt(value)}")
    else:
        print(_fmt(value))


def print_table(rows: Sequence[Sequence[Any]], columns: Sequence[str], *, title: str | None = None,
                as_json: bool = False, json_obj: Any = None,
                short: dict[str, tuple[str, str]] | None = None) -> None:
    """A table: rich on a terminal, TSV with a header when piped, JSON on request (the
    records ``json_obj``, a single record is shown as a list of one; default: the rows).

    ``short`` maps a column to (short header, meaning): the terminal table uses the short
    header, so that it fits 80 columns, with a legend under it; TSV and JSON keep the names.
    """
    if as_json:
        obj = json_obj if json_obj is not None else records(rows, columns)
        print_json([obj] if isinstance(obj, dict) else obj)
        return
    if stdout_is_terminal():
        from rich.console import Console
        from rich.table import Table

        short = short or {}
        t = Table(title=title)
        for c in columns:
            t.add_column(short[c][0] if c in short else str(c))
        for r in rows:
            t.add_row(*[_fmt(v) for v in r])
        con = Console()
        con.print(t)
        for head, meaning in short.values():
            con.print(f"  {head}: {meaning}", markup=False, highlight=False)
    else:
        print("\t".join(str(c) for c in columns))
        for r in rows:
            print("\t".join(_fmt(v) for v in r))


def plural(n: int, noun: str) -> str:
    """'1 epoch', '2 epochs'."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def wrote(path: Any, summary: str = "") -> None:
    """Tell the user (stderr) what was written."""
    if str(path) != "-":
        _runtime.log(f"wrote {path}" + (f" ({summary})" if summary else ""))
