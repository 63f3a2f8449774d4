"""Reading a SQLite schema: sqlite_master and the table-valued pragma functions.

Four queries in all, whatever the number of tables: each pragma is joined with
sqlite_master instead of being run once per table.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from kitgen.driver.base import TRACKING_TABLE, RawColumn, RawForeignKey, RawSchema

RELATIONS = """
SELECT name, type, sql FROM sqlite_master
WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name != ?
ORDER BY name
"""
COLUMNS = """
SELECT m.name, p.cid, p.name, p.type, p."notnull", p.dflt_value, p.pk, p.hidden
FROM sqlite_master AS m JOIN pragma_table_xinfo(m.name) AS p
WHERE m.type IN ('table', 'view')
ORDER BY m.name, p.cid
"""
COLUMNS_OF = 'SELECT cid, name, type, "notnull", dflt_value, pk, hidden FROM pragma_table_xinfo(?) ORDER BY cid'
UNIQUE_INDEXES = """
SELECT m.name, il.name, ii.seqno, ii.name
FROM sqlite_master AS m JOIN pragma_index_list(m.name) AS il JOIN pragma_index_info(il.name) AS ii
WHERE m.type = 'table' AND il."unique" = 1 AND il.partial = 0 AND il.origin != 'pk'
ORDER BY m.name, il.name, ii.seqno
"""
# A primary key backed by an index of its own is not an alias of the rowid (INTEGER PRIMARY KEY DESC,
# WITHOUT ROWID tables, non-INTEGER keys).
INDEXED_KEYS = """
SELECT DISTINCT m.name FROM sqlite_master AS m JOIN pragma_index_list(m.name) AS il
WHERE m.type = 'table' AND il.origin = 'pk'
"""
WITHOUT_ROWID = re.compile(r"\)\s*(?:STRICT\s*,\s*)?WITHOUT\s+ROWID\b", re.IGNORECASE)
FOREIGN_KEYS = """
SELECT m.name, fk.id, fk.seq, fk."from", fk."table", fk."to", fk.on_update, fk.on_delete
FROM sqlite_master AS m JOIN pragma_foreign_key_list(m.name) AS fk
WHERE m.type = 'table'
ORDER BY m.name, fk.id, fk.seq
"""
SHADOW_SUFFIXES = (
    "_data",
    "_idx",
    "_content",
    "_docsize",
    "_config",
    "_node",
    "_rowid",
    "_parent",
    "_segments",
    "_segdir",
    "_stat",
    "_vocab",
)


def read_schema(connection: sqlite3.Connection) -> RawSchema:
    relations = connection.execute(RELATIONS, (TRACKING_TABLE,)).fetchall()
    shadow = shadow_tables(connection, relations)
    kept = {name: kind for name, kind, _ in relations if name not in shadow}
    rows, broken = _column_rows(connection, kept)
    kept = {name: kind for name, kind in kept.items() if name not in broken}
    columns = tuple(
        RawColumn(table, cid, name, declared or "", bool(not_null), default, pk, hidden in (2, 3))
        for table, cid, name, declared, not_null, default, pk, hidden in rows
        if table in kept and hidden != 1
    )
    return RawSchema(
        relations=tuple(sorted(kept.items())),
        indexed_keys=frozenset(row[0] for row in connection.execute(INDEXED_KEYS) if row[0] in kept),
        without_rowid=frozenset(name for name, _, sql in relations if name in kept and WITHOUT_ROWID.search(sql or "")),
        sql=tuple((name, sql or "") for name, _, sql in relations if name in kept),
        columns=columns,
        unique_indexes=_unique_indexes(connection, kept),
        foreign_keys=tuple(
            RawForeignKey(table, source, target, to, on_update, on_delete)
            for table, _, _, source, target, to, on_update, on_delete in connection.execute(FOREIGN_KEYS)
            if table in kept
        ),
    )


def _column_rows(connection: sqlite3.Connection, kept: dict[str, str]) -> tuple[list[tuple[Any, ...]], set[str]]:
    """Every column in one query; if a view cannot be resolved (its table is gone), view by view, skipping it."""
    try:
        return connection.execute(COLUMNS).fetchall(), set()
    except sqlite3.OperationalError:
        rows: list[tuple[Any, ...]] = []
        broken: set[str] = set()
        for name in kept:
            try:
                rows += [(name, *row) for row in connection.execute(COLUMNS_OF, (name,))]
            except sqlite3.OperationalError:
                broken.add(name)
        return rows, broken


def shadow_tables(connection: sqlite3.Connection, relations: list[tuple[str, str, str]]) -> set[str]:
    """Tables that store a virtual table's data (fts5, rtree…): never entities of their own."""
    try:
        return {row[1] for row in connection.execute("PRAGMA table_list") if row[2] == "shadow"}
    except sqlite3.Error:  # SQLite before 3.37
        virtual = [name for name, _, sql in relations if (sql or "").upper().startswith("CREATE VIRTUAL TABLE")]
        return {
            name
            for name, _, _ in relations
            for v in virtual
            if name.startswith(v) and name[len(v) :] in SHADOW_SUFFIXES
        }


def _unique_indexes(connection: sqlite3.Connection, kept: dict[str, str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    indexes: dict[tuple[str, str], list[str]] = {}
    for table, index, _, column in connection.execute(UNIQUE_INDEXES):
        if table in kept and column is not None:  # None: an expression in the index
            indexes.setdefault((table, index), []).append(column)
    return tuple((table, tuple(columns)) for (table, _), columns in sorted(indexes.items()))
