"""db.alter_table(): real SQLite files, driven through SQLiteDriver's transaction() and autocommit() handles."""

from __future__ import annotations

import sqlite3
import textwrap
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from kitgen import TableAlteration
from kitgen.driver import sqlite_alter
from kitgen.driver.sqlite import SQLiteDriver
from kitgen.driver.sqlite_ddl import Draft
from kitgen.driver.sqlite_ddl_changes import add_column, add_constraint, alter_column, drop_column, drop_constraint
from kitgen.errors import SchemaChangeRefused
from tests.conftest import Project, assert_one_error

Change = Callable[[TableAlteration], None]
MODES = ["transaction", "autocommit"]

SHOP = """
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL COLLATE NOCASE, -- compared without case
    name TEXT CONSTRAINT name_present CHECK (length(name) > 0),
    age INTEGER CHECK (age >= 0),
    legacy TEXT,
    shout TEXT GENERATED ALWAYS AS (upper(name)) VIRTUAL,
    UNIQUE (email)
);
CREATE TABLE posts (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title TEXT
);
CREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT);
CREATE INDEX users_adults ON users(age) WHERE age >= 18;
CREATE INDEX users_lower_name ON users(lower(name));
CREATE VIEW adults AS SELECT id, name FROM users WHERE age >= 18;
CREATE VIEW adult_names AS SELECT name FROM adults;
CREATE TRIGGER users_audit AFTER UPDATE ON users BEGIN INSERT INTO audit (what) VALUES ('updated ' || new.id); END;
CREATE TRIGGER posts_audit AFTER INSERT ON posts BEGIN
    INSERT INTO audit (what) SELECT 'post by ' || name FROM users WHERE id = new.user_id;
END;
CREATE TRIGGER adults_insert INSTEAD OF INSERT ON adults BEGIN
    INSERT INTO users (email, name, age) VALUES (lower(new.name) || '@x', new.name, 18);
END;
INSERT INTO users (email, name, age, legacy) VALUES ('a@x', 'Ann', 30, 'l1'), ('b@x', 'Bob', 12, 'l2'),
    ('c@x', 'Cy', 40, NULL), ('d@x', 'Di', 50, NULL), ('e@x', 'Ed', 60, NULL);
INSERT INTO posts (user_id, title) VALUES (1, 'one'), (1, 'two'), (3, 'three');
DELETE FROM users WHERE id IN (4, 5);
"""


# --- running and looking -------------------------------------------------------------------------------------


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "database.sqlite"


def build(path: Path, script: str) -> None:
    with closing(sqlite3.connect(path)) as connection:
        connection.executescript(textwrap.dedent(script))


def alter(path: Path, table: str, change: Change, *, mode: str = "transaction") -> list[str]:
    """Run the change through a real driver's handle; return every statement SQLite ran."""
    driver = SQLiteDriver(path, lock_timeout=5)
    statements: list[str] = []
    driver.connection.set_trace_callback(statements.append)
    try:
        if mode == "autocommit":
            with driver.autocommit().alter_table(table) as altering:
                change(altering)
        else:
            with driver.transaction(foreign_keys=mode == "enforced") as db, db.alter_table(table) as altering:
                change(altering)
    finally:
        driver.close()
    return statements


def refused(path: Path, table: str, change: Change, *fragments: str, mode: str = "transaction") -> str:
    """The change is refused with a message holding every fragment, and the file is byte for byte as before."""
    before = path.read_bytes()
    with pytest.raises(SchemaChangeRefused) as caught:
        alter(path, table, change, mode=mode)
    for fragment in fragments:
        assert fragment in str(caught.value), (fragment, str(caught.value))
    assert path.read_bytes() == before
    return str(caught.value)


@dataclass(frozen=True)
class Snapshot:
    schema: list[tuple[str, str, str, str | None]]  # every sqlite_master entry, sorted
    rows: dict[str, list[tuple[object, ...]]]  # table -> rows with their rowids (when they have one)
    sequence: list[tuple[str, int]]


def snapshot(path: Path) -> Snapshot:
    with closing(sqlite3.connect(path)) as connection:
        schema = sorted(connection.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"), key=repr)
        tables = [row[1] for row in schema if row[0] == "table" and row[1] != "sqlite_sequence"]
        rows = {table: _rows(connection, table) for table in tables}
        has_sequence = any(row[1] == "sqlite_sequence" for row in schema)
        sequence = sorted(connection.execute("SELECT * FROM sqlite_sequence")) if has_sequence else []
    return Snapshot(schema, rows, sequence)


def _rows(connection: sqlite3.Connection, table: str) -> list[tuple[object, ...]]:
    try:
        return sorted(connection.execute(f'SELECT rowid, * FROM "{table}"'), key=repr)
    except sqlite3.OperationalError:  # WITHOUT ROWID
        return sorted(connection.execute(f'SELECT * FROM "{table}"'), key=repr)


def others(snap: Snapshot, table: str) -> list[tuple[str, str, str, str | None]]:
    """Every sqlite_master entry but the changed table's own row."""
    return [row for row in snap.schema if not (row[0] == "table" and row[1] == table)]


def table_sql(path: Path, table: str) -> str:
    with closing(sqlite3.connect(path)) as connection:
        return str(connection.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0])


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain connection with foreign keys enforced, as an application would open it."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA foreign_keys = ON")
    try:
        yield connection
    finally:
        connection.close()


def violates(connection: sqlite3.Connection, sql: str) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        connection.execute(sql)


# --- what would lose data ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_child_rows_survive_and_cascades_still_work(path: Path, mode: str) -> None:
    build(path, SHOP)
    before = snapshot(path)
    alter(path, "users", lambda table: table.drop_column("legacy"), mode=mode)
    after = snapshot(path)
    assert after.rows["posts"] == before.rows["posts"] == [(1, 1, 1, "one"), (2, 2, 1, "two"), (3, 3, 3, "three")]
    assert after.rows["audit"] == before.rows["audit"]
    with connect(path) as connection:
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        violates(connection, "INSERT INTO posts (user_id, title) VALUES (99, 'orphan')")
        connection.execute("DELETE FROM users WHERE id = 1")
        assert connection.execute("SELECT id FROM posts").fetchall() == [(3,)]


@pytest.mark.parametrize("mode", MODES)
def test_self_references_and_without_rowid_parents_keep_their_children(path: Path, mode: str) -> None:
    build(
        path,
        """
        CREATE TABLE staff (id INTEGER PRIMARY KEY, boss INTEGER REFERENCES staff(id) ON DELETE CASCADE, x TEXT);
        INSERT INTO staff VALUES (1, NULL, 'a'), (2, 1, 'b'), (3, 2, 'c');
        CREATE TABLE codes (code TEXT PRIMARY KEY, label TEXT) WITHOUT ROWID;
        CREATE TABLE uses (code TEXT REFERENCES codes(code) ON DELETE CASCADE);
        INSERT INTO codes VALUES ('x', 'X'), ('y', 'Y'); INSERT INTO uses VALUES ('x'), ('y'), ('y');
        """,
    )
    alter(path, "staff", lambda table: table.drop_column("x"), mode=mode)
    alter(path, "codes", lambda table: table.alter_column("label", nullable=False), mode=mode)
    with connect(path) as connection:
        assert connection.execute("SELECT * FROM staff").fetchall() == [(1, None), (2, 1), (3, 2)]
        assert connection.execute("SELECT count(*) FROM uses").fetchone() == (3,)
        connection.execute("DELETE FROM staff WHERE id = 2")
        connection.execute("DELETE FROM codes WHERE code = 'y'")
        assert connection.execute("SELECT count(*) FROM staff").fetchone() == (1,)
        assert connection.execute("SELECT * FROM uses").fetchall() == [("x",)]


def test_the_autoincrement_counter_is_kept_above_the_largest_id(path: Path) -> None:
    build(path, SHOP)
    assert snapshot(path).sequence == [("users", 5)]  # rows 4 and 5 were deleted: seq > max(id) = 3
    alter(path, "users", lambda table: table.drop_column("legacy"))
    assert snapshot(path).sequence == [("users", 5)]
    with connect(path) as connection:
        connection.execute("INSERT INTO users (email, name, age) VALUES ('f@x', 'Flo', 20)")
        assert connection.execute("SELECT max(id) FROM users").fetchone() == (6,)


@pytest.mark.parametrize(
    ("definition", "change"),
    [
        ("body TEXT, n INTEGER", lambda table: table.drop_column("n")),  # rowid not aliased
        ("rowid TEXT, body TEXT, n INTEGER", lambda table: table.drop_column("n")),  # a column hides "rowid"
        ("id INTEGER PRIMARY KEY DESC, body TEXT, n INTEGER", lambda table: table.drop_column("n")),  # not an alias
        ("id INTEGER PRIMARY KEY, body TEXT, n INTEGER", lambda table: table.alter_column("id", type="BIGINT")),
    ],
)
def test_rowids_are_kept(path: Path, definition: str, change: Change) -> None:
    build(path, f"CREATE TABLE notes ({definition});")
    with closing(sqlite3.connect(path)) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(notes)")]
        values = {"rowid": "'r'", "body": "'b'", "n": "1", "id": "{id}"}
        for rowid in (10, 3, 7000):
            cells = ", ".join(values[column].format(id=rowid) for column in columns)
            connection.execute(f"INSERT INTO notes (_rowid_, {', '.join(columns)}) VALUES ({rowid}, {cells})")
        connection.commit()
        before = connection.execute("SELECT _rowid_, body FROM notes ORDER BY 1").fetchall()
    alter(path, "notes", change)
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("SELECT _rowid_, body FROM notes ORDER BY 1").fetchall() == before
    assert [row[0] for row in before] == [3, 10, 7000]


def test_unnamed_and_named_checks_are_kept_and_still_fire(path: Path) -> None:
    build(
        path,
        """
        CREATE TABLE ranges (lo INTEGER CHECK (lo >= 0), hi INTEGER, note TEXT, CHECK (lo < hi),
            CONSTRAINT short_note CHECK (length(note) < 10));
        INSERT INTO ranges VALUES (1, 2, 'x');
        """,
    )
    alter(path, "ranges", lambda table: table.add_column("extra TEXT"))
    assert table_sql(path, "ranges") == (
        'CREATE TABLE "ranges" (lo INTEGER CHECK (lo >= 0), hi INTEGER, note TEXT, extra TEXT, CHECK (lo < hi),\n'
        "    CONSTRAINT short_note CHECK (length(note) < 10))"
    )
    with connect(path) as connection:
        violates(connection, "INSERT INTO ranges (lo, hi) VALUES (5, 1)")
        violates(connection, "INSERT INTO ranges (lo, hi) VALUES (-1, 1)")
        violates(connection, "INSERT INTO ranges (lo, hi, note) VALUES (1, 2, 'far too long a note')")


def test_on_conflict_replace_never_drops_rows_silently(path: Path) -> None:
    build(path, "CREATE TABLE tags (name TEXT, n INTEGER); INSERT INTO tags VALUES ('a', 1), ('a', 2), ('b', 3);")
    refused(
        path,
        "tags",
        lambda table: table.add_constraint("UNIQUE (name) ON CONFLICT REPLACE"),
        "1 row of tags has values that break the new definition: UNIQUE constraint failed: tags.name",
    )


# --- everything the change does not touch is kept -------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_dropping_a_column_keeps_everything_else(path: Path, mode: str) -> None:
    build(path, SHOP)
    before = snapshot(path)
    original = table_sql(path, "users")
    alter(path, "users", lambda table: table.drop_column("legacy"), mode=mode)
    after = snapshot(path)
    assert others(after, "users") == others(before, "users")
    assert table_sql(path, "users") == original.replace("CREATE TABLE users", 'CREATE TABLE "users"').replace(
        "    legacy TEXT,\n", ""
    )
    assert {name: rows for name, rows in after.rows.items() if name != "users"} == {
        name: rows for name, rows in before.rows.items() if name != "users"
    }
    assert after.rows["users"] == [row[:5] + row[6:] for row in before.rows["users"]]
    assert after.sequence == before.sequence
    _shop_still_works(path)


def _shop_still_works(path: Path) -> None:
    with connect(path) as connection:
        violates(connection, "INSERT INTO users (email, name) VALUES ('A@X', 'Dup')")  # UNIQUE, COLLATE NOCASE
        violates(connection, "INSERT INTO users (email, name) VALUES ('z@x', '')")  # named CHECK
        violates(connection, "INSERT INTO users (email, name, age) VALUES ('z@x', 'Zed', -1)")  # unnamed CHECK
        violates(connection, "INSERT INTO users (name) VALUES ('Zed')")  # NOT NULL
        assert connection.execute("SELECT shout FROM users WHERE id = 1").fetchone() == ("ANN",)
        assert connection.execute("SELECT * FROM adult_names ORDER BY 1").fetchall() == [("Ann",), ("Cy",)]
        connection.execute("UPDATE users SET age = 31 WHERE id = 1")
        connection.execute("INSERT INTO posts (user_id, title) VALUES (3, 'four')")
        audit = connection.execute("SELECT what FROM audit ORDER BY id DESC LIMIT 2").fetchall()
        assert audit == [("post by Cy",), ("updated 1",)]
        plan = connection.execute("EXPLAIN QUERY PLAN SELECT id FROM users WHERE age >= 18 AND age = 30").fetchall()
        assert "users_adults" in str(plan)
        connection.execute("INSERT INTO adults (name) VALUES ('Gus')")  # the INSTEAD OF trigger of a view
        assert connection.execute("SELECT email, age FROM users WHERE name = 'Gus'").fetchone() == ("gus@x", 18)


@pytest.mark.parametrize("mode", MODES)
def test_every_operation_in_one_block(path: Path, mode: str) -> None:
    build(
        path,
        """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            email TEXT,
            age TEXT,
            legacy TEXT,
            CONSTRAINT old_check CHECK (length(name) < 50)
        );
        CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id) ON DELETE CASCADE);
        CREATE INDEX users_name ON users(name);
        INSERT INTO users (name, email, age, legacy) VALUES ('Ann', 'a@x', '30', 'x'), ('Bob', 'b@x', '41', 'y');
        INSERT INTO posts (user_id) VALUES (1), (2);
        """,
    )

    def change(table: TableAlteration) -> None:
        table.drop_column("legacy")
        table.rename_column("name", "full_name")
        table.alter_column("age", type="INTEGER", nullable=False, default="0")
        table.add_column("score INTEGER NOT NULL DEFAULT 0 CHECK (score >= 0)")
        table.add_constraint("CONSTRAINT email_unique UNIQUE (email)")
        table.drop_constraint("old_check")

    alter(path, "users", change, mode=mode)
    assert table_sql(path, "users") == textwrap.dedent(
        """\
        CREATE TABLE "users" (
            id INTEGER PRIMARY KEY,
            "full_name" TEXT NOT NULL,
            email TEXT,
            age INTEGER NOT NULL DEFAULT 0,
            score INTEGER NOT NULL DEFAULT 0 CHECK (score >= 0),
            CONSTRAINT email_unique UNIQUE (email)
        )"""
    )
    assert table_sql(path, "users_name") == 'CREATE INDEX users_name ON users("full_name")'
    with connect(path) as connection:
        rows = connection.execute("SELECT id, full_name, email, age, typeof(age), score FROM users").fetchall()
        assert rows == [(1, "Ann", "a@x", 30, "integer", 0), (2, "Bob", "b@x", 41, "integer", 0)]
        assert connection.execute("SELECT count(*) FROM posts").fetchone() == (2,)
        violates(connection, "INSERT INTO users (full_name, email) VALUES ('Cy', 'a@x')")
        violates(connection, "INSERT INTO users (full_name, score) VALUES ('Cy', -1)")
        connection.execute(f"INSERT INTO users (full_name) VALUES ('{'x' * 60}')")  # old_check is gone


def test_rename_column_is_native_and_follows_views_triggers_indexes_and_foreign_keys(path: Path) -> None:
    build(path, SHOP)
    statements = alter(path, "users", lambda table: table.rename_column("age", "years"))
    assert 'ALTER TABLE "users" RENAME COLUMN "age" TO "years"' in statements
    assert not any(statement.startswith("DROP TABLE") for statement in statements)
    alter(path, "users", lambda table: table.rename_column("id", "user_id"))
    assert 'REFERENCES users("user_id")' in table_sql(path, "posts")
    assert table_sql(path, "users_adults") == 'CREATE INDEX users_adults ON users("years") WHERE "years" >= 18'
    assert table_sql(path, "adults") == 'CREATE VIEW adults AS SELECT "user_id", name FROM users WHERE "years" >= 18'
    with connect(path) as connection:
        assert connection.execute("SELECT * FROM adult_names ORDER BY 1").fetchall() == [("Ann",), ("Cy",)]
        connection.execute("INSERT INTO posts (user_id, title) VALUES (3, 'four')")
        assert connection.execute("SELECT what FROM audit ORDER BY id DESC LIMIT 1").fetchone() == ("post by Cy",)
        connection.execute("UPDATE users SET years = 41 WHERE user_id = 3")
        assert connection.execute("SELECT what FROM audit ORDER BY id DESC LIMIT 1").fetchone() == ("updated 3",)
        violates(connection, "INSERT INTO posts (user_id, title) VALUES (99, 'orphan')")
        violates(connection, "INSERT INTO users (email, name, years) VALUES ('z@x', 'Zed', -1)")
        connection.execute("DELETE FROM users WHERE user_id = 1")
        assert connection.execute("SELECT count(*) FROM posts").fetchone() == (2,)


def test_a_rename_that_would_break_a_view_is_refused(path: Path) -> None:
    build(path, SHOP)  # adult_names reads the column "name" of the view adults, which the rename would change
    refused(
        path,
        "users",
        lambda table: table.rename_column("name", "full_name"),
        "SQLite reports error in view adult_names after rename: no such column: name",
    )


def test_strict_and_without_rowid_tables_stay_so(path: Path) -> None:
    build(
        path,
        """
        CREATE TABLE pairs (k TEXT PRIMARY KEY, v INTEGER, extra ANY) STRICT, WITHOUT ROWID;
        CREATE INDEX pairs_v ON pairs(v) WHERE v > 0;
        CREATE VIEW positive AS SELECT k FROM pairs WHERE v > 0;
        CREATE TABLE notes (k TEXT REFERENCES pairs(k), body TEXT) STRICT;
        INSERT INTO pairs VALUES ('b', 2, 'x'), ('a', 1, 3.5); INSERT INTO notes VALUES ('a', 'n');
        """,
    )
    before = snapshot(path)
    alter(path, "pairs", lambda table: table.alter_column("v", type="REAL"))
    after = snapshot(path)
    assert others(after, "pairs") == others(before, "pairs")
    assert after.rows["notes"] == before.rows["notes"] and len(after.rows["pairs"]) == 2
    assert (
        table_sql(path, "pairs") == 'CREATE TABLE "pairs" (k TEXT PRIMARY KEY, v REAL, extra ANY) STRICT, WITHOUT ROWID'
    )
    with connect(path) as connection:
        assert connection.execute("SELECT wr, strict FROM pragma_table_list('pairs')").fetchone() == (1, 1)
        assert connection.execute("SELECT k, v, typeof(v), extra FROM pairs").fetchall() == [
            ("a", 1.0, "real", 3.5),
            ("b", 2.0, "real", "x"),
        ]
        violates(connection, "INSERT INTO pairs VALUES ('c', 'not a number', NULL)")


def test_comments_and_layout_survive(path: Path) -> None:
    build(
        path,
        """
        CREATE TABLE t ( -- the t table
            a INTEGER, /* first */
            b TEXT, -- goes away
            c REAL -- last
        ) /* after */;
        """,
    )
    alter(path, "t", lambda table: table.drop_column("b"))
    assert (
        table_sql(path, "t") == 'CREATE TABLE "t" ( -- the t table\n    a INTEGER, /* first */\n    c REAL -- last\n)'
    )
    alter(path, "t", lambda table: table.add_column("d BLOB -- dropped: only the definition is kept"))
    assert table_sql(path, "t") == (
        'CREATE TABLE "t" ( -- the t table\n    a INTEGER, /* first */\n    c REAL, -- last\n    d BLOB\n)'
    )


def test_a_trigger_of_another_table_that_mentions_it_is_kept(path: Path) -> None:
    build(path, SHOP)
    alter(path, "users", lambda table: table.alter_column("age", nullable=False))
    assert "users_audit" in str(snapshot(path).schema) and "posts_audit" in str(snapshot(path).schema)
    with connect(path) as connection:
        connection.execute("INSERT INTO posts (user_id, title) VALUES (1, 'x')")
        assert connection.execute("SELECT what FROM audit ORDER BY id DESC LIMIT 1").fetchone() == ("post by Ann",)
        violates(connection, "INSERT INTO users (email, name) VALUES ('z@x', 'Zed')")


def test_quotes_in_names(path: Path) -> None:
    build(
        path,
        'CREATE TABLE "we""ird" ("a""b" INTEGER, c); INSERT INTO "we""ird" VALUES (1, 2); CREATE INDEX "i""x" ON "we""ird"("a""b");',
    )
    alter(path, 'we"ird', lambda table: table.drop_column("c"))
    assert table_sql(path, 'we"ird') == 'CREATE TABLE "we""ird" ("a""b" INTEGER)'
    assert table_sql(path, 'i"x') == 'CREATE INDEX "i""x" ON "we""ird"("a""b")'


def test_names_are_matched_without_case_and_odd_names_work(path: Path) -> None:
    build(
        path,
        'CREATE TABLE "my table" ("odd ""col""" TEXT, [x y] INTEGER, `z` TEXT); INSERT INTO "my table" VALUES (1, 2, 3);',
    )
    alter(path, "MY TABLE", lambda table: table.drop_column("Z"))
    alter(path, "my table", lambda table: table.alter_column('odd "col"', type="INTEGER"))
    assert table_sql(path, "my table") == 'CREATE TABLE "my table" ("odd ""col""" INTEGER, [x y] INTEGER)'
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute('SELECT * FROM "my table"').fetchall() == [(1, 2)]


def test_every_statement_goes_through_the_handle_and_is_traced(path: Path) -> None:
    build(path, SHOP)
    statements = alter(path, "users", lambda table: table.drop_column("legacy"))
    ran = [statement for statement in statements if not statement.startswith("--")]
    for expected in ("SAVEPOINT kitgen_alter_table", 'DROP TABLE "users"', "RELEASE kitgen_alter_table"):
        assert expected in ran
    assert any(statement.startswith('CREATE TABLE "kitgen_new_users"') for statement in ran)
    assert any(statement.startswith('INSERT OR ABORT INTO "kitgen_new_users" (rowid, ') for statement in ran)
    assert 'ALTER TABLE "kitgen_new_users" RENAME TO "users"' in ran
    assert ran.index('DROP VIEW IF EXISTS "adult_names"') < ran.index('DROP VIEW IF EXISTS "adults"')
    recreated = [
        statement.split()[1:3] for statement in ran if statement.startswith("CREATE") and "kitgen" not in statement
    ]
    assert recreated == [
        ["INDEX", "users_adults"],
        ["INDEX", "users_lower_name"],
        ["VIEW", "adults"],
        ["VIEW", "adult_names"],
        ["TRIGGER", "users_audit"],
        ["TRIGGER", "posts_audit"],
        ["TRIGGER", "adults_insert"],
    ]


def test_autocommit_restores_foreign_keys_and_legacy_alter_table(path: Path) -> None:
    build(path, SHOP)
    driver = SQLiteDriver(path, lock_timeout=5)
    try:
        driver.connection.execute("PRAGMA legacy_alter_table = ON")
        with driver.autocommit().alter_table("users") as table:
            table.drop_column("legacy")
        assert driver.connection.execute("PRAGMA foreign_keys").fetchone() == (1,)
        assert driver.connection.execute("PRAGMA legacy_alter_table").fetchone() == (1,)
        assert not driver.connection.in_transaction
        with pytest.raises(SchemaChangeRefused), driver.autocommit().alter_table("users") as table:
            table.drop_column("email")
        assert driver.connection.execute("PRAGMA foreign_keys").fetchone() == (1,)
        assert not driver.connection.in_transaction
    finally:
        driver.close()


def test_an_empty_block_or_an_exception_in_it_changes_nothing(path: Path) -> None:
    build(path, SHOP)
    before = path.read_bytes()
    assert not [s for s in alter(path, "users", lambda table: None) if "SAVEPOINT" in s]

    def failing(table: TableAlteration) -> None:
        table.drop_column("legacy")
        raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError):
        alter(path, "users", failing, mode="autocommit")
    assert path.read_bytes() == before


# --- a failure after the DROP leaves the file byte for byte as it was --------------------------------------------

CREATE_TRIGGER, CREATE_VIEW, UPDATE = 7, 8, 23


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("action", "target"), [(CREATE_VIEW, "adult_names"), (CREATE_TRIGGER, "posts_audit"), (UPDATE, "sqlite_sequence")]
)
def test_a_failure_after_the_drop_rolls_everything_back(path: Path, mode: str, action: int, target: str) -> None:
    build(path, SHOP)
    before = path.read_bytes()
    driver = SQLiteDriver(path, lock_timeout=5)
    statements: list[str] = []

    def deny(code: int, first: str | None, *_: object) -> int:
        return sqlite3.SQLITE_DENY if code == action and first == target else sqlite3.SQLITE_OK

    def run(db: object) -> None:
        driver.connection.set_trace_callback(statements.append)
        driver.connection.set_authorizer(deny)
        with db.alter_table("users") as table:  # type: ignore[attr-defined]
            table.drop_column("legacy")

    try:
        with pytest.raises(Exception, match="not authorized"):
            if mode == "autocommit":
                run(driver.autocommit())
            else:
                with driver.transaction(foreign_keys=False) as db:
                    run(db)
        assert 'DROP TABLE "users"' in statements
        assert "ROLLBACK TO kitgen_alter_table" in statements
        assert driver.connection.execute("PRAGMA foreign_keys").fetchone() == (1,)
    finally:
        driver.close()
    assert path.read_bytes() == before


def test_a_python_exception_after_the_drop_rolls_everything_back(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build(path, SHOP)
    before = path.read_bytes()

    def broken(*_: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(sqlite_alter, "_restore_sequence", broken)
    for mode in MODES:
        with pytest.raises(RuntimeError, match="disk on fire"):
            alter(path, "users", lambda table: table.drop_column("legacy"), mode=mode)
        assert path.read_bytes() == before


# --- refusals: the message says why, and the file is untouched ----------------------------------------------------


@pytest.mark.parametrize(
    ("column", "user"),
    [
        ("age", "index users_adults uses it"),
        ("name", "SQLite reports error in view adult_names after rename: no such column: name"),
        ("email", "the table constraint UNIQUE (email) uses it"),
        ("id", "the foreign key of table posts uses it"),
    ],
)
def test_dropping_a_used_column_is_refused(path: Path, column: str, user: str) -> None:
    build(path, SHOP)
    refused(path, "users", lambda table: table.drop_column(column), f"cannot drop users.{column}: ", user)


@pytest.mark.parametrize(
    ("extra", "column", "user"),
    [
        ("CREATE VIEW v AS SELECT b FROM t", "b", "view v uses it"),
        ("CREATE TRIGGER tr AFTER UPDATE OF b ON t BEGIN SELECT 1; END", "b", "trigger tr uses it"),
        (
            "CREATE TABLE o (x); CREATE TRIGGER tr AFTER INSERT ON o BEGIN UPDATE t SET a = 1 WHERE c = 2; END",
            "c",
            "trigger tr uses it",
        ),
        ("CREATE INDEX i ON t(a) WHERE c > 0", "c", "index i uses it"),
        ("CREATE INDEX i ON t(lower(b))", "b", "index i uses it"),
        ("CREATE VIEW v AS SELECT b FROM (SELECT * FROM t)", "b", "SQLite reports error in view v after rename"),
        ("", "a", "generated column g uses it"),
        ("", "c", "the CHECK constraint of column b uses it"),
        ("", "d", "constraint pair uses it"),
        ("CREATE TABLE child (x REFERENCES t)", "a", "the foreign key of table child (to the primary key) uses it"),
        ("CREATE TABLE child (x, FOREIGN KEY (x) REFERENCES t(d))", "d", "the foreign key of table child uses it"),
    ],
)
def test_each_kind_of_use_is_named(path: Path, extra: str, column: str, user: str) -> None:
    build(
        path,
        f"""
        CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT CHECK (b != c), c INTEGER, d INTEGER, e TEXT,
            g INTEGER AS (a * 2), CONSTRAINT pair UNIQUE (c, d));
        INSERT INTO t (a, b, c, d) VALUES (1, 'x', 2, 3);
        {extra};
        """,
    )
    refused(path, "t", lambda table: table.drop_column(column), f"cannot drop t.{column}: ", user)


def test_a_use_dropped_earlier_in_the_same_block_no_longer_counts(path: Path) -> None:
    build(
        path,
        "CREATE TABLE t (a INTEGER, b INTEGER CONSTRAINT b_over_a CHECK (b > a), c TEXT); INSERT INTO t VALUES (1, 2, 'x');",
    )

    def change(table: TableAlteration) -> None:
        table.drop_constraint("b_over_a")
        table.drop_column("a")

    alter(path, "t", change)
    assert table_sql(path, "t") == 'CREATE TABLE "t" (b INTEGER, c TEXT)'


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        (lambda t: t.drop_column("nope"), ("users has no column nope", "its columns are: id, email, name")),
        (lambda t: t.rename_column("nope", "x"), ("users has no column nope",)),
        (lambda t: t.alter_column("nope", nullable=True), ("users has no column nope",)),
        (lambda t: t.add_column("Email TEXT"), ("users already has a column named Email",)),
        (lambda t: t.rename_column("name", "EMAIL"), ("users already has a column named EMAIL",)),
        (
            lambda t: t.drop_constraint("nope"),
            ("users has no constraint named nope", "its named constraints are: name_present"),
        ),
        (
            lambda t: t.add_constraint("CONSTRAINT NAME_PRESENT CHECK (1)"),
            ("already has a constraint named NAME_PRESENT",),
        ),
        (lambda t: t.add_constraint("email TEXT"), ("is not a table constraint",)),
        (lambda t: t.add_column("CHECK (age > 1)"), ("is a table constraint, not a column",)),
        (lambda t: t.add_column("a INT, b INT"), ("is not one column definition",)),
        (lambda t: t.add_column("a INT); DROP TABLE posts; --"), ("is not one column definition",)),
        (lambda t: t.alter_column("age", type="INTEGER NOT NULL"), ("is not a type name",)),
        (lambda t: (t.drop_column("legacy"), t.drop_column("legacy")), ("users has no column legacy",)),
    ],
)
def test_names_that_do_not_fit_are_refused_before_anything_runs(
    path: Path, change: Change, fragments: tuple[str, ...]
) -> None:
    build(path, SHOP)
    refused(path, "users", change, *fragments)


def test_a_refusal_after_an_earlier_step_ran_still_changes_nothing(path: Path) -> None:
    build(path, SHOP)

    def change(table: TableAlteration) -> None:
        table.drop_column("legacy")
        table.rename_column("email", "mail")
        table.drop_column("age")  # index users_adults uses it: refused after two steps ran

    for mode in MODES:
        refused(path, "users", change, "cannot drop users.age: index users_adults uses it", mode=mode)


@pytest.mark.parametrize(
    ("table", "fragments"),
    [
        ("nope", ("there is no table nope",)),
        ("adults", ("adults is a view, not a table of yours",)),
        ("docs", ("docs is a virtual table",)),
        ("sqlite_sequence", ("sqlite_sequence is SQLite's own table",)),
    ],
)
def test_only_ordinary_tables_can_be_altered(path: Path, table: str, fragments: tuple[str, ...]) -> None:
    build(path, SHOP + "CREATE VIRTUAL TABLE docs USING fts5(body);")
    refused(path, table, lambda altering: altering.drop_column("x"), *fragments)


@pytest.mark.parametrize("mode", MODES)
def test_rows_that_would_break_a_new_rule_are_counted(path: Path, mode: str) -> None:
    build(
        path,
        """
        CREATE TABLE people (id INTEGER PRIMARY KEY, age TEXT, email TEXT, nick TEXT);
        INSERT INTO people (age, email) VALUES (NULL, 'a'), ('5', 'a'), (NULL, 'b'), ('-3', 'c'), (NULL, 'c');
        """,
    )
    refused(
        path, "people", lambda t: t.alter_column("age", nullable=False), "3 rows of people have age NULL", mode=mode
    )
    refused(
        path,
        "people",
        lambda t: t.add_constraint("CHECK (CAST(age AS INTEGER) >= 0)"),
        "1 row of people has values that break the new definition: CHECK constraint failed",
        mode=mode,
    )
    refused(path, "people", lambda t: t.add_constraint("UNIQUE (email)"), "2 rows of people have", "UNIQUE", mode=mode)
    refused(
        path,
        "people",
        lambda t: t.add_column("level INTEGER NOT NULL"),
        "5 rows of people have no value for the new NOT NULL column level",
        mode=mode,
    )


def test_a_new_column_whose_foreign_key_or_uniqueness_fails_is_refused(path: Path) -> None:
    build(path, "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE t (a); INSERT INTO t VALUES (1), (2);")
    refused(
        path,
        "t",
        lambda t: t.add_column("p_id INTEGER NOT NULL DEFAULT 0 REFERENCES p(id)"),
        "2 rows of t have a foreign key to a missing row of p",
    )
    refused(
        path,
        "t",
        lambda t: t.add_column("u INTEGER UNIQUE DEFAULT 5"),
        "1 row of t has values that break the new definition: UNIQUE",
    )
    alter(path, "t", lambda t: t.add_column("g INTEGER AS (a * 2) STORED"))
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("SELECT a, g FROM t").fetchall() == [(1, 2), (2, 4)]


def test_strict_values_that_the_new_type_cannot_hold_are_counted(path: Path) -> None:
    build(
        path,
        """
        CREATE TABLE m (id INTEGER PRIMARY KEY, v TEXT) STRICT;
        INSERT INTO m (v) VALUES ('12'), ('3.0'), ('abc'), ('1.5'), (NULL);
        """,
    )
    refused(path, "m", lambda t: t.alter_column("v", type="INTEGER"), "2 rows of m have v values that a STRICT INTEGER")
    alter(path, "m", lambda t: t.alter_column("v", type="ANY"))
    refused(path, "m", lambda t: t.alter_column("v", type="BLOB"), "4 rows of m have v values that a STRICT BLOB")
    alter(path, "m", lambda t: t.alter_column("v", type="TEXT"))  # the values were kept as they were: all text
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("SELECT v FROM m ORDER BY id").fetchall() == [
            ("12",),
            ("3.0",),
            ("abc",),
            ("1.5",),
            (None,),
        ]


def test_foreign_keys_enforced_inside_a_transaction_refuse_a_referenced_table(path: Path) -> None:
    build(path, SHOP)
    refused(
        path,
        "users",
        lambda t: t.drop_column("legacy"),
        "cannot rebuild users while foreign keys are enforced: table posts references it",
        "move this alter_table() into a migration without foreign_keys = True",
        mode="enforced",
    )
    alter(path, "audit", lambda t: t.add_column("at TEXT"), mode="enforced")  # nothing references audit


def test_the_checks_after_the_rebuild_refuse_broken_references(path: Path) -> None:
    build(
        path,
        """
        CREATE TABLE parents (id INTEGER, code TEXT, CONSTRAINT code_key UNIQUE (code));
        CREATE TABLE kids (code TEXT REFERENCES parents(code));
        INSERT INTO parents VALUES (1, 'a'); INSERT INTO kids VALUES ('a');
        """,
    )
    refused(
        path,
        "parents",
        lambda t: t.drop_constraint("code_key"),
        "the foreign keys of kids no longer fit parents",
        "mismatch",
    )
    build(path, "INSERT INTO kids VALUES ('missing');")
    refused(
        path, "parents", lambda t: t.add_column("x TEXT"), "1 row of kids has a foreign key to a missing row of parents"
    )


def test_a_view_that_would_break_is_refused(path: Path) -> None:
    build(path, "CREATE TABLE t (a, b, c); CREATE VIEW v (x, y, z) AS SELECT * FROM t;")
    refused(path, "t", lambda t: t.drop_column("c"), "after the change to t, view v fails: expected 3 columns")


def test_the_only_column_cannot_be_dropped(path: Path) -> None:
    build(path, "CREATE TABLE t (a);")
    refused(path, "t", lambda t: t.drop_column("a"), "it is the table's only column")


def test_a_definition_sqlite_rejects_is_refused_under_the_table_name(path: Path) -> None:
    build(path, "CREATE TABLE pairs (k TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID; INSERT INTO pairs VALUES ('a', 1);")
    refused(
        path,
        "pairs",
        lambda t: t.drop_column("k"),
        "the new definition of pairs does not work: PRIMARY KEY missing on table pairs",
    )
    build(
        path,
        "CREATE TABLE counters (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER); INSERT INTO counters (n) VALUES (1);",
    )
    refused(
        path,
        "counters",
        lambda t: t.alter_column("id", type="BIGINT"),
        "AUTOINCREMENT is only allowed on an INTEGER PRIMARY KEY",
    )


# --- the text edits, exactly -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "edit", "expected"),
    [
        ("CREATE TABLE t(a INTEGER, b TEXT, c REAL)", lambda d: drop_column(d, "a"), "CREATE TABLE t(b TEXT, c REAL)"),
        (
            "CREATE TABLE t(a INTEGER, b TEXT, c REAL)",
            lambda d: drop_column(d, "b"),
            "CREATE TABLE t(a INTEGER, c REAL)",
        ),
        (
            "CREATE TABLE t(a INTEGER, b TEXT, c REAL)",
            lambda d: drop_column(d, "c"),
            "CREATE TABLE t(a INTEGER, b TEXT)",
        ),
        (
            "CREATE TABLE t(a, b, UNIQUE (a))",
            lambda d: add_column(d, "  d BLOB  "),
            "CREATE TABLE t(a, b, d BLOB, UNIQUE (a))",
        ),
        ("CREATE TABLE t(a, b)", lambda d: add_constraint(d, "CHECK (a > b)"), "CREATE TABLE t(a, b, CHECK (a > b))"),
        (
            "CREATE TABLE t(a, CHECK (a), CONSTRAINT k UNIQUE (a))",
            lambda d: drop_constraint(d, "K"),
            "CREATE TABLE t(a, CHECK (a))",
        ),
        (
            "CREATE TABLE t(a INT CONSTRAINT pos CHECK (a > 0) NOT NULL)",
            lambda d: drop_constraint(d, "pos"),
            "CREATE TABLE t(a INT NOT NULL)",
        ),
        (
            "CREATE TABLE t(a varchar(10) NOT NULL ON CONFLICT FAIL DEFAULT 'x' COLLATE NOCASE)",
            lambda d: alter_column(d, "a", type="TEXT", nullable=True, default=None),
            "CREATE TABLE t(a TEXT COLLATE NOCASE)",
        ),
        (
            "CREATE TABLE t(a REFERENCES p ON DELETE SET NULL ON UPDATE SET DEFAULT NOT DEFERRABLE, b)",
            lambda d: alter_column(d, "a", type="INTEGER", nullable=False, default="-1"),
            "CREATE TABLE t(a INTEGER NOT NULL REFERENCES p ON DELETE SET NULL ON UPDATE SET DEFAULT NOT DEFERRABLE DEFAULT -1, b)",
        ),
        (
            "CREATE TABLE t(a TEXT DEFAULT (lower('X')) NULL, b)",
            lambda d: alter_column(d, "a", nullable=False, default="datetime('now')"),
            "CREATE TABLE t(a TEXT NOT NULL DEFAULT (datetime('now')), b)",
        ),
        (
            "CREATE TABLE t(\n  a INT, -- one\n  b INT -- two\n)",
            lambda d: drop_column(d, "b"),
            "CREATE TABLE t(\n  a INT -- one\n)",
        ),
        (
            "CREATE TABLE t(\n  a INT, -- one\n  b INT, -- two\n  CHECK (a)\n)",
            lambda d: add_column(d, "c INT"),
            "CREATE TABLE t(\n  a INT, -- one\n  b INT, -- two\n  c INT,\n  CHECK (a)\n)",
        ),
    ],
)
def test_text_edits_touch_only_their_span(sql: str, edit: Callable[[Draft], Draft], expected: str) -> None:
    assert edit(Draft.of("t", sql)).text == expected


# --- end to end: a Python migration applied by the kitgen script --------------------------------------------------


def test_a_migration_alters_a_table_and_rolls_it_back(project: Project) -> None:
    project.sql(
        "2026_01_01_000001_create_users",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, legacy TEXT);\n"
        "CREATE INDEX users_name ON users(name);\n"
        "INSERT INTO users VALUES (1, 'Ann', 'x'), (2, NULL, 'y');",
        "DROP TABLE users;",
    )
    project.python(
        "2026_01_01_000002_drop_legacy",
        """
        with db.alter_table("users") as table:
            table.drop_column("legacy")
            table.alter_column("name", default="'anonymous'")
        """,
        """
        with db.alter_table("users") as table:
            table.add_column("legacy TEXT")
            table.alter_column("name", default=None)
        """,
    )
    result = project.run("migrate")
    assert result.returncode == 0, result.stderr
    result = project.run("check")  # the in-memory replay runs the same alter_table()
    assert result.returncode == 0, result.stdout + result.stderr
    with project.connect() as connection:
        assert connection.execute("SELECT * FROM users ORDER BY id").fetchall() == [(1, "Ann"), (2, None)]
        assert (
            "DEFAULT 'anonymous'"
            in connection.execute("SELECT sql FROM sqlite_master WHERE name = 'users'").fetchone()[0]
        )
        indexes = connection.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'users' AND type = 'index'")
        assert indexes.fetchall() == [("users_name",)]
    result = project.run("migrate:rollback", "--step", "1", "--force")
    assert result.returncode == 0, result.stderr
    with project.connect() as connection:
        assert connection.execute("SELECT * FROM users ORDER BY id").fetchall() == [(1, "Ann", None), (2, None, None)]


def test_a_migration_without_a_transaction_keeps_child_rows(project: Project) -> None:
    project.sql(
        "2026_01_01_000001_create",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, legacy TEXT);\n"
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id) ON DELETE CASCADE);\n"
        "INSERT INTO users VALUES (1, 'x'); INSERT INTO posts VALUES (1, 1), (2, 1);",
        "DROP TABLE posts; DROP TABLE users;",
    )
    project.python(
        "2026_01_01_000002_drop_legacy",
        'with db.alter_table("users") as table:\n    table.drop_column("legacy")',
        extra="transaction = False\n",
    )
    result = project.run("migrate")
    assert result.returncode == 0, result.stderr
    with project.connect() as connection:
        assert connection.execute("SELECT count(*) FROM posts").fetchone() == (2,)


def test_a_refused_migration_is_one_error_and_changes_nothing(project: Project) -> None:
    project.sql(
        "2026_01_01_000001_create",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);\nCREATE INDEX users_email_idx ON users(email);",
        "DROP TABLE users;",
    )
    assert project.run("migrate").returncode == 0
    before = project.snapshot()
    project.python(
        "2026_01_01_000002_drop_email", 'with db.alter_table("users") as table:\n    table.drop_column("email")'
    )
    result = project.run("migrate")
    assert_one_error(result, "cannot drop users.email: index users_email_idx uses it")
    assert project.snapshot() == before


def test_a_view_of_a_view_using_a_column_by_name_does_not_stop_a_change(path: Path) -> None:
    build(
        path,
        """
        CREATE TABLE parents (id INTEGER PRIMARY KEY, name TEXT);
        CREATE VIEW v1 AS SELECT id, name FROM parents;
        CREATE VIEW v2 AS SELECT * FROM v1 WHERE id > 0;
        INSERT INTO parents VALUES (1, 'a');
        """,
    )
    alter(path, "parents", lambda table: table.add_column("extra TEXT"))
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("SELECT * FROM v2").fetchall() == [(1, "a")]
        assert [row[1] for row in connection.execute("PRAGMA table_info(parents)")] == ["id", "name", "extra"]
