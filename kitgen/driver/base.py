"""The one small interface between kitgen and a database engine."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from kitgen.migrations.base import Database

TRACKING_TABLE = "kitgen_migrations"
TRANSACTION_CONTROL_MESSAGE = (  # a user's BEGIN, COMMIT… inside the transaction kitgen runs a migration in
    "{keyword} is not allowed in a migration that runs in a transaction: kitgen begins and commits it"
)


@dataclass(frozen=True)
class AppliedMigration:
    """One row of the tracking table."""

    name: str
    batch: int
    checksum: str
    raw_hash: str
    source: str
    format: str
    transactional: bool
    model: str | None
    applied_at: str
    created: tuple[str, ...] = ()  # tables and views that did not exist before it ran
    checksum_scheme: str = "1"  # how ``checksum`` was computed ("1": before schemes were recorded)


class StatementError(Exception):
    """A statement failed; carries the statement and, when known, its line.

    ``needs_autocommit`` marks statements that cannot run inside a transaction (VACUUM,
    BEGIN/COMMIT…): the fix is to run the migration outside one. ``detail`` says more about what
    happened (the server's DETAIL); ``hint`` says what to do when the engine knows better than
    "fix the migration" (the server's HINT, or kitgen's own advice).
    """

    def __init__(
        self,
        statement: str,
        message: str,
        line: int | None = None,
        *,
        needs_autocommit: bool = False,
        hint: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.statement = statement
        self.message = message
        self.line = line
        self.needs_autocommit = needs_autocommit
        self.hint = hint
        self.detail = detail


class Driver(Protocol):
    """Connect, lock, run transactions, track migrations, drop everything."""

    display_name: str

    @property
    def exists(self) -> bool:
        """Whether the database exists (drivers create it on the first write)."""
        ...

    def close(self) -> None: ...

    def interrupt(self) -> None:
        """End the statement running now, from another thread (Ctrl-C while a long statement runs)."""
        ...

    def lock(
        self, command: str, on_wait: Callable[[str], None], timeout: float | None = None
    ) -> AbstractContextManager[None]:
        """Hold the exclusive migration lock for the block; report a holder while waiting.

        ``timeout`` overrides the driver's lock timeout (0: do not wait).
        """
        ...

    def transaction(self, *, foreign_keys: bool = True, checked: bool = False) -> AbstractContextManager[Database]:
        """Begin, yield a handle, commit; roll back if the block raises.

        ``foreign_keys=False`` suspends enforcement (no ON DELETE action fires) and checks, before
        committing, that the block left no reference to a missing row (else it rolls back);
        ``checked`` checks so with enforcement on too (deferred keys, keys left without a unique parent).
        """
        ...

    def autocommit(self) -> Database:
        """A handle that runs statements outside any transaction."""
        ...

    def reset_session(self) -> None:
        """Undo what a migration set on the connection (attached databases, temporary objects, settings)."""
        ...

    def tracing(self, record: Callable[[str], None]) -> AbstractContextManager[None]:
        """For the block, pass each statement run through a handle to ``record``, as the engine ran it."""
        ...

    def rehearsal(self) -> AbstractContextManager[Driver]:
        """A private copy of the database to try changes on; discarded after the block."""
        ...

    def applied_migrations(self) -> list[AppliedMigration]:
        """Tracking rows in the order they were applied (empty before the first migrate)."""
        ...

    def ensure_tracking_table(self) -> None: ...

    def relation_names(self, db: Database) -> frozenset[str]:
        """The names of every table and view, seen through ``db``."""
        ...

    def record_applied(self, db: Database, row: AppliedMigration) -> None: ...

    def forget_applied(self, db: Database, name: str) -> None: ...

    def update_applied(self, db: Database, name: str, row: AppliedMigration) -> None:
        """Make the tracking row of ``name`` describe ``row`` (name, checksum, source, format, options);
        its batch, time and created relations stay."""
        ...

    def drop_all(self) -> list[str]:
        """Drop every table, view, trigger and index; return what was dropped."""
        ...

    def read_schema(self) -> RawSchema:
        """Every table and view with columns, unique indexes and foreign keys (internal ones left out)."""
        ...

    def schema_fingerprint(self) -> str:
        """A hash that changes whenever anything ``read_schema`` reads does (cheaper than reading it)."""
        ...

    def dump_schema(self) -> str:
        """The schema as a script that builds it in an empty database, in one transaction through
        ``executescript``: every object kitgen manages, in an order they load in, the tracking table left
        out. Identical schemas give identical text (no dates, versions or random names)."""
        ...

    def drop_script(self) -> str:
        """The script that drops every object ``dump_schema`` creates, in the reverse order of their
        dependencies, as the down of a migration whose up is that dump: it runs with kitgen's defaults
        for a ``.sql`` down (in a transaction; on SQLite with foreign keys suspended). What the dump
        only ensures exists (PostgreSQL's schemas and extensions) stays, as with ``drop_all``."""
        ...


@dataclass(frozen=True)
class RawColumn:
    """A column as the database describes it (SQLite: ``pragma_table_xinfo``; PostgreSQL: ``pg_attribute``)."""

    table: str
    position: int
    name: str
    declared_type: str
    not_null: bool
    default: str | None
    primary_key: int
    generated: bool
    # PostgreSQL: what the catalog says of the column's type, domains resolved to their base type
    type_name: str = ""  # pg_type.typname of the base type: int4, timestamptz, _int4 (an array)…
    type_category: str = ""  # its pg_type.typcategory: "A" an array, "E" an enum…
    element_type: str = ""  # an array's element type (typname, domains resolved)
    element_category: str = ""  # its typcategory
    enum: str = ""  # the enum type of the column or of its elements, named as relations are
    base_type: str = ""  # the base type of a domain, as format_type() writes it ("" when not a domain)
    identity: str = ""  # "always" or "by default" for an identity column
    comment: str | None = None  # COMMENT ON COLUMN


@dataclass(frozen=True)
class RawForeignKey:
    table: str
    column: str
    target_table: str
    target_column: str | None
    on_update: str
    on_delete: str


@dataclass(frozen=True)
class RawSchema:
    """Everything introspection needs, read in a handful of queries."""

    relations: tuple[tuple[str, str], ...]  # (name, "table" | "view"), internal ones left out
    columns: tuple[RawColumn, ...]
    unique_indexes: tuple[tuple[str, tuple[str, ...]], ...]  # (table, columns) of full unique indexes
    foreign_keys: tuple[RawForeignKey, ...]
    indexed_keys: frozenset[str] = frozenset()  # tables whose primary key is not the rowid
    without_rowid: frozenset[str] = frozenset()
    sql: tuple[tuple[str, str], ...] = ()  # (relation, its CREATE statement as sqlite_master keeps it)
    engine: str = "sqlite"  # "sqlite" or "postgres": which rules decide the columns' kinds
    checks: tuple[tuple[str, str], ...] = ()  # (table, a CHECK expression as PostgreSQL prints it)
    comments: tuple[tuple[str, str], ...] = ()  # (relation, its COMMENT)
    variants: tuple[tuple[str, str], ...] = ()  # (relation, "partitioned" or "materialized")
    enums: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (enum type, its labels in order) the columns use
