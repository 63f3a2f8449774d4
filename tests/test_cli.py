"""End to end: the installed ``kitgen`` script in a subprocess over real projects."""

from __future__ import annotations

import json

from conftest import Project, assert_one_error


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
