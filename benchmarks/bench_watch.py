"""`kitgen watch`: from a migration saved to its entity file on disk, over 20 saves (median, p95)."""

from __future__ import annotations

import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from harness import KITGEN, new_project

SAVES = 20


def wait_until(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit("kitgen watch did not react within 30 s")
        time.sleep(0.001)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        new_project(root)
        process = subprocess.Popen(
            [KITGEN, "watch"], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        try:
            assert process.stdout is not None
            for line in process.stdout:
                if line.startswith("Watching"):
                    break
            latencies = []
            for index in range(SAVES):
                migration = root / "database" / "migrations" / f"2026_01_01_{index:06d}_create_items_{index}_table.sql"
                entity = root / "app" / "entities" / f"items_{index}.py"
                started = time.perf_counter()
                migration.write_text(
                    f"-- migrate:up\nCREATE TABLE items_{index} (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
                    f"-- migrate:down\nDROP TABLE items_{index};\n"
                )
                wait_until(entity.exists)
                latencies.append((time.perf_counter() - started) * 1000)
                time.sleep(0.2)
        finally:
            process.terminate()
            process.wait(timeout=30)
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(
        f"\nkitgen watch, saved -> entity on disk, {SAVES} saves: median {statistics.median(ordered):.0f} ms, "
        f"p95 {p95:.0f} ms, min {ordered[0]:.0f} ms, max {ordered[-1]:.0f} ms (goal: median ≤ 100 ms)"
    )


if __name__ == "__main__":
    main()
