"""``kitgen migrate:resolve``: the ways out of a history that no longer matches, one tracking row at a time."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from kitgen.commands.rolling_back import authorize
from kitgen.commands.session import OnWait, connected, ignore
from kitgen.config import Config
from kitgen.driver import AppliedMigration, Driver, scratch_driver
from kitgen.errors import KitgenError, UsageError
from kitgen.migrations import files, history, runner
from kitgen.migrations.files import MigrationFile

APPLIED, ROLLED_BACK, ACCEPT_CHANGES = "applied", "rolled-back", "accept-changes"
ACTIONS = (APPLIED, ROLLED_BACK, ACCEPT_CHANGES)


@dataclass(frozen=True)
class ResolveResult:
    """The one tracking row ``migrate:resolve`` changed."""

    name: str
    action: str
    batch: int | None = None


def resolve(config: Config, name: str, action: str, *, on_wait: OnWait = ignore) -> ResolveResult:
    """Change only the tracking row of ``name``: record it as applied without running it, forget it
    without running its down, or take its file's current content as what was applied."""
    if action not in ACTIONS:
        raise UsageError(f"unknown resolution {action!r}", f"use one of {', '.join('--' + a for a in ACTIONS)}")
    authorize(config, "migrate:resolve", force=True, confirm=None, question="")  # refused only under protect
    name = _stem(name)
    with connected(config) as driver, driver.lock("kitgen migrate:resolve", on_wait):
        applied = driver.applied_migrations()
        found = files.discover(config.migrations)
        row = next((row for row in applied if row.name == name), None)
        file = next((file for file in found if file.name == name), None)
        if row is None and file is None:
            raise UsageError(f"no migration named {name}", _suggestion(name, [*found], applied))
        if action == APPLIED:
            return _mark_applied(config, driver, name, row, file, found, applied)
        if row is None:
            nothing = "no record to forget" if action == ROLLED_BACK else "nothing to accept"
            raise KitgenError(
                f"{name} is not applied, so there is {nothing}",
                "kitgen migrate:status shows what is applied; --applied records a pending one",
            )
        if action == ROLLED_BACK:
            with driver.transaction() as db:
                driver.forget_applied(db, name)
            return ResolveResult(name, action, row.batch)
        return _accept_changes(driver, row, file)


def _stem(name: str) -> str:
    """``NAME``, ``NAME.py`` or a path to the file all name the migration ``NAME``."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    for suffix in (".py", ".sql"):
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


def _suggestion(name: str, found: list[MigrationFile], applied: list[AppliedMigration]) -> str:
    known = sorted({file.name for file in found} | {row.name for row in applied})
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    if close:
        return f"did you mean {' or '.join(close)}?"
    return "pass a migration's name as kitgen migrate:status lists it"


def _mark_applied(
    config: Config,
    driver: Driver,
    name: str,
    row: AppliedMigration | None,
    file: MigrationFile | None,
    found: list[MigrationFile],
    applied: list[AppliedMigration],
) -> ResolveResult:
    if row is not None:
        raise KitgenError(f"{name} is already applied (batch {row.batch})", "nothing to record")
    assert file is not None
    reconciled = history.reconcile(found, applied)
    reordered = {moved.file.name for moved in reconciled.reordered}
    renamed = {update.file.name: update.row.name for update in reconciled.renamed if update.file.name not in reordered}
    if name in renamed:
        raise KitgenError(
            f"{name} is {renamed[name]} renamed (the same statements, applied in batch "
            f"{next(r.batch for r in applied if r.name == renamed[name])})",
            "kitgen migrate records its new name; nothing was recorded",
        )
    batch = runner.next_batch(applied)
    record = runner.recorded_without_running(file, batch, _created_by(config, file, found, applied))
    driver.ensure_tracking_table()
    with driver.transaction() as db:
        driver.record_applied(db, record)
    return ResolveResult(name, APPLIED, batch)


def _accept_changes(driver: Driver, row: AppliedMigration, file: MigrationFile | None) -> ResolveResult:
    if file is None:
        raise KitgenError(
            f"{row.name} has no file, so there is no content to accept",
            "restore the file, or forget the migration with --rolled-back",
        )
    if history.compare([file], [row])[0].state != history.CHANGED:
        raise KitgenError(
            f"{row.name} has not changed since it was applied",
            "nothing to accept (its down, if edited, is recorded by the next kitgen migrate)",
        )
    if history.drops_down(history.Update(row, file)):
        raise KitgenError(
            f"{row.name}'s file has no down, and accepting it would lose the down recorded when it was applied",
            "write its down in the file again (the recorded one is in the source column of kitgen_migrations), "
            "then accept it; nothing was recorded",
        )
    driver.ensure_tracking_table()
    with driver.transaction() as db:
        driver.update_applied(db, row.name, runner.recorded(file, row))
    return ResolveResult(row.name, ACCEPT_CHANGES, row.batch)


def _created_by(
    config: Config, file: MigrationFile, found: list[MigrationFile], applied: list[AppliedMigration]
) -> tuple[str, ...]:
    """The tables and views ``file`` creates, which its entities follow (its ``model``, "created by").

    It does not run here, so it is replayed in a private in-memory database after the migrations
    recorded, as ``kitgen check`` replays them; when that replay fails, none are recorded.
    """
    recorded = {row.name for row in applied}
    chosen = [each for each in found if each.name in recorded or each.name == file.name]
    try:
        with scratch_driver(config.database, shadow=config.shadow_database, schemas=config.schemas) as replay:
            replay.ensure_tracking_table()
            runner.apply_all(replay, runner.replay_order(chosen, applied), first_batch=1, step=False)
            return next((row.created for row in replay.applied_migrations() if row.name == file.name), ())
    except KitgenError:
        return ()
