"""Audit of mix / caption / embed as a new user meets them: each test failed before its fix."""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest

from semtool import store
from semtool.errors import UserError
from tests.conftest import assert_user_error
from tests.generate.conftest import grouped_imageset, sd_folder, write_imageset  # noqa: F401  (session fixtures)

OFFLINE = {"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


@pytest.fixture
def empty(tmp_path):
    return write_imageset(tmp_path / "empty.h5", np.zeros((0, 8, 8, 3), np.uint8), [], ["a", "b"], [0, 0], ["g"])


def _no_output(tmp_path, name="out.h5"):
    return not list(tmp_path.glob(f"*{name}*"))


def test_model_folder_with_a_broken_part_is_one_line(cli, grouped_imageset, sd_folder, tmp_path):
    """diffusers logs 'An error occurred while trying to fetch ...' before raising: a 2nd line."""
    broken = tmp_path / "model"
    shutil.copytree(sd_folder, broken)
    shutil.rmtree(broken / "vae")
    shutil.copytree(sd_folder / "text_encoder", broken / "vae")  # vae/ holds another network's files
    out = tmp_path / "out.h5"
    assert_user_error(cli("mix", grouped_imageset, "-o", out, "--model", broken, "--device", "cpu", "--size", "16",
                          "--steps", "2", env=OFFLINE), "--model", "cannot load vae")
    assert _no_output(tmp_path)


def test_model_that_is_a_file(cli, grouped_imageset, tmp_path):
    out = tmp_path / "out.h5"
    assert_user_error(cli("mix", grouped_imageset, "-o", out, "--model", grouped_imageset, env=OFFLINE),
                      "--model", "is a file")
    assert _no_output(tmp_path)


def test_empty_imageset(cli, empty, tmp_path):
    out = tmp_path / "out.h5"
    assert_user_error(cli("mix", empty, "-o", out, "--method", "mixup"), "empty.h5", "no images")
    # caption crashed inside the writer (chunk shape) and left a partial file
    assert_user_error(cli("caption", empty, "-o", out, "--blip", "nobody/b", "--clip", "nobody/c",
                          "--device", "cpu", env=OFFLINE), "empty.h5", "no images")
    assert _no_output(tmp_path)


def test_cheap_checks_come_before_loading_the_model(cli, grouped_imageset, tmp_path):
    """--batch-size and output = input were checked only after Stable Diffusion had loaded."""
    out = tmp_path / "out.h5"
    assert_user_error(cli("mix", grouped_imageset, "-o", out, "--model", "nobody/no-model", "--batch-size", "0",
                          "--device", "cpu", env=OFFLINE), "--batch-size")
    assert_user_error(cli("caption", grouped_imageset, "-o", out, "--blip", "nobody/b", "--batch-size", "0",
                          "--device", "cpu", env=OFFLINE), "--batch-size")
    copy = tmp_path / "copy.h5"
    shutil.copy(grouped_imageset, copy)
    assert_user_error(cli("mix", copy, "-o", copy, "--force", "--model", "nobody/no-model", "--device", "cpu",
                          env=OFFLINE), "is also an input")
    assert _no_output(tmp_path)


def _captions(path, labels, classes, best, digest=None):
    with store.create(path, "captions", force=True) as f:
        n = len(labels)
        f.create_dataset("candidates", data=np.array([[b] for b in best], dtype=object),
                         dtype=h5py.string_dtype())
        f["scores"] = np.zeros((n, 1), np.float32)
        store.write_strings(f, "best", best)
        f["best_score"] = np.zeros(n, np.float32)
        f["guidance"] = np.ones(n, np.float32)
        f["labels"] = np.asarray(labels, np.int64)
        store.write_strings(f, "classes", classes)
        if digest is not None:
            f.attrs["images_sha256"] = digest
    return path


def test_captions_of_another_imageset_are_refused(grouped_imageset, tmp_path):
    """Only the count was compared: captions of other images (same count) were used silently."""
    from semtool.data.imageset import read_imageset
    from semtool.generate.sgid import images_digest, read_captions

    ims = read_imageset(grouped_imageset)
    n = len(ims.labels)
    best = [f"caption {i}" for i in range(n)]
    # a file without the digest (older semtool): the class of each image must match
    ok = _captions(tmp_path / "ok.h5", ims.labels, ims.classes, best)
    assert read_captions(ok, ims)[0] == best
    shuffled = _captions(tmp_path / "other.h5", np.roll(ims.labels, 1), ims.classes, best)
    with pytest.raises(UserError, match="captions of other images"):
        read_captions(shuffled, ims)
    # a file with the digest: other pixels are refused even with the same labels
    good = _captions(tmp_path / "d.h5", ims.labels, ims.classes, best, images_digest(ims.images))
    assert read_captions(good, ims)[0] == best
    other = _captions(tmp_path / "d2.h5", ims.labels, ims.classes, best, images_digest(255 - ims.images))
    with pytest.raises(UserError, match="captions of other images"):
        read_captions(other, ims)


def test_resume_with_another_imageset_is_refused(cli, grouped_imageset, tmp_path, monkeypatch):
    """The options were compared on --resume, the input files not: rows of two imagesets mixed."""
    from semtool.generate import baselines

    out = tmp_path / "mu.h5"
    args = ["-o", out, "--method", "mixup", "--batch-size", "2", "--seed", "3"]
    ref = tmp_path / "ref.h5"
    assert cli("mix", grouped_imageset, "-o", ref, *args[2:]).returncode == 0

    calls = {"n": 0}
    real = baselines.make_batch

    def dies_on_third(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(baselines, "make_batch", dies_on_third)
    from semtool.cli.mix import mix

    with pytest.raises(KeyboardInterrupt):  # the command function, as the CLI calls it (same parameters)
        mix(imageset=grouped_imageset, output=out, method="mixup", batch_size=2, seed=3)
    assert store.Resumable.partial_path(out).exists()

    with h5py.File(grouped_imageset) as g:
        images = 255 - g["images"][...]
        labels, classes = g["labels"][...], store.read_strings(g["classes"])
    other = write_imageset(tmp_path / "other.h5", images, labels, classes, [0, 0, 1, 1], ["animals", "vehicles"])
    assert_user_error(cli("mix", other, *args, "--resume"), "other.h5", "differs from the input")
    assert not out.exists()
    copy = tmp_path / "copy.h5"
    shutil.copy(grouped_imageset, copy)  # the same bytes under another name may resume
    proc = cli("mix", copy, *args, "--resume")
    assert proc.returncode == 0, proc.stderr.decode()
    with h5py.File(out) as a, h5py.File(ref) as b:
        for k in ("images", "base_labels", "target_labels", "source_index"):
            np.testing.assert_array_equal(a[k][...], b[k][...])


def test_embed_template_with_two_slots_and_a_bad_folder_and_device(sd_folder, monkeypatch):
    """'{} {}' raised IndexError (str.format); a non-text-model folder and --device cuda
    without CUDA gave tracebacks."""
    import torch

    from semtool.semantics.text import concept_text, load_text_model

    assert concept_text("pickup_truck", "{} or {}") == "pickup truck or pickup truck"
    assert concept_text("cat", "{x} {}") == "{x} cat"
    with pytest.raises(UserError, match="not a transformers text model folder") as e:
        load_text_model(str(sd_folder / "unet"))
    assert "\n" not in str(e.value)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UserError, match="--device cuda"):
        load_text_model(None, device="cuda")
