"""Foreign keys during migrations: nothing deleted or orphaned behind the user's back.

Transactional migrations run with enforcement suspended (switched off before BEGIN) and
``PRAGMA foreign_key_check`` before COMMIT; a migration that relies on ON DELETE actions opts in.
"""

from __future__ import annotations

import sqlite3

import pytest
from conftest import Project, assert_one_error

PARENTS_AND_CHILDREN = """
CREATE TABLE parents (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parents(id) ON DELETE CASCADE, label TEXT);
INSERT INTO parents (id, name) VALUES (1, 'a'), (2, 'b');
INSERT INTO children (parent_id, label) VALUES (1, 'x'), (1, 'y'), (2, 'z');
"""

REBUILD_PARENTS = """
CREATE TABLE new_parents (id INTEGER PRIMARY KEY, name TEXT NOT NULL, nick TEXT NOT NULL DEFAULT '');
INSERT INTO new_parents (id, name) SELECT id, name FROM parents;
DROP TABLE parents;
ALTER TABLE new_parents RENAME TO parents;
"""


def count(project: Project, table: str) -> int:
    with project.connect() as connection:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def foreign_keys_setting(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA foreign_keys").fetchone()[0])


def test_sqlite_documented_rebuild_keeps_every_child_row(project: Project) -> None:
    project.sql("2026_01_01_000001_create", PARENTS_AND_CHILDREN)
    project.sql("2026_01_01_000002_rebuild", REBUILD_PARENTS)
    result = project.run("migrate")
    assert result.returncode == 0, result.stderr
    assert count(project, "children") == 3
    assert count(project, "parents") == 2
    with project.connect() as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(parents)")]
        assert columns == ["id", "name", "nick"]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []


def test_rebuild_in_one_run_with_the_creation_keeps_children(project: Project) -> None:
    project.sql("2026_01_01_000001_create", PARENTS_AND_CHILDREN)
    assert project.run("migrate").returncode == 0
    project.sql("2026_01_01_000002_rebuild", REBUILD_PARENTS)
    assert project.run("migrate").returncode == 0
    assert count(project, "children") == 3


def test_cascade_reliant_data_migration_is_refused_without_the_opt_in(project: Project) -> None:
    project.sql("2026_01_01_000001_create", PARENTS_AND_CHILDREN)
    assert project.run("migrate").returncode == 0
    before = project.snapshot()
    project.sql("2026_01_01_000002_delete_a", "DELETE FROM parents WHERE id = 1;")
    result = project.run("migrate")
    assert_one_error(result, "2026_01_01_000002_delete_a", "2 rows of children", "parents", "foreign_keys:on")
    assert project.snapshot() == before
    assert count(project, "children") == 3


def test_cascade_reliant_sql_migration_applies_with_the_opt_in(project: Project) -> None:
    project.sql("2026_01_01_000001_create", PARENTS_AND_CHILDREN)
    project.write(
        "2026_01_01_000002_delete_a.sql",
        "-- migrate:up foreign_keys:on\nDELETE FROM parents WHERE id = 1;\n\n-- migrate:down\n",
    )
    result = project.run("migrate")
    assert result.returncode == 0, result.stderr
    assert count(project, "children") == 1  # the cascade ran, as asked


def test_cascade_reliant_python_migration_applies_with_the_opt_in(project: Project) -> None:
    project.sql("2026_01_01_000001_create", PARENTS_AND_CHILDREN)
    project.python(
        "2026_01_01_000002_delete_a", 'db.execute("DELETE FROM parents WHERE id = 1")', extra="foreign_keys = True\n"
    )
    result = project.run("migrate")
    assert result.returncode == 0, result.stderr
    assert count(project, "children") == 1


def test_python_migration_without_opt_in_names_the_python_way_out(project: Project) -> None:
    project.sql("2026_01_01_000001_create", PARENTS_AND_CHILDREN)
    project.python("2026_01_01_000002_delete_a", 'db.execute("DELETE FROM parents WHERE id = 2")')
    result = project.run("migrate")
    assert_one_error(result, "1 row of children", "parents", "children.parent_id → parents.id", "foreign_keys = True")
    assert count(project, "children") == 3
    assert project.applied() == [("2026_01_01_000001_create", 1)]


def test_opt_in_still_refuses_a_dangling_reference(project: Project) -> None:
    """Enforced foreign keys fail the statement itself: nothing half-applied."""
    project.sql("2026_01_01_000001_create", PARENTS_AND_CHILDREN)
    assert project.run("migrate").returncode == 0
    before = project.snapshot()
    project.write(
        "2026_01_01_000002_orphan.sql",
        "-- migrate:up foreign_keys:on\nINSERT INTO children (parent_id, label) VALUES (99, 'q');\n",
    )
    assert_one_error(project.run("migrate"), "FOREIGN KEY constraint failed")
    assert project.snapshot() == before


def test_orphans_already_there_block_only_migrations_that_write_their_tables(project: Project) -> None:
    """Rows orphaned by an application writing with foreign keys off (sqlite3's default).

    A migration answers for the tables it writes and the tables referencing them: elsewhere, old
    orphans do not stop it; there, they are named as old, and fixing them is part of the migration.
    """
    project.sql("2026_01_01_000001_create", PARENTS_AND_CHILDREN + "CREATE TABLE notes (id INTEGER PRIMARY KEY);")
    assert project.run("migrate").returncode == 0
    with project.connect() as connection:  # sqlite3's default: foreign keys off
        connection.execute("INSERT INTO children (parent_id, label) VALUES (42, 'orphan')")
    project.sql(
        "2026_01_01_000002_add_note", "ALTER TABLE parents ADD COLUMN note TEXT;\nINSERT INTO notes VALUES (1);"
    )
    result = project.run("migrate")
    assert result.returncode == 0, result.stderr
    project.sql("2026_01_01_000003_delete_b", "DELETE FROM parents WHERE id = 2;")
    result = project.run("migrate")
    assert_one_error(result, "2 rows of children", "1 of those rows was already so before this migration")
    project.sql(
        "2026_01_01_000003_delete_b",
        "DELETE FROM children WHERE parent_id IN (2, 42);\nDELETE FROM parents WHERE id = 2;",
    )
    result = project.run("migrate")
    assert result.returncode == 0, result.stderr
    assert count(project, "children") == 2  # the orphan and b's child, deleted by the migration itself


def test_a_trigger_that_deletes_parents_is_seen(project: Project) -> None:
    project.sql(
        "2026_01_01_000001_create",
        PARENTS_AND_CHILDREN
        + "CREATE TABLE purge (id INTEGER);\n"
        + "CREATE TRIGGER purge_parent AFTER INSERT ON purge BEGIN DELETE FROM parents WHERE id = new.id; END;",
    )
    assert project.run("migrate").returncode == 0
    project.sql("2026_01_01_000002_purge", "INSERT INTO purge VALUES (1);")
    assert_one_error(project.run("migrate"), "2 rows of children")


def test_dropping_a_parent_table_is_caught(project: Project) -> None:
    project.sql("2026_01_01_000001_create", PARENTS_AND_CHILDREN)
    project.sql("2026_01_01_000002_drop", "DROP TABLE parents;")
    assert_one_error(project.run("migrate"), "3 rows of children")
    assert count(project, "children") == 3


def test_a_new_column_with_a_dangling_default_is_caught(project: Project) -> None:
    project.sql("2026_01_01_000001_create", PARENTS_AND_CHILDREN)
    project.sql(
        "2026_01_01_000002_owner", "ALTER TABLE children ADD COLUMN owner INTEGER REFERENCES parents(id) DEFAULT 7;"
    )
    assert_one_error(project.run("migrate"), "3 rows of children", "children.owner → parents.id")


def test_violations_from_several_tables_are_all_named(project: Project) -> None:
    project.sql(
        "2026_01_01_000001_create",
        PARENTS_AND_CHILDREN
        + "CREATE TABLE pets (id INTEGER PRIMARY KEY, owner INTEGER REFERENCES parents(id));\n"
        + "INSERT INTO pets (owner) VALUES (1);\n",
    )
    assert project.run("migrate").returncode == 0
    project.sql("2026_01_01_000002_delete", "DELETE FROM parents;")
    assert_one_error(project.run("migrate"), "3 rows of children", "1 row of pets")


def test_rollback_is_protected_too(project: Project) -> None:
    project.sql("2026_01_01_000001_create", PARENTS_AND_CHILDREN, "DROP TABLE children; DROP TABLE parents;")
    project.sql(
        "2026_01_01_000002_rebuild", REBUILD_PARENTS, REBUILD_PARENTS.replace(", nick TEXT NOT NULL DEFAULT ''", "")
    )
    assert project.run("migrate", "--step").returncode == 0
    result = project.run("migrate:rollback", "--force")
    assert result.returncode == 0, result.stderr
    assert count(project, "children") == 3


def test_setting_is_restored_after_migrations(tmp_path: object, project: Project) -> None:
    """Everything after the migration (entities, the app) sees foreign keys enforced again."""
    from kitgen.driver.sqlite import SQLiteDriver

    project.database.parent.mkdir(parents=True, exist_ok=True)
    driver = SQLiteDriver(project.database, lock_timeout=1)
    try:
        with driver.transaction(foreign_keys=False) as db:
            db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        assert foreign_keys_setting(driver.connection) == 1
        with pytest.raises(KeyboardInterrupt), driver.transaction(foreign_keys=False) as db:
            db.execute("CREATE TABLE u (id INTEGER PRIMARY KEY)")
            raise KeyboardInterrupt
        assert foreign_keys_setting(driver.connection) == 1
        assert not driver.connection.in_transaction
    finally:
        driver.close()


def test_enforcement_is_off_inside_a_migration(project: Project) -> None:
    project.python(
        "2026_01_01_000001_probe",
        'value = db.execute("PRAGMA foreign_keys").fetchone()[0]\n'
        'db.execute("CREATE TABLE probe (value INTEGER)")\n'
        'db.execute("INSERT INTO probe VALUES (?)", (value,))',
    )
    project.python(
        "2026_01_01_000002_probe_on",
        'value = db.execute("PRAGMA foreign_keys").fetchone()[0]\ndb.execute("INSERT INTO probe VALUES (?)", (value,))',
        extra="foreign_keys = True\n",
    )
    assert project.run("migrate").returncode == 0
    with project.connect() as connection:
        assert [row[0] for row in connection.execute("SELECT value FROM probe")] == [0, 1]


def test_foreign_keys_off_with_transaction_false_is_refused(project: Project) -> None:
    project.write(
        "2026_01_01_000001_x.sql", "-- migrate:up transaction:false foreign_keys:off\nCREATE TABLE t (id INTEGER);\n"
    )
    assert_one_error(project.run("migrate"), "foreign_keys:off", "transaction:false")


def test_check_replay_follows_the_same_rules(project: Project) -> None:
    """kitgen check replays with the same runner: the rebuild keeps its children there too."""
    project.sql("2026_01_01_000001_create", PARENTS_AND_CHILDREN)
    project.sql("2026_01_01_000002_rebuild", REBUILD_PARENTS)
    project.sql("2026_01_01_000003_delete_a", "DELETE FROM parents WHERE id = 1;")
    result = project.run("check")
    assert_one_error(result, "2 rows of children", code=2)


def test_a_new_child_table_with_dangling_rows_is_refused(project: Project) -> None:
    project.sql("2026_01_01_000001_create", PARENTS_AND_CHILDREN)
    project.sql(
        "2026_01_01_000002_pets",
        "CREATE TABLE pets (id INTEGER PRIMARY KEY, owner INTEGER REFERENCES parents(id));\n"
        "INSERT INTO pets (owner) VALUES (1), (9);",
    )
    assert_one_error(project.run("migrate"), "1 row of pets referencing parents rows that do not exist")
    assert "pets" not in project.tables()


def test_replace_that_deletes_a_parent_is_caught(project: Project) -> None:
    project.sql(
        "2026_01_01_000001_create",
        "CREATE TABLE parents (id INTEGER PRIMARY KEY, email TEXT UNIQUE ON CONFLICT REPLACE);\n"
        "CREATE TABLE kids (id INTEGER PRIMARY KEY, pid INT NOT NULL REFERENCES parents ON DELETE CASCADE);\n"
        "INSERT INTO parents VALUES (1, 'a@x'); INSERT INTO kids VALUES (1, 1), (2, 1);",
    )
    assert project.run("migrate").returncode == 0
    project.sql("2026_01_01_000002_seed", "INSERT INTO parents (email) VALUES ('a@x');")
    assert_one_error(project.run("migrate"), "2 rows of kids")
    project.sql("2026_01_01_000002_seed", "REPLACE INTO parents (id, email) VALUES (3, 'a@x');")
    assert_one_error(project.run("migrate"), "2 rows of kids")
    assert count(project, "kids") == 2


def test_opt_in_enforces_even_after_a_migration_switched_enforcement_off(project: Project) -> None:
    project.sql("2026_01_01_000001_create", PARENTS_AND_CHILDREN)
    project.write("2026_01_01_000002_off.sql", "-- migrate:up transaction:false\nPRAGMA foreign_keys = OFF;\n")
    project.python(
        "2026_01_01_000003_delete_a", 'db.execute("DELETE FROM parents WHERE id = 1")', extra="foreign_keys = True\n"
    )
    result = project.run("migrate")
    assert result.returncode == 0, result.stderr
    assert count(project, "children") == 1  # the cascade ran
    with project.connect() as connection:
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []


def test_a_legacy_rename_of_a_parent_is_caught(project: Project) -> None:
    project.sql("2026_01_01_000001_create", PARENTS_AND_CHILDREN)
    project.sql("2026_01_01_000002_rename", "PRAGMA legacy_alter_table = ON;\nALTER TABLE parents RENAME TO people;")
    assert_one_error(project.run("migrate"), "3 rows of children referencing parents")
    project.sql("2026_01_01_000002_rename", "ALTER TABLE parents RENAME TO people;")  # children follow the rename
    assert project.run("migrate").returncode == 0


def test_dropping_the_unique_index_behind_a_key_is_caught(project: Project) -> None:
    project.sql(
        "2026_01_01_000001_create",
        "CREATE TABLE parents (id INTEGER PRIMARY KEY, code TEXT);\n"
        "CREATE UNIQUE INDEX parents_code ON parents (code);\n"
        "CREATE TABLE kids (code TEXT REFERENCES parents (code));\nINSERT INTO parents VALUES (1, 'a');",
    )
    project.sql("2026_01_01_000002_drop_index", "DROP INDEX parents_code;")
    result = project.run("migrate")
    assert_one_error(result, "foreign key mismatch", "UNIQUE index")
    assert "OperationalError" not in result.stderr


def test_without_rowid_children_are_counted_row_by_row(project: Project) -> None:
    project.sql(
        "2026_01_01_000001_create",
        "CREATE TABLE parents (id INTEGER PRIMARY KEY);\n"
        "CREATE TABLE wk (a INT PRIMARY KEY, pid INT REFERENCES parents) WITHOUT ROWID;\n"
        "INSERT INTO parents VALUES (1), (2), (3);\nINSERT INTO wk VALUES (1, 1), (2, 1), (3, 1), (4, 2), (5, 3);",
    )
    assert project.run("migrate").returncode == 0
    with project.connect() as connection:
        connection.execute("INSERT INTO wk VALUES (9, 77)")
    project.sql("2026_01_01_000002_delete", "DELETE FROM parents WHERE id IN (1, 2);")
    assert_one_error(project.run("migrate"), "5 rows of wk", "1 of those rows was already so")


def test_a_transaction_sqlite_ended_stops_the_migration_at_once(project: Project) -> None:
    """RAISE(ROLLBACK) undoes the whole transaction: nothing may run after it, in autocommit, unchecked."""
    project.sql(
        "2026_01_01_000001_create",
        PARENTS_AND_CHILDREN
        + "CREATE TABLE ledger (id INTEGER PRIMARY KEY, amount INTEGER);\n"
        + "CREATE TRIGGER no_negative BEFORE INSERT ON ledger WHEN NEW.amount < 0 "
        + "BEGIN SELECT RAISE(ROLLBACK, 'negative amount'); END;",
    )
    assert project.run("migrate").returncode == 0
    before = project.snapshot()
    project.python(
        "2026_01_01_000002_import",
        'db.execute("DELETE FROM parents WHERE id = 1")\n'
        "for amount in [5, -1, 7]:\n"
        "    try:\n"
        '        db.execute("INSERT INTO ledger (amount) VALUES (?)", (amount,))\n'
        "    except Exception:\n"
        "        pass\n"
        'db.execute("DELETE FROM parents WHERE id = 2")',
    )
    assert_one_error(project.run("migrate"), "SQLite ended the migration's transaction")
    assert project.snapshot() == before
    assert project.applied() == [("2026_01_01_000001_create", 1)]


def test_a_legacy_rename_then_a_new_table_of_the_old_name_is_caught(project: Project) -> None:
    project.sql("2026_01_01_000001_create", PARENTS_AND_CHILDREN)
    project.sql(
        "2026_01_01_000002_swap",
        "PRAGMA legacy_alter_table = ON;\nALTER TABLE parents RENAME TO people;\n"
        "CREATE TABLE parents (id INTEGER PRIMARY KEY, name TEXT);",
    )
    assert_one_error(project.run("migrate"), "3 rows of children referencing parents")


def test_what_a_migration_sets_on_the_connection_does_not_reach_the_next(project: Project) -> None:
    project.sql("2026_01_01_000001_create", PARENTS_AND_CHILDREN)
    project.sql(
        "2026_01_01_000002_temp",
        "CREATE TEMP TABLE parents AS SELECT * FROM main.parents WHERE id = 1;\nPRAGMA ignore_check_constraints = ON;",
    )
    project.sql("2026_01_01_000003_clean", "DELETE FROM children WHERE parent_id NOT IN (SELECT id FROM parents);")
    project.sql(
        "2026_01_01_000004_check", "CREATE TABLE checked (n INTEGER CHECK (n > 0));\nINSERT INTO checked VALUES (-1);"
    )
    assert_one_error(project.run("migrate"), "CHECK constraint failed")
    assert count(project, "children") == 3  # the TEMP table of the second did not shadow parents in the third


def test_enforced_migrations_are_checked_too(project: Project) -> None:
    project.sql(
        "2026_01_01_000001_x",
        "CREATE TABLE p3 (code TEXT); CREATE UNIQUE INDEX p3u ON p3 (code);\n"
        "CREATE TABLE c3 (code TEXT REFERENCES p3 (code));\nINSERT INTO p3 VALUES ('a'); INSERT INTO c3 VALUES ('a');",
    )
    project.write("2026_01_01_000002_drop.sql", "-- migrate:up foreign_keys:on\nDROP INDEX p3u;\n")
    assert_one_error(project.run("migrate"), "foreign key mismatch")


def test_a_transaction_left_open_outside_a_transaction_is_named(project: Project) -> None:
    project.sql("2026_01_01_000001_create", PARENTS_AND_CHILDREN)
    assert project.run("migrate").returncode == 0
    project.write(
        "2026_01_01_000002_open.sql", "-- migrate:up transaction:false\nBEGIN;\nDELETE FROM children WHERE id = 3;\n"
    )
    assert_one_error(project.run("migrate"), "2026_01_01_000002_open", "left a transaction open")
    assert count(project, "children") == 3


def test_a_legacy_rebuild_that_loses_a_parent_row_is_caught_by_migrate_and_check(project: Project) -> None:
    """The rename's new name is not what SQLite's authorizer reports (it names ``parents_new``), and with
    ``legacy_alter_table`` the children still point at ``parents``, now another table with a row missing."""
    project.sql("2026_01_01_000001_create", PARENTS_AND_CHILDREN)
    project.sql(
        "2026_01_01_000002_rebuild",
        "PRAGMA legacy_alter_table = ON;\n"
        "CREATE TABLE parents_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
        "INSERT INTO parents_new SELECT id, name FROM parents WHERE id <> 1;\n"
        "ALTER TABLE parents RENAME TO parents_old;\nALTER TABLE parents_new RENAME TO parents;\nDROP TABLE parents_old;",
    )
    assert_one_error(project.run("check"), "2 rows of children referencing parents", code=2)
    assert_one_error(project.run("migrate"), "2 rows of children referencing parents")
    assert count(project, "children") == 3 and count(project, "parents") == 2


def test_a_temp_table_named_like_a_child_does_not_hide_the_child(project: Project) -> None:
    project.sql("2026_01_01_000001_create", PARENTS_AND_CHILDREN)
    project.sql(
        "2026_01_01_000002_cleanup",
        "CREATE TEMP TABLE children AS SELECT * FROM main.children;\nDELETE FROM parents WHERE id = 1;",
    )
    assert_one_error(project.run("migrate"), "2 rows of children referencing parents")


def test_what_one_migration_leaves_on_the_connection_reaches_no_later_one(project: Project) -> None:
    """A TEMP trigger on a main table, and settings that change what statements return."""
    project.sql(
        "2026_01_01_000001_a",
        "CREATE TABLE parents (id INTEGER PRIMARY KEY, name TEXT); CREATE TABLE audit (msg TEXT);\n"
        "CREATE TEMP TRIGGER noted AFTER INSERT ON main.parents BEGIN INSERT INTO audit VALUES ('fired'); END;\n"
        "PRAGMA reverse_unordered_selects = ON;\nPRAGMA trusted_schema = OFF;\nPRAGMA automatic_index = OFF;",
    )
    project.sql(
        "2026_01_01_000002_b",
        "INSERT INTO parents (name) VALUES ('x'), ('y');\n"
        "CREATE TABLE settings AS SELECT (SELECT * FROM pragma_trusted_schema) AS trusted, "
        "(SELECT * FROM pragma_automatic_index) AS automatic, (SELECT * FROM pragma_reverse_unordered_selects) AS rev;",
    )
    assert project.run("migrate").returncode == 0
    assert count(project, "audit") == 0
    with project.connect() as connection:
        assert connection.execute("SELECT trusted, automatic, rev FROM settings").fetchone() == (1, 1, 0)


def test_the_relations_a_migration_created_are_the_same_in_one_run_or_one_by_one(project: Project) -> None:
    """SQLite's own tables count: ``sqlite_sequence`` comes with the first AUTOINCREMENT table."""
    project.sql("2026_01_01_000001_posts", "CREATE TABLE posts (id INTEGER PRIMARY KEY AUTOINCREMENT);")
    tags = project.sql(
        "2026_01_01_000002_tags", "CREATE TABLE tags (id INTEGER PRIMARY KEY); CREATE TABLE tmp (x); DROP TABLE tmp;"
    )
    assert project.run("migrate", "--no-generate").returncode == 0
    with project.connect() as connection:
        together = connection.execute("SELECT name, created FROM kitgen_migrations ORDER BY id").fetchall()
    project.database.unlink()
    text = tags.read_text()
    tags.unlink()
    assert project.run("migrate", "--no-generate").returncode == 0
    tags.write_text(text)
    assert project.run("migrate", "--no-generate").returncode == 0
    with project.connect() as connection:
        apart = connection.execute("SELECT name, created FROM kitgen_migrations ORDER BY id").fetchall()
    assert together == apart
    assert '"sqlite_sequence"' in together[0][1]
