"""``kitgen check``: the entities against the migrations, replayed in memory."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kitgen import stamps
from kitgen.codegen import files as entity_files
from kitgen.codegen.plan import plan_entities
from kitgen.commands.migrating import status
from kitgen.config import Config
from kitgen.driver import AppliedMigration, may_exist, scratch_driver
from kitgen.driver.url import ServerUrl
from kitgen.errors import ChangedSinceDumpError, DatabaseError, KitgenError
from kitgen.migrations import dump, files, history, runner
from kitgen.migrations.history import MigrationState
from kitgen.schema.introspect import introspect_schema
from kitgen.schema.model import Schema

if TYPE_CHECKING:
    from kitgen.codegen.check import EntityState

CHECK_STAMP = "check"  # the entities matched what the migrations build


@dataclass(frozen=True)
class CheckResult:
    """What ``kitgen check`` found: the entity files, and (with a database) the migrations."""

    entities: list[EntityState]
    migrations: list[MigrationState] = field(default_factory=list)
    unverified: KitgenError | None = None  # why staleness could not be checked (a server out of reach)

    @property
    def clean(self) -> bool:
        return (
            self.unverified is None
            and all(entry.state == "ok" for entry in self.entities)
            and all(state.state == history.APPLIED for state in self.migrations)
        )


def check(config: Config, *, diff: bool = False, with_database: bool = False) -> CheckResult:
    """Replay every migration into memory and compare the entities with that schema.

    With ``with_database`` (or when the configured database exists), the replay follows the order
    that database applied the migrations in, and applied migrations whose file changed or vanished,
    and pending ones, are reported too.
    """
    from kitgen.codegen.check import edited_states

    try:
        return _check(config, diff=diff, with_database=with_database)
    except DatabaseError as exc:
        if not isinstance(config.database, ServerUrl):
            raise
        return CheckResult(edited_states(config.entities), unverified=exc)


def _check(config: Config, *, diff: bool, with_database: bool) -> CheckResult:
    """The migrations' states, then the entities against the replayed schema: the comparison is skipped when a
    stamp says it found them current and nothing it read changed since (SQLite, and no Python migration to
    replay; see ``kitgen.stamps``)."""
    from kitgen.codegen.check import EntityState, check_entities

    recorded: list[AppliedMigration] = []
    migrations: list[MigrationState] = []
    if with_database or may_exist(config.database):
        result = status(config)
        recorded = result.applied
        migrations = [state for state in result.migrations if state.state != history.APPLIED]
    origin = config.origins.get("model_type", "")
    paths = [config.migrations, config.entities, config.schema_file]
    seen = stamps.folder_states(paths)
    key = stamps.stamp_key(
        CHECK_STAMP,
        *map(str, paths),
        config.model_type,
        origin,
        repr(sorted(config.types.items())),
        repr([(row.name, row.checksum, row.format) for row in recorded]),  # what decides the replay's order
        sqlite3.sqlite_version,  # the replay's engine
    )
    name = stamps.stamp_name(CHECK_STAMP, config.database)
    stampable = isinstance(config.database, Path) and not _replays_python(config)
    if stampable and (verdict := stamps.confirmed(config.root, name, key, paths)):
        files = json.loads(verdict)  # every entity was found current, and nothing it depends on changed since
        return CheckResult([EntityState(Path(path), table, "ok", "") for path, table in files], migrations)
    existing = entity_files.existing_names(config.entities, config.display)  # their names never move
    specs = plan_entities(
        replay_schema(config, recorded), config.model_type, existing, entity_files.existing_members(config.entities)
    )
    entities = check_entities(config.entities, specs, with_diffs=diff, model_type_from=origin)
    if stampable and all(entry.state == "ok" for entry in entities):
        verdict = json.dumps([[str(entry.path), entry.table] for entry in entities])
        stamps.record(config.root, name, key, paths, verdict, seen)
    return CheckResult(entities, migrations)


def _replays_python(config: Config) -> bool:
    """Whether the replay runs a Python migration: one may read any file, or the environment, so its
    verdict is never stamped (an SQL migration holds all it runs)."""
    schema = dump.read_dump(config.schema_file)
    contained = schema.names if schema is not None else frozenset()
    return any(file.suffix == ".py" and file.name not in contained for file in files.discover(config.migrations))


def replay_schema(config: Config, recorded: Sequence[AppliedMigration] = ()) -> Schema:
    """The schema the migrations build, replayed into a private in-memory database (the schema file
    loaded first, when there is one; a file it contains that changed since is refused).

    The migrations a database ``recorded`` replay first, in the order it applied them (the columns
    a merged branch added come in the same order as there), then the others in prefix order.
    """
    found = files.discover(config.migrations)
    schema = dump.read_dump(config.schema_file)
    renamed: list[history.Update] = []
    if schema is not None:  # loaded first, then the migrations it does not contain
        reconciled = history.reconcile(found, schema.rows, schema.rows)
        if reconciled.changed:
            raise ChangedSinceDumpError(tuple(reconciled.changed), config.display(schema.path))
        renamed = reconciled.renamed  # recorded under their new names after the load, as migrate does
        contained = schema.names | {update.file.name for update in renamed}
        found = [file for file in found if file.name not in contained]
    pending = runner.replay_order(found, recorded)
    with scratch_driver(config.database, shadow=config.shadow_database, schemas=config.schemas) as driver:
        driver.ensure_tracking_table()
        if schema is not None:
            runner.load_dump(driver, schema)
            runner.record_updates(driver, renamed)
        runner.apply_all(driver, pending, first_batch=1, step=False)
        return introspect_schema(driver, config.types)
