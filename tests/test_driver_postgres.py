"""The PostgreSQL driver on a real server, through the installed ``kitgen`` script.

Each test gets an empty database of its own (``pg_url``); the project names it in its
pyproject.toml, as a team would (so helpers that clear ``KITGEN_*`` variables still reach it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from conftest import KITGEN, Project, assert_one_error

PYPROJECT = '[project]\nname = "sample"\nversion = "0"\n\n[tool.kitgen]\ndatabase = "{url}"\ngenerate = false\n'


@pytest.fixture
def pg(project: Project, pg_url: str) -> Iterator[Project]:
    """A project whose database is the test's PostgreSQL database (entities off: the driver is under test)."""
    (project.root / "pyproject.toml").write_text(PYPROJECT.format(url=pg_url), encoding="utf-8")
    project.url = pg_url  # type: ignore[attr-defined]
    yield project


def query(url: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as connection:
        cursor = connection.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def tables(url: str, schema: str = "public") -> list[str]:
    rows = query(url, "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", (schema,))
    return [row[0] for row in rows]


def applied(url: str, schema: str = "public") -> list[str]:
    return [row[0] for row in query(url, f"SELECT name FROM {schema}.kitgen_migrations ORDER BY id")]


def start(project: Project, *args: str) -> subprocess.Popen[str]:
    environ = {key: value for key, value in os.environ.items() if not key.startswith("KITGEN_")}
    return subprocess.Popen(
        [KITGEN, *args], cwd=project.root, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


# --- the commands ------------------------------------------------------------------------------


def test_migrate_status_rollback_refresh_reset_and_fresh(pg: Project) -> None:
    url = pg.url  # type: ignore[attr-defined]
    pg.sql(
        "2026_01_01_000001_create_users_table",
        "CREATE TABLE users (id bigint PRIMARY KEY, email text);",
        "DROP TABLE users;",
    )
    pg.sql(
        "2026_01_01_000002_create_posts_table",
        "CREATE TABLE posts (id bigint PRIMARY KEY, user_id bigint REFERENCES users);",
        "DROP TABLE posts;",
    )
    assert pg.run("migrate").returncode == 0
    assert tables(url) == ["kitgen_migrations", "posts", "users"]
    assert applied(url) == ["2026_01_01_000001_create_users_table", "2026_01_01_000002_create_posts_table"]
    status = pg.run("migrate:status")
    assert "applied (batch 1)" in status.stdout and url.split("@")[1] in status.stdout
    assert pg.run("migrate:rollback", "--step", "1", "--force").returncode == 0
    assert tables(url) == ["kitgen_migrations", "users"]
    assert pg.run("migrate:refresh", "--force").returncode == 0
    assert tables(url) == ["kitgen_migrations", "posts", "users"]
    query(url, "INSERT INTO users VALUES (1, 'a@example.com')")
    assert pg.run("migrate:reset", "--force").returncode == 0
    assert tables(url) == ["kitgen_migrations"]
    assert applied(url) == []
    assert pg.run("migrate").returncode == 0
    assert pg.run("migrate:fresh", "--force").returncode == 0
    assert applied(url) == ["2026_01_01_000001_create_users_table", "2026_01_01_000002_create_posts_table"]


def test_the_database_is_created_by_the_first_migrate_and_status_does_not_create_it(pg: Project) -> None:
    url = pg.url.rsplit("/", 1)[0] + "/kitgen_created_here"  # type: ignore[attr-defined]
    (pg.root / "pyproject.toml").write_text(PYPROJECT.format(url=url), encoding="utf-8")
    pg.create_table("2026_01_01_000001_create_users_table", "users", "id bigint PRIMARY KEY")
    try:
        status = pg.run("migrate:status")
        assert status.returncode == 0, status.stderr
        assert "pending" in status.stdout
        assert query(pg.url, "SELECT 1 FROM pg_database WHERE datname = 'kitgen_created_here'") == []  # type: ignore[attr-defined]
        assert pg.run("migrate").returncode == 0
        assert tables(url) == ["kitgen_migrations", "users"]
    finally:
        query(pg.url, "DROP DATABASE IF EXISTS kitgen_created_here WITH (FORCE)")  # type: ignore[attr-defined]


def test_a_failed_migration_leaves_the_database_exactly_as_before(pg: Project) -> None:
    url = pg.url  # type: ignore[attr-defined]
    pg.create_table("2026_01_01_000001_create_users_table", "users", "id bigint PRIMARY KEY")
    pg.sql("2026_01_01_000002_broken", "CREATE TABLE half (id int);\nINSERT INTO users VALUES (1);\nSELECT nope;")
    result = pg.run("migrate")
    assert_one_error(result, "2026_01_01_000002_broken", "line 4", "nope")
    assert tables(url) == ["kitgen_migrations", "users"]
    assert query(url, "SELECT count(*) FROM users") == [(0,)]
    assert applied(url) == ["2026_01_01_000001_create_users_table"]


def test_a_caught_statement_error_does_not_commit_what_postgresql_rolled_back(pg: Project) -> None:
    """A failed statement aborts the transaction; a migration that catches the error must not be recorded."""
    url = pg.url  # type: ignore[attr-defined]
    pg.python(
        "2026_01_01_000001_careless",
        """
        db.execute("CREATE TABLE kept (id int)")
        try:
            db.execute("SELECT nope")
        except Exception:
            pass
        """,
    )
    result = pg.run("migrate")
    assert_one_error(result, "aborted the transaction", "in: COMMIT")
    assert "pg_class" not in result.stderr  # kitgen's own statements are not the migration's
    assert tables(url) == ["kitgen_migrations"]
    assert applied(url) == []


def test_transaction_false_runs_statements_one_at_a_time_and_a_failure_is_not_recorded(pg: Project) -> None:
    url = pg.url  # type: ignore[attr-defined]
    pg.create_table("2026_01_01_000001_create_users_table", "users", "id bigint PRIMARY KEY, email text")
    pg.write(
        "2026_01_01_000002_index_users.sql",
        "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY users_email ON users (email);\n"
        "CREATE INDEX CONCURRENTLY users_nope ON users (nope);\n\n-- migrate:down\nDROP INDEX users_email;\n",
    )
    result = pg.run("migrate")
    assert_one_error(result, "2026_01_01_000002_index_users", "nope")
    assert "1 statement ran" in result.stderr and "users_email" in result.stderr
    assert applied(url) == ["2026_01_01_000001_create_users_table"]
    assert query(url, "SELECT indexname FROM pg_indexes WHERE tablename = 'users' ORDER BY 1") == [
        ("users_email",),
        ("users_pkey",),
    ]


def test_concurrently_in_a_transaction_says_to_mark_the_migration(pg: Project) -> None:
    pg.create_table("2026_01_01_000001_create_users_table", "users", "id bigint PRIMARY KEY, email text")
    pg.sql("2026_01_01_000002_index_users", "CREATE INDEX CONCURRENTLY users_email ON users (email);")
    result = pg.run("migrate")
    assert_one_error(result, "2026_01_01_000002_index_users", "transaction:false")
    assert applied(pg.url) == ["2026_01_01_000001_create_users_table"]  # type: ignore[attr-defined]


def test_search_path_in_the_url_puts_the_tracking_table_and_tables_in_that_schema(pg: Project) -> None:
    url = pg.url + "?search_path=app,public"  # type: ignore[attr-defined]
    (pg.root / "pyproject.toml").write_text(PYPROJECT.format(url=url), encoding="utf-8")
    pg.create_table("2026_01_01_000001_create_users_table", "users", "id bigint PRIMARY KEY")
    assert pg.run("migrate").returncode == 0
    assert tables(pg.url, "app") == ["kitgen_migrations", "users"]  # type: ignore[attr-defined]
    assert tables(pg.url, "public") == []  # type: ignore[attr-defined]
    assert pg.run("migrate:fresh", "--force").returncode == 0
    assert tables(pg.url, "app") == ["kitgen_migrations", "users"]  # type: ignore[attr-defined]


def test_fresh_drops_every_kind_of_object_but_keeps_schemas_grants_and_extensions(pg: Project) -> None:
    url = pg.url  # type: ignore[attr-defined]
    query(url, "CREATE EXTENSION citext")
    query(url, "CREATE ROLE kitgen_reader")
    query(url, "GRANT USAGE ON SCHEMA public TO kitgen_reader")
    pg.sql(
        "2026_01_01_000001_everything",
        """
        CREATE TYPE mood AS ENUM ('sad', 'happy');
        CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
        CREATE SEQUENCE tickets;
        CREATE TABLE people (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name citext, mood mood, n positive);
        CREATE TABLE events (id int, at date) PARTITION BY RANGE (at);
        CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
        CREATE VIEW happy AS SELECT * FROM people WHERE mood = 'happy';
        CREATE MATERIALIZED VIEW counted AS SELECT count(*) FROM people;
        CREATE FUNCTION shout(t text) RETURNS text LANGUAGE sql AS 'SELECT upper(t)';
        CREATE PROCEDURE nothing() LANGUAGE sql AS 'SELECT 1';
        """,
    )
    assert pg.run("migrate").returncode == 0
    pg.migrations.joinpath("2026_01_01_000001_everything.sql").unlink()
    result = pg.run("migrate:fresh", "--force")
    assert result.returncode == 0, result.stderr
    assert tables(url) == []
    left = query(
        url,
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relname NOT LIKE 'kitgen_migrations%'",
    )
    assert left == [(0,)]
    assert query(url, "SELECT typname FROM pg_type WHERE typname IN ('mood', 'positive')") == []
    assert query(url, "SELECT proname FROM pg_proc WHERE proname IN ('shout', 'nothing')") == []
    assert query(url, "SELECT extname FROM pg_extension WHERE extname = 'citext'") == [("citext",)]
    assert query(url, "SELECT has_schema_privilege('kitgen_reader', 'public', 'USAGE')") == [(True,)]
    query(url, "SELECT 'A'::citext = 'a'::citext")  # the extension still works
    query(url, "DROP OWNED BY kitgen_reader; DROP ROLE kitgen_reader")


def test_pretend_changes_nothing_even_when_a_migration_commits_by_itself(pg: Project) -> None:
    url = pg.url  # type: ignore[attr-defined]
    pg.create_table("2026_01_01_000001_create_users_table", "users", "id bigint PRIMARY KEY, email text")
    assert pg.run("migrate").returncode == 0
    pg.write(
        "2026_01_01_000002_by_hand.sql",
        "-- migrate:up transaction:false\nBEGIN;\nCREATE TABLE sneaky (id int);\nINSERT INTO users VALUES (1, 'x');\n"
        "COMMIT;\nVACUUM users;\nCREATE INDEX CONCURRENTLY users_email ON users (email);\n\n"
        "-- migrate:down\nDROP TABLE sneaky;\n",
    )
    result = pg.run("migrate", "--pretend")
    assert result.returncode == 0, result.stderr
    assert "CREATE TABLE sneaky" in result.stdout and "CREATE INDEX CONCURRENTLY" in result.stdout
    assert tables(url) == ["kitgen_migrations", "users"]
    assert query(url, "SELECT count(*) FROM users") == [(0,)]
    assert applied(url) == ["2026_01_01_000001_create_users_table"]
    assert query(url, "SELECT count(*) FROM pg_prepared_xacts") == [(0,)]


def test_db_alter_table_runs_on_postgresql_all_or_nothing(pg: Project) -> None:
    url = pg.url  # type: ignore[attr-defined]
    pg.create_table("2026_01_01_000001_create_users_table", "users", "id bigint PRIMARY KEY, legacy text, age text")
    assert pg.run("migrate").returncode == 0
    query(url, "INSERT INTO users VALUES (1, 'x', '41')")
    pg.python(
        "2026_01_01_000002_reshape",
        """
        with db.alter_table("users") as table:
            table.drop_column("legacy")
            table.alter_column("age", type="integer", nullable=False, default="0")
            table.rename_column("age", "years")
            table.add_column("email text")
            table.add_constraint("CONSTRAINT adult CHECK (years >= 18)")
        """,
    )
    assert pg.run("migrate").returncode == 0
    rows = query(url, "SELECT * FROM users")
    assert rows == [(1, 41, None)]
    pg.python(
        "2026_01_01_000003_refused",
        """
        with db.alter_table("users") as table:
            table.add_column("kept int")
            table.add_constraint("CHECK (years > 100)")
        """,
    )
    assert_one_error(pg.run("migrate"), "2026_01_01_000003_refused")
    assert [
        name
        for (name,) in query(
            url,
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'users' ORDER BY ordinal_position",
        )
    ] == ["id", "years", "email"]


# --- locking -------------------------------------------------------------------------------------


def _slow_migration(project: Project, name: str, seconds: float) -> None:
    project.sql(name, f"CREATE TABLE slow (id int);\nSELECT pg_sleep({seconds});", "DROP TABLE slow;")


def test_eight_concurrent_migrators_apply_everything_exactly_once(pg: Project) -> None:
    url = pg.url  # type: ignore[attr-defined]
    for index in range(1, 6):
        pg.sql(
            f"2026_01_01_00000{index}_step_{index}",
            f"CREATE TABLE step_{index} (id int);\nSELECT pg_sleep(0.1);",
            f"DROP TABLE step_{index};",
        )
    processes = [start(pg, "migrate") for _ in range(8)]
    results = [process.communicate(timeout=120) for process in processes]
    assert all(process.returncode == 0 for process in processes), results
    assert applied(url) == [f"2026_01_01_00000{index}_step_{index}" for index in range(1, 6)]
    assert sum(stdout.count("Applying") for stdout, _ in results) == 5


def test_a_waiting_migrator_names_the_holder_and_times_out_as_one_error(pg: Project) -> None:
    _slow_migration(pg, "2026_01_01_000001_slow", 4)
    holder = start(pg, "migrate")
    _wait_for_lock(pg.url)  # type: ignore[attr-defined]
    waiting = pg.run("migrate", "--lock-timeout", "1")
    holder.communicate(timeout=60)
    assert_one_error(waiting, "kitgen migrate (server pid", "held the migration lock")
    assert "Waiting for the migration lock" in waiting.stderr
    assert "@" not in waiting.stderr.split("held the migration lock")[0] or "postgres@" not in waiting.stderr


def test_create_index_concurrently_finishes_while_another_migrator_waits(pg: Project) -> None:
    """A blocking advisory lock would wait inside the server, and CONCURRENTLY waits for every open snapshot."""
    url = pg.url  # type: ignore[attr-defined]
    pg.create_table("2026_01_01_000001_create_users_table", "users", "id bigint PRIMARY KEY, email text")
    assert pg.run("migrate").returncode == 0
    query(url, "INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 20000) g")
    pg.write(
        "2026_01_01_000002_index_users.sql",
        "-- migrate:up transaction:false\nSELECT pg_sleep(1.5);\nCREATE INDEX CONCURRENTLY users_email ON users (email);\n\n"
        "-- migrate:down\nDROP INDEX users_email;\n",
    )
    first = start(pg, "migrate")
    _wait_for_lock(url)
    second = start(pg, "migrate", "--lock-timeout", "60")
    out_first = first.communicate(timeout=60)
    out_second = second.communicate(timeout=60)
    assert first.returncode == 0, out_first
    assert second.returncode == 0, out_second
    assert "Nothing to migrate" in out_second[0] or "Applying" not in out_second[0]
    assert applied(url)[-1] == "2026_01_01_000002_index_users"


def test_a_killed_migrator_releases_the_lock_and_its_migration_is_rolled_back(pg: Project) -> None:
    url = pg.url  # type: ignore[attr-defined]
    _slow_migration(pg, "2026_01_01_000001_slow", 60)
    victim = start(pg, "migrate")
    _wait_for_lock(url)
    time.sleep(0.5)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    started = time.monotonic()
    (pg.migrations / "2026_01_01_000001_slow.sql").write_text(
        "-- migrate:up\nCREATE TABLE slow (id int);\n\n-- migrate:down\nDROP TABLE slow;\n"
    )
    result = pg.run("migrate", "--lock-timeout", "20")
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 15
    assert applied(url) == ["2026_01_01_000001_slow"]


def _wait_for_lock(url: str, timeout: float = 30) -> None:
    """Until a kitgen session holds an advisory lock in the database."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = query(
            url,
            "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        if rows:
            return
        time.sleep(0.05)
    pytest.fail("no migrator took the lock")


# --- connecting ---------------------------------------------------------------------------------


def test_a_password_never_appears_in_output_or_errors(pg: Project, pg_url: str) -> None:
    secret = "s3cr3t-Pa55"
    unreachable = f"postgresql://someone:{secret}@127.0.0.1:1/nowhere"
    for args in (("migrate",), ("migrate:status",), ("check",)):
        result = pg.run(*args, "--database", unreachable)
        assert result.returncode != 0
        assert secret not in result.stdout + result.stderr
        assert_one_error(result, "someone@127.0.0.1:1/nowhere", code=result.returncode)
    with_password = pg_url.replace("postgres@", f"postgres:{secret}@")
    status = pg.run("migrate:status", "--database", with_password)
    assert status.returncode == 0 and secret not in status.stdout + status.stderr


def test_database_url_is_used_when_nothing_else_configures_the_database(project: Project, pg_url: str) -> None:
    project.create_table("2026_01_01_000001_create_users_table", "users", "id bigint PRIMARY KEY")
    result = project.run("migrate", "--no-generate", env={"DATABASE_URL": pg_url})
    assert result.returncode == 0, result.stderr
    assert tables(pg_url) == ["kitgen_migrations", "users"]
    assert not project.database.exists()


def test_without_psycopg_a_postgresql_url_says_which_package_to_install(project: Project) -> None:
    code = (
        "import sys; sys.modules['psycopg'] = None; from kitgen.entry import main; "
        "sys.argv = ['kitgen', 'migrate:status', '--database', 'postgresql://x@127.0.0.1:1/db']; main()"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=project.root, capture_output=True, text=True)
    assert_one_error(result, "psycopg")
    assert "kitgen[postgres]" in result.stderr


def test_ctrl_c_inside_a_long_statement_rolls_the_migration_back_and_ends_its_session(pg: Project) -> None:
    url = pg.url  # type: ignore[attr-defined]
    pg.create_table("2026_01_01_000001_create_users_table", "users", "id bigint PRIMARY KEY")
    _slow_migration(pg, "2026_01_01_000002_slow", 60)
    process = start(pg, "migrate")
    deadline = time.monotonic() + 30
    while not query(url, "SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%'"):
        assert time.monotonic() < deadline, "the slow statement never started"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=20)
    assert process.returncode == 130, (stdout, stderr)
    assert "interrupted during 2026_01_01_000002_slow: rolled back" in stderr.lower()
    assert applied(url) == ["2026_01_01_000001_create_users_table"]
    assert tables(url) == ["kitgen_migrations", "users"]
    time.sleep(1.5)
    assert query(url, "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'kitgen%'") == [(0,)]


def test_resolve_records_an_applied_migration_and_what_it_created_from_a_scratch_replay(pg: Project) -> None:
    url = pg.url  # type: ignore[attr-defined]
    pg.create_table("2026_01_01_000001_create_users_table", "users", "id bigint PRIMARY KEY")
    query(url, "CREATE TABLE users (id bigint PRIMARY KEY)")  # made by hand, before kitgen
    result = pg.run("migrate:resolve", "2026_01_01_000001_create_users_table", "--applied")
    assert result.returncode == 0, result.stderr
    assert query(url, "SELECT name, created FROM kitgen_migrations") == [
        ("2026_01_01_000001_create_users_table", '["users"]')
    ]
    assert query(url, "SELECT datname FROM pg_database WHERE datname LIKE 'kitgen_scratch_%'") == []
    assert pg.run("migrate").stdout.strip() == "Nothing to migrate."


def test_a_schema_from_pg_dump_with_functions_and_triggers_is_a_migration(
    pg: Project, postgres_server: Any, pg_url: str
) -> None:
    """The output of the real pg_dump --schema-only, as a migration, builds the same schema and its entities."""
    source = postgres_server.url("kitgen_dump_source")
    query(postgres_server.url(), "DROP DATABASE IF EXISTS kitgen_dump_source")
    query(postgres_server.url(), "CREATE DATABASE kitgen_dump_source")
    try:
        query(
            source,
            """
            CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
            CREATE TABLE people (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, mood mood,
                tags text[], updated timestamptz NOT NULL DEFAULT now()
            );
            CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                NEW.updated := now();  -- a ; inside a body
                RETURN NEW;
            END;
            $$;
            CREATE TRIGGER people_touch BEFORE UPDATE ON people FOR EACH ROW EXECUTE FUNCTION touch();
            CREATE FUNCTION shout(t text) RETURNS text LANGUAGE sql IMMUTABLE BEGIN ATOMIC SELECT upper(t); END;
            CREATE VIEW loud AS SELECT id, shout(name) AS name FROM people;
            COMMENT ON TABLE people IS 'Everyone; even the quiet ones.';
            """,
        )
        dump = subprocess.run(
            [str(_binaries() / "pg_dump"), "--schema-only", "--no-owner", "-d", source],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        query(postgres_server.url(), "DROP DATABASE IF EXISTS kitgen_dump_source WITH (FORCE)")
    pg.write("2026_01_01_000001_baseline.sql", f"-- migrate:up\n{dump}\n-- migrate:down\nDROP VIEW loud;\n")
    (pg.root / "pyproject.toml").write_text(PYPROJECT.format(url=pg_url).replace("generate = false\n", ""))
    result = pg.run("migrate")
    assert result.returncode == 0, result.stderr
    assert tables(pg_url) == ["kitgen_migrations", "people"]
    assert sorted(path.name for path in pg.entities.glob("*.py")) == [
        "__init__.py", "_kitgen.py", "enums.py", "loud.py", "person.py"
    ]  # fmt: skip
    assert "Everyone; even the quiet ones." in (pg.entities / "person.py").read_text()
    query(pg_url, "INSERT INTO people (name) VALUES ('ada')")
    assert query(pg_url, "SELECT name FROM loud") == [("ADA",)]
    check = pg.run("check")
    assert check.returncode == 0, check.stdout + check.stderr


def _binaries() -> Any:
    import pg_server

    return pg_server.server_binaries()


# --- found by using it as a team would ---------------------------------------------------------


def test_check_replays_in_a_transaction_it_never_commits_so_server_wide_changes_are_undone(
    pg: Project, postgres_server: Any
) -> None:
    url = pg.url  # type: ignore[attr-defined]
    query(url, "DROP ROLE IF EXISTS kitgen_reader; CREATE ROLE kitgen_reader CONNECTION LIMIT 50")
    pg.sql("2026_01_01_000001_reader", "ALTER ROLE kitgen_reader CONNECTION LIMIT 5;")
    pg.create_table("2026_01_01_000002_create_users_table", "users", "id bigint PRIMARY KEY")
    (pg.root / "pyproject.toml").write_text(PYPROJECT.format(url=url).replace("generate = false\n", ""))
    assert pg.run("migrate").returncode == 0
    query(url, "ALTER ROLE kitgen_reader CONNECTION LIMIT 50")  # an operator's change since
    result = pg.run("check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert query(url, "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'kitgen_reader'") == [(50,)]
    assert query(url, "SELECT count(*) FROM pg_database WHERE datname LIKE 'kitgen_scratch_%'") == [(0,)]
    query(url, "DROP ROLE kitgen_reader")


def test_a_shadow_database_is_never_the_configured_one_and_never_emptied(pg: Project, postgres_server: Any) -> None:
    url = pg.url  # type: ignore[attr-defined]
    pg.create_table("2026_01_01_000001_create_users_table", "users", "id bigint PRIMARY KEY")
    assert pg.run("migrate").returncode == 0
    query(url, "INSERT INTO users VALUES (1)")
    same = pg.run("check", env={"KITGEN_SHADOW_DATABASE": url})
    assert_one_error(same, "shadow_database names the configured database", code=2)
    assert query(url, "SELECT count(*) FROM users") == [(1,)]
    shadow = postgres_server.url("kitgen_shadow_full")
    query(postgres_server.url(), "DROP DATABASE IF EXISTS kitgen_shadow_full")
    query(postgres_server.url(), "CREATE DATABASE kitgen_shadow_full")
    try:
        query(shadow, "CREATE TABLE precious (id int); INSERT INTO precious VALUES (7)")
        full = pg.run("check", env={"KITGEN_SHADOW_DATABASE": shadow})
        assert_one_error(full, "is not empty", "precious", code=2)
        assert query(shadow, "SELECT * FROM precious") == [(7,)]
        query(shadow, "DROP TABLE precious")
        empty = pg.run("check", env={"KITGEN_SHADOW_DATABASE": shadow})
        assert empty.returncode == 1, empty.stdout + empty.stderr  # entities are off here: missing, not an error
        assert query(shadow, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [(0,)]
    finally:
        query(postgres_server.url(), "DROP DATABASE IF EXISTS kitgen_shadow_full WITH (FORCE)")


def test_pretend_with_entities_on_reads_the_rehearsed_schema_and_commits_nothing(pg: Project) -> None:
    url = pg.url  # type: ignore[attr-defined]
    (pg.root / "pyproject.toml").write_text(PYPROJECT.format(url=url).replace("generate = false\n", ""))
    pg.create_table("2026_01_01_000001_create_users_table", "users", "id bigint PRIMARY KEY, email text")
    assert pg.run("migrate").returncode == 0
    pg.sql("2026_01_01_000002_add_phone", "ALTER TABLE users ADD COLUMN phone text;")
    pg.python(
        "2026_01_01_000003_sneaky",
        'db.execute("CREATE TABLE leak (id int); COMMIT; SELECT 1")',
        extra="transaction = False\n",
    )
    result = pg.run("migrate", "--pretend")
    assert result.returncode == 0, result.stderr
    assert "+    phone: str | None" in result.stdout and "COMMIT" in result.stdout
    assert tables(url) == ["kitgen_migrations", "users"]
    assert "phone" not in (pg.entities / "user.py").read_text()
    assert applied(url) == ["2026_01_01_000001_create_users_table"]


def test_fresh_with_schemas_that_leave_out_the_history_applies_everything_again(pg: Project) -> None:
    url = pg.url  # type: ignore[attr-defined]
    (pg.root / "pyproject.toml").write_text(PYPROJECT.format(url=url) + 'schemas = ["app"]\n')
    pg.sql("2026_01_01_000001_app", "CREATE SCHEMA IF NOT EXISTS app;\nCREATE TABLE app.users (id int PRIMARY KEY);")
    assert pg.run("migrate").returncode == 0
    query(url, "INSERT INTO app.users VALUES (1)")
    result = pg.run("migrate:fresh", "--force")
    assert result.returncode == 0, result.stderr
    assert "Applying 2026_01_01_000001_app" in result.stdout
    assert query(url, "SELECT count(*) FROM app.users") == [(0,)]
    assert applied(url) == ["2026_01_01_000001_app"]


def test_a_schema_named_after_the_user_made_later_does_not_start_another_history(pg: Project) -> None:
    url = pg.url  # type: ignore[attr-defined]
    pg.create_table("2026_01_01_000001_create_users_table", "users", "id bigint PRIMARY KEY")
    assert pg.run("migrate").returncode == 0
    query(url, "CREATE SCHEMA postgres")  # "$user" comes first in the default search_path
    try:
        status = pg.run("migrate:status")
        assert "applied (batch 1)" in status.stdout, status.stdout + status.stderr
        assert pg.run("migrate").stdout.strip() == "Nothing to migrate."
        elsewhere = url + "?search_path=app"
        moved = pg.run("migrate", "--database", elsewhere)
        assert_one_error(moved, "public.kitgen_migrations", "search_path")
        assert tables(url, "app") == []
    finally:
        query(url, "DROP SCHEMA postgres CASCADE")


def test_commands_that_only_read_or_undo_never_create_a_missing_database(pg: Project, postgres_server: Any) -> None:
    missing = postgres_server.url("kitgen_never_made")
    pg.create_table("2026_01_01_000001_create_users_table", "users", "id bigint PRIMARY KEY")
    pg.entities.joinpath("keep.py").write_text("KEEP = 1\n")
    for args in (
        ("generate",),
        ("migrate:rollback", "--force"),
        ("migrate:reset", "--force"),
        ("migrate", "--pretend"),
    ):
        pg.run(*args, "--database", missing)
    assert query(postgres_server.url(), "SELECT 1 FROM pg_database WHERE datname = 'kitgen_never_made'") == []
    assert pg.entities.joinpath("keep.py").exists()


def test_a_configured_schema_that_does_not_exist_is_an_error_and_no_entity_is_deleted(pg: Project) -> None:
    url = pg.url  # type: ignore[attr-defined]
    (pg.root / "pyproject.toml").write_text(PYPROJECT.format(url=url).replace("generate = false\n", ""))
    pg.create_table("2026_01_01_000001_create_users_table", "users", "id bigint PRIMARY KEY")
    assert pg.run("migrate").returncode == 0
    result = pg.run("generate", env={"KITGEN_SCHEMAS": "Public"})
    assert_one_error(result, "Public", "does not exist")
    assert (pg.entities / "user.py").exists()


def test_a_savepoint_lets_a_migration_recover_from_a_statement_it_expects_to_fail(pg: Project) -> None:
    url = pg.url  # type: ignore[attr-defined]
    pg.python(
        "2026_01_01_000001_careful",
        """
        db.execute("CREATE TABLE kept (id int)")
        db.execute("SAVEPOINT before_probe")
        try:
            db.execute("SELECT nope")
        except Exception:
            db.execute("ROLLBACK TO SAVEPOINT before_probe")
        db.execute("INSERT INTO kept VALUES (1)")
        """,
    )
    result = pg.run("migrate")
    assert result.returncode == 0, result.stderr
    assert query(url, "SELECT * FROM kept") == [(1,)]


def test_a_table_lock_held_by_an_application_ends_the_migration_after_the_lock_timeout(pg: Project) -> None:
    url = pg.url  # type: ignore[attr-defined]
    pg.create_table("2026_01_01_000001_create_users_table", "users", "id bigint PRIMARY KEY")
    assert pg.run("migrate").returncode == 0
    pg.sql("2026_01_01_000002_add_email", "ALTER TABLE users ADD COLUMN email text;")
    with psycopg.connect(url) as application:
        application.execute("SELECT * FROM users")  # its open transaction holds a lock on users
        started = time.monotonic()
        result = pg.run("migrate", "--lock-timeout", "1")
        assert time.monotonic() - started < 10
    assert_one_error(result, "lock timeout", "pg_stat_activity")
    assert applied(url) == ["2026_01_01_000001_create_users_table"]


def test_an_idle_session_timeout_on_the_database_does_not_take_the_lock_away(pg: Project) -> None:
    url = pg.url  # type: ignore[attr-defined]
    name = url.rsplit("/", 1)[1]
    query(url, f"ALTER DATABASE \"{name}\" SET idle_session_timeout = '1s'")
    pg.sql("2026_01_01_000001_slow", "CREATE TABLE slow (id int);\nSELECT pg_sleep(2.5);", "DROP TABLE slow;")
    result = pg.run("migrate")
    assert result.returncode == 0, result.stderr
    assert applied(url) == ["2026_01_01_000001_slow"]


def test_a_password_that_is_not_valid_url_text_is_never_printed(pg: Project, pg_url: str) -> None:
    broken = pg_url.replace("postgres@", "postgres:Pa55%zz@")
    result = pg.run("migrate:status", "--database", broken)
    assert_one_error(result, "cannot use the database")
    assert "Pa55%zz" not in result.stdout + result.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_check_stopped_by_a_signal_drops_its_temporary_database(pg: Project, signum: int) -> None:
    url = pg.url  # type: ignore[attr-defined]
    pg.sql("2026_01_01_000001_slow", "CREATE TABLE slow (id int);\nSELECT pg_sleep(20);", "DROP TABLE slow;")
    process = start(pg, "check")
    deadline = time.monotonic() + 30
    while not query(url, "SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(20)%'"):
        assert time.monotonic() < deadline, "the replay never started"
        time.sleep(0.05)
    process.send_signal(signum)
    process.communicate(timeout=30)
    assert process.returncode != 0
    assert query(url, "SELECT datname FROM pg_database WHERE datname LIKE 'kitgen_scratch_%'") == []


def test_fresh_that_fails_after_dropping_says_what_stays_dropped(pg: Project) -> None:
    url = pg.url  # type: ignore[attr-defined]
    pg.sql("2026_01_01_000001_citext", "CREATE EXTENSION citext;\nCREATE TABLE people (name citext);")
    assert pg.run("migrate").returncode == 0
    result = pg.run("migrate:fresh", "--force")  # the extension is kept, so CREATE EXTENSION fails
    assert_one_error(result, "already exists")
    assert "objects migrate:fresh dropped before migrating stay dropped" in result.stderr
    assert "IF NOT EXISTS" in result.stderr and "migrate:resolve" not in result.stderr
    assert tables(url) == ["kitgen_migrations"]


def test_a_failed_create_index_concurrently_names_the_invalid_index_it_leaves(pg: Project) -> None:
    url = pg.url  # type: ignore[attr-defined]
    pg.create_table("2026_01_01_000001_create_users_table", "users", "id bigint PRIMARY KEY, email text")
    assert pg.run("migrate").returncode == 0
    query(url, "INSERT INTO users VALUES (1, 'a'), (2, 'a')")
    pg.write(
        "2026_01_01_000002_unique_email.sql",
        "-- migrate:up transaction:false\nCREATE UNIQUE INDEX CONCURRENTLY users_email ON users (email);\n\n"
        "-- migrate:down\nDROP INDEX users_email;\n",
    )
    result = pg.run("migrate")
    assert_one_error(result, "could not create unique index", "left the index users_email behind, INVALID")
    assert "DROP INDEX CONCURRENTLY users_email" in result.stderr


def test_libpq_environment_variables_fill_what_the_url_leaves_out(pg: Project, postgres_server: Any) -> None:
    name = pg.url.rsplit("/", 1)[1]  # type: ignore[attr-defined]
    pg.create_table("2026_01_01_000001_create_users_table", "users", "id bigint PRIMARY KEY")
    env = {"PGHOST": "127.0.0.1", "PGPORT": str(postgres_server.port), "PGUSER": "postgres"}
    result = pg.run("migrate", "--database", f"postgresql:///{name}", env=env)
    assert result.returncode == 0, result.stderr
    assert applied(pg.url) == ["2026_01_01_000001_create_users_table"]  # type: ignore[attr-defined]


def test_an_enum_label_added_before_one_with_the_same_member_name_does_not_move_its_member(pg: Project) -> None:
    url = pg.url  # type: ignore[attr-defined]
    (pg.root / "pyproject.toml").write_text(PYPROJECT.format(url=url).replace("generate = false\n", ""))
    pg.sql("2026_01_01_000001_mood", "CREATE TYPE mood AS ENUM ('ok', 'Ok');\nCREATE TABLE days (feeling mood);")
    assert pg.run("migrate").returncode == 0
    before = (pg.entities / "enums.py").read_text()
    assert 'OK = "ok"' in before and 'OK_2 = "Ok"' in before
    pg.write(
        "2026_01_01_000002_louder.sql", "-- migrate:up transaction:false\nALTER TYPE mood ADD VALUE 'OK' BEFORE 'ok';\n"
    )
    assert pg.run("migrate").returncode == 0
    after = (pg.entities / "enums.py").read_text()
    assert 'OK = "ok"' in after and 'OK_2 = "Ok"' in after and 'OK_3 = "OK"' in after
    assert after.index('OK_3 = "OK"') < after.index('OK = "ok"')  # the type's order
    check = pg.run("check")
    assert check.returncode == 0, check.stdout + check.stderr


def test_drop_script_lists_what_fresh_drops_but_the_tracking_table_and_its_sequence(pg: Project, pg_url: str) -> None:
    pg.create_table(
        "2026_01_01_000001_create_users_table", "users", "id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
    )
    pg.run("migrate")
    query(
        pg_url,
        "CREATE TYPE mood AS ENUM ('a'); CREATE VIEW v AS SELECT 1 AS one; CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    )
    from kitgen.driver.postgres import PostgresDriver
    from kitgen.driver.url import parse_server_url

    driver = PostgresDriver(parse_server_url(pg_url), lock_timeout=5)
    try:
        script = driver.drop_script()
    finally:
        driver.close()
    assert script == (
        "DROP VIEW IF EXISTS public.v CASCADE;\n"
        "DROP TABLE IF EXISTS public.users CASCADE;\n"
        "DROP SEQUENCE IF EXISTS public.users_id_seq CASCADE;\n"
        "DROP FUNCTION IF EXISTS public.f() CASCADE;\n"
        "DROP TYPE IF EXISTS public.mood CASCADE;\n"
    )
