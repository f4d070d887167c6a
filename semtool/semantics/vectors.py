"""Concept vectors from word-vector files: word2vec binary, word2vec / fastText text, GloVe text.

Dharmaretnam & Fyshe (2018) compare a network's layers with word spaces (SkipGram on
Google News, GloVe, ...). Those files are large (Google News: 3 million words × 300,
3.6 GB), and a study needs a few hundred concepts of them, so :func:`read_vectors` streams
the file once and keeps only the vectors of the requested concepts; the vocabulary is
never held in memory.

Formats, told apart from the file itself (gzip-compressed or not):

- ``word2vec-binary``: a ``count dim`` header line, then per word ``word`` + one space +
  ``dim`` little-endian float32 (an optional newline before the next word, as the original
  C tool writes it; gensim omits it).
- ``word2vec-text``: the same header, then ``word v1 … vdim`` per line (fastText's ``.vec``
  files are this format).
- ``glove-text``: no header; ``dim`` is the number of values on the first line.

Speed: lines (records) are never split into floats unless their word is wanted. Text is
read in large blocks, each block is split into lines and only each line's first token is
compared (case-folded) with the set of wanted forms; a binary record's float block is
skipped by offset arithmetic. Only matched lines are parsed.

Lookup of a concept (a class name such as ``German_shepherd`` or ``pickup truck``;
underscores and spaces separate words):

1. the phrase as such files spell it: words joined by ``_`` (``German_shepherd``), then by
   ``-`` (``German-shepherd``); each first exactly, then case-folded (``german_shepherd``;
   several case-folded hits: the first in the file, which is the most frequent in
   frequency-sorted files);
2. with ``phrases="mean"`` (default), a multi-word concept not found as a phrase is the mean
   of its words' vectors (each word exact, then case-folded); all words must be found.
   ``phrases="strict"`` refuses this fallback.

Vectors are returned as the file holds them (float32, no normalisation); the matched form
is recorded with each concept.
"""

from __future__ import annotations

import gzip
import os
import re
import zlib
from dataclasses import dataclass, field
from typing import BinaryIO, Sequence

import numpy as np

from semtool.errors import UserError

PHRASES = ("mean", "strict")
_BLOCK = 1 << 20  # bytes read at a time: amortises Python's per-block cost, keeps memory small
_HEAD = 1 << 16
_HEAD_MAX = 1 << 20  # a text line longer than this (over ~100,000 values) is not expected
_MAX_WORD = 4096  # bytes: a binary record whose word runs longer is taken for a damaged file
_GZIP_MAGIC = b"\x1f\x8b"
_SEPARATORS = re.compile(r"[_\s]+")


@dataclass
class WordVectors:
    """The found concepts' vectors (k, D) float32, in request order, and what was not found.

    ``matched[i]`` is the file's word for ``concepts[i]`` (``"a + b"`` for a mean of words),
    ``match[i]`` how it was found: ``exact``, ``case-folded`` or ``mean``.
    """

    vectors: np.ndarray
    concepts: list[str]
    matched: list[str]
    match: list[str]
    missing: list[str]
    format: str
    dim: int
    words_in_file: int
    compressed: bool = False


def concept_words(name: str) -> list[str]:
    """A class name's words: underscores and white space separate them (``pickup_truck``)."""
    return [w for w in _SEPARATORS.split(name.strip()) if w]


def phrase_forms(name: str) -> list[str]:
    """Spellings of a concept as one token, in the order tried: ``a_b``, then ``a-b``."""
    words = concept_words(name)
    if len(words) < 2:
        return words
    return ["_".join(words), "-".join(words)]


def _keys(form: str) -> set[bytes]:
    """Case-insensitive byte keys under which a file word can match ``form``.

    Scanning lowers each file word's ASCII letters (``bytes.lower``); the forms' usual
    casings are added so that non-ASCII capitals (``Éclair``) are caught too. Every
    candidate hit is confirmed afterwards with ``str.casefold``.
    """
    variants = {form, form.lower(), form.upper(), form.capitalize(), form.title()}
    return {v.encode("utf-8").lower() for v in variants}


# ------------------------------------------------------------------------------ file access
def _open(path: str | os.PathLike) -> tuple[BinaryIO, bool]:
    """The file as a byte stream (decompressed when gzip), and whether it was gzip."""
    try:
        raw = open(path, "rb")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, expected a word-vector file") from None
    if raw.peek(2)[:2] == _GZIP_MAGIC:
        return gzip.GzipFile(fileobj=raw, mode="rb"), True
    return raw, False


def _read_head(f: BinaryIO) -> bytes:
    """The file's start, up to at least two complete lines (or the whole file)."""
    head = b""
    while head.count(b"\n") < 2 and len(head) < _HEAD_MAX:
        chunk = f.read(_HEAD)
        if not chunk:
            break
        head += chunk
    return head


def _is_float(token: bytes) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _detect(head: bytes, path: str) -> tuple[str, int, int, int]:
    """(format, dim, words announced or -1, offset of the first record) from the file's start."""
    nl = head.find(b"\n")
    first = head[:nl if nl >= 0 else len(head)]
    fields = first.split()
    unknown = UserError(f"{path}: not a word-vector file in a known format (expected word2vec binary, "
                        "word2vec/fastText text with a 'count dim' header, or GloVe text; gzip allowed)")
    if len(fields) == 2 and fields[0].isdigit() and fields[1].isdigit():
        count, dim = int(fields[0]), int(fields[1])
        if dim < 1:
            raise UserError(f"{path}: the header announces {dim} dimensions")
        rest = head[nl + 1:]
        end = rest.find(b"\n")
        parts = (rest[:end] if end >= 0 else rest).split()
        if len(parts) >= dim + 1 and all(_is_float(t) for t in parts[-dim:]):
            return "word2vec-text", dim, count, nl + 1
        if count == 0 or b" " in rest.lstrip(b"\n")[:1024]:
            return "word2vec-binary", dim, count, nl + 1
        raise unknown
    if len(fields) >= 2 and all(_is_float(t) for t in fields[1:]):
        return "glove-text", len(fields) - 1, -1, 0
    raise unknown


# ---------------------------------------------------------------------------------- scanners
@dataclass
class _Hit:
    order: int  # line number (text, 1-based) or record number (binary)
    word: str
    vector: np.ndarray


def _values(line: bytes, dim: int, lineno: int, path: str) -> tuple[bytes, np.ndarray]:
    """(word, vector) of one text line: the last ``dim`` tokens are the values, the rest the
    word (GloVe's Common Crawl files hold a few words with spaces)."""
    parts = line.split()
    head = parts[:-dim] if len(parts) > dim else []
    if not head or (len(head) > 1 and _is_float(head[-1])):
        n = len(parts) - 1
        raise UserError(f"{path}: line {lineno} holds {n} values, expected {dim}")
    try:
        vec = np.array([float(t) for t in parts[-dim:]], dtype=np.float32)
    except ValueError:
        raise UserError(f"{path}: line {lineno} holds a value that is not a number") from None
    return b" ".join(head), vec


def _scan_text(f: BinaryIO, buf: bytes, *, dim: int, first_line: int, keys: set[bytes], path: str,
               hits: list[_Hit]) -> int:
    """Scan text records; append the wanted ones to ``hits``; return the number of (non-blank) lines.

    Each block is lowered once (ASCII) and walked line by line with ``find``: a line costs
    two searches, one slice and one set lookup, and no line objects are built, so memory
    stays at about two blocks.
    """
    lineno = first_line
    records = 0
    eof = False
    while not eof:
        chunk = f.read(_BLOCK)
        eof = not chunk
        block = buf + chunk
        end = len(block) if eof else block.rfind(b"\n") + 1
        buf = block[end:]
        low = block[:end].lower()
        pos = 0
        while pos < end:
            nl = low.find(b"\n", pos, end)
            if nl < 0:
                nl = end
            if nl > pos:
                records += 1
                sp = low.find(b" ", pos, nl)
                if low[pos:sp if sp >= 0 else nl] in keys:
                    word, vec = _values(block[pos:nl], dim, lineno, path)
                    if word.lower() in keys:
                        hits.append(_Hit(lineno, word.decode("utf-8", "replace"), vec))
            lineno += 1
            pos = nl + 1
    return records


def _scan_binary(f: BinaryIO, buf: bytes, *, dim: int, count: int, keys: set[bytes], path: str,
                 hits: list[_Hit]) -> int:
    """Scan ``count`` binary records, skipping each float block; return the records read."""
    nbytes = 4 * dim
    need = nbytes + _MAX_WORD + 2  # one whole record with the longest word we accept
    pos = 0
    eof = False
    for rec in range(count):
        if not eof and len(buf) - pos < need:
            chunk = f.read(max(_BLOCK, need))
            eof = not chunk
            buf = buf[pos:] + chunk
            pos = 0
        if pos < len(buf) and buf[pos] == 10:  # the C tool's newline after each vector
            pos += 1
        sp = buf.find(b" ", pos, pos + need)
        if sp < 0 or sp + 1 + nbytes > len(buf):
            if not eof:
                chunk = f.read(max(_BLOCK, need))
                if chunk:
                    raise UserError(f"{path}: record {rec + 1} has no space within {_MAX_WORD} bytes; "
                                    "not word2vec binary")
            raise UserError(f"{path}: binary file cut short: record {rec + 1} of {count} is incomplete")
        word = buf[pos:sp]
        if word.lower() in keys:
            vec = np.frombuffer(buf, dtype="<f4", count=dim, offset=sp + 1).astype(np.float32)
            hits.append(_Hit(rec + 1, word.decode("utf-8", "replace"), vec))
        pos = sp + 1 + nbytes
    return count


# ------------------------------------------------------------------------------ resolution
@dataclass
class _Found:
    """File words seen for the wanted keys: exact spelling -> first hit; case-folded -> hits."""

    exact: dict[str, _Hit] = field(default_factory=dict)
    folded: dict[str, list[_Hit]] = field(default_factory=dict)

    def add(self, hit: _Hit) -> None:
        self.exact.setdefault(hit.word, hit)
        self.folded.setdefault(hit.word.casefold(), []).append(hit)

    def lookup(self, form: str) -> tuple[_Hit, str] | None:
        """The form's hit: exact, else the first case-folded one in file order."""
        if form in self.exact:
            return self.exact[form], "exact"
        cands = self.folded.get(form.casefold())
        if cands:
            return min(cands, key=lambda h: h.order), "case-folded"
        return None


def _resolve(name: str, found: _Found, phrases: str) -> tuple[np.ndarray, str, str] | None:
    """(vector, matched form, how) for one concept, or None."""
    for form in phrase_forms(name):
        hit = found.lookup(form)
        if hit is not None:
            return hit[0].vector, hit[0].word, hit[1]
    words = concept_words(name)
    if len(words) < 2 or phrases == "strict":
        return None
    hits = [found.lookup(w) for w in words]
    if any(h is None for h in hits):
        return None
    mean = np.mean([h[0].vector.astype(np.float64) for h in hits], axis=0)
    return mean.astype(np.float32), " + ".join(h[0].word for h in hits), "mean"


def read_vectors(path: str | os.PathLike, concepts: Sequence[str], *, phrases: str = "mean") -> WordVectors:
    """Vectors of ``concepts`` from a word-vector file, streamed once (Dharmaretnam & Fyshe 2018's word spaces).

    Parameters
    ----------
    path : word2vec binary, word2vec / fastText text or GloVe text file, optionally gzip.
    concepts : names to look up; underscores and spaces separate the words of a phrase.
    phrases : ``"mean"`` (a phrase absent from the file is the mean of its words' vectors)
        or ``"strict"`` (phrases only as the file spells them).

    Returns
    -------
    WordVectors with the found concepts in request order (float32 (k, D), raw) and the
    missing ones. Finding none is a UserError.

    Notes
    -----
    Only the lines (records) whose first token case-folds to a wanted form are parsed, so
    a malformed line elsewhere goes unnoticed; a text file with fewer lines than its header
    announces, or a binary file cut short, is refused.
    """
    if phrases not in PHRASES:
        raise UserError(f"phrases must be one of {', '.join(PHRASES)}, got '{phrases}'")
    path = str(path)
    keys: set[bytes] = set()
    for name in concepts:
        for form in phrase_forms(name) + (concept_words(name) if phrases == "mean" else []):
            keys |= _keys(form)
    f, compressed = _open(path)
    hits: list[_Hit] = []
    try:
        with f:
            head = _read_head(f)
            fmt, dim, count, start = _detect(head, path)
            if fmt == "word2vec-binary":
                n = _scan_binary(f, head[start:], dim=dim, count=count, keys=keys, path=path, hits=hits)
            else:
                n = _scan_text(f, head[start:], dim=dim, first_line=2 if start else 1, keys=keys,
                               path=path, hits=hits)
    except (OSError, EOFError, zlib.error) as exc:  # a damaged or truncated gzip stream among them
        raise UserError(f"{path}: cannot be read to the end ({exc})") from None
    if count >= 0 and n < count:
        raise UserError(f"{path}: the header announces {count} words but the file holds {n} (cut short?)")
    found = _Found()
    for h in hits:
        found.add(h)
    vectors, names, matched, how, missing = [], [], [], [], []
    for name in concepts:
        r = _resolve(name, found, phrases)
        if r is None:
            missing.append(name)
            continue
        vectors.append(r[0])
        names.append(name)
        matched.append(r[1])
        how.append(r[2])
    if not names:
        shown = ", ".join(list(concepts)[:10])
        raise UserError(f"{path}: none of the {len(concepts)} concepts found ({shown}"
                        + (", ..." if len(concepts) > 10 else "") + ")")
    return WordVectors(np.stack(vectors), names, matched, how, missing, fmt, dim, n, compressed)
