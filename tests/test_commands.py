"""Command functions, called in-process over real projects and real SQLite files."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from conftest import Project

from kitgen import commands
from kitgen.config import load_config
from kitgen.errors import Aborted, ChangedMigrationsError, MigrationFailed, ProtectedError
from kitgen.migrations.runner import Ran

USERS = "2026_01_01_000001_create_users_table"
POSTS = "2026_01_01_000002_create_posts_table"
TAGS = "2026_01_01_000003_create_tags_table"


def three_tables(project: Project) -> None:
    project.create_table(USERS, "users")
    project.create_table(POSTS, "posts", "id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id)")
    project.create_table(TAGS, "tags")


def names(ran: list[Ran]) -> list[str]:
    return [item.name for item in ran]


def test_migrate_gives_one_batch_per_run_and_step_one_per_migration(project: Project) -> None:
    project.create_table(USERS, "users")
    assert names(commands.migrate(project.config()).applied) == [USERS]
    project.create_table(POSTS, "posts")
    project.create_table(TAGS, "tags")
    commands.migrate(project.config(), step=True)
    assert project.applied() == [(USERS, 1), (POSTS, 2), (TAGS, 3)]


def test_rollback_undoes_the_last_batch_newest_first(project: Project) -> None:
    project.create_table(USERS, "users")
    commands.migrate(project.config())
    project.create_table(POSTS, "posts")
    project.create_table(TAGS, "tags")
    commands.migrate(project.config())

    result = commands.rollback(project.config(), force=True)

    assert names(result.rolled_back) == [TAGS, POSTS]
    assert project.tables() == ["kitgen_migrations", "users"]


def test_rollback_step_crosses_batches(project: Project) -> None:
    three_tables(project)
    commands.migrate(project.config(), step=True)
    assert names(commands.rollback(project.config(), steps=2, force=True).rolled_back) == [TAGS, POSTS]
    assert project.applied() == [(USERS, 1)]


def test_rollback_runs_the_recorded_down_even_when_the_file_changed_or_vanished(project: Project) -> None:
    project.create_table(USERS, "users")
    posts = project.create_table(POSTS, "posts")
    commands.migrate(project.config())
    (project.migrations / f"{USERS}.sql").write_text("-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 1;\n")
    posts.unlink()

    commands.reset(project.config(), force=True)

    assert project.tables() == ["kitgen_migrations"]


def test_confirmation_is_asked_and_respected(project: Project) -> None:
    project.create_table(USERS, "users")
    commands.migrate(project.config())
    questions: list[str] = []

    def decline(question: str) -> bool:
        questions.append(question)
        return False

    with pytest.raises(Aborted, match="cancelled"):
        commands.rollback(project.config(), confirm=decline)
    assert USERS in questions[0] and str(project.database) in questions[0]
    assert project.applied() == [(USERS, 1)]
    assert names(commands.rollback(project.config(), confirm=lambda _: True).rolled_back) == [USERS]


def test_nothing_to_roll_back_needs_no_confirmation(project: Project) -> None:
    assert commands.rollback(project.config()).rolled_back == []


def test_protection_refuses_even_with_force(project: Project) -> None:
    project.create_table(USERS, "users")
    commands.migrate(project.config())
    protected = replace(project.config(), protect=True)
    for command in (commands.rollback, commands.reset, commands.refresh, commands.fresh):
        with pytest.raises(ProtectedError, match="protect = true"):
            command(protected, force=True)  # type: ignore[operator]
    assert project.applied() == [(USERS, 1)]


def test_refresh_rolls_back_and_reapplies(project: Project) -> None:
    three_tables(project)
    commands.migrate(project.config(), step=True)
    result = commands.refresh(project.config(), force=True)
    assert names(result.rolled_back) == [TAGS, POSTS, USERS]
    assert names(result.applied) == [USERS, POSTS, TAGS]
    assert project.applied() == [(USERS, 1), (POSTS, 1), (TAGS, 1)]


def test_fresh_drops_everything_then_migrates(project: Project) -> None:
    three_tables(project)
    commands.migrate(project.config())
    with project.connect() as connection:
        connection.execute("CREATE TABLE stray (id INTEGER, user_id INTEGER REFERENCES users(id))")
        connection.execute("CREATE VIEW v AS SELECT * FROM users")
    result = commands.fresh(project.config(), force=True)
    assert {"stray", "v", "users", "kitgen_migrations"} <= set(result.dropped)
    assert project.tables() == ["kitgen_migrations", "posts", "tags", "users"]


def test_fresh_with_a_broken_migration_drops_nothing(project: Project) -> None:
    project.create_table(USERS, "users")
    commands.migrate(project.config())
    project.write(f"{POSTS}.py", "def broken(:\n")
    before = project.dump()
    with pytest.raises(Exception, match="syntax error"):
        commands.fresh(project.config(), force=True)
    assert project.dump() == before


def test_changed_migration_blocks_migrate_and_shows_in_status(project: Project) -> None:
    users = project.create_table(USERS, "users")
    commands.migrate(project.config())
    users.write_text(users.read_text().replace("id INTEGER PRIMARY KEY", "id TEXT"))
    project.create_table(POSTS, "posts")

    with pytest.raises(ChangedMigrationsError, match=USERS):
        commands.migrate(project.config())
    assert [(s.name, s.state) for s in commands.status(project.config()).migrations] == [
        (USERS, "changed"),
        (POSTS, "pending"),
    ]


def test_comment_only_edit_is_not_a_change(project: Project) -> None:
    users = project.create_table(USERS, "users")
    commands.migrate(project.config())
    users.write_text("-- why we need users\n" + users.read_text().replace("(", "(\n    "))
    project.create_table(POSTS, "posts")
    assert names(commands.migrate(project.config()).applied) == [POSTS]


def test_missing_file_is_reported(project: Project) -> None:
    users = project.create_table(USERS, "users")
    commands.migrate(project.config())
    users.unlink()
    (state,) = commands.status(project.config()).migrations
    assert (state.state, state.batch) == ("missing", 1)


def test_failed_migration_leaves_the_database_as_before_it(project: Project) -> None:
    project.create_table(USERS, "users")
    project.sql(
        POSTS, "CREATE TABLE posts (id INTEGER);\nINSERT INTO users VALUES (1);\nINSERT INTO nowhere VALUES (1);"
    )
    project.create_table(TAGS, "tags")

    with pytest.raises(MigrationFailed) as raised:
        commands.migrate(project.config())

    assert raised.value.done == (USERS,)
    assert f"migration {POSTS} failed in up() at line 4: no such table: nowhere" in str(raised.value)
    assert project.tables() == ["kitgen_migrations", "users"]
    with project.connect() as connection:
        assert connection.execute("SELECT count(*) FROM users").fetchone() == (0,)


def test_migration_outside_a_transaction_is_applied_and_marked(project: Project) -> None:
    project.create_table(USERS, "users")
    project.python(POSTS, 'db.execute("VACUUM")', extra="transaction = False\n")
    status = commands.status(project.config()).migrations
    assert [s.transactional for s in status] == [True, False]
    assert names(commands.migrate(project.config()).applied) == [USERS, POSTS]
    assert [s.transactional for s in commands.status(project.config()).migrations] == [True, False]


def test_python_migration_receives_a_working_handle(project: Project) -> None:
    project.python(
        USERS,
        """
        db.executescript("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); CREATE INDEX users_name ON users (name);")
        db.executemany("INSERT INTO users (name) VALUES (?)", [("ada",), ("grace",)])
        assert db.execute("SELECT count(*) FROM users").fetchone() == (2,)
        """,
        down='db.execute("DROP TABLE users")',
    )
    commands.migrate(project.config())
    with project.connect() as connection:
        assert connection.execute("SELECT name FROM users ORDER BY id").fetchall() == [("ada",), ("grace",)]


def test_init_creates_once_and_never_overwrites(tmp_path: Path) -> None:
    root = tmp_path
    (root / "pyproject.toml").write_text('[project]\nname = "x"\n')
    (root / ".gitignore").write_text("node_modules")
    (root / "app").mkdir()
    (root / "app" / "__init__.py").write_text("VALUE = 1\n")
    config = load_config(cwd=root, environ={})
    created = commands.init_project(config).created
    assert created == [
        "pyproject.toml ([tool.kitgen])",
        "database/migrations/",
        "app/entities/",
        "app/entities/__init__.py",
        ".gitignore (database line)",
    ]
    assert (root / "app" / "__init__.py").read_text() == "VALUE = 1\n"
    assert (root / ".gitignore").read_text() == "node_modules\n/database/database.sqlite*\n"
    assert commands.init_project(config).created == []


def test_make_migration_refuses_an_existing_name(project: Project) -> None:
    first = commands.make_migration(project.config(), "create_users_table", model="User")
    assert first.read_text().count('model = "User"') == 1
    with pytest.raises(Exception, match="already exists"):
        commands.make_migration(project.config(), "create_users_table")


def test_rollback_checks_the_entities_folder_before_changing_anything(project: Project) -> None:
    project.sql("2026_01_01_000001_t", "CREATE TABLE t (id INTEGER PRIMARY KEY);", "DROP TABLE t;")
    assert project.run("migrate").returncode == 0
    before = project.snapshot()
    for command in (["migrate:rollback", "--force"], ["migrate:rollback", "--pretend"], ["migrate:reset", "--force"]):
        result = project.run(*command, "--entities", "nowhere")
        assert result.returncode == 1, result.stderr
        assert "nowhere" in result.stderr
        assert project.snapshot() == before
