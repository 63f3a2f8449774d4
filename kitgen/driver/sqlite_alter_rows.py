"""The table being rebuilt, as SQLite describes it, and its rows: what they would break, and the copy.

Part of ``db.alter_table()`` (``sqlite_alter`` runs the procedure): each refusal here counts the rows
concerned before anything is copied; the copy keeps every row and its rowid.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kitgen.driver.base import StatementError
from kitgen.driver.sqlite_ddl import fold, quote
from kitgen.errors import SchemaChangeRefused

if TYPE_CHECKING:
    from kitgen.driver.sqlite import SQLiteHandle

PROBE = "kitgen_probe"
ROWID_NAMES = ("rowid", "_rowid_", "oid")
STRICT_STORAGE = {"INT": "integer", "INTEGER": "integer", "REAL": "real", "TEXT": "text", "BLOB": "blob"}


def refused(what: str, hint: str = "") -> SchemaChangeRefused:
    return SchemaChangeRefused(what, hint)  # the migration's failure says what state the database is in


def rows(count: int, table: str) -> str:
    return f"1 row of {table} has" if count == 1 else f"{count} rows of {table} have"


@contextmanager
def undone(handle: SQLiteHandle) -> Iterator[None]:
    """A nested savepoint, always rolled back: for questions asked by changing the schema."""
    handle.execute(f"SAVEPOINT {PROBE}")
    try:
        yield
    finally:
        handle.execute(f"ROLLBACK TO {PROBE}")
        handle.execute(f"RELEASE {PROBE}")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    notnull: bool
    default: str | None
    primary_key: bool
    generated: bool


@dataclass(frozen=True)
class TableState:
    name: str
    sql: str
    columns: tuple[Column, ...]
    without_rowid: bool
    strict: bool

    def rowid_name(self) -> str:
        """A name that reads the rowid: one that no column of the table hides."""
        names = {fold(column.name) for column in self.columns}
        for candidate in ROWID_NAMES:
            if candidate not in names:
                return candidate
        raise refused(f"cannot keep the rowids of {self.name}: its columns rowid, _rowid_ and oid hide them")


def create_sql(handle: SQLiteHandle, table: str) -> str:
    row = handle.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
    return str(row[0])


def read_table(handle: SQLiteHandle, name: str) -> TableState:
    query = 'SELECT name, type, "notnull", dflt_value, pk, hidden FROM pragma_table_xinfo(?)'
    rows = handle.execute(query, (name,))
    columns = tuple(Column(row[0], row[1], bool(row[2]), row[3], bool(row[4]), row[5] in (2, 3)) for row in rows)
    flags = handle.execute("SELECT wr, strict FROM pragma_table_list(?) WHERE schema = 'main'", (name,)).fetchone()
    return TableState(name, create_sql(handle, name), columns, bool(flags[0]), bool(flags[1]))


def refuse_nulls(handle: SQLiteHandle, old: TableState, new: TableState, copied: list[tuple[str, str]]) -> None:
    """NOT NULL columns: refuse when rows hold NULL there, or would (a new column without a default)."""
    origins = dict(copied)
    checked = [
        (column.name, origins.get(column.name))
        for column in new.columns
        if column.notnull and not column.generated and (column.name in origins or no_default(column))
    ]
    if not checked:
        return
    counts = [f"count(*) FILTER (WHERE {quote(origin)} IS NULL)" if origin else "count(*)" for _, origin in checked]
    found = handle.execute(f"SELECT {', '.join(counts)} FROM {quote(old.name)}").fetchone()
    for (name, origin), count in zip(checked, found, strict=True):
        if count and origin is not None:
            fill = f"fill them first (UPDATE {old.name} SET {name} = … WHERE {name} IS NULL), or keep it nullable"
            raise refused(f"{rows(count, old.name)} {name} NULL", fill)
        if count:
            fill = "give it a DEFAULT, or add it nullable, fill it, then make it NOT NULL"
            raise refused(f"{rows(count, old.name)} no value for the new NOT NULL column {name}", fill)


def no_default(column: Column) -> bool:
    return column.default is None or column.default.upper() == "NULL"


def refuse_unstorable(handle: SQLiteHandle, old: TableState, new: TableState, copied: list[tuple[str, str]]) -> None:
    """STRICT tables: refuse values that the new column's type cannot hold (SQLite would stop the copy)."""
    if not new.strict:
        return
    old_types, origins = {fold(column.name): column.type for column in old.columns}, dict(copied)
    for column in new.columns:
        origin, storage = origins.get(column.name), STRICT_STORAGE.get(column.type.upper())
        if origin is None or storage is None or (old.strict and fold(old_types[fold(origin)]) == fold(column.type)):
            continue
        count = unstorable(handle, old.name, origin, column.type, storage)
        if count:
            what = f"{rows(count, old.name)} {origin} values that a STRICT {column.type} column cannot hold"
            raise refused(what, f"convert or clear them first (UPDATE {old.name} …), or choose another type")


def unstorable(handle: SQLiteHandle, table: str, column: str, declared: str, storage: str) -> int:
    """How many values a STRICT column of type ``declared`` refuses: those its affinity leaves of another type."""
    with undone(handle):
        handle.execute(f"CREATE TEMP TABLE kitgen_probe_values (value {declared})")
        source = f"SELECT {quote(column)} FROM {quote(table)} WHERE {quote(column)} IS NOT NULL"
        handle.execute(f"INSERT INTO temp.kitgen_probe_values {source}")
        row = handle.execute("SELECT count(*) FROM temp.kitgen_probe_values WHERE typeof(value) != ?", (storage,))
        return int(row.fetchone()[0])


def copy_rows(handle: SQLiteHandle, old: TableState, new: TableState, copied: list[tuple[str, str]]) -> None:
    """Every row, with its rowid; OR ABORT overrides ON CONFLICT REPLACE/IGNORE, which would drop rows."""
    targets, sources = [quote(name) for name, _ in copied], [quote(origin) for _, origin in copied]
    if not old.without_rowid and not new.without_rowid:
        targets, sources = [new.rowid_name(), *targets], [old.rowid_name(), *sources]
    if not targets:
        raise refused(f"cannot rebuild {old.name}: none of its columns would be kept")
    select = f"({', '.join(targets)}) SELECT {', '.join(sources)} FROM {quote(old.name)}"
    try:
        handle.execute(f"INSERT OR ABORT INTO {quote(new.name)} {select}")
    except StatementError as exc:
        raise misfit(handle, old, new, f"INSERT OR IGNORE INTO {quote(new.name)} {select}", exc) from exc
    expected, copied_rows = count(handle, old.name), count(handle, new.name)
    if copied_rows != expected:
        raise refused(f"{rows(expected - copied_rows, old.name)} not been copied")


def count(handle: SQLiteHandle, table: str) -> int:
    return int(handle.execute(f"SELECT count(*) FROM {quote(table)}").fetchone()[0])


def misfit(handle: SQLiteHandle, old: TableState, new: TableState, ignoring: str, error: StatementError) -> Exception:
    """The copy failed: say how many rows the new definition rejects (counted by INSERT OR IGNORE, undone)."""
    message = error.message.replace(f"{new.name}.", f"{old.name}.")
    try:
        with undone(handle):
            rejected = count(handle, old.name) - handle.execute(ignoring).rowcount
    except StatementError:  # not a conflict that IGNORE skips (a foreign key, a STRICT type)
        rejected = 0
    what = f"{rows(rejected, old.name)} values that break" if rejected > 0 else f"rows of {old.name} break"
    return refused(f"{what} the new definition: {message}", "fix or remove those rows first, or change the definition")
