"""Model specifications: the one string every model-taking command accepts (no torch here).

==========================================  =============================================
specification                               what it loads
==========================================  =============================================
``FILE.safetensors``                        a semtool model (``semtool train``)
``FILE.pt`` / ``.pth`` / ``.safetensors``   a plain state dict (``csm ncsm`` only)
``torchvision:NAME``                        torchvision's DEFAULT weights of NAME
``torchvision:NAME:WEIGHTS``                a member of NAME's weights enum (``IMAGENET1K_V1``)
``torchvision:NAME:none``                   random initialisation (seed 0: the same untrained control every run)
``torchvision:NAME:PATH``                   NAME with a state dict from PATH (weights-only)
``FOLDER`` (with ``config.json``)           a Hugging Face model folder
``hf:ORG/NAME``                             a Hugging Face hub model (cache, else network)
``timm:NAME[:none|:PATH]``                  a timm model (extra ``semtool[timm]``)
==========================================  =============================================

:func:`parse_spec` only splits the text; :func:`semtool.models.open_model` loads it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from semtool.errors import UserError

#: Family prefixes and what follows them (shown by ``--help`` and in errors).
FAMILIES: dict[str, str] = {
    "torchvision": "torchvision:NAME[:WEIGHTS|:none|:PATH]",
    "hf": "hf:ORG/NAME (or a local folder with config.json)",
    "timm": "timm:NAME[:none|:PATH]",
}
#: Weights value meaning random initialisation.
NONE = "none"
#: Suffixes that make a torchvision/timm weights value a file rather than an enum member.
WEIGHT_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".safetensors")

SPEC_HELP = ("a semtool model file (.safetensors), torchvision:NAME[:WEIGHTS|:none|:PATH], a Hugging Face "
             "folder or hf:ORG/NAME, or timm:NAME[:none|:PATH]")


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model specification.

    ``family`` is ``file``, ``torchvision``, ``hf`` or ``timm``; ``name`` the architecture
    (or hub id / folder); ``weights`` ``DEFAULT``, an enum member name or ``none`` (random);
    ``path`` a weights file (``:PATH``) or the model file / folder itself.
    """

    text: str
    family: str
    name: str
    weights: str | None = None
    path: str | None = None

    @property
    def pretrained(self) -> bool:
        """Whether this is a network from a model zoo rather than a semtool/state-dict file."""
        return self.family != "file"


def _weights_part(family: str, name: str, rest: str | None, text: str) -> ModelSpec:
    if not name:
        raise UserError(f"model '{text}': expected {FAMILIES[family]}")
    if rest is None or rest == "":
        return ModelSpec(text, family, name, weights="DEFAULT")
    if rest.lower() == NONE:
        return ModelSpec(text, family, name, weights=NONE)
    if os.path.exists(rest) or rest.lower().endswith(WEIGHT_SUFFIXES) or "/" in rest or os.sep in rest:
        if not os.path.isfile(rest):
            raise UserError(f"model '{text}': no weights file {rest}")
        return ModelSpec(text, family, name, weights="file", path=rest)
    return ModelSpec(text, family, name, weights=rest)


def is_spec(text: str | os.PathLike) -> bool:
    """Whether ``text`` names a zoo model (family prefix or a folder), not a file."""
    s = str(text)
    head = s.split(":", 1)[0]
    return head in FAMILIES or (Path(s).is_dir())


def parse_spec(text: str | os.PathLike) -> ModelSpec:
    """Split a model specification into family, name, weights and path (see the module table)."""
    s = str(text)
    p = Path(s)
    if p.is_dir():
        if not (p / "config.json").is_file():
            raise UserError(f"{s}: a folder without config.json (expected a Hugging Face model folder, "
                            "as save_pretrained writes it)")
        return ModelSpec(s, "hf", str(p), path=str(p))
    if p.exists():
        return ModelSpec(s, "file", s, path=s)
    head, sep, rest = s.partition(":")
    if not sep or len(head) == 1:  # no prefix, or a Windows drive letter
        raise UserError(f"{s}: no such file (a model is {SPEC_HELP})")
    if head not in FAMILIES:
        raise UserError(f"model '{s}': unknown family '{head}:' (expected {', '.join(f + ':' for f in FAMILIES)} "
                        "or a file)")
    if head == "hf":
        if not rest:
            raise UserError(f"model '{s}': expected {FAMILIES['hf']}")
        return ModelSpec(s, "hf", rest)
    name, _, weights = rest.partition(":")
    return _weights_part(head, name, weights if _ else None, s)
