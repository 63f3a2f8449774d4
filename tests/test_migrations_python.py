"""The .py format: loading one Migration subclass, static description, AST checksums of up and down."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Project, assert_one_error

from kitgen.driver.sqlite import SQLiteHandle
from kitgen.errors import MigrationFileError
from kitgen.migrations.formats import NO_DOWN
from kitgen.migrations.python import describe_python, load_python, python_checksum, python_down_checksum

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


def checksums(source: str) -> tuple[str, str]:
    return python_checksum(source), python_down_checksum(source)


def test_checksum_ignores_comments_docstrings_and_formatting() -> None:
    edited = SOURCE.replace('"""Create the users table."""', '"""Another docstring."""\n# a comment').replace(
        'db.execute("DROP TABLE users")', "db.execute(\n            'DROP TABLE users'  # why\n        )"
    )
    assert checksums(edited) == checksums(SOURCE)


REFORMATTED = """from kitgen import (Database,
    Migration)
class CreateUsersTable( Migration ):
    'Users.'
    model = ('User')
    def up(self, db: Database) -> None:
        'Create it.'
        db.execute(
            "CREATE TABLE users "
            "(id INTEGER PRIMARY KEY)",
        ) ; # trailing
    def down(self, db: 'Database') -> None: db.execute('DROP TABLE users',)
"""


def test_checksums_ignore_a_reformatting_of_the_whole_file() -> None:
    assert python_checksum(REFORMATTED) == python_checksum(SOURCE)
    # a string annotation is a change of the code, in the down only
    assert python_down_checksum(REFORMATTED) != python_down_checksum(SOURCE)
    assert checksums(REFORMATTED.replace("'Database'", "Database")) == checksums(SOURCE)


def test_checksum_sees_changed_statements() -> None:
    assert python_checksum(SOURCE.replace("INTEGER PRIMARY KEY", "TEXT")) != python_checksum(SOURCE)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("CREATE TABLE users (id INTEGER PRIMARY KEY)", "CREATE TABLE users (id INTEGER)"),
        ('model = "User"', 'model = "Person"'),
        ("class CreateUsersTable(Migration):", "class CreateUsersTable(Migration):\n    transaction = False"),
        ("from kitgen import Database, Migration", "from kitgen import Database, Migration\nimport os"),
        (
            "def up(self, db: Database) -> None:\n        db.",
            "def up(self, handle: Database) -> None:\n        handle.",
        ),
    ],
    ids=["statement", "model", "option", "import", "variable-renamed"],
)
def test_editing_up_changes_the_up_checksum_only(old: str, new: str) -> None:
    edited = SOURCE.replace(old, new)
    assert edited != SOURCE
    assert python_checksum(edited) != python_checksum(SOURCE)
    assert python_down_checksum(edited) == python_down_checksum(SOURCE)


def test_moving_a_method_changes_the_up_checksum() -> None:
    helper = "    def helper(self) -> None:\n        pass\n\n"
    before_up = SOURCE.replace("    def up", helper + "    def up")
    after_up = SOURCE.replace("    def down", helper + "    def down")
    assert python_checksum(before_up) != python_checksum(SOURCE)
    assert python_checksum(before_up) != python_checksum(after_up)


@pytest.mark.parametrize(
    "edited",
    [
        SOURCE.replace('db.execute("DROP TABLE users")', 'db.execute("DROP TABLE IF EXISTS users")'),
        SOURCE.replace("    def down", "    @staticmethod\n    def down"),
        SOURCE.replace("    def down(self, db: Database) -> None:", "    async def down(self, db: Database) -> None:"),
        SOURCE.replace("def down(self, db: Database)", "def down(self, handle: Database)").replace(
            'db.execute("DROP', 'handle.execute("DROP'
        ),
        SOURCE.split("    def down")[0],
    ],
    ids=["body", "decorator", "async", "variable-renamed", "removed"],
)
def test_editing_down_changes_the_down_checksum_only(edited: str) -> None:
    assert edited != SOURCE
    assert python_checksum(edited) == python_checksum(SOURCE)
    assert python_down_checksum(edited) != python_down_checksum(SOURCE)


def test_adding_a_down_where_there_was_none_changes_the_down_checksum_only() -> None:
    without = SOURCE.split("    def down")[0].rstrip() + "\n"
    assert python_down_checksum(without) == NO_DOWN
    assert python_checksum(without) == python_checksum(SOURCE)
    assert python_down_checksum(SOURCE) != NO_DOWN


def test_moving_the_down_changes_nothing() -> None:
    head, rest = SOURCE.split("    def up")
    up, down = rest.split("    def down")
    moved = head + "    def down" + down.rstrip() + "\n\n    def up" + up.rstrip() + "\n"
    assert checksums(moved) == checksums(SOURCE)


def test_a_down_docstring_or_comment_changes_nothing() -> None:
    edited = SOURCE.replace(
        '        db.execute("DROP', '        """Drop it."""\n        # gone\n        db.execute("DROP'
    )
    assert checksums(edited) == checksums(SOURCE)


def test_the_migration_class_is_found_by_an_attribute_base_too() -> None:
    source = SOURCE.replace("from kitgen import Database, Migration", "import kitgen\nfrom kitgen import Database")
    source = source.replace("(Migration)", "(kitgen.Migration)")
    edited = source.replace("DROP TABLE users", "DROP TABLE IF EXISTS users")
    assert python_checksum(edited) == python_checksum(source)
    assert python_down_checksum(edited) != python_down_checksum(source)


def test_without_a_migration_class_everything_is_up() -> None:
    source = SOURCE.replace("(Migration)", "(Base)")
    edited = source.replace("DROP TABLE users", "DROP TABLE IF EXISTS users")
    assert python_down_checksum(source) == python_down_checksum(edited) == NO_DOWN
    assert python_checksum(edited) != python_checksum(source)


def test_a_down_outside_the_migration_class_is_up() -> None:
    helper = "\n\nclass Helper:\n    def down(self) -> None:\n        pass\n"
    assert python_checksum(SOURCE + helper) != python_checksum(SOURCE)
    assert python_checksum(SOURCE + helper) != python_checksum(SOURCE + helper.replace("pass", "print()"))
    assert python_down_checksum(SOURCE + helper) == python_down_checksum(SOURCE)


def test_a_syntax_error_is_a_file_error_for_both_checksums() -> None:
    for checksum in (python_checksum, python_down_checksum):
        with pytest.raises(MigrationFileError, match="syntax error at line 1"):
            checksum("def broken(:\n")


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
