"""``semtool mix``: end to end through the shell, and every bad input (one line, exit 2,
no output)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from tests.conftest import assert_user_error
from tests.generate.conftest import write_imageset
from tests.generate.conftest import grouped_imageset, sd_folder  # noqa: F401  (session fixtures: tiny models)


@pytest.fixture
def ungrouped(tmp_path):
    rng = np.random.default_rng(0)
    return write_imageset(tmp_path / "plain.h5", rng.integers(0, 256, (6, 8, 8, 1), dtype=np.uint8),
                          [0, 1, 2, 0, 1, 2], ["a", "b", "c"])


@pytest.fixture
def lonely(tmp_path):
    """Group 'solo' has one class."""
    rng = np.random.default_rng(0)
    return write_imageset(tmp_path / "lonely.h5", rng.integers(0, 256, (6, 8, 8, 3), dtype=np.uint8),
                          [0, 1, 2, 0, 1, 2], ["a", "b", "c"], [0, 0, 1], ["pair", "solo"])


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # 2 shared cores: no thread hand-offs


def test_mixup_end_to_end_and_info(cli, grouped_imageset, tmp_path):
    out = tmp_path / "mixup.h5"
    proc = cli("mix", grouped_imageset, "-o", out, "--method", "mixup", "--factor", "0.25", "--seed", "4")
    assert proc.returncode == 0, proc.stderr.decode()
    with h5py.File(out) as f, h5py.File(grouped_imageset) as g:
        assert f.attrs["method"] == "mixup" and f.attrs["factor"] == 0.25
        imgs, src = f["images"][...], f["source_index"][...]
        base = g["images"][...][src].astype(float)
        # every hybrid is 75 % its base image and 25 % some image of its target class
        labels = g["labels"][...]
        for k, t in enumerate(f["target_labels"][...]):
            partners = g["images"][...][labels == t].astype(float)
            err = np.abs(np.rint(0.75 * base[k] + 0.25 * partners) - imgs[k]).max(axis=(1, 2, 3))
            assert err.min() == 0
    info = cli("info", "--json", out)
    assert info.returncode == 0 and b'"hybrids"' in info.stdout


def test_magicmix_end_to_end(cli, grouped_imageset, sd_folder, tmp_path):
    out = tmp_path / "mm.h5"
    proc = cli("mix", grouped_imageset, "-o", out, "--model", sd_folder, "--size", "native", "--steps", "4",
               "--limit", "3", "--factor", "0.75", "--generator", "community", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == b""
    with h5py.File(out) as f:
        assert f["images"].shape == (3, 16, 16, 3) and f["done"][...].all()
        assert f.attrs["variant"] == "diffusers" and f.attrs["factor"] == 0.75
        assert (f.attrs["generator"], f.attrs["size"], f.attrs["prompt_template"]) == ("community", "native", "{}")
        assert f["base_labels"][...].tolist() == [0, 1, 2]  # cat->dog, dog->cat, truck->bus
        assert f["target_labels"][...].tolist() == [1, 0, 3]


LIGHT = [
    (["--targets", "group"], "ungrouped", ("no semantic groups",)),
    ([], "lonely", ("group 'solo' has one class",)),
    (["--factor", "1.5"], "grouped", ("--factor",)),
    (["--factor", "-0.1", "--method", "mixup"], "grouped", ("--factor",)),
    (["--kmin", "0.7", "--kmax", "0.6"], "grouped", ("--kmin 0.7 > --kmax 0.6",)),
    (["--steps", "1"], "grouped", ("--steps 1",)),
    (["--scheduler", "pndm"], "grouped", ("--scheduler pndm", "repeats timesteps")),
    (["--scheduler", "heun"], "grouped", ("--scheduler heun",)),
    (["--scheduler", "nonsense"], "grouped", ("--scheduler nonsense",)),
    (["--variant", "other"], "grouped", ("--variant other",)),
    (["--generator", "community", "--variant", "paper"], "grouped", ("--generator community", "--variant diffusers")),
    (["--size", "huge"], "grouped", ("--size huge", "native")),
    (["--method", "sgid"], "grouped", ("--captions",)),
    (["--targets", "cat,unicorn"], "grouped", ("unicorn",)),
]


@pytest.mark.parametrize("args,which,fragments", LIGHT)
def test_bad_options(cli, tmp_path, grouped_imageset, ungrouped, lonely, args, which, fragments):
    path = {"grouped": grouped_imageset, "ungrouped": ungrouped, "lonely": lonely}[which]
    out = tmp_path / "out.h5"
    assert_user_error(cli("mix", path, "-o", out, *args), *fragments)
    assert list(tmp_path.glob("*out.h5*")) == []


def test_model_id_not_cached(cli, grouped_imageset, tmp_path):
    out = tmp_path / "out.h5"
    proc = cli("mix", grouped_imageset, "-o", out, "--model", "nobody/no-such-model", "--device", "cpu",
               env={"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")})
    assert_user_error(proc, "nobody/no-such-model", "HF_HUB_OFFLINE", "hf download nobody/no-such-model",
                      "pass --model /path/to/folder")
    assert not out.exists()


@pytest.mark.parametrize("env", [{"HF_HUB_OFFLINE": "1"}, {"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": "http://127.0.0.1:9"}])
def test_default_model_missing_offline_fails_before_loading(cli, grouped_imageset, tmp_path, env):
    """The default Stable Diffusion id, neither cached nor fetchable (offline mode, or a Hub
    that refuses connections): refused by the cache check, not by the libraries' retries."""
    out = tmp_path / "out.h5"
    proc = cli("-v", "mix", grouped_imageset, "-o", out, "--device", "cpu",
               env={"HF_HOME": str(tmp_path / "hf"), "TRANSFORMERS_OFFLINE": "0", **env})
    assert_user_error(proc, "stable-diffusion-v1-5/stable-diffusion-v1-5", "not in the local Hugging Face cache",
                      "hf download stable-diffusion-v1-5/stable-diffusion-v1-5")
    assert not out.exists() and not list(tmp_path.glob(".out.h5*"))


@pytest.mark.parametrize("missing", ["unet", "vae"])
def test_model_folder_missing_part(cli, grouped_imageset, sd_folder, tmp_path, missing):
    import shutil

    broken = tmp_path / "model"
    shutil.copytree(sd_folder, broken)
    shutil.rmtree(broken / missing)
    out = tmp_path / "out.h5"
    assert_user_error(cli("mix", grouped_imageset, "-o", out, "--model", broken, "--device", "cpu"),
                      f"lacks {missing}/")
    assert not out.exists()


def test_fp16_on_cpu_and_cuda_without_cuda(cli, grouped_imageset, sd_folder, tmp_path):
    out = tmp_path / "out.h5"
    assert_user_error(cli("mix", grouped_imageset, "-o", out, "--model", sd_folder, "--device", "cpu",
                          "--dtype", "fp16"), "--dtype fp16", "GPU")
    proc = cli("mix", grouped_imageset, "-o", out, "--model", sd_folder, "--device", "cuda",
               env={"CUDA_VISIBLE_DEVICES": ""})
    assert_user_error(proc, "--device cuda", "no CUDA")
    assert not out.exists()


def test_existing_output_and_partial(cli, grouped_imageset, tmp_path):
    out = tmp_path / "o.h5"
    out.write_bytes(b"x")
    assert_user_error(cli("mix", grouped_imageset, "-o", out, "--method", "mixup"), "exists")
    out.unlink()
    (tmp_path / ".o.h5.partial").write_bytes(b"x")
    assert_user_error(cli("mix", grouped_imageset, "-o", out, "--method", "mixup"), "--resume")
