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

from kitgen.driver.base import TRACKING_TABLE
from kitgen.driver.sqlite_schema import shadow_tables

KINDS = ("table", "index", "view", "trigger")  # the order they are written in
OBJECTS = """
SELECT type, name, tbl_name, sql FROM sqlite_master
WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
"""


def schema_statements(connection: sqlite3.Connection) -> list[str]:
    """Every CREATE statement of the schema, in the order they load in (see the module's docstring)."""
    rows = connection.execute(OBJECTS).fetchall()
    relations = [(name, kind, sql) for kind, name, _, sql in rows if kind in ("table", "view")]
    left_out = shadow_tables(connection, relations) | {TRACKING_TABLE}
    kept = [
        (KINDS.index(kind), name, sql.strip())
        for kind, name, table, sql in rows
        if kind in KINDS and name not in left_out and table not in left_out
    ]
    return [sql for _, _, sql in sorted(kept)]


def schema_text(connection: sqlite3.Connection) -> str:
    """The statements as one script: each ends with ``;`` and a blank line follows it."""
    return "".join(f"{statement};\n\n" for statement in schema_statements(connection))
