"""End to end: the installed ``kitgen`` script in a subprocess over real projects."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import KITGEN, Project, assert_one_error, run_on_terminal


def test_migrate_applies_pending_in_prefix_order_as_one_batch(project: Project) -> None:
    project.create_table("2026_01_01_000002_create_posts_table", "posts")
    project.create_table("2026_01_01_000001_create_users_table", "users")

    result = project.run("migrate")

    assert result.returncode == 0, result.stderr
    assert result.stdout.index("create_users_table") < result.stdout.index("create_posts_table")
    assert "Applied 2 migrations" in result.stdout
    assert project.applied() == [
        ("2026_01_01_000001_create_users_table", 1),
        ("2026_01_01_000002_create_posts_table", 1),
    ]


def test_second_migrate_has_nothing_to_do(project: Project) -> None:
    project.create_table("2026_01_01_000001_create_users_table", "users")
    assert project.run("migrate").returncode == 0

    result = project.run("migrate")

    assert result.returncode == 0
    assert result.stdout.strip() == "Nothing to migrate."


def test_status_json_and_exit_code(project: Project) -> None:
    project.create_table("2026_01_01_000001_create_users_table", "users")
    project.run("migrate")
    project.create_table("2026_01_01_000002_create_posts_table", "posts")

    result = project.run("migrate:status", "--format", "json", "--exit-code")

    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert [(m["name"], m["state"], m["batch"]) for m in document["migrations"]] == [
        ("2026_01_01_000001_create_users_table", "applied", 1),
        ("2026_01_01_000002_create_posts_table", "pending", None),
    ]
    assert document["summary"] == {"applied": 1, "pending": 1, "changed": 0, "missing": 0}


def test_rollback_without_terminal_or_force_is_refused(project: Project) -> None:
    project.create_table("2026_01_01_000001_create_users_table", "users")
    project.run("migrate")
    before = project.dump()

    result = project.run("migrate:rollback")

    assert_one_error(result, "needs confirmation", "--force")
    assert project.dump() == before


@pytest.mark.parametrize(("answer", "rolled_back"), [("y", True), ("n", False)])
def test_rollback_asks_on_a_terminal_naming_the_database(project: Project, answer: str, rolled_back: bool) -> None:
    project.create_table("2026_01_01_000001_create_users_table", "users")
    project.run("migrate")

    output = run_on_terminal(project, "migrate:rollback", env={"NO_COLOR": "1"}, answer=answer)

    assert "Roll back 1 migration (2026_01_01_000001_create_users_table)" in output
    assert str(project.database) in output
    assert ("Rolled back 1 migration" in output) is rolled_back
    assert project.tables() == (["kitgen_migrations"] if rolled_back else ["kitgen_migrations", "users"])


def test_help_lists_every_command() -> None:
    result = subprocess.run([KITGEN, "--help"], capture_output=True, text=True, check=True)
    for command in (
        "init",
        "make:migration",
        "migrate",
        "migrate:status",
        "migrate:rollback",
        "migrate:reset",
        "migrate:refresh",
        "migrate:fresh",
    ):
        assert f"  {command} " in result.stdout


def test_migrate_warns_about_applied_migrations_whose_file_is_gone(project: Project) -> None:
    users = project.create_table("2026_01_01_000001_create_users_table", "users")
    project.run("migrate")
    users.unlink()

    result = project.run("migrate")

    assert result.returncode == 0
    assert "Warning: applied migration 2026_01_01_000001_create_users_table has no file" in result.stderr


def test_fresh_clone_of_this_repository_migrates_without_changing_tracked_files(tmp_path: Path) -> None:
    repository = Path(__file__).resolve().parent.parent
    if not (repository / ".git").exists():
        pytest.skip("not a git checkout")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(repository), str(clone)], check=True)

    first = subprocess.run([KITGEN, "migrate"], cwd=clone, capture_output=True, text=True)
    second = subprocess.run([KITGEN, "migrate"], cwd=clone, capture_output=True, text=True)

    assert first.returncode == 0, first.stderr
    assert "Applied 4 migrations" in first.stdout
    assert second.stdout.strip() == "Nothing to migrate."
    status = subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=clone, capture_output=True, text=True)
    assert status.stdout.splitlines() == ["!! database/database.sqlite"]
