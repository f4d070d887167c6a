import os
import signal
import subprocess
import sys

import h5py
import numpy as np
import pytest

from semtool import store
from semtool.errors import UserError
from tests.conftest import assert_user_error


def _csm(path, **kw):
    with store.create(path, "csm", parameters={"measure": "test"}, **kw) as f:
        f["matrix"] = np.eye(3)
        store.write_strings(f, "classes", ["cat", "dög", "ship"])


def test_roundtrip_root_attributes_and_utf8(tmp_path):
    p = tmp_path / "a.h5"
    _csm(p)
    with store.open_file(p, "csm") as f:
        assert f.attrs["semtool_kind"] == "csm"
        assert f.attrs["semtool_schema"] == store.schema_of("csm")
        assert str(f.attrs["creator"]).startswith("semtool ")
        assert "+" in str(f.attrs["created_at"]) or "Z" in str(f.attrs["created_at"])
        assert store.read_strings(f["classes"]) == ["cat", "dög", "ship"]
        steps = store.read_provenance(f)
    assert steps[-1]["parameters"] == {"measure": "test"}


def test_provenance_records_inputs_with_sha256_and_chain(tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    _csm(a)
    with store.create(b, "csm", inputs=[a], command="derived") as f:
        f["matrix"] = np.eye(3)
        store.write_strings(f, "classes", ["x", "y", "z"])
    with store.open_file(b) as f:
        steps = store.read_provenance(f)
    assert [s["command"] for s in steps] == ["csm", "derived"]
    assert steps[-1]["inputs"][0]["sha256"] == store.sha256_of(a)
    assert steps[-1]["inputs"][0]["kind"] == "csm"


def test_existing_output_refused_unless_force(tmp_path):
    p = tmp_path / "a.h5"
    _csm(p)
    with pytest.raises(UserError, match="exists"):
        _csm(p)
    _csm(p, force=True)


def test_failed_write_leaves_nothing(tmp_path):
    p = tmp_path / "a.h5"
    with pytest.raises(RuntimeError):
        with store.create(p, "csm") as f:
            f["matrix"] = np.eye(2)
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_wrong_kind_and_newer_schema(tmp_path):
    p = tmp_path / "a.h5"
    _csm(p)
    with pytest.raises(UserError, match="kind 'csm' found, 'imageset' expected"):
        with store.open_file(p, "imageset"):
            pass
    with h5py.File(p, "a") as f:
        f.attrs["semtool_schema"] = 99
    with pytest.raises(UserError, match="newer"):
        with store.open_file(p):
            pass


def test_not_hdf5_and_truncated(tmp_path):
    txt = tmp_path / "x.h5"
    txt.write_text("hello")
    with pytest.raises(UserError, match="not an HDF5 file"):
        with store.open_file(txt):
            pass
    p = tmp_path / "a.h5"
    _csm(p)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="truncated"):
        with store.open_file(p):
            pass


def test_sigkill_during_write_leaves_no_final_file(tmp_path):
    target = tmp_path / "big.h5"
    code = f"""
import numpy as np, time, sys
from semtool import store
with store.create({str(target)!r}, "imageset") as f:
    f["images"] = np.zeros((10, 8, 8, 1), np.uint8)
    print("writing", flush=True)
    time.sleep(60)
"""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not target.exists()


def test_cli_info_user_errors(tmp_path, cli):
    assert_user_error(cli("info", tmp_path / "missing.h5"), "missing.h5", "no such file")
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5 at all")
    assert_user_error(cli("info", bad), "bad.h5", "not an HDF5 file")


def test_cli_info_reads_stdin_and_json(tmp_path, cli):
    import json

    p = tmp_path / "a.h5"
    _csm(p)
    proc = cli("info", "-", "--json", input=p.read_bytes())
    assert proc.returncode == 0, proc.stderr
    [d] = json.loads(proc.stdout)
    assert d["kind"] == "csm" and d["classes"] == ["cat", "dög", "ship"]
    assert d["datasets"]["matrix"] == {"shape": [3, 3], "dtype": "float64"}


def test_output_mode_follows_umask(tmp_path):
    p = tmp_path / "a.h5"
    old = os.umask(0o022)
    try:
        _csm(p)
    finally:
        os.umask(old)
    assert (p.stat().st_mode & 0o777) == 0o644


def test_usage_errors_are_one_line(cli, tmp_path):
    assert_user_error(cli("info", tmp_path / "a.h5", "--no-such-option"), "--no-such-option", "semtool info --help")
    assert_user_error(cli("no-such-command"), "no-such-command")


def test_bare_group_prints_help_to_stdout(cli):
    proc = cli("dataset")
    assert proc.returncode == 0
    assert b"Usage: semtool dataset" in proc.stdout
