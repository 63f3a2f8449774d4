"""Verdicts kept between runs, cheap to confirm: "these entities are current for this schema".

A stamp records a verdict that took a full comparison, the key of everything it depends on (the
schema, the settings, kitgen's own code) and the state of every file it read: size, modification and
change times, inode. A later run that computes the same key and finds every file as recorded skips the
comparison; any doubt falls back to it. Doubts are: another key; a file added, removed, replaced or
touched; a file changed less than two seconds before the stamp was taken (an edit in the same clock tick
could keep its size and times); a stamp that cannot be read. Stamps are an optimisation only: one that
cannot be written is not an error.

What a stamp watches is a list of ``(kind, path)``: ``"list"`` a folder's entries, each by its state
(``__pycache__`` left out; a path that is not a folder counts as ``"stat"``), ``"stat"`` the path itself
(a missing path is a state too), ``"exists"`` only whether it exists, ``"realpath"`` where it leads once
every symlink on the way is followed. The stamp keeps that list, so the
no-op ``kitgen migrate`` confirms one (``confirmed_noop``) without loading the configuration.

They live in ``.kitgen/`` at the project root, a folder that tells git to ignore it. This module imports
only what Python starts with: it is on the path of the no-op ``kitgen migrate``.
"""

from __future__ import annotations

import os
import sys
import time
import zlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    StrPath = str | os.PathLike[str]

FOLDER = ".kitgen"
FORMAT = "kitgen stamp 2"
RACY_NANOSECONDS = 2_000_000_000
NOOP_VERDICT = "nothing to migrate"
Watched = tuple[str, str]  # (kind, path): "list", "stat", "exists" or "realpath"
OTHER_VARIABLES = ("DATABASE_URL",)  # read by the configuration besides kitgen's own KITGEN_* variables
FileState = str  # one line: name, size, mtime_ns, ctime_ns, inode, tab-separated


def stamp_name(kind: str, database: object) -> str:
    """The name of a stamp of ``kind`` about one database: each database keeps its own."""
    import hashlib

    return f"{kind}-{hashlib.sha256(str(database).encode('utf-8', 'surrogateescape')).hexdigest()[:16]}"


def stamp_key(*parts: str) -> str:
    """The key of a verdict: its inputs, and kitgen's own code (a new kitgen may decide otherwise)."""
    import hashlib

    digest = hashlib.sha256(_code_state().encode())
    for part in parts:
        digest.update(b"\0" + part.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _code_state() -> str:
    """The Python version, and the state of each of kitgen's own modules (read once: the code that runs
    does not change while it runs)."""
    global _CODE_STATE
    if _CODE_STATE is None:
        _CODE_STATE = "\n".join([sys.version, *states(code_watched())])
    return _CODE_STATE


_CODE_STATE: str | None = None


def code_watched() -> list[Watched]:
    """kitgen's own package folders, each listed."""
    package = os.path.dirname(os.path.abspath(__file__))
    return [("list", folder) for folder, _, _ in sorted(os.walk(package)) if os.path.basename(folder) != "__pycache__"]


def folder_states(paths: Iterable[StrPath]) -> tuple[FileState, ...]:
    """The state of each file, and of every entry of each folder (not recursing); a missing one is a state too."""
    return states([("list", os.fspath(path)) for path in paths])


def states(watched: Iterable[Watched]) -> tuple[FileState, ...]:
    """The state of everything ``watched``, one line each, in order."""
    lines: list[FileState] = []
    for kind, path in watched:
        if kind == "exists":
            lines.append(f"{path}\t{int(os.path.exists(path))}")
            continue
        if kind == "realpath":
            lines.append(f"{path}\t{os.path.realpath(path)}")
            continue
        if kind == "list":
            try:
                with os.scandir(path) as found:
                    entries = sorted((entry.name, entry) for entry in found if entry.name != "__pycache__")
            except NotADirectoryError:
                pass
            except OSError:
                lines.append(f"{path}\t-1")
                continue
            else:
                lines.append(f"{path}\tfolder")
                lines.extend(_state(entry, name) for name, entry in entries)
                continue
        lines.append(_state(path, path))
    return tuple(lines)


def _state(path: str | os.DirEntry[str], name: str) -> FileState:
    try:
        found = path.stat() if isinstance(path, os.DirEntry) else os.stat(path)
    except OSError:
        return f"{name}\t-1"
    return f"{name}\t{found.st_size}\t{found.st_mtime_ns}\t{found.st_ctime_ns}\t{found.st_ino}"


def _racy(lines: Iterable[FileState], taken: int) -> bool:
    """Whether a file changed less than two seconds before ``taken`` (or after it): an edit in the same
    clock tick could keep its size and times, so such states vouch for nothing."""
    limit = taken - RACY_NANOSECONDS
    for line in lines:
        fields = line.rsplit("\t", 4)
        if len(fields) == 5 and max(int(fields[2]), int(fields[3])) >= limit:
            return True
    return False


def confirmed(root: StrPath, name: str, key: str, folders: Sequence[StrPath]) -> str | None:
    """The verdict of stamp ``name`` when it still holds (same key, every file as it was); else None."""
    stamp = _read(os.path.join(os.fspath(root), FOLDER, f"{name}.stamp"))
    if stamp is None or stamp[0] != key:
        return None
    return _holds(stamp, folder_states(folders))


def _holds(stamp: tuple[str, int, str, list[Watched], tuple[FileState, ...]], now: tuple[FileState, ...]) -> str | None:
    """The stamp's verdict when every state is as recorded (a stamp is only written when none was racy)."""
    return stamp[2] if now == stamp[4] else None


def record(
    root: StrPath, name: str, key: str, folders: Sequence[StrPath], verdict: str, files: tuple[FileState, ...]
) -> None:
    """Keep ``verdict`` as stamp ``name``; ``files`` are the folders' states read before the comparison
    that found it (a file changed during it then fails the next confirmation)."""
    watched = [("list", os.fspath(path)) for path in folders]
    _write(os.fspath(root), name, key, watched, verdict, files)


def _write(
    root: str, name: str, key: str, watched: Sequence[Watched], verdict: str, files: tuple[FileState, ...]
) -> None:
    taken = time.time_ns()
    if states(watched) != files or _racy(files, taken):
        return  # something changed during the comparison, or just before it: nothing to vouch for
    text = [FORMAT, key.encode("utf-8", "surrogateescape").hex(), str(taken), verdict, str(len(watched))]
    text += [f"{kind}\t{path}" for kind, path in watched]
    text += files
    if any("\n" in line or "\r" in line for line in text):
        return  # a name that would break the format: no stamp
    folder = os.path.join(root, FOLDER)
    temporary = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
    try:
        os.makedirs(folder, exist_ok=True)
        ignore = os.path.join(folder, ".gitignore")
        if not os.path.exists(ignore):
            with open(ignore, "w", encoding="utf-8") as handle:
                handle.write("# kitgen's stamps: local to this checkout\n*\n")
        with open(temporary, "w", encoding="utf-8", errors="surrogateescape", newline="\n") as handle:
            handle.write("\n".join(text) + "\n")
        os.replace(temporary, os.path.join(folder, f"{name}.stamp"))
    except (OSError, ValueError):  # a name that cannot be written, a full disk: no stamp, and no leftover
        _remove(temporary)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        return


def _read(path: str) -> tuple[str, int, str, list[Watched], tuple[FileState, ...]] | None:
    """A stamp's key, time taken, verdict, what it watches and the states it found; None when unreadable."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape", newline="\n") as handle:
            lines = handle.read().split("\n")
        if lines[0] != FORMAT or lines[-1] != "":
            return None
        count = int(lines[4])
        watched = [(kind, where) for kind, where in (line.split("\t", 1) for line in lines[5 : 5 + count])]
        key = bytes.fromhex(lines[1]).decode("utf-8", "surrogateescape")
        return key, int(lines[2]), lines[3], watched, tuple(lines[5 + count : -1])
    except (OSError, ValueError, IndexError):
        return None


# --- the no-op `kitgen migrate` -----------------------------------------------------------------------


def noop_key(environ: Mapping[str, str]) -> str:
    """What a no-op verdict depends on besides the files it watches: where it ran, the interpreter, where it
    imports from and which kitgen it runs, and the environment variables the configuration reads (they
    select the database, the folders, the settings)."""
    settings = sorted(
        (name, value) for name, value in environ.items() if name.startswith("KITGEN_") or name in OTHER_VARIABLES
    )
    here = os.path.dirname(os.path.abspath(__file__))
    return "\0".join([os.getcwd(), sys.executable, sys.version, repr(sys.path), here, repr(settings)])


def noop_name(key: str) -> str:
    """One no-op stamp per folder and environment that ``kitgen migrate`` runs in."""
    return f"noop-{zlib.crc32(key.encode('utf-8', 'surrogateescape')):08x}"


def interpreter_watched() -> list[Watched]:
    """The folders Python imports from, each itself: installing or upgrading a package changes one."""
    return [("stat", entry) for entry in sys.path if entry and os.path.isdir(entry)]


def confirmed_noop(environ: Mapping[str, str]) -> bool:
    """Whether a no-op stamp (found from the current folder upward) says there is nothing to migrate, and
    everything it watched, its configuration included, is as it was."""
    key = noop_key(environ)
    name = f"{noop_name(key)}.stamp"
    folder = os.getcwd()
    while True:
        stamp = _read(os.path.join(folder, FOLDER, name))
        if stamp is not None:
            return stamp[0] == key and _holds(stamp, states(stamp[3])) == NOOP_VERDICT
        parent = os.path.dirname(folder)
        if parent == folder:
            return False
        folder = parent


def record_noop(
    root: StrPath, environ: Mapping[str, str], watched: Sequence[Watched], files: tuple[FileState, ...]
) -> None:
    """Keep "nothing to migrate" for the current folder and environment; ``files`` as for ``record``."""
    key = noop_key(environ)
    _write(os.fspath(root), noop_name(key), key, watched, NOOP_VERDICT, files)
