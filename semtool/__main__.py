"""``python -m semtool`` and the ``semtool`` command.

SIGINT is taken over on the first line semtool runs, before the (slow) imports of the
command line, so that Ctrl-C during start-up too ends as ``semtool: interrupted``, exit 130.
"""

import signal
import sys


def run() -> None:
    from semtool import _runtime

    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not when the shell ignores it (`cmd &`)
        signal.signal(signal.SIGINT, _runtime.on_sigint)
    try:
        from semtool.cli.app import main
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("semtool: interrupted", file=sys.stderr, flush=True)
        _runtime.exit_interrupted()
    main()


if __name__ == "__main__":
    run()
