"""The ``semtool`` command: global options, subcommand discovery, error handling."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from typing import Annotated, Any, Optional

import typer

from semtool import __version__, _runtime

HELP = (
    "Does an image classifier see the world the way meaning does?\n\n"
    "Class similarity matrices and their alignment with WordNet (csm, sai, idm, wsi), "
    "semantic RSMs (rsm), 2 vs 2 tests (twovtwo), diffusion hybrids that teach a "
    "semantic grouping (regroup, mix, train, attack). Subcommands exchange HDF5 files; "
    "'-' means stdin/stdout for small files."
)


def _version(value: bool) -> None:
    if value:
        print(f"semtool {__version__}")
        raise typer.Exit()


def _root(
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True,
                                                    help="Print the version and exit.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or status lines.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="More detail; tracebacks for internal errors.")] = False,
) -> None:
    _runtime.quiet = quiet
    _runtime.verbose = verbose and not quiet


def command_modules() -> list[str]:
    """The public modules of semtool.cli, each defining ``register(app)`` for the command of its name."""
    import semtool.cli as pkg

    return sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_") and m.name != "app")


def make_app(only: Optional[str] = None) -> typer.Typer:
    """The ``semtool`` Typer app with every command, or with the one command ``only``.

    A run of one command builds only that command: Typer builds (and inspects the
    signatures of) every registered command at each start, so registering all of them
    would make ``semtool info x.h5`` pay for some thirty commands it does not run.
    """
    app = typer.Typer(
        name="semtool",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        # Plain (click) help: paragraphs of docstrings are re-wrapped to the terminal and '\b'
        # blocks kept, the same text on a terminal, in a pipe and in the README reference;
        # and `--help` does not import rich. (Typer's rich mode keeps the hard line breaks of
        # every paragraph after the first.) Sub-typers inherit this from the root app.
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
        help=HELP,
    )
    app.callback()(_root)
    for name in ([only] if only is not None else command_modules()):
        register = getattr(importlib.import_module(f"semtool.cli.{name}"), "register", None)
        if register is not None:
            register(app)
    return app


GLOBAL_FLAGS = ("-q", "--quiet", "-v", "--verbose")


def normalise_argv(argv: list[str]) -> list[str]:
    """Options where users put them: ``-q``/``-v`` after the subcommand are moved before it
    (they are the root's), and ``--json`` before the subcommand is moved after it (it is
    each command's); nothing after ``--`` is touched."""
    end = argv.index("--") if "--" in argv else len(argv)
    head, tail = argv[:end], argv[end:]
    flags = [a for a in head if a in GLOBAL_FLAGS]
    rest = [a for a in head if a not in GLOBAL_FLAGS]
    first = next((i for i, a in enumerate(rest) if not a.startswith("-")), len(rest))
    if "--json" in rest[:first]:
        rest = [a for a in rest[:first] if a != "--json"] + rest[first:] + ["--json"]
    return flags + rest + tail


def _plain(message: str) -> str:
    """A choice option's refusal in plain words: "Invalid value for '--split': Value error,
    'val' is not one of 'train', 'test'." -> "--split val: choose train or test"."""
    import re

    m = re.fullmatch(r"Invalid value for '([^']+)': (?:Value error, )?'([^']*)' is not one of (.+)\.", message)
    if m is None:
        return message
    choices = re.findall(r"'([^']*)'", m.group(3))
    listed = ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else "".join(choices)
    option = m.group(1).split(" / ")[0]
    return f"{option} {m.group(2)}: choose {listed}"


def _command_of(argv: list[str]) -> Optional[str]:
    """The subcommand a command line runs, when it names one of ours (global options are flags)."""
    for arg in argv:
        if arg == "--" or not arg.startswith("-"):
            return arg if arg in command_modules() else None
    return None


def __getattr__(name: str):
    # `from semtool.cli.app import app`: the app with every command (README, completions, tests).
    if name == "app":
        globals()["app"] = full = make_app()
        return full
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


COMPLETE_VAR = "_SEMTOOL_COMPLETE"


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors -> one line + exit 2, bugs -> one line + exit 1, SIGINT ->
    ``semtool: interrupted`` + exit 130."""
    import os
    import signal

    # Our own SIGINT handler (unless the shell ignores SIGINT, as for `cmd &`): it records
    # the interrupt, so one that a library swallows ("Exception ignored ... KeyboardInterrupt")
    # still ends the command as interrupted instead of letting it write its output.
    # (semtool.__main__ installs it earlier, before the imports; this covers callers of main())
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _runtime.on_sigint)
    _runtime.committed.clear()  # this run's outputs only (main may run several times in a process)
    _runtime.interrupted = False
    _runtime.checkpoint = None
    _runtime.rerun_hint = None
    code: Any = 0
    try:
        try:
            _main(argv)
        except SystemExit as done:
            # finished: a Ctrl-C from here on no longer undoes the finished work
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            code = done.code
        except BrokenPipeError:  # `semtool ... | head`: stop quietly
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
    except KeyboardInterrupt:
        _interrupted()
    sys.exit(code)


def _interrupted() -> None:
    """SIGINT at any moment: remove what this run renamed into place, say where the
    checkpoint is (if any), exit 130."""
    import contextlib
    import os
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not stop the clean-up
    for path in _runtime.committed:
        with contextlib.suppress(OSError):
            os.unlink(path)
    ckpt = _runtime.checkpoint  # a path, or a list of them (one command writing several files)
    kept = [str(p) for p in (ckpt if isinstance(ckpt, (list, tuple)) else [ckpt])
            if p is not None and os.path.exists(p)]
    if kept:
        verb = "keeps" if len(kept) == 1 else "keep"
        where = f"; {' and '.join(kept)} {verb} the work done so far (rerun the same command with --resume)"
    else:
        where = f"; {_runtime.rerun_hint}" if _runtime.rerun_hint else ""
    print(f"semtool: interrupted{where}", file=sys.stderr, flush=True)
    _runtime.exit_interrupted()


def _main(argv: list[str] | None) -> None:
    import os

    from semtool.errors import UserError

    if os.environ.get(COMPLETE_VAR):
        # Shell completion (completions/semtool.*): `source_bash` prints the script,
        # `complete_bash` answers a <TAB>. The app has add_completion=False (no
        # --install-completion option, whose shell detection fails without a terminal), so
        # Typer's completion classes, which its scripts talk to, are registered here.
        from typer.completion import completion_init

        completion_init()
    try:
        # standalone_mode=False: usage errors come back to us, so that they too are one
        # line on stderr (click would print a usage block and a boxed message).
        args = normalise_argv(sys.argv[1:] if argv is None else list(argv))
        app = make_app(None if os.environ.get(COMPLETE_VAR) else _command_of(args))
        rv = app(args=args, prog_name="semtool", standalone_mode=False)
    except UserError as exc:  # raised outside a guarded command (should be rare)
        print(f"semtool: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except BrokenPipeError:
        raise
    except Exception as exc:
        code = getattr(exc, "exit_code", None)
        if code is None or not hasattr(exc, "format_message"):
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":  # `semtool csm`: show the help
            ctx = getattr(exc, "ctx", None)
            print(ctx.get_help() if ctx is not None else exc.format_message())
            sys.exit(0)
        ctx = getattr(exc, "ctx", None)
        where = f" (see '{ctx.command_path} --help')" if ctx is not None and code == 2 else ""
        message = _plain(" ".join(exc.format_message().split()))
        print(f"semtool: error: {message}{where}", file=sys.stderr)
        sys.exit(code)
    # Typer turns a KeyboardInterrupt inside a command into exit code 130
    if _runtime.interrupted or rv == 130:
        raise KeyboardInterrupt
    sys.exit(rv if isinstance(rv, int) else 0)
