"""Databases kitgen throws away: the rehearsal of ``--pretend`` and the replay of ``check``.

``--pretend`` runs the migrations on the real database inside one transaction that is rolled
back at the end: kitgen's transactions become savepoints. A statement PostgreSQL refuses inside a
transaction (``CREATE INDEX CONCURRENTLY``…) is rehearsed without ``CONCURRENTLY`` when it is an
index statement (same result, other locks), and otherwise (``VACUUM``…) reported but not run:
it changes no schema. ``check`` and ``migrate:resolve`` replay into a scratch database: the
configured ``shadow_database`` (emptied first), or a temporary database created on the same
server and always dropped.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from kitgen.driver.base import StatementError
from kitgen.driver.postgres import PostgresDriver
from kitgen.driver.postgres_handle import PostgresHandle
from kitgen.driver.postgres_split import split_statements
from kitgen.driver.url import ServerUrl
from kitgen.errors import ConfigError, DatabaseError
from kitgen.migrations.base import Database, Params

if TYPE_CHECKING:
    import psycopg


class RehearsalHandle(PostgresHandle):
    """Outside kitgen's transaction, each statement runs in a savepoint of the rehearsal's transaction:
    one refused inside a transaction is rehearsed as described above, and the migration's own
    BEGIN / COMMIT / ROLLBACK become a savepoint, its release and a rollback to it (a COMMIT must never
    end the rehearsal's transaction)."""

    user_transaction = False  # a BEGIN of the migration's is open (as a savepoint)

    def _run(self, sql: str, params: Params, line: int | None) -> psycopg.Cursor[Any]:
        if self._in_transaction:
            return super()._run(sql, params, line)
        pieces = [] if params else split_statements(sql)
        if len(pieces) > 1:  # one string of several statements: each is looked at (a COMMIT among them)
            cursor = self._connection.cursor()
            for _, piece in pieces:
                cursor = self._one(piece, params, line)
            return cursor
        return self._one(sql, params, line)

    def _one(self, sql: str, params: Params, line: int | None) -> psycopg.Cursor[Any]:
        control = control_word(sql)
        if control is not None:
            self._tracer(self._connection, sql, params)
            return self._control(sql, control)
        connection = self._connection
        connection.execute("SAVEPOINT kitgen_statement")
        try:
            cursor = super()._run(sql, params, line)
        except StatementError as exc:
            connection.execute("ROLLBACK TO SAVEPOINT kitgen_statement")
            connection.execute("RELEASE SAVEPOINT kitgen_statement")
            if not exc.needs_autocommit:
                raise
            return self._outside_only(sql, params, line)
        connection.execute("RELEASE SAVEPOINT kitgen_statement")
        return cursor

    def _control(self, sql: str, word: str) -> psycopg.Cursor[Any]:
        """BEGIN opens a savepoint, COMMIT releases it, ROLLBACK rolls back to it; as on the server, one
        with nothing to act on does nothing (PostgreSQL only warns). PREPARE TRANSACTION cannot be rehearsed."""
        if word == "PREPARE":
            raise StatementError(sql, "PREPARE TRANSACTION cannot be rehearsed: it would keep the rehearsal")
        cursor = self._connection.cursor()
        opening = word in {"BEGIN", "START"}
        if opening == self.user_transaction:
            return cursor
        self.user_transaction = opening
        if opening:
            cursor.execute(b"SAVEPOINT kitgen_user_transaction")
            return cursor
        if word in {"ROLLBACK", "ABORT"}:
            cursor.execute(b"ROLLBACK TO SAVEPOINT kitgen_user_transaction")
        cursor.execute(b"RELEASE SAVEPOINT kitgen_user_transaction")
        return cursor

    def _outside_only(self, sql: str, params: Params, line: int | None) -> psycopg.Cursor[Any]:
        plain = without_concurrently(sql)
        if plain is None:
            return self._connection.cursor()  # VACUUM and the like: nothing to rehearse
        tracer, self._tracer = self._tracer, _SILENT
        try:
            return super()._run(plain, params, line)
        finally:
            self._tracer = tracer


TRANSACTION_WORDS = frozenset({"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "PREPARE"})


def control_word(sql: str) -> str | None:
    """BEGIN, START, COMMIT, END, ROLLBACK, ABORT or PREPARE (TRANSACTION) when ``sql`` ends or begins a
    transaction; None for anything else (``ROLLBACK TO`` a savepoint included)."""
    from kitgen.migrations.sql import strip_comments

    match = LEADING_WORDS.match(strip_comments(sql))
    if match is None or match[1].upper() not in TRANSACTION_WORDS:
        return None
    first, second = match[1].upper(), (match[2] or "").upper()
    if (first == "ROLLBACK" and second in {"TO", "PREPARED"}) or (
        first in {"PREPARE", "START"} and second != "TRANSACTION"
    ):
        return None
    return first


class _Silent:
    record = None

    def __call__(self, *_: Any) -> None:
        return None


_SILENT: Any = _Silent()


CONCURRENT_INDEX = re.compile(
    r"^\s*((?:CREATE\s+(?:UNIQUE\s+)?INDEX|DROP\s+INDEX|REINDEX\s+(?:\([^)]*\)\s*)?\w+)\s+)CONCURRENTLY\b",
    re.IGNORECASE,
)
LEADING_WORDS = re.compile(r"^\s*(\w+)(?:\s+(\w+))?")


def without_concurrently(sql: str) -> str | None:
    """An index statement (comments left out) without its CONCURRENTLY keyword; None for any other."""
    from kitgen.migrations.sql import strip_comments

    code = strip_comments(sql)
    match = CONCURRENT_INDEX.match(code)
    return None if match is None else code[: match.end(1)] + code[match.end() :]


class RehearsalDriver(PostgresDriver):
    """The real database inside one transaction that is never committed."""

    def __init__(self, real: PostgresDriver) -> None:
        super().__init__(
            real.url, lock_timeout=real.lock_timeout, schemas=real._schemas, command=f"{real.command} --pretend"
        )
        self._missing = False

    def begin(self) -> None:
        self.connection.execute("BEGIN")

    def lock(self, command: str, on_wait: Any, timeout: float | None = None) -> Any:
        return _nothing()  # the real driver holds the lock

    @contextmanager
    def transaction(self, *, foreign_keys: bool = True, checked: bool = False) -> Iterator[Database]:
        connection = self.connection
        with self.guard():
            connection.execute("SAVEPOINT kitgen_migration")
        try:
            yield RehearsalHandle(connection, self._tracer, self.error, in_transaction=True)
        except BaseException:
            with self.guard():
                connection.execute("ROLLBACK TO SAVEPOINT kitgen_migration")
            raise
        with self.guard():
            connection.execute("RELEASE SAVEPOINT kitgen_migration")

    def autocommit(self) -> Database:
        return RehearsalHandle(self.connection, self._tracer, self.error, in_transaction=False)

    def reset_session(self) -> None:
        """As between real migrations: settings back, temporary tables gone (DISCARD ALL needs no transaction)."""
        with self.guard():
            self.connection.execute("RESET ALL")
            self.connection.execute("DISCARD TEMP")
            self._configure(self.connection)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


@contextmanager
def rehearsal(real: PostgresDriver) -> Iterator[PostgresDriver]:
    """A rehearsal of ``real``: its own database in a transaction rolled back, or (when it does not exist
    yet) a temporary database."""
    if not real.exists:
        with scratch(real.url, None, real._schemas, command=f"{real.command} --pretend") as empty:
            yield empty
        return
    with _rolled_back(real) as copy:
        yield copy


@contextmanager
def _rolled_back(database: PostgresDriver) -> Iterator[PostgresDriver]:
    copy = RehearsalDriver(database)
    try:
        copy.begin()
        yield copy
    finally:
        copy.close()  # never committed: closing rolls it back


@contextmanager
def scratch(
    url: ServerUrl,
    shadow: ServerUrl | None,
    schemas: tuple[str, ...],
    *,
    command: str = "kitgen check",
    committed: bool = False,
) -> Iterator[PostgresDriver]:
    """An empty database to replay migrations in, inside one transaction that is never committed (what a
    migration does to the server itself, a role, is undone too): ``shadow``, which must be empty, or a
    temporary database, always dropped.

    With ``committed``, the replay's transactions commit, so that another session sees what it built
    (pg_dump dumping it); ``shadow`` is then emptied again afterwards (``drop_all``)."""
    if shadow is not None:
        if same_database(url, shadow):
            raise ConfigError(
                f"shadow_database names the configured database {url}",
                "give check a database of its own to replay in (an empty one), or leave shadow_database out",
            )
        driver = PostgresDriver(shadow, lock_timeout=0, schemas=schemas, command=command)
        try:
            _ensure_empty(driver)
            with _replaying(driver, committed=committed, empty_after=True) as replay:
                _create_schemas(replay)
                yield replay
        finally:
            driver.close()
        return
    server = PostgresDriver(url, lock_timeout=0, command=command)
    name = f"kitgen_scratch_{secrets.token_hex(6)}"
    admin = server.connect(database=None if server.exists else "postgres")
    try:
        _create_database(admin, name, url)
        driver = PostgresDriver(url.with_database(name), lock_timeout=0, schemas=schemas, command=command)
        try:
            with _replaying(driver, committed=committed, empty_after=False) as replay:
                _create_schemas(replay)
                yield replay
        finally:
            driver.close()
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


@contextmanager
def _replaying(driver: PostgresDriver, *, committed: bool, empty_after: bool) -> Iterator[PostgresDriver]:
    """``driver`` in a transaction rolled back at the end; or, ``committed``, as it is (emptied afterwards
    when ``empty_after``)."""
    if not committed:
        with _rolled_back(driver) as replay:
            yield replay
        return
    try:
        yield driver
    finally:
        if empty_after:
            driver.drop_all()


def same_database(one: ServerUrl, other: ServerUrl) -> bool:
    """Whether two URLs name the same database of the same server (host and port as written)."""
    first, second = urlsplit(one.conninfo), urlsplit(other.conninfo)
    return (first.hostname, first.port, one.database_name) == (second.hostname, second.port, other.database_name)


def _ensure_empty(driver: PostgresDriver) -> None:
    """A shadow database holds nothing of the managed schemas: kitgen never empties a database it was given."""
    if not driver.exists:
        return
    from kitgen.driver.postgres_drop import RELATIONS

    with driver.guard():
        managed = {"schemas": list(driver.schemas), "kept": None}
        found = driver.connection.execute(RELATIONS.encode(), managed).fetchall()
    if found:
        names = ", ".join(row[1] for row in found[:5])
        raise ConfigError(
            f"the shadow database {driver.url} is not empty ({names}{'…' if len(found) > 5 else ''})",
            "point shadow_database at an empty database: check replays the migrations there and never commits",
        )


def _create_database(admin: psycopg.Connection[Any], name: str, url: ServerUrl) -> None:
    import psycopg

    try:
        admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        raise DatabaseError(
            f"cannot create a temporary database on the server of {url} to replay the migrations in: "
            f"{exc.diag.message_primary}",
            "grant this user CREATEDB, or set shadow_database in [tool.kitgen] to an empty database",
        ) from exc


def _create_schemas(driver: PostgresDriver) -> None:
    """The managed schemas, which the migrations expect to exist (the search_path's first among them)."""
    with driver.transaction() as db:
        for schema in dict.fromkeys((driver.home, *driver.schemas)):
            db.execute('CREATE SCHEMA IF NOT EXISTS "' + schema.replace('"', '""') + '"')
