"""``PostgresDriver.dump_schema``: pg_dump's text, normalised, loaded back through ``executescript``.

The round trips run on the session's real server; the normaliser is also given synthetic pg_dump
text, for what a newer pg_dump writes (random ``\\restrict`` keys, other versions).
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pg_server
import psycopg
import pytest

from kitgen.driver.postgres import PostgresDriver
from kitgen.driver.postgres_dump import find_pg_dump, normalise, run_pg_dump
from kitgen.driver.url import parse_server_url
from kitgen.errors import DatabaseError

SCHEMA = """
CREATE EXTENSION citext;
CREATE EXTENSION earthdistance CASCADE;  -- requires cube, which must be created first
CREATE SCHEMA ext;
CREATE EXTENSION hstore WITH SCHEMA ext;
CREATE SCHEMA "App";  -- a mixed-case name: pg_dump is given quoted patterns
CREATE TYPE mood AS ENUM ('sad', 'happy');
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE SEQUENCE tickets START 100;
CREATE TABLE authors (
    id serial PRIMARY KEY,
    email citext NOT NULL UNIQUE,
    favourite_book integer,
    mood mood,
    age positive CHECK (age < 150)
);
CREATE TABLE books (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id integer NOT NULL REFERENCES authors (id) ON DELETE CASCADE,
    title text NOT NULL,
    tags text DEFAULT ext.hstore('kind', 'novel')::text,
    UNIQUE (author_id, title)
);
ALTER TABLE authors ADD FOREIGN KEY (favourite_book) REFERENCES books (id) DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX books_title ON books (lower(title));
CREATE INDEX authors_sad ON authors (email) WHERE mood = 'sad';
CREATE VIEW titles AS SELECT id, title FROM books;
CREATE VIEW short_titles AS SELECT id FROM titles WHERE length(title) < 10;
CREATE MATERIALIZED VIEW counts AS SELECT author_id, count(*) AS n FROM books GROUP BY author_id;
CREATE FUNCTION lower_email() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.email := lower(NEW.email);

    RETURN NEW;
END;
$$;
CREATE TRIGGER authors_lower BEFORE INSERT OR UPDATE ON authors FOR EACH ROW EXECUTE FUNCTION lower_email();
COMMENT ON TABLE books IS 'what authors wrote';
COMMENT ON COLUMN books.title IS 'as printed';
CREATE TABLE events (id bigint, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE INDEX events_at ON events (at);
CREATE TABLE "App".reviews (id bigserial PRIMARY KEY, book_id integer REFERENCES public.books (id));
"""


def run(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(sql)


@pytest.fixture
def other_url(postgres_server: pg_server.Server) -> Iterator[str]:
    """A second empty database on the session's server."""
    name = pg_server.new_database_name()
    run(postgres_server.url(), f'CREATE DATABASE "{name}"')
    yield postgres_server.url(name)
    run(postgres_server.url(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def driver(url: str, schemas: tuple[str, ...] = ()) -> PostgresDriver:
    return PostgresDriver(parse_server_url(url), lock_timeout=5, schemas=schemas)


def load(target: PostgresDriver, text: str) -> None:
    """As the loader does: one transaction of kitgen's session."""
    with target.transaction() as db:
        db.executescript(text)


@pytest.fixture
def source(pg_url: str) -> Iterator[PostgresDriver]:
    """A database holding every kind of object, in two managed schemas, with a tracking table."""
    run(pg_url, SCHEMA)
    managed = driver(pg_url, ("public", "App"))
    managed.ensure_tracking_table()
    yield managed
    managed.close()


def test_a_dump_loads_into_an_empty_database_and_dumps_back_identically(source: PostgresDriver, other_url: str) -> None:
    text = source.dump_schema()
    target = driver(other_url, ("public", "App"))
    try:
        load(target, text)
        assert target.dump_schema() == text
    finally:
        target.close()


def test_a_loaded_materialized_view_is_readable_as_the_migrations_left_it(
    source: PostgresDriver, other_url: str
) -> None:
    text = source.dump_schema()
    assert text.rstrip().endswith("REFRESH MATERIALIZED VIEW public.counts;")
    assert "-- Name: counts; Type: MATERIALIZED VIEW DATA; Schema: public; Owner: -" in text
    target = driver(other_url, ("public", "App"))
    try:
        load(target, text)
        assert target.connection.execute("SELECT count(*) FROM counts").fetchone() == (0,)
    finally:
        target.close()


def test_a_materialized_view_made_with_no_data_is_loaded_with_no_data(pg_url: str, other_url: str) -> None:
    run(
        pg_url,
        "CREATE TABLE items (id int); CREATE MATERIALIZED VIEW empty AS SELECT count(*) FROM items WITH NO DATA;",
    )
    source = driver(pg_url)
    target = driver(other_url)
    try:
        text = source.dump_schema()
        assert "REFRESH" not in text
        load(target, text)
        row = target.connection.execute("SELECT ispopulated FROM pg_matviews WHERE matviewname = 'empty'").fetchone()
        assert row == (False,)
    finally:
        source.close()
        target.close()


def test_a_dump_loads_again_after_migrate_fresh_kept_the_schemas_and_extensions(source: PostgresDriver) -> None:
    text = source.dump_schema()
    source.drop_all()
    load(source, text)
    assert source.dump_schema() == text


def test_the_dump_is_stable_and_carries_no_version_key_or_tracking_table(source: PostgresDriver) -> None:
    text = source.dump_schema()
    assert source.dump_schema() == text
    version = source.connection.execute("SELECT current_setting('server_version')").fetchone()
    assert version is not None and version[0] not in text
    for absent in ("Dumped", "database dump", "\\restrict", "\\unrestrict", "kitgen_migrations"):
        assert absent not in text
    assert "\n\n\n" not in text


def test_extensions_are_created_first_and_plpgsql_is_left_to_the_database(source: PostgresDriver) -> None:
    text = source.dump_schema()
    assert "CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA public;" in text
    assert "CREATE SCHEMA IF NOT EXISTS ext;" in text
    assert text.index("CREATE EXTENSION IF NOT EXISTS hstore WITH SCHEMA ext;") < text.index("CREATE TABLE")
    assert text.index("EXISTS cube WITH") < text.index("EXISTS earthdistance WITH")
    assert "EXISTS plpgsql" not in text
    assert 'CREATE SCHEMA IF NOT EXISTS "App";' in text and 'CREATE TABLE "App".reviews' in text
    assert "CREATE SCHEMA public" not in text and "COMMENT ON SCHEMA public" not in text


def test_loading_leaves_kitgen_session_as_it_was(pg_url: str, other_url: str) -> None:
    run(pg_url, "CREATE TABLE notes (id integer PRIMARY KEY, body text)")
    source = driver(pg_url)
    text = source.dump_schema()
    source.close()
    target = driver(other_url)
    try:
        load(target, text)
        settings = "SELECT current_setting('search_path'), current_setting('lock_timeout'), current_setting('client_min_messages')"
        assert target.connection.execute(settings).fetchone() == ('"$user", public', "5s", "notice")
        with target.transaction() as db:  # the next migration of the same run, unqualified
            db.execute("CREATE TABLE later (id integer REFERENCES notes (id))")
        assert "CREATE TABLE public.notes" in target.dump_schema()
    finally:
        target.close()


def test_a_database_without_objects_dumps_only_settings_and_a_missing_one_nothing(
    pg_url: str, postgres_server: pg_server.Server
) -> None:
    empty = driver(pg_url)
    assert empty.dump_schema().startswith("SET LOCAL statement_timeout = 0;\n")
    empty.close()
    assert driver(postgres_server.url("t_never_created")).dump_schema() == ""


SYNTHETIC = """--
-- PostgreSQL database dump
--

\\restrict {key}

-- Dumped from database version {version}
-- Dumped by pg_dump version {version}

SET statement_timeout = 0;
SET lock_timeout = 0;
SET transaction_timeout = 0;
SET client_encoding = 'UTF8';
SELECT pg_catalog.set_config('search_path', '', false);



--
-- Name: app; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA app;


--
-- Name: public; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA public;


--
-- Name: SCHEMA public; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON SCHEMA public IS 'standard public schema';


--
-- Name: f(); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.f() RETURNS void
    LANGUAGE sql
    AS $$
SET work_mem = '1MB';


SELECT 1;
$$;


--
-- PostgreSQL database dump complete
--

\\unrestrict {key}

"""
NORMALISED = """SET LOCAL statement_timeout = 0;
SET LOCAL transaction_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', true);

--
-- Name: app; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA IF NOT EXISTS app;

--
-- Name: f(); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.f() RETURNS void
    LANGUAGE sql
    AS $$
SET work_mem = '1MB';


SELECT 1;
$$;
"""


def test_the_normaliser_drops_versions_and_random_keys_and_keeps_routine_bodies() -> None:
    newer = SYNTHETIC.format(key="a1B2c3", version="17.6 (Debian 17.6-1)")
    older = SYNTHETIC.format(key="Zz9Yy8", version="15.18")
    assert normalise(newer) == normalise(older) == NORMALISED


def test_no_pg_dump_able_to_dump_the_server_says_which_client_to_install(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError) as caught:
        find_pg_dump(99, [str(tmp_path / "missing"), *find_candidates()])
    assert "schema:dump on PostgreSQL runs pg_dump" in caught.value.what
    assert "postgresql-client-99" in caught.value.hint


def find_candidates() -> list[str]:
    from kitgen.driver.postgres_dump import pg_dump_candidates

    return pg_dump_candidates()


def fake_pg_dump(tmp_path: Path, body: str) -> str:
    """A stand-in pg_dump (to see what it is given, or fail as a real one would)."""
    program = tmp_path / "pg_dump"
    program.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    program.chmod(program.stat().st_mode | stat.S_IEXEC)
    return str(program)


def test_the_password_goes_through_the_environment_never_the_command_line(tmp_path: Path) -> None:
    url = parse_server_url("postgresql://kit:s3cret-pass@db.example:5433/shop?sslmode=disable&search_path=app")
    program = fake_pg_dump(tmp_path, 'echo "$PGPASSWORD"; echo "$@"')
    password, arguments = run_pg_dump(program, url, ["--schema-only"]).splitlines()
    assert password == "s3cret-pass"
    assert arguments == "--schema-only --dbname=postgresql://kit@db.example:5433/shop?sslmode=disable"


def test_a_pg_dump_failure_is_reported_without_the_password(tmp_path: Path) -> None:
    url = parse_server_url("postgresql://kit:s3cret-pass@db.example/shop")
    program = fake_pg_dump(tmp_path, 'echo "pg_dump: error: connection failed for $PGPASSWORD" >&2; exit 1')
    with pytest.raises(DatabaseError) as caught:
        run_pg_dump(program, url, [])
    assert "s3cret-pass" not in str(caught.value)
    assert "pg_dump could not dump postgresql://kit@db.example/shop: connection failed for ***" in caught.value.what


def test_a_real_pg_dump_failure_names_the_cause(pg_url: str) -> None:
    url = parse_server_url(pg_url).with_database("t_absent")
    with pytest.raises(DatabaseError) as caught:
        run_pg_dump(find_candidates()[0], url, ["--schema-only"])
    assert 'database "t_absent" does not exist' in caught.value.what
