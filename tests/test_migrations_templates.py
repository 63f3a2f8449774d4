"""make:migration: names, templates, prefixes."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from kitgen.driver.base import StatementError
from kitgen.driver.dialect import POSTGRESQL
from kitgen.driver.postgres_split import split_statements
from kitgen.driver.sqlite import SQLiteHandle
from kitgen.errors import UsageError
from kitgen.migrations.python import load_python
from kitgen.migrations.sql import load_sql
from kitgen.migrations.templates import (
    create_migration_file,
    first_prefix,
    guess_change,
    render_python,
    render_sql,
    validate_label,
    validate_model,
)

EXPECTED_CREATE = '''"""Create the users table."""

from kitgen import Database, Migration


class CreateUsersTable(Migration):
    model = "User"

    def up(self, db: Database) -> None:
        db.execute(
            """
            CREATE TABLE users (
                id INTEGER PRIMARY KEY,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            )
            """
        )

    def down(self, db: Database) -> None:
        db.execute("DROP TABLE users")
'''


EXPECTED_ADD = '''"""Add the bio column to the users table."""

from kitgen import Database, Migration


class AddBioToUsers(Migration):
    def up(self, db: Database) -> None:
        db.execute("ALTER TABLE users ADD COLUMN bio TEXT")

    def down(self, db: Database) -> None:
        with db.alter_table("users") as table:
            table.drop_column("bio")
'''

EXPECTED_DROP = '''"""Drop the bio column from the users table."""

from kitgen import Database, Migration


class DropBioFromUsersTable(Migration):
    def up(self, db: Database) -> None:
        with db.alter_table("users") as table:
            table.drop_column("bio")

    def down(self, db: Database) -> None:
        db.execute("ALTER TABLE users ADD COLUMN bio TEXT")
'''

EXPECTED_DROP_SQL = """-- migrate:up
ALTER TABLE users DROP COLUMN bio;

-- migrate:down
ALTER TABLE users ADD COLUMN bio TEXT;
"""


def test_create_table_template_is_exact() -> None:
    assert render_python("create_users_table", "User") == EXPECTED_CREATE


def test_python_templates_drop_columns_with_alter_table_and_sql_templates_stay_native() -> None:
    assert render_python("add_bio_to_users", None) == EXPECTED_ADD
    assert render_python("drop_bio_from_users_table", None) == EXPECTED_DROP
    assert render_sql("drop_bio_from_users", None) == EXPECTED_DROP_SQL
    assert 'db.alter_table("order")' in render_python("drop_group_from_order", None)
    assert 'table.drop_column("group")' in render_python("drop_group_from_order", None)


def test_the_python_down_drops_a_column_that_native_drop_column_cannot() -> None:
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, bio TEXT UNIQUE)")
    connection.execute("INSERT INTO users (bio) VALUES ('a'), ('b')")
    db = SQLiteHandle(connection)
    sql = load_sql("m", render_sql("add_bio_to_users", None), Path("m.sql"))
    assert sql.down is not None
    with pytest.raises(StatementError, match="cannot drop UNIQUE column"):
        sql.down(db)
    python = load_python("m", render_python("add_bio_to_users", None), Path("m.py"))
    assert python.down is not None
    python.down(db)
    assert connection.execute("SELECT * FROM users").fetchall() == [(1,), (2,)]


@pytest.mark.parametrize(
    ("label", "up", "down"),
    [
        ("add_bio_to_users", "ALTER TABLE users ADD COLUMN bio TEXT", "ALTER TABLE users DROP COLUMN bio"),
        ("add_bio_to_users_table", "ALTER TABLE users ADD COLUMN bio TEXT", "ALTER TABLE users DROP COLUMN bio"),
        (
            "add_first_name_to_user_profiles",
            "ALTER TABLE user_profiles ADD COLUMN first_name TEXT",
            "ALTER TABLE user_profiles DROP COLUMN first_name",
        ),
        ("drop_bio_from_users", "ALTER TABLE users DROP COLUMN bio", "ALTER TABLE users ADD COLUMN bio TEXT"),
        ("drop_bio_from_users_table", "ALTER TABLE users DROP COLUMN bio", "ALTER TABLE users ADD COLUMN bio TEXT"),
        ("backfill_emails", "", ""),
    ],
)
def test_templates_follow_the_name(label: str, up: str, down: str) -> None:
    change = guess_change(label)
    assert (change.up, change.down) == (up, down)


@pytest.mark.parametrize("label", ["create_users_table", "add_bio_to_users", "drop_bio_from_users", "seed_roles"])
def test_both_formats_load_and_run(tmp_path: Path, label: str) -> None:
    connection = sqlite3.connect(":memory:", isolation_level=None)
    if label.startswith("add_"):
        connection.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    if label.startswith("drop_"):
        connection.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, bio TEXT)")
    db = SQLiteHandle(connection)
    for migration in (
        load_python(label, render_python(label, "User"), tmp_path / "m.py"),
        load_sql(label, render_sql(label, "User"), tmp_path / "m.sql"),
    ):
        assert migration.model == "User"
        migration.up(db)
        if migration.down is not None:
            migration.down(db)


@pytest.mark.parametrize("label", ["CreateUsers", "create users", "a/b", "..", "", "1_create", "_x", "créer"])
def test_invalid_names_are_usage_errors(label: str) -> None:
    with pytest.raises(UsageError, match="invalid migration name"):
        validate_label(label)


@pytest.mark.parametrize("model", ["user", "User Profile", "class", "None", "1User", "User-1"])
def test_invalid_models_are_usage_errors(model: str) -> None:
    with pytest.raises(UsageError, match="invalid model class name"):
        validate_model(model)


def test_prefix_follows_the_latest_migration_when_it_is_not_older(tmp_path: Path) -> None:
    (tmp_path / "2030_01_01_000000_future.py").write_text("")
    assert first_prefix(tmp_path, datetime(2026, 1, 1, 12, 0, 0)) == datetime(2030, 1, 1, 0, 0, 1)
    assert first_prefix(tmp_path, datetime(2031, 1, 1, 12, 0, 0, 500)) == datetime(2031, 1, 1, 12, 0, 0)


def test_many_in_one_second_get_strictly_increasing_prefixes(tmp_path: Path) -> None:
    moment = datetime(2026, 5, 1, 10, 0, 0)
    names = [create_migration_file(tmp_path, f"m{index}", ".py", "", moment).name for index in range(5)]
    assert names == [f"2026_05_01_10000{i}_m{i}.py" for i in range(5)]
    assert not [p for p in tmp_path.iterdir() if not re.match(r"^\d{4}_", p.name)]  # no temporary left


TEMPLATE_LABELS = [
    "create_users_table",
    "add_bio_to_users",
    "add_group_to_order_table",
    "drop_bio_from_users",
    "seed_roles",
]


def test_python_templates_pass_ruff_and_mypy_strict(tmp_path: Path) -> None:
    for label in TEMPLATE_LABELS:
        (tmp_path / f"m_{label}.py").write_text(render_python(label, "User"), encoding="utf-8")
        (tmp_path / f"m_pg_{label}.py").write_text(render_python(label, "User", POSTGRESQL), encoding="utf-8")
    tools = Path(sys.executable).parent
    root = Path(__file__).resolve().parent.parent
    checks = [
        [str(tools / "ruff"), "check", "--isolated", "--no-cache", "."],
        [str(tools / "ruff"), "format", "--isolated", "--no-cache", "--check", "."],
        [str(tools / "mypy"), "--strict", "--cache-dir", str(tmp_path / ".mypy"), "--no-error-summary", "."],
    ]
    for command in checks:
        environ = {**os.environ, "MYPYPATH": str(root)}  # kitgen from its sources: the typed API
        result = subprocess.run(command, cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, (command, result.stdout, result.stderr)


# --- PostgreSQL ----------------------------------------------------------------------------------------

EXPECTED_CREATE_POSTGRESQL = """-- migrate:up
CREATE TABLE "user" (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- migrate:down
DROP TABLE "user";
"""

EXPECTED_DROP_POSTGRESQL = '''"""Drop the "group" column from the "order" table."""

from kitgen import Database, Migration


class DropGroupFromOrder(Migration):
    def up(self, db: Database) -> None:
        db.execute('ALTER TABLE "order" DROP COLUMN "group"')

    def down(self, db: Database) -> None:
        db.execute('ALTER TABLE "order" ADD COLUMN "group" text')
'''


def test_postgresql_templates_are_exact() -> None:
    assert render_sql("create_user_table", None, POSTGRESQL) == EXPECTED_CREATE_POSTGRESQL
    assert render_python("drop_group_from_order", None, POSTGRESQL) == EXPECTED_DROP_POSTGRESQL  # no alter_table()
    assert "db.alter_table" not in render_python("add_bio_to_users", None, POSTGRESQL)


class PostgresHandle:
    """Enough of kitgen's ``db`` for the templates, on a real connection."""

    def __init__(self, connection: psycopg.Connection[tuple[object, ...]]) -> None:
        self.connection = connection

    def execute(self, sql: str, params: object = ()) -> object:
        return self.connection.execute(sql)

    def executescript(self, script: str, first_line: int | None = None) -> None:
        for _, statement in split_statements(script, first_line or 1):
            self.connection.execute(statement)


@pytest.mark.parametrize(
    ("label", "before"),
    [
        ("create_users_table", ""),
        ("create_user_table", ""),
        ("create_order_table", ""),
        ("add_bio_to_users", "CREATE TABLE users (id int)"),
        ("add_group_to_order_table", 'CREATE TABLE "order" (id int)'),
        ("drop_user_from_order", 'CREATE TABLE "order" (id int, "user" text UNIQUE)'),
        ("drop_bio_from_users_table", "CREATE TABLE users (id int PRIMARY KEY, bio text)"),
        ("seed_roles", ""),
    ],
)
def test_postgresql_templates_run_up_and_down_on_the_server(
    pg_url: str, tmp_path: Path, label: str, before: str
) -> None:
    with psycopg.connect(pg_url, autocommit=True) as connection:
        if before:
            connection.execute(before)
        db = PostgresHandle(connection)
        for migration in (
            load_python(label, render_python(label, "User", POSTGRESQL), tmp_path / "m.py"),
            load_sql(label, render_sql(label, "User", POSTGRESQL), tmp_path / "m.sql"),
        ):
            with connection.transaction():
                migration.up(db)
            if label.startswith("create_"):
                connection.execute(f"INSERT INTO {POSTGRESQL.quote_name(label[7:-6])} DEFAULT VALUES")
            if migration.down is not None:
                with connection.transaction():
                    migration.down(db)
        tables = connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
        assert tables == ([] if not before else [(before.split()[2].strip('"'),)])
