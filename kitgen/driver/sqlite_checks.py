"""Foreign-key checks of what a transaction wrote: which rows reference rows that do not exist.

While a migration runs with enforcement suspended, SQLite's authorizer tells which tables its
statements (and the triggers they fire) write. Before COMMIT, ``PRAGMA foreign_key_check`` runs
on the tables whose rows may now point nowhere: those it inserted into, updated, created or
altered, and those referencing a table it deleted from, updated or dropped. A table the migration
did not touch cannot have gained a dangling reference, so a large database is not scanned whole.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass

from kitgen.errors import ForeignKeyViolation

# Authorizer action codes (sqlite3.h), by what they can leave pointing at a missing row.
CREATE_TABLE, CREATE_VIEW, DELETE, DROP_INDEX, DROP_TABLE = 2, 8, 9, 10, 11
DROP_VIEW, INSERT, PRAGMA, UPDATE, ALTER_TABLE, CREATE_VTABLE, DROP_VTABLE = 17, 18, 19, 23, 26, 29, 30
OWN_ROWS = frozenset({CREATE_TABLE, INSERT, UPDATE, ALTER_TABLE})  # the table's own rows (its foreign keys)
# The rows of tables referencing it: deleted or changed keys (an INSERT too: OR REPLACE deletes the
# row in its way), a dropped table, a dropped unique index behind a key.
REFERENCED_ROWS = frozenset({DELETE, DROP_TABLE, INSERT, UPDATE, DROP_INDEX})
# What can take a name away from a table or view, or add one other than by CREATE TABLE or VIEW.
RESHAPING = frozenset({DROP_TABLE, DROP_VIEW, ALTER_TABLE, CREATE_VTABLE, DROP_VTABLE})
CHILDREN = """
SELECT DISTINCT m.name FROM main.sqlite_master AS m JOIN pragma_foreign_key_list(m.name, 'main') AS f
WHERE m.type = 'table' AND m.sql NOT LIKE 'CREATE VIRTUAL TABLE%' AND f."table" = ? COLLATE NOCASE
ORDER BY m.name
"""  # the tables whose foreign keys reference a table (itself included)


@dataclass(frozen=True)
class Violation:
    """One row of ``PRAGMA foreign_key_check``: a child row whose parent row is missing.

    The rowid of a WITHOUT ROWID table's row is None: violations are counted, not only compared.
    """

    table: str
    rowid: int | None
    parent: str
    key: int  # the foreign key's id in pragma_foreign_key_list(table)


class WrittenTables:
    """An authorizer that records what a transaction writes (``main`` only): the tables whose rows may now
    point nowhere (SQLite's own left out), and how it changed the schema (SQLite's own tables included).

    A table altered that no longer names the same table at the end (renamed away, or replaced by a new
    table of that name) leaves the tables that reference that name to check, as a dropped one does. The
    tables and views it created, and whether anything else reshaped the schema (a drop, a rename, a
    virtual table, the catalog written under ``PRAGMA writable_schema``), let the driver follow the names
    of the relations without reading the whole catalog after each migration.
    """

    def __init__(self, ignored: str, connection: sqlite3.Connection) -> None:
        self.ignored = ignored  # kitgen's own tracking table
        self.own: set[str] = set()  # tables whose own rows may now point nowhere
        self.referenced: set[str] = set()  # tables whose rows others may have pointed at
        self.altered: set[str] = set()  # tables an ALTER TABLE named
        self.created: set[str] = set()  # tables and views a CREATE named
        self.reshaped = False  # names may have gone, or come by other ways than CREATE TABLE or VIEW
        self.schema_version: int = connection.execute("PRAGMA schema_version").fetchone()[0]
        self._kinds: dict[frozenset[str], dict[str, str]] = {}  # names looked up since the migration ended

    def record(self, action: int, first: str | None, second: str | None, database: str | None) -> None:
        if action == PRAGMA:
            if second is not None and (first or "").lower() in ("schema_version", "writable_schema"):
                self.reshaped = True  # the catalog, or its version, written directly (reset before each migration)
            return
        if action == ALTER_TABLE:  # (database name, table name)
            first, second, database = second, None, first
        elif action == DROP_INDEX:  # (index name, table name)
            first = second
        if database != "main" or not first:
            return
        if action in (CREATE_TABLE, CREATE_VIEW) and first != self.ignored:
            self.created.add(first)  # SQLite's own too: sqlite_sequence for AUTOINCREMENT, sqlite_stat1 for ANALYZE
        if first.startswith("sqlite_") or first == self.ignored:
            return
        if action in RESHAPING:
            self.reshaped = True
        if action == ALTER_TABLE:
            self.altered.add(first)
        if action in OWN_ROWS:
            self.own.add(first)
        if action in REFERENCED_ROWS:
            self.referenced.add(first)

    def to_check(self, connection: sqlite3.Connection) -> list[str]:
        """The tables, still there, whose rows may now reference a row that does not exist.

        An altered table that no longer names the same table counts as gone: renamed away, re-created
        under its name, or, once any table was renamed away, any altered one (the authorizer names a
        rename's old name only, so ``parents_new`` renamed to ``parents`` shows as ``parents_new``; with
        ``legacy_alter_table`` the tables referencing ``parents`` still point at that name).
        """
        names = set(self.own)
        still = self.existing(connection, self.altered, ("table",))
        renamed_away = any(name not in still for name in self.altered)
        gone = {name for name in self.altered if renamed_away or name in self.created}
        for table in sorted(self.referenced | gone):
            names.update(row[0] for row in connection.execute(CHILDREN, (table,)))
        return self.existing(connection, names, ("table",))

    def existing(self, connection: sqlite3.Connection, names: set[str], kinds: tuple[str, ...]) -> list[str]:
        """Those of ``names`` that are relations of ``kinds`` now (``relation_kinds``), once the migration's
        statements have run: the same names are looked up once (the relations it created, then the tables it
        wrote: the same names, for a migration that creates)."""
        if not names:
            return []
        key = frozenset(names)
        if key not in self._kinds:
            self._kinds[key] = relation_kinds(connection, names)
        return sorted(name for name, kind in self._kinds[key].items() if kind in kinds)


def existing_tables(connection: sqlite3.Connection, names: set[str]) -> list[str]:
    """Those of ``names`` that are tables of the database now."""
    return sorted(name for name, kind in relation_kinds(connection, names).items() if kind == "table")


def relation_kinds(connection: sqlite3.Connection, names: set[str]) -> dict[str, str]:
    """Those of ``names`` that are relations in ``main`` now, as the catalog spells them, with their type.

    Each is looked up by name (``pragma_table_list``, SQLite 3.37 and later), not by reading the whole
    catalog: its cost does not grow with the schema.
    """
    if not names:
        return {}
    query = EXISTING if sqlite3.sqlite_version_info >= (3, 37, 0) else EXISTING_BEFORE_3_37
    return dict(connection.execute(query, (json.dumps(sorted(names)),)).fetchall())


EXISTING = """
SELECT l.name, l.type FROM json_each(?1) AS j JOIN pragma_table_list(j.value) AS l
WHERE l.schema = 'main' AND l.type IN ('table', 'view')
"""
EXISTING_BEFORE_3_37 = """
SELECT name, type FROM main.sqlite_master
WHERE name IN (SELECT value FROM json_each(?1)) AND type IN ('table', 'view')
"""


def foreign_key_violations(connection: sqlite3.Connection, tables: list[str] | None = None) -> Counter[Violation]:
    """Every dangling reference in the database, or in the rows of some tables.

    A key whose parent columns are neither its primary key nor unique ("foreign key mismatch") is a
    ``ForeignKeyViolation`` too: every use of the child table would fail.
    """
    try:
        if tables is None:
            rows = connection.execute("PRAGMA foreign_key_check").fetchall()
        else:
            query = "SELECT * FROM pragma_foreign_key_check(?, 'main')"  # never a TEMP table of that name
            rows = [row for table in tables for row in connection.execute(query, (table,))]
    except sqlite3.OperationalError as exc:
        if "foreign key mismatch" not in str(exc):
            raise
        raise ForeignKeyViolation(
            f"{exc}: the parent columns are not its primary key, nor under a UNIQUE index or constraint"
        ) from exc
    return Counter(Violation(row[0], row[1], row[2], row[3]) for row in rows)


def ensure_no_violations(connection: sqlite3.Connection, written: WrittenTables) -> None:
    """Raise when a table written (or one referencing it) holds a dangling reference."""
    tables = written.to_check(connection)
    found = foreign_key_violations(connection, tables)
    if found:
        error = ForeignKeyViolation("it would leave " + describe_violations(connection, found))
        error.violations, error.tables = found, tables
        raise error


def note_earlier_violations(connection: sqlite3.Connection, error: ForeignKeyViolation) -> None:
    """After the rollback: say how many of the dangling references were there before the migration."""
    if not error.violations:
        return
    tables = existing_tables(connection, set(error.tables))  # tables the migration created are gone
    earlier = (foreign_key_violations(connection, tables) & error.violations).total()
    if earlier:
        rows = "1 of those rows was" if earlier == 1 else f"{earlier} of those rows were"
        error.what += f" ({rows} already so before this migration)"


def describe_violations(connection: sqlite3.Connection, violations: Counter[Violation]) -> str:
    """``2 rows of children referencing parents rows that do not exist (children.parent_id → parents.id)``."""
    counts: Counter[tuple[str, str, int]] = Counter()
    for violation, number in violations.items():
        counts[(violation.table, violation.parent, violation.key)] += number
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
