"""The public base class of Python migrations and the handle they receive."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar, Final, Protocol

Params = Sequence[Any] | Mapping[str, Any]


class Cursor(Protocol):
    """What ``Database.execute`` returns: enough to read rows back."""

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Database(Protocol):
    """kitgen's handle on the connection, given to ``up`` and ``down``.

    Every call stays inside the migration's transaction (unless the migration sets
    ``transaction = False``).
    """

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        """Run one statement with optional parameters."""
        ...

    def executemany(self, sql: str, rows: Iterable[Params]) -> Cursor:
        """Run one statement once per row of parameters."""
        ...

    def executescript(self, script: str, first_line: int | None = None) -> None:
        """Run several ``;``-separated statements, inside the transaction.

        ``first_line`` is the line of the script's start in its file, for error messages.
        """
        ...

    def alter_table(self, table: str) -> AbstractContextManager[TableAlteration]:
        """Change a table in the ways SQLite's ALTER TABLE cannot, by rebuilding it.

        The block records the changes (see ``TableAlteration``); when it ends without an exception
        they are made in the order given, all or nothing::

            with db.alter_table("users") as table:
                table.drop_column("legacy")
                table.alter_column("age", type="INTEGER", nullable=False)

        Rows, rowids, indexes, triggers, views, constraints and the AUTOINCREMENT counter are
        kept. A change that cannot work (a column something still uses, rows that would break a
        new constraint…) raises ``kitgen.errors.SchemaChangeRefused`` and changes nothing.
        """
        ...


class Unchanged(enum.Enum):
    """The type of ``UNCHANGED``."""

    UNCHANGED = "unchanged"


UNCHANGED: Final = Unchanged.UNCHANGED  # alter_column(default=...) not given: the default stays


class TableAlteration(Protocol):
    """The changes to one table, recorded in a ``with db.alter_table(name) as table:`` block."""

    def add_column(self, definition: str) -> None:
        """Add a column after the last one: ``"score INTEGER NOT NULL DEFAULT 0 CHECK (score >= 0)"``.

        Anything SQLite accepts in CREATE TABLE works (NOT NULL without a default on an empty table,
        UNIQUE, STORED generated columns, expressions as defaults).
        """
        ...

    def drop_column(self, name: str) -> None:
        """Drop a column; refused while an index, view, trigger, constraint or foreign key uses it."""
        ...

    def rename_column(self, old: str, new: str) -> None:
        """Rename a column with SQLite's own ALTER TABLE RENAME COLUMN.

        SQLite rewrites the name in the table's constraints, its indexes and triggers, the views
        that use it and the foreign keys of other tables.
        """
        ...

    def alter_column(
        self,
        name: str,
        *,
        type: str | None = None,
        nullable: bool | None = None,
        default: str | Unchanged | None = UNCHANGED,
    ) -> None:
        """Change a column's type, NOT NULL or default; what is not given stays as it is.

        ``type="INTEGER"`` replaces the declared type (values are converted by its affinity, as an
        INSERT would); ``nullable=False`` adds NOT NULL (refused while rows hold NULL),
        ``nullable=True`` removes it; ``default="0"`` sets the default (an SQL literal, or an
        expression), ``default=None`` removes it.
        """
        ...

    def add_constraint(self, definition: str) -> None:
        """Add a table constraint: ``"CONSTRAINT email_unique UNIQUE (email)"``, ``"CHECK (age >= 0)"``.

        Refused, naming how many, when existing rows would break it.
        """
        ...

    def drop_constraint(self, name: str) -> None:
        """Drop the constraint named ``name`` (``CONSTRAINT name …``, at table or column level)."""
        ...


class Migration:
    """Subclass once per migration file and implement ``up`` and ``down``.

    ``model`` names the entity class of the table the migration creates;
    ``transaction = False`` runs it outside a transaction (for VACUUM and the like);
    ``foreign_keys = True`` keeps foreign keys enforced while it runs, so that ON DELETE
    actions fire (by default they are suspended, and checked before the commit).
    """

    model: ClassVar[str | None] = None
    transaction: ClassVar[bool] = True
    foreign_keys: ClassVar[bool] = False

    def up(self, db: Database) -> None:
        """Apply the change."""
        raise NotImplementedError

    def down(self, db: Database) -> None:
        """Undo what ``up`` did."""
        raise NotImplementedError
