"""``migrate --pretend`` and ``migrate:rollback --pretend``: the real run's statements, on a copy."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Project, assert_one_error

from kitgen import commands
from kitgen.commands import pretending

RELATIONS = "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def everything(project: Project) -> tuple[bytes, dict[str, bytes], list[str]]:
    """The database file, the entities folder and the database folder's listing."""
    listing = sorted(path.name for path in project.database.parent.iterdir())
    return project.snapshot(), folder_bytes(project.entities), listing


@pytest.fixture
def traced_connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement of every connection kitgen opens, from sqlite3's own trace callback."""
    statements: list[str] = []
    original: Callable[..., sqlite3.Connection] = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection = original(*args, **kwargs)
        connection.set_trace_callback(statements.append)
        return connection

    monkeypatch.setattr(sqlite3, "connect", connect)
    yield statements


SCHEMA_VERSION = "PRAGMA schema_version"  # kitgen's looks at the schema's version, before and after a migration


def migration_segments(trace: list[str]) -> list[list[str]]:
    """The statements each migration ran in a real run: from its BEGIN (after kitgen's look at the schema's
    version) to kitgen's look at the relations after it (the schema's version, then its relations)."""
    segments: list[list[str]] = []
    current: list[str] | None = None
    for statement in trace:
        if statement.startswith("BEGIN"):
            current = []
        elif statement in (SCHEMA_VERSION, RELATIONS) and current is not None:
            if current:
                segments.append(current)
                current = None
        elif current is not None and not statement.startswith("-- "):
            current.append(statement)  # ("-- PRAGMA …", "-- TRIGGER …": SQLite's notes of programs nested in one)
    return segments


def sample(project: Project) -> None:
    project.sql(
        "2026_01_01_000001_create_users",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL);",
        "DROP TABLE users;",
    )
    project.python(
        "2026_01_01_000002_seed_users",
        """
        db.executemany("INSERT INTO users (name, score) VALUES (?, ?)", [("ann", 1.5), ("bob", None)])
        db.execute("UPDATE users SET name = :name WHERE id = :id", {"name": "it's", "id": 2})
        db.executescript('''
            CREATE INDEX users_name ON users (name);
            CREATE VIEW top_users AS SELECT name FROM users WHERE score > 1;
        ''')
        """,
        'db.executescript("DROP VIEW top_users; DROP INDEX users_name; DELETE FROM users;")',
    )


def test_pretend_prints_what_a_real_run_executes(project: Project, traced_connections: list[str]) -> None:
    sample(project)
    config = project.config()
    rehearsed = pretending.pretend_migrate(config)
    assert rehearsed.failure is None
    assert [item.name for item in rehearsed.ran] == ["2026_01_01_000001_create_users", "2026_01_01_000002_seed_users"]
    assert not project.database.exists()
    traced_connections.clear()
    commands.migrate(config)
    real = migration_segments(traced_connections)
    assert real == [item.statements for item in rehearsed.migrations]
    assert real[1][:2] == [
        "INSERT INTO users (name, score) VALUES ('ann', 1.5)",
        "INSERT INTO users (name, score) VALUES ('bob', NULL)",
    ]
    assert "UPDATE users SET name = 'it''s' WHERE id = 2" in real[1]


def test_rollback_pretend_prints_what_a_real_rollback_executes(project: Project, traced_connections: list[str]) -> None:
    sample(project)
    config = project.config()
    commands.migrate(config)
    rehearsed = pretending.pretend_rollback(config)
    assert [item.name for item in rehearsed.migrations] == [
        "2026_01_01_000002_seed_users",
        "2026_01_01_000001_create_users",
    ]
    traced_connections.clear()
    commands.rollback(config, force=True)
    real = [s for s in traced_connections if s.split()[0] in {"DROP", "DELETE"} and "kitgen_migrations" not in s]
    assert real == [statement for item in rehearsed.migrations for statement in item.statements]


def test_pretend_cli_leaves_every_byte_as_it_was(project: Project) -> None:
    sample(project)
    assert project.run("migrate").returncode == 0
    project.sql(
        "2026_01_01_000003_posts",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), title TEXT NOT NULL);"
        "\nINSERT INTO posts (user_id, title) VALUES (1, 'hello');",
    )
    before = everything(project)
    result = project.run("migrate", "--pretend")
    assert result.returncode == 0, result.stderr
    assert everything(project) == before
    lines = result.stdout.splitlines()
    assert lines[0] == "Would apply 2026_01_01_000003_posts:"
    assert lines[1].startswith("CREATE TABLE posts (")  # verbatim: a multi-line literal stays as it is
    assert "INSERT INTO posts (user_id, title) VALUES (1, 'hello');" in lines
    assert "Would write app/entities/post.py:" in lines
    assert "+class Post(BaseModel):" in lines  # a new file's diff is all additions
    assert "Would write app/entities/__init__.py:" in lines
    assert lines[-1] == "Would apply 1 migration; pretending: the database and the entities were not changed."
    # the real run then does exactly that
    assert project.run("migrate").returncode == 0
    assert (project.entities / "post.py").exists()


def test_pretend_without_a_database_creates_none(project: Project) -> None:
    sample(project)
    result = project.run("migrate", "--pretend")
    assert result.returncode == 0, result.stderr
    assert "Would apply 2026_01_01_000002_seed_users:" in result.stdout
    assert not project.database.exists()
    assert sorted(path.name for path in project.database.parent.iterdir()) == ["migrations"]
    assert folder_bytes(project.entities) == {"__init__.py": b'"""Entities."""\n'}


def test_pretend_of_a_failing_migration_exits_1_with_the_usual_error(project: Project) -> None:
    sample(project)
    assert project.run("migrate").returncode == 0
    project.sql("2026_01_01_000003_ok", "CREATE TABLE tags (id INTEGER PRIMARY KEY);")
    project.sql("2026_01_01_000004_bad", "ALTER TABLE tags ADD COLUMN label TEXT;\nINSERT INTO nowhere VALUES (1);")
    before = everything(project)
    result = project.run("migrate", "--pretend")
    assert_one_error(
        result,
        "migration 2026_01_01_000004_bad failed",
        "no such table: nowhere",
        "pretended: the database itself was not changed",
    )
    assert everything(project) == before
    assert "Would apply 2026_01_01_000003_ok:" in result.stdout
    assert "ALTER TABLE tags ADD COLUMN label TEXT;" in result.stdout.splitlines()  # ran before the failure
    assert "2026_01_01_000003_ok would stay applied." in result.stdout


def test_pretend_shows_entity_deletions_on_rollback(project: Project) -> None:
    sample(project)
    assert project.run("migrate", "--step").returncode == 0
    before = everything(project)
    result = project.run("migrate:rollback", "--pretend", "--step", "2")
    assert result.returncode == 0, result.stderr
    assert everything(project) == before
    assert "Would roll back 2026_01_01_000002_seed_users:" in result.stdout
    assert "DROP TABLE users;" in result.stdout.splitlines()
    assert "Would delete app/entities/user.py:" in result.stdout
    assert "-class User(BaseModel):" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("Would roll back 2 migrations;")


def test_pretend_needs_no_confirmation_and_works_where_destructive_commands_are_refused(project: Project) -> None:
    sample(project)
    assert project.run("migrate").returncode == 0
    before = everything(project)
    result = project.run("migrate:rollback", "--pretend", env={"KITGEN_ENV": "production"})
    assert result.returncode == 0, result.stderr
    assert everything(project) == before
    assert_one_error(project.run("migrate:rollback", "--force", env={"KITGEN_ENV": "production"}), "refused")


def test_pretend_shows_hand_edited_entities_it_would_not_overwrite(project: Project) -> None:
    project.sql("2026_01_01_000001_create_users", "CREATE TABLE users (id INTEGER PRIMARY KEY);")
    assert project.run("migrate").returncode == 0
    user = project.entities / "user.py"
    user.write_text(user.read_text() + "# mine\n")
    project.sql("2026_01_01_000002_add_name", "ALTER TABLE users ADD COLUMN name TEXT;")
    result = project.run("migrate", "--pretend")
    assert_one_error(
        result, "1 entity file(s) would be left as they are", "pretended: the database itself was not changed", code=3
    )  # as the real run
    assert "Would leave app/entities/user.py as it is (edited):" in result.stdout
    assert user.read_text().endswith("# mine\n")
    assert_one_error(project.run("migrate"), "1 entity file(s) left as they are", code=3)


def test_trigger_statements_are_not_printed_twice(project: Project) -> None:
    project.sql(
        "2026_01_01_000001_create",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);\nCREATE TABLE log (v TEXT);\n"
        "CREATE TRIGGER t_log AFTER INSERT ON t BEGIN INSERT INTO log VALUES (new.v); END;",
    )
    assert project.run("migrate").returncode == 0
    project.python("2026_01_01_000002_seed", 'db.executemany("INSERT INTO t (v) VALUES (?)", [("a",), ("a",)])')
    rehearsed = pretending.pretend_migrate(project.config())
    assert rehearsed.migrations[0].statements == ["INSERT INTO t (v) VALUES ('a')", "INSERT INTO t (v) VALUES ('a')"]


def test_pretend_rejects_a_bad_step(project: Project) -> None:
    assert_one_error(project.run("migrate:rollback", "--pretend", "--step", "0"), "--step must be at least 1", code=2)


def test_pretend_prints_the_statements_of_a_table_rebuild(project: Project, traced_connections: list[str]) -> None:
    project.sql(
        "2026_01_01_000001_create",
        "CREATE TABLE parents (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, legacy TEXT, CHECK (length(name) < 9));\n"
        "CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parents(id) ON DELETE CASCADE);\n"
        "CREATE INDEX parents_name ON parents (name) WHERE name IS NOT NULL;\n"
        "INSERT INTO parents (name) VALUES ('a'), ('b');\nINSERT INTO children (parent_id) VALUES (1), (2);",
    )
    config = project.config()
    commands.migrate(config)
    project.python(
        "2026_01_01_000002_drop_legacy",
        'with db.alter_table("parents") as table:\n    table.drop_column("legacy")',
    )
    before = everything(project)
    rehearsed = pretending.pretend_migrate(config)
    assert rehearsed.failure is None
    assert everything(project) == before
    statements = rehearsed.migrations[0].statements
    assert any(s.startswith("DROP TABLE") for s in statements)
    assert any(s.startswith("CREATE INDEX parents_name") for s in statements)
    traced_connections.clear()
    commands.migrate(config)
    assert migration_segments(traced_connections) == [statements]
    with project.connect() as connection:
        assert connection.execute("SELECT count(*) FROM children").fetchone()[0] == 2


def test_attach_is_not_run_on_a_copy_so_the_attached_file_stays(project: Project) -> None:
    project.database.parent.mkdir(parents=True, exist_ok=True)
    other = project.database.parent / "aux.sqlite"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE parents (id INTEGER PRIMARY KEY)")
        connection.execute("INSERT INTO parents VALUES (1), (2)")
    project.write(
        "2026_01_01_000001_attach.sql",
        "-- migrate:up transaction:false\nATTACH DATABASE 'database/aux.sqlite' AS aux;\n"
        "DELETE FROM aux.parents WHERE id = 1;\n",
    )
    before = other.read_bytes()
    assert_one_error(project.run("migrate", "--pretend"), "ATTACH (and VACUUM INTO) is not run when pretending")
    assert_one_error(project.run("check"), "is not run when pretending or replaying", code=2)
    assert other.read_bytes() == before


def test_executemany_behaves_as_in_a_real_run(project: Project) -> None:
    """Tracing changes nothing: executemany refuses what it refuses, and counts what it counts."""
    project.sql(
        "2026_01_01_000001_t",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER);\nINSERT INTO t VALUES (1, 0), (2, 0), (3, 0);",
    )
    project.python(
        "2026_01_01_000002_many",
        'n = db.executemany("UPDATE t SET v = ? WHERE id = ?", iter([(10, 1), (20, 2), (30, 3)])).rowcount\n'
        'if n != 3:\n    raise RuntimeError(f"updated {n}")',
    )
    result = project.run("migrate", "--pretend")
    assert result.returncode == 0, result.stderr
    assert "UPDATE t SET v = 30 WHERE id = 3;" in result.stdout.splitlines()
    project.python("2026_01_01_000003_select", 'db.executemany("SELECT ? + 1", [(1,), (2,)])')
    pretended = project.run("migrate", "--pretend")
    assert_one_error(pretended, "executemany() can only execute DML statements")
    assert_one_error(project.run("migrate"), "executemany() can only execute DML statements")


def test_statements_run_on_a_returned_cursor_are_shown(project: Project) -> None:
    project.sql("2026_01_01_000001_t", "CREATE TABLE t (id INTEGER PRIMARY KEY);\nINSERT INTO t VALUES (1), (2), (3);")
    assert project.run("migrate").returncode == 0
    project.python(
        "2026_01_01_000002_cursor",
        'cursor = db.execute("SELECT count(*) FROM t")\ncursor.execute("DELETE FROM t WHERE id = 3")',
    )
    statements = pretending.pretend_migrate(project.config()).migrations[0].statements
    assert statements == ["SELECT count(*) FROM t", "DELETE FROM t WHERE id = 3"]


def test_a_migration_that_runs_no_statement_is_listed(project: Project) -> None:
    project.python("2026_01_01_000001_nothing", "pass")
    project.sql("2026_01_01_000002_t", "CREATE TABLE t (id INTEGER PRIMARY KEY);")
    result = project.run("migrate", "--pretend")
    assert "Would apply 2026_01_01_000001_nothing:" in result.stdout.splitlines()
    assert result.stdout.splitlines()[-1].startswith("Would apply 2 migrations;")


def test_pretend_waits_for_the_migration_lock_and_fails_where_migrate_would(project: Project) -> None:
    project.sql("2026_01_01_000001_t", "CREATE TABLE t (id INTEGER PRIMARY KEY);")
    assert_one_error(project.run("migrate", "--pretend", "--database", "nowhere/x.sqlite"), "the database's folder")
    project.database.parent.mkdir(parents=True, exist_ok=True)
    lock = project.database.with_name(project.database.name + ".lock")
    import fcntl
    import os

    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        result = project.run("migrate", "--pretend", "--lock-timeout", "0.3")
        os.unlink(lock)
    assert_one_error(result, "lock")


def test_pretend_names_the_renames_and_downs_it_would_record_and_records_none(project: Project) -> None:
    users = project.sql("2026_01_01_000001_users", "CREATE TABLE users (id INTEGER PRIMARY KEY);", "DROP TABLE user;")
    project.sql("2026_01_01_000002_posts", "CREATE TABLE posts (id INTEGER PRIMARY KEY);", "DROP TABLE posts;")
    assert project.run("migrate").returncode == 0
    users.write_text(users.read_text().replace("DROP TABLE user;", "DROP TABLE users;"))
    posts = project.migrations / "2026_01_01_000002_posts.sql"
    posts.rename(posts.with_name("2026_01_01_000002_create_posts_table.sql"))
    before = everything(project)

    result = project.run("migrate", "--pretend")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == [
        "Would record the rename 2026_01_01_000002_posts → 2026_01_01_000002_create_posts_table (same content)",
        "Would record the new down of 2026_01_01_000001_users (rollback runs it)",
    ]
    assert "Would write app/entities/post.py:" in lines  # its header names the migration that made it
    assert lines[-1] == "Would run nothing; pretending: the database and the entities were not changed."
    assert everything(project) == before
    migrated = project.run("migrate")
    assert "Renamed 2026_01_01_000002_posts → 2026_01_01_000002_create_posts_table" in migrated.stdout
    assert "Recorded the new down of 2026_01_01_000001_users" in migrated.stdout
