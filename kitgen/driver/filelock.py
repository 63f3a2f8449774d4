"""An exclusive lock held through a lock file beside the database (``flock``).

The file records who holds it so that a waiting process can say so. It is removed
on release; a process that opened a file which was removed meanwhile tries again,
so two holders can never lock different files of the same name.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from kitgen.errors import DatabaseError, LockTimeout

UNKNOWN_HOLDER = "another kitgen process"
LOCK_SUFFIX = ".lock"  # the lock of a SQLite database is a file of its name with this suffix, beside it


@contextmanager
def exclusive_lock(path: Path, *, command: str, timeout: float, on_wait: Callable[[str], None]) -> Iterator[None]:
    """Hold the lock at ``path`` for the block, waiting up to ``timeout`` seconds."""
    fd = _acquire(path, timeout, on_wait)
    try:
        _record_holder(fd, command)
        yield
    finally:
        _release(path, fd)


def _acquire(path: Path, timeout: float, on_wait: Callable[[str], None]) -> int:
    started = time.monotonic()
    deadline = started + timeout
    delay = 0.005
    reported = False
    while True:
        fd = _open(path)
        if _try_lock(fd) and _still_linked(path, fd):
            return fd
        os.close(fd)
        holder = read_holder(path)
        if time.monotonic() >= deadline:
            raise LockTimeout(
                f"{holder} held the migration lock ({path}) for more than {timeout:g} s",
                "wait for it to finish, or raise --lock-timeout",
            )
        # The holder writes its details just after locking: wait briefly for them before reporting.
        if not reported and (holder != UNKNOWN_HOLDER or time.monotonic() - started > 0.5):
            on_wait(holder)
            reported = True
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def _open(path: Path) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise DatabaseError(
            f"cannot create the lock file {path}: {exc.strerror}",
            "make the database's folder writable, or point --database elsewhere",
        ) from exc


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _still_linked(path: Path, fd: int) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _record_holder(fd: int, command: str) -> None:
    since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    holder = {"pid": os.getpid(), "host": os.uname().nodename, "command": command, "since": since}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(holder).encode(), 0)


def read_holder(path: Path) -> str:
    """Who holds the lock, as a phrase: ``pid 12 (kitgen migrate on host, since …)``."""
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
        return f"pid {holder['pid']} ({holder['command']} on {holder['host']}, since {holder['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return UNKNOWN_HOLDER


def _release(path: Path, fd: int) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    finally:
        os.close(fd)
