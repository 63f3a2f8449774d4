"""Rebuild a table of 200,000 rows: kitgen's `db.alter_table()` beside alembic's batch mode.

Both projects hold the same two migrations. The first (applied before timing) creates `items`
(200,000 rows, an index, a CHECK constraint) and `tags` (200,000 rows referencing `items` with
ON DELETE CASCADE). The second adds a named CHECK constraint to `items`, which SQLite's ALTER TABLE
cannot do, so both tools rebuild the table: kitgen with `db.alter_table("items")`, alembic with
`op.batch_alter_table("items")`. The change leaves the `items` entity as it is, so kitgen's row is
the rebuild with its checks (every row against the new constraint, foreign_key_check, integrity_check,
and the foreign-key check before COMMIT), not entity generation (``bench_generate.py`` measures that).
Every measured run starts from a copy of the database as it was after the first migration (and, for
kitgen, the entities generated then). Each run is checked to have kept every row of both tables and
to have added the constraint. Needs alembic (``make bench`` installs it).
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
import tempfile
from contextlib import closing
from pathlib import Path

from bench_noop_migrate import alembic_available, alembic_skeleton
from harness import KITGEN, Timing, new_project, print_table, time_command

ROWS = 200_000
SCHEMA = f"""
CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score INTEGER CHECK (score >= 0));
CREATE INDEX items_name ON items (name);
CREATE TABLE tags (id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS})
INSERT INTO items SELECT i, 'item ' || i, i % 100 FROM n;
INSERT INTO tags (item_id) SELECT id FROM items;
"""


def build_kitgen_project(root: Path) -> None:
    migrations = new_project(root)
    (migrations / "2026_01_01_000001_create_items.sql").write_text(f"-- migrate:up\n{SCHEMA}\n")
    run_kitgen(root)
    (migrations / "2026_01_01_000002_score_below_a_thousand.py").write_text(
        "from kitgen import Database, Migration\n\n\n"
        "class ScoreBelowAThousand(Migration):\n"
        "    def up(self, db: Database) -> None:\n"
        '        with db.alter_table("items") as table:\n'
        '            table.add_constraint("CONSTRAINT score_max CHECK (score < 1000)")\n'
    )


def run_kitgen(root: Path) -> None:
    import subprocess

    subprocess.run([KITGEN, "migrate"], cwd=root, check=True, capture_output=True)


def build_alembic_project(root: Path) -> None:
    versions = alembic_skeleton(root)
    statements = [statement.strip() for statement in SCHEMA.split(";") if statement.strip()]
    (versions / "r0001_create_items.py").write_text(
        "from alembic import op\n\nrevision = 'r0001'\ndown_revision = None\nbranch_labels = None\n"
        "depends_on = None\n\n\ndef upgrade() -> None:\n"
        + "".join(f"    op.execute({statement!r})\n" for statement in statements)
    )
    import subprocess

    alembic = [sys.executable, "-m", "alembic"]
    subprocess.run([*alembic, "upgrade", "head"], cwd=root, check=True, capture_output=True)
    (versions / "r0002_score_below_a_thousand.py").write_text(
        "from alembic import op\n\nrevision = 'r0002'\ndown_revision = 'r0001'\n"
        "branch_labels = None\ndepends_on = None\n\n\ndef upgrade() -> None:\n"
        '    with op.batch_alter_table("items") as batch:\n'
        '        batch.create_check_constraint("score_max", "score < 1000")\n'
    )


def counts(database: Path) -> tuple[int, int, bool]:
    """Rows of items and tags, and whether the constraint is there."""
    with closing(sqlite3.connect(database)) as connection:
        items = connection.execute("SELECT count(*) FROM items").fetchone()[0]
        tags = connection.execute("SELECT count(*) FROM tags").fetchone()[0]
        sql = connection.execute("SELECT sql FROM sqlite_master WHERE name = 'items'").fetchone()[0]
    return items, tags, "score_max" in sql


class Restore:
    """Put back the state after the first migration (checking, first, that the last run kept every row)."""

    def __init__(self, root: Path, database: Path, folders: tuple[str, ...]) -> None:
        self.root, self.database, self.folders = root, database, folders
        self.saved = Path(tempfile.mkdtemp(dir=root.parent))
        shutil.copy2(database, self.saved / "database")
        for folder in folders:
            shutil.copytree(root / folder, self.saved / folder)
        self.runs = 0

    def __call__(self) -> None:
        if self.runs and counts(self.database) != (ROWS, ROWS, True):
            raise SystemExit(f"{self.root.name}: a run left {counts(self.database)}, expected {ROWS} rows each")
        self.runs += 1
        shutil.copy2(self.saved / "database", self.database)
        for folder in self.folders:
            shutil.rmtree(self.root / folder)
            shutil.copytree(self.saved / folder, self.root / folder)


def main(runs: int = 5) -> None:
    if not alembic_available():
        print(f"\nRebuild a table of {ROWS} rows: skipped, alembic is not installed (`make bench` installs it)")
        return
    with tempfile.TemporaryDirectory() as folder:
        kitgen_root, alembic_root = Path(folder) / "kitgen", Path(folder) / "alembic"
        build_kitgen_project(kitgen_root)
        build_alembic_project(alembic_root)
        kitgen_restore = Restore(kitgen_root, kitgen_root / "database" / "database.sqlite", ("app",))
        alembic_restore = Restore(alembic_root, alembic_root / "bench.sqlite", ())
        kitgen_samples: list[float] = []
        alembic_samples: list[float] = []
        for round_ in range(runs):  # alternate the tools, so that both see the same machine
            warmup = 1 if round_ == 0 else 0
            kitgen_label = f"kitgen migrate, db.alter_table(), {ROWS} rows"
            alembic_label = f"alembic upgrade head, batch mode, {ROWS} rows"
            kitgen_samples += time_command(
                kitgen_label, [KITGEN, "migrate"], cwd=kitgen_root, runs=1, warmup=warmup, prepare=kitgen_restore
            ).samples
            alembic_samples += time_command(
                alembic_label,
                [sys.executable, "-m", "alembic", "upgrade", "head"],
                cwd=alembic_root,
                runs=1,
                warmup=warmup,
                prepare=alembic_restore,
            ).samples
        kitgen_restore()  # checks the last runs
        alembic_restore()
        kitgen, alembic = Timing(kitgen_label, kitgen_samples), Timing(alembic_label, alembic_samples)
        rows: list[tuple[Timing, Timing | None, str]] = [(alembic, None, ""), (kitgen, alembic, "≤ alembic")]
        print_table(f"Rebuild a table of {ROWS} rows with {ROWS} children ({runs} runs each)", rows)


if __name__ == "__main__":
    main()
