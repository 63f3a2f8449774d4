"""The SQLite driver: statement splitting, transactions, tracking rows, dropping everything."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kitgen.driver import AppliedMigration, StatementError
from kitgen.driver.sqlite import SQLiteDriver, split_script
from kitgen.errors import DatabaseError


@pytest.fixture
def driver(tmp_path: Path) -> SQLiteDriver:
    return SQLiteDriver(tmp_path / "db.sqlite", lock_timeout=1)


def row(name: str, batch: int = 1) -> AppliedMigration:
    return AppliedMigration(name, batch, "c", "r", "source", "sql", True, None, "2026-01-01T00:00:00+00:00")


def test_split_script_keeps_triggers_strings_and_lines_together() -> None:
    script = (
        "CREATE TABLE a (x TEXT DEFAULT ';');\n"
        "-- a comment; with a semicolon\n"
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE a SET x = 'y;'; DELETE FROM a;\nEND;\n"
        "INSERT INTO a VALUES ('z')"
    )
    statements = split_script(script, first_line=10)
    assert [line for line, _ in statements] == [10, 12, 15]
    assert statements[1][1].endswith("END;")
    assert statements[2][1] == "INSERT INTO a VALUES ('z')"


def test_executescript_stays_inside_the_transaction(driver: SQLiteDriver) -> None:
    with pytest.raises(StatementError) as raised, driver.transaction() as db:
        db.executescript("CREATE TABLE a (x);\nINSERT INTO a VALUES (1);\nINSERT INTO nope VALUES (2);", first_line=3)
    assert raised.value.line == 5
    assert "no such table: nope" in raised.value.message
    assert driver.connection.execute("SELECT name FROM sqlite_master").fetchall() == []


def test_tracking_rows_round_trip_in_apply_order(driver: SQLiteDriver) -> None:
    assert driver.applied_migrations() == []
    driver.ensure_tracking_table()
    with driver.transaction() as db:
        driver.record_applied(db, row("b"))
        driver.record_applied(db, row("a", 2))
    assert [(r.name, r.batch) for r in driver.applied_migrations()] == [("b", 1), ("a", 2)]
    with driver.transaction() as db:
        driver.forget_applied(db, "b")
    assert [r.name for r in driver.applied_migrations()] == ["a"]


def test_drop_all_removes_everything_even_when_referenced(driver: SQLiteDriver) -> None:
    driver.connection.executescript(
        """
        CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT UNIQUE);
        CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id));
        CREATE INDEX posts_user ON posts (user_id);
        CREATE VIEW user_posts AS SELECT * FROM users JOIN posts ON posts.user_id = users.id;
        CREATE TRIGGER touch AFTER INSERT ON users BEGIN SELECT 1; END;
        CREATE VIRTUAL TABLE search USING fts5(body);
        INSERT INTO users (email) VALUES ('a@example.com');
        INSERT INTO posts (user_id) VALUES (1);
        """
    )
    dropped = driver.drop_all()
    assert {"users", "posts", "user_posts", "touch", "search"} <= set(dropped)
    remaining = driver.connection.execute("SELECT type, name FROM sqlite_master WHERE name != 'sqlite_sequence'")
    assert remaining.fetchall() == []
    assert driver.connection.execute("PRAGMA foreign_keys").fetchone() == (1,)


def test_drop_script_drops_views_then_tables_and_keeps_the_tracking_table(driver: SQLiteDriver) -> None:
    driver.ensure_tracking_table()
    driver.connection.executescript(
        """
        CREATE TABLE "odd name" (id INTEGER PRIMARY KEY);
        CREATE TABLE users (id INTEGER PRIMARY KEY);
        CREATE INDEX users_id ON users (id);
        CREATE VIEW everyone AS SELECT * FROM users;
        CREATE TRIGGER touch AFTER INSERT ON users BEGIN SELECT 1; END;
        """
    )
    assert driver.drop_script() == (
        'DROP VIEW IF EXISTS "everyone";\nDROP TABLE IF EXISTS "users";\nDROP TABLE IF EXISTS "odd name";\n'
    )


def test_not_a_database_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    path.write_bytes(b"this is not a database, just some text padding it out" * 20)
    driver = SQLiteDriver(path, lock_timeout=1)  # connected on first use, after the migration lock
    with pytest.raises(DatabaseError, match="is not a SQLite database"):
        driver.applied_migrations()


def test_readonly_open_of_a_missing_database_creates_nothing(tmp_path: Path) -> None:
    driver = SQLiteDriver(tmp_path / "db.sqlite", lock_timeout=1, readonly=True)
    assert driver.applied_migrations() == []
    assert not (tmp_path / "db.sqlite").exists()


def test_locked_database_times_out_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DatabaseError, match=r"locked.*--lock-timeout"):
            SQLiteDriver(path, lock_timeout=0.1).applied_migrations()
    finally:
        holder.execute("ROLLBACK")


def test_a_tracking_table_from_before_the_created_column_is_read_and_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE kitgen_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, batch INTEGER NOT NULL,
            checksum TEXT NOT NULL, raw_hash TEXT NOT NULL, source TEXT NOT NULL, format TEXT NOT NULL,
            transactional INTEGER NOT NULL, model TEXT, applied_at TEXT NOT NULL);
        INSERT INTO kitgen_migrations VALUES (1, 'a', 1, 'c', 'r', 's', 'sql', 1, NULL, 'now');
        """
    )
    old.close()
    reader = SQLiteDriver(path, lock_timeout=1, readonly=True)
    assert [(r.name, r.created) for r in reader.applied_migrations()] == [("a", ())]
    reader.close()

    driver = SQLiteDriver(path, lock_timeout=1)
    driver.ensure_tracking_table()
    with driver.transaction() as db:
        driver.record_applied(db, row("b"))
    assert [r.name for r in driver.applied_migrations()] == ["a", "b"]


def _catalog(driver: SQLiteDriver) -> frozenset[str]:
    rows = driver.connection.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
    return frozenset(row[0] for row in rows)


RELATION_CHANGES = [
    ["CREATE TABLE b (id INTEGER PRIMARY KEY)", "CREATE VIEW v AS SELECT * FROM b"],
    ["CREATE TABLE IF NOT EXISTS a (id INTEGER PRIMARY KEY)"],
    ["DROP TABLE a"],
    ["ALTER TABLE a RENAME TO c"],
    ["ALTER TABLE a RENAME TO c", "CREATE TABLE a (x)"],
    ["SAVEPOINT s", "CREATE TABLE b (id)", "ROLLBACK TO s", "RELEASE s", "CREATE TABLE d (id)"],
    ["CREATE VIRTUAL TABLE f USING fts5(body)"],
    ["PRAGMA writable_schema = ON", "UPDATE sqlite_master SET name = 'z', tbl_name = 'z' WHERE name = 'a'"],
    ["CREATE TEMP TABLE t (id)", "CREATE TABLE e (id)"],
    ["INSERT INTO a VALUES (1)"],
]


@pytest.mark.parametrize("statements", RELATION_CHANGES, ids=lambda statements: statements[0][:30])
def test_relation_names_follow_every_change_a_transaction_makes(driver: SQLiteDriver, statements: list[str]) -> None:
    with driver.transaction() as db:
        db.execute("CREATE TABLE a (id INTEGER PRIMARY KEY)")
    with driver.transaction() as db:
        assert driver.relation_names(db) == _catalog(driver) == {"a"}
        for statement in statements:
            db.execute(statement)
        assert driver.relation_names(db) == _catalog(driver)
    assert driver.relation_names(driver.autocommit()) == _catalog(driver)


def test_relation_names_after_a_rolled_back_transaction_are_read_again(driver: SQLiteDriver) -> None:
    with driver.transaction() as db:
        db.execute("CREATE TABLE a (id)")
    with pytest.raises(StatementError), driver.transaction() as db:
        assert driver.relation_names(db) == {"a"}
        db.execute("CREATE TABLE b (id)")
        assert driver.relation_names(db) == {"a", "b"}  # schema version + 1
        db.execute("SELECT * FROM missing")
    with driver.transaction() as db:
        db.execute("CREATE TABLE c (id)")  # the same schema version as the rolled-back one had
        assert driver.relation_names(db) == {"a", "c"} == _catalog(driver)
