"""The ``kitgen`` console script.

``kitgen migrate`` with nothing to do is what build pipelines run most, so it is answered
without importing the command-line framework: when every migration file is applied and
unchanged (raw hashes alone decide), it prints the same line the full command would.
Everything else, including every error, goes through ``kitgen.cli``.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["migrate"] and _nothing_to_migrate():
        sys.stdout.write("Nothing to migrate.\n")
        return
    from kitgen.cli import main as run_cli

    run_cli()


def _nothing_to_migrate() -> bool:
    try:
        from kitgen import commands
        from kitgen.config import load_config

        return commands.nothing_to_migrate(load_config())
    except Exception:  # the full command reports whatever went wrong
        return False
