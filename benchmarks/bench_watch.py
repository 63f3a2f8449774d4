"""`kitgen watch`: from a migration saved to its entity file on disk, over 20 saves (median, p95).

Measured in an empty project and in one of 1,000 applied tables with their entities (`bench_scale`'s
project: 15 columns each, a foreign-key chain). Goal: median ≤ 50 ms in the large one.
"""

from __future__ import annotations

import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench_scale import build_project
from harness import KITGEN, new_project

SAVES = 20
LARGE = 1000


def wait_until(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit("kitgen watch did not react within 30 s")
        time.sleep(0.001)


def measure(root: Path) -> list[float]:
    """Start `kitgen watch` in ``root``, save ``SAVES`` migrations one by one; the milliseconds each took."""
    process = subprocess.Popen([KITGEN, "watch"], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    latencies = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("Watching"):
                break
        for index in range(SAVES):
            migration = root / "database" / "migrations" / f"2027_01_01_{index:06d}_create_items_{index}_table.sql"
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
    return latencies


def report(label: str, latencies: list[float], goal: str) -> None:
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(
        f"kitgen watch, {label}, saved -> entity on disk, {SAVES} saves: median {statistics.median(ordered):.0f} ms, "
        f"p95 {p95:.0f} ms, min {ordered[0]:.0f} ms, max {ordered[-1]:.0f} ms{goal}"
    )


def main() -> None:
    print()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "empty"
        new_project(root)
        report("empty project", measure(root), "")
        root = Path(folder) / "large"
        build_project(root, LARGE)
        report(f"{LARGE} tables", measure(root), " (goal: median ≤ 50 ms)")


if __name__ == "__main__":
    main()
