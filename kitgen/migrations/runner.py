"""Apply and roll back migrations, one transaction each, tracking row included."""

from __future__ import annotations

import functools
import re
import signal
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from kitgen import interrupts
from kitgen.driver import AppliedMigration, Driver, StatementError
from kitgen.errors import (
    ForeignKeyViolation,
    IrreversibleMigration,
    KitgenError,
    MigrationFailed,
    MigrationFileError,
    MigrationInterrupted,
    SchemaChangeRefused,
)
from kitgen.interrupts import Interrupted
from kitgen.migrations import history
from kitgen.migrations.base import Database
from kitgen.migrations.dump import DUMP_BATCH, SchemaDump
from kitgen.migrations.files import MigrationFile, decode_source
from kitgen.migrations.formats import CHECKSUM_SCHEME, LoadedMigration, Step, format_for, raw_hash
from kitgen.migrations.history import Update, reconcile


@dataclass(frozen=True)
class Ran:
    """A migration applied or rolled back, with its batch and duration."""

    name: str
    batch: int
    milliseconds: float


@dataclass(frozen=True)
class Pending:
    """A pending migration, loaded and ready, with what will be recorded for it."""

    migration: LoadedMigration
    source: str
    checksum: str
    raw_hash: str


def load_pending(files: Sequence[MigrationFile], applied: Sequence[AppliedMigration]) -> list[Pending]:
    """Load every file not applied yet before any runs, so a broken file stops nothing halfway."""
    done = {row.name for row in applied}
    return load_files(files, [file for file in files if file.name not in done])


def load_files(files: Sequence[MigrationFile], chosen: Sequence[MigrationFile]) -> list[Pending]:
    """Load the ``chosen`` files (of all the ``files``), in the order given."""
    pending = [_loaded(file) for file in chosen]
    if pending:
        reject_copied_classes(files, {item.migration.name for item in pending})
    return pending


def _loaded(file: MigrationFile) -> Pending:
    data = file.read_bytes()
    source = decode_source(data, file.path)
    fmt = format_for(file.suffix)
    migration = fmt.load(file.name, source, file.path)
    return Pending(migration, source, fmt.checksum(source), raw_hash(data))


def replay_order(files: Sequence[MigrationFile], recorded: Sequence[AppliedMigration]) -> list[Pending]:
    """Every migration file loaded in the order a database applied them, then the rest in prefix order.

    A renamed file takes its recorded migration's place; the files alone decide what is replayed.
    """
    reconciled = reconcile(files, recorded)
    renamed = {update.row.name: update.file for update in reconciled.renamed}
    by_name = {file.name: file for file in files}
    chosen = [file for row in recorded if (file := by_name.get(row.name) or renamed.get(row.name)) is not None]
    placed = {file.name for file in chosen}
    return load_files(files, chosen + [file for file in files if file.name not in placed])


def recorded(file: MigrationFile, row: AppliedMigration) -> AppliedMigration:
    """``row`` describing ``file`` as it is now (name, checksum, source, options), without running it."""
    data = file.read_bytes()
    source = decode_source(data, file.path)
    fmt = format_for(file.suffix)
    description = fmt.describe(source, file.path)
    return replace(
        row,
        name=file.name,
        checksum=fmt.checksum(source),
        raw_hash=raw_hash(data),
        source=source,
        format=file.suffix.lstrip("."),
        transactional=description.transactional,
        model=description.model,
        checksum_scheme=CHECKSUM_SCHEME,
    )


def recorded_without_running(file: MigrationFile, batch: int, created: tuple[str, ...]) -> AppliedMigration:
    """The tracking row of ``file`` recorded as applied in ``batch`` without running it (``migrate:resolve
    --applied``, an adopted database), ``created`` being the relations it creates when it runs."""
    blank = AppliedMigration(
        name=file.name,
        batch=batch,
        checksum="",
        raw_hash="",
        source="",
        format="",
        transactional=True,
        model=None,
        applied_at=datetime.now(UTC).isoformat(timespec="seconds"),
        created=created,
    )
    return recorded(file, blank)


def record_updates(driver: Driver, updates: Sequence[Update]) -> None:
    """Bring tracking rows up to date with their files (renames, new downs, checksum schemes), in one
    transaction."""
    if not updates:
        return
    driver.ensure_tracking_table()
    with driver.transaction() as db:
        for update in updates:
            driver.update_applied(db, update.row.name, _updated(update))


def _updated(update: Update) -> AppliedMigration:
    """The row recording ``update``'s file, but never a down removed: a renamed file without its down
    changes only the name, and the recorded down stays for a file that gets it back."""
    if history.drops_down(update):
        return replace(update.row, name=update.file.name)
    return recorded(update.file, update.row)


MIGRATION_CLASS = re.compile(r"^class\s+(\w+)\s*\([^)]*\bMigration\b[^)]*\)\s*:", re.MULTILINE)


def reject_copied_classes(files: Sequence[MigrationFile], pending: set[str]) -> None:
    """A new migration whose class name another migration already uses was copied and not renamed."""
    owners: dict[str, list[MigrationFile]] = {}
    for file in files:
        if file.suffix == ".py":
            for name in set(MIGRATION_CLASS.findall(file.read_bytes().decode("utf-8", "replace"))):
                owners.setdefault(name, []).append(file)
    for name, found in sorted(owners.items()):
        newer = [file for file in found if file.name in pending]
        if len(found) > 1 and newer:
            other = next(file for file in found if file is not newer[-1])
            raise MigrationFileError(
                f"{newer[-1].path.name} defines class {name}, as {other.path.name} already does",
                "give the new migration's class a name of its own (it was probably copied)",
            )


def next_batch(applied: Sequence[AppliedMigration]) -> int:
    return max((row.batch for row in applied), default=0) + 1


Trace = Callable[[str, str], None]  # (migration name, statement): every statement a migration runs


class Progress(Protocol):
    """Told when each migration starts and how it ended, so a long one is visibly running."""

    def started(self, name: str, direction: str) -> None:
        """``direction``: "up" (applying) or "down" (rolling back)."""
        ...

    def ended(self, name: str, outcome: Ran | str) -> None:
        """``outcome``: the finished ``Ran``, or what stopped it ("failed", "interrupted…")."""
        ...


@dataclass
class _Step:
    """One migration to run in one direction; ``statements`` collects what ran outside a transaction."""

    migration: LoadedMigration
    direction: str  # "up", "down", or "load" (the schema file)
    batch: int
    run: Callable[[list[str]], None]
    recorded_as: str = ""  # the tracking row that tells it committed, when not the migration's own


def apply_all(
    driver: Driver,
    pending: Sequence[Pending],
    *,
    first_batch: int,
    step: bool,
    trace: Trace | None = None,
    progress: Progress | None = None,
) -> list[Ran]:
    """Apply migrations in order; on a failure the ones before it stay applied and are reported."""
    relations = Relations()
    steps = [
        _Step(
            item.migration,
            "up",
            first_batch + index if step else first_batch,
            functools.partial(
                _apply_one, driver, item, first_batch + index if step else first_batch, trace, relations=relations
            ),
        )
        for index, item in enumerate(pending)
    ]
    return _run_each(driver, steps, progress)


def roll_back_all(
    driver: Driver,
    migrations: Sequence[LoadedMigration],
    batches: dict[str, int],
    trace: Trace | None = None,
    progress: Progress | None = None,
) -> list[Ran]:
    """Run each ``down`` and forget its tracking row, in the order given."""
    steps = []
    for migration in migrations:
        assert migration.down is not None
        run = functools.partial(_roll_back_one, driver, migration, migration.down, trace)
        steps.append(_Step(migration, "down", batches[migration.name], run))
    return _run_each(driver, steps, progress)


def _run_each(driver: Driver, steps: Sequence[_Step], progress: Progress | None) -> list[Ran]:
    """Run the steps in order, each reported as it starts and ends; stop at the first failure or signal.

    A signal can land anywhere, writing a report included: a step is done once it is in ``ran``;
    whether the one in hand committed is read from its tracking row.
    """
    ran: list[Ran] = []
    for item in steps:
        name = item.migration.name
        started = time.perf_counter()
        statements: list[str] = []
        try:
            if progress is not None:
                progress.started(name, item.direction)
            item.run(statements)
            ran.append(Ran(name, item.batch, _elapsed(started)))
            if progress is not None:
                progress.ended(name, ran[-1])
        except BaseException as exc:
            stopped = isinstance(exc, Interrupted) or (isinstance(exc, Exception) and interrupts.received() is not None)
            if ran and ran[-1].name == name:  # done; the signal came while it was reported
                if stopped:
                    raise _interrupted(exc, None, ran) from exc
                raise
            if not stopped:
                if progress is not None:
                    progress.ended(name, "failed")
                if isinstance(exc, Exception):
                    raise _failure(item.migration, item.direction, exc, ran, statements) from exc
                raise
            if _completed(driver, item):  # the signal came after its COMMIT
                ran.append(Ran(name, item.batch, _elapsed(started)))
                if progress is not None:
                    progress.ended(name, ran[-1])
                raise _interrupted(exc, None, ran) from exc
            completed = _statements_run(exc, statements)
            if progress is not None:
                if _transactional(item.migration, item.direction):
                    progress.ended(name, "interrupted: rolled back")
                else:
                    progress.ended(name, "interrupted: partly run" if completed else "interrupted: none of it ran")
            raise _interrupted(exc, item, ran, completed) from exc
    return ran


def _completed(driver: Driver, item: _Step) -> bool:
    """Whether the step committed after all (its tracking row says so), once anything left open is rolled back."""
    driver.reset_session()
    recorded = {row.name for row in driver.applied_migrations()}
    return ((item.recorded_as or item.migration.name) in recorded) == (item.direction != "down")


def _statements_run(exc: BaseException, statements: list[str]) -> list[str]:
    """The statements that completed: the last one recorded did not when it is the one that failed or was stopped.

    SQLite records a statement as it starts running, with its parameters bound: one refused before
    (a syntax error, a missing table) is not recorded, and the last one recorded completed.
    """
    cause: BaseException | None = exc
    while cause is not None:
        if getattr(cause, "in_flight", False):  # interrupted inside a statement the engine then cancelled
            return statements[:-1]
        if isinstance(cause, StatementError):
            # any value where a parameter is: ?, ?1, :name, @name, $name (SQLite), %s, %(name)s (psycopg)
            written = re.split(r"\?\d*|[:@$][A-Za-z_]\w*|%(?:\([^)]*\))?s", cause.statement.strip())
            pattern = ".*?".join(map(re.escape, written))
            started = statements and re.fullmatch(pattern, statements[-1].strip(), re.DOTALL)
            return statements[:-1] if started else statements
        if type(cause).__module__ == "sqlite3":
            return statements[:-1]
        cause = cause.__cause__ or cause.__context__
    return statements


def _interrupted(
    exc: BaseException, item: _Step | None, ran: Sequence[Ran], statements: Sequence[str] = ()
) -> MigrationInterrupted:
    signum = exc.signum if isinstance(exc, Interrupted) else (interrupts.received() or signal.SIGINT)
    done = tuple(entry.name for entry in ran)
    again = "what completed before it stays (listed above); run the command again to go on"
    if item is None:
        return MigrationInterrupted("interrupted after the last migration committed", again, done, signum)
    name, transactional = item.migration.name, _transactional(item.migration, item.direction)
    if transactional:
        return MigrationInterrupted(f"interrupted during {name}: rolled back", again, done, signum)
    stopped = MigrationInterrupted(
        f"interrupted during {name}, which runs without a transaction: {_ran_statements(statements)}",
        f"it is not recorded as {'applied' if item.direction == 'up' else 'rolled back'}: either undo what ran "
        "by hand and run the command again, or finish it by hand and record it with kitgen migrate:resolve "
        f"{name} {'--applied' if item.direction == 'up' else '--rolled-back'} (running it again would repeat what ran)",
        done,
        signum,
    )
    stopped.partly_run = bool(statements)
    return stopped


def _ran_statements(statements: Sequence[str], limit: int = 10) -> str:
    if not statements:
        return "none of its statements ran"
    listed = "; ".join(_excerpt(statement.strip().rstrip(";").rstrip(), 80) for statement in statements[:limit])
    more = f"; and {len(statements) - limit} more" if len(statements) > limit else ""
    return f"{len(statements)} statement{'s' if len(statements) != 1 else ''} ran: {listed}{more}"


def _transactional(migration: LoadedMigration, direction: str) -> bool:
    return migration.down_transactional if direction == "down" else migration.transactional


def _collecting(driver: Driver, trace: Trace | None, name: str, into: list[str]) -> AbstractContextManager[None]:
    """Trace a migration run outside a transaction: what ran is what a failure must name."""

    def record(statement: str) -> None:
        into.append(statement)
        if trace is not None:
            trace(name, statement)

    return driver.tracing(record)


def _traced(driver: Driver, trace: Trace | None, name: str) -> AbstractContextManager[None]:
    return nullcontext() if trace is None else driver.tracing(functools.partial(trace, name))


@dataclass
class Relations:
    """The tables and views after the last migration of a run committed: those before the next one (the
    run holds the migration lock, so nothing of kitgen's changes them in between)."""

    known: frozenset[str] | None = None

    def before(self, driver: Driver, db: Database) -> frozenset[str]:
        return self.known if self.known is not None else driver.relation_names(db)


def _apply_one(
    driver: Driver,
    item: Pending,
    batch: int,
    trace: Trace | None,
    statements: list[str],
    *,
    relations: Relations | None = None,
) -> None:
    migration = item.migration
    row = AppliedMigration(
        name=migration.name,
        batch=batch,
        checksum=item.checksum,
        raw_hash=item.raw_hash,
        source=item.source,
        format=migration.format,
        transactional=migration.transactional,
        model=migration.model,
        applied_at=datetime.now(UTC).isoformat(timespec="seconds"),
        checksum_scheme=CHECKSUM_SCHEME,
    )
    relations = relations or Relations()
    driver.reset_session()
    if migration.transactional:
        with driver.transaction(foreign_keys=migration.foreign_keys, checked=True) as db:
            before = relations.before(driver, db)
            with _traced(driver, trace, migration.name):
                migration.up(db)
            after = driver.relation_names(db)
            driver.record_applied(db, replace(row, created=tuple(sorted(after - before))))
    else:
        relations.known = None  # its statements commit one by one: read afresh
        outside = driver.autocommit()
        before = driver.relation_names(outside)
        with _collecting(driver, trace, migration.name, statements):
            migration.up(outside)
        with driver.transaction() as db:
            after = driver.relation_names(db)
            driver.record_applied(db, replace(row, created=tuple(sorted(after - before))))
    relations.known = after  # committed


def load_dump(driver: Driver, dump: SchemaDump, *, trace: Trace | None = None, progress: Progress | None = None) -> Ran:
    """Run the schema file's script and record the migrations it contains, in one transaction.

    Only into a database with no migration applied (the caller decides); the tracking table exists.
    """
    script = LoadedMigration(dump.path.name, "sql", _unused, None, True, None, dump.path)
    run = functools.partial(_load_one, driver, dump, trace)
    last = max(dump.names, default="")
    return _run_each(driver, [_Step(script, "load", DUMP_BATCH, run, last)], progress)[0]


def _unused(db: Database) -> None:
    raise AssertionError("a schema file is run by _load_one")


def _load_one(driver: Driver, dump: SchemaDump, trace: Trace | None, statements: list[str]) -> None:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    driver.reset_session()
    with driver.transaction() as db:
        with _traced(driver, trace, dump.path.name):
            db.executescript(dump.script, dump.first_line)
        for row in dump.rows:
            driver.record_applied(db, replace(row, batch=DUMP_BATCH, applied_at=now))


def _roll_back_one(
    driver: Driver, migration: LoadedMigration, down: Step, trace: Trace | None, statements: list[str]
) -> None:
    driver.reset_session()
    if migration.down_transactional:
        with driver.transaction(foreign_keys=migration.down_foreign_keys, checked=True) as db:
            with _traced(driver, trace, migration.name):
                down(db)
            driver.forget_applied(db, migration.name)
    else:
        with _collecting(driver, trace, migration.name, statements):
            down(driver.autocommit())
        with driver.transaction() as db:
            driver.forget_applied(db, migration.name)


def load_recorded(
    rows: Sequence[AppliedMigration], folder: Path, files: Sequence[MigrationFile] = ()
) -> list[LoadedMigration]:
    """Load the migrations to roll back, each with a down.

    A file whose up is still what was applied is loaded as it is now: its down may have been written
    or fixed since, and that down is the one to run (a down removed from it is refused). A file whose
    up changed, or that is gone, is loaded from the source recorded when it was applied.
    """
    by_name = {file.name: file for file in files}
    by_name.update({update.row.name: update.file for update in history.reconcile(files, rows).renamed})
    loaded = []
    for row in rows:
        file = by_name.get(row.name)
        if file is not None and not history.is_changed(file, row):
            migration = format_for(file.suffix).load(row.name, file.read_text(), file.path)
        else:
            path = folder / f"{row.name}.{row.format}"
            migration = format_for(f".{row.format}").load(row.name, row.source, path)
        if migration.down is None:
            kept = file is not None and history.drops_down(Update(row, file))
            raise IrreversibleMigration(
                f"migration {row.name} has no down and cannot be rolled back",
                (
                    "write its down in the file again (the one recorded when it was applied is kept, in the source "
                    "column of kitgen_migrations)"
                    if kept
                    else "write its down in the file, or a new migration that undoes it"
                )
                + "; nothing was rolled back",
            )
        loaded.append(migration)
    return loaded


def _failure(
    migration: LoadedMigration, step: str, exc: Exception, ran: Sequence[Ran], statements: list[str]
) -> Exception:
    if isinstance(exc, KitgenError) and not isinstance(exc, (ForeignKeyViolation, SchemaChangeRefused)):
        exc.done = tuple(item.name for item in ran)
        return exc  # already explained (database locked, read-only…)
    from kitgen.migrations.python import line_in

    line = exc.line if isinstance(exc, StatementError) and exc.line else line_in(exc, migration.path)
    where = f" at line {line}" if line else ""
    if step == "load":
        return MigrationFailed(
            f"loading {migration.path} failed{where}: {_what(exc)}",
            f"{_fix_dump(exc)}; nothing of it was loaded",
            done=tuple(item.name for item in ran),
        )
    if _transactional(migration, step):
        state = "the database is as it was before it"
    elif isinstance(exc, SchemaChangeRefused):
        state = (
            "the table change was undone, but what the migration ran before it stays (it runs without a transaction: "
            f"{_ran_statements(statements)})"
        )
    else:
        state = (
            "the database is possibly partly changed (it runs without a transaction: "
            f"{_ran_statements(_statements_run(exc, statements))})"
        )
    failed = MigrationFailed(
        f"migration {migration.name} failed in {step}(){where}: {_what(exc)}",
        f"{_fix(migration, step, exc)}; {state}",
        done=tuple(item.name for item in ran),
    )
    failed.partly_run = not _transactional(migration, step) and bool(statements)
    return failed


def _what(exc: Exception) -> str:
    if isinstance(exc, StatementError):
        detail = f" ({exc.detail})" if exc.detail else ""
        return f"{exc.message}{detail} in: {_excerpt(exc.statement)}"
    if isinstance(exc, KitgenError):
        return exc.what
    return f"{type(exc).__name__}: {exc}"


def _fix(migration: LoadedMigration, step: str, exc: Exception) -> str:
    if isinstance(exc, ForeignKeyViolation) and not exc.violations:  # a key that no longer fits its parent
        return "keep the referenced columns the parent's primary key, or under a UNIQUE index or constraint"
    if isinstance(exc, ForeignKeyViolation):
        opt_in = (
            "foreign_keys = True on the class" if migration.format == "py" else f"-- migrate:{step} foreign_keys:on"
        )
        return (
            "delete or update those rows in the migration too; if they are meant to go with their parents, "
            f"{opt_in} lets their ON DELETE / ON UPDATE actions run; to rebuild a table, use "
            "db.alter_table(), or create the new table, copy, drop the old one and rename the new one to its name"
        )
    if isinstance(exc, SchemaChangeRefused) and exc.hint:
        return exc.hint
    if isinstance(exc, StatementError) and step == "up" and "already exists" in exc.message:
        return (
            "fix the migration; or, if the database already has what it creates (made by hand, restored), record it "
            "as applied "
            f"without running it: kitgen migrate:resolve {migration.name} --applied"
        )
    if isinstance(exc, StatementError) and exc.needs_autocommit:
        return _run_outside_transaction(migration, step)
    if isinstance(exc, StatementError) and exc.hint:
        return exc.hint
    return "fix the migration and run the command again"


def _fix_dump(exc: Exception) -> str:
    if isinstance(exc, StatementError) and "already exists" in exc.message:
        return (
            "the schema file builds the whole schema, so it loads only into an empty database: point --database at "
            "one, or empty this one with kitgen migrate:fresh"
        )
    return "write the schema file again with kitgen schema:dump from a database the migrations built"


def _run_outside_transaction(migration: LoadedMigration, step: str) -> str:
    """What to do about a statement that cannot run inside a transaction."""
    if not _transactional(migration, step):
        return "the migration runs outside a transaction, but a BEGIN earlier in it opened one: COMMIT before it"
    if migration.format == "py":
        return "set transaction = False on the migration's class to run it outside a transaction"
    return f"mark the section '-- migrate:{step} transaction:false' to run it outside a transaction"


def _excerpt(statement: str, limit: int = 120) -> str:
    folded = " ".join(statement.split())
    return folded if len(folded) <= limit else folded[: limit - 1] + "…"


def _elapsed(started: float) -> float:
    return (time.perf_counter() - started) * 1000
