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

from kitgen.driver import sqlite_alter_rows as table_rows
from kitgen.driver import sqlite_ddl as ddl
from kitgen.driver import sqlite_ddl_changes as changes
from kitgen.driver.base import StatementError
from kitgen.driver.sqlite_alter_rows import TableState, refused
from kitgen.driver.sqlite_checks import CHILDREN
from kitgen.driver.sqlite_ddl import CreateTable, Draft, fold, quote
from kitgen.errors import SchemaChangeRefused
from kitgen.migrations.base import UNCHANGED, Unchanged

if TYPE_CHECKING:
    from kitgen.driver.sqlite import SQLiteHandle

SAVEPOINT = "kitgen_alter_table"
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
        self.steps.append(Step(lambda draft: changes.add_column(draft, definition)))

    def drop_column(self, name: str) -> None:
        self.steps.append(Step(lambda draft: changes.drop_column(draft, name), dropped=name))

    def rename_column(self, old: str, new: str) -> None:
        self.steps.append(Step(lambda draft: changes.rename_column(draft, old, new), rename=(old, new)))

    def alter_column(
        self,
        name: str,
        *,
        type: str | None = None,
        nullable: bool | None = None,
        default: str | Unchanged | None = UNCHANGED,
    ) -> None:
        self.steps.append(Step(lambda draft: changes.alter_column(draft, name, type, nullable, default)))

    def add_constraint(self, definition: str) -> None:
        self.steps.append(Step(lambda draft: changes.add_constraint(draft, definition)))

    def drop_constraint(self, name: str) -> None:
        self.steps.append(Step(lambda draft: changes.drop_constraint(draft, name)))


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
    draft = Draft.of(table, table_rows.create_sql(handle, table))
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
            "move this alter_table() into a migration without foreign_keys = True",
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


def _explained(handle: SQLiteHandle, sql: str, what: str) -> None:
    """Run an ALTER TABLE … RENAME, after which SQLite re-checks every view and trigger that mentions
    the table: "error in view/trigger …" (one the change breaks, or one broken before) becomes a refusal."""
    try:
        handle.execute(sql)
    except StatementError as exc:
        if not exc.message.startswith("error in "):
            raise
        hint = "drop or change that view or trigger first"
        raise SchemaChangeRefused(f"{what}: SQLite reports {exc.message}", hint) from exc


# --- the table as SQLite describes it ----------------------------------------------------------------


def _old_names(old: TableState, original: CreateTable) -> dict[int, str]:
    """Element index of each column definition → the column's name as SQLite reports it."""
    positions = [index for index, element in enumerate(original.elements) if element.is_column]
    if len(positions) != len(old.columns):
        raise refused(f"cannot read the definition of {old.name}: {len(positions)} columns for {len(old.columns)}")
    return {position: column.name for position, column in zip(positions, old.columns, strict=True)}


# --- one rebuild ---------------------------------------------------------------------------------------


def _rebuild(handle: SQLiteHandle, table: str, steps: Sequence[Step]) -> None:
    old = table_rows.read_table(handle, table)
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
    new = table_rows.read_table(handle, temporary)
    copied = _copied_columns(old, names, draft, new)
    table_rows.refuse_nulls(handle, old, new, copied)
    table_rows.refuse_unstorable(handle, old, new, copied)
    table_rows.copy_rows(handle, old, new, copied)
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
        raise refused(f"the new definition of {table} does not work: {message}", "check the changes") from exc


def _copied_columns(old: TableState, names: dict[int, str], draft: Draft, new: TableState) -> list[tuple[str, str]]:
    """(new column, old column) for each column whose values are copied; generated ones never are."""
    elements = zip(draft.sources, draft.parsed.elements, strict=True)
    origins = [None if source is None else names[source] for source, element in elements if element.is_column]
    if len(origins) != len(new.columns):
        raise refused(f"cannot read the new definition of {old.name}: {draft.text!r}")
    pairs = zip(new.columns, origins, strict=True)
    return [(column.name, origin) for column, origin in pairs if origin is not None and not column.generated]


# --- refusals before the copy ----------------------------------------------------------------------------


def _refuse_used_column(
    handle: SQLiteHandle,
    old: TableState,
    original: CreateTable,
    names: dict[int, str],
    draft: Draft,
    name: str,
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
        raise refused(f"cannot drop {old.name}.{column}: {listed}", "drop or change what uses it first")


def _column_uses(handle: SQLiteHandle, old: TableState, column: str, considered: set[int]) -> list[str]:
    probe = _probe_name(old.sql)
    before = _schema(handle)
    with table_rows.undone(handle):
        rename = f"ALTER TABLE {quote(old.name)} RENAME COLUMN {quote(column)} TO {quote(probe)}"
        _explained(handle, rename, f"cannot drop {old.name}.{column}")
        after = _schema(handle)
    uses: list[str] = []
    for (kind, name), sql in after.items():
        if sql == before.get((kind, name)):
            continue
        if kind == "table" and name == old.name:
            uses += changes.uses_in_table(old.sql, sql, probe, considered)
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


# --- copy, swap, restore, verify ----------------------------------------------------------------------------


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
            raise refused(what, "drop or change it first") from exc


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
        raise refused(f"after the change, the integrity check of {table} fails: {problems[0]}")
    for view in views:
        try:
            handle.execute(f"SELECT * FROM {quote(view.name)} LIMIT 0")
        except StatementError as exc:
            what = f"after the change to {table}, view {view.name} fails: {exc.message}"
            raise refused(what, "drop or change it first") from exc
    # On a table rename SQLite re-checks every view and trigger that mentions the table (renaming a
    # column instead would break views of views that use it by name).
    rename = f"ALTER TABLE {quote(table)} RENAME TO {quote(_free_name(handle, f'kitgen_probe_{table}'))}"
    with table_rows.undone(handle):
        _explained(handle, rename, f"after the change to {table}")


def _check_foreign_keys(handle: SQLiteHandle, table: str, name: str) -> None:
    try:
        rows = handle.execute("SELECT * FROM pragma_foreign_key_check(?)", (name,)).fetchall()
    except StatementError as exc:  # "foreign key mismatch": the parent key is gone, or no longer unique
        what = f"after the change, the foreign keys of {name} no longer fit {table}: {exc.message}"
        raise refused(what, "keep the referenced columns and their PRIMARY KEY or UNIQUE constraint") from exc
    if rows:
        parents = ", ".join(sorted({row[2] for row in rows}))
        what = f"after the change, {table_rows.rows(len(rows), name)} a foreign key to a missing row of {parents}"
        raise refused(what, f"fix them first (PRAGMA foreign_key_check({name}) lists them; they may be older)")
