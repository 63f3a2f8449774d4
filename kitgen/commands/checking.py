"""``kitgen check``: the entities against the migrations, replayed in memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kitgen.codegen.plan import plan_entities
from kitgen.commands.migrating import status
from kitgen.config import Config
from kitgen.driver import open_memory_driver
from kitgen.migrations import files, runner
from kitgen.migrations.runner import MigrationState
from kitgen.schema.introspect import introspect_schema
from kitgen.schema.model import Schema

if TYPE_CHECKING:
    from kitgen.codegen.check import EntityState


@dataclass(frozen=True)
class CheckResult:
    """What ``kitgen check`` found: the entity files, and (with a database) the migrations."""

    entities: list[EntityState]
    migrations: list[MigrationState] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return all(entry.state == "ok" for entry in self.entities) and all(
            state.state == runner.APPLIED for state in self.migrations
        )


def check(config: Config, *, diff: bool = False, with_database: bool = False) -> CheckResult:
    """Replay every migration into memory and compare the entities with that schema.

    With ``with_database`` (or when the configured database exists), applied migrations whose file
    changed or vanished, and pending ones, are reported too.
    """
    from kitgen.codegen.check import check_entities

    specs = plan_entities(replay_schema(config), config.model_type)
    entities = check_entities(config.entities, specs, with_diffs=diff)
    migrations: list[MigrationState] = []
    if with_database or config.database.exists():
        migrations = [state for state in status(config).migrations if state.state != runner.APPLIED]
    return CheckResult(entities, migrations)


def replay_schema(config: Config) -> Schema:
    """The schema the migrations build, replayed into a private in-memory database."""
    driver = open_memory_driver()
    try:
        found = files.discover(config.migrations)
        pending = runner.load_pending(found, [])
        driver.ensure_tracking_table()
        runner.apply_all(driver, pending, first_batch=1, step=False)
        return introspect_schema(driver, config.types)
    finally:
        driver.close()
