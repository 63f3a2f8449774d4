"""Verdicts kept between runs, cheap to confirm: "these entities are current for this schema".

A stamp records a verdict that took a full comparison, the key of everything it depends on (the
schema, the settings, kitgen's own code) and the state of every file in the folders it read: size,
modification and change times, inode. A later run that computes the same key and finds every file
as recorded skips the comparison; any doubt falls back to it. Doubts are: another key; a file added,
removed, replaced or touched; a file changed less than two seconds before the stamp was taken (an
edit in the same clock tick could keep its size and times); a stamp that cannot be read. Stamps are an
optimisation only: one that cannot be written is not an error.

They live in ``.kitgen/`` at the project root, a folder that tells git to ignore it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

FOLDER = ".kitgen"
RACY_NANOSECONDS = 2_000_000_000
FileState = tuple[str, int, int, int, int]  # path, size, mtime_ns, ctime_ns, inode


@dataclass(frozen=True)
class Stamp:
    key: str
    files: tuple[FileState, ...]
    taken: int  # time.time_ns() when the files were read
    verdict: str  # what the comparison found, as the caller recorded it


def stamp_name(kind: str, database: object) -> str:
    """The name of a stamp of ``kind`` about one database: each database keeps its own."""
    return f"{kind}-{hashlib.sha256(str(database).encode('utf-8', 'surrogateescape')).hexdigest()[:16]}"


def stamp_key(*parts: str) -> str:
    """The key of a verdict: its inputs, and kitgen's own code (a new kitgen may decide otherwise)."""
    digest = hashlib.sha256(_code_state().encode())
    for part in parts:
        digest.update(b"\0" + part.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


@functools.cache
def _code_state() -> str:
    """The Python version, and the size and modification time of each of kitgen's own modules."""
    package = Path(__file__).parent
    states = [sys.version]
    for folder, _, names in sorted(os.walk(package)):
        for name in sorted(names):
            if name.endswith(".py"):
                found = os.stat(os.path.join(folder, name))
                states.append(
                    f"{os.path.relpath(os.path.join(folder, name), package)}:{found.st_size}:{found.st_mtime_ns}"
                )
    return "\n".join(states)


def folder_states(paths: Sequence[Path]) -> tuple[FileState, ...]:
    """The state of each file, and of every entry of each folder (not recursing); a missing one is a state too."""
    states: list[FileState] = []
    for path in paths:
        try:
            entries = sorted(os.listdir(path))
        except NotADirectoryError:
            states.append(_state(str(path)))
            continue
        except OSError:
            states.append((str(path), -1, 0, 0, 0))
            continue
        states.extend(_state(os.path.join(path, entry)) for entry in entries)
    return tuple(states)


def _state(path: str) -> FileState:
    try:
        found = os.stat(path)
    except OSError:
        return (path, -1, 0, 0, 0)
    return (path, found.st_size, found.st_mtime_ns, found.st_ctime_ns, found.st_ino)


def confirmed(root: Path, name: str, key: str, folders: Sequence[Path]) -> str | None:
    """The verdict of stamp ``name`` when it still holds (same key, every file as it was); else None."""
    stamp = _read(root / FOLDER / f"{name}.json")
    if stamp is None or stamp.key != key:
        return None
    if any(max(mtime, ctime) >= stamp.taken - RACY_NANOSECONDS for _, _, mtime, ctime, _ in stamp.files):
        return None  # a file changed too close to the stamp: an edit since might not show
    if folder_states(folders) != stamp.files:
        return None
    return stamp.verdict


def record(
    root: Path, name: str, key: str, folders: Sequence[Path], verdict: str, files: tuple[FileState, ...]
) -> None:
    """Keep ``verdict`` as stamp ``name``; ``files`` are the folders' states read before the comparison
    that found it (a file changed during it then fails the next confirmation)."""
    folder = root / FOLDER
    taken = time.time_ns()
    if folder_states(folders) != files:
        return  # something changed during the comparison: nothing to vouch for
    document = {"key": key, "files": [list(state) for state in files], "taken": taken, "verdict": verdict}
    try:
        folder.mkdir(exist_ok=True)
        ignore = folder / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# kitgen's stamps: local to this checkout\n*\n", encoding="utf-8")
        temporary = folder / f".{name}.{os.getpid()}.tmp"
        temporary.write_text(json.dumps(document), encoding="utf-8")
        os.replace(temporary, folder / f"{name}.json")
    except OSError:
        return


def forget(root: Path, name: str) -> None:
    """Drop stamp ``name`` (its verdict no longer holds)."""
    try:
        (root / FOLDER / f"{name}.json").unlink(missing_ok=True)
    except OSError:
        return


def _read(path: Path) -> Stamp | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        files = tuple((str(p), int(s), int(m), int(c), int(i)) for p, s, m, c, i in document["files"])
        return Stamp(str(document["key"]), files, int(document["taken"]), str(document["verdict"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
