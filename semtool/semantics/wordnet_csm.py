"""WordNet class similarity matrices, vectorised, identical to NLTK (Filus et al.; Miller 1995).

The Deep Similarity Inspector's semantic reference is a CSM of WordNet similarities
between the classes' synsets. NLTK answers one pair at a time and walks the hypernym
graph twice per pair; here every synset's hypernym distance map is computed once and the
pairs are combined with array operations, with values equal to NLTK's:

* ``path``: 1 / (1 + d(i, j)), d the shortest path through a shared hypernym,
  d(i, j) = min over shared ancestors a of D[i, a] + D[j, a]
  (``Synset.path_similarity``; Rada et al. 1989);
* ``wup``: 2·depth(s) / (len(i, s) + len(j, s) + 2·depth(s)), s the lowest common subsumer
  (``Synset.wup_similarity``; Wu & Palmer 1994);
* ``lch``: −log((d(i, j) + 1) / (2·D)), D the deepest hypernym path of the part of speech
  (``Synset.lch_similarity``; Leacock & Chodorow 1998).

NLTK's rules, mirrored exactly (``nltk/corpus/reader/wordnet.py``):

* hypernyms *and* instance hypernyms are edges (so ``paris.n.01`` reaches ``city.n.01``);
* ``simulate_root=True`` (NLTK's default) adds a fake ``*ROOT*`` above everything, but only
  for synsets whose part of speech "needs" it: every non-noun (WordNet ≥ 2.0 nouns share
  ``entity.n.01``). Its distance from a synset is that synset's farthest ancestor + 1;
* wup picks the subsumer as NLTK does: among the shared ancestors (each synset counts as
  its own ancestor) those of the greatest *minimum* depth (``use_min_depth=True``), then
  the synset itself if it is one of them, else the first by name (``*ROOT*`` sorts
  first); depth(s) = max_depth(s) + 1; len(i, s) is NLTK's shortest path distance;
* lch: D is the taxonomy's deepest ``max_depth`` over all synsets of the first synset's
  part of speech (+1 with the fake root); both synsets must share a part of speech.

The diagonal is whatever NLTK returns for a synset compared with itself: 1 for ``path``,
−log(1 / (2·D)) for ``lch``, and for ``wup`` usually 1 but less than 1 for a few synsets
whose shared ancestor of greatest minimum depth is not the synset itself (NLTK's
``use_min_depth``); the matrix stays equal to NLTK's everywhere, the diagonal included.
``wup`` may therefore be slightly asymmetric; row i is ``synsets[i].wup_similarity(…)``.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from semtool.errors import UserError

_INF = np.int64(1 << 40)


class _Hierarchy:
    """The hypernym closure of some synsets: per node its distance map and depths.

    Nodes are the query synsets and all their ancestors. ``dist[n]`` maps an ancestor
    index to the shortest number of hypernym / instance-hypernym edges (NLTK's
    ``_shortest_hypernym_paths`` without the fake root).
    """

    def __init__(self, synsets: Sequence, reader) -> None:
        self.reader = reader
        self.nodes: list = []
        self.index: dict[str, int] = {}
        parents: list[list[int]] = []
        order: list[int] = []  # parents before children

        def visit(s, stack: frozenset) -> int:
            name = s.name()
            if name in self.index:
                return self.index[name]
            if name in stack:  # NLTK refuses cycles too
                raise UserError(f"WordNet: hypernym cycle at {name}")
            ps = [visit(h, stack | {name}) for h in s.hypernyms() + s.instance_hypernyms()]
            i = len(self.nodes)
            self.index[name] = i
            self.nodes.append(s)
            parents.append(ps)
            order.append(i)
            return i

        self.rows = np.array([visit(s, frozenset()) for s in synsets], dtype=np.int64)
        n = len(self.nodes)
        self.dist: list[dict[int, int]] = [dict() for _ in range(n)]
        self.min_depth = np.zeros(n, dtype=np.int64)
        self.max_depth = np.zeros(n, dtype=np.int64)
        for i in order:
            d = {i: 0}
            for p in parents[i]:
                for a, k in self.dist[p].items():
                    if k + 1 < d.get(a, 1 << 30):
                        d[a] = k + 1
            self.dist[i] = d
            if parents[i]:
                self.min_depth[i] = 1 + min(self.min_depth[p] for p in parents[i])
                self.max_depth[i] = 1 + max(self.max_depth[p] for p in parents[i])
        # farthest ancestor: the fake root lies one step beyond it
        self.far = np.array([max(d.values()) for d in self.dist], dtype=np.int64)
        names = [s.name() for s in self.nodes]
        self.name_rank = np.empty(n, dtype=np.int64)
        self.name_rank[np.argsort(np.array(names, dtype=object), kind="stable")] = np.arange(n)
        pos = [s.pos() for s in synsets]
        self.pos = pos
        version = reader.get_version()
        # NLTK's Synset._needs_root: nouns share a root except in WordNet 1.6
        self.needs_root = np.array([not (p == "n" and version != "1.6") for p in pos], dtype=bool)

    def row_matrix(self) -> np.ndarray:
        """D (S, A): distance from query synset i to node a, ``_INF`` if a is no ancestor."""
        s, a = len(self.rows), len(self.nodes)
        d = np.full((s, a), _INF, dtype=np.int64)
        for r, i in enumerate(self.rows):
            m = self.dist[i]
            d[r, np.fromiter(m.keys(), np.int64, len(m))] = np.fromiter(m.values(), np.int64, len(m))
        return d

    def shared_columns(self, d: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """Ancestors of at least two query rows, as (node, rows); the diagonal is apart."""
        finite = d < _INF
        cols = np.flatnonzero(finite.sum(axis=0) >= 2)
        return [(int(c), np.flatnonzero(finite[:, c])) for c in cols]


def _path_distances(h: _Hierarchy, d: np.ndarray, cols) -> np.ndarray:
    """d(i, j) (S, S): min over shared ancestors of D[i, a] + D[j, a]; the fake root when needed."""
    s = d.shape[0]
    out = np.full((s, s), _INF, dtype=np.int64)
    for c, idx in cols:
        v = d[idx, c]
        block = np.ix_(idx, idx)
        out[block] = np.minimum(out[block], v[:, None] + v[None, :])
    np.fill_diagonal(out, 0)
    # NLTK: distance 0 for a synset against itself (identical names), and the fake root
    # (farthest ancestor + 1 on each side) where a pair needs it; a real shared ancestor is
    # always nearer than the fake root, so it only fills pairs without one.
    root = (h.far[h.rows] + 1)[:, None] + (h.far[h.rows] + 1)[None, :]
    need = h.needs_root[:, None] | h.needs_root[None, :]
    out = np.where((out >= _INF) & need, root, out)
    return out


def _path(h: _Hierarchy) -> np.ndarray:
    d = h.row_matrix()
    dist = _path_distances(h, d, h.shared_columns(d))
    _check_connected(h, dist, "path")
    return _apply(dist, lambda k: 1.0 / (k + 1))


def _lch(h: _Hierarchy) -> np.ndarray:
    pos = set(h.pos)
    if len(pos) > 1:
        raise UserError("lch similarity needs synsets of one part of speech, got "
                        + ", ".join(sorted(pos)))
    need = bool(h.needs_root[0])
    depth = taxonomy_depth(h.reader, h.pos[0], need)
    d = h.row_matrix()
    dist = _path_distances(h, d, h.shared_columns(d))
    _check_connected(h, dist, "lch")
    if depth == 0:
        raise UserError("lch similarity is undefined for a taxonomy of depth 0")
    return _apply(dist, lambda k: -math.log((k + 1) / (2.0 * depth)))


def _wup(h: _Hierarchy) -> np.ndarray:
    d = h.row_matrix()
    cols = h.shared_columns(d)
    s, a = d.shape
    # Subsumer choice as one integer score: greater minimum depth first, then the smaller
    # name; the fake root (min depth 0, name '*ROOT*' sorts before every synset name) sits
    # just above every real depth-0 node.
    stride = a + 2
    score_of = h.min_depth * stride + (a - h.name_rank)
    root_score = a + 1
    best = np.full((s, s), -1, dtype=np.int64)
    for c, idx in sorted(cols, key=lambda t: score_of[t[0]]):
        best[np.ix_(idx, idx)] = score_of[c]
    diag = np.where(d < _INF, score_of[None, :], -1).max(axis=1)
    best[np.arange(s), np.arange(s)] = diag
    need = h.needs_root[:, None] | h.needs_root[None, :]
    best = np.where(need, np.maximum(best, root_score), best)
    if np.any(best < 0):
        i, j = np.argwhere(best < 0)[0]
        raise UserError(f"wup: {h.nodes[h.rows[i]].name()} and {h.nodes[h.rows[j]].name()} share no hypernym")
    is_root = best == root_score
    # score -> node: the real nodes' scores are unique, so a sorted lookup inverts them
    by_score = np.argsort(score_of)
    at = np.minimum(np.searchsorted(score_of[by_score], best), a - 1)
    sub = np.where(is_root, -1, by_score[at])
    # NLTK: 'subsumer = self if self in subsumers else subsumers[0]'
    row_node = h.rows[:, None]
    self_shared = d[np.arange(s)[None, :], np.broadcast_to(row_node, (s, s))] < _INF  # row i's synset is an ancestor of j
    self_wins = self_shared & (h.min_depth[row_node] == np.where(is_root, 0, h.min_depth[np.maximum(sub, 0)]))
    sub = np.where(self_wins, np.broadcast_to(row_node, (s, s)), sub)
    is_root &= ~self_wins

    spd = _distance_to_ancestors(h, d)  # (S, A): NLTK's shortest_path_distance(i, a)
    cols_sub = np.maximum(sub, 0)
    len1 = np.where(is_root, (h.far[h.rows] + 1)[:, None], spd[np.arange(s)[:, None], cols_sub])
    len2 = np.where(is_root, (h.far[h.rows] + 1)[None, :], spd[np.arange(s)[None, :], cols_sub])
    depth = np.where(is_root, 1, h.max_depth[cols_sub] + 1)
    len1 = len1 + depth
    len2 = len2 + depth
    return (2.0 * depth) / (len1 + len2)


def _distance_to_ancestors(h: _Hierarchy, d: np.ndarray) -> np.ndarray:
    """(S, A): NLTK's shortest_path_distance(query i, ancestor a) for every ancestor of i.

    Not simply D[i, a]: the path may meet a at one of a's own ancestors, reached from i by
    a shorter route (multiple inheritance): min over b in anc(a) of D[i, b] + dist_a[b].
    """
    s, a = d.shape
    k = max(len(m) for m in h.dist)
    anc = np.full((a, k), a, dtype=np.int64)  # padding points at an all-_INF column
    anc_d = np.zeros((a, k), dtype=np.int64)
    for n, m in enumerate(h.dist):
        anc[n, : len(m)] = np.fromiter(m.keys(), np.int64, len(m))
        anc_d[n, : len(m)] = np.fromiter(m.values(), np.int64, len(m))
    dpad = np.concatenate([d, np.full((s, 1), _INF, dtype=np.int64)], axis=1)
    rows, nodes = np.nonzero(d < _INF)
    vals = dpad[rows[:, None], anc[nodes]] + anc_d[nodes]
    out = np.full((s, a), _INF, dtype=np.int64)
    out[rows, nodes] = vals.min(axis=1)
    return out


def _check_connected(h: _Hierarchy, dist: np.ndarray, measure: str) -> None:
    if np.any(dist >= _INF):
        i, j = np.argwhere(dist >= _INF)[0]
        raise UserError(f"{measure}: no hypernym path between {h.nodes[h.rows[i]].name()} "
                        f"and {h.nodes[h.rows[j]].name()}")


def _apply(dist: np.ndarray, f: Callable[[int], float]) -> np.ndarray:
    """f on each distinct distance with Python floats (bit-identical to NLTK), then gathered."""
    table = np.array([f(k) for k in range(int(dist.max()) + 1)], dtype=np.float64)
    return table[dist]


def taxonomy_depth(reader, pos: str, simulate_root: bool) -> int:
    """The deepest ``max_depth`` over all synsets of ``pos`` (+1 with the fake root).

    What NLTK's ``lch_similarity`` divides by, kept where NLTK keeps it (the reader's
    ``_max_depth``, so NLTK's own ``lch_similarity`` reuses it). Read from ``data.<pos>``
    in one pass (:func:`semtool.semantics._wordnet_fast.max_depth`, 0.5 s for nouns) and
    remembered in ``<cache_dir()>/wordnet-depths.json``, keyed by the file's path, size
    and mtime; NLTK's ``_compute_max_depth`` (every synset built, ~7 s for nouns) where
    the file cannot answer.
    """
    key = (pos, simulate_root)
    known = getattr(reader, "_max_depth", None)
    if known is None:
        known = {}
    if key not in known:
        depth = _data_file_depth(reader, pos)
        if depth is None:
            depth = max((s.max_depth() for s in reader.all_synsets(pos)), default=0)
        known[key] = depth + (1 if simulate_root else 0)
    return known[key]


def _data_file_depth(reader, pos: str) -> int | None:
    from nltk.data import FileSystemPathPointer

    from semtool.semantics._wordnet_fast import CACHE_NAME, cached_max_depth
    from semtool.semantics.wordnet import cache_dir

    filemap = getattr(reader, "_FILEMAP", {})
    suffix = filemap.get("a" if pos == "s" else pos)
    try:
        path = reader.abspath(f"data.{suffix}") if suffix else None
    except (OSError, ValueError):
        return None
    if not isinstance(path, FileSystemPathPointer):
        return None
    try:
        cache = cache_dir() / CACHE_NAME
    except (ImportError, OSError):  # no usable user cache folder: compute without one
        cache = None
    return cached_max_depth(str(path), pos, cache)


WORDNET_MEASURES: dict[str, Callable[[_Hierarchy], np.ndarray]] = {
    "path": _path,
    "wup": _wup,
    "lch": _lch,
}


def wordnet_csm(synsets: Sequence, measure: str = "path", *, reader=None) -> np.ndarray:
    """WordNet CSM (S, S) float64 of NLTK ``Synset`` objects, equal to NLTK's pairwise values.

    Parameters
    ----------
    synsets : sequence of nltk.corpus.reader.wordnet.Synset
        One synset per class, in class order.
    measure : {"path", "wup", "lch"}
        ``M[i, j] = synsets[i].<measure>_similarity(synsets[j])`` with NLTK's defaults.
    reader : nltk WordNetCorpusReader, optional
        The reader the synsets come from (its version and, for lch, its taxonomy depth);
        default :func:`semtool.semantics.wordnet.wordnet`.

    Returns
    -------
    numpy.ndarray
        (S, S) float64; see the module docstring for the diagonal.
    """
    if measure not in WORDNET_MEASURES:
        raise UserError(f"measure: expected one of {', '.join(WORDNET_MEASURES)}, got '{measure}'",
                        parameter="measure")
    if len(synsets) == 0:
        raise UserError("no synsets to compare")
    if reader is None:
        from semtool.semantics.wordnet import wordnet

        reader = wordnet()
    return WORDNET_MEASURES[measure](_Hierarchy(synsets, reader))
