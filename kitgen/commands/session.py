"""What the commands share: an open driver, applying what is pending, regenerating entities."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from kitgen.codegen import files as entity_files
from kitgen.codegen import generate as generation
from kitgen.codegen.generate import GenerateResult
from kitgen.codegen.plan import plan_entities
from kitgen.config import Config
from kitgen.driver import Driver, open_driver
from kitgen.errors import MigrationFailed
from kitgen.migrations import files, runner
from kitgen.migrations.runner import Ran
from kitgen.schema.introspect import introspect_schema

T = TypeVar("T")
Confirm = Callable[[str], bool]
OnWait = Callable[[str], None]


def ignore(_: str) -> None:
    """The default ``on_wait``: say nothing."""


@contextmanager
def connected(config: Config, *, readonly: bool = False) -> Iterator[Driver]:
    driver = open_driver(config.database, lock_timeout=config.lock_timeout, readonly=readonly)
    try:
        yield driver
    finally:
        driver.close()


def entity_plan(config: Config, driver: Driver, *, force: bool = False) -> generation.Plan:
    specs = plan_entities(introspect_schema(driver, config.types), config.model_type)
    return generation.plan_generation(config.entities, specs, force=force)


def regenerate(config: Config, driver: Driver, *, force: bool = False) -> GenerateResult:
    """Bring the entities up to date; without a database there is no schema to follow, so nothing changes."""
    if not driver.exists:
        return GenerateResult()
    plan = entity_plan(config, driver, force=force)
    if plan.current:
        return GenerateResult(unchanged=len(plan.specs))
    return generation.execute(plan, force=force)


def regenerating_after_failure(config: Config, driver: Driver, run: Callable[[], T]) -> T:
    """Run a migration step; if a migration fails, the entities still follow what was applied."""
    try:
        return run()
    except MigrationFailed as failure:
        if failure.done:
            failure.entities = regenerate(config, driver)
        raise


def apply_pending(config: Config, driver: Driver, *, step: bool, trace: runner.Trace | None = None) -> list[Ran]:
    applied = driver.applied_migrations()
    found = files.discover(config.migrations)
    runner.ensure_unchanged(found, applied)
    pending = runner.load_pending(found, applied)
    if not pending:
        return []
    entity_files.ensure_writable(config.entities)  # the entities will follow: check before changing anything
    driver.ensure_tracking_table()
    return runner.apply_all(driver, pending, first_batch=runner.next_batch(applied), step=step, trace=trace)
