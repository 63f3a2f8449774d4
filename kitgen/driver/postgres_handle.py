"""The ``db`` object migrations receive on PostgreSQL: statements one at a time, errors explained.

Statements use psycopg's placeholders (``%s``, ``%(name)s``). A statement without parameters is
sent as written (a ``%`` in it is just a character). Each statement is reported to the trace as
it starts, with its parameters bound, so what a failed non-transactional migration ran can be named.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from kitgen.driver.base import StatementError
from kitgen.driver.postgres_errors import statement_error, transaction_control
from kitgen.driver.postgres_split import split_statements
from kitgen.migrations.base import Params, TableAlteration

if TYPE_CHECKING:
    import psycopg

Record = Callable[[str], None]
CONCURRENT_INDEX = re.compile(
    r"^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r"(?P<name>\"[^\"]+\"|[\w$]+(?:\.(?:\"[^\"]+\"|[\w$]+))?)",
    re.IGNORECASE,
)
ROLLBACK_TO = re.compile(r"^\s*ROLLBACK\s+(?:WORK\s+|TRANSACTION\s+)?TO\b", re.IGNORECASE)
ABORTED = (
    "an earlier statement of the migration failed and its error was caught, so PostgreSQL aborted the "
    "transaction; nothing the migration did is kept"
)


class Tracer:
    """Where the statements of the handles go while a migration is traced (``None``: nowhere)."""

    def __init__(self) -> None:
        self.record: Record | None = None

    def __call__(self, connection: psycopg.Connection[Any], sql: str, params: Params | None) -> None:
        if self.record is None:
            return
        if params:
            import psycopg

            sql = psycopg.ClientCursor(connection).mogrify(sql, params)
        self.record(sql)


class PostgresHandle:
    """Runs a migration's statements on one connection, inside kitgen's transaction or outside any."""

    def __init__(
        self,
        connection: psycopg.Connection[Any],
        tracer: Tracer,
        translate: Callable[[Exception], Exception],
        *,
        in_transaction: bool,
    ) -> None:
        self._connection = connection
        self._tracer = tracer
        self._translate = translate  # errors about the connection itself (the server went away)
        self._in_transaction = in_transaction

    @property
    def in_transaction(self) -> bool:
        """Whether the statements run inside kitgen's transaction for the migration."""
        return self._in_transaction

    def execute(self, sql: str, params: Params = ()) -> psycopg.Cursor[Any]:
        return self._run(sql, params, None)

    def look_up(self, sql: str, params: Params = ()) -> Any:
        """The first row of a catalog query of kitgen's own (not traced: the migration did not run it)."""
        return self._connection.execute(sql.encode(), params or None).fetchone()

    def executemany(self, sql: str, rows: Iterable[Params]) -> psycopg.Cursor[Any]:
        import psycopg

        self._refuse_transaction_control(sql)
        listed = list(rows)
        for row in listed:
            self._tracer(self._connection, sql, row)
        cursor = self._connection.cursor()
        try:
            cursor.executemany(sql, listed)
        except psycopg.Error as exc:
            raise self._failure(sql, exc, None) from exc
        return cursor

    def executescript(self, script: str, first_line: int | None = None) -> None:
        for line, statement in split_statements(script, first_line or 1):
            self._run(statement, (), line if first_line else None)

    def alter_table(self, table: str) -> AbstractContextManager[TableAlteration]:
        """The same changes as on SQLite, made with PostgreSQL's own ALTER TABLE (no rebuild is needed)."""
        from kitgen.driver.postgres_alter import alter_table

        return alter_table(self, table)

    def _run(self, sql: str, params: Params, line: int | None) -> psycopg.Cursor[Any]:
        import psycopg

        self._refuse_transaction_control(sql)
        self._tracer(self._connection, sql, params)
        cursor = self._connection.cursor()
        try:
            cursor.execute(sql.encode(), params or None)
        except psycopg.Error as exc:
            raise self._failure(sql, exc, line) from exc
        except BaseException as exc:  # a signal while it ran: the statement is cancelled, it did not complete
            exc.in_flight = True  # type: ignore[attr-defined]
            raise
        return cursor

    def _refuse_transaction_control(self, sql: str) -> None:
        from psycopg.pq import TransactionStatus

        aborted = self._connection.info.transaction_status == TransactionStatus.INERROR
        if self._in_transaction and aborted and not ROLLBACK_TO.match(sql):  # ROLLBACK TO a savepoint recovers
            raise StatementError(sql, ABORTED)
        message = transaction_control(sql) if self._in_transaction else None
        if message is not None:
            raise StatementError(sql, message, needs_autocommit=True)

    def _failure(self, sql: str, exc: Exception, line: int | None) -> Exception:
        import psycopg

        if isinstance(exc, psycopg.OperationalError) and self._connection.closed:
            return self._translate(exc)
        assert isinstance(exc, psycopg.Error)
        error = statement_error(sql, exc, line)
        from psycopg.pq import TransactionStatus

        if self._connection.info.transaction_status == TransactionStatus.IDLE:  # really outside a transaction
            self._note_invalid_index(sql, error)
        return error

    def _note_invalid_index(self, sql: str, error: StatementError) -> None:
        """A failed CREATE INDEX CONCURRENTLY leaves its index behind, INVALID: say so, and how to drop it."""
        match = CONCURRENT_INDEX.match(sql)
        if match is None:
            return
        name = match["name"]
        found = self.look_up(
            "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE NOT i.indisvalid AND c.oid = to_regclass(%s)",
            (name,),
        )
        if found:
            error.message += (
                f" (PostgreSQL left the index {name} behind, INVALID: DROP INDEX CONCURRENTLY {name} "
                "before running the migration again)"
            )
