"""Reading and writing semtool HDF5 files: validation, atomic writes, '-' for pipes."""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import io
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from semtool import __version__, _runtime
from semtool.errors import UserError


class _LazyH5py:
    """h5py, imported at its first use: a command that reads a large file first (``embed
    --vectors`` streaming a word-vector file) then writes a small one never holds both h5py
    and its reading buffers at once, which keeps its peak memory low (benchmarks/word_vectors.py)."""

    def __getattr__(self, name: str) -> Any:
        import h5py as module

        return getattr(module, name)


h5py = _LazyH5py()
from semtool.store._hints import MODEL, wrong_kind_message
from semtool.store._kinds import KINDS, STREAMABLE

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_STDIN_CACHE: bytes | None = None


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).astimezone().isoformat(timespec="seconds")


def display_name(path: str | os.PathLike) -> str:
    return "<stdin>" if str(path) == "-" else str(path)


# ----------------------------------------------------------------------------- reading

def read_stdin() -> bytes:
    """All of stdin, read once per process ('-' may be read again by another reader)."""
    global _STDIN_CACHE
    if _STDIN_CACHE is None:
        if sys.stdin is None or sys.stdin.isatty():
            raise UserError("'-' reads a file from stdin, but stdin is a terminal (pipe a file in)")
        _STDIN_CACHE = sys.stdin.buffer.read()
    return _STDIN_CACHE


def _wanted(kind: str | Sequence[str] | None) -> tuple[str, ...]:
    return () if kind is None else ((kind,) if isinstance(kind, str) else tuple(kind))


_TORCH_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")  # as semtool.models.metadata


def looks_like_model(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a model file by its first bytes (safetensors) or suffix (PyTorch)."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return False
    return _looks_like_model(p, head)


def _looks_like_model(p: Path, head: bytes) -> bool:
    """A safetensors file (8-byte little-endian header length, then a JSON object) or a
    PyTorch file by its suffix: the model files that are not HDF5."""
    if p.suffix.lower() in _TORCH_SUFFIXES:
        return True
    if len(head) < 8:
        return False
    n = int.from_bytes(head[:8], "little")
    if not 2 <= n <= 100_000_000:
        return False
    with open(p, "rb") as fh:
        fh.seek(8)
        return fh.read(1) == b"{"


def _open_h5(path: str | os.PathLike, kind: str | Sequence[str] | None = None) -> h5py.File:
    name = display_name(path)
    if str(path) == "-":
        data = read_stdin()
        if not data.startswith(HDF5_SIGNATURE):
            raise UserError(f"{name}: not an HDF5 file")
        try:
            return h5py.File(io.BytesIO(data), "r")
        except OSError:
            raise UserError(f"{name}: truncated or damaged HDF5 file") from None
    p = Path(path)
    if not p.exists():
        raise UserError(f"{name}: no such file")
    if p.is_dir():
        raise UserError(f"{name}: is a folder, expected a semtool HDF5 file")
    try:
        with open(p, "rb") as fh:
            head = fh.read(8)
    except PermissionError:
        raise UserError(f"{name}: permission denied") from None
    if head != HDF5_SIGNATURE and not h5py.is_hdf5(str(p)):
        if kind is not None and _looks_like_model(p, head):
            raise UserError(wrong_kind_message(path, MODEL, _wanted(kind)))
        raise UserError(f"{name}: not an HDF5 file")
    try:
        return h5py.File(p, "r")
    except OSError:
        raise UserError(f"{name}: truncated or damaged HDF5 file") from None


def check_kind(f: h5py.File, name: str, kind: str | Sequence[str] | None) -> str:
    """Validate root attributes; return the file's kind.

    ``kind`` lists the accepted kinds; it may include ``'model'`` (a .safetensors model,
    which a caller reads itself) so that the message names everything a command takes.
    """
    found = f.attrs.get("semtool_kind")
    if found is None:
        raise UserError(f"{name}: not a semtool file (no 'semtool_kind' attribute)")
    found = found.decode() if isinstance(found, bytes) else str(found)
    if found not in KINDS:
        raise UserError(f"{name}: unknown kind '{found}' (this semtool knows {', '.join(KINDS)})")
    if kind is not None:
        wanted = _wanted(kind)
        if found not in wanted:
            raise UserError(wrong_kind_message(name, found, wanted))
    schema = int(f.attrs.get("semtool_schema", 0))
    known = KINDS[found][0]
    if schema > known:
        raise UserError(
            f"{name}: '{found}' schema {schema} is newer than this semtool knows ({known}); "
            "upgrade semtool"
        )
    for ds in KINDS[found][1]:
        if ds not in f:
            raise UserError(f"{name}: '{found}' file lacks its '{ds}' dataset (damaged or hand-made?)")
    return found


@contextlib.contextmanager
def open_file(path: str | os.PathLike, kind: str | Sequence[str] | None = None) -> Iterator[h5py.File]:
    """Open a semtool file for reading, checking its kind and schema.

    ``path`` may be ``'-'`` (stdin). ``kind`` is one kind, a sequence of accepted kinds,
    or None for any semtool file. A wrong kind (a model file included) is one line
    naming the file, the kind found, every kind accepted, and how to get one
    (:mod:`semtool.store._hints`).
    """
    f = _open_h5(path, kind)
    try:
        check_kind(f, display_name(path), kind)
        yield f
    finally:
        f.close()


def refuse_hdf5(path: str | os.PathLike, wanted: str | Sequence[str]) -> None:
    """For readers of non-HDF5 inputs (model files): a semtool HDF5 file at ``path`` is a
    wrong-kind error (one line, with the hint); anything else returns quietly."""
    if str(path) == "-":
        return
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            if fh.read(8) != HDF5_SIGNATURE:
                return
    except OSError:
        return
    f = _open_h5(path)
    try:
        check_kind(f, display_name(path), _wanted(wanted))
    finally:
        f.close()


def kind_of(path: str | os.PathLike, wanted: str | Sequence[str] | None = None) -> str:
    """The kind of a semtool file; one line naming what it found when it is not one of ``wanted``."""
    with open_file(path, wanted) as f:
        return str(f.attrs["semtool_kind"])


def length_of(path: str | os.PathLike, kind: str | Sequence[str], dataset: str) -> int:
    """The length of one dataset of a semtool file of ``kind`` (how many items it holds)."""
    with open_file(path, kind) as f:
        return len(f[dataset])


def read_strings(ds: h5py.Dataset) -> list[str]:
    """A 1-D string dataset as a list of Python ``str``."""
    return [s.decode("utf-8") if isinstance(s, bytes) else str(s) for s in ds[...].reshape(-1)]


def read_attr(obj: h5py.HLObject, name: str, default: str | None = None) -> str | None:
    """A string attribute of a file, group or dataset; ``default`` when it is absent."""
    v = obj.attrs.get(name)
    if v is None:
        return default
    return v.decode() if isinstance(v, bytes) else str(v)


def write_strings(group: h5py.Group, name: str, values: Iterable[str]) -> h5py.Dataset:
    vals = [str(v) for v in values]
    arr = np.array(vals, dtype=object)
    return group.create_dataset(name, data=arr, dtype=h5py.string_dtype("utf-8"))


def sha256_of(path: str | os.PathLike) -> str:
    if str(path) == "-":
        return hashlib.sha256(read_stdin()).hexdigest()
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_provenance(f: h5py.File) -> list[dict[str, Any]]:
    """The provenance chain, oldest step first."""
    steps = []
    if "provenance" not in f:
        return steps
    grp = f["provenance"]
    for key in sorted(grp.keys()):
        a = grp[key].attrs
        steps.append(
            {
                "command": str(a.get("command", "")),
                "argv": json.loads(a.get("argv", "[]")),
                "parameters": json.loads(a.get("parameters", "{}")),
                "inputs": json.loads(a.get("inputs", "[]")),
                "creator": str(a.get("creator", "")),
                "created_at": str(a.get("created_at", "")),
            }
        )
    return steps


# ----------------------------------------------------------------------------- writing

def check_output(path: str | os.PathLike, *, force: bool = False, kind: str | None = None,
                 inputs: Sequence[str | os.PathLike] = ()) -> None:
    """Refuse an output early (before any expensive work): exists, folder missing, tty,
    or one of ``inputs`` (even with --force: the output would replace what it is read from)."""
    for other in inputs:
        if str(path) != "-" and str(other) != "-" and _same_file(path, other):
            raise UserError(f"{path}: is also an input; write the output to another file")
    if str(path) == "-":
        if kind is not None and kind not in STREAMABLE:
            raise UserError(f"'-' (stdout) is for small kinds only; '{kind}' files need a path")
        if sys.stdout.isatty():
            raise UserError("refusing to write binary HDF5 to a terminal; redirect stdout or use -o FILE")
        return
    p = Path(path)
    if p.is_dir():
        raise UserError(f"{p}: is a folder; give a file name for the output")
    if p.exists() and not force:
        raise UserError(f"{p}: exists; use --force to overwrite")
    if not p.parent.exists():
        raise UserError(f"{p.parent}: output folder does not exist")


def _same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name one file (resolving links; either may not exist yet)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def check_distinct(outputs: dict[str, str | os.PathLike | None],
                   inputs: Iterable[tuple[str, str | os.PathLike | None]] = ()) -> None:
    """Refuse an output that is the same file as another output or an input (named by
    option: ``check_distinct({"-o": out, "--curves": c}, [("DATA", data)])``), so no output
    overwrites what is read or written beside it. Inputs may repeat each other."""
    seen = [(name, p) for name, p in inputs if p is not None and str(p) != "-"]
    for name, path in outputs.items():
        if path is None or str(path) == "-":
            continue
        for first, other in seen:
            if _same_file(path, other):
                raise UserError(f"{name}: {path} is also {first}; give another file")
        seen.append((name, path))


def _json(obj: Any) -> str:
    def default(o: Any) -> Any:
        if isinstance(o, (np.integer,)):
            return int(o)
        if isinstance(o, (np.floating,)):
            return float(o)
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, os.PathLike):
            return os.fspath(o)
        return str(o)

    return json.dumps(obj, default=default, sort_keys=True)


def _input_record(path: str | os.PathLike) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rec: dict[str, Any] = {"path": display_name(path), "kind": None, "sha256": None}
    chain: list[dict[str, Any]] = []
    try:
        rec["sha256"] = sha256_of(path)
    except OSError:
        pass
    try:
        f = _open_h5(path)
    except UserError:
        model_chain = _model_provenance(path)
        if model_chain is not None:
            rec["kind"] = MODEL
            chain = model_chain
        return rec, chain
    with f:
        k = f.attrs.get("semtool_kind")
        if k is not None:
            rec["kind"] = str(k)
            chain = read_provenance(f)
    return rec, chain


def _model_provenance(path: str | os.PathLike) -> list[dict[str, Any]] | None:
    """The provenance chain a semtool model file keeps in its safetensors header metadata
    (``semtool`` JSON, key ``provenance``); None for anything that is not a semtool model.
    Read here from the header's bytes (8-byte length, then JSON), without safetensors."""
    if str(path) == "-":
        return None
    try:
        with open(path, "rb") as fh:
            n = int.from_bytes(fh.read(8), "little")
            if not 2 <= n <= 100_000_000:
                return None
            meta = json.loads(fh.read(n)).get("__metadata__") or {}
        if meta.get("semtool_kind") != MODEL:
            return None
        steps = json.loads(meta.get("semtool", "{}")).get("provenance") or []
    except (OSError, ValueError, AttributeError):
        return None
    return [s for s in steps if isinstance(s, dict)]


def provenance_chain(*, command: str, parameters: dict[str, Any] | None = None,
                     inputs: Sequence[str | os.PathLike] = (), argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The steps that made an output, oldest first: every input's own chain (HDF5 files'
    provenance groups, model files' metadata; each step once), then this step with its
    inputs' paths, kinds and SHA-256. What ``init_root`` writes, and what ``train`` keeps in
    a model's metadata."""
    records, chain, seen = [], [], set()
    for p in inputs:
        rec, steps = _input_record(p)
        records.append(rec)
        for s in steps:
            key = (s.get("created_at"), s.get("command"), _json(s.get("argv")))
            if key not in seen:
                seen.add(key)
                chain.append(s)
    return chain + [{
        "command": command,
        "argv": list(argv if argv is not None else _argv()),
        "parameters": json.loads(_json(parameters or {})),
        "inputs": records,
        "creator": f"semtool {__version__}",
        "created_at": _now(),
    }]


def init_root(f: h5py.File, kind: str, *, command: str | None = None,
              parameters: dict[str, Any] | None = None,
              inputs: Sequence[str | os.PathLike] = (), argv: Sequence[str] | None = None) -> None:
    """Write the root attributes and the provenance chain (inputs' steps, then this one)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    f.attrs["semtool_kind"] = kind
    f.attrs["semtool_schema"] = KINDS[kind][0]
    f.attrs["creator"] = f"semtool {__version__}"
    f.attrs["created_at"] = _now()
    prov = f.require_group("provenance")
    start = len(prov.keys())
    steps = provenance_chain(command=command or kind, parameters=parameters, inputs=inputs, argv=argv)
    for i, s in enumerate(steps):
        g = prov.create_group(f"{start + i:04d}")
        for key in ("command", "creator", "created_at"):
            g.attrs[key] = str(s.get(key, ""))
        for key, empty in (("argv", []), ("parameters", {}), ("inputs", [])):
            g.attrs[key] = _json(s.get(key, empty))


def _apply_umask(path: str | os.PathLike) -> None:
    """mkstemp creates 0600 files; give the output the mode a plain open() would."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def _argv() -> list[str]:
    """sys.argv with the program shown as the user typed it ('semtool', not a path)."""
    argv = list(sys.argv)
    if argv and (argv[0].endswith(("__main__.py", "/semtool")) or argv[0] == "-m"):
        argv[0] = "semtool"
    return argv


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, force: bool = False, checkpoint: bool = False) -> Iterator[Path]:
    """A temporary path in the target's folder, renamed to ``path`` when the body succeeds.

    Any file format can be written this way (HDF5, safetensors, figures): on an exception,
    SIGINT (even one a library swallowed) or SIGKILL nothing appears under the final name.
    The file gets the mode a plain ``open()`` would give, and an output that appeared
    meanwhile is refused unless ``force``. An output is remembered so that the CLI removes
    it when the command is interrupted after all; a ``checkpoint`` (kept for ``--resume``)
    is written even then and is what the interrupted message names.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        if target.exists() and not force:  # appeared while we worked
            raise UserError(f"{target}: exists; use --force to overwrite")
        _apply_umask(tmp)
        _commit(tmp, target, checkpoint=checkpoint)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _commit(tmp: str | os.PathLike, target: Path, *, checkpoint: bool = False) -> None:
    """Rename a finished temporary file into place, unless SIGINT arrived meanwhile."""
    if checkpoint:
        os.replace(tmp, target)
        _runtime.checkpoint = target
        return
    _runtime.check_interrupt()
    os.replace(tmp, target)
    _runtime.committed.append(target)


@contextlib.contextmanager
def create(path: str | os.PathLike, kind: str, *, force: bool = False, command: str | None = None,
           parameters: dict[str, Any] | None = None,
           inputs: Sequence[str | os.PathLike] = ()) -> Iterator[h5py.File]:
    """Write a semtool file atomically.

    The body writes into a temporary file in the target folder; on success it is renamed
    into place, on any exception (or SIGKILL) nothing appears under the final name.
    ``path='-'`` writes to stdout through memory (small kinds only).
    """
    check_output(path, force=force, kind=kind, inputs=inputs)
    if str(path) == "-":
        buf = io.BytesIO()
        with h5py.File(buf, "w") as f:
            init_root(f, kind, command=command, parameters=parameters, inputs=inputs)
            yield f
        _runtime.check_interrupt()
        sys.stdout.flush()
        sys.stdout.buffer.write(buf.getvalue())
        sys.stdout.buffer.flush()
        return
    with atomic_path(path, force=force) as tmp:
        with h5py.File(tmp, "w") as f:
            init_root(f, kind, command=command, parameters=parameters, inputs=inputs)
            yield f


class Resumable:
    """A long generator's output: a partial file beside the target, finished by rename.

    ``<folder>/.<name>.partial`` holds the root attributes, the datasets (resizable or
    pre-sized) and a ``done`` mask. ``--resume`` reopens it; ``finish()`` renames it to
    the final name. Without ``resume`` an existing partial file is an error that says so.
    """

    def __init__(self, path: str | os.PathLike, kind: str, *, force: bool = False, resume: bool = False,
                 command: str | None = None, parameters: dict[str, Any] | None = None,
                 inputs: Sequence[str | os.PathLike] = ()):
        if str(path) == "-":
            raise UserError(f"'{kind}' output cannot go to stdout; give -o FILE")
        self.target = Path(path)
        self.partial = self.partial_path(path)
        check_output(self.target, force=force, kind=kind, inputs=inputs)
        self.resumed = False
        if self.partial.exists():
            if not resume:
                if force:
                    self.partial.unlink()
                else:
                    raise UserError(
                        f"{self.target}: an interrupted run left {self.partial.name}; "
                        "use --resume to continue it or --force to start over"
                    )
            else:
                try:
                    with h5py.File(self.partial, "r") as f:
                        check_kind(f, str(self.partial), kind)
                        old = json.loads(f["provenance"][sorted(f["provenance"].keys())[-1]].attrs["parameters"])
                except (OSError, KeyError):
                    raise UserError(f"{self.partial}: damaged partial file; use --force to start over") from None
                self.resumed = True
                self.previous_parameters = old
        if not self.resumed:
            with h5py.File(self.partial, "w") as f:
                init_root(f, kind, command=command, parameters=parameters, inputs=inputs)
        self.file = h5py.File(self.partial, "a")
        _runtime.checkpoint = self.partial

    def checkpoint(self) -> None:
        """Flush everything written so far to disk: after it the partial file is complete
        and consistent, so a ``kill -9`` before the next write loses nothing. (Not HDF5's
        SWMR mode: a killed SWMR writer leaves consistency flags that only ``h5clear``
        removes; the default file format has no such flags.)"""
        self.file.flush()

    @staticmethod
    def partial_path(path: str | os.PathLike) -> Path:
        """Where the partial file of output ``path`` lives: ``<folder>/.<name>.partial``."""
        return Path(path).parent / f".{Path(path).name}.partial"

    @classmethod
    def check_start(cls, path: str | os.PathLike, kind: str, *, force: bool = False, resume: bool = False) -> None:
        """The checks the constructor makes, without opening anything (call it before
        expensive work such as loading a model)."""
        if str(path) == "-":
            raise UserError(f"'{kind}' output cannot go to stdout; give -o FILE")
        check_output(path, force=force, kind=kind)
        partial = cls.partial_path(path)
        if partial.exists() and not resume and not force:
            raise UserError(f"{path}: an interrupted run left {partial.name}; "
                            "use --resume to continue it or --force to start over")

    def changed_parameters(self, parameters: dict[str, Any], ignore: Sequence[str] = ()) -> list[str]:
        """Names of the options whose values differ from the interrupted run's (on resume)."""
        if not self.resumed:
            return []
        old = {k: v for k, v in self.previous_parameters.items() if k not in ignore}
        new = {k: v for k, v in json.loads(_json(parameters or {})).items() if k not in ignore}
        return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))

    def finish(self) -> Path:
        self.file.close()
        _apply_umask(self.partial)
        _commit(self.partial, self.target)
        _runtime.checkpoint = None
        return self.target

    def close(self) -> None:
        """Leave the partial file for --resume (on error or interruption)."""
        with contextlib.suppress(Exception):
            self.file.close()
