"""Database drivers: everything that talks to a database goes through ``Driver``.

The engine is chosen from the configured database (a path or ``sqlite:`` URL: SQLite; a
``postgresql://`` URL: PostgreSQL) through ``ENGINES``; each driver module is imported only when used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from kitgen.driver.base import AppliedMigration, Driver, StatementError
from kitgen.driver.filelock import LOCK_SUFFIX
from kitgen.driver.url import ServerUrl, engine_of

__all__ = [
    "AppliedMigration",
    "Driver",
    "StatementError",
    "engine_of",
    "local_files",
    "may_exist",
    "open_driver",
    "scratch_driver",
]


def local_files(database: Path | ServerUrl) -> list[Path] | None:
    """The files a SQLite database's state lives in: the database, its rollback journal and write-ahead log,
    and the lock file a kitgen command holds beside it. None for a server, whose state no local file shows."""
    if not isinstance(database, Path):
        return None
    return [database.with_name(database.name + suffix) for suffix in ("", "-journal", "-wal", LOCK_SUFFIX)]


def may_exist(database: Path | ServerUrl) -> bool:
    """False when the database surely does not exist yet (no SQLite file there), without connecting."""
    return database.is_file() if isinstance(database, Path) else True


def _open_sqlite(
    database: Path | ServerUrl, lock_timeout: float, readonly: bool, _: tuple[str, ...], __: str
) -> Driver:
    from kitgen.driver.sqlite import SQLiteDriver

    assert isinstance(database, Path)
    return SQLiteDriver(database, lock_timeout=lock_timeout, readonly=readonly)


def _open_postgres(
    database: Path | ServerUrl, lock_timeout: float, readonly: bool, schemas: tuple[str, ...], command: str
) -> Driver:
    from kitgen.driver.postgres import PostgresDriver

    assert isinstance(database, ServerUrl)
    return PostgresDriver(database, lock_timeout=lock_timeout, readonly=readonly, schemas=schemas, command=command)


Opener = Callable[[Path | ServerUrl, float, bool, tuple[str, ...], str], Driver]
ENGINES: dict[str, Opener] = {"sqlite": _open_sqlite, "postgresql": _open_postgres}


def open_driver(
    database: Path | ServerUrl,
    *,
    lock_timeout: float,
    readonly: bool = False,
    schemas: tuple[str, ...] = (),
    command: str = "kitgen",
) -> Driver:
    """The driver for a configured database (not connected yet)."""
    return ENGINES[engine_of(database)](database, lock_timeout, readonly, schemas, command)


def scratch_driver(
    database: Path | ServerUrl,
    *,
    shadow: ServerUrl | None = None,
    schemas: tuple[str, ...] = (),
    committed: bool = False,
) -> AbstractContextManager[Driver]:
    """An empty private database of the same engine to replay migrations in, thrown away after the block:
    SQLite's in memory; on a server, ``shadow`` emptied or a temporary database. ``committed``: what the
    replay builds is committed, for ``dump_schema`` to see (a server's dump runs in another session)."""
    if isinstance(database, ServerUrl):
        from kitgen.driver.postgres_scratch import scratch

        return scratch(database, shadow, schemas, committed=committed)
    return _memory()


@contextmanager
def _memory() -> Iterator[Driver]:
    from kitgen.driver.sqlite import MemorySQLiteDriver

    driver = MemorySQLiteDriver()
    try:
        yield driver
    finally:
        driver.close()
