"""``kitgen migrate``, ``kitgen generate`` and ``kitgen migrate:status``."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from kitgen import stamps
from kitgen.codegen import files as entity_files
from kitgen.codegen.generate import GenerateResult
from kitgen.commands.session import (
    Loaded,
    OnWait,
    apply_pending,
    connected,
    dumped_names,
    entities_current,
    ignore,
    regenerate,
    regenerating_after_failure,
)
from kitgen.config import Config, search_root
from kitgen.driver import AppliedMigration, local_files, may_exist
from kitgen.errors import ENTITIES_LEFT, DatabaseError, KitgenError, MigrationFileError, ModelNameTaken
from kitgen.migrations import dump, files, history
from kitgen.migrations.files import decode_source
from kitgen.migrations.formats import formats
from kitgen.migrations.history import MigrationState
from kitgen.migrations.runner import Progress, Ran


@dataclass(frozen=True)
class MigrateResult:
    applied: list[Ran]
    missing: list[str] = field(default_factory=list)
    entities: GenerateResult = field(default_factory=GenerateResult)
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (recorded name, new file name), not run
    new_downs: list[str] = field(default_factory=list)  # applied migrations whose edited down was recorded
    loaded: Loaded | None = None  # the schema file, loaded first into a database with no migration applied


@dataclass(frozen=True)
class StatusResult:
    database: str
    migrations: list[MigrationState]
    applied: list[AppliedMigration] = field(default_factory=list)  # the tracking rows, in the order applied

    @property
    def clean(self) -> bool:
        return all(state.state == history.APPLIED for state in self.migrations)


def migrate(
    config: Config,
    *,
    step: bool = False,
    allow_out_of_order: bool = False,
    on_wait: OnWait = ignore,
    progress: Progress | None = None,
) -> MigrateResult:
    """Apply every pending migration, in prefix order, one transaction each; then regenerate entities.

    A pending migration older than the newest applied one is refused unless ``allow_out_of_order``
    (or ``out_of_order = true``); a renamed file is recorded under its new name, not run again.
    """
    with connected(config) as driver, driver.lock("kitgen migrate", on_wait):
        done = regenerating_after_failure(
            config,
            driver,
            lambda: apply_pending(config, driver, step=step, allow_out_of_order=allow_out_of_order, progress=progress),
        )
        on_disk = {file.name for file in files.discover(config.migrations)} | dumped_names(config)
        missing = [row.name for row in driver.applied_migrations() if row.name not in on_disk]
        try:
            entities = regenerate(config, driver)
        except Exception as unexpected:
            error = unexpected if isinstance(unexpected, KitgenError) else _unexpected(unexpected)
            error.done = tuple(item.name for item in done.ran)  # applied, and reported, before the failure
            if isinstance(error, ModelNameTaken) and error.migration in error.done:
                error.applied()
            elif error.done:
                count = len(error.done)
                error.what = (
                    f"{count} migration{'s were' if count > 1 else ' was'} applied, but the entities were not "
                    f"brought up to date: {error.what}"
                )
            if error.done:
                error.exit_code = ENTITIES_LEFT  # the database changed as asked: not a failed migration
            if error is unexpected:
                raise
            raise error from unexpected
        return MigrateResult(done.ran, missing, entities, done.renamed, done.new_downs, done.loaded)


def _unexpected(exc: Exception) -> KitgenError:
    """An error kitgen did not foresee while writing the entities, told as one (with what was applied)."""
    return KitgenError(
        f"unexpected {type(exc).__name__} while writing the entities: {exc}",
        "rerun with --traceback and report it; kitgen generate writes them once it is fixed",
    )


def generate(config: Config, *, force: bool = False, on_wait: OnWait = ignore) -> GenerateResult:
    """Bring the entities folder up to date with the database's schema."""
    with connected(config) as driver, driver.lock("kitgen generate", on_wait):
        entity_files.scan(config.entities)  # a missing entities folder is the first thing to fix
        if not driver.exists:
            raise DatabaseError(
                f"the database {config.database} does not exist, so there is no schema to generate from",
                "run kitgen migrate first (or point --database at the database)",
            )
        return regenerate(config, driver, force=force, asked=True)


def nothing_to_migrate(config: Config) -> bool:
    """Whether every migration file is applied and unchanged, and none is missing.

    Decided from raw hashes under the lock, without waiting for it: a held lock means "not sure". A "yes"
    about a SQLite database is stamped (see ``noop_watched``), and the next run in the same folder and
    environment takes it while nothing it watches changed (``kitgen.entry``).
    """
    if not may_exist(config.database):
        return False
    watched = noop_watched(config)
    seen = stamps.states(watched) if watched else ()
    quick = dataclasses.replace(config, lock_timeout=0)  # busy: not sure, and the full command waits
    with connected(quick) as driver, driver.lock("kitgen migrate", ignore, timeout=0):
        applied = driver.applied_migrations()
        schema = dump.read_dump(config.schema_file)
        if not history.all_applied(files.discover(config.migrations), applied, schema.rows if schema else ()):
            return False
        if config.generate and not entities_current(config, driver):
            return False
    if watched:
        stamps.record_noop(config.root, os.environ, watched, seen)
    return True


def noop_watched(config: Config) -> list[stamps.Watched]:
    """Everything "nothing to migrate" depends on, when it is all in local files (a SQLite database): what
    found the project root and its settings, where each configured path leads (a symlink re-pointed leads
    elsewhere), the database's files, the migrations, the schema file, the entities, kitgen's code and the
    folders Python imports from. Empty for a server."""
    database = local_files(config.database)
    if database is None:
        return []
    looked = search_root(Path.cwd().resolve())[1]
    return [
        *looked,
        *(("realpath", str(path)) for _, path in sorted(config.as_written.items())),
        *(("stat", str(path)) for path in database),
        ("list", str(config.migrations)),
        ("stat", str(config.schema_file)),
        ("list", str(config.entities)),
        *stamps.code_watched(),
        *stamps.interpreter_watched(),
    ]


def status(config: Config) -> StatusResult:
    """The state of every migration; reads the database without changing it."""
    with connected(config, readonly=True) as driver:
        applied = driver.applied_migrations()
    found = files.discover(config.migrations)
    schema = dump.read_dump(config.schema_file)
    if schema is not None and not applied and schema.rows:  # what migrate would do: load it first
        states = [
            dataclasses.replace(state, state=history.PENDING, batch=None, applied_at=None, in_schema_file=True)
            if state.state == history.APPLIED
            else state
            for state in history.compare(found, schema.rows, out_of_order=config.out_of_order, dumped=schema.rows)
        ]
    else:
        dumped = schema.rows if schema is not None else ()
        states = history.compare(found, applied, out_of_order=config.out_of_order, dumped=dumped)
    return StatusResult(str(config.database), [_with_options(config, state) for state in states], applied)


def _with_options(config: Config, state: MigrationState) -> MigrationState:
    """Pending migrations: read their transaction option from the file, without running it."""
    if state.state != history.PENDING:
        return state
    for suffix, fmt in sorted(formats().items()):
        path = config.migrations / f"{state.name}{suffix}"
        if path.exists():
            try:
                description = fmt.describe(decode_source(path.read_bytes(), path), path)
            except (MigrationFileError, OSError):
                return state
            return dataclasses.replace(state, transactional=description.transactional)
    return state
