"""One typed function per command. They never print: they return what they did.

``--pretend`` lives in ``kitgen.commands.pretending``, ``init --from-database`` in ``adopting``,
``schema:diagram`` in ``diagramming``: each imported only when asked for (the no-op ``migrate`` path
imports this package).

Long waits and confirmations go through callbacks the caller supplies (``on_wait``,
``confirm``), so the CLI, ``watch`` and tests can all drive them.
"""

from kitgen.commands.checking import CheckResult, check, replay_schema
from kitgen.commands.dumping import DumpResult, dump_schema
from kitgen.commands.migrating import MigrateResult, StatusResult, generate, migrate, nothing_to_migrate, status
from kitgen.commands.resolving import ResolveResult, resolve
from kitgen.commands.rolling_back import (
    RebuildResult,
    RollbackResult,
    authorize,
    fresh,
    redo_last_batch,
    redo_newest_migration,
    refresh,
    reset,
    rollback,
)
from kitgen.commands.scaffolding import InitResult, init_project, make_migration
from kitgen.commands.session import Confirm, OnWait

__all__ = [
    "CheckResult",
    "Confirm",
    "DumpResult",
    "InitResult",
    "MigrateResult",
    "OnWait",
    "RebuildResult",
    "ResolveResult",
    "RollbackResult",
    "StatusResult",
    "authorize",
    "check",
    "dump_schema",
    "fresh",
    "generate",
    "init_project",
    "make_migration",
    "migrate",
    "nothing_to_migrate",
    "redo_last_batch",
    "redo_newest_migration",
    "refresh",
    "replay_schema",
    "reset",
    "resolve",
    "rollback",
    "status",
]
