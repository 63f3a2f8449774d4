"""``kitgen schema:dump``: the schema file, loading it, pruning, and the rollback floor, on both engines."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pg_server
import pytest
from conftest import Project, assert_one_error, run_on_terminal

from kitgen.driver import open_driver
from kitgen.driver.url import parse_database
from kitgen.schema.introspect import introspect_schema
from kitgen.schema.model import Schema

USERS = "2026_01_01_000001_create_users"
POSTS = "2026_01_01_000002_create_posts"
BIO = "2026_01_01_000003_add_bio"


def trigger(engine: str, table: str, name: str) -> str:
    """A trigger stamping ``touched`` on insert, in the engine's words."""
    if engine == "sqlite":
        return (
            f"CREATE TRIGGER {name} AFTER INSERT ON {table} BEGIN "
            f"UPDATE {table} SET touched = 1 WHERE id = new.id; END;"
        )
    return (
        f"CREATE FUNCTION {name}_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.touched := 1; RETURN NEW; "
        f"END $$;\nCREATE TRIGGER {name} BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION {name}_fn();"
    )


def blog(project: Project) -> None:
    """Users, posts with a foreign key, an index, a view and a trigger; then a column added."""
    engine = project.engine
    project.sql(
        USERS,
        f"CREATE TABLE users ({engine.key}, email TEXT NOT NULL UNIQUE, touched INTEGER);\n"
        + trigger(engine.name, "users", "users_touch"),
        "DROP TABLE users;",
    )
    project.sql(
        POSTS,
        f"CREATE TABLE posts ({engine.key}, user_id INTEGER NOT NULL REFERENCES users(id), title TEXT NOT NULL);\n"
        "CREATE INDEX posts_user ON posts (user_id);\n"
        "CREATE VIEW titles AS SELECT posts.title, users.email FROM posts JOIN users ON users.id = posts.user_id;",
        "DROP VIEW titles;\nDROP TABLE posts;",
    )
    project.sql(BIO, "ALTER TABLE users ADD COLUMN bio TEXT;", "ALTER TABLE users DROP COLUMN bio;")


@contextlib.contextmanager
def other_database(project: Project) -> Iterator[str]:
    """A second database of the project's engine, not created yet: a teammate's clone, a CI database."""
    if project.engine.name == "sqlite":
        yield str(project.root / "database" / "other.sqlite")
        return
    import psycopg

    server = project.engine.database.rsplit("/", 1)[0]
    name = pg_server.new_database_name()
    yield f"{server}/{name}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def schema_of(project: Project, database: str) -> tuple[str, Schema]:
    """The database's schema as its driver dumps it, and as introspection reads it."""
    driver = open_driver(parse_database(database, project.root), lock_timeout=5)
    try:
        return driver.dump_schema(), introspect_schema(driver, {})
    finally:
        driver.close()


def schema_file(project: Project) -> Path:
    return project.root / "database" / "schema.sql"


def test_two_dumps_are_byte_identical_and_a_dump_loads_into_the_same_schema(engine_project: Project) -> None:
    project = engine_project
    blog(project)
    assert project.run("migrate").returncode == 0
    written = project.run("schema:dump")
    assert written.returncode == 0, written.stderr
    assert written.stdout == "Wrote database/schema.sql (3 migrations).\n"
    first = schema_file(project).read_bytes()
    again = project.run("schema:dump")
    assert again.stdout == "Unchanged: database/schema.sql (3 migrations).\n"
    assert schema_file(project).read_bytes() == first
    text = first.decode()
    assert (
        "Dumped" not in text and "\\restrict" not in text and "kitgen_migrations (" not in text.split("-- kitgen:")[0]
    )
    with other_database(project) as other:
        loaded = project.run("migrate", "--database", other)
        assert loaded.returncode == 0, loaded.stderr
        assert "Loaded database/schema.sql (3 migrations)" in loaded.stdout
        assert "Applying" not in loaded.stdout
        assert schema_of(project, other) == schema_of(project, project.engine.database)
        redumped = project.run("schema:dump", "--database", other)
        assert redumped.stdout == "Unchanged: database/schema.sql (3 migrations).\n", redumped.stderr


def test_a_dump_orders_objects_by_kind_and_name_and_lists_its_migrations(project: Project) -> None:
    blog(project)
    project.run("migrate")
    project.run("schema:dump")
    text = schema_file(project).read_text()
    creates = [line.split(" (")[0].split(" ON ")[0] for line in text.splitlines() if line.startswith("CREATE")]
    assert creates == [
        "CREATE TABLE posts",
        "CREATE TABLE users",
        "CREATE INDEX posts_user",
        "CREATE VIEW titles AS SELECT posts.title, users.email FROM posts JOIN users",
        "CREATE TRIGGER users_touch AFTER INSERT",
    ]
    rows = text.split("-- kitgen: the migrations this schema contains")[1].splitlines()[2:-1]
    assert [row.split("'")[1] for row in rows] == [USERS, POSTS, BIO]
    assert rows[0].endswith("'sql', 1, NULL, '[\"users\"]', '3'),")
    assert rows[1].endswith("'[\"posts\", \"titles\"]', '3'),")
    assert rows[2].endswith(";")
    assert re.fullmatch(
        r"-- kitgen: checksum [0-9a-f]{64} \(of the text above: an edit by hand is refused\)", text.splitlines()[-1]
    )


def test_loading_then_migrating_applies_only_the_newer_migrations(engine_project: Project) -> None:
    project = engine_project
    blog(project)
    project.run("migrate")
    project.run("schema:dump")
    project.sql("2026_01_01_000004_add_slug", "ALTER TABLE posts ADD COLUMN slug TEXT;", "SELECT 1;")
    assert project.run("migrate").returncode == 0
    with other_database(project) as other:
        result = project.run("migrate", "--database", other)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert lines[0].startswith("Loading schema.sql … done (batch 0")
        assert lines[1].startswith("Applying 2026_01_01_000004_add_slug … done (batch 1")
        assert lines[2].startswith("Loaded database/schema.sql (3 migrations) in ")
        assert lines[3].startswith("Applied 1 migration in ")
        assert schema_of(project, other) == schema_of(project, project.engine.database)
        status = project.run("migrate:status", "--database", other)
        assert re.search(rf"{USERS}\s+applied \(batch 0\)", status.stdout)
        assert re.search(r"add_slug\s+applied \(batch 1\)", status.stdout)


def test_a_database_with_a_migration_applied_never_loads_the_dump(engine_project: Project) -> None:
    project = engine_project
    blog(project)
    project.run("migrate")
    project.run("schema:dump")
    with other_database(project) as other:
        schema_file(project).rename(project.root / "schema.sql")  # a teammate migrated before the dump came
        (project.migrations / f"{POSTS}.sql").rename(project.root / "posts.sql")
        (project.migrations / f"{BIO}.sql").rename(project.root / "bio.sql")
        assert project.run("migrate", "--database", other, "--no-generate").returncode == 0
        (project.root / "posts.sql").rename(project.migrations / f"{POSTS}.sql")
        (project.root / "bio.sql").rename(project.migrations / f"{BIO}.sql")
        (project.root / "schema.sql").rename(schema_file(project))
        result = project.run("migrate", "--database", other, "--no-generate")
        assert result.returncode == 0, result.stderr
        assert "Loaded" not in result.stdout and "Loading" not in result.stdout
        assert f"Applying {POSTS}" in result.stdout and f"Applying {BIO}" in result.stdout
        assert schema_of(project, other) == schema_of(project, project.engine.database)


def test_a_dump_that_cannot_load_leaves_the_database_as_it_was(engine_project: Project) -> None:
    project = engine_project
    blog(project)
    project.run("migrate")
    project.run("schema:dump")
    with other_database(project) as other:
        project.run("migrate", "--database", other, "--no-generate")
        project.run("migrate:fresh", "--database", other, "--force", "--no-generate")
        engine = type(project.engine)(project.engine.name, other)
        engine.query("DELETE FROM kitgen_migrations")
        engine.query("DROP VIEW titles")
        before = engine.dump()
        result = project.run("migrate", "--database", other, "--no-generate")
        assert_one_error(result, "loading", "schema.sql", "failed", "already exists", "migrate:fresh")
        assert engine.dump() == before
        assert engine.applied() == []


def test_fresh_and_refresh_rebuild_from_the_dump(engine_project: Project) -> None:
    project = engine_project
    blog(project)
    project.run("migrate")
    project.run("schema:dump")
    project.sql("2026_01_01_000004_add_slug", "ALTER TABLE posts ADD COLUMN slug TEXT;", "SELECT 1;")
    project.run("migrate")
    expected = schema_of(project, project.engine.database)
    fresh = project.run("migrate:fresh", "--force")
    assert fresh.returncode == 0, fresh.stderr
    assert "Loaded database/schema.sql (3 migrations)" in fresh.stdout
    assert "Applied 1 migration" in fresh.stdout
    assert schema_of(project, project.engine.database) == expected
    assert project.engine.applied() == [(USERS, 0), (POSTS, 0), (BIO, 0), ("2026_01_01_000004_add_slug", 1)]
    project.engine.query("INSERT INTO users (email) VALUES ('ada@example.com')")
    refresh = project.run("migrate:refresh", "--force")
    assert refresh.returncode == 0, refresh.stderr
    assert "Rolled back 1 migration" in refresh.stdout
    assert "Loaded database/schema.sql (3 migrations)" in refresh.stdout
    assert schema_of(project, project.engine.database) == expected
    assert project.engine.query("SELECT count(*) FROM users") == [(0,)]


def test_rollback_stops_at_the_dump_and_changes_nothing(engine_project: Project) -> None:
    project = engine_project
    blog(project)
    project.run("migrate")
    project.run("schema:dump")
    project.sql("2026_01_01_000004_add_slug", "ALTER TABLE posts ADD COLUMN slug TEXT;", "SELECT 1;")
    with other_database(project) as other:
        project.run("migrate", "--database", other, "--no-generate")
        engine = type(project.engine)(project.engine.name, other)
        before = (engine.dump(), engine.applied())
        for args in (["migrate:rollback", "--step", "2"], ["migrate:reset"]):
            result = project.run(*args, "--database", other, "--force")
            assert_one_error(result, "database/schema.sql contains", "nothing was rolled back")
            assert (engine.dump(), engine.applied()) == before
        step = project.run("migrate:rollback", "--step", "2", "--database", other, "--force")
        assert "migrate:rollback --step 1 rolls back the 1 newer one" in step.stderr
        newer = project.run("migrate:rollback", "--database", other, "--force")
        assert newer.returncode == 0, newer.stderr
        assert engine.applied() == [(USERS, 0), (POSTS, 0), (BIO, 0)]
        floor = project.run("migrate:rollback", "--database", other, "--force")
        assert_one_error(floor, f"would roll back {BIO}", "migrate:fresh rebuilds the database from the schema file")
        assert engine.applied() == [(USERS, 0), (POSTS, 0), (BIO, 0)]


def test_prune_deletes_the_files_the_dump_contains_and_everything_still_works(engine_project: Project) -> None:
    project = engine_project
    blog(project)
    project.run("migrate")
    pending = project.sql("2026_01_01_000004_add_slug", "ALTER TABLE posts ADD COLUMN slug TEXT;", "SELECT 1;")
    result = project.run("schema:dump", "--prune", "--force")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Wrote database/schema.sql (3 migrations).",
        "Deleted 3 migration files database/schema.sql contains.",
    ]
    assert "not in the dump, as they are not applied" in result.stderr and pending.name[:-4] in result.stderr
    assert [path.name for path in project.migrations.iterdir()] == [pending.name]
    status = project.run("migrate:status")
    assert "missing" not in status.stdout and re.search(rf"{USERS}\s+applied \(batch 1\)", status.stdout)
    migrated = project.run("migrate")
    assert migrated.returncode == 0 and "has no file" not in migrated.stderr
    assert project.run("check").returncode == 0
    with other_database(project) as other:
        clone = project.run("migrate", "--database", other)
        assert clone.returncode == 0, clone.stderr
        assert schema_of(project, other) == schema_of(project, project.engine.database)
    rollback = project.run("migrate:rollback", "--force")
    assert rollback.returncode == 0 and "add_slug" in rollback.stdout
    assert_one_error(project.run("migrate:rollback", "--force"), "database/schema.sql contains")


def test_check_replays_from_the_dump_in_a_fresh_clone(project: Project) -> None:
    blog(project)
    project.run("migrate")
    project.run("schema:dump", "--prune", "--force")
    project.database.unlink()
    check = project.run("check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert not project.database.exists()
    project.sql("2026_01_01_000004_add_slug", "ALTER TABLE posts ADD COLUMN slug TEXT;", "SELECT 1;")
    stale = project.run("check")
    assert stale.returncode == 1 and "post.py" in stale.stdout


def test_an_edited_migration_the_dump_contains_is_refused_not_loaded_past(project: Project) -> None:
    blog(project)
    project.run("migrate")
    project.run("schema:dump")
    edited = project.migrations / f"{POSTS}.sql"
    edited.write_text(edited.read_text().replace("title TEXT", "headline TEXT"))
    project.database.unlink()
    result = project.run("migrate")
    assert_one_error(result, f"migration {POSTS} changed since database/schema.sql was written", "new migration")
    assert not project.database.exists() or project.tables() == []
    assert_one_error(project.run("check"), f"{POSTS} changed since database/schema.sql was written", code=2)
    reformatted = project.migrations / f"{USERS}.sql"
    edited.write_text(edited.read_text().replace("headline TEXT", "title TEXT"))
    reformatted.write_text("-- a comment\n" + reformatted.read_text())
    assert project.run("migrate").returncode == 0
    assert project.run("migrate:status").stdout.count("applied (batch 0)") == 3


def test_dump_refuses_when_files_and_database_disagree(project: Project) -> None:
    blog(project)
    assert_one_error(project.run("schema:dump"), "no migration is applied", "kitgen migrate first")
    project.run("migrate")
    edited = project.migrations / f"{BIO}.sql"
    edited.write_text(edited.read_text().replace("bio TEXT", "bio BLOB"))
    assert_one_error(project.run("schema:dump"), "changed since it ran", BIO)
    edited.rename(project.root / "gone.sql")
    assert_one_error(project.run("schema:dump"), f"{BIO} has no file here", "nothing was written")
    assert not schema_file(project).exists()


def test_prune_asks_first_and_is_refused_where_destructive_commands_are(project: Project) -> None:
    blog(project)
    project.run("migrate")
    piped = project.run("schema:dump", "--prune")
    assert_one_error(piped, "would delete 3 migration files and needs confirmation", "nothing was written")
    protected = project.run("schema:dump", "--prune", "--force", env={"KITGEN_PROTECT": "1"})
    assert_one_error(protected, "schema:dump --prune is refused")
    declined = run_on_terminal(project, "schema:dump", "--prune", env={}, answer="n")
    assert "Delete the 3 migration files database/schema.sql will contain? [y/N]" in declined
    assert "cancelled" in declined
    assert not schema_file(project).exists() and len(list(project.migrations.iterdir())) == 3
    accepted = run_on_terminal(project, "schema:dump", "--prune", env={}, answer="y")
    assert "Deleted 3 migration files" in accepted
    assert [path.name for path in project.migrations.iterdir()] == [".gitkeep"] and schema_file(project).exists()


def test_pretend_says_it_would_load_the_dump_and_changes_nothing(engine_project: Project) -> None:
    project = engine_project
    blog(project)
    project.run("migrate")
    project.run("schema:dump")
    with other_database(project) as other:
        engine = type(project.engine)(project.engine.name, other)
        if engine.name == "postgresql":  # pretend never creates a database: give it an empty one
            import psycopg

            server, name = other.rsplit("/", 1)
            with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
        result = project.run("migrate", "--pretend", "--database", other)
        assert result.returncode == 0, result.stderr
        assert "Would load schema.sql:" in result.stdout
        assert "CREATE TABLE " in result.stdout and "posts" in result.stdout
        assert result.stdout.rstrip().endswith(
            "Would load database/schema.sql (3 migrations); pretending: the database and the entities were not changed."
        )
        assert engine.tables() == [] if engine.name == "postgresql" else not Path(other).exists()


@pytest.mark.parametrize(
    "edit",
    [
        lambda text: text.replace("title TEXT NOT NULL", "title TEXT"),
        lambda text: text.replace("'sql', 1,", "'sql', 0,", 1),
        lambda text: text.replace("(3 migrations", "(3 migrations").replace(  # a merge: the other side's row too
            f"('{BIO}'", f"('2026_01_01_000009_theirs', 'c', 'r', 'sql', 1, NULL, '[]', '3'),\n('{BIO}'"
        ),
    ],
)
def test_a_schema_file_changed_by_hand_or_by_a_merge_is_refused(project: Project, edit: object) -> None:
    blog(project)
    project.run("migrate")
    project.run("schema:dump")
    path = schema_file(project)
    assert callable(edit)
    changed = edit(path.read_text())
    assert changed != path.read_text()
    path.write_text(changed)
    project.database.unlink()
    for command, code in (("migrate", 1), ("migrate:status", 1), ("check", 2)):
        assert_one_error(project.run(command), "schema.sql was changed since kitgen schema:dump wrote it", code=code)
    assert not project.database.exists() or project.tables() == []


def test_line_endings_a_byte_order_mark_and_trailing_spaces_are_not_edits(project: Project) -> None:
    blog(project)
    project.run("migrate")
    project.run("schema:dump")
    path = schema_file(project)
    text = path.read_text()
    path.write_bytes(("\ufeff" + text.replace("\n", "  \r\n") + "\r\n\r\n").encode())
    project.database.unlink()
    assert project.run("migrate").returncode == 0
    assert project.run("schema:dump").stdout == "Wrote database/schema.sql (3 migrations).\n"
    assert path.read_text() == text


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text.replace("-- kitgen: the migrations this schema contains", "-- rows"),
        lambda text: text.replace("'sql', 1,", "'sql', one,", 1),
        lambda text: text.replace("'[\"users\"]'", "'[users'", 1),
        lambda text: text.rsplit("-- kitgen: checksum", 1)[0],
    ],
)
def test_a_damaged_schema_file_is_named_with_how_to_fix_it(project: Project, damage: object) -> None:
    """Damage a checksum does not catch: a file resealed, or with its last line cut off."""
    from kitgen.migrations import dump

    blog(project)
    project.run("migrate")
    project.run("schema:dump")
    path = schema_file(project)
    assert callable(damage)
    body = damage(path.read_text().rsplit("-- kitgen: checksum", 1)[0])
    sealed = (
        f"{body}-- kitgen: checksum {dump._checksum(body)}\n"
        if "checksum" not in str(damage.__code__.co_consts)
        else body
    )
    path.write_text(sealed)
    for command, code in (("migrate", 1), ("migrate:status", 1), ("check", 2)):
        assert_one_error(project.run(command), "database/schema.sql is not a schema file kitgen can read", code=code)


def test_status_of_an_empty_database_says_the_dump_will_be_loaded(project: Project) -> None:
    blog(project)
    project.run("migrate")
    project.run("schema:dump", "--prune", "--force")
    project.sql("2026_01_01_000004_add_slug", "ALTER TABLE posts ADD COLUMN slug TEXT;", "SELECT 1;")
    project.database.unlink()
    status = project.run("migrate:status")
    assert status.stdout.splitlines()[2:] == [
        f"{USERS}  pending (in the schema file: migrate loads it)",
        f"{POSTS}  pending (in the schema file: migrate loads it)",
        f"{BIO}       pending (in the schema file: migrate loads it)",
        "2026_01_01_000004_add_slug      pending",
        "4 pending.",
    ]
    document = json.loads(project.run("migrate:status", "--format", "json").stdout)
    assert [entry["in_schema_file"] for entry in document["migrations"]] == [True, True, True, False]


@pytest.mark.parametrize("command", ["migrate:fresh", "migrate:refresh"])
def test_a_rebuild_refuses_before_dropping_when_a_migration_the_dump_contains_changed(
    engine_project: Project, command: str
) -> None:
    project = engine_project
    blog(project)
    project.run("migrate")
    project.run("schema:dump")
    project.engine.query("INSERT INTO users (email) VALUES ('ada@example.com')")
    before = (project.engine.dump(), project.engine.applied())
    edited = project.migrations / f"{POSTS}.sql"
    edited.write_text(edited.read_text().replace("title TEXT", "headline TEXT"))
    result = project.run(command, "--force")
    assert_one_error(result, f"{POSTS} changed since database/schema.sql was written", "nothing was applied")
    assert (project.engine.dump(), project.engine.applied()) == before


def test_a_database_behind_a_pruned_dump_is_told_what_it_lacks_and_cannot_dump_it_away(project: Project) -> None:
    blog(project)
    with other_database(project) as behind:  # a teammate who applied the first two, one by one
        (project.migrations / f"{BIO}.sql").rename(project.root / "bio.sql")
        assert project.run("migrate", "--database", behind, "--no-generate").returncode == 0
        (project.root / "bio.sql").rename(project.migrations / f"{BIO}.sql")
        project.run("migrate")
        project.run("schema:dump", "--prune", "--force")
        written = schema_file(project).read_bytes()
        migrate = project.run("migrate", "--database", behind, "--no-generate")
        assert_one_error(migrate, f"contains migration {BIO}, which this database never applied", "migrate:fresh")
        status = project.run("migrate:status", "--database", behind, "--exit-code")
        assert status.returncode == 1
        assert re.search(rf"{BIO}\s+pruned \(in the schema file, never applied here", status.stdout)
        check = project.run("check", "--database", behind)
        assert check.returncode == 1 and f"{BIO}: pruned" in check.stdout
        dump = project.run("schema:dump", "--database", behind)
        assert_one_error(dump, f"contains migration {BIO}, which this database never applied")
        assert schema_file(project).read_bytes() == written
        fresh = project.run("migrate:fresh", "--database", behind, "--force")
        assert fresh.returncode == 0, fresh.stderr
        assert project.run("migrate", "--database", behind).stdout == "Nothing to migrate.\n"


def test_a_renamed_migration_the_dump_contains_is_recorded_as_renamed(project: Project) -> None:
    blog(project)
    project.run("migrate")
    project.run("schema:dump")
    renamed = f"{USERS}_table"
    (project.migrations / f"{USERS}.sql").rename(project.migrations / f"{renamed}.sql")
    result = project.run("migrate")
    assert result.returncode == 0, result.stderr
    assert f"Renamed {USERS} → {renamed} (same content)" in result.stdout
    assert project.run("migrate").stdout == "Nothing to migrate.\n"
    assert project.run("migrate:status", "--exit-code").returncode == 0
    assert project.run("check").returncode == 0
    project.database.unlink()
    assert project.run("check").returncode == 0  # the replay loads the file and does not run the rename again
    with other_database(project) as other:
        loaded = project.run("migrate", "--database", other)
        assert loaded.returncode == 0, loaded.stderr
        assert f"Renamed {USERS} → {renamed}" in loaded.stdout
        assert "Loaded database/schema.sql (3 migrations)" in loaded.stdout
        assert project.run("migrate", "--database", other).stdout == "Nothing to migrate.\n"
        redump = project.run("schema:dump", "--database", other)
        assert redump.returncode == 0, redump.stderr
        assert f"('{renamed}'," in schema_file(project).read_text()


def test_rows_loaded_from_a_schema_file_are_never_rolled_back_even_once_the_file_is_gone(project: Project) -> None:
    blog(project)
    project.run("migrate")
    project.run("schema:dump", "--prune", "--force")
    project.run("migrate:fresh", "--force")
    schema_file(project).unlink()
    before = project.dump()
    result = project.run("migrate:rollback", "--force")
    assert_one_error(result, "loaded from a schema file", "nothing was rolled back")
    assert project.dump() == before


def test_pruning_every_migration_keeps_the_folder_for_git(project: Project) -> None:
    blog(project)
    project.run("migrate")
    project.run("schema:dump", "--prune", "--force")
    assert [path.name for path in project.migrations.iterdir()] == [".gitkeep"]
    project.database.unlink()
    assert project.run("migrate").returncode == 0
    assert project.run("check").returncode == 0


def test_a_schema_file_in_the_migrations_folder_is_refused(project: Project) -> None:
    blog(project)
    result = project.run("migrate", env={"KITGEN_SCHEMA_FILE": str(project.migrations / "schema.sql")})
    assert_one_error(result, "is in the migrations folder", 'schema_file = "database/schema.sql"')
    assert not project.database.exists()
