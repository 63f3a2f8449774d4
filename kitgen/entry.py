"""The ``kitgen`` console script.

``kitgen migrate`` with nothing to do is what build pipelines run most, so it is answered
without importing the command-line framework: when a stamp of an earlier such answer still holds
(``kitgen.stamps``: nothing it watched changed), or when every migration file is applied and unchanged
(raw hashes alone decide) and the entities are current, it prints the same line the full command would.
Everything else, including every error, goes through ``kitgen.cli``.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["migrate"] and (_stamped() or _nothing_to_migrate()):
        sys.stdout.write("Nothing to migrate.\n")
        return
    from kitgen.cli import main as run_cli

    run_cli()


def _stamped() -> bool:
    """A stamp of an earlier "nothing to migrate", with nothing it watched changed since: decided from
    file states alone, without the configuration, the database driver or the migrations' hashes."""
    import os

    from kitgen import stamps

    try:
        return stamps.confirmed_noop(os.environ)
    except Exception:  # any doubt: the full comparison
        return False


def _nothing_to_migrate() -> bool:
    try:
        from kitgen import commands
        from kitgen.config import load_config

        return commands.nothing_to_migrate(load_config())
    except Exception:  # the full command reports whatever went wrong
        return False
