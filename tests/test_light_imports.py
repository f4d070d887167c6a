"""Light commands never import the heavy libraries (DESIGN.md: heavy imports live in functions).

Each command in :data:`LIGHT_COMMANDS` runs in a fresh interpreter, exactly as
``python -m semtool`` does, must exit 0, and must leave none of :data:`HEAVY` in
``sys.modules``. To add a command, append its argv; placeholders are filled in:

``{imageset}``  a small Fashion-MNIST-named imageset with synsets, groups and visual groups
``{csm}``       a 10×10 ``csm`` file over the same classes
``{out}``       a fresh output path (``.h5``) in a temporary folder
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from semtool import store
from semtool.data.imageset import ImageSet, write_imageset

LIGHT_COMMANDS: list[list[str]] = [
    ["--help"],
    ["--version"],
    ["info", "{imageset}"],
    ["info", "--json", "{csm}"],
    ["doctor"],
    ["doctor", "--json"],
    ["regroup", "{imageset}", "--preset", "fashion-mnist", "-o", "{out}"],
    ["dataset", "--help"],
    ["csm", "groups", "{imageset}", "-o", "{out}"],
    ["csm", "wordnet", "--preset", "fashion-mnist", "-o", "{out}"],
    ["csm", "wordnet", "--preset", "imagenet", "-o", "{out}"],
    ["sai", "{csm}", "{csm}"],
    ["sai", "--measure", "all", "--json", "{csm}", "{csm}"],
    ["wsi", "{csm}"],
    ["csm", "show", "{csm}"],
    ["plot", "--help"],
    ["mix", "{imageset}", "--method", "mixup", "--factor", "0.5", "-o", "{out}"],
]
HEAVY = ("torch", "torchvision", "diffusers", "transformers")
# Not even `--help` may load these: they are imported inside functions (house rule for cli/ and measure/).
NOT_AT_IMPORT = HEAVY + ("matplotlib", "scipy", "PIL", "nltk", "skimage", "safetensors")

_RUN = """
import json, runpy, sys
argv, dump = json.loads(sys.argv[1]), sys.argv[2]
sys.argv = ["semtool", *argv]
try:
    runpy.run_module("semtool", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code
else:
    code = 0
finally:
    with open(dump, "w") as fh:
        json.dump(sorted(sys.modules), fh)
sys.exit(code)
"""

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from semtool.semantics.wordnet import preset_synsets

    d = tmp_path_factory.mktemp("light")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (40, 8, 8, 1), dtype=np.uint8)
    table = preset_synsets("fashion-mnist")
    write_imageset(d / "imageset.h5", ImageSet(images=images, labels=np.arange(40) % 10, classes=CLASSES,
                                               synsets=[table[c] for c in CLASSES], source="test", split="train",
                                               groups=np.arange(10) % 3, group_names=["A", "B", "C"],
                                               visual_groups=np.arange(10) // 4,
                                               visual_group_names=["v0", "v1", "v2"]),
                   command="test", parameters={})
    with store.create(d / "csm.h5", "csm", parameters={}) as f:
        m = rng.random((10, 10))
        m = (m + m.T) / 2
        np.fill_diagonal(m, 1.0)
        f["matrix"] = m
        store.write_strings(f, "classes", CLASSES)
        f.attrs["source"], f.attrs["measure"] = "ncsm", "cosine"  # wsi reads NCSMs only
    return d


ROOT = Path(__file__).resolve().parents[1]


def _modules(argv: list[str], tmp_path) -> list[str]:
    dump = tmp_path / "modules.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    proc = subprocess.run([sys.executable, "-c", _RUN, json.dumps(argv), str(dump)], capture_output=True,
                          timeout=300, cwd=tmp_path, env=env)
    assert proc.returncode == 0, (argv, proc.stderr.decode()[-2000:])
    return json.loads(dump.read_text())


@pytest.mark.parametrize("argv", LIGHT_COMMANDS, ids=lambda a: " ".join(a))
def test_light_command_imports_no_heavy_library(argv, files, tmp_path):
    filled = [a.format(imageset=files / "imageset.h5", csm=files / "csm.h5", out=tmp_path / "out.h5") for a in argv]
    loaded = {m.split(".")[0] for m in _modules(filled, tmp_path)}
    assert not loaded & set(HEAVY), f"{' '.join(argv)} imported {sorted(loaded & set(HEAVY))}"


def test_help_imports_only_the_light_core(tmp_path):
    loaded = {m.split(".")[0] for m in _modules(["--help"], tmp_path)}
    assert not loaded & set(NOT_AT_IMPORT), f"--help imported {sorted(loaded & set(NOT_AT_IMPORT))}"


def test_piped_info_does_not_import_rich(files, tmp_path):
    """`info` into a pipe prints plain text; rich (tens of ms to import) only on a terminal."""
    loaded = {m.split(".")[0] for m in _modules(["info", str(files / "imageset.h5")], tmp_path)}
    assert "rich" not in loaded


def test_a_run_builds_only_its_own_command(files, tmp_path):
    """`semtool -q sai …` imports the sai module and no other command's; --help lists them all."""
    loaded = set(_modules(["-q", "sai", str(files / "csm.h5"), str(files / "csm.h5")], tmp_path))
    commands = {m for m in loaded if m.startswith("semtool.cli.") and not m.split(".")[-1].startswith("_")}
    assert commands == {"semtool.cli.app", "semtool.cli.sai"}, sorted(commands)
    import typer

    from semtool.cli.app import app, command_modules, make_app

    assert set(typer.main.get_command(make_app("sai")).commands) == {"sai"}
    assert set(typer.main.get_command(app).commands) == set(command_modules())
