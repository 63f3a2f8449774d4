"""The committed sample application: its entities are current, lint-clean and typed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_committed_entities_pass_ruff_and_mypy_strict() -> None:
    ruff = subprocess.run(
        [str(BIN / "ruff"), "check", "--isolated", "app/entities"], cwd=ROOT, capture_output=True, text=True
    )
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr
    mypy = subprocess.run(
        [str(BIN / "mypy"), "--strict", "--no-incremental", "-p", "app.entities"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr


def test_committed_entities_match_the_migrations(tmp_path: Path) -> None:
    environ = {**os.environ, "KITGEN_DATABASE": str(tmp_path / "absent.sqlite")}  # entities only
    result = subprocess.run([str(BIN / "kitgen"), "check"], cwd=ROOT, capture_output=True, text=True, env=environ)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "6 ok."
