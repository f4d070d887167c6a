"""WordNet 3.0 through NLTK, with or without a network (Miller 1995; Fellbaum 1998).

:func:`wordnet` returns NLTK's ``WordNetCorpusReader``. It uses NLTK's installed ``wordnet``
corpus when there is one (``python -m nltk.downloader wordnet``). Otherwise it builds an
NLTK-style data folder from the database Debian's ``wordnet-base`` and
``wordnet-sense-index`` put in ``/usr/share/wordnet``::

    <user cache>/semtool/nltk_data/corpora/wordnet/
        data.noun, index.noun, ..., index.sense     (copies: NLTK refuses symlinks and
                                                     hard links into other folders)
        lexnames                                    (generated, see below)

and adds ``<user cache>/semtool/nltk_data`` to ``nltk.data.path``. Debian does not ship the
``lexnames`` file NLTK reads; its 45 lines (``NN<TAB>name<TAB>category``) are the table of
the lexnames(5WN) man page, category 1 noun, 2 verb, 3 adjective, 4 adverb. The reader
is then NLTK's own, so synsets and similarities are identical to NLTK's ``wordnet`` corpus.

Class -> synset presets (``presets/<name>.tsv``: ``class<TAB>synset``) name the intended
sense of every class of CIFAR-100, CIFAR-10 and Fashion-MNIST; a user file in the same
format (synset name ``dog.n.01`` or WordNet id ``n02084071``) overrides them. The
``imagenet`` preset lists ImageNet-1k's 1000 classes in torchvision's index order (the
sorted wnids), named as torchvision's weights name them, each synset the one at its wnid's
offset; its third column (a comment) keeps the wnid (:func:`imagenet_classes`).
"""

from __future__ import annotations

import functools
import gzip
import os
import re
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from semtool.errors import UserError

DEBIAN_WORDNET = Path("/usr/share/wordnet")
LEXNAMES_MAN_PAGE = Path("/usr/share/man/man5/lexnames.5WN.gz")
INSTALL_HINT = ("install it with 'apt-get install wordnet-base wordnet-sense-index' "
                "or 'python -m nltk.downloader wordnet'")

# The database files NLTK's WordNetCorpusReader opens (index.sense: lemma keys).
_DB_FILES = tuple(f"{kind}.{pos}" for kind in ("data", "index") for pos in ("noun", "verb", "adj", "adv")) + (
    "adj.exc", "adv.exc", "noun.exc", "verb.exc", "index.sense")
_OPTIONAL_FILES = ("cntlist.rev", "cntlist", "frames.vrb", "sentidx.vrb", "sents.vrb")

# lexnames(5WN): the lexicographer file names in file-number order. Used only when the
# man page is absent (Docker images often drop man pages); a test checks it against the page.
LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute "
    "noun.body noun.cognition noun.communication noun.event noun.feeling noun.food noun.group "
    "noun.location noun.motive noun.object noun.person noun.phenomenon noun.plant "
    "noun.possession noun.process noun.quantity noun.relation noun.shape noun.state "
    "noun.substance noun.time verb.body verb.change verb.cognition verb.communication "
    "verb.competition verb.consumption verb.contact verb.creation verb.emotion verb.motion "
    "verb.perception verb.possession verb.social verb.stative verb.weather adj.ppl"
).split()
_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}

PRESETS = ("cifar100", "cifar10", "fashion-mnist", "imagenet")
_WNID = re.compile(r"^([nvasr])(\d{8})$")

# ------------------------------------------------------------------ finding the data
def cache_dir() -> Path:
    """semtool's cache folder: ``$SEMTOOL_CACHE_DIR`` or the platform's user cache."""
    env = os.environ.get("SEMTOOL_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("semtool"))


def lexnames_table(man_page: Path = LEXNAMES_MAN_PAGE) -> list[tuple[int, str, int]]:
    """The 45 ``(number, name, category)`` rows of lexnames(5WN), from the man page if present."""
    names: list[str] = []
    if man_page.exists():
        with gzip.open(man_page, "rt", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                m = re.match(r"^(\d\d)\t(\S+)\s*\t", line)
                if m and int(m.group(1)) == len(names):
                    names.append(m.group(2))
    if len(names) != len(LEXNAMES):
        names = list(LEXNAMES)
    return [(i, n, _CATEGORY[n.split(".")[0]]) for i, n in enumerate(names)]


def lexnames_text(man_page: Path = LEXNAMES_MAN_PAGE) -> str:
    """The ``lexnames`` file NLTK reads: ``NN<TAB>name<TAB>category`` per line."""
    return "".join(f"{i:02d}\t{n}\t{c}\n" for i, n, c in lexnames_table(man_page))


def _nltk_corpus_path() -> str | None:
    import nltk

    try:
        return str(nltk.data.find("corpora/wordnet"))
    except LookupError:
        return None


def build_data_folder(source: Path = DEBIAN_WORDNET, target: Path | None = None) -> Path:
    """Build ``<target>/corpora/wordnet`` from a WordNet 3.0 database folder; return ``target``.

    Idempotent and safe against concurrent builders: the folder is assembled beside its
    final name and renamed into place. Files are copied (36 MB): NLTK refuses symlinks and
    hard links that lead outside its data path.
    """
    target = Path(target) if target is not None else cache_dir() / "nltk_data"
    final = target / "corpora" / "wordnet"
    if (final / "lexnames").exists():
        return target
    missing = [f for f in _DB_FILES if not (source / f).is_file()]
    if missing:
        raise UserError(f"WordNet: {source} lacks {', '.join(missing)}; {INSTALL_HINT}")
    from semtool._runtime import debug

    debug(f"building the NLTK WordNet folder {final} from {source} (once)")
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".wordnet.", dir=final.parent))
    except OSError as exc:
        raise UserError(f"{final.parent}: cannot build the WordNet folder here ({exc.strerror}); "
                        "set SEMTOOL_CACHE_DIR to a writable folder") from None
    try:
        for name in _DB_FILES + _OPTIONAL_FILES:
            src = source / name
            if not src.is_file():
                continue
            shutil.copyfile(src, tmp / name)
            os.chmod(tmp / name, 0o644)
        (tmp / "lexnames").write_text(lexnames_text(), encoding="utf-8")
        os.chmod(tmp / "lexnames", 0o644)
        os.chmod(tmp, 0o755)
        try:
            os.rename(tmp, final)
        except OSError:  # another process finished first
            if not (final / "lexnames").exists():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _ensure_on_path(folder: Path) -> None:
    import nltk

    if str(folder) not in nltk.data.path:
        nltk.data.path.insert(0, str(folder))


@functools.lru_cache(maxsize=1)
def wordnet():
    """NLTK's ``WordNetCorpusReader`` for WordNet 3.0 (installed corpus, else Debian's files).

    An unzipped corpus folder (the usual case) is opened with
    :class:`semtool.semantics._wordnet_fast.LazyWordNetReader`: NLTK's reader whose
    start-up indices are built on first use (0.1 s instead of 3 s); a zipped corpus
    with NLTK's own ``nltk.corpus.wordnet``.
    """
    import warnings

    if _nltk_corpus_path() is None:
        if not (DEBIAN_WORDNET / "data.noun").is_file():
            raise UserError(f"WordNet not found; {INSTALL_HINT}")
        _ensure_on_path(build_data_folder(DEBIAN_WORDNET))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no Open Multilingual WordNet: English only, as intended
        reader = _open_lazy()
        if reader is not None:
            return reader
        from nltk.corpus import wordnet as wn

        wn.ensure_loaded()
    return wn


def _open_lazy():
    """The lazy reader on NLTK's ``corpora/wordnet`` folder, or None (a zip: NLTK's loader)."""
    import nltk
    from nltk.corpus.reader import CorpusReader
    from nltk.corpus.util import LazyCorpusLoader
    from nltk.data import FileSystemPathPointer

    from semtool.semantics._wordnet_fast import LazyWordNetReader

    root = nltk.data.find("corpora/wordnet")  # where nltk.corpus.wordnet looks first
    if not isinstance(root, FileSystemPathPointer):
        return None
    # the same (absent, lazily loaded) multilingual reader nltk.corpus.wordnet is given
    omw = LazyCorpusLoader("omw-2.0", CorpusReader, r".*/wn-data-.*\.tab", encoding="utf8")
    try:
        reader = LazyWordNetReader(root, omw)
        reader.synset("entity.n.01")
    except Exception:  # an NLTK whose reader internals differ from 3.8-3.10: its own loader
        return None
    return reader


def where() -> dict[str, Any]:
    """Where WordNet comes from, without loading it (for ``semtool doctor``).

    ``{"available": bool, "kind": "nltk"|"debian"|None, "path": str|None, "fix": str|None}``
    """
    folder = cache_dir() / "nltk_data" / "corpora" / "wordnet"
    found = _nltk_corpus_path()
    if found is not None and Path(found) != folder:  # (our own folder, once on nltk.data.path, is found too)
        return {"available": True, "kind": "nltk", "path": found, "fix": None}
    if (DEBIAN_WORDNET / "data.noun").is_file():
        built = (folder / "lexnames").exists()
        return {"available": True, "kind": "debian", "path": str(DEBIAN_WORDNET),
                "nltk_folder": str(folder) + ("" if built else " (built on first use)"), "fix": None}
    return {"available": False, "kind": None, "path": None,
            "fix": "apt-get install wordnet-base wordnet-sense-index  # or: python -m nltk.downloader wordnet"}


# ------------------------------------------------------------------ classes -> synsets
def resolve_synset(text: str, *, origin: str = "synset"):
    """A noun ``Synset`` from ``'dog.n.01'`` or a WordNet id ``'n02084071'``.

    ``origin`` names where the text came from in the error message (a file and line).
    """
    import warnings

    from nltk.corpus.reader.wordnet import WordNetError

    wn = wordnet()
    text = text.strip()
    m = _WNID.match(text)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NLTK warns, then returns None, for an unknown offset
            if m:
                syn = wn.synset_from_pos_and_offset(m.group(1), int(m.group(2)))
            else:
                syn = wn.synset(text)
    except (WordNetError, ValueError, AttributeError, KeyError):
        syn = None
    if syn is None:
        raise UserError(f"{origin}: unknown WordNet synset '{text}' (expected e.g. dog.n.01 or n02084071)")
    if syn.pos() != "n":
        raise UserError(f"{origin}: '{text}' is {syn.name()}, not a noun synset")
    return syn


def _read_tsv(lines: Iterable[str], origin: str) -> list[tuple[int, str, str]]:
    rows = []
    for lineno, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        parts = [p.strip() for p in text.split("\t")] if "\t" in text else text.rsplit(None, 1)
        if len(parts) != 2 or not all(parts):
            raise UserError(f"{origin}:{lineno}: expected 'class<TAB>synset', got '{text}'")
        rows.append((lineno, parts[0], parts[1]))
    return rows


@functools.lru_cache(maxsize=None)
def preset_synsets(name: str) -> dict[str, str]:
    """A preset's ``{class: synset name}`` in class order (``cifar100``, ``cifar10``, ``fashion-mnist``, ``imagenet``)."""
    if name not in PRESETS:
        raise UserError(f"--synsets: unknown preset '{name}' (choose from {', '.join(PRESETS)})")
    return {cls: syn for _, cls, syn in _read_tsv(_preset_lines(name), f"preset {name}")}


def check_preset(preset: str | None, option: str = "--preset") -> None:
    """A one-line error for a name that is not a preset (None passes)."""
    if preset is not None and preset not in PRESETS:
        raise UserError(f"{option}: unknown preset '{preset}' (choose from {', '.join(PRESETS)})")


def preset_classes(preset: str, option: str = "--preset") -> list[str]:
    """A preset's class names in class order (``imagenet``: torchvision's index order)."""
    check_preset(preset, option)
    return list(preset_synsets(preset))


def _preset_lines(name: str) -> list[str]:
    return resources.files("semtool.semantics").joinpath("presets", f"{name}.tsv").read_text(
        encoding="utf-8").splitlines()


@functools.lru_cache(maxsize=1)
def imagenet_classes() -> list[tuple[str, str, str]]:
    """ImageNet-1k's ``(wnid, class, synset name)`` in torchvision's index order (the sorted wnids).

    Read from the ``imagenet`` preset (no WordNet, no torch): the wnid is its comment column.
    """
    rows = []
    for line in _preset_lines("imagenet"):
        if line.startswith("#") or not line.strip():
            continue
        cls, syn, wnid = line.split("\t")
        rows.append((wnid.lstrip("# ").strip(), cls, syn))
    return rows


def is_wnid(text: str) -> bool:
    """``n01440764``: a WordNet 3.0 noun id (what ImageNet names its class folders)."""
    return bool(_WNID.match(text)) and text[0] == "n"


def wnid_classes(wnids: Sequence[str], *, origin: str = "wnid") -> tuple[list[str], list[str]]:
    """Class names and synset names for WordNet noun ids (ImageNet class folders).

    An ImageNet-1k wnid takes its torchvision name (``n01440764`` -> ``tench``); any other
    (ImageNet-21k, a user's own) the first lemma of its synset, spaces for underscores, or the
    synset name where two would share a lemma. Synsets come from the wnid's offset
    (``synset_from_pos_and_offset('n', int(wnid[1:]))``); WordNet is loaded only for wnids
    outside ImageNet-1k.
    """
    known = {w: (cls, syn) for w, cls, syn in imagenet_classes()}
    out = [known.get(w) or (None, resolve_synset(w, origin=f"{origin} '{w}'").name()) for w in wnids]
    lemma = {w: resolve_synset(w).lemma_names()[0].replace("_", " ") for w, (cls, _) in zip(wnids, out) if cls is None}
    taken = [cls for cls, _ in out if cls is not None] + list(lemma.values())
    names = [cls if cls is not None else (lemma[w] if taken.count(lemma[w]) == 1 else syn)
             for w, (cls, syn) in zip(wnids, out)]
    return names, [syn for _, syn in out]


def load_mapping(path: str | os.PathLike) -> dict[str, str]:
    """A user's class -> synset file (``class<TAB>synset-name-or-wnid``, '#' comments).

    Every synset is checked against WordNet; values are returned as synset names.
    """
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: no such mapping file")
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise UserError(f"{p}: not a UTF-8 text file") from None
    out: dict[str, str] = {}
    for lineno, cls, syn in _read_tsv(lines, str(p)):
        if cls in out:
            raise UserError(f"{p}:{lineno}: class '{cls}' is mapped twice")
        out[cls] = resolve_synset(syn, origin=f"{p}:{lineno}").name()
    return out


def synsets_for(classes: Sequence[str], preset: str | None = None,
                mapping: Mapping[str, str] | str | os.PathLike | None = None) -> list[str]:
    """One synset name per class: the user's mapping first, then the preset.

    Raises a UserError naming the classes that have no synset.
    """
    table: dict[str, str] = dict(preset_synsets(preset)) if preset else {}
    if mapping is not None:
        table.update(load_mapping(mapping) if isinstance(mapping, (str, os.PathLike)) else mapping)
    missing = [c for c in classes if c not in table]
    if missing:
        where_ = f"preset '{preset}'" if preset else "the mapping"
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise UserError(f"no synset for class {shown} in {where_}; give a mapping file (class<TAB>synset)")
    return [table[c] for c in classes]
