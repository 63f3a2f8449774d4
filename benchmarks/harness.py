"""Shared helpers for the benchmarks: timing commands and printing comparison tables."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
KITGEN = str(BIN / "kitgen")


def new_project(root: Path) -> Path:
    """An empty kitgen project (pyproject.toml, entities package); returns its migrations folder."""
    migrations = root / "database" / "migrations"
    migrations.mkdir(parents=True)
    (root / "app" / "entities").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "entities" / "__init__.py").write_text('"""Entities."""\n')
    (root / "pyproject.toml").write_text('[project]\nname = "bench"\nversion = "0"\n')
    return migrations


def write_table_migrations(migrations: Path, count: int, columns: str) -> None:
    """``count`` kitgen Python migrations, each creating one table ``tN`` with ``columns``."""
    for index in range(count):
        (migrations / f"2026_01_01_{index:06d}_create_table_{index}.py").write_text(
            "from kitgen import Database, Migration\n\n\n"
            f"class CreateTable{index}(Migration):\n"
            "    def up(self, db: Database) -> None:\n"
            f'        db.execute("CREATE TABLE t{index} ({columns})")\n\n'
            "    def down(self, db: Database) -> None:\n"
            f'        db.execute("DROP TABLE t{index}")\n'
        )


def compile_kitgen() -> None:
    """Byte-compile kitgen as an installed package would be, even under PYTHONDONTWRITEBYTECODE."""
    import compileall

    import kitgen

    compileall.compile_dir(str(Path(kitgen.__file__).parent), quiet=1)


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of repeated runs of one piece of work."""

    label: str
    samples: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


def time_command(
    label: str,
    argv: Sequence[str],
    *,
    cwd: Path,
    runs: int,
    warmup: int = 2,
    prepare: Callable[[], None] | None = None,
    env: dict[str, str] | None = None,
) -> Timing:
    """Run ``argv`` ``warmup`` times unmeasured, then ``runs`` times measured; each must exit 0."""
    environ = {**os.environ, **(env or {})}
    samples = []
    for index in range(warmup + runs):
        if prepare is not None:
            prepare()
        started = time.perf_counter()
        result = subprocess.run(argv, cwd=cwd, env=environ, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(f"{label} failed ({result.returncode}): {result.stderr or result.stdout}")
        if index >= warmup:
            samples.append(elapsed)
    return Timing(label, samples)


@dataclass(frozen=True)
class Command:
    """One command to time: what ``time_command`` takes, as a value."""

    label: str
    argv: Sequence[str]
    cwd: Path
    prepare: Callable[[], None] | None = None
    env: dict[str, str] | None = None


def time_in_turns(commands: Sequence[Command], *, runs: int, warmup: int = 1) -> list[Timing]:
    """Run every command once per round, ``runs`` rounds, so that a change in the machine's load hits all alike.

    The first round is preceded by ``warmup`` unmeasured runs of each command; returns one Timing per command.
    """
    samples: list[list[float]] = [[] for _ in commands]
    for round_ in range(runs):
        for command, taken in zip(commands, samples, strict=True):
            timing = time_command(
                command.label,
                command.argv,
                cwd=command.cwd,
                runs=1,
                warmup=warmup if round_ == 0 else 0,
                prepare=command.prepare,
                env=command.env,
            )
            taken += timing.samples
    return [Timing(command.label, taken) for command, taken in zip(commands, samples, strict=True)]


def print_table(title: str, rows: Sequence[tuple[Timing, Timing | None, str]]) -> None:
    """One row per measurement: median, min, max, ratio to its reference, and the goal."""
    print(f"\n{title}")
    header = f"{'work':<44} {'median':>9} {'min':>9} {'max':>9} {'ratio':>16}  goal"
    print(header)
    print("-" * len(header))
    for timing, reference, goal in rows:
        ratio = f"{timing.median / reference.median:.2f}x {reference.label.split()[0][:8]}" if reference else "—"
        print(
            f"{timing.label:<44} {timing.median * 1000:>7.1f}ms {min(timing.samples) * 1000:>7.1f}ms "
            f"{max(timing.samples) * 1000:>7.1f}ms {ratio:>16}  {goal}"
        )
