"""End to end: the installed ``kitgen`` script in a subprocess over real projects."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
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
    assert document["summary"] == {
        "applied": 1,
        "renamed": 0,
        "pending": 1,
        "refused": 0,
        "changed": 0,
        "missing": 0,
        "pruned": 0,
    }


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
        "schema:diagram",
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
    ignored = {"!! .kitgen/"} if (clone / ".kitgen").exists() else set()  # stamps, when taken, ignore themselves
    assert set(status.stdout.splitlines()) == {"!! database/database.sqlite", *ignored}


def test_without_a_database_generate_refuses_and_rollback_leaves_the_entities(project: Project) -> None:
    project.create_table("2026_01_01_000001_create_users_table", "users")
    assert project.run("migrate").returncode == 0
    before = {path.name: path.read_bytes() for path in project.entities.iterdir()}
    project.database.unlink()  # a fresh clone: the database is not committed

    assert_one_error(project.run("generate"), "does not exist", "kitgen migrate")
    assert project.run("migrate:rollback", "--force").returncode == 0

    assert {path.name: path.read_bytes() for path in project.entities.iterdir()} == before


@pytest.mark.parametrize("folder", ["with?question", "with#hash", "with%25percent"])
def test_status_reads_the_right_file_whatever_the_path_holds(tmp_path: Path, folder: str) -> None:
    project = Project(tmp_path / folder)
    project.create_table("2026_01_01_000001_create_users_table", "users")
    assert project.run("migrate").returncode == 0

    result = project.run("migrate:status", "--exit-code")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "applied (batch 1)" in result.stdout
    assert sorted(path.name for path in tmp_path.iterdir()) == [folder]  # no stray database beside it


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("", "it would leave 1 row of kids referencing parents rows that do not exist"),  # checked before COMMIT
        (" foreign_keys:on", "it would leave 1 row of kids referencing parents rows"),  # enforced: checked too
    ],
)
def test_a_deferred_constraint_failing_at_commit_is_the_migrations_failure(
    project: Project, options: str, message: str
) -> None:
    project.create_table("2026_01_01_000001_create_parents_table", "parents")
    project.write(
        "2026_01_01_000002_create_kids_table.sql",
        f"-- migrate:up{options}\n"
        "CREATE TABLE kids (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parents(id) DEFERRABLE INITIALLY DEFERRED);\n"
        "INSERT INTO kids (parent_id) VALUES (42);\n",
    )

    result = project.run("migrate")

    assert_one_error(result, "2026_01_01_000002_create_kids_table", message)
    assert "Applying 2026_01_01_000001_create_parents_table … done" in result.stdout
    assert project.tables() == ["kitgen_migrations", "parents"]
    assert (project.entities / "parent.py").is_file()


def test_a_view_over_a_dropped_table_does_not_block_the_entities(project: Project) -> None:
    project.sql(
        "2026_01_01_000001_create_things",
        "CREATE TABLE tmp (x); CREATE VIEW broken AS SELECT x FROM tmp; DROP TABLE tmp;\n"
        "CREATE TABLE things (id INTEGER PRIMARY KEY);",
    )
    assert project.run("migrate").returncode == 0
    assert (project.entities / "thing.py").is_file() and not (project.entities / "broken.py").exists()
    assert project.run("check").returncode == 0


def test_init_creates_the_configured_database_folder(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.kitgen]\ndatabase = "var/app.sqlite"\n')
    assert subprocess.run([KITGEN, "init"], cwd=tmp_path, capture_output=True).returncode == 0
    (tmp_path / "database" / "migrations" / "2026_01_01_000001_create_users_table.sql").write_text(
        "-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE users;\n"
    )
    result = subprocess.run([KITGEN, "migrate"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "var" / "app.sqlite").is_file()


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_lock_timeout_must_be_a_finite_number(project: Project, value: str) -> None:
    assert_one_error(project.run("migrate:status", "--lock-timeout", value), "lock_timeout")


def test_make_migration_names_that_are_keywords_give_runnable_files(project: Project) -> None:
    for name in ("none", "create_order_table", "add_group_to_order"):
        assert project.run("make:migration", name).returncode == 0
    result = project.run("migrate")
    assert result.returncode == 0, result.stderr
    assert "class NoneMigration(Migration)" in next(project.migrations.glob("*_none.py")).read_text()
    with project.connect() as connection:
        columns = [row[1] for row in connection.execute('PRAGMA table_info("order")')]
    assert columns == ["id", "created_at", "updated_at", "group"]


def test_a_users_file_in_an_entitys_place_is_not_exported(project: Project) -> None:
    project.create_table("2026_01_01_000001_create_users_table", "users")
    (project.entities / "user.py").write_text("HELPER = 1\n")

    result = project.run("migrate")

    assert result.returncode == 3 and "app/entities/user.py: not generated by kitgen" in result.stderr
    assert (project.entities / "user.py").read_text() == "HELPER = 1\n"
    imported = subprocess.run(
        [sys.executable, "-c", "import app.entities"], cwd=project.root, capture_output=True, text=True
    )
    assert imported.returncode == 0, imported.stderr


# --- deploys: migrate without touching the entities ------------------------------------------------------

USERS = "2026_01_01_000001_create_users_table"
POSTS = "2026_01_01_000002_create_posts_table"
TAGS = "2026_01_01_000003_create_tags_table"


def entity_tree(project: Project) -> dict[str, bytes] | None:
    """Every file under the entities folder with its bytes, or None when the folder is absent."""
    if not project.entities.exists():
        return None
    return {str(path.relative_to(project.entities)): path.read_bytes() for path in project.entities.rglob("*")}


def with_kitgen_table(project: Project, table: str) -> None:
    with (project.root / "pyproject.toml").open("a", encoding="utf-8") as pyproject:
        pyproject.write(f"\n[tool.kitgen]\n{table}")


@pytest.mark.parametrize(
    ("options", "env", "table"),
    [(("--no-generate",), {}, ""), ((), {"KITGEN_GENERATE": "false"}, ""), ((), {}, "generate = false\n")],
    ids=["option", "environment", "pyproject"],
)
def test_migrate_without_generating_touches_no_entity_file(
    project: Project, options: tuple[str, ...], env: dict[str, str], table: str
) -> None:
    with_kitgen_table(project, table)
    project.create_table(USERS, "users")
    before = entity_tree(project)

    result = project.run("migrate", *options, env=env)

    assert result.returncode == 0, result.stderr
    assert "Applied 1 migration" in result.stdout and "Wrote" not in result.stdout
    assert project.applied() == [(USERS, 1)]
    assert entity_tree(project) == before
    again = project.run("migrate", *options, env=env)
    assert (again.returncode, again.stdout) == (0, "Nothing to migrate.\n")
    assert entity_tree(project) == before


@pytest.mark.parametrize("folder", ["missing", "read-only"])
def test_migrate_without_generating_needs_no_writable_entities_folder(project: Project, folder: str) -> None:
    project.create_table(USERS, "users")
    if folder == "missing":
        shutil.rmtree(project.entities)
    else:
        project.entities.chmod(0o555)
    before = entity_tree(project)
    try:
        result = project.run("migrate", "--no-generate")
    finally:
        if project.entities.exists():
            project.entities.chmod(0o755)

    assert result.returncode == 0, result.stderr
    assert project.applied() == [(USERS, 1)]
    assert entity_tree(project) == before


def test_a_missing_entities_folder_stops_a_generating_migrate_before_anything_changes(project: Project) -> None:
    project.create_table(USERS, "users")
    shutil.rmtree(project.entities)

    assert_one_error(project.run("migrate"), "entities folder")
    assert not project.database.exists()
    assert project.run("migrate", "--no-generate").returncode == 0


def test_generate_writes_when_asked_even_where_migrate_does_not(project: Project) -> None:
    with_kitgen_table(project, "generate = false\n")
    project.create_table(USERS, "users")
    assert project.run("migrate").returncode == 0
    assert not (project.entities / "user.py").exists()

    result = project.run("generate")

    assert result.returncode == 0, result.stderr
    assert "Wrote app/entities/user.py" in result.stdout
    assert project.run("check").returncode == 0


def test_hand_edited_entities_left_alone_exit_3_a_failed_migration_exits_1(project: Project) -> None:
    project.create_table(USERS, "users")
    assert project.run("migrate").returncode == 0
    edited = (project.entities / "user.py").read_text() + "# mine\n"
    (project.entities / "user.py").write_text(edited)
    project.create_table(POSTS, "posts")

    kept = project.run("migrate")

    assert_one_error(kept, "left as they are", code=3)
    assert f"Applying {POSTS} … done" in kept.stdout and "Wrote app/entities/post.py" in kept.stdout
    assert project.applied() == [(USERS, 1), (POSTS, 2)]
    assert (project.entities / "user.py").read_text() == edited
    project.sql(TAGS, "CREATE TABLE tags (id INTEGER PRIMARY KEY); SELECT * FROM nowhere;")
    assert_one_error(project.run("migrate"), TAGS, "no such table: nowhere", code=1)
    assert "tags" not in project.tables()


# --- click's usage errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("migrate", "--dtabase", "x"), "Error: no such option '--dtabase' — did you mean --database?\n"),
        (("migrate", "--generate"), "Error: no such option '--generate' — did you mean --no-generate or --entities?\n"),
        (("migrat",), "Error: no such command 'migrat' — did you mean migrate or "),
        (("migrate:resolve",), "Error: missing argument 'NAME' — see kitgen migrate:resolve --help\n"),
        (
            ("migrate:rollback", "--step", "abc"),
            "Error: invalid value for '--step': 'abc' is not a valid integer — see kitgen migrate:rollback --help\n",
        ),
        (
            ("migrate:resolve", "a", "b"),
            "Error: got unexpected extra argument (b) — see kitgen migrate:resolve --help\n",
        ),
    ],
)
def test_usage_errors_read_as_kitgens_errors(project: Project, args: tuple[str, ...], line: str) -> None:
    result = project.run(*args)

    assert_one_error(result, code=2)
    assert result.stderr.startswith(line) and result.stderr.count("\n") == 1, result.stderr
    assert "Usage:" not in result.stdout + result.stderr


# --- a down outside a transaction ----------------------------------------------------------------------


def two_tables(project: Project, up_marker: str, down_marker: str, down: str) -> None:
    project.write(
        f"{USERS}.sql",
        f"-- migrate:up{up_marker}\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n"
        f"CREATE TABLE posts (id INTEGER PRIMARY KEY);\n\n-- migrate:down{down_marker}\n{down}",
    )
    assert project.run("migrate").returncode == 0


DOWN_FAILING_LATE = "DROP TABLE posts;\nINSERT INTO users (id) VALUES (1);\nINSERT INTO users (id) VALUES (1);\n"


def test_a_failed_down_outside_a_transaction_says_what_of_it_ran(project: Project) -> None:
    two_tables(project, "", " transaction:false", DOWN_FAILING_LATE + "DROP TABLE users;\n")

    result = project.run("migrate:rollback", "--force")

    assert_one_error(
        result, USERS, "failed in down()", "UNIQUE constraint failed", "without a transaction", "2 statements ran: "
    )
    error = result.stderr
    assert "DROP TABLE posts" in error and "INSERT INTO users (id) VALUES (1)" in error
    assert "as it was before it" not in error
    assert project.tables() == ["kitgen_migrations", "users"]
    assert project.applied() == [(USERS, 1)]


def test_a_down_outside_a_transaction_failing_on_a_missing_table_lists_what_ran(project: Project) -> None:
    """A statement SQLite refuses before running it was never one of those that ran."""
    two_tables(project, "", " transaction:false", "DROP TABLE posts;\nDROP TABLE nowhere;\nDROP TABLE users;\n")

    result = project.run("migrate:rollback", "--force")

    assert_one_error(result, "no such table: nowhere", "without a transaction", "1 statement ran: DROP TABLE posts")


def test_a_failed_transactional_down_of_an_up_outside_one_leaves_the_database_as_it_was(project: Project) -> None:
    two_tables(project, " transaction:false", "", DOWN_FAILING_LATE)
    before = project.dump()

    result = project.run("migrate:rollback", "--force")

    assert_one_error(result, USERS, "failed in down()", "the database is as it was before it")
    assert "without a transaction" not in result.stderr
    assert project.dump() == before
