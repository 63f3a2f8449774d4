"""Apply and roll back migrations, one transaction each, tracking row included."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from kitgen.driver import AppliedMigration, Driver, StatementError
from kitgen.errors import (
    ChangedMigrationsError,
    ForeignKeyViolation,
    IrreversibleMigration,
    KitgenError,
    MigrationFailed,
    MigrationFileError,
    SchemaChangeRefused,
)
from kitgen.migrations.base import Database
from kitgen.migrations.files import MigrationFile, decode_source
from kitgen.migrations.formats import LoadedMigration, Step, format_for, raw_hash

APPLIED, PENDING, CHANGED, MISSING = "applied", "pending", "changed", "missing"


@dataclass(frozen=True)
class MigrationState:
    """A migration as ``migrate:status`` reports it."""

    name: str
    state: str
    batch: int | None = None
    applied_at: str | None = None
    transactional: bool = True


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


def compare(files: Sequence[MigrationFile], applied: Sequence[AppliedMigration]) -> list[MigrationState]:
    """The state of every migration, from the files and the tracking rows."""
    rows = {row.name: row for row in applied}
    on_disk = {file.name: file for file in files}
    states = []
    for name in sorted(rows.keys() | on_disk.keys()):
        row, file = rows.get(name), on_disk.get(name)
        if row is None:
            states.append(MigrationState(name, PENDING))
        else:
            state = MISSING if file is None else (CHANGED if is_changed(file, row) else APPLIED)
            states.append(MigrationState(name, state, row.batch, row.applied_at, row.transactional))
    return states


def is_changed(file: MigrationFile, row: AppliedMigration) -> bool:
    """Whether the file's statements differ from what was applied (raw hash first)."""
    data = file.read_bytes()
    if raw_hash(data) == row.raw_hash:
        return False
    try:
        return format_for(file.suffix).checksum(decode_source(data, file.path)) != row.checksum
    except MigrationFileError:
        return True


def all_applied(files: Sequence[MigrationFile], applied: Sequence[AppliedMigration]) -> bool:
    """True when the files are exactly the applied migrations, none of them changed."""
    rows = {row.name: row for row in applied}
    if len(rows) != len(files):
        return False
    return all(file.name in rows and not is_changed(file, rows[file.name]) for file in files)


def ensure_unchanged(files: Sequence[MigrationFile], applied: Sequence[AppliedMigration]) -> None:
    """Refuse to go on when an applied migration's file changed."""
    changed = tuple(state.name for state in compare(files, applied) if state.state == CHANGED)
    if changed:
        raise ChangedMigrationsError(changed)


def load_pending(files: Sequence[MigrationFile], applied: Sequence[AppliedMigration]) -> list[Pending]:
    """Load every pending migration before any runs, so a broken file stops nothing halfway."""
    done = {row.name for row in applied}
    pending = []
    for file in files:
        if file.name in done:
            continue
        data = file.read_bytes()
        source = file.read_text()
        fmt = format_for(file.suffix)
        migration = fmt.load(file.name, source, file.path)
        pending.append(Pending(migration, source, fmt.checksum(source), raw_hash(data)))
    if pending:
        reject_copied_classes(files, {item.migration.name for item in pending})
    return pending


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


def _traced(driver: Driver, trace: Trace | None, name: str) -> AbstractContextManager[None]:
    return nullcontext() if trace is None else driver.tracing(functools.partial(trace, name))


def apply_all(
    driver: Driver, pending: Sequence[Pending], *, first_batch: int, step: bool, trace: Trace | None = None
) -> list[Ran]:
    """Apply migrations in order; on a failure the ones before it stay applied and are reported."""
    ran: list[Ran] = []
    for index, item in enumerate(pending):
        batch = first_batch + index if step else first_batch
        started = time.perf_counter()
        try:
            _apply_one(driver, item, batch, trace)
        except Exception as exc:
            raise _failure(item.migration, "up", exc, ran) from exc
        ran.append(Ran(item.migration.name, batch, _elapsed(started)))
    return ran


def _apply_one(driver: Driver, item: Pending, batch: int, trace: Trace | None) -> None:
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
    )
    driver.reset_session()
    if migration.transactional:
        with driver.transaction(foreign_keys=migration.foreign_keys, checked=True) as db:
            before = driver.relation_names(db)
            with _traced(driver, trace, migration.name):
                migration.up(db)
            driver.record_applied(db, replace(row, created=_created(driver, db, before)))
    else:
        outside = driver.autocommit()
        before = driver.relation_names(outside)
        with _traced(driver, trace, migration.name):
            migration.up(outside)
        with driver.transaction() as db:
            driver.record_applied(db, replace(row, created=_created(driver, db, before)))


def _created(driver: Driver, db: Database, before: frozenset[str]) -> tuple[str, ...]:
    return tuple(sorted(driver.relation_names(db) - before))


def load_recorded(rows: Sequence[AppliedMigration], folder: Path) -> list[LoadedMigration]:
    """Load migrations from the source recorded when they were applied; each needs a down."""
    loaded = []
    for row in rows:
        path = folder / f"{row.name}.{row.format}"
        migration = format_for(f".{row.format}").load(row.name, row.source, path)
        if migration.down is None:
            raise IrreversibleMigration(
                f"migration {row.name} has no down and cannot be rolled back",
                "write a new migration that undoes it instead; nothing was rolled back",
            )
        loaded.append(migration)
    return loaded


def roll_back_all(
    driver: Driver, migrations: Sequence[LoadedMigration], batches: dict[str, int], trace: Trace | None = None
) -> list[Ran]:
    """Run each ``down`` and forget its tracking row, in the order given."""
    ran: list[Ran] = []
    for migration in migrations:
        started = time.perf_counter()
        assert migration.down is not None
        try:
            _roll_back_one(driver, migration, migration.down, trace)
        except Exception as exc:
            raise _failure(migration, "down", exc, ran) from exc
        ran.append(Ran(migration.name, batches[migration.name], _elapsed(started)))
    return ran


def _roll_back_one(driver: Driver, migration: LoadedMigration, down: Step, trace: Trace | None) -> None:
    driver.reset_session()
    if migration.down_transactional:
        with driver.transaction(foreign_keys=migration.down_foreign_keys, checked=True) as db:
            with _traced(driver, trace, migration.name):
                down(db)
            driver.forget_applied(db, migration.name)
    else:
        with _traced(driver, trace, migration.name):
            down(driver.autocommit())
        with driver.transaction() as db:
            driver.forget_applied(db, migration.name)


def _failure(migration: LoadedMigration, step: str, exc: Exception, ran: Sequence[Ran]) -> Exception:
    if isinstance(exc, KitgenError) and not isinstance(exc, (ForeignKeyViolation, SchemaChangeRefused)):
        return exc  # already explained (database locked, read-only…)
    from kitgen.migrations.python import line_in

    line = exc.line if isinstance(exc, StatementError) and exc.line else line_in(exc, migration.path)
    where = f" at line {line}" if line else ""
    transactional = migration.transactional if step == "up" else migration.down_transactional
    if transactional:
        state = "the database is as it was before it"
    elif isinstance(exc, SchemaChangeRefused):
        state = (
            "the table change was undone, but what the migration ran before it stays (it runs without a transaction)"
        )
    else:
        state = "the database is possibly partly changed (it runs without a transaction)"
    return MigrationFailed(
        f"migration {migration.name} failed in {step}(){where}: {_what(exc)}",
        f"{_fix(migration, step, exc)}; {state}",
        done=tuple(item.name for item in ran),
    )


def _what(exc: Exception) -> str:
    if isinstance(exc, StatementError):
        return f"{exc.message} in: {_excerpt(exc.statement)}"
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
    if isinstance(exc, StatementError) and exc.needs_autocommit:
        if migration.format == "py":
            return "set transaction = False on the migration's class to run it outside a transaction"
        return f"mark the section '-- migrate:{step} transaction:false' to run it outside a transaction"
    return "fix the migration and run the command again"


def _excerpt(statement: str, limit: int = 120) -> str:
    folded = " ".join(statement.split())
    return folded if len(folded) <= limit else folded[: limit - 1] + "…"


def _elapsed(started: float) -> float:
    return (time.perf_counter() - started) * 1000
