"""``--pretend``: run a command's migrations on a private copy of the database and report what they did.

The copy is made with the engine's backup API into a temporary folder; the migrations run there
through the same runner as a real run, with the engine's trace recording each statement. The
database and the entities folder are only read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kitgen.commands.session import Applied, Loaded, OnWait, apply_pending, connected, entity_plan, ignore
from kitgen.config import Config
from kitgen.driver import Driver
from kitgen.errors import KitgenError, UsageError
from kitgen.migrations import runner
from kitgen.migrations.runner import Ran, Trace


@dataclass(frozen=True)
class Rehearsed:
    """One migration as it ran on the copy: every statement, in order, parameters bound."""

    name: str
    statements: list[str]


@dataclass(frozen=True)
class EntityChange:
    """An entity file the real run would write or delete, with the unified diff."""

    path: Path
    action: str  # "write", "delete", or "keep" (kitgen would leave it as it is: see reason)
    diff: str
    reason: str = ""


@dataclass(frozen=True)
class PretendResult:
    """What a command would do; ``failure`` is the error the real run would end with."""

    migrations: list[Rehearsed]
    ran: list[Ran] = field(default_factory=list)
    entities: list[EntityChange] = field(default_factory=list)
    failure: KitgenError | None = None
    warnings: list[str] = field(default_factory=list)  # what generating the entities would warn about
    renamed: list[tuple[str, str]] = field(default_factory=list)  # renames the real run would record
    new_downs: list[str] = field(default_factory=list)  # new downs the real run would record
    loaded: Loaded | None = None  # the schema file the real run would load first


Rehearsal = Callable[[Driver, Trace], Applied]


def pretend_migrate(config: Config, *, step: bool = False, on_wait: OnWait = ignore) -> PretendResult:
    """What ``kitgen migrate`` would do, without changing the database or the entities."""
    rehearsal = _rehearse(config, "kitgen migrate --pretend", on_wait)
    return rehearsal(lambda driver, trace: apply_pending(config, driver, step=step, trace=trace))


def pretend_rollback(config: Config, *, steps: int | None = None, on_wait: OnWait = ignore) -> PretendResult:
    """What ``kitgen migrate:rollback`` would do, without changing the database or the entities."""
    from kitgen.commands.rolling_back import last_migrations, load_for_rollback

    if steps is not None and steps < 1:
        raise UsageError(f"--step must be at least 1, got {steps}", "pass the number of migrations to roll back")

    def roll_back(driver: Driver, trace: Trace) -> Applied:
        rows = last_migrations(driver.applied_migrations(), steps)
        loaded = load_for_rollback(config, rows)
        return Applied(runner.roll_back_all(driver, loaded, {row.name: row.batch for row in rows}, trace))

    return _rehearse(config, "kitgen migrate:rollback --pretend", on_wait)(roll_back)


def _rehearse(config: Config, command: str, on_wait: OnWait) -> Callable[[Rehearsal], PretendResult]:
    """Run on a copy taken under the migration lock, as the real command would run now."""

    def rehearse(run: Rehearsal) -> PretendResult:
        statements: dict[str, list[str]] = {}

        def trace(name: str, sql: str) -> None:
            statements.setdefault(name, []).append(sql)

        with connected(config) as database, database.lock(command, on_wait), database.rehearsal() as copy:
            try:
                done = run(copy, trace)
            except KitgenError as failure:
                names = [*failure.done, *(name for name in statements if name not in failure.done)]
                return PretendResult([Rehearsed(name, statements.get(name, [])) for name in names], failure=failure)
            loaded = [done.loaded.path.name] if done.loaded is not None else []  # the schema file, loaded first
            rehearsed = [Rehearsed(name, statements.get(name, [])) for name in [*loaded, *(i.name for i in done.ran)]]
            try:
                changes, warnings = entity_changes(config, copy)
            except KitgenError as failure:  # the real run would keep the migrations and stop at the entities
                failure.done = tuple(item.name for item in done.ran)
                return PretendResult(
                    rehearsed, done.ran, failure=failure, renamed=done.renamed, new_downs=done.new_downs
                )
            return PretendResult(
                rehearsed,
                done.ran,
                changes,
                warnings=warnings,
                renamed=done.renamed,
                new_downs=done.new_downs,
                loaded=done.loaded,
            )

    return rehearse


def entity_changes(config: Config, driver: Driver) -> tuple[list[EntityChange], list[str]]:
    """The entity files a real run would write, delete or leave, from the same plan as ``generate``; its warnings."""
    from kitgen.codegen import files as entity_files
    from kitgen.codegen.generate import compose, precision_warnings

    if not driver.exists or not config.generate:
        return [], []
    plan = entity_plan(config, driver)
    if plan.current:
        return [], []
    outputs = compose(plan)
    changes = [
        EntityChange(path, "write", entity_files.unified_diff(path.name, _current(path), text))
        for path, text in sorted(outputs.written.items())
    ]
    changes += [
        EntityChange(path, "delete", entity_files.unified_diff(path.name, _current(path), ""))
        for path in outputs.deleted
    ]
    changes += [EntityChange(item.path, "keep", item.diff, item.reason) for item in outputs.flagged]
    return changes, precision_warnings([spec for spec in plan.stale if plan.folder / spec.filename in outputs.written])


def _current(path: Path) -> str:
    from kitgen.codegen import files as entity_files

    return entity_files.read_text(path) if path.exists() else ""
