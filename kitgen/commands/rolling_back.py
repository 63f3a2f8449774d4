"""The destructive commands: rollback, reset, refresh, fresh, and the redo of ``watch --redo``."""

from __future__ import annotations

from dataclasses import dataclass, field

from kitgen.codegen import files as entity_files
from kitgen.codegen.generate import GenerateResult
from kitgen.commands.session import (
    Applied,
    Confirm,
    Loaded,
    OnWait,
    apply_pending,
    connected,
    dumped_names,
    ignore,
    plan_pending,
    regenerate,
    regenerating_after_failure,
)
from kitgen.config import Config
from kitgen.driver import AppliedMigration, Driver
from kitgen.errors import (
    Aborted,
    ChangedMigrationsError,
    IrreversibleMigration,
    MigrationFailed,
    MigrationFileError,
    MigrationInterrupted,
    ProtectedError,
    UsageError,
)
from kitgen.migrations import files, runner
from kitgen.migrations.dump import DUMP_BATCH
from kitgen.migrations.formats import LoadedMigration, raw_hash
from kitgen.migrations.runner import Progress, Ran


@dataclass(frozen=True)
class RollbackResult:
    rolled_back: list[Ran]
    entities: GenerateResult = field(default_factory=GenerateResult)


@dataclass(frozen=True)
class RebuildResult:
    """What ``refresh`` and ``fresh`` did: rolled back or dropped, then applied."""

    rolled_back: list[Ran] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    applied: list[Ran] = field(default_factory=list)
    entities: GenerateResult = field(default_factory=GenerateResult)
    loaded: Loaded | None = None  # the schema file, loaded after the drop


def authorize(config: Config, command: str, *, force: bool, confirm: Confirm | None, question: str) -> None:
    """Refuse when prohibited; otherwise pass with --force or a confirmed question."""
    if config.destructive_prohibited:
        reason = (
            "KITGEN_ENV=production"
            if config.environment == "production"
            else "protect = true, from KITGEN_PROTECT or [tool.kitgen]"
        )
        raise ProtectedError(
            f"{command} is refused for {config.database} ({reason})",
            "destructive commands are disabled here; run it against a development database",
        )
    if force:
        return
    if confirm is None:
        raise Aborted(
            f"{command} would change {config.database} and needs confirmation",
            "run it on a terminal to confirm, or pass --force",
        )
    if not confirm(question):
        raise Aborted(f"{command} cancelled", "nothing was changed")


def rollback(
    config: Config,
    *,
    steps: int | None = None,
    force: bool = False,
    confirm: Confirm | None = None,
    on_wait: OnWait = ignore,
    progress: Progress | None = None,
) -> RollbackResult:
    """Roll back the last batch, or the last ``steps`` migrations, newest first."""
    if steps is not None and steps < 1:
        raise UsageError(f"--step must be at least 1, got {steps}", "pass the number of migrations to roll back")
    refuse_if_prohibited(config, "migrate:rollback")
    with connected(config) as driver, driver.lock("kitgen migrate:rollback", on_wait):
        applied = driver.applied_migrations()
        chosen = last_migrations(applied, steps)
        if not chosen:
            return RollbackResult([], regenerate(config, driver))
        what = f"{len(chosen)} migration{'s' if len(chosen) != 1 else ''} ({', '.join(r.name for r in chosen)})"
        question = f"Roll back {what}"
        rolled_back = regenerating_after_failure(
            config,
            driver,
            lambda: _roll_back(config, driver, chosen, "migrate:rollback", force, confirm, question, progress),
        )
        return RollbackResult(rolled_back, regenerate(config, driver))


def refuse_if_prohibited(config: Config, command: str) -> None:
    if config.destructive_prohibited:
        authorize(config, command, force=True, confirm=None, question="")


def last_migrations(applied: list[AppliedMigration], steps: int | None) -> list[AppliedMigration]:
    newest_first = list(reversed(applied))
    if steps is not None:
        return newest_first[:steps]
    last_batch = max((row.batch for row in applied), default=None)
    return [row for row in newest_first if row.batch == last_batch]


def refuse_past_dump(config: Config, rows: list[AppliedMigration], command: str) -> None:
    """Refuse to roll back a migration the schema file contains: the file has no down, and after a prune
    neither has the migration; the migrations newer than it can be rolled back."""
    covered = dumped_names(config)
    inside = [row.name for row in rows if row.name in covered or row.batch == DUMP_BATCH]
    if not inside:
        return
    newer = [row.name for row in rows if row.name not in inside]
    listed = ", ".join(inside[:3]) + (f" and {len(inside) - 3} more" if len(inside) > 3 else "")
    can = (
        f"kitgen migrate:rollback --step {len(newer)} rolls back the {len(newer)} newer one"
        f"{'s' if len(newer) != 1 else ''}; "
        if newer and command == "migrate:rollback"
        else ""
    )
    where = (
        f"which {config.display(config.schema_file)} contains"
        if all(name in covered for name in inside)
        else "loaded from a schema file"
    )
    raise IrreversibleMigration(
        f"{command} would roll back {listed}, {where}: a schema file is where the history starts, it is not "
        "rolled back",
        f"{can}kitgen migrate:fresh rebuilds the database from the schema file; nothing was rolled back",
    )


def _roll_back(
    config: Config,
    driver: Driver,
    rows: list[AppliedMigration],
    command: str,
    force: bool,
    confirm: Confirm | None,
    question: str,
    progress: Progress | None = None,
) -> list[Ran]:
    refuse_past_dump(config, rows, command)
    loaded = load_for_rollback(config, rows)
    authorize(config, command, force=force, confirm=confirm, question=f"{question} on {config.database}?")
    return runner.roll_back_all(driver, loaded, {row.name: row.batch for row in rows}, progress=progress)


def load_for_rollback(config: Config, rows: list[AppliedMigration]) -> list[LoadedMigration]:
    """The recorded migrations, each with a down; and the entities folder writable, since they will follow."""
    try:
        found = files.discover(config.migrations)
    except MigrationFileError:  # a rollback works from what was recorded, without the files
        found = []
    loaded = runner.load_recorded(rows, config.migrations, found)
    if config.generate:
        entity_files.ensure_writable(config.entities)
    return loaded


def redo_last_batch(config: Config, changed: tuple[str, ...], *, on_wait: OnWait = ignore) -> list[Ran]:
    """Roll back the last batch when every changed migration is in it (``watch --redo``).

    The recorded ``down`` of each runs, newest first; the following ``migrate`` applies the files
    as they are now. A changed migration outside the last batch is refused as ``migrate`` would.
    """
    refuse_if_prohibited(config, "watch --redo")
    with connected(config) as driver, driver.lock("kitgen watch --redo", on_wait):
        applied = driver.applied_migrations()
        last = last_migrations(applied, None)
        if not last or not set(changed) <= {row.name for row in last}:
            raise ChangedMigrationsError(changed)
        # The new versions must load before anything is rolled back: a half-saved file changes nothing.
        runner.load_pending(files.discover(config.migrations), [row for row in applied if row not in last])
        return _roll_back(config, driver, last, "watch --redo", True, None, "")


def reset(
    config: Config,
    *,
    force: bool = False,
    confirm: Confirm | None = None,
    on_wait: OnWait = ignore,
    progress: Progress | None = None,
) -> RollbackResult:
    """Roll back every applied migration, newest first."""
    refuse_if_prohibited(config, "migrate:reset")
    with connected(config) as driver, driver.lock("kitgen migrate:reset", on_wait):
        rows = list(reversed(driver.applied_migrations()))
        if not rows:
            return RollbackResult([], regenerate(config, driver))
        question = f"Roll back all {len(rows)} migrations"
        rolled_back = regenerating_after_failure(
            config,
            driver,
            lambda: _roll_back(config, driver, rows, "migrate:reset", force, confirm, question, progress),
        )
        return RollbackResult(rolled_back, regenerate(config, driver))


def refresh(
    config: Config,
    *,
    step: bool = False,
    force: bool = False,
    confirm: Confirm | None = None,
    on_wait: OnWait = ignore,
    progress: Progress | None = None,
) -> RebuildResult:
    """Roll back every migration, then apply them all again."""
    refuse_if_prohibited(config, "migrate:refresh")
    with connected(config) as driver, driver.lock("kitgen migrate:refresh", on_wait):
        plan_pending(config, [])  # what the rebuild will apply: every refusal before anything changes
        covered = dumped_names(config)
        applied_rows = driver.applied_migrations()
        rows = [row for row in reversed(applied_rows) if row.name not in covered]
        below = len(applied_rows) - len(rows)  # what the schema file contains: dropped, then loaded again
        question = (
            f"Roll back {len(rows)} migrations and apply them again"
            if below
            else (f"Roll back all {len(rows)} migrations and apply them again")
        )
        if below:
            question += f" (the {below} that {config.display(config.schema_file)} contains: drop all, load it again)"

        def rebuild() -> tuple[list[Ran], list[str], Applied]:
            if below and not rows:
                authorize(config, "migrate:refresh", force=force, confirm=confirm, question=f"{question}?")
            rolled_back = (
                _roll_back(config, driver, rows, "migrate:refresh", force, confirm, question, progress) if rows else []
            )
            dropped = driver.drop_all() if below else []
            return rolled_back, dropped, apply_pending(config, driver, step=step, progress=progress)

        rolled_back, dropped, applied = regenerating_after_failure(
            config, driver, rebuild, changed_before=bool(applied_rows)
        )
        return RebuildResult(rolled_back, dropped, applied.ran, regenerate(config, driver), applied.loaded)


def fresh(
    config: Config,
    *,
    step: bool = False,
    force: bool = False,
    confirm: Confirm | None = None,
    on_wait: OnWait = ignore,
    progress: Progress | None = None,
) -> RebuildResult:
    """Drop every table, view, trigger and index, then apply every migration."""
    refuse_if_prohibited(config, "migrate:fresh")
    with connected(config) as driver, driver.lock("kitgen migrate:fresh", on_wait):
        plan_pending(config, [])  # what the rebuild will apply: every refusal before anything is dropped
        question = f"Drop every table, view, trigger and index in {config.database} and migrate again?"
        authorize(config, "migrate:fresh", force=force, confirm=confirm, question=question)
        dropped = driver.drop_all()
        try:
            applied = regenerating_after_failure(
                config,
                driver,
                lambda: apply_pending(config, driver, step=step, progress=progress),
                changed_before=True,
            )
        except MigrationFailed as failure:  # what was dropped first stays dropped: say so
            if isinstance(failure, MigrationInterrupted):
                raise
            count = f"{len(dropped)} object{'s' if len(dropped) != 1 else ''}"
            if "already exists" in failure.what:  # kept by the drop, not made by hand: resolving would be wrong
                failure.hint = (
                    "migrate:fresh keeps what it does not drop (extensions, schemas, roles, and on PostgreSQL the "
                    "objects of schemas kitgen does not manage): create it with IF NOT EXISTS in the migration"
                )
            failure.hint = f"{failure.hint}; the {count} migrate:fresh dropped before migrating stay dropped"
            raise
        entities = regenerate(config, driver)
        return RebuildResult(dropped=dropped, applied=applied.ran, entities=entities, loaded=applied.loaded)


def redo_newest_migration(config: Config, name: str, *, on_wait: OnWait = ignore) -> list[Ran]:
    """Roll back ``name``, changed since it ran, when it is the newest applied migration (``watch``).

    Its recorded ``down`` runs; the following ``migrate`` applies the file as it is now. A migration
    applied after it is refused as ``migrate`` would refuse the change; a file gone or restored
    meanwhile rolls nothing back.
    """
    with connected(config) as driver, driver.lock("kitgen watch", on_wait):
        applied, found = driver.applied_migrations(), files.discover(config.migrations)
        if not applied or applied[-1].name != name:
            raise ChangedMigrationsError((name,))
        newest = applied[-1]
        file = next((file for file in found if file.name == name), None)
        if file is None or raw_hash(file.read_bytes()) == newest.raw_hash:
            return []
        # The new version must load before anything is rolled back: a half-saved file changes nothing.
        runner.load_pending(found, applied[:-1])
        refuse_past_dump(config, [newest], f"watch re-applying {name}")
        try:
            recorded = load_for_rollback(config, [newest])
        except IrreversibleMigration as error:
            raise IrreversibleMigration(
                f"migration {name} changed, but the version applied has no down to roll it back with",
                "put the change in a new migration, or restore the file and write its down first; nothing was changed",
            ) from error
        authorize(config, f"watch re-applying {name}", force=True, confirm=None, question="")
        return runner.roll_back_all(driver, recorded, {name: newest.batch})
