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


def test_the_sample_app_on_postgresql_gives_entities_that_lint_type_check_and_round_trip(
    tmp_path: Path, pg_url: str
) -> None:
    import shutil

    import psycopg
    from psycopg.rows import dict_row

    project = tmp_path / "sample"
    shutil.copytree(ROOT / "database" / "migrations", project / "database" / "migrations")
    (project / "app" / "entities").mkdir(parents=True)
    (project / "app" / "__init__.py").write_text("", encoding="utf-8")
    (project / "app" / "entities" / "__init__.py").write_text('"""Entities."""\n', encoding="utf-8")
    (project / "pyproject.toml").write_text(f'[tool.kitgen]\ndatabase = "{pg_url}"\n', encoding="utf-8")
    environ = {key: value for key, value in os.environ.items() if not key.startswith("KITGEN_")}

    def kitgen(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "kitgen"), *args], cwd=project, capture_output=True, text=True, env=environ)

    assert kitgen("migrate").returncode == 0
    check = kitgen("check")
    assert check.returncode == 0 and check.stdout.strip() == "6 ok.", check.stdout + check.stderr
    ruff = subprocess.run([str(BIN / "ruff"), "check", "--isolated", "app/entities"], cwd=project, capture_output=True)
    assert ruff.returncode == 0, ruff.stdout
    mypy = subprocess.run(
        [str(BIN / "mypy"), "--strict", "--no-incremental", "-p", "app.entities"], cwd=project, capture_output=True
    )
    assert mypy.returncode == 0, mypy.stdout
    script = (
        "import psycopg\nfrom psycopg.rows import dict_row\nfrom app.entities import User\n"
        f"with psycopg.connect({pg_url!r}, row_factory=dict_row) as c:\n"
        "    c.execute(\"INSERT INTO users VALUES (1, 'Ada', 'ada@example.com', 1, 2)\")\n"
        "    user = User.from_row(c.execute('SELECT * FROM users').fetchone())\n"
        "    user.name = 'Ada L.'\n"
        "    changes = user.to_row()\n"
        "    c.execute('UPDATE users SET name = %(name)s WHERE id = 1', changes)\n"
        "    again = User.from_row(c.execute('SELECT * FROM users').fetchone())\n"
        "    print(changes, again == user)\n"
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=project, capture_output=True, text=True)
    assert run.stdout.strip() == "{'name': 'Ada L.'} True", run.stdout + run.stderr
    with psycopg.connect(pg_url, row_factory=dict_row) as connection:
        assert connection.execute("SELECT name FROM users").fetchall() == [{"name": "Ada L."}]
