"""``kitgen schema:dump``: the database's schema and the migrations it contains, as one file."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from kitgen.codegen.files import write_if_changed
from kitgen.commands.rolling_back import refuse_if_prohibited
from kitgen.commands.session import Confirm, OnWait, connected, ignore
from kitgen.config import Config
from kitgen.errors import Aborted, DatabaseError, MigrationFileError
from kitgen.migrations import dump, files, history
from kitgen.migrations.files import MigrationFile


@dataclass(frozen=True)
class DumpResult:
    path: Path
    migrations: int  # how many the file contains
    written: bool  # False: the file already held these bytes
    pending: list[str] = field(default_factory=list)  # migration files not applied, so not in the dump
    pruned: list[Path] = field(default_factory=list)  # migration files deleted by --prune


def dump_schema(
    config: Config,
    *,
    prune: bool = False,
    force: bool = False,
    confirm: Confirm | None = None,
    on_wait: OnWait = ignore,
) -> DumpResult:
    """Write the schema file from the configured database, which must agree with the migration files.

    With ``prune``, then delete the migration files it contains (asked first; refused where destructive
    commands are): ``migrate`` loads the file instead of running them.
    """
    if prune:
        refuse_if_prohibited(config, "schema:dump --prune")
    with connected(config, readonly=True) as driver, driver.lock("kitgen schema:dump", on_wait):
        applied = driver.applied_migrations()
        if not driver.exists or not applied:
            raise DatabaseError(
                f"no migration is applied to {config.database}, so there is no schema to dump",
                "run kitgen migrate first (or point --database at the database the migrations built)",
            )
        found = files.discover(config.migrations)
        previous = dump.read_dump(config.schema_file)
        reconciled = history.reconcile(found, applied, previous.rows if previous else ())
        _ensure_files_agree(reconciled)
        history.ensure_reachable(reconciled, config.display(config.schema_file))  # it would drop them
        text = dump.render_dump(driver.dump_schema(), applied)
    contained = [file for file in found if file.name in {row.name for row in applied}]
    if prune and contained:
        _confirm_prune(config, len(contained), force, confirm)
    config.schema_file.parent.mkdir(parents=True, exist_ok=True)
    written = write_if_changed(config.schema_file, text, hint="make the schema file's folder writable")
    pruned = _prune(contained) if prune else []
    return DumpResult(config.schema_file, len(applied), written, [file.name for file in reconciled.pending], pruned)


def _ensure_files_agree(reconciled: history.Reconciliation) -> None:
    """The file records the database's rows as the files' checksums: they must be the same migrations."""
    history.ensure_unchanged(reconciled)
    if reconciled.missing:
        names = ", ".join(reconciled.missing)
        raise MigrationFileError(
            f"applied migration{'s' if len(reconciled.missing) > 1 else ''} {names} "
            f"{'have' if len(reconciled.missing) > 1 else 'has'} no file here (another branch's?)",
            "dump from a database migrated from these files: check out the branch that has them, or roll them back "
            "there first; nothing was written",
        )
    if reconciled.bookkeeping:
        raise MigrationFileError(
            "some applied migrations were renamed or reworded since they ran, and their records are not updated yet",
            "run kitgen migrate first (it records them without running anything); nothing was written",
        )


def _confirm_prune(config: Config, count: int, force: bool, confirm: Confirm | None) -> None:
    files_ = f"{count} migration file{'s' if count != 1 else ''}"
    if force:
        return
    if confirm is None:
        raise Aborted(
            f"schema:dump --prune would delete {files_} and needs confirmation",
            "run it on a terminal to confirm, or pass --force; nothing was written",
        )
    if not confirm(f"Delete the {files_} {config.display(config.schema_file)} will contain?"):
        raise Aborted("schema:dump --prune cancelled", "nothing was written or deleted")


def _prune(contained: list[MigrationFile]) -> list[Path]:
    """Delete the migration files the schema file contains, once it is written (each was checked unchanged
    against its tracking row before: the file records the rows)."""
    for file in contained:
        file.path.unlink(missing_ok=True)
    if contained and not any(files.is_candidate(entry) for entry in os.listdir(contained[0].path.parent)):
        (contained[0].path.parent / ".gitkeep").touch()  # git keeps no empty folder: a clone would lack it
    return [file.path for file in contained]
