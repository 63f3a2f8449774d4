"""The one error hierarchy: every expected failure is a ``KitgenError``.

Each error carries what went wrong and what to do about it; the CLI prints
``Error: <what> — <hint>`` and exits with ``exit_code``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

ENTITIES_LEFT = 3  # exit code: the database changed as asked, but entity files were left as they are


class KitgenError(Exception):
    """Root of every error kitgen expects and explains."""

    exit_code = 1
    done: tuple[str, ...] = ()  # migrations of the same run that completed before the failure

    def __init__(self, what: str, hint: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.what} — {self.hint}" if self.hint else self.what


class UsageError(KitgenError):
    """A command was called with arguments it cannot accept."""

    exit_code = 2


class ConfigError(KitgenError):
    """The configuration (pyproject.toml, environment, options) is invalid."""


class MigrationFileError(KitgenError):
    """A migration file cannot be discovered, parsed or loaded."""


class MigrationFailed(KitgenError):
    """A migration's ``up`` or ``down`` raised; the database is as before it.

    ``done`` names the migrations of the same run that completed before it.
    """

    def __init__(self, what: str, hint: str = "", done: tuple[str, ...] = ()) -> None:
        super().__init__(what, hint)
        self.done = done
        self.entities: object = None  # what regenerating entities after the applied ones did
        self.partly_run = False  # it ran without a transaction and some of its statements stayed


class MigrationInterrupted(MigrationFailed):
    """SIGINT or SIGTERM stopped a run: the migration in flight was rolled back (or, outside a
    transaction, says what of it ran); ``done`` stay applied. Exits 128 + the signal's number."""

    def __init__(self, what: str, hint: str, done: tuple[str, ...], signum: int) -> None:
        super().__init__(what, hint, done)
        self.exit_code = 128 + signum


class ChangedMigrationsError(KitgenError):
    """Applied migrations whose files no longer match what was applied."""

    def __init__(self, names: tuple[str, ...]) -> None:
        listed = ", ".join(names)
        noun = "migration was" if len(names) == 1 else "migrations were"
        super().__init__(
            f"applied {noun} changed since it ran: {listed}",
            "restore the file (git checkout) or put the change in a new migration "
            "(kitgen make:migration); if the change is already in the database, accept it with "
            f"kitgen migrate:resolve {names[0]} --accept-changes; nothing was applied",
        )
        self.names = names


@dataclass(frozen=True)
class OtherBranch:
    """Applied migrations another branch made: ``gone`` (the oldest whose file is not here, newer than the
    pending ones), the last ones applied down to it, and those of them whose file is here."""

    gone: str
    to_roll_back: tuple[str, ...]
    with_files: tuple[str, ...]


class ChangedSinceDumpError(KitgenError):
    """Migrations the schema file contains whose files changed since it was written: loading the file would
    build the old version and never run the new one."""

    def __init__(self, names: tuple[str, ...], schema_file: str) -> None:
        listed = ", ".join(names)
        noun = "migration" if len(names) == 1 else "migrations"
        super().__init__(
            f"{noun} {listed} changed since {schema_file} was written, and it holds the version before",
            "restore the file (git checkout) and put the change in a new migration (kitgen make:migration); if the "
            "change is meant to be part of the schema file, write it again with kitgen schema:dump from a "
            "database that has it; nothing was applied",
        )
        self.names = names


class UnreachableMigrationsError(KitgenError):
    """Migrations the schema file contains that this database never applied, and whose files were pruned."""

    def __init__(self, names: tuple[str, ...], schema_file: str) -> None:
        listed = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        noun = "migration" if len(names) == 1 else "migrations"
        super().__init__(
            f"{schema_file} contains {noun} {listed}, which this database never applied, and "
            f"{'its file is' if len(names) == 1 else 'their files are'} gone (pruned)",
            "restore the files from git history (git log --diff-filter=D -- database/migrations) and run kitgen "
            "migrate, or rebuild this database from the schema file with kitgen migrate:fresh (it drops "
            "everything); nothing was applied",
        )
        self.names = names


class OutOfOrderError(KitgenError):
    """Pending migrations older than the newest applied one (a merged branch), refused by default."""

    def __init__(
        self,
        older: tuple[str, ...],
        newest: str,
        renamed_to: tuple[str, ...],
        *,
        branch: OtherBranch | None = None,
        newest_in: str | None = None,
    ) -> None:
        noun = "migration" if len(older) == 1 else "migrations"
        listed = ", ".join(older)
        are = "is" if len(older) == 1 else "are"
        allow = "--allow-out-of-order (out_of_order = true in [tool.kitgen]) to apply as they are"
        newest_is = f"the newest migration {newest_in} contains" if newest_in else "the newest applied migration"
        if branch is None:
            super().__init__(
                f"pending {noun} {listed} {are} older than {newest}, {newest_is} (merged from another branch?)",
                f"if no other database applied {'it' if len(older) == 1 else 'them'} yet, give "
                f"{'it' if len(older) == 1 else 'them'} a newer prefix (rename to {', '.join(renamed_to)}) so every "
                f"database applies the migrations in the same order; otherwise pass {allow}; nothing was applied",
            )
        elif not branch.with_files:
            super().__init__(
                f"pending {noun} {listed} {are} older than {branch.gone}, an applied migration whose file is not here "
                "(applied on another branch?)",
                f"roll back what that branch applied with kitgen migrate:rollback --step {len(branch.to_roll_back)} "
                f"(it works without the files; it rolls back {', '.join(reversed(branch.to_roll_back))}), or "
                f"switch back to that branch; or pass {allow}; nothing was applied",
            )
        else:
            super().__init__(
                f"pending {noun} {listed} {are} older than {branch.gone}, an applied migration whose file is not here "
                "(applied on another branch?)",
                f"pass {allow}, or switch back to that branch and roll back there; here, kitgen migrate:rollback "
                f"--step {len(branch.to_roll_back)} would also roll back {', '.join(reversed(branch.with_files))}, "
                "whose file is "
                "here, running its down and losing what it holds; nothing was applied",
            )
        self.older = older
        self.newest = newest


class IrreversibleMigration(KitgenError):
    """A migration that has to be rolled back has no ``down``."""


class ModelNameTaken(KitgenError):
    """A ``model`` (``--model`` or a migration's) is the class name another table's entity already has.

    Entity names never move, so the newcomer cannot take it: it has to ask for another.
    """

    def __init__(
        self, model: str, owner: str, file: str, *, migration: str | None = None, table: str | None = None
    ) -> None:
        self.model, self.owner, self.file, self.migration, self.table = model, owner, file, migration, table
        if migration is None:
            super().__init__(f"--model asks for {self._taken()}", "choose another class name for --model")
        else:
            super().__init__(
                f"migration {migration} {self._gives()}",
                "change its model to a name no other entity has: roll it back if it is applied "
                "(kitgen migrate:rollback), edit its model, then run kitgen migrate",
            )

    def _taken(self) -> str:
        return f'the class name {self.model}, which the entity of table "{self.owner}" already has ({self.file})'

    def _gives(self) -> str:
        return f'gives table "{self.table}" {self._taken()}; no entity was written'

    def applied(self) -> ModelNameTaken:
        """Say that the migration was applied (``migrate`` ran it) before its entity was refused."""
        self.what = f"migration {self.migration} was applied, but it {self._gives()}"
        self.hint = (
            "roll it back (kitgen migrate:rollback), change its model to a name no other entity has, "
            "then run kitgen migrate"
        )
        return self


class DatabaseError(KitgenError):
    """The database cannot be opened, read or written."""


class LockTimeout(DatabaseError):
    """Another process held the database past the lock timeout."""


class ProtectedError(KitgenError):
    """A destructive command was refused by configuration."""


class Aborted(KitgenError):
    """The user declined a confirmation, or none could be asked."""


class SchemaChangeRefused(KitgenError):
    """``db.alter_table()`` refused a change before touching anything (or undid it): the why and the way out."""


class ForeignKeyViolation(KitgenError):
    """A migration left rows that reference rows that do not exist; it was rolled back.

    ``violations`` are the engine's rows describing them, found in ``tables``.
    """

    violations: Counter[Any] = Counter()  # noqa: RUF012 - replaced, never mutated
    tables: list[str] = []  # noqa: RUF012 - replaced, never mutated
