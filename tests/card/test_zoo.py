"""semtool report --zoo: parts and a merge equal one run; uncached models skipped; bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.card.test_report import write_data
from tests.conftest import ROOT, assert_user_error
from tests.learn.fmnist import CLASSES, fashion_mnist, tiny_model_file
from tests.models.zoo import torch_home  # noqa: F401


@pytest.fixture(scope="module")
def zoo(tmp_path_factory, torch_home):
    from semtool.kinds import Embeddings
    from semtool.semantics.wordnet import synsets_for

    d = tmp_path_factory.mktemp("zoo")
    x, y = fashion_mnist("test", 60, 14)
    write_data(d / "data.h5", x, y, CLASSES, synsets_for(CLASSES, preset="fashion-mnist"))
    for seed in range(3):
        tiny_model_file(d / f"net{seed}.safetensors", size=14, seed=seed)
    # a fixed word space (random vectors) keeps the sentence model out of this test
    Embeddings(str(d / "words.h5"), np.random.default_rng(0).normal(size=(10, 8)), CLASSES, "text", {"model": "test"}).write(
        d / "words.h5", command="test")
    (d / "zoo.txt").write_text("# three tiny convnets and a network whose weights are not cached\n"
                               + "".join(f"{d / f'net{s}.safetensors'}\n" for s in range(3))
                               + "torchvision:resnet18:IMAGENET1K_V1\n")
    return d


def _records(path):
    return [{k: v for k, v in r.items() if k != "card"} for r in json.loads(path.read_text())]


OPTS = dict(permutations=10, rsm_samples=12, device="cpu", figures=False)
ZOO_ARGS = ["--permutations", "10", "--rsm-samples", "12", "--device", "cpu", "--no-figures"]


@pytest.fixture(scope="module")
def one_run(zoo):
    """The whole zoo in one process."""
    from semtool.card import CardOptions
    from semtool.card.zoo import run_zoo

    run_zoo(str(zoo / "zoo.txt"), zoo / "data.h5", zoo / "one", CardOptions(words=str(zoo / "words.h5"), **OPTS))
    return zoo / "one"


def test_two_parts_and_a_merge_equal_one_run(zoo, one_run, monkeypatch):
    from semtool.card import CardOptions
    from semtool.card.zoo import run_zoo

    opts = CardOptions(words=str(zoo / "words.h5"), **OPTS)
    for part in ("1/2", "2/2"):
        run_zoo(str(zoo / "zoo.txt"), zoo / "data.h5", zoo / "split", opts, shard=part)
    assert not (zoo / "split" / "zoo.json").exists()
    run_zoo(str(zoo / "zoo.txt"), None, zoo / "split", opts, merge=True)
    one, split = _records(one_run / "zoo.json"), _records(zoo / "split" / "zoo.json")
    assert one == split
    assert [r["status"] for r in one] == ["done", "done", "done", "skipped"]
    assert "resnet18" in one[3]["model"] and "cached" in one[3]["reason"]
    assert len({r["sai_ncsm_wordnet"] for r in one[:3]}) == 3  # three different networks
    tsv = (zoo / "split" / "zoo.tsv").read_text().splitlines()
    assert tsv[0].split("\t")[:3] == ["model", "status", "accuracy"] and len(tsv) == 5
    cards = sorted(p.name for p in (zoo / "split" / "cards").iterdir())
    assert len(cards) == 3  # the skipped model leaves no folder
    for c in cards:  # each card is the card of that model alone
        assert (zoo / "split" / "cards" / c / "summary.json").is_file()
        assert not (zoo / "split" / "cards" / c / "figures").exists()  # --no-figures
    assert (zoo / "split" / "figures" / "zoo.png").stat().st_size > 5_000
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "3")
    from semtool.card.zoo import parse_shard

    assert parse_shard(None) == (2, 3)  # torchrun: rank 1 of 3 takes part 2


@pytest.mark.slow
def test_torchrun_ranks_take_the_parts(zoo, one_run, tmp_path):
    """Two torchrun ranks each run their part of the zoo (no --shard); the merge equals one run."""
    out = tmp_path / "ranks"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "semtool",
           "report", "--zoo", str(zoo / "zoo.txt"), str(zoo / "data.h5"), "-o", str(out), "--words",
           str(zoo / "words.h5"), *ZOO_ARGS]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "zoo part 1/2 done" in proc.stderr and "zoo part 2/2 done" in proc.stderr
    assert not (out / "zoo.json").exists()
    merged = subprocess.run([sys.executable, "-m", "semtool", "report", "--zoo", str(zoo / "zoo.txt"), "-o", str(out),
                             "--merge"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert merged.returncode == 0, merged.stderr
    assert _records(out / "zoo.json") == _records(one_run / "zoo.json")


def test_zoo_bad_input(zoo, cli, tmp_path):
    (tmp_path / "empty.txt").write_text("# nothing\n\n")
    out = tmp_path / "out"
    assert_user_error(cli("report", "--zoo", tmp_path / "empty.txt", zoo / "data.h5", "-o", out),
                      "empty.txt", "lists no model")
    assert_user_error(cli("report", "--zoo", zoo / "zoo.txt", zoo / "data.h5", "-o", out, "--shard", "3/2"),
                      "--shard 3/2", "1..N")
    (out / "parts").mkdir(parents=True)
    (out / "parts" / "part-2-of-3.json").write_text('{"records": []}')
    assert_user_error(cli("report", "--zoo", zoo / "zoo.txt", "-o", out, "--merge"),
                      "part-1-of-3.json", "part-3-of-3.json")
    assert not (out / "zoo.tsv").exists()


def test_torchvision_imagenet_listing():
    from semtool.card.zoo import read_zoo

    specs = read_zoo("torchvision-imagenet")  # what 'semtool report --zoo torchvision-imagenet' prints
    assert "torchvision:resnet50:IMAGENET1K_V2" in specs and "torchvision:vit_b_16:IMAGENET1K_V1" in specs
    assert all(s.startswith("torchvision:") for s in specs) and len(specs) > 50
    assert not any("quantized" in s or "raft" in s for s in specs)
