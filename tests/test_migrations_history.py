"""A history a team can trust: merged branches, renamed files, edited downs, checksum schemes.

Each test runs the installed ``kitgen`` script on real SQLite files, as a team member would.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Project, assert_one_error

from kitgen.driver.sqlite import SQLiteDriver
from kitgen.migrations.files import discover
from kitgen.migrations.formats import CHECKSUM_SCHEME
from kitgen.migrations.history import reconcile

USERS = "2026_01_01_000001_create_users_table"
PHONE = "2026_01_01_000002_add_phone_to_users"
AVATAR = "2026_01_01_000003_add_avatar_to_users"
POSTS = "2026_01_01_000004_create_posts_table"


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result


def users(project: Project) -> None:
    project.sql(USERS, "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);", "DROP TABLE users;")


def avatar(project: Project) -> None:
    project.sql(AVATAR, "ALTER TABLE users ADD COLUMN avatar TEXT;", "ALTER TABLE users DROP COLUMN avatar;")


def phone(project: Project) -> None:
    project.sql(PHONE, "ALTER TABLE users ADD COLUMN phone TEXT;", "ALTER TABLE users DROP COLUMN phone;")


def columns(database: Path, table: str = "users") -> list[str]:
    with sqlite3.connect(database) as connection:
        return [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]


def merged_branch(project: Project) -> None:
    """avatar applied on this branch; the teammate's older phone migration arrives by merge."""
    users(project)
    avatar(project)
    ok(project.run("migrate"))
    phone(project)


# --- out-of-order migrations ---------------------------------------------------------------------


def test_a_merged_older_migration_is_refused_naming_both_and_nothing_changes(project: Project) -> None:
    merged_branch(project)
    before = project.snapshot()
    entity = (project.entities / "user.py").read_text()

    result = project.run("migrate")

    assert_one_error(result, PHONE, AVATAR, "--allow-out-of-order", "newer prefix", "nothing was applied")
    assert project.snapshot() == before
    assert (project.entities / "user.py").read_text() == entity


def test_the_refusal_suggests_a_name_that_would_sort_last(project: Project) -> None:
    merged_branch(project)
    error = next(line for line in project.run("migrate").stderr.splitlines() if line.startswith("Error: "))
    suggested = error.split("rename to ")[1].split(")")[0]
    (project.migrations / f"{PHONE}.sql").rename(project.migrations / suggested)

    ok(project.run("migrate"))

    assert columns(project.database) == ["id", "name", "avatar", "phone"]
    assert [name for name, _ in project.applied()][-1] == Path(suggested).stem


@pytest.mark.parametrize(
    "how",
    [
        (("migrate", "--allow-out-of-order"), {}, ""),
        (("migrate",), {"KITGEN_OUT_OF_ORDER": "true"}, ""),
        (("migrate",), {}, "[tool.kitgen]\nout_of_order = true\n"),
    ],
    ids=["option", "environment", "pyproject"],
)
def test_out_of_order_can_be_allowed(project: Project, how: tuple[tuple[str, ...], dict[str, str], str]) -> None:
    args, env, table = how
    merged_branch(project)
    if table:
        (project.root / "pyproject.toml").write_text((project.root / "pyproject.toml").read_text() + table)

    result = ok(project.run(*args, env=env))

    assert f"Applying {PHONE} … done" in result.stdout
    assert [name for name, _ in project.applied()] == [USERS, AVATAR, PHONE]


def test_after_an_out_of_order_apply_check_generate_and_the_entities_agree(project: Project) -> None:
    merged_branch(project)
    ok(project.run("migrate", "--allow-out-of-order"))
    assert columns(project.database) == ["id", "name", "avatar", "phone"]

    check = project.run("check")
    generate = ok(project.run("generate"))

    assert check.returncode == 0, check.stdout + check.stderr  # the replay follows the database's order
    assert "up to date" in generate.stdout
    assert ok(project.run("check", "--database", str(project.database))).returncode == 0


def test_a_row_from_any_database_built_from_the_same_migrations_lands_in_its_own_fields(
    project: Project, tmp_path: Path
) -> None:
    """One developer applied phone out of order; a teammate's fresh clone applies in prefix order."""
    merged_branch(project)
    ok(project.run("migrate", "--allow-out-of-order"))
    teammate = tmp_path / "teammate.sqlite"
    ok(project.run("migrate", "--no-generate", "--database", str(teammate)))
    assert columns(project.database) != columns(teammate)  # the same columns, in another order

    for database in (project.database, teammate):
        with sqlite3.connect(database) as connection:
            connection.execute("INSERT INTO users (id, name, phone, avatar) VALUES (1, 'Ada', '555', 'ada.png')")
            connection.row_factory = sqlite3.Row
            row = connection.execute("SELECT * FROM users").fetchone()
            cursor = connection.execute("SELECT * FROM users")
            plain = cursor.fetchone()
            description = cursor.description
        script = (
            "import json, sys, sqlite3\n"
            "from app.entities import User\n"
            "row = json.loads(sys.argv[1])\n"
            "names = json.loads(sys.argv[2])\n"
            "from_mapping = User.from_row(dict(zip(names, row)))\n"
            "from_tuple = User.from_row(tuple(row), columns=names)\n"
            "assert from_mapping == from_tuple, (from_mapping, from_tuple)\n"
            "print(from_mapping.phone, from_mapping.avatar)\n"
        )
        names = [column[0] for column in description]
        assert list(row.keys()) == names
        result = subprocess.run(
            [sys.executable, "-c", script, json.dumps(list(plain)), json.dumps(names)],
            cwd=project.root,
            capture_output=True,
            text=True,
        )
        assert result.stdout.split() == ["555", "ada.png"], result.stderr


def test_a_pending_migration_newer_than_every_applied_one_is_not_out_of_order(project: Project) -> None:
    users(project)
    ok(project.run("migrate"))
    avatar(project)

    ok(project.run("migrate"))


# --- renamed files ---------------------------------------------------------------------------------


def counting_migration(project: Project, name: str) -> Path:
    return project.sql(
        name,
        "CREATE TABLE IF NOT EXISTS counters (id INTEGER PRIMARY KEY, n INTEGER);\nINSERT INTO counters (n) VALUES (1);",
        "DROP TABLE counters;",
    )


def counter_rows(project: Project) -> int:
    with project.connect() as connection:
        return int(connection.execute("SELECT count(*) FROM counters").fetchone()[0])


def test_a_renamed_applied_file_is_recorded_under_its_new_name_not_run_again(project: Project) -> None:
    old = "2026_01_01_000001_create_counters"
    new = "2026_01_01_000001_create_counters_table"
    counting_migration(project, old)
    ok(project.run("migrate"))
    (project.migrations / f"{old}.sql").rename(project.migrations / f"{new}.sql")

    result = ok(project.run("migrate"))

    assert f"Renamed {old} → {new} (same content)" in result.stdout
    assert counter_rows(project) == 1  # not inserted twice
    assert project.applied() == [(new, 1)]
    status = ok(project.run("migrate:status"))
    assert f"{new}  applied (batch 1)" in status.stdout and f"{old} " not in status.stdout
    ok(project.run("migrate:rollback", "--force"))
    assert "counters" not in project.tables()


def test_a_rename_with_a_reworded_comment_is_still_a_rename(project: Project) -> None:
    old, new = "2026_01_01_000001_seed", "2026_01_01_000001_seed_counters"
    path = counting_migration(project, old)
    ok(project.run("migrate"))
    path.rename(project.migrations / f"{new}.sql")
    renamed = project.migrations / f"{new}.sql"
    renamed.write_text("-- Seeds the counters.\n" + renamed.read_text())

    result = ok(project.run("migrate"))

    assert f"Renamed {old} → {new}" in result.stdout
    assert counter_rows(project) == 1
    assert ok(project.run("migrate")).stdout.strip() == "Nothing to migrate."


def test_a_new_file_with_other_statements_is_not_taken_for_a_rename(project: Project) -> None:
    old = "2026_01_01_000001_create_counters"
    counting_migration(project, old)
    ok(project.run("migrate"))
    (project.migrations / f"{old}.sql").unlink()
    project.sql("2026_01_01_000002_more", "INSERT INTO counters (n) VALUES (2);", "DELETE FROM counters WHERE n = 2;")

    result = ok(project.run("migrate"))

    assert "Renamed" not in result.stdout
    assert counter_rows(project) == 2
    assert f"applied migration {old} has no file" in result.stderr


def test_status_after_a_rename_before_migrating_shows_the_files_as_they_are(project: Project) -> None:
    old, new = "2026_01_01_000001_a", "2026_01_01_000001_b"
    counting_migration(project, old)
    ok(project.run("migrate"))
    (project.migrations / f"{old}.sql").rename(project.migrations / f"{new}.sql")

    status = project.run("migrate:status")

    assert f"{new}  renamed from {old}" in status.stdout
    ok(project.run("migrate"))
    assert "1 applied." in ok(project.run("migrate:status")).stdout


# --- checksums made by an earlier scheme ---------------------------------------------------------------


def downgrade_tracking_table(project: Project) -> None:
    """Make the tracking table look as an earlier kitgen left it: no scheme column, checksums it
    computed with another Python's ast.dump (which this one cannot reproduce)."""
    with project.connect() as connection:
        connection.executescript(
            """
            CREATE TABLE old (
                id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, batch INTEGER NOT NULL, checksum TEXT NOT NULL,
                raw_hash TEXT NOT NULL, source TEXT NOT NULL, format TEXT NOT NULL, transactional INTEGER NOT NULL,
                model TEXT, applied_at TEXT NOT NULL, created TEXT NOT NULL DEFAULT '[]'
            );
            INSERT INTO old SELECT id, name, batch, 'made-by-ast-dump-of-python-3.11', raw_hash, source, format,
                transactional, model, applied_at, created FROM kitgen_migrations;
            DROP TABLE kitgen_migrations;
            ALTER TABLE old RENAME TO kitgen_migrations;
            """
        )


def test_an_upgrade_then_a_comment_edit_is_not_a_change(project: Project) -> None:
    path = project.python(
        USERS, 'db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")', 'db.execute("DROP TABLE users")'
    )
    ok(project.run("migrate"))
    downgrade_tracking_table(project)
    path.write_text("# The users.\n" + path.read_text().replace('")\n', '")  # one table\n', 1))
    project.create_table(POSTS, "posts")

    result = ok(project.run("migrate"))

    assert f"Applying {POSTS} … done" in result.stdout
    with project.connect() as connection:
        schemes = connection.execute("SELECT name, checksum_scheme FROM kitgen_migrations ORDER BY id").fetchall()
    assert schemes == [(USERS, CHECKSUM_SCHEME), (POSTS, CHECKSUM_SCHEME)]  # upgraded in place
    assert "2 applied." in ok(project.run("migrate:status")).stdout


def test_an_upgrade_then_a_real_edit_is_still_refused(project: Project) -> None:
    path = project.python(
        USERS, 'db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")', 'db.execute("DROP TABLE users")'
    )
    ok(project.run("migrate"))
    downgrade_tracking_table(project)
    path.write_text(path.read_text().replace("PRIMARY KEY", "PRIMARY KEY, name TEXT"))

    assert_one_error(project.run("migrate"), "changed since it ran", USERS)


# --- check follows the database --------------------------------------------------------------------------


def test_check_without_a_database_replays_in_prefix_order(project: Project, tmp_path: Path) -> None:
    """CI has no database: the replay follows the prefixes, and says so by reporting the out-of-order entity."""
    merged_branch(project)
    ok(project.run("migrate", "--allow-out-of-order"))
    project.database.rename(tmp_path / "elsewhere.sqlite")

    result = project.run("check")

    assert result.returncode == 1
    assert "app/entities/user.py: stale" in result.stdout


def test_reconcile_pairs_each_missing_row_with_at_most_one_renamed_file(project: Project) -> None:
    counting_migration(project, "2026_01_01_000001_a")
    ok(project.run("migrate"))
    driver = SQLiteDriver(project.database, lock_timeout=1)
    rows = driver.applied_migrations()
    driver.close()
    (project.migrations / "2026_01_01_000001_a.sql").rename(project.migrations / "2026_01_01_000002_a.sql")
    counting_migration(project, "2026_01_01_000003_c")  # the same statements again, on purpose

    reconciled = reconcile(discover(project.migrations), rows)

    assert [(u.row.name, u.file.name) for u in reconciled.renamed] == [("2026_01_01_000001_a", "2026_01_01_000002_a")]
    assert [file.name for file in reconciled.pending] == ["2026_01_01_000003_c"]


def git(root: Path, *args: str) -> str:
    environ = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "PATH": "/usr/bin:/bin",
        "HOME": str(root),
    }
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, env=environ)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_real_second_branch_merged_after_migrating(project: Project) -> None:
    """Two branches of migration files in git; the one with the older prefix is merged after migrating."""
    (project.root / ".gitignore").write_text("/database/database.sqlite*\n")
    git(project.root, "init", "-q", "-b", "main")
    users(project)
    git(project.root, "add", "-A")
    git(project.root, "commit", "-q", "-m", "users")
    git(project.root, "checkout", "-q", "-b", "phone")
    phone(project)
    git(project.root, "add", "-A")
    git(project.root, "commit", "-q", "-m", "phone")
    git(project.root, "checkout", "-q", "main")
    avatar(project)
    git(project.root, "add", "-A")
    git(project.root, "commit", "-q", "-m", "avatar")
    ok(project.run("migrate"))
    git(project.root, "merge", "-q", "--no-edit", "phone")
    before = project.snapshot()

    refused = project.run("migrate")
    assert_one_error(refused, PHONE, AVATAR)
    assert project.snapshot() == before
    ok(project.run("migrate", "--allow-out-of-order"))
    assert ok(project.run("check")).returncode == 0
    assert [name for name, _ in project.applied()] == [USERS, AVATAR, PHONE]


# --- what a team runs into after the first weeks --------------------------------------------------


def recorded_source(project: Project, name: str) -> str:
    with project.connect() as connection:
        return str(connection.execute("SELECT source FROM kitgen_migrations WHERE name = ?", (name,)).fetchone()[0])


def seeded_users(project: Project, down: str = "DROP TABLE users;") -> Path:
    path = project.sql(USERS, "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);", down)
    ok(project.run("migrate"))
    with project.connect() as connection:
        connection.execute("INSERT INTO users (name) VALUES ('important')")
    return path


def test_a_down_removed_from_the_file_is_not_run_by_rollback(project: Project) -> None:
    path = seeded_users(project)
    path.write_text(path.read_text().replace("DROP TABLE users;", ""))

    result = project.run("migrate:rollback", "--force")

    assert_one_error(result, "has no down", "nothing was rolled back")
    with project.connect() as connection:
        assert connection.execute("SELECT name FROM users").fetchall() == [("important",)]


def test_a_down_removed_from_the_file_is_never_recorded_in_place_of_the_applied_one(project: Project) -> None:
    path = seeded_users(project)
    original = path.read_text()
    path.write_text(original.replace("DROP TABLE users;", ""))

    migrated = ok(project.run("migrate"))
    path.write_text(original)  # the down comes back (an undo in the editor, a checkout)

    assert "Recorded" not in migrated.stdout
    assert "DROP TABLE users;" in recorded_source(project, USERS)
    ok(project.run("migrate:rollback", "--force"))
    assert project.tables() == ["kitgen_migrations"]


def test_a_renamed_file_without_its_down_keeps_the_recorded_down(project: Project) -> None:
    path = seeded_users(project)
    renamed = path.with_name(f"{USERS}s.sql")
    renamed.write_text(path.read_text().replace("DROP TABLE users;", ""))
    path.unlink()

    migrated = ok(project.run("migrate"))

    assert f"Renamed {USERS} → {USERS}s" in migrated.stdout
    assert "DROP TABLE users;" in recorded_source(project, f"{USERS}s")


def test_a_file_renamed_and_its_down_fixed_before_migrating_rolls_back_with_the_fixed_down(project: Project) -> None:
    path = seeded_users(project, down="DROP TABLE user;")  # a typo
    renamed = path.with_name(f"{USERS}s.sql")
    renamed.write_text(path.read_text().replace("DROP TABLE user;", "DROP TABLE users;"))
    path.unlink()

    ok(project.run("migrate:rollback", "--force"))

    assert project.tables() == ["kitgen_migrations"]


def test_a_fixed_down_is_what_rollback_runs_without_migrating_first(project: Project) -> None:
    path = seeded_users(project, down="DROP TABLE user;")  # a typo
    assert_one_error(project.run("migrate:rollback", "--force"), "no such table: user")
    path.write_text(path.read_text().replace("DROP TABLE user;", "DROP TABLE users;"))

    ok(project.run("migrate:rollback", "--force"))

    assert project.tables() == ["kitgen_migrations"]


def test_a_down_added_to_a_migration_that_had_none_is_what_rollback_runs(project: Project) -> None:
    path = project.python(USERS, 'db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")')
    path.write_text(path.read_text().replace("    def down(self, db: Database) -> None:\n        pass\n", ""))
    ok(project.run("migrate"))
    assert_one_error(project.run("migrate:rollback", "--force"), "has no down")
    path.write_text(
        path.read_text() + '\n    def down(self, db: Database) -> None:\n        db.execute("DROP TABLE users")\n'
    )

    ok(project.run("migrate:rollback", "--force"))

    assert project.tables() == ["kitgen_migrations"]


def test_a_new_migration_from_the_template_is_not_taken_for_a_deleted_one(project: Project) -> None:
    ok(project.run("make:migration", "create_users_table", "--sql"))
    ok(project.run("make:migration", "backfill_names", "--sql"))
    ok(project.run("migrate"))
    [backfill] = project.migrations.glob("*backfill_names.sql")
    backfill.unlink()
    ok(project.run("make:migration", "seed_admin", "--sql"))
    [made] = project.migrations.glob("*seed_admin.sql")
    seed = made.rename(made.with_name(backfill.name[:18] + "seed_admin.sql"))  # made within the same second

    result = ok(project.run("migrate"))

    assert "Renamed" not in result.stdout
    assert "backfill_names has no file" in result.stderr
    assert [name for name, _ in project.applied()][-1] == seed.stem


def test_a_file_renamed_and_edited_is_refused_never_run_twice(project: Project) -> None:
    seed = "2026_01_01_000002_seed"
    users(project)
    project.sql(seed, "INSERT INTO users (name) VALUES ('admin');", "DELETE FROM users;")
    ok(project.run("migrate"))
    (project.migrations / f"{seed}.sql").unlink()
    project.sql(
        f"{seed}_users", "INSERT INTO users (name) VALUES ('admin');\nINSERT INTO users (name) VALUES ('guest');"
    )
    before = project.snapshot()

    result = project.run("migrate")

    assert_one_error(result, f"{seed}_users.sql has the timestamp prefix of {seed}", "--rolled-back")
    assert project.snapshot() == before


def test_a_file_renamed_twice_is_refused_never_run_twice(project: Project) -> None:
    old, new = "2026_01_01_000001_a", "2026_01_01_000009_create_counters"  # neither prefix nor label kept
    counting_migration(project, old)
    ok(project.run("migrate"))
    (project.migrations / f"{old}.sql").rename(project.migrations / f"{new}.sql")
    before = project.snapshot()

    result = project.run("migrate")

    assert_one_error(result, f"{new}.sql runs the same statements as {old}", "renamed twice", "--applied")
    assert project.snapshot() == before


def test_a_file_renamed_twice_is_recorded_with_the_two_ways_out_the_error_names(project: Project) -> None:
    old, new = "2026_01_01_000001_a", "2026_01_01_000009_create_counters"
    counting_migration(project, old)
    ok(project.run("migrate"))
    (project.migrations / f"{old}.sql").rename(project.migrations / f"{new}.sql")

    ok(project.run("migrate:resolve", new, "--applied"))
    ok(project.run("migrate:resolve", old, "--rolled-back"))
    result = ok(project.run("migrate"))

    assert "Nothing to migrate" in result.stdout
    assert counter_rows(project) == 1
    assert [name for name, _ in project.applied()] == [new]


def test_a_new_migration_that_repeats_a_forgotten_one_runs_once_forgotten(project: Project) -> None:
    old, new = "2026_01_01_000001_a", "2026_01_01_000009_count_again"
    counting_migration(project, old)
    ok(project.run("migrate"))
    (project.migrations / f"{old}.sql").rename(project.migrations / f"{new}.sql")
    ok(project.run("migrate:resolve", old, "--rolled-back"))

    ok(project.run("migrate"))

    assert counter_rows(project) == 2


def test_status_shows_a_renamed_file_as_renamed_and_resolve_refuses_to_record_it_twice(project: Project) -> None:
    old, new = "2026_01_01_000001_a", "2026_01_01_000001_create_counters"
    counting_migration(project, old)
    ok(project.run("migrate"))
    (project.migrations / f"{old}.sql").rename(project.migrations / f"{new}.sql")

    status = project.run("migrate:status")
    refused = project.run("migrate:resolve", new, "--applied")

    assert f"{new}  renamed from {old}" in status.stdout and "missing" not in status.stdout
    assert_one_error(refused, f"{new} is {old} renamed")
    assert project.applied() == [(old, 1)]


def test_an_older_migration_on_a_branch_without_the_newest_applied_one(project: Project) -> None:
    users(project)
    avatar(project)
    ok(project.run("migrate"))  # one batch: users and the other branch's avatar
    with project.connect() as connection:
        connection.execute("INSERT INTO users (name) VALUES ('important')")
    (project.migrations / f"{AVATAR}.sql").unlink()  # switched to a branch that does not have it
    phone(project)

    refused = project.run("migrate")
    assert_one_error(refused, "whose file is not here", "migrate:rollback --step 1 (", f"rolls back {AVATAR})")
    ok(project.run("migrate:rollback", "--step", "1", "--force"))
    ok(project.run("migrate"))
    assert columns(project.database) == ["id", "name", "phone"]
    with project.connect() as connection:
        assert connection.execute("SELECT name FROM users").fetchall() == [("important",)]


def test_the_rollback_for_another_branch_names_what_of_this_branch_it_would_undo(project: Project) -> None:
    users(project)
    avatar(project)
    project.sql(POSTS, "CREATE TABLE posts (id INTEGER PRIMARY KEY);", "DROP TABLE posts;")
    ok(project.run("migrate"))
    (project.migrations / f"{AVATAR}.sql").unlink()
    phone(project)

    refused = project.run("migrate")

    assert_one_error(refused, "migrate:rollback --step 2 would also roll back", f"{POSTS}, whose file is here")
    ok(project.run("migrate:rollback", "--step", "2", "--force"))
    ok(project.run("migrate"))
    assert [name for name, _ in project.applied()] == [USERS, PHONE, POSTS]


def test_a_migration_outside_a_transaction_that_failed_halfway_leaves_entities_for_what_it_made(
    project: Project,
) -> None:
    project.write(
        "2026_01_01_000001_two_tables.sql",
        "-- migrate:up transaction:false\nCREATE TABLE first (id INTEGER PRIMARY KEY);\nINSERT INTO nowhere VALUES (1);\n",
    )

    result = project.run("migrate")

    assert_one_error(result, "1 statement ran")
    assert (project.entities / "first.py").is_file()


def test_a_helper_only_the_down_uses_is_a_new_down_when_edited(project: Project) -> None:
    path = project.python(
        USERS,
        'db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")',
        "self.drop(db)",
        extra='def drop(self, db: Database) -> None:\n    db.execute("DROP TABLE user")\n\n',
    )
    ok(project.run("migrate"))
    assert_one_error(project.run("migrate:rollback", "--force"), "no such table: user")
    path.write_text(path.read_text().replace("DROP TABLE user", "DROP TABLE users"))

    migrated = ok(project.run("migrate"))

    assert f"Recorded the new down of {USERS}" in migrated.stdout
    ok(project.run("migrate:rollback", "--force"))
    assert project.tables() == ["kitgen_migrations"]


def test_two_files_claiming_one_applied_migration_are_refused_never_run_twice(project: Project) -> None:
    seed = "2026_01_01_000004_seed_users"
    users(project)
    project.sql(seed, "INSERT INTO users (name) VALUES ('seed');", "DELETE FROM users WHERE name = 'seed';")
    ok(project.run("migrate"))
    path = project.migrations / f"{seed}.sql"
    text = path.read_text()
    path.rename(project.migrations / "2026_01_01_000004_seed.sql")  # keeps the prefix
    (project.migrations / "2026_01_01_000005_seed_users.sql").write_text(text)  # keeps the label
    before = project.snapshot()

    result = project.run("migrate")

    assert_one_error(result, "2026_01_01_000005_seed_users.sql runs the same statements as", seed)
    assert project.snapshot() == before


def test_a_rename_that_moves_a_migration_past_others_is_refused(project: Project) -> None:
    users(project)
    phone(project)
    ok(project.run("migrate"))
    moved = "2026_01_01_000009_create_users_table"
    (project.migrations / f"{USERS}.sql").rename(project.migrations / f"{moved}.sql")
    before = project.snapshot()

    result = project.run("migrate")

    assert_one_error(result, f"{moved}.sql", f"after {PHONE}", "fresh database")
    assert project.snapshot() == before
    status = ok(project.run("migrate:status"))
    assert f"{moved}  refused" in status.stdout


def test_status_shows_a_file_migrate_would_refuse_as_refused(project: Project) -> None:
    old, new = "2026_01_01_000001_a", "2026_01_01_000009_create_counters"
    counting_migration(project, old)
    ok(project.run("migrate"))
    (project.migrations / f"{old}.sql").rename(project.migrations / f"{new}.sql")

    status = ok(project.run("migrate:status"))

    assert f"{new}  refused" in status.stdout
    assert_one_error(project.run("migrate"), "renamed twice")


def test_accepting_a_file_without_its_down_keeps_nothing_from_being_lost(project: Project) -> None:
    path = seeded_users(project)
    path.write_text("-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT);\n")
    before = project.snapshot()

    result = project.run("migrate:resolve", USERS, "--accept-changes")

    assert_one_error(result, "has no down", "recorded")
    assert project.snapshot() == before


def test_a_helper_the_up_may_reach_by_name_stays_part_of_the_up(project: Project) -> None:
    path = project.python(
        USERS,
        'db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")\ngetattr(self, "seed_" + "rows")(db)',
        "self.seed_rows(db)",
        extra="def seed_rows(self, db: Database) -> None:\n    db.execute(\"INSERT INTO users (name) VALUES ('a')\")\n\n",
    )
    ok(project.run("migrate"))
    path.write_text(path.read_text().replace("VALUES ('a')", "VALUES ('b')"))

    assert_one_error(project.run("migrate"), "changed since it ran", USERS)


def test_the_rollback_advised_for_another_branch_warns_about_this_branchs_migrations(project: Project) -> None:
    users(project)
    tags = "2026_01_01_000005_create_tags"
    comments = "2026_01_01_000006_create_comments"
    project.sql(tags, "CREATE TABLE tags (id INTEGER PRIMARY KEY);", "DROP TABLE tags;")
    ok(project.run("migrate"))  # on the other branch
    (project.migrations / f"{tags}.sql").unlink()
    project.sql(comments, "CREATE TABLE comments (id INTEGER PRIMARY KEY);", "DROP TABLE comments;")
    ok(project.run("migrate"))  # back on this branch
    phone(project)

    refused = project.run("migrate")

    assert_one_error(refused, f"older than {tags}, an applied migration whose file is not here", "--allow-out-of-order")
    error = next(line for line in refused.stderr.splitlines() if line.startswith("Error: "))
    assert f"would also roll back {comments}" in error and "whose file is here" in error
    assert f"{comments}, the newest applied migration, whose file is not here" not in error


def test_a_copied_sql_migration_with_its_label_is_refused_never_run_twice(project: Project) -> None:
    seed = "2026_01_01_000004_seed_users"
    users(project)
    path = project.sql(seed, "INSERT INTO users (name) VALUES ('seed');", "DELETE FROM users WHERE name = 'seed';")
    ok(project.run("migrate"))
    (project.migrations / "2026_01_01_000005_seed_users.sql").write_text(path.read_text())
    before = project.snapshot()

    result = project.run("migrate")

    assert_one_error(result, "2026_01_01_000005_seed_users.sql runs the same statements as", "(a copy?)")
    assert project.snapshot() == before


def test_a_same_second_prefix_collision_fixed_by_a_rename_is_recorded_on_the_other_database(
    project: Project,
) -> None:
    """Two developers made a migration in the same second; one of them renamed his to a later prefix."""
    users(project)
    phone_name, email = "2026_01_01_000002_add_phone_to_users", "2026_01_01_000002_add_email_to_users"
    project.sql(email, "ALTER TABLE users ADD COLUMN email TEXT;", "ALTER TABLE users DROP COLUMN email;")
    ok(project.run("migrate"))  # this database applied email
    renamed = "2026_01_01_000003_add_email_to_users"
    (project.migrations / f"{email}.sql").rename(project.migrations / f"{renamed}.sql")
    project.sql(phone_name, "ALTER TABLE users ADD COLUMN phone TEXT;", "ALTER TABLE users DROP COLUMN phone;")

    result = ok(project.run("migrate", "--allow-out-of-order"))

    assert f"Renamed {email} → {renamed}" in result.stdout
    assert columns(project.database) == ["id", "name", "email", "phone"]
    assert [name for name, _ in project.applied()] == [USERS, renamed, phone_name]


def test_a_rename_that_fixes_the_order_is_recorded_with_allow_out_of_order(project: Project) -> None:
    users(project)
    phone(project)
    ok(project.run("migrate"))
    moved = "2026_01_01_000009_add_phone_to_users"
    (project.migrations / f"{PHONE}.sql").rename(project.migrations / f"{moved}.sql")  # no order change here
    avatar(project)
    ok(project.run("migrate", "--allow-out-of-order"))
    back = "2026_01_01_000002_add_phone_to_users"
    (project.migrations / f"{moved}.sql").rename(project.migrations / f"{back}.sql")  # past avatar: refused

    refused = project.run("migrate")
    status = ok(project.run("migrate:status"))
    allowed = ok(project.run("migrate", "--allow-out-of-order"))

    assert_one_error(refused, f"sorts before {AVATAR}", "--allow-out-of-order")
    assert re.search(rf"{back} +refused", status.stdout)
    assert f"Renamed {moved} → {back}" in allowed.stdout
    assert [name for name, _ in project.applied()] == [USERS, back, AVATAR]


def test_resolve_records_a_rename_migrate_refuses_for_its_order(project: Project) -> None:
    users(project)
    phone(project)
    avatar(project)
    ok(project.run("migrate"))
    moved = "2026_01_01_000009_add_phone_to_users"
    (project.migrations / f"{PHONE}.sql").rename(project.migrations / f"{moved}.sql")
    assert_one_error(project.run("migrate"), f"sorts after {AVATAR}")

    ok(project.run("migrate:resolve", moved, "--applied"))
    ok(project.run("migrate:resolve", PHONE, "--rolled-back"))
    result = ok(project.run("migrate"))

    assert "Nothing to migrate" in result.stdout
    assert columns(project.database) == ["id", "name", "phone", "avatar"]


def test_a_pending_migration_older_than_a_renamed_newest_one_is_out_of_order(project: Project) -> None:
    users(project)
    phone(project)
    ok(project.run("migrate"))
    moved = "2026_01_01_000009_add_phone_to_users"
    (project.migrations / f"{PHONE}.sql").rename(project.migrations / f"{moved}.sql")
    avatar(project)
    before = project.snapshot()

    result = project.run("migrate")

    assert_one_error(result, f"{AVATAR} is older than {moved}")
    assert project.snapshot() == before
