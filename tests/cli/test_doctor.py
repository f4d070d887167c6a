"""`semtool doctor`: what is there, and a fix command for each missing thing."""

from __future__ import annotations

import json
from importlib import metadata

import pytest

from semtool.cli import doctor
from semtool.data import fashion_mnist
from semtool.errors import UserError
from semtool.semantics import wordnet


def test_doctor_json_reports_versions_and_data(cli):
    proc = cli("doctor", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {r["check"]: r for r in json.loads(proc.stdout)}
    assert rows["torch"]["detail"] == metadata.version("torch")
    assert rows["torchvision"]["detail"] == metadata.version("torchvision")
    assert rows["compel"]["detail"] == metadata.version("compel")  # SGID's prompt weighting
    for name in ("Python", "CUDA devices", "WordNet 3.0", "Fashion-MNIST", "offline MiniLM", "Hugging Face cache"):
        assert name in rows
    assert rows["Fashion-MNIST"]["ok"] == (fashion_mnist.DEBIAN_ROOT / "train-images-idx3-ubyte.gz").is_file()
    assert rows["WordNet 3.0"]["ok"] == wordnet.where()["available"]
    for r in rows.values():
        assert (r["fix"] is None) == r["ok"]


def test_missing_things_come_with_their_fix(monkeypatch, tmp_path):
    monkeypatch.setattr(fashion_mnist, "DEBIAN_ROOT", tmp_path / "none")
    monkeypatch.setattr(wordnet, "DEBIAN_WORDNET", tmp_path / "none")
    monkeypatch.setattr(wordnet, "_nltk_corpus_path", lambda: None)
    rows = {r["check"]: r for r in doctor.checks()}
    assert not rows["Fashion-MNIST"]["ok"] and "apt-get install dataset-fashion-mnist" in rows["Fashion-MNIST"]["fix"]
    fix = rows["WordNet 3.0"]["fix"]
    assert "apt-get install wordnet-base wordnet-sense-index" in fix and "nltk.downloader wordnet" in fix
    # and the reader itself says both ways in one line
    wordnet.wordnet.cache_clear()
    try:
        with pytest.raises(UserError, match="apt-get install wordnet-base wordnet-sense-index.*nltk.downloader wordnet"):
            wordnet.wordnet()
    finally:
        wordnet.wordnet.cache_clear()


def test_default_models_found_or_missing_with_the_fetch_command(cli, tmp_path):
    """A Hugging Face cache laid out as the hub writes it (refs/main -> snapshots/<commit>/)
    holding BLIP's config only: BLIP is found, the other defaults are missing."""
    snap = tmp_path / "hub" / "models--Salesforce--blip-image-captioning-base"
    (snap / "refs").mkdir(parents=True)
    (snap / "refs" / "main").write_text("0" * 40)
    (snap / "snapshots" / ("0" * 40)).mkdir(parents=True)
    (snap / "snapshots" / ("0" * 40) / "config.json").write_text("{}")
    proc = cli("doctor", "--json", env={"HF_HOME": str(tmp_path), "HF_HUB_CACHE": str(tmp_path / "hub")})
    assert proc.returncode == 0, proc.stderr
    rows = {r["check"]: r for r in json.loads(proc.stdout)}
    assert rows["BLIP"]["ok"] and "in the Hugging Face cache" in rows["BLIP"]["detail"]
    for name, repo in [("Stable Diffusion", "stable-diffusion-v1-5/stable-diffusion-v1-5"),
                       ("CLIP", "openai/clip-vit-base-patch32")]:
        assert not rows[name]["ok"] and rows[name]["fix"] == f"hf download {repo}"
    from semtool.semantics.text import offline_minilm_folder

    assert rows["MiniLM"]["ok"] == (offline_minilm_folder() is not None)
