"""Reading a PostgreSQL schema from pg_catalog, in one read-only snapshot.

Seven queries in all, whatever the number of tables, inside one ``REPEATABLE READ READ ONLY``
transaction, so that every query sees the same schema. pg_catalog, not information_schema: the
latter hides what the role cannot read, materialized views and partitions.

What is read: tables, partitioned tables (not their partitions), views and materialized views of
the given schemas, except the tracking table, objects that belong to extensions and system
schemas. A relation of the first schema is named as it is (``users``); one of another schema is
named ``schema.name`` (``billing.invoices``), and so are enum types and the targets of foreign
keys. Types print as they would with the first schema alone on the search path (``mood``,
``billing.currency``), whatever the session's search path: the snapshot sets it, and the formats
of the constants that defaults and CHECKs print, for itself alone (``set_config(…, true)``), so
the session's settings are as they were after it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from kitgen.driver.base import TRACKING_TABLE, RawColumn, RawForeignKey, RawSchema
from kitgen.errors import DatabaseError

SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
# For this transaction only: the first schema alone on the search path (how format_type and
# pg_get_expr qualify names), and fixed formats for the constants they print.
SETTINGS = """
SELECT pg_catalog.set_config('search_path', pg_catalog.quote_ident(%s), true),
       pg_catalog.set_config('TimeZone', 'UTC', true),
       pg_catalog.set_config('DateStyle', 'ISO, MDY', true),
       pg_catalog.set_config('IntervalStyle', 'postgres', true),
       pg_catalog.set_config('standard_conforming_strings', 'on', true)
"""
RELATIONS = """
SELECT c.oid, n.nspname, c.relname, c.relkind, pg_catalog.obj_description(c.oid, 'pg_class')
FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = ANY (%(schemas)s::text[])
  AND left(n.nspname, 3) <> 'pg_' AND n.nspname <> 'information_schema'
  AND c.relkind IN ('r', 'p', 'v', 'm')
  AND NOT c.relispartition
  AND c.relname <> %(tracking)s
  AND NOT EXISTS (
    SELECT FROM pg_catalog.pg_depend AS d
    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
  )
"""
COLUMNS = """
SELECT a.attrelid, a.attnum, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.atttypid,
       a.attnotnull, CASE WHEN a.attgenerated = '' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END,
       a.attgenerated <> '', a.attidentity, pg_catalog.col_description(a.attrelid, a.attnum)
FROM pg_catalog.pg_attribute AS a
LEFT JOIN pg_catalog.pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = ANY (%s::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""
# The columns' types, and what they stand on: the base types of domains, the elements of arrays.
TYPES = """
WITH RECURSIVE wanted (oid) AS (
    SELECT a.atttypid FROM pg_catalog.pg_attribute AS a
    WHERE a.attrelid = ANY (%s::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
  UNION
    SELECT CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.typelem END
    FROM wanted JOIN pg_catalog.pg_type AS t ON t.oid = wanted.oid
    WHERE t.typtype = 'd' OR (t.typcategory = 'A' AND t.typelem <> 0)
)
SELECT t.oid, n.nspname, t.typname, t.typtype, t.typcategory, t.typelem, t.typbasetype, t.typnotnull,
       CASE WHEN t.typtype = 'd' THEN pg_catalog.format_type(t.typbasetype, t.typtypmod) END
FROM wanted JOIN pg_catalog.pg_type AS t ON t.oid = wanted.oid
JOIN pg_catalog.pg_namespace AS n ON n.oid = t.typnamespace
"""
ENUM_LABELS = """
SELECT enumtypid, enumlabel FROM pg_catalog.pg_enum
WHERE enumtypid = ANY (%s::oid[])
ORDER BY enumtypid, enumsortorder
"""
# Primary keys, foreign keys and CHECKs; a constraint a partition inherits (conparentid) is its parent's.
CONSTRAINTS = """
SELECT c.conrelid, c.contype, c.conname,
       ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY AS k (attnum, i)
             JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.i),
       ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY AS k (attnum, i)
             JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.i),
       tn.nspname, t.relname, c.confupdtype, c.confdeltype, pg_catalog.pg_get_constraintdef(c.oid)
FROM pg_catalog.pg_constraint AS c
LEFT JOIN pg_catalog.pg_class AS t ON t.oid = c.confrelid
LEFT JOIN pg_catalog.pg_namespace AS tn ON tn.oid = t.relnamespace
WHERE c.conrelid = ANY (%s::oid[]) AND c.contype IN ('p', 'f', 'c') AND c.conparentid = 0
"""
# Unique indexes (unique constraints have one) on whole columns: no predicate, no expression.
UNIQUE_INDEXES = """
SELECT i.indrelid, ARRAY(
    SELECT a.attname FROM unnest((i.indkey::int2[])[:i.indnkeyatts - 1]) WITH ORDINALITY AS k (attnum, n)
    JOIN pg_catalog.pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.n
), c.relname
FROM pg_catalog.pg_index AS i JOIN pg_catalog.pg_class AS c ON c.oid = i.indexrelid
WHERE i.indrelid = ANY (%s::oid[]) AND i.indisunique AND NOT i.indisprimary AND i.indisvalid
  AND i.indpred IS NULL AND i.indexprs IS NULL
"""
KINDS = {"r": ("table", ""), "p": ("table", "partitioned"), "v": ("view", ""), "m": ("view", "materialized")}
ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
IDENTITY = {"a": "always", "d": "by default", "": ""}
CHECK = re.compile(r"CHECK \((.*)\)(?: NO INHERIT)?(?: NOT VALID)?", re.DOTALL)


def relation_name(schema: str, name: str, schemas: Sequence[str]) -> str:
    """How kitgen names a relation (or an enum type): unqualified in the first schema, else ``schema.name``."""
    return name if schema == schemas[0] else f"{schema}.{name}"


@dataclass(frozen=True)
class Relation:
    oid: int
    name: str  # as relation_name() gives it
    kind: str  # "table" or "view"
    variant: str  # "", "partitioned" or "materialized"
    comment: str | None


@dataclass(frozen=True)
class TypeRow:
    """A row of pg_type, with a domain's base type as format_type() writes it."""

    oid: int
    schema: str
    name: str
    typtype: str
    category: str
    element: int
    base: int
    not_null: bool
    base_declared: str | None


def read_schema(connection: psycopg.Connection[Any], schemas: Sequence[str]) -> RawSchema:
    """Every table and view of ``schemas``, read in one read-only snapshot.

    ``connection`` is in autocommit mode: with no transaction open, this function begins the snapshot
    and ends it (committing it, or rolling it back if a query fails); inside a transaction (a rehearsal,
    which must see its own changes) it reads in a savepoint that it rolls back, settings included.
    """
    if not schemas:
        raise DatabaseError("no schema to read the tables of", "name at least one schema")
    if not connection.autocommit:
        raise DatabaseError(
            "the schema is read on a connection in a transaction", "read it on an autocommit connection"
        )
    if connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        return _in_savepoint(connection, schemas)
    connection.execute(SNAPSHOT)
    try:
        found = _read(connection, schemas)
    except BaseException:
        if not connection.closed:
            with contextlib.suppress(psycopg.Error):  # the error that stopped the reading says more
                connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    return found


def _in_savepoint(connection: psycopg.Connection[Any], schemas: Sequence[str]) -> RawSchema:
    connection.execute("SAVEPOINT kitgen_read_schema")
    try:
        return _read(connection, schemas)
    finally:
        if not connection.closed:
            connection.execute("ROLLBACK TO SAVEPOINT kitgen_read_schema")
            connection.execute("RELEASE SAVEPOINT kitgen_read_schema")


def _read(connection: psycopg.Connection[Any], schemas: Sequence[str]) -> RawSchema:
    connection.execute(SETTINGS, (schemas[0],))
    relations = _relations(connection, schemas)
    by_oid = {relation.oid: relation for relation in relations}
    oids = list(by_oid)
    types = {row[0]: TypeRow(*row) for row in connection.execute(TYPES, (oids,))}
    enums = _enum_labels(connection, types, schemas)
    keys, foreign_keys, checks = _constraints(connection, by_oid, schemas)
    columns = sorted(
        (_column(by_oid[row[0]], row, types, keys, schemas) for row in connection.execute(COLUMNS, (oids,))),
        key=lambda column: (column.table, column.position),
    )
    used = {column.enum for column in columns if column.enum}
    return RawSchema(
        relations=tuple((relation.name, relation.kind) for relation in relations),
        columns=tuple(columns),
        unique_indexes=_unique_indexes(connection, by_oid),
        foreign_keys=foreign_keys,
        engine="postgres",
        checks=checks,
        comments=tuple((relation.name, relation.comment) for relation in relations if relation.comment is not None),
        variants=tuple((relation.name, relation.variant) for relation in relations if relation.variant),
        enums=tuple(sorted((name, labels) for name, labels in enums.items() if name in used)),
    )


def _relations(connection: psycopg.Connection[Any], schemas: Sequence[str]) -> list[Relation]:
    """The relations to generate entities for, sorted by the names kitgen gives them."""
    rows = connection.execute(RELATIONS, {"schemas": list(schemas), "tracking": TRACKING_TABLE})
    found = [
        Relation(oid, relation_name(schema, name, schemas), *KINDS[kind], comment)
        for oid, schema, name, kind, comment in rows
    ]
    return sorted(found, key=lambda relation: relation.name)


def _unique_indexes(
    connection: psycopg.Connection[Any], relations: dict[int, Relation]
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(table, columns) of every full unique index, in the order of table and index names."""
    found = sorted(
        (relations[oid].name, index, tuple(names))
        for oid, names, index in connection.execute(UNIQUE_INDEXES, (list(relations),))
    )
    return tuple((table, names) for table, _, names in found)


def _enum_labels(
    connection: psycopg.Connection[Any], types: dict[int, TypeRow], schemas: Sequence[str]
) -> dict[str, tuple[str, ...]]:
    """Enum type (named as relations are) → its labels, in their order."""
    enum_oids = [oid for oid, found in types.items() if found.typtype == "e"]
    labels: dict[int, list[str]] = {oid: [] for oid in enum_oids}
    for oid, label in connection.execute(ENUM_LABELS, (enum_oids,)):
        labels[oid].append(label)
    return {relation_name(types[oid].schema, types[oid].name, schemas): tuple(found) for oid, found in labels.items()}


def _constraints(
    connection: psycopg.Connection[Any], relations: dict[int, Relation], schemas: Sequence[str]
) -> tuple[dict[tuple[str, str], int], tuple[RawForeignKey, ...], tuple[tuple[str, str], ...]]:
    """(table, column) → position in the primary key; the foreign keys, one per column; the CHECKs."""
    keys: dict[tuple[str, str], int] = {}
    foreign_keys: list[tuple[str, str, RawForeignKey]] = []
    checks: list[tuple[str, str, str]] = []
    for oid, kind, name, columns, targets, schema, target, on_update, on_delete, definition in connection.execute(
        CONSTRAINTS, (list(relations),)
    ):
        table = relations[oid].name
        if kind == "p":
            keys.update({(table, column): position for position, column in enumerate(columns, 1)})
        elif kind == "f":
            target_table = relation_name(schema, target, schemas)
            foreign_keys += [
                (table, name, RawForeignKey(table, column, target_table, to, ACTIONS[on_update], ACTIONS[on_delete]))
                for column, to in zip(columns, targets, strict=True)
            ]
        else:
            checks.append((table, name, check_expression(definition)))
    # In the order of their tables' names, then of their own: a column in two foreign keys has the last one's.
    foreign_keys.sort(key=lambda found: found[:2])
    checks.sort()
    return keys, tuple(key for _, _, key in foreign_keys), tuple((table, check) for table, _, check in checks)


def check_expression(definition: str) -> str:
    """The expression of a CHECK as pg_get_constraintdef() writes it: ``CHECK (expr) [NO INHERIT] [NOT VALID]``."""
    found = CHECK.fullmatch(definition)
    return found.group(1) if found else definition


def _column(
    relation: Relation,
    row: tuple[Any, ...],
    types: dict[int, TypeRow],
    keys: dict[tuple[str, str], int],
    schemas: Sequence[str],
) -> RawColumn:
    _, position, name, declared, type_oid, not_null, default, generated, identity, comment = row
    base, domain_not_null, base_declared = _base_of(types, type_oid)
    element = _base_of(types, base.element)[0] if base.category == "A" else None
    enum = next((found for found in (base, element) if found is not None and found.typtype == "e"), None)
    return RawColumn(
        table=relation.name,
        position=position,
        name=name,
        declared_type=declared,
        not_null=relation.kind == "table" and (not_null or domain_not_null),  # a view's columns can be NULL
        default=default,
        primary_key=keys.get((relation.name, name), 0),
        generated=generated,
        type_name=base.name,
        type_category=base.category,
        element_type=element.name if element else "",
        element_category=element.category if element else "",
        enum=relation_name(enum.schema, enum.name, schemas) if enum else "",
        base_type=base_declared,
        identity=IDENTITY[identity],
        comment=comment,
    )


def _base_of(types: dict[int, TypeRow], oid: int) -> tuple[TypeRow, bool, str]:
    """The type under any domains, whether a domain on the way is NOT NULL, and the innermost domain's base
    type as declared ("" when ``oid`` is no domain)."""
    found, not_null, declared = types[oid], False, ""
    while found.typtype == "d":
        not_null = not_null or found.not_null
        declared = found.base_declared or ""
        found = types[found.base]
    return found, not_null, declared
