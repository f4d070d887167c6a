"""Reading 1,000 concepts from a word-vector file: semtool vs gensim (goals: ≥ 5× faster, ≤ 1/10 the memory).

Generates (once, into --dir) a 400,000 × 300 GloVe-format text file and the same words as
a word2vec binary file, picks 1,000 of its words as concepts, and times in this process
``semtool.semantics.vectors.read_vectors`` against gensim's
``KeyedVectors.load_word2vec_format`` (``no_header=True`` for GloVe, ``binary=True``)
followed by the same lookups; the vectors must be identical. Peak memory (maxrss) is
measured in fresh processes on the binary file (gensim builds the same matrix from either
format): ``semtool embed --vectors`` and ``read_vectors`` alone against gensim's load +
lookups, each also above its own imports.

    python benchmarks/word_vectors.py [--words 400000] [--dim 300] [--concepts 1000] [--dir DIR] [--memory-only]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# Runs its arguments as a child process and prints the child's peak resident memory (KiB).
_MAXRSS = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
           "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


_TINY_WORD = "w0"


def _generate(folder: Path, n: int, dim: int) -> tuple[Path, Path, list[str]]:
    """GloVe text and word2vec binary files of ``n`` random words (made once, reused)."""
    text, binary = folder / f"glove_{n}x{dim}.txt", folder / f"w2v_{n}x{dim}.bin"
    words = [f"w{i:x}" for i in range(n)]
    if text.exists() and binary.exists():
        return text, binary, words
    rng = np.random.default_rng(0)
    # Every value printed in 9 characters with its leading separator (" 0.123456", " -0.12345"),
    # so rows are built by indexing a table instead of formatting 120 million floats.
    values = rng.uniform(-1, 1, 4096)
    table = np.array([f" {v:.6f}" if v >= 0 else f" {v:.5f}" for v in values], dtype="S9")
    table_f32 = np.array([float(t) for t in table], dtype=np.float32)
    with open(text, "wb") as ft, open(binary, "wb") as fb:
        fb.write(f"{n} {dim}\n".encode())
        for s in range(0, n, 10_000):
            idx = rng.integers(0, len(table), (min(10_000, n - s), dim))
            rows = table[idx]
            vecs = table_f32[idx]
            ft.write(b"".join(words[s + i].encode() + rows[i].tobytes() + b"\n" for i in range(len(idx))))
            fb.write(b"".join(words[s + i].encode() + b" " + vecs[i].tobytes() for i in range(len(idx))))
    return text, binary, words


def _gensim(path: Path, concepts: list[str], binary: bool) -> np.ndarray:
    from gensim.models import KeyedVectors

    kv = KeyedVectors.load_word2vec_format(str(path), binary=binary, no_header=not binary)
    return np.stack([kv[c] for c in concepts])


def _semtool(path: Path, concepts: list[str]) -> np.ndarray:
    from semtool.semantics.vectors import read_vectors

    return read_vectors(path, concepts).vectors


def _peak_mib(argv: list[str]) -> float:
    """Peak resident memory (MiB) of a fresh process running ``argv``."""
    proc = subprocess.run([sys.executable, "-c", _MAXRSS, *argv], capture_output=True, check=True)
    return int(proc.stdout.decode().split()[-1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--words", type=int, default=400_000)
    ap.add_argument("--dim", type=int, default=300)
    ap.add_argument("--concepts", type=int, default=1000)
    ap.add_argument("--dir", type=Path, default=None, help="Folder for the generated files (kept for reruns).")
    ap.add_argument("--memory-only", action="store_true", help="Measure peak memory only (skip the timings).")
    args = ap.parse_args()
    folder = args.dir or Path(tempfile.gettempdir()) / "semtool-word-vectors-bench"
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    text, binary, words = _generate(folder, args.words, args.dim)
    print(f"files ready in {time.perf_counter() - t0:.1f} s: {text.stat().st_size / 2**20:.0f} MiB text, "
          f"{binary.stat().st_size / 2**20:.0f} MiB binary ({args.words} × {args.dim})")
    rng = np.random.default_rng(1)
    concepts = [words[i] for i in sorted(rng.choice(len(words), args.concepts, replace=False))]
    names = folder / "concepts.txt"
    names.write_text("\n".join(concepts) + "\n")

    for label, path, is_binary in () if args.memory_only else (("GloVe text", text, False),
                                                               ("word2vec binary", binary, True)):
        _semtool(path, concepts[:1])  # page cache warm for both sides alike
        t0 = time.perf_counter()
        ours = _semtool(path, concepts)
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        ref = _gensim(path, concepts, is_binary)
        t_ref = time.perf_counter() - t0
        same = ours.shape == ref.shape and bool(np.array_equal(ours, ref))
        print(f"{label}: semtool {t_ours:.2f} s, gensim {t_ref:.2f} s, ratio {t_ref / t_ours:.1f}× "
              f"(goal ≥ 5×: {'met' if t_ref / t_ours >= 5 else 'NOT met'}); identical vectors: {same}")

    # Memory on the binary file (gensim builds the same 400,000 × 300 matrix from either
    # format, and reads the binary one in seconds rather than minutes).
    embed = [sys.executable, "-m", "semtool", "embed", "--force"]
    ours_cli = _peak_mib(embed + ["--vectors", str(binary), "--concepts-from", str(names),
                                  "-o", str(folder / "embeddings.h5")])
    base_cli = _peak_mib(embed + ["--vectors", str(_tiny(folder)), "--words", _TINY_WORD,
                                  "-o", str(folder / "tiny.h5")])
    ours_lib = _peak_mib([sys.executable, "-c", "from semtool.semantics.vectors import read_vectors; "
                          f"read_vectors({str(binary)!r}, {json.dumps(concepts)})"])
    base_lib = _peak_mib([sys.executable, "-c", "import semtool.semantics.vectors"])
    ref = _peak_mib([sys.executable, "-c", "from gensim.models import KeyedVectors; import numpy as np; "
                     f"kv = KeyedVectors.load_word2vec_format({str(binary)!r}, binary=True); "
                     f"np.stack([kv[w] for w in {json.dumps(concepts)}])"])
    base_ref = _peak_mib([sys.executable, "-c", "import gensim.models, numpy"])
    print("peak memory (maxrss of a fresh process), word2vec binary file:")
    for label, ours, base in (("semtool embed --vectors (CLI, h5py, typer)", ours_cli, base_cli),
                              ("read_vectors (library)", ours_lib, base_lib)):
        print(f"  {label}: {ours:.0f} MiB vs gensim {ref:.0f} MiB, 1/{ref / ours:.1f} "
              f"(goal ≤ 1/10: {'met' if ref / ours >= 10 else 'NOT met'}); beyond the imports "
              f"{ours - base:.0f} MiB vs gensim's {ref - base_ref:.0f} MiB")


def _tiny(folder: Path) -> Path:
    """A one-word vector file: the CLI's memory with nothing to read."""
    p = folder / "tiny.txt"
    p.write_text(f"{_TINY_WORD} 0.5 0.25\n")
    return p

if __name__ == "__main__":
    main()
