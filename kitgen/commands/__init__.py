"""One typed function per command. They never print: they return what they did.

Long waits and confirmations go through callbacks the caller supplies (``on_wait``,
``confirm``), so the CLI, ``watch`` and tests can all drive them.
"""

from kitgen.commands.checking import CheckResult, check, replay_schema
from kitgen.commands.migrating import MigrateResult, StatusResult, generate, migrate, nothing_to_migrate, status
from kitgen.commands.pretending import PretendResult, pretend_migrate, pretend_rollback
from kitgen.commands.rolling_back import (
    RebuildResult,
    RollbackResult,
    authorize,
    fresh,
    redo_last_batch,
    refresh,
    reset,
    rollback,
)
from kitgen.commands.scaffolding import InitResult, init_project, make_migration
from kitgen.commands.session import Confirm, OnWait

__all__ = [
    "CheckResult",
    "Confirm",
    "InitResult",
    "MigrateResult",
    "OnWait",
    "PretendResult",
    "RebuildResult",
    "RollbackResult",
    "StatusResult",
    "authorize",
    "check",
    "fresh",
    "generate",
    "init_project",
    "make_migration",
    "migrate",
    "nothing_to_migrate",
    "pretend_migrate",
    "pretend_rollback",
    "redo_last_batch",
    "refresh",
    "replay_schema",
    "reset",
    "rollback",
    "status",
]
