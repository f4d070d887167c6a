"""``semtool caption`` and ``semtool mix --method sgid`` through the shell."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from tests.conftest import assert_user_error
from tests.generate.conftest import write_imageset
from tests.generate.conftest import blip_folder, clip_folder, grouped_imageset, sd_folder  # noqa: F401  (session fixtures: tiny models)


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # 2 shared cores: no thread hand-offs


def test_caption_then_sgid(cli, grouped_imageset, sd_folder, blip_folder, clip_folder, tmp_path):
    caps = tmp_path / "captions.h5"
    proc = cli("caption", grouped_imageset, "-o", caps, "--blip", blip_folder, "--clip", clip_folder,
               "--beams", "2", "--samples", "2", "--max-new-tokens", "6", "--device", "cpu", "--batch-size", "4")
    assert proc.returncode == 0, proc.stderr.decode()
    with h5py.File(caps) as f:
        assert f.attrs["semtool_kind"] == "captions" and f["candidates"].shape == (8, 4)
        s = f["best_score"][...]
        np.testing.assert_allclose(f["guidance"][...], -4 * s * s + 2 * s + 1, rtol=1e-6)
    out = tmp_path / "sgid.h5"
    proc = cli("mix", grouped_imageset, "-o", out, "--method", "sgid", "--captions", caps, "--model", sd_folder,
               "--size", "16", "--steps", "10", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr.decode()
    with h5py.File(out) as f, h5py.File(grouped_imageset) as g:
        assert f.attrs["method"] == "sgid" and f.attrs["strength"] == 0.3
        np.testing.assert_array_equal(f["base_labels"][...], g["labels"][...])
        np.testing.assert_array_equal(f["target_labels"][...], g["labels"][...])
        # strength 0.3: a light touch, the hybrid stays close to its image
        assert f["images"].shape == g["images"].shape

    # captions of another imageset (other image count) are refused before any model loads
    other = write_imageset(tmp_path / "other.h5", np.zeros((3, 16, 16, 3), np.uint8), [0, 1, 0], ["cat", "dog"])
    bad = tmp_path / "bad.h5"
    assert_user_error(cli("mix", other, "-o", bad, "--method", "sgid", "--captions", caps, "--model", sd_folder),
                      "8 captions for the 3 images")
    assert not bad.exists()


def test_caption_bad_inputs(cli, grouped_imageset, tmp_path):
    out = tmp_path / "c.h5"
    assert_user_error(cli("caption", grouped_imageset, "-o", out, "--beams", "0", "--samples", "0"), "--beams")
    assert_user_error(cli("caption", grouped_imageset, "-o", out, "--top-p", "1.5"), "--top-p")
    assert_user_error(cli("caption", grouped_imageset, "-o", out, "--blip", "nobody/none", "--device", "cpu",
                          env={"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}), "--blip /path/to/folder")
    assert not out.exists()
