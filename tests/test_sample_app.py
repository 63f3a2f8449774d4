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


CONSTRUCT = """
from __future__ import annotations

from app.entities import Comment, Post, Profile, User


def build() -> list[object]:
    user = User(name="Ada", email="ada@example.com", created_at=1, updated_at=1)
    post = Post(user_id=1, title="Hi", body="...", published_at=None, created_at=1, updated_at=1)
    comment = Comment(post_id=1, user_id=1, body="!", created_at=1, updated_at=1)
    profile = Profile(user_id=1, bio="b", website=None, created_at=1, updated_at=1)
    name: str = user.name
    return [user, post, comment, profile, name]
"""


def test_every_sample_entity_is_constructed_by_field_names_under_mypy_and_pyright(tmp_path: Path) -> None:
    script = tmp_path / "construct.py"
    script.write_text(CONSTRUCT, encoding="utf-8")
    environ = {**os.environ, "PYTHONPATH": str(ROOT)}
    mypy = subprocess.run(
        [str(BIN / "mypy"), "--strict", "--no-incremental", str(script)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**environ, "MYPYPATH": str(ROOT)},
    )
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
    pyright = subprocess.run(
        [str(BIN / "pyright"), "--pythonpath", sys.executable, str(script)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=environ,
    )
    assert pyright.returncode == 0, pyright.stdout + pyright.stderr
