"""The DDL of a SQLite database, as ``schema:dump`` writes it.

SQLite keeps each object's CREATE statement as it was run (``sqlite_master.sql``, rewritten in
place by ALTER TABLE), so the dump is those statements. It depends on the schema only, not on the
order things were created in: tables (virtual tables among them), then indexes, views and
triggers, each kind sorted by name. That is also an order they load in: SQLite resolves a foreign
key's table and a view's tables when they are used, not when they are created; an index or a
trigger needs its table or view first. Internal tables (``sqlite_*``), the tables a virtual table
keeps its data in, and kitgen's tracking table are left out.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from kitgen.driver.base import TRACKING_TABLE
from kitgen.driver.sqlite_schema import shadow_tables

KINDS = ("table", "index", "view", "trigger")  # the order they are written in
OBJECTS = """
SELECT type, name, tbl_name, sql FROM sqlite_master
WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
"""


@dataclass(frozen=True)
class SchemaObject:
    """One object of the dump: its kind (``KINDS``), name and CREATE statement."""

    kind: str
    name: str
    sql: str


def schema_objects(connection: sqlite3.Connection) -> list[SchemaObject]:
    """Every object of the schema, in the order they load in (see the module's docstring)."""
    rows = connection.execute(OBJECTS).fetchall()
    relations = [(name, kind, sql) for kind, name, _, sql in rows if kind in ("table", "view")]
    left_out = shadow_tables(connection, relations) | {TRACKING_TABLE}
    kept = [
        (KINDS.index(kind), name, sql.strip())
        for kind, name, table, sql in rows
        if kind in KINDS and name not in left_out and table not in left_out
    ]
    return [SchemaObject(KINDS[kind], name, sql) for kind, name, sql in sorted(kept)]


def schema_text(connection: sqlite3.Connection) -> str:
    """The statements as one script: each ends with ``;`` and a blank line follows it."""
    return "".join(f"{item.sql};\n\n" for item in schema_objects(connection))


def drop_text(connection: sqlite3.Connection) -> str:
    """The script that drops what ``schema_text`` creates, in the reverse order: views, then tables (a
    table's indexes and triggers go with it, a view's triggers with the view). It runs with foreign
    keys suspended, as kitgen runs a ``.sql`` down on SQLite: no table's rows are deleted one by one
    first, and the order between tables does not matter."""
    dropped = [item for item in reversed(schema_objects(connection)) if item.kind in ("view", "table")]
    return "".join(f"DROP {item.kind.upper()} IF EXISTS {quote_name(item.name)};\n" for item in dropped)


def quote_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
