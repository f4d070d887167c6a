"""Hugging Face model ids: is it in the local cache, and if not, can it be fetched now?

A model id that is neither cached nor reachable fails at once with the command that fetches
it, instead of after the libraries' retries (some 40 s without a network). Imports only
``huggingface_hub`` (no torch), so ``semtool doctor`` can use it too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from semtool.errors import UserError


@dataclass(frozen=True)
class DefaultModel:
    """A model semtool loads by default: its id, a file every checkout has, who uses it."""

    name: str
    repo_id: str
    probe: str
    used_by: str


#: the default models of mix (MagicMix, SGID), caption and the text CSM / embed
DEFAULTS = (
    DefaultModel("Stable Diffusion", "stable-diffusion-v1-5/stable-diffusion-v1-5", "unet/config.json",
                 "mix --method magicmix/sgid"),
    DefaultModel("BLIP", "Salesforce/blip-image-captioning-base", "config.json", "caption --blip"),
    DefaultModel("CLIP", "openai/clip-vit-base-patch32", "config.json", "caption --clip"),
    DefaultModel("MiniLM", "sentence-transformers/all-MiniLM-L6-v2", "config.json", "embed, csm text"),
)


def offline() -> bool:
    """``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) set: the libraries never try the network."""
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
               for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def is_cached(repo_id: str, probe: str = "config.json") -> bool:
    """Whether the local Hugging Face cache holds ``probe`` of ``repo_id``
    (``huggingface_hub.try_to_load_from_cache``: the cache the libraries themselves read)."""
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(repo_id, probe)
    except Exception:  # noqa: BLE001 - a malformed id is "not cached"
        return False
    return isinstance(found, str)


def fetch_command(repo_id: str) -> str:
    return f"hf download {repo_id}"


def reachable(timeout: float = 3.0) -> bool:
    """Whether the Hub endpoint (``HF_ENDPOINT``) accepts a connection within ``timeout`` s."""
    import socket
    from urllib.parse import urlparse

    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def require(repo_id: str, *, option: str, probe: str = "config.json") -> None:
    """Refuse at once a model id that is not cached and cannot be fetched now (offline mode,
    or the Hub unreachable): one line with the command that fetches it."""
    if is_cached(repo_id, probe):
        return
    why = ("HF_HUB_OFFLINE is set" if offline()
           else None if reachable() else "the Hugging Face Hub is not reachable")
    if why is None:
        return  # the library downloads it
    raise UserError(f"{option} {repo_id}: not in the local Hugging Face cache and {why}; fetch it with "
                    f"'{fetch_command(repo_id)}' on a connected machine, or pass {option} /path/to/folder")
