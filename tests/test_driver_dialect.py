"""Dialects: what each engine's templates write, and which names PostgreSQL needs quoted (asked of the server)."""

from __future__ import annotations

import psycopg
import pytest

from kitgen.driver.dialect import POSTGRESQL, POSTGRESQL_RESERVED, SQLITE, dialect_for
from kitgen.errors import ConfigError

LATER_RESERVED = frozenset({"system_user"})  # reserved from PostgreSQL 16 on


def server_keywords(url: str) -> dict[str, str]:
    with psycopg.connect(url) as connection:
        return dict(connection.execute("SELECT word, catcode::text FROM pg_get_keywords()").fetchall())


def test_the_reserved_words_are_the_servers(pg_url: str) -> None:
    reserved = {word for word, category in server_keywords(pg_url).items() if category in ("R", "T")}
    regenerated = " ".join(sorted(reserved | LATER_RESERVED))
    assert reserved <= POSTGRESQL_RESERVED, f"regenerate POSTGRESQL_RESERVED: {regenerated}"
    assert POSTGRESQL_RESERVED - reserved <= LATER_RESERVED, f"regenerate POSTGRESQL_RESERVED: {regenerated}"


def test_the_server_refuses_exactly_the_names_the_dialect_quotes(pg_url: str) -> None:
    names = [*server_keywords(pg_url), "users", "user_profiles", "a1", "_x", "2fa", "x$y"]
    refused = []
    with psycopg.connect(pg_url, autocommit=True) as connection:
        for name in names:
            try:
                with connection.transaction(force_rollback=True):
                    connection.execute(f"CREATE TABLE {name} ({name} int); ALTER TABLE {name} ADD COLUMN {name}2 int")
            except psycopg.errors.SyntaxError:
                refused.append(name)
        for name in names:
            with connection.transaction(force_rollback=True):
                quoted = POSTGRESQL.quote_name(name)
                connection.execute(f"CREATE TABLE {quoted} ({quoted} int)")
                connection.execute(f"ALTER TABLE {quoted} DROP COLUMN {quoted}")
    assert sorted(refused) == sorted(
        name for name in names if name not in LATER_RESERVED and POSTGRESQL.needs_quotes(name)
    )
    assert POSTGRESQL.quote_name("order") == '"order"' and POSTGRESQL.quote_name("users") == "users"


def test_sqlite_quotes_what_sqlite_refuses() -> None:
    assert [SQLITE.quote_name(name) for name in ("order", "group", "users", "user")] == [
        '"order"',
        '"group"',
        "users",
        "user",
    ]


def test_dialects_are_found_by_engine_name() -> None:
    assert dialect_for("sqlite") is SQLITE
    assert dialect_for("postgresql") is POSTGRESQL
    with pytest.raises(ConfigError, match="unknown database engine 'mysql'") as raised:
        dialect_for("mysql")
    assert raised.value.hint == "use one of postgresql, sqlite"
