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
SELECT c.relkind, quote_ident(n.nspname) || '.' || quote_ident(c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%s) AND c.relkind IN ('v', 'm', 'r', 'p', 'f', 'S') AND NOT c.relispartition
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
    relations = [(kind, name) for kind, name in db.execute(RELATIONS, (list(schemas),)).fetchall()]
    dropped: list[str] = []
    for wanted, keyword in (*RELATION_ORDER, ("S", "SEQUENCE")):
        for kind, name in relations:
            if kind == wanted:
                db.execute(f"DROP {keyword} IF EXISTS {name} CASCADE")
                dropped.append(name)
    for kind, name in db.execute(ROUTINES, (list(schemas),)).fetchall():
        db.execute(f"DROP {ROUTINE_KINDS.get(kind, 'FUNCTION')} IF EXISTS {name} CASCADE")
        dropped.append(name)
    for kind, name in _types(db, schemas):
        db.execute(f"DROP {'DOMAIN' if kind == 'd' else 'TYPE'} IF EXISTS {name} CASCADE")
        dropped.append(name)
    return dropped


def _types(db: Database, schemas: tuple[str, ...]) -> list[Any]:
    """Domains first: a domain over an enum or a composite type must go before it."""
    rows = db.execute(TYPES, (list(schemas),)).fetchall()
    return sorted(rows, key=lambda row: (row[0] != "d", row[1]))
