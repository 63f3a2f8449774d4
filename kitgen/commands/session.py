"""What the commands share: an open driver, applying what is pending, regenerating entities."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from kitgen import interrupts, stamps
from kitgen.codegen import files as entity_files
from kitgen.codegen import generate as generation
from kitgen.codegen.generate import GenerateResult
from kitgen.codegen.plan import plan_entities
from kitgen.config import Config
from kitgen.driver import AppliedMigration, Driver, open_driver
from kitgen.errors import ChangedSinceDumpError, MigrationFailed, OtherBranch, OutOfOrderError
from kitgen.migrations import dump, files, history, runner
from kitgen.migrations.runner import Ran
from kitgen.schema.introspect import build_schema, introspect_schema, origins
from kitgen.schema.model import Schema

T = TypeVar("T")
Confirm = Callable[[str], bool]
OnWait = Callable[[str], None]


def ignore(_: str) -> None:
    """The default ``on_wait``: say nothing."""


@contextmanager
def connected(config: Config, *, readonly: bool = False) -> Iterator[Driver]:
    driver = open_driver(config.database, lock_timeout=config.lock_timeout, readonly=readonly, schemas=config.schemas)
    try:
        with interrupts.stop_statements(driver.interrupt):
            yield driver
    finally:
        driver.close()


def entity_plan(
    config: Config, driver: Driver, *, force: bool = False, schema: Schema | None = None
) -> generation.Plan:
    """What generating the entities would write, from ``schema`` (by default, the database's)."""
    existing = entity_files.existing_names(config.entities, config.display)  # their names never move
    specs = plan_entities(
        schema or introspect_schema(driver, config.types),
        config.model_type,
        existing,
        entity_files.existing_members(config.entities),
    )
    origin = config.origins.get("model_type", "")
    return generation.plan_generation(config.entities, specs, force=force, model_type_from=origin)


ENTITIES_STAMP = "entities"


def _current_count(config: Config, driver: Driver, *, force: bool) -> tuple[int | None, generation.Plan | None]:
    """The number of entities when they are current for the database's schema (a stamp confirms it, or the
    full comparison finds it and stamps it); else None and the plan that brings them up to date."""
    applied = driver.applied_migrations()
    key = stamps.stamp_key(
        ENTITIES_STAMP,
        str(config.entities),
        config.model_type,
        config.origins.get("model_type", ""),
        repr(sorted(config.types.items())),
        driver.schema_fingerprint(),
        repr(sorted(origins(applied).items())),
    )
    folders = [config.entities]
    seen = stamps.folder_states(folders)
    name = stamps.stamp_name(ENTITIES_STAMP, config.database)
    if not force and (count := stamps.confirmed(config.root, name, key, folders)) is not None:
        return int(count), None
    schema = build_schema(driver.read_schema(), config.types, origins(applied))
    plan = entity_plan(config, driver, force=force, schema=schema)
    if not plan.current:
        return None, plan
    stamps.record(config.root, name, key, folders, str(len(plan.specs)), seen)
    return len(plan.specs), plan


def entities_current(config: Config, driver: Driver) -> bool:
    """Whether ``kitgen generate`` would leave every entity file as it is."""
    return _current_count(config, driver, force=False)[0] is not None


def regenerate(config: Config, driver: Driver, *, force: bool = False, asked: bool = False) -> GenerateResult:
    """Bring the entities up to date; without a database there is no schema to follow, so nothing changes.

    With ``generate = false`` (a server, ``--no-generate``) only ``kitgen generate`` itself (``asked``) writes.
    """
    if not driver.exists or not (config.generate or asked):
        return GenerateResult()
    count, plan = _current_count(config, driver, force=force)
    if count is not None:
        return GenerateResult(unchanged=count)
    assert plan is not None
    return generation.execute(plan, force=force)


def regenerating_after_failure(
    config: Config, driver: Driver, run: Callable[[], T], *, changed_before: bool = False
) -> T:
    """Run a migration step; if a migration fails or is interrupted, the entities still follow what was
    done: the migrations completed before it, or (``changed_before``) what the command changed first
    (``refresh``'s roll back, ``fresh``'s drop)."""
    try:
        return run()
    except MigrationFailed as failure:
        if failure.done or failure.partly_run or changed_before:
            failure.entities = regenerate(config, driver)
        raise


@dataclass(frozen=True)
class Applied:
    """What applying the pending migrations did: run some, and bring tracking rows up to date."""

    ran: list[Ran] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (recorded name, new file name)
    new_downs: list[str] = field(default_factory=list)  # applied migrations whose new down was recorded
    loaded: Loaded | None = None  # the schema file, loaded first into a database with no migration applied


@dataclass(frozen=True)
class Loaded:
    """The schema file a command loaded: where, how many migrations it contains, how long it took."""

    path: Path
    migrations: int
    milliseconds: float


def dumped_names(config: Config) -> frozenset[str]:
    """The migrations the schema file contains (none without one)."""
    schema = dump.read_dump(config.schema_file)
    return schema.names if schema is not None else frozenset()


@dataclass(frozen=True)
class Plan:
    """What applying would do, every refusal checked: load the schema file first (``loading``), record
    ``reconciled``'s bookkeeping, then run ``pending``."""

    applied: list[AppliedMigration]
    reconciled: history.Reconciliation
    pending: list[runner.Pending]
    loading: dump.SchemaDump | None


def plan_pending(config: Config, applied: list[AppliedMigration], *, allow_out_of_order: bool = False) -> Plan:
    """Decide what to apply onto a database that recorded ``applied`` ([] for one about to be emptied),
    refusing as ``migrate`` would: a changed migration, one out of order, one the schema file contains that
    this database never applied and whose file is gone, a file that does not load, an entities folder that
    cannot be written. Nothing is changed."""
    found = files.discover(config.migrations)
    schema = dump.read_dump(config.schema_file)
    dumped = schema.rows if schema is not None else ()
    loading = schema if schema is not None and not applied and schema.rows else None
    reconciled = history.reconcile(found, loading.rows if loading else applied, dumped)
    if loading is not None and reconciled.changed:
        raise ChangedSinceDumpError(tuple(reconciled.changed), config.display(loading.path))
    history.ensure_unchanged(reconciled)
    history.ensure_reachable(reconciled, config.display(config.schema_file))
    allowed = allow_out_of_order or config.out_of_order
    if not allowed:
        history.ensure_in_order(reconciled)
    pending = runner.load_files(found, reconciled.pending)
    if reconciled.out_of_order and not allowed:
        raise OutOfOrderError(
            tuple(file.name for file in reconciled.out_of_order),
            reconciled.newest or "",
            newer_names(reconciled.out_of_order),
            branch=_other_branch(applied, reconciled),
            newest_in=config.display(loading.path) if loading is not None else None,
        )
    if (pending or loading) and config.generate:
        entity_files.ensure_writable(config.entities)  # the entities will follow: check before changing anything
    return Plan(applied, reconciled, pending, loading)


def apply_pending(
    config: Config,
    driver: Driver,
    *,
    step: bool,
    trace: runner.Trace | None = None,
    allow_out_of_order: bool = False,
    progress: runner.Progress | None = None,
) -> Applied:
    """Apply what is pending, in prefix order; first load the schema file into a database with no migration
    applied, and record renamed files and new downs. Everything that can refuse is checked before the
    database changes (``plan_pending``)."""
    plan = plan_pending(config, driver.applied_migrations(), allow_out_of_order=allow_out_of_order)
    loaded = None
    if plan.loading is not None:
        driver.ensure_tracking_table()
        took = runner.load_dump(driver, plan.loading, trace=trace, progress=progress).milliseconds
        loaded = Loaded(plan.loading.path, len(plan.loading.rows), took)
    reconciled = plan.reconciled
    runner.record_updates(driver, reconciled.bookkeeping)
    renamed = [(update.row.name, update.file.name) for update in reconciled.renamed]
    new_downs = [update.file.name for update in reconciled.new_downs]
    if not plan.pending:
        return Applied([], renamed, new_downs, loaded)
    driver.ensure_tracking_table()
    try:
        ran = runner.apply_all(
            driver, plan.pending, first_batch=runner.next_batch(plan.applied), step=step, trace=trace, progress=progress
        )
    except MigrationFailed as failure:
        if loaded is not None:  # the schema file stays loaded: the entities follow it too
            failure.done = (loaded.path.name, *failure.done)
        raise
    return Applied(ran, renamed, new_downs, loaded)


def _other_branch(applied: list[AppliedMigration], reconciled: history.Reconciliation) -> OtherBranch | None:
    """When an applied migration newer than the pending ones has no file here (another branch applied it)."""
    oldest = min(file.name for file in reconciled.out_of_order)
    order = [row.name for row in applied]
    gone = [index for index, name in enumerate(order) if name in reconciled.missing and name > oldest]
    if not gone:
        return None
    tail = tuple(order[min(gone) :])
    return OtherBranch(order[min(gone)], tail, tuple(name for name in tail if name not in reconciled.missing))


def newer_names(older: list[files.MigrationFile]) -> tuple[str, ...]:
    """File names with a prefix from now (a second apart), for migrations merged out of order."""
    moment = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    return tuple(
        f"{(moment + timedelta(seconds=index)).strftime('%Y_%m_%d_%H%M%S')}_{file.label}{file.suffix}"
        for index, file in enumerate(older)
    )
