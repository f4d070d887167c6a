"""The hint table: every kind it names exists, and every command line it suggests is real."""

from __future__ import annotations

import re

import h5py
import numpy as np
import pytest
import typer

from semtool import store
from semtool.errors import UserError
from semtool.store._hints import HINTS, MAKE, MODEL, hint, wrong_kind_message

TEXTS = list(HINTS.values()) + list(MAKE.values())


def test_kinds_are_known():
    known = set(store.KINDS) | {MODEL}
    assert {k for pair in HINTS for k in pair} <= known
    assert set(MAKE) == known  # every kind a reader can ask for has a "how to make one"


def _commands():
    """{('csm', 'ncsm'): click command, ('sai',): …} from the real app."""
    from semtool.cli.app import app

    root = typer.main.get_command(app)
    out = {}

    def walk(cmd, path):
        out[path] = cmd
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, path + (name,))

    walk(root, ())
    return out


@pytest.mark.parametrize("text", TEXTS)
def test_suggested_commands_and_options_exist(text):
    commands = _commands()
    lines = [re.split(r";|, | or ", seg)[0].split()[1:] for seg in re.split(r"(?=semtool )", text)[1:]]
    assert lines or text.startswith("the model is"), text
    for words in lines:
        paths = [(w,) for w in words[0].split("|")]
        rest = words[1:]
        if rest and all(hasattr(commands.get(p), "commands") for p in paths):  # a group: csm, dataset, plot
            paths = [p + (w,) for p in paths for w in rest[0].split("|")]
            rest = rest[1:]
        for path in paths:
            assert path in commands, (text, path)
            opts = {o for p in commands[path].params for o in p.opts}
            for opt in (w for w in rest if w.startswith("-") and w != "-"):
                assert opt in opts, (text, path, opt)


def test_message_names_file_found_and_every_accepted_kind():
    msg = wrong_kind_message("run.h5", "curves", ("embeddings", "features", "csm"))
    assert msg.startswith("run.h5: kind 'curves' found, 'embeddings' or 'features' or 'csm' expected; ")
    assert msg.endswith("semtool csm ncsm run.h5 -o ncsm.h5")
    assert "\n" not in msg
    # a conversion to any accepted kind beats "how to make" the first one
    assert hint("predictions", ("imageset", "csm"), "p.h5") == HINTS[("predictions", "csm")].format(file="p.h5")
    assert hint("rsm", ("csm", "curves"), "r.h5") == MAKE["csm"]
    assert "'my run.h5'" in hint("curves", ("csm",), "my run.h5")  # paste-able into a shell
    assert wrong_kind_message("-", MODEL, ("csm", MODEL)).startswith("<stdin>: a model file found, 'csm' or a model")


def test_model_file_where_hdf5_is_expected(tmp_path):
    from safetensors.numpy import save_file

    p = tmp_path / "m.safetensors"
    save_file({"w": np.zeros((2, 2), np.float32)}, str(p))
    with pytest.raises(UserError, match=r"m.safetensors: a model file found, 'features' expected; extract them"):
        with store.open_file(p, "features"):
            pass
    (tmp_path / "x.h5").write_text("hello")  # other non-HDF5 files stay 'not an HDF5 file'
    with pytest.raises(UserError, match="not an HDF5 file"):
        with store.open_file(tmp_path / "x.h5", "features"):
            pass


def test_hdf5_where_a_model_is_expected(tmp_path):
    from semtool.models.metadata import read_metadata

    p = tmp_path / "c.h5"
    with store.create(p, "curves", parameters={}) as f:
        f["epochs"] = np.arange(2.0)
    with pytest.raises(UserError, match=r"c.h5: kind 'curves' found, a model file \(.safetensors\) expected; "
                                        "the model is the .safetensors file"):
        read_metadata(p)
    with h5py.File(tmp_path / "plain.h5", "w"):
        pass
    with pytest.raises(UserError, match="not a semtool file"):
        read_metadata(tmp_path / "plain.h5")
