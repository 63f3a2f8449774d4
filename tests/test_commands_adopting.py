"""``kitgen init --from-database``: adopting a database kitgen never saw, through the installed script."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import engines
import pg_server
import pytest
from conftest import KITGEN, Project, assert_one_error

from kitgen.config import load_config
from kitgen.driver import open_driver
from kitgen.migrations import templates
from kitgen.migrations.sql import parse_sql_migration

SAMPLE_MIGRATIONS = Path(__file__).resolve().parent.parent / "database" / "migrations"
ADOPTED = re.compile(r"^\d{4}_\d{2}_\d{2}_\d{6}_adopt_existing_schema\.sql$")
SQLITE_LEGACY = """
CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL, updated_at INTEGER);
CREATE TABLE books (
    id INTEGER PRIMARY KEY,
    author_id INTEGER NOT NULL REFERENCES authors(id) ON DELETE CASCADE,
    title TEXT NOT NULL UNIQUE
);
CREATE INDEX books_author ON books (author_id);
CREATE VIEW author_books AS SELECT a.name, b.title FROM authors a JOIN books b ON b.author_id = a.id;
CREATE TRIGGER authors_touch AFTER UPDATE OF name ON authors BEGIN
    UPDATE authors SET updated_at = 1 WHERE id = NEW.id;
END;
INSERT INTO authors (name) VALUES ('Ada');
INSERT INTO books (author_id, title) VALUES (1, 'Notes');
"""
POSTGRES_LEGACY = """
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE authors (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    mood mood,
    updated_at timestamptz
);
CREATE TABLE books (
    id serial PRIMARY KEY,
    author_id bigint NOT NULL REFERENCES authors(id) ON DELETE CASCADE,
    title text NOT NULL UNIQUE
);
CREATE INDEX books_author ON books (author_id);
CREATE VIEW author_books AS SELECT a.name, b.title FROM authors a JOIN books b ON b.author_id = a.id;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    NEW.updated_at := now();  -- a ; inside dollar quotes
    RETURN NEW;
END;
$body$;
CREATE TRIGGER authors_touch BEFORE UPDATE ON authors FOR EACH ROW EXECUTE FUNCTION touch();
INSERT INTO authors (name, mood) VALUES ('Ada', 'happy');
INSERT INTO books (author_id, title) VALUES (1, 'Notes');
"""


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result


def dump_of(database: str) -> str:
    """The schema's script as the driver writes it (``Driver.dump_schema``)."""
    config = load_config(cwd=Path("/"), options={"database": database}, environ={})
    driver = open_driver(config.database, lock_timeout=5, readonly=True)
    try:
        return driver.dump_schema()
    finally:
        driver.close()


def run_script(engine: engines.Engine, script: str) -> None:
    if engine.name == "sqlite":
        import sqlite3

        Path(engine.database).parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(engine.database)
        connection.executescript(script)
        connection.close()
    else:
        engine.query(script)


def legacy_database(project: Project) -> None:
    """A database with foreign keys, a view and a trigger, made by hand (kitgen never saw it)."""
    run_script(project.engine, SQLITE_LEGACY if project.engine.name == "sqlite" else POSTGRES_LEGACY)


def sample_app_database(project: Project, tmp_path: Path) -> None:
    """The repository's sample app built by kitgen from its own migrations, its tracking table then removed."""
    builder = tmp_path / "builder"
    shutil.copytree(SAMPLE_MIGRATIONS, builder / "database" / "migrations")
    engines.configure(builder, project.engine)
    ok(subprocess.run([KITGEN, "migrate", "--no-generate"], cwd=builder, capture_output=True, text=True, timeout=120))
    project.engine.query("DROP TABLE kitgen_migrations")


@pytest.fixture
def other_database(engine_project: Project, request: pytest.FixtureRequest) -> Iterator[str]:
    """Where a fresh database is built from the project's files: a new file, or a new database on the server."""
    if engine_project.engine.name == "sqlite":
        yield str(engine_project.root / "database" / "fresh.sqlite")
        return
    server = request.getfixturevalue("postgres_server")
    name = pg_server.new_database_name()
    yield server.url(name)
    engines.Engine("postgresql", server.url()).query(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def adopt(project: Project) -> subprocess.CompletedProcess[str]:
    return project.run("init", "--from-database", "--database", project.engine.database)


def migration_files(project: Project) -> list[Path]:
    return sorted(path for path in project.migrations.iterdir() if not path.name.startswith("."))


def nothing_written(project: Project, pyproject: bytes) -> None:
    assert migration_files(project) == []
    assert (project.root / "pyproject.toml").read_bytes() == pyproject
    assert project.engine.applied() == []


# --- adopting: both engines ----------------------------------------------------------------------------


@pytest.mark.parametrize("origin", ["sample app", "hand-made"])
def test_adoption_writes_one_migration_recorded_as_applied_that_rebuilds_the_same_schema(
    engine_project: Project, other_database: str, tmp_path: Path, origin: str
) -> None:
    project = engine_project
    if origin == "sample app":
        sample_app_database(project, tmp_path)
    else:
        legacy_database(project)
    before = project.engine.dump()
    original = dump_of(project.engine.database)

    result = ok(adopt(project))

    [migration] = migration_files(project)
    assert ADOPTED.match(migration.name), migration.name
    assert project.engine.applied() == [(migration.stem, 1)]
    assert project.engine.dump() == before  # nothing of it ran: rows and tables as they were
    assert f"Wrote {project.config().display(migration)}" in result.stdout
    assert f"Recorded it as applied on {project.engine.database}" in result.stdout
    assert "Wrote app/entities/" in result.stdout
    assert ok(project.run("check")).stdout.strip().endswith("ok.")
    ok(project.run("migrate", "--database", other_database, "--no-generate"))
    assert dump_of(other_database) == original


def test_the_migration_is_the_dump_and_the_drop_script(engine_project: Project) -> None:
    legacy_database(engine_project)
    original = dump_of(engine_project.engine.database)
    ok(adopt(engine_project))
    [migration] = migration_files(engine_project)
    parsed = parse_sql_migration(migration.read_text(encoding="utf-8"), migration)
    assert parsed.up.text.strip() == original.strip()
    assert parsed.up.transactional and parsed.model is None
    assert parsed.down is not None and "DROP TABLE IF EXISTS" in parsed.down.text


def test_later_migrations_work_as_usual(engine_project: Project) -> None:
    legacy_database(engine_project)
    ok(adopt(engine_project))
    created = ok(engine_project.run("make:migration", "create_tags_table", "--sql")).stdout
    assert "create_tags_table.sql" in created
    ok(engine_project.run("migrate"))
    assert [batch for _, batch in engine_project.engine.applied()] == [1, 2]
    assert "tags" in engine_project.engine.tables()
    assert (engine_project.entities / "tag.py").exists()
    assert ok(engine_project.run("check")).returncode == 0


def test_rolling_the_adoption_back_on_a_copy_drops_the_whole_schema(
    engine_project: Project, other_database: str
) -> None:
    legacy_database(engine_project)
    ok(adopt(engine_project))
    copy = ["--database", other_database]
    ok(engine_project.run("migrate", *copy, "--no-generate"))
    engines.Engine(engine_project.engine.name, other_database).query(
        "INSERT INTO authors (name) VALUES ('Grace')"
    )  # rows, and references to them: the down drops them all the same
    ok(engine_project.run("migrate:rollback", "--force", *copy, env={"KITGEN_GENERATE": "false"}))
    leftover = dump_of(other_database)
    assert "CREATE" not in leftover, leftover
    assert engines.Engine(engine_project.engine.name, other_database).tables() == ["kitgen_migrations"]
    ok(engine_project.run("migrate", *copy, "--no-generate"))  # and up again
    assert dump_of(other_database) == dump_of(engine_project.engine.database)


# --- refusals: nothing written, nothing recorded --------------------------------------------------------


def test_a_database_that_does_not_exist_is_refused(engine_project: Project, other_database: str) -> None:
    pyproject = (engine_project.root / "pyproject.toml").read_bytes()
    failed = engine_project.run("init", "--from-database", "--database", other_database)
    assert_one_error(failed, "does not exist", "nothing was written")
    nothing_written(engine_project, pyproject)
    if engine_project.engine.name == "sqlite":
        assert not Path(other_database).exists()
    else:  # not created on the way
        server, _, name = other_database.rpartition("/")
        found = engines.Engine("postgresql", f"{server}/postgres").query(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        )
        assert found == []


def test_a_database_without_tables_is_refused(engine_project: Project) -> None:
    if engine_project.engine.name == "sqlite":  # an empty file; the server's database is empty already
        run_script(engine_project.engine, "PRAGMA user_version = 1;")
    pyproject = (engine_project.root / "pyproject.toml").read_bytes()
    assert_one_error(adopt(engine_project), "no table or view to adopt", "nothing was written")
    nothing_written(engine_project, pyproject)


def test_a_database_kitgen_already_migrated_is_refused(engine_project: Project) -> None:
    engine_project.create_table("2026_01_01_000001_create_users_table", "users")
    ok(engine_project.run("migrate"))
    moved = engine_project.root / "elsewhere"
    shutil.move(engine_project.migrations, moved)
    engine_project.migrations.mkdir()
    failed = adopt(engine_project)
    assert_one_error(failed, "already has 1 kitgen migration applied", "nothing was written")
    assert migration_files(engine_project) == []
    assert engine_project.engine.applied() == [("2026_01_01_000001_create_users_table", 1)]


def test_a_project_with_migrations_is_refused(engine_project: Project) -> None:
    legacy_database(engine_project)
    engine_project.create_table("2026_01_01_000001_create_users_table", "users")
    pyproject = (engine_project.root / "pyproject.toml").read_bytes()
    failed = adopt(engine_project)
    assert_one_error(failed, "already has 1 migration file", "must be the first migration")
    assert [path.name for path in migration_files(engine_project)] == ["2026_01_01_000001_create_users_table.sql"]
    assert (engine_project.root / "pyproject.toml").read_bytes() == pyproject
    assert engine_project.engine.applied() == []


def test_a_failed_recording_leaves_no_migration_file(project: Project) -> None:
    """The tracking row cannot be written (a trigger refuses it): the file linked in the same transaction goes."""
    legacy_database(project)
    from kitgen.driver.sqlite import TRACKING_DDL

    run_script(
        project.engine,
        f"{TRACKING_DDL};\nCREATE TRIGGER refuse BEFORE INSERT ON kitgen_migrations "
        "BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END;",
    )
    failed = adopt(project)
    assert_one_error(failed, "refused by a trigger")
    assert migration_files(project) == []
    assert project.engine.applied() == []


def test_a_schema_line_that_reads_as_a_section_marker_is_refused(project: Project) -> None:
    """SQLite keeps the comments of a CREATE statement: one that reads as ``-- migrate:down`` would cut the file."""
    run_script(project.engine, "CREATE TABLE notes (\n    id INTEGER PRIMARY KEY\n-- migrate:down\n);")
    pyproject = (project.root / "pyproject.toml").read_bytes()
    assert_one_error(adopt(project), "section marker", "nothing was written")
    nothing_written(project, pyproject)


def test_the_adoption_text_reads_back_as_its_two_sections() -> None:
    schema = "CREATE TABLE a (id INTEGER PRIMARY KEY);\n\nCREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; END;\n"
    text = templates.render_adoption(schema, 'DROP TABLE IF EXISTS "a";\n')
    parsed = parse_sql_migration(text, Path("x.sql"))
    assert parsed.up.text.strip() == schema.strip()
    assert parsed.down is not None and parsed.down.text.strip() == 'DROP TABLE IF EXISTS "a";'


def test_a_shadow_database_rehearses_the_adoption_and_is_left_empty(pg_url: str, project: Project) -> None:
    project.engine = engines.Engine("postgresql", pg_url)
    engines.configure(project.root, project.engine)
    legacy_database(project)
    server, _, _ = pg_url.rpartition("/")
    shadow = engines.Engine("postgresql", f"{server}/{pg_server.new_database_name()}")
    engines.Engine("postgresql", f"{server}/postgres").query(f'CREATE DATABASE "{shadow.database.rpartition("/")[2]}"')
    try:
        ok(project.run("init", "--from-database", env={"KITGEN_SHADOW_DATABASE": shadow.database}))
        assert shadow.tables() == []
        assert len(project.engine.applied()) == 1
    finally:
        engines.Engine("postgresql", f"{server}/postgres").query(
            f'DROP DATABASE IF EXISTS "{shadow.database.rpartition("/")[2]}" WITH (FORCE)'
        )
