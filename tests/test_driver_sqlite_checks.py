"""Which tables a transaction's foreign-key check looks at, and what it reports."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from kitgen.driver.sqlite import SQLiteDriver
from kitgen.driver.sqlite_checks import WrittenTables, describe_violations, foreign_key_violations

SCHEMA = """
CREATE TABLE parents (id INTEGER PRIMARY KEY);
CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parents(id));
CREATE TABLE nodes (id INTEGER PRIMARY KEY, up INTEGER REFERENCES nodes(id));
CREATE TABLE pairs (a INTEGER, b INTEGER, FOREIGN KEY (a, b) REFERENCES keys (x, y));
CREATE TABLE keys (x INTEGER, y INTEGER, PRIMARY KEY (x, y));
CREATE TABLE other (id INTEGER PRIMARY KEY);
CREATE TABLE log (what TEXT);
CREATE TABLE kitgen_migrations (id INTEGER);
CREATE UNIQUE INDEX keys_y ON keys (y);
CREATE TRIGGER parents_gone AFTER INSERT ON log BEGIN DELETE FROM parents; END;
"""


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[SQLiteDriver]:
    driver = SQLiteDriver(tmp_path / "db.sqlite", lock_timeout=1)
    with driver.transaction() as db:
        db.executescript(SCHEMA)
    yield driver
    driver.close()


def checked(driver: SQLiteDriver, *statements: str) -> list[str]:
    """The tables the check would look at after ``statements`` (which are then rolled back)."""
    connection = driver.connection
    written = WrittenTables("kitgen_migrations", connection)
    connection.set_authorizer(lambda action, a, b, database, _: written.record(action, a, b, database) or 0)
    connection.execute("PRAGMA foreign_keys = OFF")  # as during a migration
    connection.execute("BEGIN")
    try:
        for statement in statements:
            connection.execute(statement)
        return written.to_check(connection)
    finally:
        connection.execute("ROLLBACK")
        connection.set_authorizer(None)
        connection.execute("PRAGMA foreign_keys = ON")


@pytest.mark.parametrize(
    ("statements", "tables"),
    [
        (["INSERT INTO children (parent_id) VALUES (1)"], ["children"]),
        (["INSERT INTO parents VALUES (1)"], ["children", "parents"]),  # OR REPLACE deletes the row in its way
        (["DROP INDEX keys_y"], ["pairs"]),  # the unique index behind a key
        (["ALTER TABLE parents RENAME TO people"], []),  # SQLite rewrote the children's keys to the new name
        (["PRAGMA legacy_alter_table = ON", "ALTER TABLE parents RENAME TO people"], ["children"]),  # it did not
        (["DELETE FROM parents"], ["children"]),
        (["UPDATE parents SET id = 2"], ["children", "parents"]),
        (["DROP TABLE parents"], ["children"]),
        (["DELETE FROM nodes"], ["nodes"]),  # its own child
        (["DELETE FROM keys"], ["pairs"]),  # a composite key
        (["INSERT INTO log VALUES ('x')"], ["children", "log"]),  # the trigger deletes parents
        (["CREATE TABLE fresh (id INTEGER REFERENCES parents(id))"], ["fresh"]),
        (["ALTER TABLE other ADD COLUMN note TEXT"], ["other"]),
        (["CREATE TEMP TABLE scratch (id)", "INSERT INTO scratch VALUES (1)"], []),
        (["INSERT INTO kitgen_migrations VALUES (1)"], []),  # kitgen's own row
        (["SELECT * FROM parents"], []),
    ],
)
def test_the_check_looks_only_where_rows_may_dangle(
    driver: SQLiteDriver, statements: list[str], tables: list[str]
) -> None:
    assert checked(driver, *statements) == tables


def test_violations_are_described_by_table_count_and_key(driver: SQLiteDriver) -> None:
    connection = driver.connection
    connection.execute("PRAGMA foreign_keys = OFF")
    connection.executemany("INSERT INTO children (parent_id) VALUES (?)", [(7,), (8,)])
    connection.execute("INSERT INTO pairs VALUES (1, 2)")
    found = foreign_key_violations(connection)
    assert foreign_key_violations(connection, ["children"]) < found
    assert describe_violations(connection, found) == (
        "2 rows of children referencing parents rows that do not exist (children.parent_id → parents.id); "
        "1 row of pairs referencing keys rows that do not exist (pairs.a, pairs.b → keys.x, keys.y)"
    )


def test_a_failed_check_rolls_back_and_restores_enforcement(driver: SQLiteDriver) -> None:
    from kitgen.errors import ForeignKeyViolation

    before = driver.path.read_bytes()
    with pytest.raises(ForeignKeyViolation) as raised, driver.transaction(foreign_keys=False) as db:
        db.execute("INSERT INTO children (parent_id) VALUES (5)")
    assert "1 row of children" in raised.value.what
    assert driver.path.read_bytes() == before
    assert driver.connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    with pytest.raises(sqlite3.IntegrityError):
        driver.connection.execute("INSERT INTO children (parent_id) VALUES (5)")


def test_both_ways_of_looking_tables_up_by_name_agree(driver: SQLiteDriver) -> None:
    from kitgen.driver.sqlite_checks import EXISTING, EXISTING_BEFORE_3_37

    connection = driver.connection
    connection.execute("CREATE VIEW grown AS SELECT * FROM parents")
    connection.execute("CREATE TEMP TABLE scratch (id)")
    names = json.dumps(["parents", "grown", "scratch", "missing", "keys"])
    found = [sorted(connection.execute(query, (names,)).fetchall()) for query in (EXISTING, EXISTING_BEFORE_3_37)]
    assert found[0] == found[1] == [("grown", "view"), ("keys", "table"), ("parents", "table")]
