"""The PostgreSQL driver: psycopg 3, one autocommit connection, transactions begun by kitgen.

The connection's session has ``TimeZone=UTC`` and ``application_name`` ``kitgen <command>``;
statements are never prepared by psycopg (a pooled or reset session must not lose them). The
tracking table lives in the first schema of the ``search_path``, named schema-qualified. The
migration lock is an advisory lock on a connection of its own (``postgres_lock``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

from kitgen.driver import postgres_tracking as tracking
from kitgen.driver.base import TRACKING_TABLE, AppliedMigration, RawSchema, StatementError
from kitgen.driver.postgres_handle import ABORTED, PostgresHandle, Tracer
from kitgen.driver.url import ServerUrl
from kitgen.errors import DatabaseError
from kitgen.migrations.base import Database

if TYPE_CHECKING:
    import psycopg

RELATIONS = """
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
"""
HOME = f"""
SELECT current_setting('search_path'), current_user,
       EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = current_user),
       ARRAY(SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relname = '{TRACKING_TABLE}' AND c.relkind IN ('r', 'p') ORDER BY 1)
"""
CREATING = (
    "kitgen migrate",
    "kitgen migrate:refresh",
    "kitgen migrate:fresh",
    "kitgen migrate:resolve",
    "kitgen watch",
)
CONNECT_TIMEOUT = 10  # seconds, unless the URL says otherwise (connect_timeout=…)
LEFT_OPEN = "the migration left a transaction open (a BEGIN without COMMIT); it was rolled back"
MISSING_DATABASE = "3D000"  # invalid_catalog_name: the database does not exist


def load_psycopg() -> None:
    """psycopg, or one line saying which package to install."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise DatabaseError(
            "PostgreSQL databases need the psycopg package, which is not installed",
            "pip install 'kitgen[postgres]' (or psycopg[binary])",
        ) from None


class PostgresDriver:
    """All of kitgen's access to one PostgreSQL database."""

    def __init__(
        self,
        url: ServerUrl,
        *,
        lock_timeout: float,
        readonly: bool = False,
        schemas: tuple[str, ...] = (),
        command: str = "kitgen",
    ) -> None:
        load_psycopg()
        self.url = url
        self.display_name = str(url)
        self.lock_timeout = lock_timeout
        self.readonly = readonly
        self.command = command
        self._schemas = schemas
        self._tracer = Tracer()
        self._connection: psycopg.Connection[Any] | None = None
        self._missing: bool | None = None  # whether the database does not exist (None: not known yet)
        self._home: str | None = None  # the tracking table's schema

    # --- connecting ---

    def connect(self, *, database: str | None = None, application: str | None = None) -> psycopg.Connection[Any]:
        """A new autocommit connection to the URL's database (or ``database`` on the same server), its
        session set up by ``_configure`` (with SQL, not startup options, which poolers refuse)."""
        import psycopg

        url = self.url if database is None else self.url.with_database(database)
        try:
            given = psycopg.conninfo.conninfo_to_dict(url.conninfo)
            timeout: dict[str, Any] = {} if "connect_timeout" in given else {"connect_timeout": CONNECT_TIMEOUT}
            connection = psycopg.connect(
                url.conninfo,
                autocommit=True,
                prepare_threshold=None,
                application_name=application or self.command,
                **timeout,
            )
            self._configure(connection)
        except psycopg.Error as exc:
            raise self.error(exc) from exc
        return connection

    def _configure(self, connection: psycopg.Connection[Any]) -> None:
        """kitgen's session: UTC, the URL's search_path, a lock_timeout for table locks (a migration waits
        for an application's lock no longer than for another migrator), no idle timeout (the lock's
        session idles), and a migrator killed mid-statement noticed within a second."""
        settings = {
            "TimeZone": "UTC",
            "lock_timeout": f"{int(self.lock_timeout * 1000)}ms",
            "idle_session_timeout": "0",
            "idle_in_transaction_session_timeout": "0",
            "client_connection_check_interval": "1000",
        }
        if self.url.search_path:
            settings["search_path"] = ", ".join(self.url.search_path)  # as written: PostgreSQL folds the case
        if self.readonly:
            settings["default_transaction_read_only"] = "on"
        settings["application_name"] = self.command
        if _in_transaction(connection):  # a rehearsal: a failed setting would end its transaction
            del settings["client_connection_check_interval"]
        calls = ", ".join("set_config(%s, %s, false)" for _ in settings)
        values = [text for pair in settings.items() for text in pair]
        try:
            connection.execute(f"SELECT {calls}".encode(), values)  # one round trip
        except psycopg_errors().InvalidParameterValue:  # a server whose platform cannot check the client
            del settings["client_connection_check_interval"]
            calls = ", ".join("set_config(%s, %s, false)" for _ in settings)
            connection.execute(f"SELECT {calls}".encode(), [text for pair in settings.items() for text in pair])

    def error(self, exc: Exception) -> DatabaseError:
        """A connection-level failure as a kitgen error; the password never shows."""
        text = self.url.hide(" ".join(str(exc).split()))
        if "password authentication failed" in text or "no password supplied" in text:
            hint = "check the user and password (in the URL, PGPASSWORD or ~/.pgpass)"
        elif "does not exist" in text and "database" in text:
            hint = "create it (createdb), or point --database at an existing database"
        else:
            hint = "check the URL and that the server is running and reachable"
        return DatabaseError(f"cannot use the database {self.url}: {text}", hint)

    @property
    def exists(self) -> bool:
        if self._missing is None:
            self._missing = not self._database_exists()
        return not self._missing

    def _database_exists(self) -> bool:
        import psycopg

        if self._connection is not None:
            return True
        try:
            self._connection = self.connect()
        except DatabaseError as exc:
            cause = exc.__cause__
            if isinstance(cause, psycopg.Error) and cause.sqlstate == MISSING_DATABASE:
                return False
            if isinstance(cause, psycopg.OperationalError) and "does not exist" in str(cause):
                return False
            raise
        return True

    @property
    def connection(self) -> psycopg.Connection[Any]:
        """The connection, made on first use; a missing database is created on the first write."""
        if self._connection is None:
            if not self.exists:
                if self.readonly:
                    raise DatabaseError(f"the database {self.url} does not exist", "run kitgen migrate to create it")
                self._create_database()
            self._connection = self._connection or self.connect()
        return self._connection

    def _create_database(self) -> None:
        import psycopg
        from psycopg import sql

        name = self.url.database_name
        if not name:
            raise DatabaseError(
                f"the database of {self.url} does not exist, and the URL does not name it", "name it: …/database"
            )
        admin = self.connect(database="postgres")
        try:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:
            pass  # another migrator created it first
        except psycopg.Error as exc:
            raise DatabaseError(
                f"the database {self.url} does not exist and could not be created: {exc.diag.message_primary}",
                f"create it (createdb {name}) or grant this user CREATEDB",
            ) from exc
        finally:
            admin.close()
        self._missing = False

    def _abandon(self) -> None:
        """Leave a session whose statement was interrupted: cancel the statement, close the connection
        (the server rolls back its transaction); the next use connects again."""
        connection, self._connection = self._connection, None
        if connection is not None and not connection.closed:
            with contextlib.suppress(Exception):  # closing ends it too
                connection.cancel_safe(timeout=5)
            connection.close()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def interrupt(self) -> None:
        connection = self._connection
        if connection is not None and not connection.closed:
            connection.cancel_safe()

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Turn psycopg errors of kitgen's own statements into kitgen errors."""
        import psycopg

        try:
            yield
        except psycopg.Error as exc:
            raise self.error(exc) from exc

    # --- schemas ---

    @property
    def home(self) -> str:
        """The schema of the tracking table: the first schema of the search_path that holds one, else the
        search_path's first (``"$user"`` only when that schema exists), created when missing.

        A history that exists only outside the search_path is refused: starting another would apply
        every migration again."""
        if self._home is None:
            with self.guard():
                row = self.connection.execute(HOME).fetchone()
            assert row is not None
            path, user, user_schema, tracked = row
            candidates = _search_path(path, user if user_schema else None)
            found = [schema for schema in candidates if schema in tracked]
            if not found and tracked:
                raise DatabaseError(
                    f"the migration history of {self.url} is in {tracked[0]}.{TRACKING_TABLE}, which the "
                    f"search_path ({path}) does not reach",
                    f"add {tracked[0]} to the search_path (?search_path={tracked[0]} in the URL), "
                    "or move the table into the search_path's first schema",
                )
            self._home = (found or candidates or ["public"])[0]
        return self._home

    @property
    def schemas(self) -> tuple[str, ...]:
        """The schemas whose objects kitgen manages: the configured ones, else the tracking table's."""
        return self._schemas or (self.home,)

    @property
    def tracking_table(self) -> str:
        return f"{_ident(self.home)}.{_ident(TRACKING_TABLE)}"

    # --- locking, transactions, sessions ---

    def lock(self, command: str, on_wait: Callable[[str], None], timeout: float | None = None) -> Any:
        """The advisory lock of this database's tracking table (a missing database is created first)."""
        from kitgen.driver.postgres_lock import advisory_lock, lock_key

        self._name(command)
        creates = " ".join(command.split()[:2]) in CREATING and "--pretend" not in command
        if (self.readonly or not creates) and not self.exists:
            return _nothing()  # nothing to read or undo yet, nothing to wait for; the database is not created
        self.connection  # noqa: B018  # the lock is taken in the database itself
        return advisory_lock(
            lambda: self.connect(application=command),
            lock_key(f"{self.home}.{TRACKING_TABLE}"),
            timeout=self.lock_timeout if timeout is None else timeout,
            on_wait=on_wait,
            what=str(self.url),
        )

    def _name(self, command: str) -> None:
        """Name the session after the command (``application_name``, as pg_stat_activity shows it)."""
        self.command = command
        if self._connection is not None:
            with self.guard():
                self._connection.execute("SELECT set_config('application_name', %s, false)", (command,))

    @contextmanager
    def transaction(self, *, foreign_keys: bool = True, checked: bool = False) -> Iterator[Database]:
        """BEGIN … COMMIT around the block; ROLLBACK if it raises. Foreign keys are always enforced."""
        import psycopg
        from psycopg.pq import TransactionStatus

        connection = self.connection
        if connection.info.transaction_status != TransactionStatus.IDLE:  # left open outside a transaction
            with self.guard():
                connection.execute("ROLLBACK")
            raise StatementError("BEGIN", LEFT_OPEN)
        with self.guard():
            connection.execute("BEGIN")
        try:
            yield PostgresHandle(connection, self._tracer, self.error, in_transaction=True)
            if _aborted(connection):
                raise StatementError("COMMIT", ABORTED)
        except BaseException:
            if _busy(connection):  # interrupted inside a statement: the server rolls back what it leaves
                self._abandon()
            elif connection.info.transaction_status != TransactionStatus.IDLE:
                with self.guard():
                    connection.execute("ROLLBACK")
            raise
        try:
            connection.execute("COMMIT")
        except psycopg.Error as exc:  # a deferred constraint, or the server itself
            if connection.closed:
                raise self.error(exc) from exc
            from kitgen.driver.postgres_errors import statement_error

            raise statement_error("COMMIT", exc, None) from exc

    def autocommit(self) -> Database:
        return PostgresHandle(self.connection, self._tracer, self.error, in_transaction=False)

    def reset_session(self) -> None:
        """What one migration set on the session (settings, role, temporary tables, prepared statements)
        does not reach the next; a transaction it left open is rolled back."""
        from psycopg.pq import TransactionStatus

        if self._connection is not None and _busy(self._connection):
            self._abandon()  # a statement was interrupted: the server ends it with the session
        connection = self.connection
        with self.guard():
            if connection.info.transaction_status != TransactionStatus.IDLE:
                connection.execute("ROLLBACK")
            connection.execute("DISCARD ALL")
            self._configure(connection)

    @contextmanager
    def tracing(self, record: Callable[[str], None]) -> Iterator[None]:
        self._tracer.record = record
        try:
            yield
        finally:
            self._tracer.record = None

    def rehearsal(self) -> AbstractContextManager[PostgresDriver]:
        from kitgen.driver.postgres_scratch import rehearsal

        return rehearsal(self)

    # --- the tracking table ---

    def applied_migrations(self) -> list[AppliedMigration]:
        if not self.exists:
            return []
        with self.guard():
            return tracking.read(self.connection, self.tracking_table)

    def ensure_tracking_table(self) -> None:
        """Create the tracking table (and its schema, when the search_path names one that does not exist)."""
        with self.guard():
            present = tracking.exists(self.connection, self.tracking_table)
        if not present:
            with self.transaction() as db:
                tracking.create(db, _ident(self.home), self.tracking_table)

    def record_applied(self, db: Database, row: AppliedMigration) -> None:
        tracking.insert(db, self.tracking_table, row)

    def update_applied(self, db: Database, name: str, row: AppliedMigration) -> None:
        tracking.update(db, self.tracking_table, name, row)

    def forget_applied(self, db: Database, name: str) -> None:
        tracking.delete(db, self.tracking_table, name)

    # --- the schema ---

    def relation_names(self, db: Database) -> frozenset[str]:
        """Tables and views of the managed schemas, named as introspection names them."""
        from kitgen.driver.postgres_schema import relation_name

        if self._connection is not None and _aborted(self._connection):  # the migration caught an error
            raise StatementError("COMMIT", ABORTED)
        rows = db.execute(RELATIONS, (list(self.schemas),)).fetchall()
        return frozenset(relation_name(schema, name, self.schemas) for schema, name in rows)

    def schema_fingerprint(self) -> str:
        """The hash of everything ``read_schema`` reads (the catalog has no cheaper summary of it)."""
        import hashlib

        return hashlib.sha256(repr(self.read_schema()).encode("utf-8", "surrogateescape")).hexdigest()

    def read_schema(self) -> RawSchema:
        from kitgen.driver.postgres_schema import read_schema

        if not self.exists:
            return RawSchema((), (), (), ())
        with self.guard():
            self._ensure_schemas_exist()
            return read_schema(self.connection, self.schemas)

    def dump_schema(self) -> str:
        """pg_dump's text of the managed schemas, normalised (``postgres_dump``); "" before the database exists."""
        from kitgen.driver.postgres_dump import dump_schema

        if not self.exists:
            return ""
        with self.guard():
            self._ensure_schemas_exist()
            return dump_schema(self.connection, self.url, self.schemas, (self.home, TRACKING_TABLE), self.lock_timeout)

    def _ensure_schemas_exist(self) -> None:
        """A configured schema that does not exist is a mistake, not a schema without tables: entities
        would be deleted."""
        if not self._schemas:
            return
        rows = self.connection.execute(
            "SELECT s FROM unnest(%s::text[]) s WHERE s NOT IN (SELECT nspname FROM pg_namespace)",
            (list(self._schemas),),
        ).fetchall()
        if rows:
            missing = ", ".join(row[0] for row in rows)
            raise DatabaseError(
                f"the schema {missing} named in schemas does not exist in {self.url}",
                "correct schemas in [tool.kitgen] (names are case-sensitive), or create the schema in a migration",
            )

    def drop_script(self) -> str:
        from kitgen.driver.postgres_drop import drop_script

        if not self.exists:
            return ""
        with self.guard():
            return drop_script(self.autocommit(), self.schemas, self.tracking_table)

    def drop_all(self) -> list[str]:
        from kitgen.driver.postgres_drop import drop_managed

        if not self.exists:
            return []
        with self.transaction() as db:
            dropped = drop_managed(db, self.schemas)
            if self.home not in self.schemas:  # the history goes with what it describes
                db.execute(f"DROP TABLE IF EXISTS {self.tracking_table}")
            return dropped


def psycopg_errors() -> Any:
    import psycopg

    return psycopg.errors


def _in_transaction(connection: psycopg.Connection[Any]) -> bool:
    from psycopg.pq import TransactionStatus

    return connection.info.transaction_status != TransactionStatus.IDLE


def _busy(connection: psycopg.Connection[Any]) -> bool:
    """Whether a statement is still in flight (interrupted while waiting for its result), or the connection is gone."""
    from psycopg.pq import TransactionStatus

    return connection.closed or connection.info.transaction_status == TransactionStatus.ACTIVE


def _aborted(connection: psycopg.Connection[Any]) -> bool:
    """Whether the transaction failed (a statement's error was caught by the migration): COMMIT would roll back."""
    from psycopg.pq import TransactionStatus

    return connection.info.transaction_status == TransactionStatus.INERROR


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _search_path(search_path: str, user: str | None) -> list[str]:
    """The schemas a ``search_path`` value names, case folded as PostgreSQL does (``"$user"``: ``user``,
    when given)."""
    schemas = []
    for entry in (part.strip() for part in search_path.split(",")):
        if entry in ('"$user"', "$user"):
            schemas += [user] if user else []
        elif entry:
            schemas.append(entry[1:-1].replace('""', '"') if entry.startswith('"') else entry.lower())
    return schemas
