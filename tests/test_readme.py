"""The README shows the sample app's generated entity as it is committed, and its insert/update example runs."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import Project

ROOT = Path(__file__).resolve().parent.parent


def test_readme_shows_the_current_generated_user_entity() -> None:
    entity = (ROOT / "app" / "entities" / "user.py").read_text(encoding="utf-8")
    assert f"```python\n{entity}```" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_insert_and_update_example_runs_on_the_sample_app(project: Project) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("**Inserting and updating.**", 1)[1]
    example = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert example is not None
    shutil.rmtree(project.migrations)
    shutil.copytree(ROOT / "database" / "migrations", project.migrations)
    migrated = project.run("migrate")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    (project.root / "example.py").write_text(example.group(1), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "example.py"], cwd=project.root, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    connection = sqlite3.connect(project.database)
    try:
        rows = connection.execute("SELECT id, name, email FROM users").fetchall()
    finally:
        connection.close()
    assert rows == [(1, "Ada Lovelace", "ada@example.com")]
