"""What the foreign-key check before COMMIT costs: 300 migrations, enforced against suspended and checked.

Each of 300 transactions creates a table referencing the one before; the first 19 also copy 10,000
rows from it, so the database holds 190,000 rows under foreign keys by the end. The same work runs
through kitgen's SQLite driver with enforcement on and no check (what every migration did before the
check existed) and suspended with the check before COMMIT (the default for migrations). The check looks only at the
tables each transaction wrote and those referencing them, so its cost follows the migration's own
work, not the size of the database. In-process: no start-up, no entities.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from kitgen.driver.sqlite import SQLiteDriver

MIGRATIONS, SEEDED, ROWS = 300, 20, 10_000


def run(*, enforced: bool) -> float:
    with tempfile.TemporaryDirectory() as folder:
        driver = SQLiteDriver(Path(folder) / "database.sqlite", lock_timeout=1)
        try:
            with driver.transaction() as db:
                db.execute("CREATE TABLE t0 (id INTEGER PRIMARY KEY)")
                db.executemany("INSERT INTO t0 VALUES (?)", [(index,) for index in range(ROWS)])
            started = time.perf_counter()
            for index in range(1, MIGRATIONS + 1):
                with driver.transaction(foreign_keys=enforced) as db:  # suspended: always checked
                    db.execute(
                        f"CREATE TABLE t{index} (id INTEGER PRIMARY KEY, up INTEGER REFERENCES t{index - 1}(id))"
                    )
                    if index < SEEDED:
                        db.execute(f"INSERT INTO t{index} (id, up) SELECT id, id FROM t{index - 1}")
            return time.perf_counter() - started
        finally:
            driver.close()


def main(runs: int = 5) -> None:
    samples: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(runs):  # alternate, so that both see the same machine
        for enforced in (True, False):
            samples[enforced].append(run(enforced=enforced))
    enforced, checked = (statistics.median(samples[key]) for key in (True, False))
    print(f"\nForeign keys, {MIGRATIONS} migrations, {(SEEDED - 1) * ROWS} rows under keys ({runs} runs each)")
    print(f"  enforced, no check:                   {enforced * 1000:7.0f} ms")
    print(f"  suspended, checked before COMMIT:     {checked * 1000:7.0f} ms  ({checked / enforced:.2f}x, goal ≤ 1.2x)")


if __name__ == "__main__":
    main()
