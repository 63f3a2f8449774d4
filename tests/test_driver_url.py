"""Database settings: SQLite paths and ``sqlite:`` URLs, server URLs, and what is shown of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from kitgen.config import load_config
from kitgen.driver.url import ServerUrl, UrlError, parse_database, parse_server_url
from kitgen.errors import ConfigError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("database/db.sqlite", "/base/database/db.sqlite"),
        ("sqlite:database/db.sqlite", "/base/database/db.sqlite"),
        ("sqlite://database/db.sqlite", "/base/database/db.sqlite"),
        ("sqlite:///abs/db.sqlite", "/abs/db.sqlite"),
        ("sqlite3:///abs/db.sqlite", "/abs/db.sqlite"),
        ("/abs/db.sqlite", "/abs/db.sqlite"),
        ("odd:name.sqlite", "/base/odd:name.sqlite"),
    ],
)
def test_sqlite_paths_and_urls(value: str, expected: str) -> None:
    assert parse_database(value, Path("/base")) == Path(expected)


def test_a_server_url_hides_its_password_and_keeps_it_for_connecting() -> None:
    url = parse_server_url("postgres://app:p%40ss@db.example:5433/shop?sslmode=require")
    assert isinstance(url, ServerUrl) and url.engine == "postgresql"
    assert str(url) == "postgres://app@db.example:5433/shop?sslmode=require"
    assert "p%40ss" in url.conninfo and url.password == "p@ss"
    assert url.hide("FATAL: password p@ss and p%40ss") == "FATAL: password *** and ***"
    assert url.database_name == "shop"


def test_a_password_in_the_query_is_hidden_too() -> None:
    url = parse_server_url("postgresql://db.example/shop?password=hunter2&application_name=x")
    assert "hunter2" not in str(url)
    assert url.hide("hunter2") == "***"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("postgresql://app:p%40ss@db:5433/shop?sslmode=require", "postgresql://app@db:5433/shop?sslmode=require"),
        ("postgresql://db/shop?password=hunter2&search_path=app", "postgresql://db/shop"),
        ("postgresql:///shop?host=/run/pg", "postgresql:///shop?host=%2Frun%2Fpg"),
    ],
)
def test_a_url_for_another_program_command_line_has_no_password(value: str, expected: str) -> None:
    assert parse_server_url(value).without_password == expected


def test_search_path_is_taken_out_of_the_url_for_libpq() -> None:
    url = parse_server_url("postgresql://u@h/db?search_path=app,%20public&sslmode=disable")
    assert url.search_path == ("app", "public")
    assert "search_path" not in url.conninfo and "sslmode=disable" in url.conninfo


def test_another_database_on_the_same_server() -> None:
    url = parse_server_url("postgresql://u:pw@h:1/db?search_path=app").with_database("kitgen_scratch_1")
    assert str(url) == "postgresql://u@h:1/kitgen_scratch_1?search_path=app"
    assert url.password == "pw" and url.search_path == ("app",)


def test_an_unknown_engine_is_refused_with_what_is_supported() -> None:
    with pytest.raises(UrlError, match="mysql:// databases are not supported"):
        parse_database("mysql://u@h/db", Path("/base"))


def test_database_url_is_the_fallback_and_every_explicit_setting_wins(tmp_path: Path) -> None:
    environ = {"DATABASE_URL": "postgresql://u@h/fallback"}
    assert str(load_config(cwd=tmp_path, environ=environ).database) == "postgresql://u@h/fallback"
    explicit = load_config(cwd=tmp_path, environ={**environ, "KITGEN_DATABASE": "x.sqlite"})
    assert explicit.database == tmp_path / "x.sqlite"
    (tmp_path / "pyproject.toml").write_text('[tool.kitgen]\ndatabase = "db.sqlite"\n', encoding="utf-8")
    assert load_config(cwd=tmp_path, environ=environ).database == tmp_path / "db.sqlite"


def test_a_bad_url_names_where_it_came_from(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="from KITGEN_DATABASE"):
        load_config(cwd=tmp_path, environ={"KITGEN_DATABASE": "oracle://u@h/db"})


def test_schemas_and_shadow_database_settings(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.kitgen]\nschemas = ["app", "billing"]\nshadow_database = "postgresql://u:pw@h/shadow"\n',
        encoding="utf-8",
    )
    config = load_config(cwd=tmp_path, environ={})
    assert config.schemas == ("app", "billing")
    assert str(config.shadow_database) == "postgresql://u@h/shadow"
    assert load_config(cwd=tmp_path, environ={"KITGEN_SCHEMAS": "a, b"}).schemas == ("a", "b")


def test_urls_libpq_accepts_keep_their_form() -> None:
    assert parse_server_url("postgresql:///shop").conninfo == "postgresql:///shop"  # host from PGHOST
    assert parse_server_url("postgresql://").conninfo == "postgresql://"
    spaced = parse_server_url("postgresql://u@h/db?options=-c%20statement_timeout%3D5000&application_name=my%20app")
    assert spaced.conninfo.endswith("?options=-c%20statement_timeout%3D5000&application_name=my%20app")
    assert parse_server_url("postgresql:///shop?search_path=app").with_database("x").conninfo == "postgresql:///x"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("postgresql://[::1/db", "not valid"),
        ("postgresql://h:port/db", "not valid"),
        ("host=db.internal user=app password=hunter2 dbname=shop", "key=value connection string"),
    ],
)
def test_a_database_setting_that_cannot_be_used_is_refused_without_echoing_it(value: str, message: str) -> None:
    with pytest.raises(UrlError, match=message) as raised:
        parse_database(value, Path("/base"))
    assert "hunter2" not in str(raised.value.what) + raised.value.hint


def test_a_short_password_is_not_masked_where_it_would_reveal_more() -> None:
    url = parse_server_url("postgresql://u:1@127.0.0.1:5432/db")
    assert url.hide("connection to 127.0.0.1 failed") == "connection to 127.0.0.1 failed"
    assert parse_server_url("postgresql://u:Pa55%@h/db").hide('invalid token: "Pa55%"') == 'invalid token: "***"'
