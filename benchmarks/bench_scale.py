"""Scale: a no-op `kitgen migrate` and a clean `kitgen check` on projects of 50, 200 and 1,000 tables.

Each project has N one-table `.sql` migrations of 15 columns (`schema200.table_sql`: 14 declared types,
every table but the first referencing the one before), applied, with their entities generated.
Measured in turns with `python -c pass`, the floor of any Python tool:

- **no-op `migrate`**: everything applied, the entities current. Goal: ≤ 4× `python -c pass` at every
  size, so that it stays flat as the project grows. The first (unmeasured) runs may leave a stamp in
  `.kitgen/`, as any user's runs do.
- **clean `check`, cold**: as CI runs it on a fresh clone, in a copy of the project without its
  database (`KITGEN_DATABASE` names a missing file, so the migrations are replayed in memory) and without
  stamps (`.kitgen/` is deleted before every run). Goals: ≤ 20× `python -c pass` at 200 tables, ≤ 400 ms at 1,000.

`migrate` from an empty database is timed once per size for reference.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import KITGEN, Command, Timing, new_project, print_table, time_in_turns
from schema200 import table_sql

SIZES = (50, 200, 1000)


def build_project(root: Path, count: int) -> float:
    """``count`` one-table migrations, applied with their entities; returns how long that migrate took."""
    migrations = new_project(root)
    for index in range(count):
        (migrations / f"2026_01_01_{index:06d}_create_table_{index}s_table.sql").write_text(
            f"-- migrate:up\n{table_sql(index)}\n\n-- migrate:down\nDROP TABLE table_{index}s;\n"
        )
    started = time.perf_counter()
    subprocess.run([KITGEN, "migrate"], cwd=root, check=True, capture_output=True)
    return time.perf_counter() - started


def verify(root: Path, count: int) -> None:
    """The project is as built: nothing to migrate, `count` entity modules, `check` clean."""
    result = subprocess.run([KITGEN, "migrate"], cwd=root, capture_output=True, text=True)
    modules = len(list((root / "app" / "entities").glob("table_*.py")))
    if result.stdout != "Nothing to migrate.\n" or modules != count:
        raise SystemExit(f"{root.name}: migrate said {result.stdout!r}, {modules} entity modules")


def main(runs: int = 10) -> None:
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        absent = {"KITGEN_DATABASE": str(base / "absent.sqlite")}  # a fresh clone: no database
        commands = [Command("python -c pass", [sys.executable, "-c", "pass"], base)]
        built = {}
        for count in SIZES:
            root, clone = base / f"n{count}", base / f"n{count}-clone"
            built[count] = build_project(root, count)
            shutil.copytree(root, clone, ignore=shutil.ignore_patterns("database.sqlite*", ".kitgen"))
            commands += [
                Command(f"no-op migrate, {count} tables", [KITGEN, "migrate"], root),
                Command(
                    f"clean check, {count} tables, cold",
                    [KITGEN, "check"],
                    clone,
                    prepare=lambda clone=clone: shutil.rmtree(clone / ".kitgen", ignore_errors=True),  # type: ignore[misc]
                    env=absent,
                ),
            ]
        time.sleep(2.1)  # past the stamps' racy window, as any project a minute old
        timings = time_in_turns(commands, runs=runs, warmup=2)
        for count in SIZES:
            verify(base / f"n{count}", count)
    python = timings[0]
    rows: list[tuple[Timing, Timing | None, str]] = [(python, None, "")]
    for position, count in enumerate(SIZES):
        noop, check = timings[1 + 2 * position], timings[2 + 2 * position]
        rows.append((noop, python, "≤ 4x python"))
        goal = "≤ 20x python" if count == 200 else ("≤ 400 ms" if count == 1000 else "")
        rows.append((check, python, goal))
    print_table(f"Scale: no-op migrate and cold clean check ({runs} runs each)", rows)
    print(
        "migrate from empty, once each: "
        + ", ".join(f"{count} tables {seconds * 1000:.0f} ms" for count, seconds in built.items())
    )


if __name__ == "__main__":
    main()
