"""The tracking table on PostgreSQL: ``kitgen_migrations`` in the search_path's first schema.

Always named schema-qualified (``table`` below is the quoted ``schema.kitgen_migrations``), so a
migration that changes the session's search_path cannot make kitgen write its row elsewhere.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from kitgen.driver.base import AppliedMigration
from kitgen.migrations.base import Database

if TYPE_CHECKING:
    import psycopg

TRACKING_COLUMNS = (
    "name, batch, checksum, raw_hash, source, format, transactional, model, applied_at, created, checksum_scheme"
)
TRACKING_DDL = """CREATE TABLE IF NOT EXISTS {table} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE,
    batch integer NOT NULL,
    checksum text NOT NULL,
    raw_hash text NOT NULL,
    source text NOT NULL,
    format text NOT NULL,
    transactional boolean NOT NULL,
    model text,
    applied_at text NOT NULL,
    created text NOT NULL DEFAULT '[]',
    checksum_scheme text NOT NULL DEFAULT '1'
)"""


def exists(connection: psycopg.Connection[Any], table: str) -> bool:
    row = connection.execute("SELECT to_regclass(%s)", (table,)).fetchone()
    return row is not None and row[0] is not None


def read(connection: psycopg.Connection[Any], table: str) -> list[AppliedMigration]:
    """The tracking rows in the order they were applied (none before the table exists)."""
    if not exists(connection, table):
        return []
    rows = connection.execute(f"SELECT {TRACKING_COLUMNS} FROM {table} ORDER BY id".encode()).fetchall()
    return [_applied_from_row(row) for row in rows]


def create(db: Database, schema: str, table: str) -> None:
    db.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    db.execute(TRACKING_DDL.format(table=table))


def insert(db: Database, table: str, row: AppliedMigration) -> None:
    db.execute(
        f"INSERT INTO {table} ({TRACKING_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            row.name,
            row.batch,
            row.checksum,
            row.raw_hash,
            row.source,
            row.format,
            row.transactional,
            row.model,
            row.applied_at,
            json.dumps(list(row.created)),
            row.checksum_scheme,
        ),
    )


def update(db: Database, table: str, name: str, row: AppliedMigration) -> None:
    """The row of ``name`` describes ``row``; its batch, time and created relations stay."""
    db.execute(
        f"UPDATE {table} SET name = %s, checksum = %s, raw_hash = %s, source = %s, format = %s, "
        "transactional = %s, model = %s, checksum_scheme = %s WHERE name = %s",
        (
            row.name,
            row.checksum,
            row.raw_hash,
            row.source,
            row.format,
            row.transactional,
            row.model,
            row.checksum_scheme,
            name,
        ),
    )


def delete(db: Database, table: str, name: str) -> None:
    db.execute(f"DELETE FROM {table} WHERE name = %s", (name,))


def _applied_from_row(row: tuple[Any, ...]) -> AppliedMigration:
    name, batch, checksum, raw_hash, source, fmt, transactional, model, applied_at, created, scheme = row
    return AppliedMigration(
        name, batch, checksum, raw_hash, source, fmt, bool(transactional), model, applied_at,
        tuple(json.loads(created)), scheme,
    )  # fmt: skip
