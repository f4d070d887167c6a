"""NLTK's WordNet reader without its 3-second start: the same reader, loading on demand.

NLTK's ``WordNetCorpusReader.__init__`` reads about 30 MB before the first query
(measured with cProfile, WordNet 3.0, NLTK 3.10, one core):

* ``map_wn``: ``index.sense`` read twice to map WordNet 3.0 onto itself (``map30``), which
  only the Open Multilingual WordNet functions use (~55 % of the start);
* ``_load_lemma_pos_offset_map``: every line of the four ``index.*`` files, so that
  ``synset('dog.n.01')`` can find an offset (~35 %);
* ``_scan_satellites``: all of ``data.adj``, for adjective satellites (~5 %).

:class:`LazyWordNetReader` is NLTK's class with those three made lazy; nothing else is
overridden, so every synset, lemma and similarity is produced by NLTK's own code:

* ``map30`` is computed by NLTK's ``map_wn`` the first time it is read;
* ``satellite_offsets`` by NLTK's ``_scan_satellites`` the first time it is read (a
  lemma lookup reads just the line of each of its adjective synsets instead);
* ``_lemma_pos_offset_map`` is a :class:`LazyLemmaIndex`: a lookup of one lemma
  binary-searches the (sorted) ``index.*`` files for that lemma's line and parses it as
  NLTK's loader does; anything that needs the whole map (iteration, ``len``, ``keys``…),
  or more than a few thousand lookups, first runs NLTK's own loader, so
  ``all_lemma_names`` and friends see NLTK's map, in NLTK's order.

:func:`max_depth` is the deepest hypernym path of a part of speech (what ``lch``
divides by) from one pass over ``data.<pos>``, instead of building all 82,115 noun
``Synset`` objects (~7 s); a test checks it against NLTK's ``_compute_max_depth``.
"""

from __future__ import annotations

import os
from collections import defaultdict

from nltk.corpus.reader.wordnet import ADJ, ADJ_SAT, WordNetCorpusReader

_DEFERRED = object()


def _lemma_key(line: bytes) -> bytes:
    """The sort key of an ``index.*`` line: its lemma; the licence header (indented) sorts first."""
    return b"" if line[:1] == b" " else line.split(b" ", 1)[0]


def find_line(fh, key: bytes, size: int) -> bytes | None:
    """The line of a file sorted by :func:`_lemma_key` whose lemma is ``key`` (binary search).

    ``first(p)`` is the first line starting at or after byte ``p``; its key grows with
    ``p``, so the smallest ``p`` whose line's key is ≥ ``key`` gives the only candidate.
    """
    def first(p: int) -> bytes:
        fh.seek(max(p - 1, 0))
        if p > 0:
            fh.readline()  # up to and including the newline at or after p - 1
        return fh.readline()

    lo, hi = 0, size
    while lo < hi:
        mid = (lo + hi) // 2
        line = first(mid)
        if not line or _lemma_key(line) >= key:
            hi = mid
        else:
            lo = mid + 1
    line = first(lo)
    return line if line and _lemma_key(line) == key else None


class LazyLemmaIndex(defaultdict):
    """NLTK's ``lemma -> pos -> [offsets]`` map, filled one lemma at a time.

    Behaves as the ``defaultdict(dict)`` NLTK builds: a missing lemma reads as (and is
    stored as) ``{}``. ``lemma in index`` and ``index[lemma]`` look the lemma up in the
    ``index.*`` files; whole-map operations load everything with NLTK's loader first.
    """

    # One lookup costs ~0.13 ms, NLTK's full load ~1.1 s: a caller that looks up thousands
    # of lemmas (all_synsets names every synset through this map) gets the full map.
    LOOKUPS_BEFORE_FULL_LOAD = 2000

    def __init__(self, reader: "LazyWordNetReader") -> None:
        super().__init__(dict)
        self._reader = reader
        self._complete = False
        self._lookups = 0
        self._files: dict[str, tuple] = {}  # file name -> (binary handle, size)

    # ---------------------------------------------------------------- one lemma
    def _lookup(self, lemma) -> dict:
        """``{pos: offsets}`` of one lemma, parsed as NLTK's ``_load_lemma_pos_offset_map``."""
        if not isinstance(lemma, str):
            return {}
        try:
            key = lemma.encode("utf-8")
        except UnicodeEncodeError:
            return {}
        if not key or b" " in key or b"\n" in key:  # no index line can hold it
            return {}
        entry: dict = {}
        for suffix in self._reader._FILEMAP.values():
            fh, size = self._handle(f"index.{suffix}")
            line = find_line(fh, key, size)
            if line is None:
                continue
            tokens = line.decode("utf-8").split()
            try:
                pos = tokens[1]
                n_synsets = int(tokens[2])
                n_pointers = int(tokens[3])
                at = 4 + n_pointers
                n_senses = int(tokens[at])
                if n_synsets <= 0 or n_senses != n_synsets:
                    raise ValueError
                offsets = [int(t) for t in tokens[at + 2: at + 2 + n_synsets]]
                if len(offsets) != n_synsets:
                    raise ValueError
            except (IndexError, ValueError):
                self.load_all()  # NLTK's loader raises its own error, naming file and line
                return dict(dict.get(self, lemma, {}))
            entry[pos] = offsets
            if pos == ADJ:
                entry[ADJ_SAT] = [o for o in offsets if self._is_satellite(o)]
        return entry

    def _handle(self, name: str):
        if name not in self._files:
            path = str(self._reader.abspath(name))
            self._files[name] = (open(path, "rb"), os.path.getsize(path))
        return self._files[name]

    def _is_satellite(self, offset: int) -> bool:
        """``offset in reader.satellite_offsets`` without scanning all of ``data.adj``.

        A synset's offset is the byte offset of its line, whose third field is its type
        (``s`` for a satellite); a line that does not start with its own offset sends the
        question to NLTK's full scan.
        """
        if self._reader.__dict__.get("_satellites", _DEFERRED) is not _DEFERRED:
            return offset in self._reader.satellite_offsets
        fh, _ = self._handle("data.adj")
        fh.seek(offset)
        fields = fh.readline().split(None, 3)
        if len(fields) < 3 or not fields[0].isdigit() or int(fields[0]) != offset:
            return offset in self._reader.satellite_offsets
        return fields[2] == b"s"

    def _probe(self, lemma) -> dict | None:
        """One lemma's entry by binary search; None once the whole map is (or gets) loaded."""
        if self._complete:
            return None
        self._lookups += 1
        if self._lookups > self.LOOKUPS_BEFORE_FULL_LOAD:
            self.load_all()
            return None
        return self._lookup(lemma)

    def __missing__(self, lemma):
        value = self._probe(lemma)
        if value is None:  # the full map is loaded now (perhaps just now)
            if dict.__contains__(self, lemma):
                return dict.__getitem__(self, lemma)
            return super().__missing__(lemma)
        dict.__setitem__(self, lemma, value)
        return value

    def __contains__(self, lemma) -> bool:
        if dict.__contains__(self, lemma):
            return True
        value = self._probe(lemma)
        if value is None:
            return dict.__contains__(self, lemma)
        if value:
            dict.__setitem__(self, lemma, value)
        return bool(value)

    def get(self, lemma, default=None):
        return self[lemma] if lemma in self else default

    # ---------------------------------------------------------------- the whole map
    def load_all(self) -> None:
        """Fill the map with NLTK's own loader (once); lemmas probed so far stay, at the end."""
        if self._complete:
            return
        probed = dict(dict.items(self))
        full: defaultdict = defaultdict(dict)
        self._reader._lemma_pos_offset_map = full
        try:
            WordNetCorpusReader._load_lemma_pos_offset_map(self._reader)
        finally:
            self._reader._lemma_pos_offset_map = self
        for lemma, value in probed.items():
            if lemma not in full:
                full[lemma] = value  # a lemma NLTK's defaultdict would also hold, as {}
        dict.clear(self)
        dict.update(self, full)
        self._complete = True
        self.close()

    def close(self) -> None:
        for fh, _ in self._files.values():
            fh.close()
        self._files.clear()

    def __iter__(self):
        self.load_all()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self.load_all()
        return dict.__len__(self)

    def keys(self):
        self.load_all()
        return dict.keys(self)

    def values(self):
        self.load_all()
        return dict.values(self)

    def items(self):
        self.load_all()
        return dict.items(self)

    def copy(self):
        self.load_all()
        out = defaultdict(dict)
        out.update(self)
        return out

    def __eq__(self, other) -> bool:
        self.load_all()
        return dict.__eq__(self, other)

    __hash__ = None

    def __repr__(self) -> str:
        self.load_all()
        return dict.__repr__(self)

    def __reduce__(self):
        self.load_all()
        return (defaultdict, (dict,), None, None, iter(dict.items(self)))


class LazyWordNetReader(WordNetCorpusReader):
    """NLTK's ``WordNetCorpusReader``, its start-up indices built on first use (see module doc)."""

    def __init__(self, root, omw_reader) -> None:
        self._starting = True
        try:
            super().__init__(root, omw_reader)
        finally:
            self._starting = False

    def _scan_satellites(self) -> None:
        if self._starting:
            self.__dict__["_satellites"] = _DEFERRED
        else:
            super()._scan_satellites()

    @property
    def satellite_offsets(self):
        if self.__dict__.get("_satellites", _DEFERRED) is _DEFERRED:
            WordNetCorpusReader._scan_satellites(self)  # sets satellite_offsets through the setter
        return self.__dict__["_satellites"]

    @satellite_offsets.setter
    def satellite_offsets(self, value) -> None:
        self.__dict__["_satellites"] = value

    def _load_lemma_pos_offset_map(self) -> None:
        if self._starting:
            self._lemma_pos_offset_map = LazyLemmaIndex(self)
        else:
            super()._load_lemma_pos_offset_map()

    def map_wn(self, version="wordnet"):
        return _DEFERRED if self._starting else super().map_wn(version)

    @property
    def map30(self):
        if self.__dict__.get("_map30", _DEFERRED) is _DEFERRED:
            self.__dict__["_map30"] = super().map_wn()
        return self.__dict__["_map30"]

    @map30.setter
    def map30(self, value) -> None:
        self.__dict__["_map30"] = value


def open_reader(root, omw_reader) -> LazyWordNetReader:
    """A :class:`LazyWordNetReader` on an NLTK ``wordnet`` folder (a ``FileSystemPathPointer``)."""
    return LazyWordNetReader(root, omw_reader)


# ---------------------------------------------------------------------- lch's depth
def max_depth(path: str | os.PathLike, pos: str) -> int | None:
    """Deepest ``Synset.max_depth()`` over ``all_synsets(pos)``, read from ``data.<pos>`` directly.

    max_depth(s) = 0 without hypernyms, else 1 + max over its hypernyms and instance
    hypernyms (NLTK's pointers ``@`` and ``@i`` between synsets, source/target ``0000``).
    ``pos`` ``'s'`` counts only satellites of ``data.adj``, as NLTK's ``all_synsets('s')``.
    Returns None where NLTK's answer could differ (a hypernym in another file, a cycle,
    an unparsable line): the caller then asks NLTK.
    """
    parents: dict[int, list[int]] = {}
    counted: list[int] = []
    file_pos = {"a", "s"} if pos in ("a", "s") else {pos}
    try:
        with open(path, "rb") as fh:
            for raw in fh:
                if raw[:1].isspace() or not raw.strip():
                    continue
                tokens = raw.split(b"|", 1)[0].split()
                offset = int(tokens[0])
                ss_type = tokens[2].decode()
                at = 4 + 2 * int(tokens[3], 16)
                n_ptr = int(tokens[at])
                ps = []
                for k in range(at + 1, at + 1 + 4 * n_ptr, 4):
                    symbol, target, tpos, st = tokens[k: k + 4]
                    if symbol in (b"@", b"@i") and st == b"0000":
                        if tpos.decode() not in file_pos:
                            return None
                        ps.append(int(target))
                parents[offset] = ps
                if pos != "s" or ss_type == "s":
                    counted.append(offset)
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        return None
    depth: dict[int, int] = {}
    for start in counted:
        if start in depth:
            continue
        path = {start}  # the nodes of the current descent, to see a cycle
        stack = [(start, iter(parents[start]))]
        while stack:  # iterative depth-first post-order (no recursion limit to worry about)
            node, todo = stack[-1]
            for p in todo:
                if p in depth:
                    continue
                if p in path or p not in parents:
                    return None  # a cycle or a dangling pointer: let NLTK decide
                path.add(p)
                stack.append((p, iter(parents[p])))
                break
            else:
                stack.pop()
                path.discard(node)
                depth[node] = 1 + max((depth[p] for p in parents[node]), default=-1)
    return max((depth[o] for o in counted), default=0)


# ---------------------------------------------------------------------- the depth cache
CACHE_SCHEMA = 1
CACHE_NAME = "wordnet-depths.json"


def _cache_key(path: str, pos: str) -> str:
    """The data file (resolved path, size, mtime in ns) and the part of speech, as one string."""
    st = os.stat(path)
    return f"{os.path.realpath(path)}|{st.st_size}|{st.st_mtime_ns}|{pos}"


def _read_cache(file: str) -> dict:
    """The cache's ``depths`` table; {} when absent, unreadable, corrupt or of another schema."""
    import json

    try:
        with open(file, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("schema") != CACHE_SCHEMA or not isinstance(data.get("depths"), dict):
        return {}
    return {k: v for k, v in data["depths"].items()
            if isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0}


def _write_cache(file: str, depths: dict) -> None:
    """Write the cache atomically (temporary file + rename); silently give up where it cannot."""
    import json
    import tempfile

    folder = os.path.dirname(file)
    tmp = None
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".wordnet-depths.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"schema": CACHE_SCHEMA, "depths": depths}, fh, indent=1, sort_keys=True)
        os.replace(tmp, file)
        tmp = None
    except OSError:
        pass
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def cached_max_depth(path: str | os.PathLike, pos: str, cache_file: str | os.PathLike | None) -> int | None:
    """:func:`max_depth`, remembered in a small JSON file (``cache_file``; None: no cache).

    Keyed by the data file's resolved path, size and modification time, the part of
    speech and :data:`CACHE_SCHEMA`: an edited or replaced database misses the cache and
    is read again. A missing, corrupt or unwritable cache only costs the one pass.
    """
    path = str(path)
    try:
        key = _cache_key(path, pos)
    except OSError:
        return None
    depths = _read_cache(str(cache_file)) if cache_file is not None else {}
    if key in depths:
        return depths[key]
    depth = max_depth(path, pos)
    if depth is not None and cache_file is not None:
        # keep other parts of speech and databases; drop this file's stale entries
        stem = key.split("|", 1)[0]
        kept = {k: v for k, v in depths.items() if not (k.split("|", 1)[0] == stem and k.endswith(f"|{pos}"))}
        kept[key] = depth
        _write_cache(str(cache_file), kept)
    return depth
