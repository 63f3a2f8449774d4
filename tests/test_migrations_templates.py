"""make:migration: names, templates, prefixes."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

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


def test_create_table_template_is_exact() -> None:
    assert render_python("create_users_table", "User") == EXPECTED_CREATE


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
        ("backfill_emails", "", ""),
    ],
)
def test_templates_follow_the_name(label: str, up: str, down: str) -> None:
    change = guess_change(label)
    assert (change.up, change.down) == (up, down)


@pytest.mark.parametrize("label", ["create_users_table", "add_bio_to_users", "seed_roles"])
def test_both_formats_load_and_run(tmp_path: Path, label: str) -> None:
    import sqlite3

    from kitgen.driver.sqlite import SQLiteHandle

    connection = sqlite3.connect(":memory:", isolation_level=None)
    if label.startswith("add_"):
        connection.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
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
