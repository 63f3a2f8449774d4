"""``db.alter_table()`` on SQLite: the table changes ALTER TABLE cannot make, made by rebuilding the table.

SQLite's documented procedure (https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of
Table Schema Changes"), inside one SAVEPOINT: create the new table from the edited CREATE TABLE text
(``sqlite_ddl``), copy every row with its rowid, drop the triggers and views that mention the table,
drop it, rename the new table, recreate its indexes, those triggers and views in their original order,
restore the AUTOINCREMENT counter, check foreign keys and integrity. Column renames are SQLite's own
RENAME COLUMN. A refusal or any failure rolls back to the savepoint: all or nothing.

Every statement goes through the migration's handle, so errors read like the migration's own and a
trace sees them all. Foreign keys: inside a migration's transaction enforcement is normally suspended
(if it is on, the DROP would run ON DELETE actions: refused when anything references the table);
outside a transaction it is switched off here and restored afterwards.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kitgen.driver import sqlite_ddl as ddl
from kitgen.driver.base import StatementError
from kitgen.driver.sqlite_checks import CHILDREN
from kitgen.driver.sqlite_ddl import CreateTable, Draft, fold, quote
from kitgen.errors import SchemaChangeRefused
from kitgen.migrations.base import UNCHANGED, Unchanged

if TYPE_CHECKING:
    from kitgen.driver.sqlite import SQLiteHandle

SAVEPOINT, PROBE = "kitgen_alter_table", "kitgen_probe"
ROWID_NAMES = ("rowid", "_rowid_", "oid")
STRICT_STORAGE = {"INT": "integer", "INTEGER": "integer", "REAL": "real", "TEXT": "text", "BLOB": "blob"}
UNDONE = "nothing was changed"
MINIMUM_SQLITE = (3, 37, 0)  # pragma_table_list, which tells STRICT and WITHOUT ROWID tables


@dataclass(frozen=True)
class Step:
    """One recorded change: its edit of the CREATE TABLE text, and whether it is a native rename or a drop."""

    edit: Callable[[Draft], Draft]
    rename: tuple[str, str] | None = None
    dropped: str | None = None  # the column a drop_column removes: checked for uses first


class RecordedAlteration:
    """What ``with db.alter_table(name) as table:`` yields: records the changes, in order."""

    def __init__(self) -> None:
        self.steps: list[Step] = []

    def add_column(self, definition: str) -> None:
        self.steps.append(Step(lambda draft: ddl.add_column(draft, definition)))

    def drop_column(self, name: str) -> None:
        self.steps.append(Step(lambda draft: ddl.drop_column(draft, name), dropped=name))

    def rename_column(self, old: str, new: str) -> None:
        self.steps.append(Step(lambda draft: ddl.rename_column(draft, old, new), rename=(old, new)))

    def alter_column(
        self,
        name: str,
        *,
        type: str | None = None,
        nullable: bool | None = None,
        default: str | Unchanged | None = UNCHANGED,
    ) -> None:
        self.steps.append(Step(lambda draft: ddl.alter_column(draft, name, type, nullable, default)))

    def add_constraint(self, definition: str) -> None:
        self.steps.append(Step(lambda draft: ddl.add_constraint(draft, definition)))

    def drop_constraint(self, name: str) -> None:
        self.steps.append(Step(lambda draft: ddl.drop_constraint(draft, name)))


@contextmanager
def alter_table(handle: SQLiteHandle, connection: sqlite3.Connection, table: str) -> Iterator[RecordedAlteration]:
    """Record the block's changes to ``table``; make them when it ends without an exception."""
    name = _ordinary_table(handle, table)
    recorded = RecordedAlteration()
    yield recorded
    if recorded.steps:
        carry_out(handle, connection, name, recorded.steps)


def _ordinary_table(handle: SQLiteHandle, table: str) -> str:
    """The table's name as stored; refused for anything but an ordinary table."""
    if sqlite3.sqlite_version_info < MINIMUM_SQLITE:
        raise SchemaChangeRefused(f"db.alter_table() needs SQLite 3.37 or later, not {sqlite3.sqlite_version}")
    query = "SELECT name, type FROM pragma_table_list WHERE schema = 'main' AND name = ? COLLATE NOCASE"
    row = handle.execute(query, (table,)).fetchone()
    if row is None:
        raise SchemaChangeRefused(f"there is no table {table}", "check the name; create new tables with CREATE TABLE")
    if row[1] != "table" or fold(row[0]).startswith("sqlite_"):
        kind = {"table": "SQLite's own table", "view": "a view"}.get(row[1], f"a {row[1]} table")
        raise SchemaChangeRefused(f"{row[0]} is {kind}, not a table of yours", "db.alter_table() changes tables")
    return str(row[0])


def carry_out(handle: SQLiteHandle, connection: sqlite3.Connection, table: str, steps: Sequence[Step]) -> None:
    """Make the changes in order, inside one savepoint; names are checked on the text before anything runs."""
    draft = Draft.of(table, _create_sql(handle, table))
    for step in steps:
        draft = step.edit(draft)
    with _settings(handle, connection, table), _savepoint(handle, connection):
        for group in _groups(steps):
            if group[0].rename is not None:
                old, new = map(quote, group[0].rename)
                _explained(handle, f"ALTER TABLE {quote(table)} RENAME COLUMN {old} TO {new}", f"cannot change {table}")
            else:
                _rebuild(handle, table, group)


def _groups(steps: Sequence[Step]) -> list[list[Step]]:
    """Runs of text edits (one rebuild each), and each rename on its own."""
    groups: list[list[Step]] = []
    for step in steps:
        if step.rename is None and groups and groups[-1][0].rename is None:
            groups[-1].append(step)
        else:
            groups.append([step])
    return groups


@contextmanager
def _settings(handle: SQLiteHandle, connection: sqlite3.Connection, table: str) -> Iterator[None]:
    """Foreign keys off (outside a transaction; inside, refuse if they are on and matter), modern renames."""
    if connection.in_transaction:
        _refuse_enforced_references(handle, table)
        with _pragma(handle, "legacy_alter_table", 0):
            yield
        return
    with _pragma(handle, "foreign_keys", 0), _pragma(handle, "legacy_alter_table", 0):
        yield


@contextmanager
def _pragma(handle: SQLiteHandle, name: str, value: int) -> Iterator[None]:
    before = handle.execute(f"PRAGMA {name}").fetchone()[0]
    if before != value:
        handle.execute(f"PRAGMA {name} = {value}")
    try:
        yield
    finally:
        if before != value:
            handle.execute(f"PRAGMA {name} = {before}")


def _refuse_enforced_references(handle: SQLiteHandle, table: str) -> None:
    children = [row[0] for row in handle.execute(CHILDREN, (table,))]
    if children and handle.execute("PRAGMA foreign_keys").fetchone()[0]:
        listed = f"table {children[0]} references" if len(children) == 1 else f"tables {', '.join(children)} reference"
        raise SchemaChangeRefused(
            f"cannot rebuild {table} while foreign keys are enforced: {listed} it, and dropping the old {table} "
            "would run their ON DELETE actions",
            f"move this alter_table() into a migration without foreign_keys = True; {UNDONE}",
        )


@contextmanager
def _savepoint(handle: SQLiteHandle, connection: sqlite3.Connection) -> Iterator[None]:
    """All or nothing. Outside a transaction the savepoint is the transaction: undone by ROLLBACK, which
    (unlike committing an empty one) leaves every byte of the file, change counter included, as it was."""
    outermost = not connection.in_transaction
    handle.execute(f"SAVEPOINT {SAVEPOINT}")
    try:
        yield
        handle.execute(f"RELEASE {SAVEPOINT}")  # outside a transaction, this commits
    except BaseException:
        if connection.in_transaction:  # SQLite ends the transaction itself after a few errors
            handle.execute(f"ROLLBACK TO {SAVEPOINT}")
            handle.execute("ROLLBACK" if outermost else f"RELEASE {SAVEPOINT}")
        raise


@contextmanager
def _undone(handle: SQLiteHandle) -> Iterator[None]:
    """A nested savepoint, always rolled back: for questions asked by changing the schema."""
    handle.execute(f"SAVEPOINT {PROBE}")
    try:
        yield
    finally:
        handle.execute(f"ROLLBACK TO {PROBE}")
        handle.execute(f"RELEASE {PROBE}")


def _explained(handle: SQLiteHandle, sql: str, what: str) -> None:
    """Run an ALTER TABLE … RENAME, after which SQLite re-checks every view and trigger that mentions
    the table: "error in view/trigger …" (one the change breaks, or one broken before) becomes a refusal."""
    try:
        handle.execute(sql)
    except StatementError as exc:
        if not exc.message.startswith("error in "):
            raise
        hint = f"drop or change that view or trigger first; {UNDONE}"
        raise SchemaChangeRefused(f"{what}: SQLite reports {exc.message}", hint) from exc


def _refused(what: str, hint: str = "") -> SchemaChangeRefused:
    return SchemaChangeRefused(what, f"{hint}; {UNDONE}" if hint else UNDONE)


def _rows(count: int, table: str) -> str:
    return f"1 row of {table} has" if count == 1 else f"{count} rows of {table} have"


# --- the table as SQLite describes it ----------------------------------------------------------------


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
        raise _refused(f"cannot keep the rowids of {self.name}: its columns rowid, _rowid_ and oid hide them")


def _create_sql(handle: SQLiteHandle, table: str) -> str:
    row = handle.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
    return str(row[0])


def _read_table(handle: SQLiteHandle, name: str) -> TableState:
    query = 'SELECT name, type, "notnull", dflt_value, pk, hidden FROM pragma_table_xinfo(?)'
    rows = handle.execute(query, (name,))
    columns = tuple(Column(row[0], row[1], bool(row[2]), row[3], bool(row[4]), row[5] in (2, 3)) for row in rows)
    flags = handle.execute("SELECT wr, strict FROM pragma_table_list(?) WHERE schema = 'main'", (name,)).fetchone()
    return TableState(name, _create_sql(handle, name), columns, bool(flags[0]), bool(flags[1]))


def _old_names(old: TableState, original: CreateTable) -> dict[int, str]:
    """Element index of each column definition → the column's name as SQLite reports it."""
    positions = [index for index, element in enumerate(original.elements) if element.is_column]
    if len(positions) != len(old.columns):
        raise _refused(f"cannot read the definition of {old.name}: {len(positions)} columns for {len(old.columns)}")
    return {position: column.name for position, column in zip(positions, old.columns, strict=True)}


# --- one rebuild ---------------------------------------------------------------------------------------


def _rebuild(handle: SQLiteHandle, table: str, steps: Sequence[Step]) -> None:
    old = _read_table(handle, table)
    original = ddl.parse_create_table(old.sql)
    names = _old_names(old, original)
    draft = Draft.of(table, old.sql)
    for step in steps:
        if step.dropped is not None:
            _refuse_used_column(handle, old, original, names, draft, step.dropped)
        draft = step.edit(draft)
    temporary = _free_name(handle, f"kitgen_new_{table}")
    dependents = _dependents(handle, table)
    sequence = _sequence(handle, table)
    _create(handle, table, temporary, draft)
    new = _read_table(handle, temporary)
    copied = _copied_columns(old, names, draft, new)
    _refuse_nulls(handle, old, new, copied)
    _refuse_unstorable(handle, old, new, copied)
    _copy_rows(handle, old, new, copied)
    _swap(handle, table, temporary, dependents)
    if sequence is not None and draft.has_autoincrement():
        _restore_sequence(handle, table, sequence)
    _verify(handle, table, [entry for entry in dependents if entry.kind == "view"])


def _free_name(handle: SQLiteHandle, base: str) -> str:
    taken = {fold(row[0]) for row in handle.execute("SELECT name FROM sqlite_master")}
    candidates = (base if number == 1 else f"{base}_{number}" for number in range(1, len(taken) + 2))
    return next(name for name in candidates if fold(name) not in taken)


def _probe_name(sql: str) -> str:
    """A column name that appears nowhere in ``sql``: wherever it shows up after a rename, SQLite put it."""
    return next(name for number in range(1, 1000) if (name := f"kitgen_probe_{number}") not in fold(sql))


@dataclass(frozen=True)
class Entry:
    """An index, trigger or view to drop before the rebuild and recreate after it."""

    kind: str
    name: str
    sql: str


def _dependents(handle: SQLiteHandle, table: str) -> list[Entry]:
    """The table's indexes, and the triggers and views that mention it or such a view, in schema order.

    A name, string or keyword equal to the table's is enough: recreating one too many changes nothing,
    while one left in place would stop the rename (SQLite checks every view and trigger then).
    """
    query = "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('index', 'trigger', 'view')"
    rows = handle.execute(query + " AND sql IS NOT NULL ORDER BY rowid").fetchall()
    # an index names the table it is on (views have none); a trigger or view, whatever its text names
    said = [frozenset({fold(owner)}) if kind == "index" else ddl.words(sql) for kind, _, owner, sql in rows]
    names, chosen = {fold(table)}, set[int]()
    while True:
        found = {
            index
            for index, words in enumerate(said)
            if index not in chosen and (words is None or bool(words & names))  # None: unreadable, recreated
        }
        if not found:
            return [Entry(rows[index][0], rows[index][1], rows[index][3]) for index in sorted(chosen)]
        chosen |= found
        names |= {fold(rows[index][1]) for index in found if rows[index][0] == "view"}


def _sequence(handle: SQLiteHandle, table: str) -> int | None:
    if not handle.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
        return None
    row = handle.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    return None if row is None else int(row[0])


def _create(handle: SQLiteHandle, table: str, temporary: str, draft: Draft) -> None:
    try:
        handle.execute(draft.with_table_name(temporary))
    except StatementError as exc:
        message = exc.message.replace(temporary, table)
        raise _refused(f"the new definition of {table} does not work: {message}", "check the changes") from exc


def _copied_columns(old: TableState, names: dict[int, str], draft: Draft, new: TableState) -> list[tuple[str, str]]:
    """(new column, old column) for each column whose values are copied; generated ones never are."""
    elements = zip(draft.sources, draft.parsed.elements, strict=True)
    origins = [None if source is None else names[source] for source, element in elements if element.is_column]
    if len(origins) != len(new.columns):
        raise _refused(f"cannot read the new definition of {old.name}: {draft.text!r}")
    pairs = zip(new.columns, origins, strict=True)
    return [(column.name, origin) for column, origin in pairs if origin is not None and not column.generated]


# --- refusals before the copy ----------------------------------------------------------------------------


def _refuse_used_column(
    handle: SQLiteHandle, old: TableState, original: CreateTable, names: dict[int, str], draft: Draft, name: str
) -> None:
    """Refuse to drop a column that an index, view, trigger, constraint or foreign key still uses.

    SQLite's own RENAME COLUMN, run and undone in a nested savepoint, tells: every schema entry whose
    text it rewrites uses the column. Parts of the table's definition that this change already edited
    are left to SQLite, which refuses a CREATE TABLE that names a missing column.
    """
    source = draft.sources[draft.column_index(name)]
    if source is None:
        return  # added by this change: nothing in the database can use it yet
    column, considered = names[source], draft.unchanged_sources(original) - {source}
    uses = _column_uses(handle, old, column, considered) + _implicit_references(handle, old, column)
    if uses:
        listed = ", ".join(f"{use} uses it" for use in uses)
        raise _refused(f"cannot drop {old.name}.{column}: {listed}", "drop or change what uses it first")


def _column_uses(handle: SQLiteHandle, old: TableState, column: str, considered: set[int]) -> list[str]:
    probe = _probe_name(old.sql)
    before = _schema(handle)
    with _undone(handle):
        rename = f"ALTER TABLE {quote(old.name)} RENAME COLUMN {quote(column)} TO {quote(probe)}"
        _explained(handle, rename, f"cannot drop {old.name}.{column}")
        after = _schema(handle)
    uses: list[str] = []
    for (kind, name), sql in after.items():
        if sql == before.get((kind, name)):
            continue
        if kind == "table" and name == old.name:
            uses += ddl.uses_in_table(old.sql, sql, probe, considered)
        else:
            uses.append(f"the foreign key of table {name}" if kind == "table" else f"{kind} {name}")
    return uses


def _schema(handle: SQLiteHandle) -> dict[tuple[str, str], str]:
    rows = handle.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid")
    return {(row[0], row[1]): row[2] for row in rows}


def _implicit_references(handle: SQLiteHandle, old: TableState, column: str) -> list[str]:
    """Foreign keys written ``REFERENCES table`` (no columns) use the columns of its primary key."""
    if not any(item.primary_key and fold(item.name) == fold(column) for item in old.columns):
        return []
    rows = handle.execute(CHILDREN + ' AND f."to" IS NULL', (old.name,)).fetchall()
    return [f"the foreign key of table {row[0]} (to the primary key)" for row in rows]


def _refuse_nulls(handle: SQLiteHandle, old: TableState, new: TableState, copied: list[tuple[str, str]]) -> None:
    """NOT NULL columns: refuse when rows hold NULL there, or would (a new column without a default)."""
    origins = dict(copied)
    checked = [
        (column.name, origins.get(column.name))
        for column in new.columns
        if column.notnull and not column.generated and (column.name in origins or _no_default(column))
    ]
    if not checked:
        return
    counts = [f"count(*) FILTER (WHERE {quote(origin)} IS NULL)" if origin else "count(*)" for _, origin in checked]
    found = handle.execute(f"SELECT {', '.join(counts)} FROM {quote(old.name)}").fetchone()
    for (name, origin), count in zip(checked, found, strict=True):
        if count and origin is not None:
            fill = f"fill them first (UPDATE {old.name} SET {name} = … WHERE {name} IS NULL), or keep it nullable"
            raise _refused(f"{_rows(count, old.name)} {name} NULL", fill)
        if count:
            fill = "give it a DEFAULT, or add it nullable, fill it, then make it NOT NULL"
            raise _refused(f"{_rows(count, old.name)} no value for the new NOT NULL column {name}", fill)


def _no_default(column: Column) -> bool:
    return column.default is None or column.default.upper() == "NULL"


def _refuse_unstorable(handle: SQLiteHandle, old: TableState, new: TableState, copied: list[tuple[str, str]]) -> None:
    """STRICT tables: refuse values that the new column's type cannot hold (SQLite would stop the copy)."""
    if not new.strict:
        return
    old_types, origins = {fold(column.name): column.type for column in old.columns}, dict(copied)
    for column in new.columns:
        origin, storage = origins.get(column.name), STRICT_STORAGE.get(column.type.upper())
        if origin is None or storage is None or (old.strict and fold(old_types[fold(origin)]) == fold(column.type)):
            continue
        count = _unstorable(handle, old.name, origin, column.type, storage)
        if count:
            what = f"{_rows(count, old.name)} {origin} values that a STRICT {column.type} column cannot hold"
            raise _refused(what, f"convert or clear them first (UPDATE {old.name} …), or choose another type")


def _unstorable(handle: SQLiteHandle, table: str, column: str, declared: str, storage: str) -> int:
    """How many values a STRICT column of type ``declared`` refuses: those its affinity leaves of another type."""
    with _undone(handle):
        handle.execute(f"CREATE TEMP TABLE kitgen_probe_values (value {declared})")
        source = f"SELECT {quote(column)} FROM {quote(table)} WHERE {quote(column)} IS NOT NULL"
        handle.execute(f"INSERT INTO temp.kitgen_probe_values {source}")
        row = handle.execute("SELECT count(*) FROM temp.kitgen_probe_values WHERE typeof(value) != ?", (storage,))
        return int(row.fetchone()[0])


# --- copy, swap, restore, verify ----------------------------------------------------------------------------


def _copy_rows(handle: SQLiteHandle, old: TableState, new: TableState, copied: list[tuple[str, str]]) -> None:
    """Every row, with its rowid; OR ABORT overrides ON CONFLICT REPLACE/IGNORE, which would drop rows."""
    targets, sources = [quote(name) for name, _ in copied], [quote(origin) for _, origin in copied]
    if not old.without_rowid and not new.without_rowid:
        targets, sources = [new.rowid_name(), *targets], [old.rowid_name(), *sources]
    if not targets:
        raise _refused(f"cannot rebuild {old.name}: none of its columns would be kept")
    select = f"({', '.join(targets)}) SELECT {', '.join(sources)} FROM {quote(old.name)}"
    try:
        handle.execute(f"INSERT OR ABORT INTO {quote(new.name)} {select}")
    except StatementError as exc:
        raise _misfit(handle, old, new, f"INSERT OR IGNORE INTO {quote(new.name)} {select}", exc) from exc
    expected, copied_rows = _count(handle, old.name), _count(handle, new.name)
    if copied_rows != expected:
        raise _refused(f"{_rows(expected - copied_rows, old.name)} not been copied")


def _count(handle: SQLiteHandle, table: str) -> int:
    return int(handle.execute(f"SELECT count(*) FROM {quote(table)}").fetchone()[0])


def _misfit(handle: SQLiteHandle, old: TableState, new: TableState, ignoring: str, error: StatementError) -> Exception:
    """The copy failed: say how many rows the new definition rejects (counted by INSERT OR IGNORE, undone)."""
    message = error.message.replace(f"{new.name}.", f"{old.name}.")
    try:
        with _undone(handle):
            rejected = _count(handle, old.name) - handle.execute(ignoring).rowcount
    except StatementError:  # not a conflict that IGNORE skips (a foreign key, a STRICT type)
        rejected = 0
    what = f"{_rows(rejected, old.name)} values that break" if rejected > 0 else f"rows of {old.name} break"
    return _refused(f"{what} the new definition: {message}", "fix or remove those rows first, or change the definition")


def _swap(handle: SQLiteHandle, table: str, temporary: str, dependents: Sequence[Entry]) -> None:
    for entry in reversed(dependents):
        if entry.kind != "index":
            handle.execute(f"DROP {entry.kind.upper()} IF EXISTS {quote(entry.name)}")
    handle.execute(f"DROP TABLE {quote(table)}")
    _explained(handle, f"ALTER TABLE {quote(temporary)} RENAME TO {quote(table)}", f"cannot change {table}")
    for entry in dependents:
        try:
            handle.execute(entry.sql)
        except StatementError as exc:
            what = f"after the change to {table}, {entry.kind} {entry.name} cannot be recreated: {exc.message}"
            raise _refused(what, "drop or change it first") from exc


def _restore_sequence(handle: SQLiteHandle, table: str, sequence: int) -> None:
    """The AUTOINCREMENT counter as it was: above the largest id when the last rows were deleted."""
    if handle.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (sequence, table)).rowcount == 0:
        handle.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, sequence))


def _verify(handle: SQLiteHandle, table: str, views: Sequence[Entry]) -> None:
    """Foreign keys of the table and of its children, its integrity, every view and trigger resolving."""
    children = [row[0] for row in handle.execute(CHILDREN, (table,))]
    for name in dict.fromkeys([table, *children]):
        _check_foreign_keys(handle, table, name)
    problems = [row[0] for row in handle.execute("SELECT * FROM pragma_integrity_check(?)", (table,))]
    if problems != ["ok"]:
        raise _refused(f"after the change, the integrity check of {table} fails: {problems[0]}")
    for view in views:
        try:
            handle.execute(f"SELECT * FROM {quote(view.name)} LIMIT 0")
        except StatementError as exc:
            what = f"after the change to {table}, view {view.name} fails: {exc.message}"
            raise _refused(what, "drop or change it first") from exc
    state = _read_table(handle, table)
    rename = f"ALTER TABLE {quote(table)} RENAME COLUMN {quote(state.columns[0].name)} TO {_probe_name(state.sql)}"
    with _undone(handle):  # on a rename SQLite re-checks every view and trigger that mentions the table
        _explained(handle, rename, f"after the change to {table}")


def _check_foreign_keys(handle: SQLiteHandle, table: str, name: str) -> None:
    try:
        rows = handle.execute("SELECT * FROM pragma_foreign_key_check(?)", (name,)).fetchall()
    except StatementError as exc:  # "foreign key mismatch": the parent key is gone, or no longer unique
        what = f"after the change, the foreign keys of {name} no longer fit {table}: {exc.message}"
        raise _refused(what, "keep the referenced columns and their PRIMARY KEY or UNIQUE constraint") from exc
    if rows:
        parents = ", ".join(sorted({row[2] for row in rows}))
        what = f"after the change, {_rows(len(rows), name)} a foreign key to a missing row of {parents}"
        raise _refused(what, f"fix them first (PRAGMA foreign_key_check({name}) lists them; they may be older)")
