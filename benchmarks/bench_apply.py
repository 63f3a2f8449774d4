"""Apply 500 migrations to an empty database: `kitgen migrate` beside `alembic upgrade head`.

Both projects hold the same 500 revisions, a linear chain in which each creates one small table
with one statement. Every measured run starts from an empty database: the database file is deleted
first and, for kitgen, the generated entity files too (``app/entities/__init__.py`` is reset), so
kitgen's runs include generating the 500 entity modules that `migrate` always ends with.
alembic has no counterpart to that step. The tools take turns, run by run, so that both see the
same machine; each run is checked to have created all 500 tables (and, for kitgen, 500 entity
modules). Needs alembic (``make bench`` installs it).
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from contextlib import closing
from pathlib import Path

from bench_generate import clear_entities
from bench_noop_migrate import alembic_available, build_alembic_project
from harness import KITGEN, Command, Timing, new_project, print_table, time_in_turns, write_table_migrations

COUNT = 500


def build_kitgen_project(root: Path) -> None:
    """The same chain as kitgen Python migrations (alembic's revisions are Python too); not applied."""
    write_table_migrations(new_project(root), COUNT, "id INTEGER PRIMARY KEY, name TEXT NOT NULL")


def count_tables(database: Path) -> int:
    with closing(sqlite3.connect(database)) as connection:
        return connection.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]


def verify(root: Path, database: Path, *, entities: bool) -> None:
    """The previous run, if any, created all the tables (and, for kitgen, their entity modules)."""
    if not database.exists():
        return
    tables = count_tables(database) - 1  # kitgen_migrations, alembic_version
    modules = len(list((root / "app" / "entities").glob("t*.py"))) if entities else COUNT
    if (tables, modules) != (COUNT, COUNT):
        raise SystemExit(f"{root.name}: a run left {tables} tables and {modules} entity modules, expected {COUNT}")


def delete_database(database: Path) -> None:
    """The database file and any companion (journal, WAL, shared memory, kitgen's lock file)."""
    for path in database.parent.glob(f"{database.name}*"):
        path.unlink()


def reset_kitgen(root: Path) -> None:
    database = root / "database" / "database.sqlite"
    verify(root, database, entities=True)
    delete_database(database)
    clear_entities(root)


def reset_alembic(root: Path) -> None:
    database = root / "bench.sqlite"
    verify(root, database, entities=False)
    delete_database(database)


def main(runs: int = 5) -> None:
    if not alembic_available():
        print(f"\nApply {COUNT} migrations: skipped, alembic is not installed (`make bench` installs it)")
        return
    with tempfile.TemporaryDirectory() as folder:
        kitgen_root = Path(folder) / "kitgen"
        alembic_root = Path(folder) / "alembic"
        build_kitgen_project(kitgen_root)
        build_alembic_project(alembic_root, COUNT, upgrade=False)
        kitgen, alembic = time_in_turns(
            [
                Command(
                    f"kitgen migrate, {COUNT}, incl. entity generation",
                    [KITGEN, "migrate"],
                    kitgen_root,
                    prepare=lambda: reset_kitgen(kitgen_root),
                ),
                Command(
                    f"alembic upgrade head, {COUNT} (no entities)",
                    [sys.executable, "-m", "alembic", "upgrade", "head"],
                    alembic_root,
                    prepare=lambda: reset_alembic(alembic_root),
                ),
            ],
            runs=runs,
        )
        reset_kitgen(kitgen_root)  # checks the last runs
        reset_alembic(alembic_root)
        rows: list[tuple[Timing, Timing | None, str]] = [(alembic, None, ""), (kitgen, alembic, "≤ 0.8x alembic")]
        print_table(f"Apply {COUNT} migrations to an empty database ({runs} runs each)", rows)


if __name__ == "__main__":
    main()
