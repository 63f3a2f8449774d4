"""Real SQLite schemas → the intermediate model: ``build_schema(read_schema(connection))``."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from entity_helpers import column, odd_schema, schema_from_sql, schema_of, table

from kitgen.driver.base import TRACKING_TABLE, AppliedMigration
from kitgen.driver.sqlite import SQLiteDriver
from kitgen.driver.sqlite_schema import read_schema
from kitgen.schema.introspect import build_schema, introspect_schema, origins
from kitgen.schema.model import Column, ForeignKey, Schema, Table, stable_repr


def applied(name: str, created: tuple[str, ...], model: str | None = None) -> AppliedMigration:
    return AppliedMigration(name, 1, "c", "r", "source", "sql", True, model, "2026-01-01T00:00:00+00:00", created)


# --- nullability and primary keys ------------------------------------------------------------


def test_nullability_follows_not_null_and_the_integer_primary_key() -> None:
    schema = schema_from_sql(
        """
        CREATE TABLE t (
            id INTEGER PRIMARY KEY,
            required TEXT NOT NULL,
            optional TEXT,
            defaulted INTEGER NOT NULL DEFAULT 0,
            untyped
        );
        """
    )
    assert [(c.name, c.nullable, c.not_null) for c in table(schema, "t").columns] == [
        ("id", False, True),  # INTEGER PRIMARY KEY: the rowid, never NULL
        ("required", False, True),
        ("optional", True, False),
        ("defaulted", False, True),
        ("untyped", True, False),
    ]


def test_integer_primary_key_as_a_table_constraint_and_in_lower_case() -> None:
    schema = schema_from_sql(
        """
        CREATE TABLE a (id INTEGER, x TEXT, PRIMARY KEY (id));
        CREATE TABLE b (id integer primary key autoincrement, x TEXT);
        """
    )
    for name in ("a", "b"):
        assert table(schema, name).primary_key == ("id",)
        assert column(schema, name, "id").nullable is False
        assert column(schema, name, "id").primary_key == 1


def test_text_and_int_primary_keys_are_not_rowid_aliases() -> None:
    # SQLite lets a non-INTEGER primary key column of a rowid table hold NULL.
    schema = schema_from_sql(
        """
        CREATE TABLE t (code TEXT PRIMARY KEY, x TEXT);
        CREATE TABLE i (n INT PRIMARY KEY, x TEXT);
        CREATE TABLE n (code TEXT NOT NULL PRIMARY KEY);
        """
    )
    assert table(schema, "t").primary_key == ("code",)
    assert column(schema, "t", "code").nullable is True
    assert column(schema, "i", "n").nullable is True
    assert column(schema, "n", "code").nullable is False


def test_integer_primary_key_desc_is_not_a_rowid_alias() -> None:
    # SQLite's documented quirk: "INTEGER PRIMARY KEY DESC" does not alias the rowid, so NULL can be stored.
    connection = sqlite3.connect(":memory:")
    connection.executescript("CREATE TABLE d (id INTEGER PRIMARY KEY DESC, x TEXT); INSERT INTO d VALUES (NULL, 'x');")
    assert connection.execute("SELECT id FROM d").fetchall() == [(None,)]
    assert column(schema_of(connection), "d", "id").nullable is True


def test_without_rowid_primary_keys_are_not_null() -> None:
    schema = schema_from_sql("CREATE TABLE w (code TEXT PRIMARY KEY, n INTEGER) WITHOUT ROWID;")
    assert column(schema, "w", "code").nullable is False
    assert column(schema, "w", "n").nullable is True


def test_compound_primary_key_positions() -> None:
    schema = schema_from_sql(
        """
        CREATE TABLE m (
            role TEXT,
            item_id INTEGER NOT NULL,
            owner_id INTEGER,
            PRIMARY KEY (owner_id, item_id)
        );
        """
    )
    m = table(schema, "m")
    assert [(c.name, c.primary_key) for c in m.columns] == [("role", 0), ("item_id", 2), ("owner_id", 1)]
    assert m.primary_key == ("owner_id", "item_id")  # in key order, not column order
    # No rowid alias in a compound key: INTEGER columns are nullable unless NOT NULL.
    assert column(schema, "m", "owner_id").nullable is True
    assert column(schema, "m", "item_id").nullable is False


def test_table_without_primary_key() -> None:
    schema = schema_from_sql("CREATE TABLE log (line TEXT);")
    assert table(schema, "log").primary_key == ()


# --- unique ----------------------------------------------------------------------------------


def test_single_column_unique_constraints_and_indexes() -> None:
    schema = schema_from_sql(
        """
        CREATE TABLE u (
            id INTEGER PRIMARY KEY UNIQUE,
            email TEXT NOT NULL UNIQUE,
            code TEXT,
            handle TEXT,
            nick TEXT,
            plain TEXT
        );
        CREATE UNIQUE INDEX u_code ON u (code);
        CREATE UNIQUE INDEX u_handle_partial ON u (handle) WHERE handle IS NOT NULL;
        CREATE UNIQUE INDEX u_nick_lower ON u (lower(nick));
        CREATE INDEX u_plain ON u (plain);
        """
    )
    assert {c.name: c.unique for c in table(schema, "u").columns} == {
        "id": False,  # the primary key is not also reported as unique
        "email": True,
        "code": True,
        "handle": False,  # a partial index does not make the column unique
        "nick": False,  # nor does an expression index
        "plain": False,
    }
    assert table(schema, "u").unique_together == ()


def test_multi_column_unique_goes_to_unique_together() -> None:
    schema = schema_from_sql(
        """
        CREATE TABLE s (
            id INTEGER PRIMARY KEY,
            a TEXT, b TEXT, c TEXT, d TEXT,
            UNIQUE (b, a)
        );
        CREATE UNIQUE INDEX s_dc ON s (d, c);
        """
    )
    s = table(schema, "s")
    assert sorted(s.unique_together) == [("b", "a"), ("d", "c")]  # index column order kept
    assert s.unique_together == tuple(sorted(s.unique_together))
    assert not any(c.unique for c in s.columns)


# --- foreign keys ----------------------------------------------------------------------------


def test_foreign_keys_with_actions() -> None:
    schema = schema_from_sql(
        """
        CREATE TABLE owners (id INTEGER PRIMARY KEY, code TEXT UNIQUE);
        CREATE TABLE pets (
            id INTEGER PRIMARY KEY,
            owner_id INTEGER NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
            owner_code TEXT REFERENCES owners (code) ON DELETE SET NULL ON UPDATE CASCADE,
            vet_id INTEGER REFERENCES owners,
            name TEXT
        );
        """
    )
    assert column(schema, "pets", "owner_id").foreign_key == ForeignKey("owners", "id", "CASCADE", "NO ACTION")
    assert column(schema, "pets", "owner_code").foreign_key == ForeignKey("owners", "code", "SET NULL", "CASCADE")
    assert column(schema, "pets", "vet_id").foreign_key == ForeignKey("owners", None)  # the target's primary key
    assert column(schema, "pets", "name").foreign_key is None
    assert all(c.foreign_key is None for c in table(schema, "owners").columns)


def test_compound_foreign_key_maps_each_column() -> None:
    schema = schema_from_sql(
        """
        CREATE TABLE parent (a INTEGER, b INTEGER, PRIMARY KEY (a, b));
        CREATE TABLE child (x INTEGER, y INTEGER, FOREIGN KEY (x, y) REFERENCES parent (a, b) ON DELETE RESTRICT);
        """
    )
    assert column(schema, "child", "x").foreign_key == ForeignKey("parent", "a", "RESTRICT")
    assert column(schema, "child", "y").foreign_key == ForeignKey("parent", "b", "RESTRICT")


# --- defaults and generated columns ----------------------------------------------------------


def test_defaults_as_written() -> None:
    schema = schema_from_sql(
        """
        CREATE TABLE d (
            a TEXT DEFAULT 'it''s',
            b INTEGER DEFAULT -1,
            c REAL DEFAULT 1.5e3,
            e DATETIME DEFAULT CURRENT_TIMESTAMP,
            f TEXT DEFAULT (datetime('now', 'localtime')),
            g BLOB DEFAULT x'00ff',
            h TEXT DEFAULT NULL,
            i TEXT
        );
        """
    )
    assert {c.name: c.default for c in table(schema, "d").columns} == {
        "a": "'it''s'",
        "b": "-1",
        "c": "1.5e3",
        "e": "CURRENT_TIMESTAMP",
        "f": "datetime('now', 'localtime')",
        "g": "x'00ff'",
        "h": "NULL",
        "i": None,
    }


def test_generated_columns() -> None:
    schema = schema_from_sql(
        """
        CREATE TABLE g (
            a INTEGER NOT NULL,
            doubled INTEGER GENERATED ALWAYS AS (a * 2) STORED,
            label TEXT AS ('#' || a),
            loose GENERATED ALWAYS AS (a) VIRTUAL,
            b TEXT
        );
        """
    )
    g = table(schema, "g")
    assert [c.name for c in g.columns] == ["a", "doubled", "label", "loose", "b"]  # in column order
    assert {c.name: c.generated for c in g.columns} == {
        "a": False,
        "doubled": True,
        "label": True,
        "loose": True,
        "b": False,
    }
    assert column(schema, "g", "doubled").kind == "int"
    assert column(schema, "g", "label").kind == "str"
    assert column(schema, "g", "loose").kind == "any"


# --- views -----------------------------------------------------------------------------------


def test_views_take_declared_types_and_expressions_are_any() -> None:
    schema = schema_from_sql(
        """
        CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, born DATE, score REAL);
        CREATE VIEW user_summaries AS
            SELECT id, name, born, score, name || '!' AS shout, CAST(score AS INTEGER) AS rounded, 1 AS one
            FROM users;
        """
    )
    view = table(schema, "user_summaries")
    assert view.kind == "view"
    assert table(schema, "users").kind == "table"
    assert [(c.name, c.declared_type, c.kind) for c in view.columns] == [
        ("id", "INTEGER", "int"),
        ("name", "TEXT", "str"),
        ("born", "DATE", "date"),
        ("score", "REAL", "float"),
        ("shout", "", "any"),
        ("rounded", "", "any"),
        ("one", "", "any"),
    ]
    assert view.primary_key == ()
    assert all(c.nullable for c in view.columns)  # SQLite reports no NOT NULL for view columns


# --- what is left out ------------------------------------------------------------------------


def test_fts5_shadow_tables_are_skipped_but_similar_names_are_kept() -> None:
    connection = sqlite3.connect(":memory:")
    connection.executescript(
        """
        CREATE VIRTUAL TABLE docs USING fts5(title, body);
        CREATE TABLE docs_archive (id INTEGER PRIMARY KEY, body TEXT);
        CREATE TABLE docs_vocab (term TEXT);
        CREATE TABLE notes_data (id INTEGER PRIMARY KEY);
        """
    )
    in_master = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"docs_data", "docs_idx", "docs_content", "docs_docsize", "docs_config"} <= in_master
    schema = schema_of(connection)
    assert [t.name for t in schema.tables] == ["docs", "docs_archive", "docs_vocab", "notes_data"]
    assert [(c.name, c.kind) for c in table(schema, "docs").columns] == [("title", "any"), ("body", "any")]


def test_rtree_shadow_tables_are_skipped() -> None:
    connection = sqlite3.connect(":memory:")
    try:
        connection.execute("CREATE VIRTUAL TABLE boxes USING rtree(id, min_x, max_x)")
    except sqlite3.OperationalError:
        pytest.skip("SQLite built without rtree")
    assert [t.name for t in schema_of(connection).tables] == ["boxes"]


def test_internal_tables_are_skipped() -> None:
    connection = sqlite3.connect(":memory:")
    connection.executescript(
        f"""
        CREATE TABLE {TRACKING_TABLE} (id INTEGER PRIMARY KEY, name TEXT);
        CREATE TABLE counters (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER);
        INSERT INTO counters (n) VALUES (1);
        CREATE INDEX counters_n ON counters (n);
        ANALYZE;
        CREATE TABLE sqlitex (id INTEGER PRIMARY KEY);
        CREATE TABLE kitgen_migrations_old (id INTEGER PRIMARY KEY);
        """
    )
    in_master = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"sqlite_sequence", "sqlite_stat1", TRACKING_TABLE} <= in_master
    raw = read_schema(connection)
    assert [name for name, _ in raw.relations] == ["counters", "kitgen_migrations_old", "sqlitex"]
    assert {c.table for c in raw.columns} == {"counters", "kitgen_migrations_old", "sqlitex"}


def test_empty_database() -> None:
    assert schema_from_sql("") == Schema(())


def test_tables_are_sorted_by_name_and_columns_keep_their_order() -> None:
    schema = schema_from_sql(
        """
        CREATE TABLE zebra (z TEXT, a TEXT, m TEXT);
        CREATE VIEW alpha AS SELECT m, z FROM zebra;
        CREATE TABLE Middle (id INTEGER PRIMARY KEY);
        """
    )
    assert [t.name for t in schema.tables] == sorted(["zebra", "alpha", "Middle"])
    assert [c.name for c in table(schema, "zebra").columns] == ["z", "a", "m"]


def test_odd_names_survive_exactly() -> None:
    schema = schema_from_sql(
        'CREATE TABLE "table/with/slashes.csv" ("my column" TEXT, "class" INTEGER, "naïve ""quoted""" TEXT);'
        'CREATE TABLE "select" ("from" TEXT);'
    )
    assert [t.name for t in schema.tables] == ["select", "table/with/slashes.csv"]
    assert [c.name for c in table(schema, "table/with/slashes.csv").columns] == [
        "my column",
        "class",
        'naïve "quoted"',
    ]


def test_build_schema_builds_the_whole_model() -> None:
    schema = schema_from_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT 'x' UNIQUE);")
    assert schema == Schema(
        (
            Table(
                name="t",
                kind="table",
                columns=(
                    Column("id", "INTEGER", "int", nullable=False, not_null=True, primary_key=1, rowid=True),
                    Column("name", "TEXT", "str", nullable=False, not_null=True, default="'x'", unique=True),
                ),
                sql="CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT 'x' UNIQUE)",
            ),
        )
    )


@pytest.mark.parametrize(
    ("sql", "rowid"),
    [
        ("CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT)", "id"),
        ("CREATE TABLE t (id integer primary key autoincrement, x TEXT)", "id"),
        ("CREATE TABLE t (id INTEGER, x TEXT, PRIMARY KEY (id))", "id"),
        ("CREATE TABLE t (id INTEGER PRIMARY KEY DESC, x TEXT)", None),  # an index of its own
        ("CREATE TABLE t (id INT PRIMARY KEY, x TEXT)", None),  # INT is not INTEGER
        ("CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT) WITHOUT ROWID", None),
        ("CREATE TABLE t (a INTEGER, b INTEGER, PRIMARY KEY (a, b))", None),
    ],
)
def test_only_the_column_that_aliases_the_rowid_is_marked_as_assigned_by_sqlite(sql: str, rowid: str | None) -> None:
    [table] = schema_from_sql(sql + ";").tables
    assert [column.name for column in table.columns if column.rowid] == ([rowid] if rowid else [])
    assert table.sql == sql


# --- origins ---------------------------------------------------------------------------------


def test_origins_one_table_per_migration_gets_the_model() -> None:
    rows = [
        applied("2026_01_01_000001_create_users_table", ("users",), "Member"),
        applied("2026_01_01_000002_add_posts", ("posts",)),
        applied("2026_01_01_000003_add_index", ()),
    ]
    assert origins(rows) == {
        "users": ("2026_01_01_000001_create_users_table", "Member"),
        "posts": ("2026_01_01_000002_add_posts", None),
    }


def test_origins_several_tables_model_goes_to_the_one_the_name_is_about() -> None:
    rows = [applied("2026_01_01_000001_create_users_table", ("user_roles", "users", "roles"), "Member")]
    assert origins(rows) == {
        "user_roles": ("2026_01_01_000001_create_users_table", None),
        "users": ("2026_01_01_000001_create_users_table", "Member"),
        "roles": ("2026_01_01_000001_create_users_table", None),
    }


def test_origins_several_tables_and_no_name_match_gives_no_model() -> None:
    rows = [applied("2026_01_01_000001_initial", ("users", "roles"), "Member")]
    assert origins(rows) == {
        "users": ("2026_01_01_000001_initial", None),
        "roles": ("2026_01_01_000001_initial", None),
    }


def test_origins_a_later_migration_that_recreates_a_table_wins() -> None:
    rows = [
        applied("2026_01_01_000001_create_users_table", ("users",), "Member"),
        applied("2026_01_01_000002_rebuild_users", ("users",), "Account"),
    ]
    assert origins(rows) == {"users": ("2026_01_01_000002_rebuild_users", "Account")}


def test_origins_reach_the_model_and_unknown_tables_have_none() -> None:
    connection = sqlite3.connect(":memory:")
    connection.executescript(
        "CREATE TABLE users (id INTEGER PRIMARY KEY); CREATE TABLE legacy (id INTEGER PRIMARY KEY);"
    )
    found = origins([applied("2026_01_01_000001_create_users_table", ("users",), "Member")])
    schema = build_schema(read_schema(connection), None, found)
    assert (table(schema, "users").created_by, table(schema, "users").model) == (
        "2026_01_01_000001_create_users_table",
        "Member",
    )
    assert (table(schema, "legacy").created_by, table(schema, "legacy").model) == (None, None)


def test_introspect_schema_through_the_driver(tmp_path: Path) -> None:
    driver = SQLiteDriver(tmp_path / "db.sqlite", lock_timeout=1)
    try:
        driver.ensure_tracking_table()
        with driver.transaction() as db:
            db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, meta TEXT)")
            db.execute("CREATE VIEW emails AS SELECT email FROM users")
            driver.record_applied(db, applied("2026_01_01_000001_create_users_table", ("users", "emails"), "Member"))
        schema = introspect_schema(driver, {"users.meta": "json"})
    finally:
        driver.close()
    assert [t.name for t in schema.tables] == ["emails", "users"]  # the tracking table is left out
    users = table(schema, "users")
    assert (users.created_by, users.model) == ("2026_01_01_000001_create_users_table", "Member")
    assert table(schema, "emails").created_by == "2026_01_01_000001_create_users_table"
    assert table(schema, "emails").model is None
    assert column(schema, "users", "meta").kind == "json"
    assert column(schema, "users", "email").unique is True


def test_stable_repr_leaves_out_the_fields_other_engines_set_while_at_their_defaults() -> None:
    """So a SQLite entity's definition hash is what it was before those fields existed."""
    added = r", (?:element|enum|identity|base_type|variant)=''|, (?:comment)=None|, checks=\(\)"
    schema = odd_schema()
    assert [stable_repr(found) for found in schema.tables] == [
        re.sub(added, "", repr(found)) for found in schema.tables
    ]
    commented = Column("id", "integer", "int", nullable=False, comment="The key.")
    assert stable_repr(commented).endswith("rowid=False, comment='The key.')")
