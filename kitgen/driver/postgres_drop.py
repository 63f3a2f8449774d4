"""``migrate:fresh`` on PostgreSQL: drop what the managed schemas hold, keep the schemas themselves.

Views, materialized views, tables (their indexes, triggers, constraints and owned sequences go
with them), sequences, routines, domains and types are dropped, in that order; objects that
belong to an extension are left to it. The schemas stay, with their owner and grants. An object
of another schema that depends on a dropped one goes with it (CASCADE); PostgreSQL's notice
naming it is kept, so the report lists it too.
"""

from __future__ import annotations

from typing import Any

from kitgen.migrations.base import Database

NOT_IN_EXTENSION = (
    "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = {catalog}::regclass AND d.objid = {oid} "
    "AND d.deptype = 'e')"
)
RELATIONS = """
SELECT c.relkind, quote_ident(n.nspname) || '.' || quote_ident(c.relname),
       COALESCE(c.oid = to_regclass(%(kept)s::text) OR EXISTS (
         SELECT 1 FROM pg_depend o WHERE o.classid = 'pg_class'::regclass AND o.objid = c.oid
           AND o.refclassid = 'pg_class'::regclass AND o.refobjid = to_regclass(%(kept)s::text)
           AND o.deptype IN ('a', 'i')), false)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('v', 'm', 'r', 'p', 'f', 'S') AND NOT c.relispartition
  AND {not_in_extension}
ORDER BY 2
""".format(not_in_extension=NOT_IN_EXTENSION.format(catalog="'pg_class'", oid="c.oid"))
ROUTINES = """
SELECT p.prokind, quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '(' ||
       pg_get_function_identity_arguments(p.oid) || ')'
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = ANY(%s) AND {not_in_extension}
ORDER BY 2
""".format(not_in_extension=NOT_IN_EXTENSION.format(catalog="'pg_proc'", oid="p.oid"))
TYPES = """
SELECT t.typtype, quote_ident(n.nspname) || '.' || quote_ident(t.typname)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_class c ON c.oid = t.typrelid
WHERE n.nspname = ANY(%s) AND t.typtype IN ('d', 'e', 'r', 'c') AND (t.typrelid = 0 OR c.relkind = 'c')
  AND {not_in_extension}
ORDER BY 2
""".format(not_in_extension=NOT_IN_EXTENSION.format(catalog="'pg_type'", oid="t.oid"))

RELATION_ORDER = (("v", "VIEW"), ("m", "MATERIALIZED VIEW"), ("f", "FOREIGN TABLE"), ("r", "TABLE"), ("p", "TABLE"))
ROUTINE_KINDS = {"f": "FUNCTION", "w": "FUNCTION", "p": "PROCEDURE", "a": "AGGREGATE"}


def drop_managed(db: Database, schemas: tuple[str, ...]) -> list[str]:
    """Drop every object of ``schemas`` but the extensions' (see the module docstring); return their names."""
    objects = managed_objects(db, schemas)
    for statement in drop_statements(objects):
        db.execute(statement)
    return [name for _, name in objects]


def drop_script(db: Database, schemas: tuple[str, ...], kept: str) -> str:
    """The statements ``drop_managed`` would run now, as a script (the down of an adopted schema); the table
    ``kept`` (the tracking table) and the sequences it owns are left out."""
    objects = managed_objects(db, schemas, kept)
    return "".join(f"{statement};\n" for statement in drop_statements(objects))


def drop_statements(objects: list[tuple[str, str]]) -> list[str]:
    """``DROP … IF EXISTS … CASCADE`` of each (keyword, name): an object an earlier one took with it is skipped."""
    return [f"DROP {keyword} IF EXISTS {name} CASCADE" for keyword, name in objects]


def managed_objects(db: Database, schemas: tuple[str, ...], kept: str | None = None) -> list[tuple[str, str]]:
    """(DROP keyword, qualified name) of every object of ``schemas`` but the extensions', in the order to drop
    them: views, materialized views, foreign tables, tables, sequences, routines, then types. The table
    ``kept`` (a qualified name), if any, and the sequences it owns are left out."""
    rows = db.execute(RELATIONS, {"schemas": list(schemas), "kept": kept}).fetchall()
    relations = [(kind, name) for kind, name, left_out in rows if not left_out]
    objects = [
        (keyword, name)
        for wanted, keyword in (*RELATION_ORDER, ("S", "SEQUENCE"))
        for kind, name in relations
        if kind == wanted
    ]
    routines = db.execute(ROUTINES, (list(schemas),)).fetchall()
    objects += [(ROUTINE_KINDS.get(kind, "FUNCTION"), name) for kind, name in routines]
    objects += [("DOMAIN" if kind == "d" else "TYPE", name) for kind, name in _types(db, schemas)]
    return objects


def _types(db: Database, schemas: tuple[str, ...]) -> list[Any]:
    """Domains first: a domain over an enum or a composite type must go before it."""
    rows = db.execute(TYPES, (list(schemas),)).fetchall()
    return sorted(rows, key=lambda row: (row[0] != "d", row[1]))
