"""``db.alter_table()`` on PostgreSQL: the recorded changes as ALTER TABLE statements.

PostgreSQL changes a table in place, so a migration written with ``db.alter_table()`` runs on
both engines. The changes are made in the order given, inside one savepoint: all or nothing,
also in a migration that runs without a transaction. A type change converts the values with
the column's ``USING`` cast to the new type, as ``ALTER COLUMN … TYPE`` does by default.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from kitgen.errors import SchemaChangeRefused
from kitgen.migrations.base import UNCHANGED, Unchanged

if TYPE_CHECKING:
    from kitgen.driver.postgres_handle import PostgresHandle


class PostgresAlteration:
    """The changes of one ``with db.alter_table(name) as table:`` block, as ALTER TABLE actions."""

    def __init__(self) -> None:
        self.actions: list[str] = []

    def add_column(self, definition: str) -> None:
        self.actions.append(f"ADD COLUMN {definition}")

    def drop_column(self, name: str) -> None:
        self.actions.append(f"DROP COLUMN {quote(name)}")

    def rename_column(self, old: str, new: str) -> None:
        self.actions.append(f"RENAME COLUMN {quote(old)} TO {quote(new)}")

    def alter_column(
        self,
        name: str,
        *,
        type: str | None = None,
        nullable: bool | None = None,
        default: str | Unchanged | None = UNCHANGED,
    ) -> None:
        column = f"ALTER COLUMN {quote(name)}"
        if type is not None:
            self.actions.append(f"{column} TYPE {type} USING {quote(name)}::{type}")
        if nullable is not None:
            self.actions.append(f"{column} {'DROP' if nullable else 'SET'} NOT NULL")
        if default is None:
            self.actions.append(f"{column} DROP DEFAULT")
        elif not isinstance(default, Unchanged):
            self.actions.append(f"{column} SET DEFAULT {default}")

    def add_constraint(self, definition: str) -> None:
        self.actions.append(f"ADD {definition}")

    def drop_constraint(self, name: str) -> None:
        self.actions.append(f"DROP CONSTRAINT {quote(name)}")


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def qualified(table: str) -> str:
    """``schema.table`` or ``table``, each part quoted."""
    return ".".join(quote(part) for part in table.split(".", 1))


@contextmanager
def alter_table(handle: PostgresHandle, table: str) -> Iterator[PostgresAlteration]:
    """Record the block's changes to ``table``; make them when it ends without an exception."""
    found = handle.look_up("SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass(%s)", (qualified(table),))
    if found is None:
        raise SchemaChangeRefused(f"there is no table {table}", "check the name; create new tables with CREATE TABLE")
    if found[0] not in ("r", "p"):
        raise SchemaChangeRefused(f"{table} is not a table", "db.alter_table() changes tables")
    recorded = PostgresAlteration()
    yield recorded
    if not recorded.actions:
        return
    begin, commit, undo = (
        (
            "SAVEPOINT kitgen_alter_table",
            "RELEASE SAVEPOINT kitgen_alter_table",
            "ROLLBACK TO SAVEPOINT kitgen_alter_table",
        )
        if handle.in_transaction
        else ("BEGIN", "COMMIT", "ROLLBACK")
    )
    handle.execute(begin)
    try:
        for action in recorded.actions:  # one statement each: a rename cannot share an ALTER TABLE
            handle.execute(f"ALTER TABLE {qualified(table)} {action}")
    except BaseException:
        handle.execute(undo)
        raise
    handle.execute(commit)
