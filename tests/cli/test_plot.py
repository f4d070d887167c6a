"""``semtool plot …`` end to end in a subprocess: real PNGs, one-line errors, no torch."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import assert_user_error
from tests.report import _files as F
from tests.report._files import assert_real_image


@pytest.fixture
def files(tmp_path, rng):
    """One small file of every kind plot reads."""
    d = {
        "csm": F.write_csm(tmp_path / "ncsm.h5", F.planted_blocks(F.FASHION_GROUPS, rng), F.FASHION,
                           groups=F.FASHION_GROUPS, group_names=F.FASHION_GROUP_NAMES),
        "wordnet": F.write_csm(tmp_path / "wordnet.h5", F.planted_blocks(F.FASHION_GROUPS, rng, within=0.3),
                               F.FASHION, source="wordnet", measure="path"),
        "stack": F.write_csm(tmp_path / "stack.h5", np.stack([F.planted_blocks(F.FASHION_GROUPS, rng)] * 3),
                             F.FASHION),
        "curves": F.write_curves(tmp_path / "run_a.h5", rng),
        "curves2": F.write_curves(tmp_path / "run_b.h5", rng, shift=0.05),
        "snap": F.write_curves(tmp_path / "snap.h5", rng, snapshots=True),
        "attack": F.write_attack(tmp_path / "base.h5", rng, semantic_bias=0.1),
        "attack2": F.write_attack(tmp_path / "hyb.h5", rng, semantic_bias=0.6),
        "clean": F.write_attack(tmp_path / "clean.h5", rng, with_eps=False),
        "rsm": F.write_rsm(tmp_path / "rsm.h5", rng),
        "twovtwo": F.write_twovtwo(tmp_path / "t.h5", rng),
    }
    return d


SIZE = ["--size", "5x4", "--dpi", "40"]  # -> 200 × 160 pixels


@pytest.mark.parametrize("args", [
    ["csm", "{csm}", "{wordnet}"],
    ["csm", "{stack}", "--epoch", "1", "--order", "cluster"],
    ["csm", "{snap}", "{snap}", "--epoch", "0", "--epoch", "-1"],
    ["curves", "{curves}", "{curves2}", "--label", "base", "--label", "hybrids"],
    ["attack", "{attack}", "{attack2}"],
    ["rsm", "{rsm}"],
    ["twovtwo", "{twovtwo}"],
])
def test_each_subcommand_writes_a_real_png(cli, files, tmp_path, args):
    out = tmp_path / "fig.png"
    proc = cli("plot", *[a.format(**files) for a in args], "-o", out, *SIZE)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == b""  # data channel untouched; the log goes to stderr
    assert "wrote" in proc.stderr.decode()
    assert_real_image(out, (200, 160))


@pytest.mark.parametrize("args, fragments", [
    (["csm", "{rsm}"], ["rsm.h5", "kind 'rsm' found", "'csm' or 'curves' expected"]),
    (["attack", "{curves}"], ["run_a.h5", "kind 'curves' found", "'predictions' expected"]),
    (["csm", "{curves}"], ["--snapshot ncsm", "no 'snapshots/ncsm'"]),
    (["attack", "{clean}"], ["clean.h5", "no ε axis"]),
    (["csm", "{stack}", "--epoch", "7"], ["--epoch 7", "3 matrices"]),
    (["csm", "{wordnet}", "--order", "groups"], ["--order groups", "no 'groups'"]),
    (["curves", "{curves}", "--series", "nope/*"], ["--series 'nope/*'"]),
    (["curves", "{curves}", "{curves2}", "--label", "one"], ["--label", "2 files"]),
    (["twovtwo", "{twovtwo}", "--size", "huge"], ["--size"]),
])
def test_bad_input_one_line_and_no_output(cli, files, tmp_path, args, fragments):
    out = tmp_path / "fig.png"
    proc = cli("plot", *[a.format(**files) for a in args], "-o", out)
    assert_user_error(proc, *fragments)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".fig")]  # no temp left


def test_output_checks(cli, files, tmp_path):
    proc = cli("plot", "rsm", files["rsm"], "-o", tmp_path / "fig.jpg")
    assert_user_error(proc, "fig.jpg", "unknown figure extension")
    proc = cli("plot", "rsm", files["rsm"], "-o", tmp_path / "missing" / "fig.png")
    assert_user_error(proc, "output folder does not exist")
    existing = tmp_path / "old.png"
    existing.write_bytes(b"keep")
    proc = cli("plot", "rsm", files["rsm"], "-o", existing)
    assert_user_error(proc, "exists; use --force")
    assert existing.read_bytes() == b"keep"
    proc = cli("plot", "rsm", files["rsm"], "-o", existing, "--force", *SIZE)
    assert proc.returncode == 0
    assert_real_image(existing, (200, 160))


def test_svg_and_pdf_by_extension(cli, files, tmp_path):
    for ext, magic in ((".svg", b"<svg"), (".pdf", b"%PDF")):
        out = tmp_path / f"fig{ext}"
        proc = cli("plot", "twovtwo", files["twovtwo"], "-o", out)
        assert proc.returncode == 0, proc.stderr.decode()
        assert magic in out.read_bytes()[:600]


def test_plot_csm_does_not_import_torch(files, tmp_path):
    out = tmp_path / "light.png"
    code = (
        "import sys\n"
        "from semtool.cli.app import main\n"
        "try:\n"
        f"    main(['plot', 'csm', {str(files['csm'])!r}, '-o', {str(out)!r}, '--order', 'cluster'])\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "heavy = [m for m in ('torch', 'torchvision', 'diffusers', 'transformers') if m in sys.modules]\n"
        "print(','.join(heavy) or 'none')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().strip() == "none"
    assert out.exists()


def test_help_lists_subcommands(cli):
    proc = cli("plot", "--help")
    assert proc.returncode == 0
    text = proc.stdout.decode()
    for sub in ("csm", "curves", "attack", "rsm", "twovtwo"):
        assert sub in text


def test_cli_choices_match_the_library():
    from typing import get_args

    from semtool.cli import plot as cli_plot
    from semtool.report import plots

    assert get_args(cli_plot.Order) == plots.CSM_ORDERS
    assert get_args(cli_plot.Scale) == plots.CSM_SCALES
