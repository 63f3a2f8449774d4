"""The SQLite driver: one file, transactions managed by hand, a lock file beside it.

The connection runs in autocommit mode (``isolation_level=None``) so that kitgen, not
the ``sqlite3`` module, decides where transactions begin and end; ``executescript`` is
split into statements instead of using ``sqlite3.executescript``, which commits first.
"""

from __future__ import annotations

import json
import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from kitgen.driver.base import TRACKING_TABLE, TRANSACTION_CONTROL_MESSAGE, AppliedMigration, RawSchema, StatementError
from kitgen.driver.filelock import LOCK_SUFFIX, exclusive_lock
from kitgen.errors import DatabaseError, ForeignKeyViolation, LockTimeout
from kitgen.migrations.base import Database, Params, TableAlteration

if TYPE_CHECKING:
    from kitgen.driver.sqlite_checks import WrittenTables

TRACKING_DDL = f"""CREATE TABLE IF NOT EXISTS {TRACKING_TABLE} (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    batch INTEGER NOT NULL,
    checksum TEXT NOT NULL,
    raw_hash TEXT NOT NULL,
    source TEXT NOT NULL,
    format TEXT NOT NULL,
    transactional INTEGER NOT NULL,
    model TEXT,
    applied_at TEXT NOT NULL,
    created TEXT NOT NULL DEFAULT '[]',
    checksum_scheme TEXT NOT NULL DEFAULT '1'
)"""
TRACKING_COLUMNS = (
    "name, batch, checksum, raw_hash, source, format, transactional, model, applied_at, created, checksum_scheme"
)
# column → its default, for tracking tables made before it existed
LATER_COLUMNS = {"created": "'[]'", "checksum_scheme": "'1'"}


def split_script(script: str, first_line: int = 1) -> list[tuple[int, str]]:
    """Split SQL into complete statements, each with the line it starts on."""
    statements: list[tuple[int, str]] = []
    start, line = 0, first_line  # the line ``start`` is on
    position = script.find(";")
    while position != -1:
        candidate = script[start : position + 1]
        if sqlite3.complete_statement(candidate):
            _append_statement(statements, candidate, line)
            line += candidate.count("\n")
            start = position + 1
        position = script.find(";", position + 1)
    _append_statement(statements, script[start:], line)
    return statements


def _append_statement(statements: list[tuple[int, str]], text: str, line: int) -> None:
    """Add ``text``, which starts on ``line``, unless it holds no code."""
    if not _has_code(text):
        return
    statements.append((line + text.count("\n", 0, _leading_noise(text)), text.strip()))


def _leading_noise(text: str) -> int:
    """Length of the white space and comments before a statement's first word."""
    index = 0
    while True:
        stripped = len(text) - len(text[index:].lstrip())
        if text.startswith("--", stripped):
            end = text.find("\n", stripped)
        elif text.startswith("/*", stripped):
            end = text.find("*/", stripped) + 1
        else:
            return stripped
        if end <= 0:
            return stripped
        index = end + 1


def _has_code(text: str) -> bool:
    """False for text holding only white space, comments and semicolons."""
    index = 0
    while True:
        index += _leading_noise(text[index:])
        if index >= len(text) or text[index:].startswith(("--", "/*")):  # the end, or an unclosed comment
            return False
        if text[index] != ";":
            return True
        index += 1


SQLITE_TRANSACTION = 22  # authorizer action code of BEGIN, COMMIT, END and ROLLBACK
DATABASE_LEVEL_ERRORS = frozenset(
    {"SQLITE_BUSY", "SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CORRUPT", "SQLITE_FULL", "SQLITE_CANTOPEN"}
    | {"SQLITE_NOTADB"}
)
TRANSACTION_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|END|ROLLBACK)\b(?!\s+TO\b)", re.IGNORECASE)
SQLITE_PRAGMA = 19  # authorizer action code of PRAGMA (first: its name, second: the value set, if any)
OUTSIDE_ONLY_PRAGMAS = frozenset({"foreign_keys", "journal_mode"})  # setting them in a transaction does nothing
SETTING_PRAGMA = re.compile(r"^\s*PRAGMA\s+(?:\w+\.)?(\w+)\s*(=|\()", re.IGNORECASE)
INSIDE_TRANSACTION = re.compile(r"\b(within|inside) (a )?transaction\b", re.IGNORECASE)


def _authorizer(written: WrittenTables | None) -> Callable[[int, str | None, str | None, str | None, str | None], int]:
    """Refuse BEGIN, COMMIT and ROLLBACK inside kitgen's transaction; record what is written."""

    def authorize(action: int, first: str | None, second: str | None, database: str | None, _: str | None) -> int:
        if action == SQLITE_TRANSACTION:
            return sqlite3.SQLITE_DENY
        if action == SQLITE_PRAGMA and second is not None and (first or "").lower() in OUTSIDE_ONLY_PRAGMAS:
            return sqlite3.SQLITE_DENY  # SQLite would ignore it without a word
        if written is not None:
            written.record(action, first, second, database)
        return sqlite3.SQLITE_OK

    return authorize


def _is_database_level(exc: sqlite3.Error) -> bool:
    """Errors about the database file itself, not about the statement."""
    primary = "_".join(str(getattr(exc, "sqlite_errorname", "")).split("_")[:2])
    return primary in DATABASE_LEVEL_ERRORS


ATTACH_FORBIDDEN = "too many attached databases - max 0"
SESSION_PRAGMAS = (  # kitgen's settings, put back before every migration (SQLite's defaults but the first)
    "foreign_keys = ON",
    "ignore_check_constraints = OFF",
    "legacy_alter_table = OFF",
    "recursive_triggers = OFF",
    "defer_foreign_keys = OFF",
    "query_only = OFF",
    "writable_schema = OFF",
    "reverse_unordered_selects = OFF",
    "automatic_index = ON",
    "trusted_schema = ON",
    "case_sensitive_like = OFF",  # last: the one setting that cannot be read back
)
# What reset_session looks at first: attached databases and TEMP objects, then each readable setting.
SESSION_STATE = (
    "SELECT (SELECT count(*) FROM pragma_database_list WHERE name NOT IN ('main', 'temp')) "
    "+ (SELECT count(*) FROM temp.sqlite_master WHERE type IN ('table', 'view', 'trigger')), "
    + ", ".join(f"(SELECT * FROM pragma_{pragma.split()[0]})" for pragma in SESSION_PRAGMAS[:-1])
)
SESSION_AS_SET = (0, *(int(pragma.endswith(" ON")) for pragma in SESSION_PRAGMAS[:-1]))
TRANSACTION_ENDED = (
    "SQLite ended the migration's transaction (a RAISE(ROLLBACK) in a trigger, or an ON CONFLICT ROLLBACK or "
    "OR ROLLBACK conflict), undoing everything it had done; nothing after it was run"
)
LEFT_OPEN = "the migration left a transaction open (a BEGIN without COMMIT); it was rolled back"


def forbid_attach(connection: sqlite3.Connection) -> None:
    """A copy or a replay must not reach a real file through ATTACH: allow no attached database."""
    connection.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)


class StatementTrace:
    """SQLite's trace callback, keeping each statement a migration runs once, as SQLite ran it.

    SQLite reports a statement again (same text) for every statement of a trigger it fires, and
    notes the programs of table-valued pragmas as ``-- PRAGMA …``: a report repeating the previous
    one since the handle's last statement began, or such a note, is left out. Statements run on a
    cursor the migration got back are reported too.
    """

    def __init__(self) -> None:
        self.record: Callable[[str], None] | None = None
        self.previous: str | None = None
        self.collected: list[str] | None = None  # during an executemany: every report, sorted out after

    def begin_statement(self) -> None:
        self.previous = None

    def __call__(self, sql: str) -> None:
        if self.record is None or sql.startswith("-- PRAGMA "):  # a table-valued pragma's program
            return
        if self.collected is not None:  # rows alike are reported alike: sorted out when it ends
            self.collected.append(sql)
        elif sql != self.previous:
            self.previous = sql
            self.record(sql)

    def many(self, run: Callable[[], sqlite3.Cursor], rows: int) -> sqlite3.Cursor:
        """Run an executemany as SQLite does; record one report per row (triggers' repeats left out)."""
        self.collected = []
        try:
            return run()
        finally:
            collected, self.collected, self.previous = self.collected, None, None
            for statement in _one_per_row(collected, rows):
                assert self.record is not None
                self.record(statement)


def _one_per_row(reports: list[str], rows: int) -> list[str]:
    """The reports of an executemany, one per row: each row's report comes first, then its triggers' repeats.

    When every row fired as many trigger statements, every k-th report is a row's; otherwise a repeat
    is a trigger's (two rows alike in a row that fire triggers unevenly then show once).
    """
    if rows == 0 or len(reports) <= rows:
        return reports
    if len(reports) % rows == 0:
        return reports[:: len(reports) // rows]
    return [report for index, report in enumerate(reports) if index == 0 or report != reports[index - 1]]


class SQLiteHandle:
    """The ``db`` object migrations receive on SQLite."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        translate: Callable[[sqlite3.Error], Exception] | None = None,
        trace: StatementTrace | None = None,
        *,
        in_transaction: bool = False,
    ) -> None:
        self._connection = connection
        self._translate = translate
        self._trace = trace or StatementTrace()
        self._in_transaction = in_transaction  # kitgen's transaction, which must still be open

    def _begin(self, sql: str) -> None:
        """Before each statement: the transaction is still there (SQLite ends it on a ROLLBACK conflict)."""
        if self._in_transaction and not self._connection.in_transaction:
            raise StatementError(sql, TRANSACTION_ENDED)
        self._trace.begin_statement()

    def execute(self, sql: str, params: Params = ()) -> sqlite3.Cursor:
        self._begin(sql)
        try:
            return self._connection.execute(sql, params)
        except sqlite3.Error as exc:
            raise self._failure(sql, exc) from exc

    def executemany(self, sql: str, rows: Iterable[Params]) -> sqlite3.Cursor:
        self._begin(sql)
        try:
            if self._trace.record is None:
                return self._connection.executemany(sql, rows)
            listed = list(rows)  # traced: the number of rows tells the row's reports from its triggers'
            return self._trace.many(lambda: self._connection.executemany(sql, listed), len(listed))
        except sqlite3.Error as exc:
            raise self._failure(sql, exc) from exc

    def executescript(self, script: str, first_line: int | None = None) -> None:
        for line, statement in split_script(script, first_line or 1):
            self._begin(statement)
            try:
                self._connection.execute(statement)
            except sqlite3.Error as exc:
                raise self._failure(statement, exc, line if first_line else None) from exc

    def alter_table(self, table: str) -> AbstractContextManager[TableAlteration]:
        """Rebuild a table with the changes recorded in the block (see ``kitgen.driver.sqlite_alter``)."""
        from kitgen.driver.sqlite_alter import alter_table

        return alter_table(self, self._connection, table)

    def _failure(self, statement: str, exc: sqlite3.Error, line: int | None = None) -> Exception:
        if self._translate is not None and _is_database_level(exc):
            return self._translate(exc)
        message = str(exc) or type(exc).__name__
        from kitgen.migrations.sql import strip_comments

        code = strip_comments(statement)
        control = TRANSACTION_CONTROL.match(code) if message == "not authorized" else None
        pragma = SETTING_PRAGMA.match(code) if message == "not authorized" else None
        if control:
            message = TRANSACTION_CONTROL_MESSAGE.format(keyword=control.group(1).upper())
        elif pragma:
            name = pragma.group(1).lower()
            message = f"PRAGMA {name} cannot be changed inside a transaction (SQLite ignores it there)"
        elif message == ATTACH_FORBIDDEN:
            message = (
                "ATTACH (and VACUUM INTO) is not run when pretending or replaying (kitgen check): it would "
                "change another database file for real"
            )
        needs_autocommit = bool(control or pragma or INSIDE_TRANSACTION.search(message))
        return StatementError(statement, message, line, needs_autocommit=needs_autocommit)


class SQLiteDriver:
    """All of kitgen's access to one SQLite database file."""

    _written: WrittenTables | None = None  # what the transaction in progress changed
    _relations: tuple[int, frozenset[str]] | None = None  # (schema version, the tables and views)

    def __init__(self, path: Path, *, lock_timeout: float, readonly: bool = False) -> None:
        self.path = path
        self.display_name = str(path)
        self.lock_timeout = lock_timeout
        self.readonly = readonly
        self._trace = StatementTrace()
        self._check_location()
        # Connected on first use, after the migration lock is taken (so a process waiting for another
        # migrator waits on the lock, which says who holds it, not on SQLite's busy timeout); a missing
        # database is created on the first write, not before: a run that fails before applying anything
        # leaves no file behind (and never removes one).
        self._connection: sqlite3.Connection | None = None

    def _check_location(self) -> None:
        if self.path.is_dir():
            raise DatabaseError(f"the database path {self.path} is a folder", "point --database at a file")
        if not self.readonly and not self.path.parent.is_dir():
            raise DatabaseError(
                f"the database's folder {self.path.parent} does not exist",
                "create it (kitgen init) or point --database elsewhere",
            )

    def _connect(self) -> sqlite3.Connection:
        target = f"file:{quote(str(self.path))}?mode=ro" if self.readonly else str(self.path)
        try:
            connection = sqlite3.connect(
                target, timeout=self.lock_timeout, isolation_level=None, uri=self.readonly, check_same_thread=False
            )
            connection.execute("PRAGMA foreign_keys = ON")
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            raise self.error(exc) from exc
        return connection

    @property
    def exists(self) -> bool:
        return self._connection is not None or self.path.exists()

    @property
    def connection(self) -> sqlite3.Connection:
        if self._connection is None:
            if self.readonly and not self.path.exists():
                raise DatabaseError(f"the database {self.path} does not exist", "run kitgen migrate to create it")
            self._connection = self._connect()
        return self._connection

    def interrupt(self) -> None:
        connection = self._connection
        if connection is not None:
            connection.interrupt()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def error(self, exc: sqlite3.Error) -> DatabaseError:
        """Translate a SQLite error about the database itself into a kitgen error."""
        text = str(exc)
        if "file is not a database" in text:
            return DatabaseError(
                f"{self.path} is not a SQLite database",
                "point --database at a SQLite file, or move this file away",
            )
        if "locked" in text:
            return LockTimeout(
                f"the database {self.path} stayed locked by another connection for {self.lock_timeout:g} s",
                "close the program holding it, or raise --lock-timeout",
            )
        if "readonly" in text or "read-only" in text:
            return DatabaseError(
                f"the database {self.path} is read-only",
                "make the file and its folder writable by this user",
            )
        if "unable to open" in text:
            return DatabaseError(
                f"cannot open the database {self.path}",
                "check that the file and its folder exist and are readable and writable",
            )
        return DatabaseError(f"the database {self.path} failed: {text}", "check the file, or restore a backup")

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Turn SQLite errors of kitgen's own statements into kitgen errors."""
        try:
            yield
        except sqlite3.Error as exc:
            raise self.error(exc) from exc

    def lock(self, command: str, on_wait: Callable[[str], None], timeout: float | None = None) -> Any:
        lock_path = self.path.with_name(self.path.name + LOCK_SUFFIX)
        wait = self.lock_timeout if timeout is None else timeout
        return exclusive_lock(lock_path, command=command, timeout=wait, on_wait=on_wait)

    @contextmanager
    def transaction(self, *, foreign_keys: bool = True, checked: bool = False) -> Iterator[Database]:
        """BEGIN IMMEDIATE … COMMIT; with ``foreign_keys=False``, enforcement is suspended for the block.

        Suspended, no ON DELETE action fires (a table rebuild's DROP cannot cascade); instead,
        ``PRAGMA foreign_key_check`` runs before COMMIT and any dangling reference the block
        added rolls it back. The setting is restored afterwards, whatever happens.
        """
        check = checked or not foreign_keys
        with self._foreign_keys(on=foreign_keys), self._transaction(check_foreign_keys=check) as db:
            yield db

    @contextmanager
    def _foreign_keys(self, *, on: bool) -> Iterator[None]:
        """Enforcement as asked for the block (set before BEGIN: SQLite ignores it inside a transaction),
        then on again, as kitgen's connection always has it, whatever a migration outside a transaction set."""
        connection = self.connection
        with self.guard():
            connection.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")
        try:
            yield
        finally:
            with self.guard():
                connection.execute("PRAGMA foreign_keys = ON")

    @contextmanager
    def _transaction(self, *, check_foreign_keys: bool) -> Iterator[Database]:
        from kitgen.driver import sqlite_checks

        connection = self.connection
        if connection.in_transaction:  # left open by a migration run outside a transaction
            connection.execute("ROLLBACK")
            raise StatementError("BEGIN", LEFT_OPEN)
        with self.guard():
            connection.execute("BEGIN IMMEDIATE")
            written = sqlite_checks.WrittenTables(TRACKING_TABLE, connection)
        self._written = written
        connection.set_authorizer(_authorizer(written))
        try:
            yield SQLiteHandle(connection, self.error, self._trace, in_transaction=True)
            if not connection.in_transaction:
                raise StatementError("COMMIT", TRANSACTION_ENDED)
            if check_foreign_keys:
                sqlite_checks.ensure_no_violations(connection, written)
        except BaseException as exc:
            self._written, self._relations = None, None  # rolled back: what was read inside no longer holds
            connection.set_authorizer(None)
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            if isinstance(exc, ForeignKeyViolation):
                sqlite_checks.note_earlier_violations(connection, exc)
            raise
        self._written = None
        connection.set_authorizer(None)
        try:
            connection.execute("COMMIT")
        except sqlite3.Error as exc:  # a deferred constraint, or the database itself
            self._relations = None
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            if _is_database_level(exc):
                raise self.error(exc) from exc
            raise StatementError("COMMIT", str(exc)) from exc

    def autocommit(self) -> Database:
        self._relations = None  # its statements may change the schema in any way, and undo it
        return SQLiteHandle(self.connection, self.error, self._trace)

    def reset_session(self) -> None:
        """What one migration set on the connection does not reach the next: attached databases are
        detached, TEMP tables, views and triggers dropped, and the settings that change what statements do
        put back."""
        connection = self.connection
        with self.guard():
            if connection.in_transaction:  # left open by a migration run outside a transaction
                connection.execute("ROLLBACK")
            if connection.execute(SESSION_STATE).fetchone() == SESSION_AS_SET:  # the usual case: one look
                connection.execute(f"PRAGMA {SESSION_PRAGMAS[-1]}")  # case_sensitive_like cannot be read
                return
            for (name,) in connection.execute(
                "SELECT name FROM pragma_database_list WHERE name NOT IN ('main', 'temp')"
            ):
                connection.execute(f'DETACH DATABASE "{_quote(name)}"')
            temporary = connection.execute(  # a TEMP trigger may sit on a main table: dropped too, first
                "SELECT type, name FROM temp.sqlite_master WHERE type IN ('trigger', 'table', 'view') "
                "ORDER BY type = 'trigger' DESC"
            )
            for kind, name in temporary.fetchall():
                connection.execute(f'DROP {kind.upper()} IF EXISTS temp."{_quote(name)}"')
            connection.executescript("".join(f"PRAGMA {pragma};" for pragma in SESSION_PRAGMAS))

    @contextmanager
    def tracing(self, record: Callable[[str], None]) -> Iterator[None]:
        """Pass every statement run through a handle to ``record``, as SQLite runs it (parameters bound)."""
        connection = self.connection
        self._trace.record, self._trace.previous = record, None
        connection.set_trace_callback(self._trace)
        try:
            yield
        finally:
            connection.set_trace_callback(None)
            self._trace.record = None

    @contextmanager
    def rehearsal(self) -> Iterator[SQLiteDriver]:
        """A private copy of the database (sqlite3's backup API) in a temporary folder, removed afterwards."""
        with tempfile.TemporaryDirectory(prefix="kitgen-pretend-") as folder:
            copy = SQLiteDriver(Path(folder) / self.path.name, lock_timeout=self.lock_timeout)
            try:
                if self.exists:
                    with self.guard():
                        self.connection.backup(copy.connection)
                forbid_attach(copy.connection)
                yield copy
            finally:
                copy.close()

    def applied_migrations(self) -> list[AppliedMigration]:
        if not self.exists or not self._has_tracking_table():
            return []
        # Columns added by later versions of kitgen read as their defaults until the table is upgraded.
        present = self._tracking_columns()
        columns = ", ".join(
            name if name in present else f"{LATER_COLUMNS[name]} AS {name}" for name in TRACKING_COLUMNS.split(", ")
        )
        with self.guard():
            rows = self.connection.execute(f"SELECT {columns} FROM {TRACKING_TABLE} ORDER BY id").fetchall()
        return [_applied_from_row(row) for row in rows]

    def _tracking_columns(self) -> set[str]:
        with self.guard():
            rows = self.connection.execute("SELECT name FROM pragma_table_info(?)", (TRACKING_TABLE,)).fetchall()
        return {row[0] for row in rows}

    def _has_tracking_table(self) -> bool:
        with self.guard():
            row = self.connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TRACKING_TABLE,)
            ).fetchone()
        return row is not None

    def ensure_tracking_table(self) -> None:
        """Create the tracking table, or add the columns a table made by an earlier kitgen lacks."""
        if not self._has_tracking_table():
            with self.transaction() as db:
                db.execute(TRACKING_DDL)
            return
        missing = [name for name in LATER_COLUMNS if name not in self._tracking_columns()]
        if missing:
            with self.transaction() as db:
                for name in missing:
                    db.execute(
                        f"ALTER TABLE {TRACKING_TABLE} ADD COLUMN {name} TEXT NOT NULL DEFAULT {LATER_COLUMNS[name]}"
                    )

    def record_applied(self, db: Database, row: AppliedMigration) -> None:
        db.execute(
            f"INSERT INTO {TRACKING_TABLE} ({TRACKING_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.name,
                row.batch,
                row.checksum,
                row.raw_hash,
                row.source,
                row.format,
                int(row.transactional),
                row.model,
                row.applied_at,
                json.dumps(list(row.created)),
                row.checksum_scheme,
            ),
        )

    def update_applied(self, db: Database, name: str, row: AppliedMigration) -> None:
        db.execute(
            f"UPDATE {TRACKING_TABLE} SET name = ?, checksum = ?, raw_hash = ?, source = ?, format = ?, "
            "transactional = ?, model = ?, checksum_scheme = ? WHERE name = ?",
            (
                row.name,
                row.checksum,
                row.raw_hash,
                row.source,
                row.format,
                int(row.transactional),
                row.model,
                row.checksum_scheme,
                name,
            ),
        )

    def relation_names(self, db: Database) -> frozenset[str]:
        """The tables and views, followed through the transaction in progress when it only created some
        (see ``WrittenTables``), otherwise read from the catalog; kept with the schema version they are of."""
        recording, self._trace.record = self._trace.record, None  # kitgen's own reads are no migration's
        try:
            return self._relation_names()
        finally:
            self._trace.record = recording

    def _relation_names(self) -> frozenset[str]:
        connection = self.connection
        version: int = connection.execute("PRAGMA schema_version").fetchone()[0]
        known, written = self._relations, self._written
        if written is not None and written.reshaped:
            known = None  # a drop, a rename, the catalog or its version written: read it
        if known is not None and known[0] == version:
            return known[1]
        if known is not None and written is not None and known[0] == written.schema_version:
            names = known[1] | frozenset(written.existing(connection, written.created, ("table", "view")))
        else:
            rows = connection.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')").fetchall()
            names = frozenset(row[0] for row in rows)
        self._relations = (version, names)
        return names

    def read_schema(self) -> RawSchema:
        from kitgen.driver.sqlite_schema import read_schema

        if not self.exists:
            return RawSchema((), (), (), ())
        with self.guard():
            return read_schema(self.connection)

    def schema_fingerprint(self) -> str:
        """The hash of ``sqlite_master``: every object's CREATE statement, which is all a SQLite schema is."""
        import hashlib

        if not self.exists:
            return ""
        with self.guard():
            rows = self.connection.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY 1, 2"
            ).fetchall()
        return hashlib.sha256(repr(rows).encode("utf-8", "surrogateescape")).hexdigest()

    def dump_schema(self) -> str:
        from kitgen.driver.sqlite_dump import schema_text

        if not self.exists:
            return ""
        with self.guard():
            return schema_text(self.connection)

    def drop_script(self) -> str:
        from kitgen.driver.sqlite_dump import drop_text

        if not self.exists:
            return ""
        with self.guard():
            return drop_text(self.connection)

    def forget_applied(self, db: Database, name: str) -> None:
        db.execute(f"DELETE FROM {TRACKING_TABLE} WHERE name = ?", (name,))

    def drop_all(self) -> list[str]:
        with self._foreign_keys(on=False), self._transaction(check_foreign_keys=False) as db:
            return _drop_schema(db)


def _applied_from_row(row: tuple[Any, ...]) -> AppliedMigration:
    name, batch, checksum, raw_hash, source, fmt, transactional, model, applied_at, created, scheme = row
    return AppliedMigration(
        name,
        batch,
        checksum,
        raw_hash,
        source,
        fmt,
        bool(transactional),
        model,
        applied_at,
        tuple(json.loads(created)),
        scheme,
    )


def _drop_schema(db: Database) -> list[str]:
    """Drop views, triggers, virtual tables, then tables (their indexes go with them)."""
    dropped: list[str] = []
    for kind, where in (
        ("VIEW", "type = 'view'"),
        ("TRIGGER", "type = 'trigger'"),
        ("TABLE", "type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'"),
        ("TABLE", "type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"),
        ("INDEX", "type = 'index' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"),
    ):
        names = [row[0] for row in db.execute(f"SELECT name FROM sqlite_master WHERE {where} ORDER BY name").fetchall()]
        for name in names:
            db.execute(f'DROP {kind} IF EXISTS "{_quote(name)}"')
        dropped.extend(names)
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
        db.execute("DELETE FROM sqlite_sequence")
    return dropped


def _quote(identifier: str) -> str:
    return identifier.replace('"', '""')


class MemorySQLiteDriver(SQLiteDriver):
    """A private in-memory database: for replaying migrations without touching any file."""

    def __init__(self) -> None:
        self.path = Path(":memory:")
        self.display_name = ":memory:"
        self.lock_timeout = 0.0
        self.readonly = False
        self._trace = StatementTrace()
        self._connection = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self._connection.execute("PRAGMA foreign_keys = ON")
        forbid_attach(self._connection)

    @property
    def exists(self) -> bool:
        return True

    def lock(self, command: str, on_wait: Callable[[str], None], timeout: float | None = None) -> Any:
        return nullcontext()  # nobody else can see this database
