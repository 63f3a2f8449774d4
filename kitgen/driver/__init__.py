"""Database drivers: everything that talks to a database goes through ``Driver``."""

from __future__ import annotations

from pathlib import Path

from kitgen.driver.base import AppliedMigration, Driver, StatementError

__all__ = ["AppliedMigration", "Driver", "StatementError", "open_driver", "open_memory_driver"]


def open_driver(database: Path, *, lock_timeout: float, readonly: bool = False) -> Driver:
    """The driver for a database location (SQLite files today)."""
    from kitgen.driver.sqlite import SQLiteDriver

    return SQLiteDriver(database, lock_timeout=lock_timeout, readonly=readonly)


def open_memory_driver() -> Driver:
    """A driver on a fresh private in-memory database."""
    from kitgen.driver.sqlite import MemorySQLiteDriver

    return MemorySQLiteDriver()
