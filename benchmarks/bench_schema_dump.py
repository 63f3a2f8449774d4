"""A long history squashed: `kitgen migrate:fresh` and `kitgen check` on 1,000 migrations, with and without
a schema file.

Two copies of one project of 1,000 applied `.py` migrations, each creating one table of 15 columns, with
their entities generated. One copy also holds `database/schema.sql`, written by `kitgen schema:dump` from
the migrated database (its migration files kept). Measured side by side, in turns:

- `migrate:fresh --force` without the schema file (it replays the 1,000 migrations) and with it (it loads
  the file, then has nothing to apply); both end with the entities, unchanged, compared with the schema.
  Goal: with ≥ 10× faster than without.
- `check` with the schema file, as in CI on a fresh clone (no database: the file is loaded into an
  in-memory database and the entities compared with it), and beside a migrated database (the files are
  also compared with its tracking rows). Goal: ≤ 0.5 s. `check` without the file is shown for reference.

Each fresh run is checked to have left the 1,000 tables.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from bench_apply import count_tables
from harness import KITGEN, Command, Timing, new_project, print_table, time_in_turns, write_table_migrations

COUNT = 1000
COLUMNS = ", ".join(
    ["id INTEGER PRIMARY KEY", "name TEXT NOT NULL", "email TEXT", "created_at INTEGER NOT NULL"]
    + [f"c{index} {kind}" for index, kind in enumerate(["TEXT", "INTEGER", "REAL", "BLOB", "NUMERIC"] * 2)]
    + ["updated_at INTEGER"]
)


def build_project(root: Path) -> None:
    """1,000 one-table migrations, applied, with their entities."""
    write_table_migrations(new_project(root), COUNT, COLUMNS)
    subprocess.run([KITGEN, "migrate"], cwd=root, check=True, capture_output=True)


def verify(root: Path) -> None:
    tables = count_tables(root / "database" / "database.sqlite") - 1  # kitgen_migrations
    if tables != COUNT:
        raise SystemExit(f"{root.name}: migrate:fresh left {tables} tables, expected {COUNT}")


def main(runs: int = 5) -> None:
    with tempfile.TemporaryDirectory() as folder:
        plain, dumped, clone = Path(folder) / "plain", Path(folder) / "dumped", Path(folder) / "clone"
        build_project(plain)
        shutil.copytree(plain, dumped)
        subprocess.run([KITGEN, "schema:dump"], cwd=dumped, check=True, capture_output=True)
        shutil.copytree(dumped, clone)
        absent = {"KITGEN_DATABASE": str(Path(folder) / "absent.sqlite")}  # a fresh clone: no database
        without, with_dump, check_ci, check_again, check_warm, check_plain = time_in_turns(
            [
                Command(f"migrate:fresh, {COUNT} migrations", [KITGEN, "migrate:fresh", "--force"], plain),
                Command("migrate:fresh, with schema.sql", [KITGEN, "migrate:fresh", "--force"], dumped),
                Command(
                    "check, schema.sql, no database, no stamps (CI)",
                    [KITGEN, "check"],
                    clone,
                    prepare=lambda: shutil.rmtree(clone / ".kitgen", ignore_errors=True),
                    env=absent,
                ),
                Command("check, schema.sql, no database, stamped", [KITGEN, "check"], dumped, env=absent),
                Command("check, schema.sql and the database, stamped", [KITGEN, "check"], dumped),
                Command(f"check, {COUNT} .py migrations, no database", [KITGEN, "check"], plain, env=absent),
            ],
            runs=runs,
        )
        verify(plain)
        verify(dumped)
        rows: list[tuple[Timing, Timing | None, str]] = [
            (without, None, ""),
            (with_dump, without, "≤ 0.1x (≥ 10× faster)"),
            (check_plain, None, ""),
            (check_ci, None, "≤ 500 ms"),
            (check_again, None, "≤ 500 ms"),
            (check_warm, None, "≤ 500 ms"),
        ]
        print_table(f"A history of {COUNT} migrations squashed into schema.sql ({runs} runs each)", rows)


if __name__ == "__main__":
    main()
