"""The session's PostgreSQL server is real and each test gets an empty database of its own."""

from __future__ import annotations

import psycopg


def test_each_test_gets_an_empty_database_on_a_real_server(pg_url: str) -> None:
    with psycopg.connect(pg_url) as connection:
        version = connection.execute("SHOW server_version_num").fetchone()
        tables = connection.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
    assert version is not None and int(version[0]) >= 150000
    assert tables == (0,)
