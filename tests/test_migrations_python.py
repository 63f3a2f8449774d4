"""The .py format: loading one Migration subclass, static description, AST checksums."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Project, assert_one_error

from kitgen.driver.sqlite import SQLiteHandle
from kitgen.errors import MigrationFileError
from kitgen.migrations.python import describe_python, load_python, python_checksum

PATH = Path("/project/database/migrations/2026_01_01_000001_create_users_table.py")

SOURCE = '''"""Create the users table."""

from kitgen import Database, Migration


class CreateUsersTable(Migration):
    model = "User"

    def up(self, db: Database) -> None:
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")

    def down(self, db: Database) -> None:
        db.execute("DROP TABLE users")
'''


def test_load_runs_up_and_down_against_a_handle() -> None:
    migration = load_python("2026_01_01_000001_create_users_table", SOURCE, PATH)
    connection = sqlite3.connect(":memory:", isolation_level=None)
    migration.up(SQLiteHandle(connection))
    assert connection.execute("SELECT name FROM sqlite_master").fetchall() == [("users",)]
    assert migration.down is not None
    migration.down(SQLiteHandle(connection))
    assert connection.execute("SELECT name FROM sqlite_master").fetchall() == []
    assert (migration.model, migration.transactional, migration.format) == ("User", True, "py")


def test_a_migration_without_down_is_irreversible() -> None:
    source = SOURCE.split("    def down")[0]
    assert load_python("x", source, PATH).down is None


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def broken(:\n", "syntax error at line 1"),
        ("import kitgen_no_such_module\n", "failed to load at line 1: ModuleNotFoundError"),
        ("x = 1\n", "defines no subclass of kitgen.Migration"),
        (
            SOURCE + "\n\nclass Other(Migration):\n    pass\n",
            r"defines 2 Migration classes \(CreateUsersTable, Other\)",
        ),
        ("from kitgen import Migration\n\n\nclass M(Migration):\n    pass\n", r"defines no up\(\)"),
        ("", "defines no subclass"),
        ("x = '\0'\n", "not Python source|syntax error"),
    ],
)
def test_bad_files_are_explained(source: str, message: str) -> None:
    with pytest.raises(MigrationFileError, match=message):
        load_python("x", source, PATH)


def test_imported_migration_classes_do_not_count() -> None:
    source = "from kitgen import Migration\nfrom kitgen.migrations.base import Migration as Base\n" + SOURCE
    assert load_python("x", source, PATH).model == "User"


def test_describe_reads_options_without_running_code() -> None:
    source = SOURCE.replace('model = "User"', 'model = "User"\n    transaction = False\n    raise SystemExit')
    description = describe_python(source, PATH)
    assert (description.model, description.transactional) == ("User", False)


def test_checksum_ignores_comments_docstrings_and_formatting() -> None:
    edited = SOURCE.replace('"""Create the users table."""', '"""Another docstring."""\n# a comment').replace(
        'db.execute("DROP TABLE users")', "db.execute(\n            'DROP TABLE users'  # why\n        )"
    )
    assert python_checksum(edited) == python_checksum(SOURCE)


def test_checksum_sees_changed_statements() -> None:
    assert python_checksum(SOURCE.replace("INTEGER PRIMARY KEY", "TEXT")) != python_checksum(SOURCE)


PY_MIGRATION = (
    '"""A migration saved by an editor that writes a BOM and CRLF."""\n\n'
    "from kitgen import Database, Migration\n\n\n"
    "class CreateT(Migration):\n"
    "    def up(self, db: Database) -> None:\n"
    '        db.execute("""\n            CREATE TABLE t (id INTEGER PRIMARY KEY)\n        """)\n\n'
    "    def down(self, db: Database) -> None:\n"
    '        db.execute("DROP TABLE t")\n'
)


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: b"\xef\xbb\xbf" + text.encode(),
        lambda text: text.replace("\n", "\r\n").encode(),
        lambda text: b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode(),
    ],
    ids=["bom", "crlf", "bom+crlf"],
)
def test_python_migration_with_bom_or_crlf_runs(project: Project, encode: Callable[[str], bytes]) -> None:
    path = project.migrations / "2026_01_01_000001_create_t.py"
    path.write_bytes(encode(PY_MIGRATION))
    result = project.run("migrate")
    assert result.returncode == 0, result.stderr
    assert "t" in project.tables()
    # the same statements saved without BOM and with LF are the same migration, not a changed one
    path.write_bytes(PY_MIGRATION.encode())
    assert project.run("migrate:status", "--exit-code").returncode == 0
    assert project.run("migrate:rollback", "--force").returncode == 0


def test_commit_in_a_python_migration_points_to_transaction_false(project: Project) -> None:
    project.python("2026_01_01_000001_c", 'db.execute("CREATE TABLE t (id INTEGER)")\ndb.execute("COMMIT;")')
    assert_one_error(project.run("migrate"), "COMMIT is not allowed", "transaction = False")
