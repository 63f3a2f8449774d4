"""Foreign-key checks of what a transaction wrote: which rows reference rows that do not exist.

While a migration runs with enforcement suspended, SQLite's authorizer tells which tables its
statements (and the triggers they fire) write. Before COMMIT, ``PRAGMA foreign_key_check`` runs
on the tables whose rows may now point nowhere: those it inserted into, updated, created or
altered, and those referencing a table it deleted from, updated or dropped. A table the migration
did not touch cannot have gained a dangling reference, so a large database is not scanned whole.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass

from kitgen.errors import ForeignKeyViolation

# Authorizer action codes (sqlite3.h), by what they can leave pointing at a missing row.
CREATE_TABLE, DELETE, DROP_TABLE, INSERT, UPDATE, ALTER_TABLE = 2, 9, 11, 18, 23, 26
OWN_ROWS = frozenset({CREATE_TABLE, INSERT, UPDATE})  # the table's own rows (its foreign keys)
REFERENCED_ROWS = frozenset({DELETE, DROP_TABLE, UPDATE})  # the rows of tables referencing it
CHILDREN = """
SELECT DISTINCT m.name FROM sqlite_master AS m JOIN pragma_foreign_key_list(m.name) AS f
WHERE m.type = 'table' AND m.sql NOT LIKE 'CREATE VIRTUAL TABLE%' AND f."table" = ? COLLATE NOCASE
ORDER BY m.name
"""  # the tables whose foreign keys reference a table (itself included)


@dataclass(frozen=True)
class Violation:
    """One row of ``PRAGMA foreign_key_check``: a child row whose parent row is missing."""

    table: str
    rowid: int | None
    parent: str
    key: int  # the foreign key's id in pragma_foreign_key_list(table)


class WrittenTables:
    """An authorizer that records the tables a transaction writes (``main`` only, SQLite's own left out)."""

    def __init__(self, ignored: str) -> None:
        self.ignored = ignored  # kitgen's own tracking table
        self.own: set[str] = set()  # tables whose own rows may now point nowhere
        self.referenced: set[str] = set()  # tables whose rows others may have pointed at

    def record(self, action: int, first: str | None, second: str | None, database: str | None) -> None:
        if action == ALTER_TABLE:  # (database name, table name)
            first, second, database = second, None, first
        if database != "main" or not first or first.startswith("sqlite_") or first == self.ignored:
            return
        if action in OWN_ROWS or action == ALTER_TABLE:
            self.own.add(first)
        if action in REFERENCED_ROWS:
            self.referenced.add(first)

    def to_check(self, connection: sqlite3.Connection) -> list[str]:
        """The tables, still there, whose rows may now reference a row that does not exist."""
        names = set(self.own)
        for table in self.referenced:
            names.update(row[0] for row in connection.execute(CHILDREN, (table,)))
        return existing_tables(connection, names)


def existing_tables(connection: sqlite3.Connection, names: set[str]) -> list[str]:
    """Those of ``names`` that are tables of the database now."""
    existing = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return sorted(names & existing)


def foreign_key_violations(connection: sqlite3.Connection, tables: list[str] | None = None) -> frozenset[Violation]:
    """Every dangling reference in the database, or in the rows of some tables."""
    if tables is None:
        rows = connection.execute("PRAGMA foreign_key_check").fetchall()
    else:
        rows = [
            row for table in tables for row in connection.execute("SELECT * FROM pragma_foreign_key_check(?)", (table,))
        ]
    return frozenset(Violation(row[0], row[1], row[2], row[3]) for row in rows)


def ensure_no_violations(connection: sqlite3.Connection, written: WrittenTables) -> None:
    """Raise when a table written (or one referencing it) holds a dangling reference."""
    tables = written.to_check(connection)
    found = foreign_key_violations(connection, tables)
    if found:
        error = ForeignKeyViolation(describe_violations(connection, found))
        error.violations, error.tables = found, tables
        raise error


def note_earlier_violations(connection: sqlite3.Connection, error: ForeignKeyViolation) -> None:
    """After the rollback: say how many of the dangling references were there before the migration."""
    tables = existing_tables(connection, set(error.tables))  # tables the migration created are gone
    earlier = len(foreign_key_violations(connection, tables) & error.violations)
    if earlier:
        rows = "1 of those rows was" if earlier == 1 else f"{earlier} of those rows were"
        error.what += f" ({rows} already so before this migration)"


def describe_violations(connection: sqlite3.Connection, violations: frozenset[Violation]) -> str:
    """``2 rows of children referencing parents rows that do not exist (children.parent_id → parents.id)``."""
    counts = Counter((v.table, v.parent, v.key) for v in violations)
    parts = []
    for (table, parent, key), number in sorted(counts.items()):
        rows = "1 row" if number == 1 else f"{number} rows"
        key_text = _key_text(connection, table, key)
        parts.append(f"{rows} of {table} referencing {parent} rows that do not exist ({key_text})")
    return "; ".join(parts)


def _key_text(connection: sqlite3.Connection, table: str, key: int) -> str:
    rows = connection.execute(
        'SELECT "table", "from", "to" FROM pragma_foreign_key_list(?) WHERE id = ? ORDER BY seq', (table, key)
    ).fetchall()
    if not rows:
        return "foreign key"
    parent = rows[0][0]
    sources = ", ".join(f"{table}.{row[1]}" for row in rows)
    targets = ", ".join(f"{parent}.{row[2]}" if row[2] else f"{parent} primary key" for row in rows)
    return f"{sources} → {targets}"
