"""Reading a PostgreSQL schema from pg_catalog on a real server: relations, columns and their kinds, keys,
comments, CHECKs and defaults, schemas, in one read-only snapshot of a fixed number of queries."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from entity_helpers import POSTGRES_SCHEMAS, POSTGRES_SQL, column, postgres_schema_of, table

from kitgen.driver.base import RawForeignKey
from kitgen.driver.postgres_schema import check_expression, read_schema
from kitgen.errors import DatabaseError
from kitgen.schema.constraints import NO_DEFAULT, column_constraints, constant_default
from kitgen.schema.model import EnumType, ForeignKey, Schema


@pytest.fixture
def connection(pg_url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection in UTC, as the driver opens it, on a database holding POSTGRES_SQL."""
    with psycopg.connect(pg_url, autocommit=True) as found:
        found.execute("SET TimeZone TO 'UTC'")
        found.execute(POSTGRES_SQL)
        yield found


@pytest.fixture
def schema(connection: psycopg.Connection[Any]) -> Schema:
    return postgres_schema_of(connection, POSTGRES_SCHEMAS)


def kinds(schema: Schema, name: str) -> dict[str, tuple[str, str, str]]:
    return {found.name: (found.kind, found.element, found.enum) for found in table(schema, name).columns}


def test_relations_are_tables_partitioned_tables_views_and_materialized_views(
    connection: psycopg.Connection[Any],
) -> None:
    connection.execute("CREATE TABLE kitgen_migrations (id integer)")
    connection.execute("CREATE TABLE billing.kitgen_migrations (id integer)")
    connection.execute("CREATE SCHEMA unlisted; CREATE TABLE unlisted.hidden (id integer)")
    raw = read_schema(connection, POSTGRES_SCHEMAS)

    assert raw.engine == "postgres"
    assert raw.relations == (
        ("billing.invoices", "table"),
        ("events", "table"),  # its partitions events_2025 and events_2026 have no entity of their own
        ("every_types", "table"),
        ("owner_counts", "view"),
        ("owner_names", "view"),
        ("owners", "table"),
    )  # no pg_buffercache (the extension's view), no tracking table, nothing of an unlisted schema
    assert dict(raw.variants) == {"events": "partitioned", "owner_counts": "materialized"}


def test_a_role_that_cannot_read_a_table_still_reads_its_definition(pg_url: str) -> None:
    role = f"reader_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(POSTGRES_SQL)
        admin.execute(f"CREATE ROLE {role} LOGIN")
        try:
            with psycopg.connect(pg_url.replace("postgres@", f"{role}@"), autocommit=True) as reader:
                seen = read_schema(reader, POSTGRES_SCHEMAS)  # no USAGE on billing, no SELECT anywhere
            expected = read_schema(admin, POSTGRES_SCHEMAS)
        finally:
            admin.execute(f"DROP ROLE {role}")
    assert ("billing.invoices", "table") in seen.relations
    assert seen == expected


def test_each_column_kind_comes_from_the_catalog_type(schema: Schema) -> None:
    assert kinds(schema, "every_types") == {
        "id": ("int", "", ""),
        "small": ("int", "", ""),
        "whole": ("int", "", ""),
        "big": ("int", "", ""),
        "object": ("int", "", ""),
        "amount": ("decimal", "", ""),
        "ratio": ("float", "", ""),
        "precise": ("float", "", ""),
        "body": ("str", "", ""),
        "code": ("str", "", ""),
        "fixed": ("str", "", ""),
        "label": ("str", "", ""),
        "nick": ("str", "", ""),
        "doc": ("str", "", ""),
        "words": ("str", "", ""),
        "mac": ("str", "", ""),
        "price": ("str", "", ""),
        "flag": ("bool", "", ""),
        "blob": ("bytes", "", ""),
        "day": ("date", "", ""),
        "at_time": ("time", "", ""),
        "at_time_tz": ("time", "", ""),
        "stamp": ("datetime", "", ""),
        "moment": ("timestamptz", "", ""),
        "span": ("timedelta", "", ""),
        "token": ("uuid", "", ""),
        "meta": ("json", "", ""),
        "data": ("json", "", ""),
        "feeling": ("enum", "", "mood"),
        "oddity": ("enum", "", "odd"),
        "address": ("inet", "", ""),
        "network": ("cidr", "", ""),
        "period": ("any", "", ""),
        "spot": ("any", "", ""),
        "numbers": ("list", "int", ""),
        "tags": ("list", "str", ""),
        "feelings": ("list", "enum", "mood"),
        "oddities": ("list", "enum", "odd"),
        "count": ("int", "", ""),
        "contact": ("str", "", ""),
        "owner_id": ("int", "", ""),
        "doubled": ("int", "", ""),
        "score": ("int", "", ""),
    }
    assert schema.engine == "postgres"
    assert schema.enums == (
        EnumType("billing.currency", ("EUR", "USD")),
        EnumType("mood", ("sad", "ok", "happy", "in progress")),
        EnumType("odd", ("a,b", 'say "hi"', "back\\slash", "NULL", " spaced ", "{braces}")),
    )


def test_a_kind_is_never_guessed_from_the_type_name(connection: psycopg.Connection[Any]) -> None:
    """SQLite's affinity rules would make these int, str, datetime, bool, json: the catalog says otherwise."""
    connection.execute(
        "CREATE TYPE points_of_interest AS (x integer, y integer);"
        "CREATE DOMAIN character_count AS numeric;"
        "CREATE TYPE datetime_kind AS ENUM ('utc', 'local');"
        "CREATE TABLE misleading (interval_text tsquery, boolean_ish bit(1), json_blob int4range,"
        " place points_of_interest, counted character_count, which datetime_kind)"
    )
    assert kinds(postgres_schema_of(connection), "misleading") == {
        "interval_text": ("any", "", ""),
        "boolean_ish": ("any", "", ""),
        "json_blob": ("any", "", ""),
        "place": ("any", "", ""),
        "counted": ("decimal", "", ""),
        "which": ("enum", "", "datetime_kind"),
    }


def test_a_domain_is_its_base_type_with_its_not_null(schema: Schema) -> None:
    count = column(schema, "every_types", "count")
    contact = column(schema, "every_types", "contact")
    assert (count.declared_type, count.base_type, count.not_null, count.nullable) == (
        "positive",
        "integer",
        True,
        False,
    )
    assert (contact.declared_type, contact.base_type, contact.nullable) == ("email", "character varying(40)", True)
    assert column_constraints(table(schema, "every_types"), "postgres")["contact"].max_length == 40


def test_identity_serial_and_generated_columns(schema: Schema) -> None:
    owners_id = column(schema, "owners", "id")
    serial, big, doubled = (column(schema, "every_types", name) for name in ("id", "big", "doubled"))
    assert (owners_id.identity, owners_id.default, owners_id.rowid) == ("always", None, False)
    assert (big.identity, big.default) == ("by default", None)
    assert (serial.identity, serial.default) == ("", "nextval('every_types_id_seq'::regclass)")
    assert (doubled.generated, doubled.default) == (True, None)  # its expression is no default


def test_keys_unique_sets_and_foreign_keys(connection: psycopg.Connection[Any]) -> None:
    connection.execute(
        "CREATE TABLE pairs (a integer, b integer, c integer, d integer, e text, PRIMARY KEY (b, a),"
        " FOREIGN KEY (c, d) REFERENCES pairs (a, b) ON DELETE CASCADE ON UPDATE RESTRICT,"
        " UNIQUE (c) INCLUDE (d));"
        "CREATE UNIQUE INDEX pairs_partial ON pairs (d) WHERE d > 0;"
        "CREATE UNIQUE INDEX pairs_expression ON pairs (lower(e));"
        "CREATE UNIQUE INDEX pairs_e_d ON pairs (e, d)"
    )
    raw = read_schema(connection, POSTGRES_SCHEMAS)
    schema = postgres_schema_of(connection, POSTGRES_SCHEMAS)
    pairs = table(schema, "pairs")

    assert pairs.primary_key == ("b", "a")
    assert [(found.name, found.unique) for found in pairs.columns if found.unique] == [("c", True)]
    assert pairs.unique_together == (("e", "d"),)
    assert table(schema, "events").primary_key == ("id", "happened")
    assert table(schema, "every_types").unique_together == (("small", "whole"),)
    assert column(schema, "owners", "name").unique
    assert column(schema, "owner_counts", "owner_id").unique  # a unique index on a materialized view
    assert [key for key in raw.foreign_keys if key.table == "pairs"] == [
        RawForeignKey("pairs", "c", "pairs", "a", "RESTRICT", "CASCADE"),
        RawForeignKey("pairs", "d", "pairs", "b", "RESTRICT", "CASCADE"),
    ]
    assert column(schema, "every_types", "owner_id").foreign_key == ForeignKey("owners", "id", "SET NULL", "CASCADE")
    assert column(schema, "billing.invoices", "owner_id").foreign_key == ForeignKey("owners", "id")


def test_comments_and_the_columns_of_views(schema: Schema) -> None:
    assert table(schema, "owners").comment == "People who own things."
    assert column(schema, "owners", "name").comment == "Full name,\nas written."
    assert column(schema, "every_types", "span").comment == "How long it lasted."
    assert table(schema, "every_types").comment is None
    for name in ("owner_names", "owner_counts"):  # a view's column can be NULL whatever its source says
        assert all(found.nullable and not found.not_null for found in table(schema, name).columns), name
    assert table(schema, "owner_names").primary_key == ()


def test_checks_and_constant_defaults_read_from_the_catalog(schema: Schema) -> None:
    every = table(schema, "every_types")
    stated = column_constraints(every, "postgres")
    assert stated["code"].choices == ("a", "b") and stated["code"].max_length == 8
    assert stated["score"].bounds == (("ge", 0), ("le", 100))
    assert column_constraints(table(schema, "billing.invoices"), "postgres")["total"].bounds == (("ge", 0),)
    defaults = {found.name: constant_default(found.default, found.kind, "postgres") for found in every.columns}
    assert (defaults["whole"], defaults["ratio"], defaults["body"], defaults["flag"]) == (-5, 0.5, "it's", True)
    assert defaults["feeling"] == "happy"
    assert defaults["id"] is NO_DEFAULT and defaults["moment"] is NO_DEFAULT  # nextval(…), now()
    assert defaults["small"] is NO_DEFAULT  # no default at all


def test_a_check_is_read_without_what_pg_get_constraintdef_puts_around_it() -> None:
    assert check_expression("CHECK ((a > 0))") == "(a > 0)"
    assert check_expression("CHECK ((a > 0)) NO INHERIT") == "(a > 0)"
    assert check_expression("CHECK ((a <> ') NOT VALID'::text)) NOT VALID") == "(a <> ') NOT VALID'::text)"


def test_the_first_schema_is_unqualified_and_the_others_qualified(connection: psycopg.Connection[Any]) -> None:
    schema = postgres_schema_of(connection, ("billing", "public"))
    names = [found.name for found in schema.tables]
    assert names == [
        "invoices",
        "public.events",
        "public.every_types",
        "public.owner_counts",
        "public.owner_names",
        "public.owners",
    ]
    assert column(schema, "invoices", "owner_id").foreign_key == ForeignKey("public.owners", "id")
    assert column(schema, "invoices", "currency").enum == "currency"
    assert column(schema, "public.every_types", "feeling").declared_type == "public.mood"
    assert [found.name for found in schema.enums] == ["currency", "public.mood", "public.odd"]


def test_the_session_search_path_changes_nothing(connection: psycopg.Connection[Any]) -> None:
    expected = read_schema(connection, POSTGRES_SCHEMAS)
    connection.execute("SET search_path TO billing, pg_catalog, public")
    connection.execute("SET TimeZone TO 'Asia/Tokyo'")
    assert read_schema(connection, POSTGRES_SCHEMAS) == expected
    assert connection.execute("SHOW search_path").fetchone() == ("billing, pg_catalog, public",)  # left as it was


class CountingConnection(psycopg.Connection[Any]):
    """A real connection that records the statements run through ``execute`` (and can fail the n-th)."""

    statements: list[str]
    fail_at: int | None = None

    def execute(self, query: Any, params: Any = None, **options: Any) -> Any:
        self.statements.append(" ".join(str(query).split()))
        if self.fail_at is not None and len(self.statements) == self.fail_at:
            raise psycopg.OperationalError("the connection went away")
        return super().execute(query, params, **options)


def counted(pg_url: str, tables: int) -> list[str]:
    with CountingConnection.connect(pg_url, autocommit=True) as found:
        found.statements = []
        found.execute(f"CREATE SCHEMA s{tables}")
        for number in range(tables):
            found.execute(
                f"CREATE TABLE s{tables}.t{number} (id integer PRIMARY KEY, ref integer REFERENCES s{tables}.t0)"
            )
        found.statements = []
        raw = read_schema(found, [f"s{tables}"])
        assert len(raw.relations) == tables
        assert found.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        return found.statements


def test_one_read_only_snapshot_in_the_same_few_queries_for_any_number_of_tables(pg_url: str) -> None:
    one, forty = counted(pg_url, 1), counted(pg_url, 40)
    assert len(one) == len(forty) <= 10
    assert one[0] == "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
    assert one[-1] == "COMMIT"


def test_a_failed_read_leaves_no_transaction_open(pg_url: str) -> None:
    with CountingConnection.connect(pg_url, autocommit=True) as found:
        found.statements = []
        found.execute(POSTGRES_SQL)
        found.statements, found.fail_at = [], 4
        with pytest.raises(psycopg.OperationalError):
            read_schema(found, POSTGRES_SCHEMAS)
        found.fail_at = None
        assert found.statements[-1] == "ROLLBACK"
        assert found.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert ("owners", "table") in read_schema(found, POSTGRES_SCHEMAS).relations


def test_a_connection_that_is_not_in_autocommit_mode_is_refused(pg_url: str) -> None:
    with psycopg.connect(pg_url) as found, pytest.raises(DatabaseError, match="autocommit"):
        read_schema(found, ["public"])


def test_reading_twice_gives_the_same_schema(connection: psycopg.Connection[Any]) -> None:
    assert read_schema(connection, POSTGRES_SCHEMAS) == read_schema(connection, POSTGRES_SCHEMAS)
