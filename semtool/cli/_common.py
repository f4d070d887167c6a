"""What every subcommand shares: the error guard, common options, and one printer.

Output rules: data goes to stdout, logs and progress to stderr. On a terminal results
are a rich table; piped, they are plain values (a bare number for a single value, TSV for
tables) so that ``x=$(semtool sai a.h5 b.h5)`` works; ``--json`` gives JSON.
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


def guarded(func: Callable) -> Callable:
    """Wrap a command: UserError -> one line + exit 2; a bug -> one line + exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from semtool.errors import UserError

        try:
            return func(*args, **kwargs)
        except UserError as exc:
            flag = option_flag(func, exc.parameter) if exc.parameter else None
            fail(exc.naming(flag) if flag else str(exc))
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except BrokenPipeError:
            raise typer.Exit(0) from None
        except Exception as exc:
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
        print_json({label: value})
    elif stdout_is_terminal():
        from rich.console import Console

        Console().print(f"[bold]{label}[/bold] {_fmt(value)}")
    else:
        print(_fmt(value))


def print_table(rows: Sequence[Sequence[Any]], columns: Sequence[str], *, title: str | None = None,
                as_json: bool = False, json_obj: Any = None) -> None:
    """A table: rich on a terminal, TSV with a header when piped, JSON on request."""
    if as_json:
        print_json(json_obj if json_obj is not None else [dict(zip(columns, r)) for r in rows])
        return
    if stdout_is_terminal():
        from rich.console import Console
        from rich.table import Table

        t = Table(title=title)
        for c in columns:
            t.add_column(str(c))
        for r in rows:
            t.add_row(*[_fmt(v) for v in r])
        Console().print(t)
    else:
        print("\t".join(str(c) for c in columns))
        for r in rows:
            print("\t".join(_fmt(v) for v in r))


def wrote(path: Any, summary: str = "") -> None:
    """Tell the user (stderr) what was written."""
    if str(path) != "-":
        _runtime.log(f"wrote {path}" + (f" ({summary})" if summary else ""))
