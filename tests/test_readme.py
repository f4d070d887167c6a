"""README.md: the two commands first, and a command reference that matches `--help`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_command_reference_is_current():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_readme.py"), "--check"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr + "\n(run: python scripts/gen_readme.py)"


def test_every_command_is_in_the_reference_and_the_two_commands_come_first():
    import typer

    from semtool.cli.app import app

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.index("make demo") < readme.index("make test") < readme.index("## ")
    root = typer.main.get_command(app)
    ctx = typer.Context(root, info_name="semtool")
    for name in root.list_commands(ctx):
        assert f"### `semtool {name}`" in readme, name
