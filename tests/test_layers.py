"""The package's layers import only downwards (README, "For contributors").

Every ``import`` of a ``semtool`` module, at the top of a file or inside a function, is an
edge from the importing package to the imported one; each package may reach only the
packages its layer lists. A new edge that breaks the direction fails here, naming the file.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

#: importable from anywhere: the exception type, process-wide settings, progress, hub access
UTILITIES = {"errors", "_runtime", "_progress", "_hub", "__version__"}
DATA_LAYER = {"semantics", "data", "models", "kinds"}
ENGINES = {"generate", "learn", "attack", "analyse"}
ALLOWED = {
    "store": set(),
    "measure": set(),  # maths on arrays: no files, no other layer
    **{p: DATA_LAYER | {"store", "measure"} for p in DATA_LAYER},
    **{p: DATA_LAYER | {"store", "measure"} for p in ENGINES},  # engines do not import each other
    "report": {"kinds", "measure", "store"},  # figures read files through kinds/
    "card": ENGINES | DATA_LAYER | {"report", "store", "measure"},
    "cli": ENGINES | DATA_LAYER | {"card", "report", "store", "measure"},
    "__main__": {"cli"},
}


def _imports(path: Path, package: Path) -> set[str]:
    """The ``semtool`` packages (first name after ``semtool.``) that ``path`` imports."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's own package
                parts = list(path.relative_to(package).parts[:-1])
                parts = parts[:len(parts) - (node.level - 1)]
                names = [".".join(["semtool", *parts, *([node.module] if node.module else [])])]
            elif node.module == "semtool":
                names = [f"semtool.{a.name}" for a in node.names]
            else:
                names = [node.module or ""]
        else:
            continue
        out |= {n.split(".")[1] for n in names if n.startswith("semtool.")}
    return out


def _layer(path: Path, package: Path) -> str:
    rel = path.relative_to(package).parts
    return rel[0] if len(rel) > 1 else rel[0].removesuffix(".py")


def test_imports_go_down_the_layers():
    package = ROOT / "semtool"
    files = sorted(package.rglob("*.py"))
    assert len(files) > 50
    wrong = []
    for path in files:
        layer = _layer(path, package)
        if layer in UTILITIES or layer == "__init__":
            continue
        assert layer in ALLOWED, f"{path.relative_to(ROOT)}: package '{layer}' has no place in the layers"
        for target in _imports(path, package) - UTILITIES - {layer}:
            if target not in ALLOWED[layer]:
                wrong.append(f"{path.relative_to(ROOT)} imports semtool.{target}")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_the_check_sees_function_level_and_relative_imports(tmp_path):
    pkg = tmp_path / "semtool"
    (pkg / "measure").mkdir(parents=True)
    f = pkg / "measure" / "x.py"
    f.write_text("def f():\n    from semtool.store import create\n\nfrom ..kinds import Csm\nfrom semtool import card\n")
    assert _imports(f, pkg) == {"store", "kinds", "card"}
