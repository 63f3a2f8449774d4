"""Shared helpers for the schema and codegen tests: real SQLite and PostgreSQL, the real renderer, real mypy/ruff."""

from __future__ import annotations

import importlib
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from kitgen.codegen import headers
from kitgen.codegen.generate import GenerateResult, execute, plan_generation
from kitgen.codegen.plan import EntitySpec, plan_entities
from kitgen.codegen.render import render_entities
from kitgen.driver import postgres_schema
from kitgen.driver.sqlite_schema import read_schema
from kitgen.schema.introspect import Origins, build_schema
from kitgen.schema.model import Column, Schema, Table
from kitgen.schema.types import validate_overrides

BIN = Path(sys.executable).parent
MYPY = str(BIN / "mypy")
RUFF = str(BIN / "ruff")


def schema_of(
    connection: sqlite3.Connection, overrides: Mapping[str, str] | None = None, origins: Origins | None = None
) -> Schema:
    """What kitgen generates from: ``build_schema(read_schema(connection))``."""
    return build_schema(read_schema(connection), overrides, origins)


def postgres_schema_of(
    connection: Any, schemas: Sequence[str] = ("public",), overrides: Mapping[str, str] | None = None
) -> Schema:
    """What kitgen generates from on PostgreSQL: ``build_schema(read_schema(connection, schemas))``, on an
    autocommit psycopg connection."""
    return build_schema(postgres_schema.read_schema(connection, schemas), overrides)


def schema_from_sql(sql: str, overrides: Mapping[str, str] | None = None) -> Schema:
    connection = sqlite3.connect(":memory:")
    try:
        connection.executescript(sql)
        return schema_of(connection, overrides)
    finally:
        connection.close()


def table(schema: Schema, name: str) -> Table:
    [found] = [candidate for candidate in schema.tables if candidate.name == name]
    return found


def column(schema: Schema, table_name: str, column_name: str) -> Column:
    [found] = [candidate for candidate in table(schema, table_name).columns if candidate.name == column_name]
    return found


def render_files(schema: Schema, model_type: str) -> dict[str, str]:
    """Module name → the whole file text (header + body), as generation writes it."""
    specs = plan_entities(schema, model_type)
    bodies = render_entities(specs)
    return {spec.module: compose(spec, bodies[spec.module]) for spec in specs}


def compose(spec: EntitySpec, body: str) -> str:
    return headers.compose(spec.table.kind, spec.table.name, spec.schema_hash, body)


def generate_package(root: Path, schema: Schema, model_type: str, package: str = "pkg") -> tuple[Path, GenerateResult]:
    """Generate ``root/<package>/entities`` (a real package) with plan_generation + execute."""
    folder = root / package / "entities"
    folder.mkdir(parents=True)
    (root / package / "__init__.py").write_text("", encoding="utf-8")
    (folder / "__init__.py").write_text('"""Entities."""\n', encoding="utf-8")
    result = execute(plan_generation(folder, plan_entities(schema, model_type)))
    return folder, result


def run_tool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=300)


def ruff_check(folder: Path) -> subprocess.CompletedProcess[str]:
    return run_tool(RUFF, "check", "--isolated", "--no-cache", str(folder), cwd=folder)


def mypy_strict(cwd: Path, *targets: str, cache_dir: Path) -> subprocess.CompletedProcess[str]:
    """``mypy --strict`` run from ``cwd`` (so packages there are importable), no config file read."""
    config = cwd / "mypy.ini"
    if not config.exists():
        config.write_text("[mypy]\n", encoding="utf-8")
    return run_tool(
        MYPY,
        "--strict",
        "--config-file",
        str(config),
        "--cache-dir",
        str(cache_dir),
        "--no-error-summary",
        "--show-error-codes",
        *targets,
        cwd=cwd,
    )


@contextmanager
def imported(root: Path, module: str) -> Iterator[ModuleType]:
    """Import ``module`` from ``root``; forget it (and its package) afterwards."""
    top = module.split(".")[0]
    sys.path.insert(0, str(root))
    try:
        importlib.invalidate_caches()
        yield importlib.import_module(module)
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name == top or name.startswith(f"{top}.")]:
            del sys.modules[name]


def rebuilt(entity: Any) -> Any:
    """A new entity built by field name from ``entity``'s values: its ``to_row()`` writes every field
    (an entity read from a row writes only what changed since)."""
    runtime = sys.modules[type(entity).__module__.rsplit(".", 1)[0] + "._kitgen"]
    return type(entity)(**{field.name: getattr(entity, field.name) for field in runtime.fields_of(type(entity))})


# --- shared schemas --------------------------------------------------------------------------


def tiny_schema() -> Schema:
    """One table by hand: an INTEGER PRIMARY KEY, a NOT NULL TEXT, a nullable DATE with a space in its name."""
    return Schema(
        (
            Table(
                "notes",
                "table",
                (
                    Column("id", "INTEGER", "int", nullable=False, not_null=True, primary_key=1, rowid=True),
                    Column("title", "TEXT", "str", nullable=False, not_null=True),
                    Column("due date", "DATE", "date", nullable=True),
                ),
            ),
        )
    )


# Every row of the type table, keyword and spaced column names, a column named "date", an
# override, a compound primary key, foreign keys, a view and a generated column.
ODD_SQL = """
CREATE TABLE owners (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE every_types (
    id INTEGER PRIMARY KEY,
    flag BOOLEAN NOT NULL DEFAULT 0,
    created DATETIME,
    stamped TIMESTAMP,
    "date" DATE,
    at_time TIME,
    price DECIMAL(10, 2),
    amount NUMERIC,
    cost MONEY,
    exact TEXT,
    meta JSON,
    token UUID,
    token_bytes UUID,
    count INT,
    point POINT,
    name VARCHAR(20) NOT NULL DEFAULT 'it''s',
    note CLOB,
    body TEXT,
    anything,
    data BLOB,
    ratio REAL,
    precise DOUBLE PRECISION,
    floating FLOATING,
    other WHATEVER,
    "class" TEXT,
    "from" INTEGER,
    "match" TEXT,
    "my column" TEXT,
    "Weird-Name.x" TEXT,
    owner_id INTEGER REFERENCES owners (id) ON DELETE SET NULL,
    total INTEGER GENERATED ALWAYS AS (count * 100) VIRTUAL
);
CREATE TABLE memberships (
    owner_id INTEGER NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
    item_id INTEGER NOT NULL REFERENCES every_types (id),
    role TEXT,
    PRIMARY KEY (owner_id, item_id)
);
CREATE VIEW owner_names AS SELECT id, name, name || '!' AS shout FROM owners;
"""
ODD_OVERRIDES = {"every_types.exact": "decimal"}


def odd_schema() -> Schema:
    return schema_from_sql(ODD_SQL, validate_overrides(ODD_OVERRIDES))


# PostgreSQL: every type of the type table, enums (one with labels an array's text must quote), a domain
# with NOT NULL, arrays, identity columns, serial, a generated column, a partitioned table with two
# partitions, a view, a materialized view, comments, foreign keys, CHECKs, a second schema, and a view
# that belongs to an extension.
POSTGRES_SQL = r"""
CREATE EXTENSION citext;
CREATE EXTENSION pg_buffercache;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'in progress');
CREATE TYPE odd AS ENUM ('a,b', 'say "hi"', 'back\slash', 'NULL', ' spaced ', '{braces}');
CREATE DOMAIN positive AS integer NOT NULL CHECK (VALUE > 0);
CREATE DOMAIN email AS varchar(40);
CREATE TABLE owners (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE
);
COMMENT ON TABLE owners IS 'People who own things.';
COMMENT ON COLUMN owners.name IS 'Full name,
as written.';
CREATE TABLE every_types (
    id serial PRIMARY KEY,
    small smallint,
    whole integer NOT NULL DEFAULT -5,
    big bigint GENERATED BY DEFAULT AS IDENTITY,
    object oid,
    amount numeric(12, 2),
    ratio real DEFAULT 0.5,
    precise double precision,
    body text DEFAULT 'it''s',
    code varchar(8) CHECK (code IN ('a', 'b')),
    fixed char(3),
    label name,
    nick citext,
    doc xml,
    words tsvector,
    mac macaddr,
    price money,
    flag boolean NOT NULL DEFAULT true,
    blob bytea,
    day date,
    at_time time,
    at_time_tz timetz,
    stamp timestamp,
    moment timestamptz NOT NULL DEFAULT now(),
    span interval,
    token uuid,
    meta json,
    data jsonb,
    feeling mood DEFAULT 'happy',
    oddity odd,
    address inet,
    network cidr,
    period int4range,
    spot point,
    numbers integer[],
    tags text[],
    feelings mood[],
    oddities odd[],
    count positive,
    contact email,
    owner_id bigint REFERENCES owners (id) ON DELETE SET NULL ON UPDATE CASCADE,
    doubled integer GENERATED ALWAYS AS (whole * 2) STORED,
    score integer CHECK (score >= 0 AND score <= 100),
    UNIQUE (small, whole)
);
COMMENT ON COLUMN every_types.span IS 'How long it lasted.';
CREATE TABLE events (
    id integer NOT NULL,
    happened timestamptz NOT NULL,
    PRIMARY KEY (id, happened)
) PARTITION BY RANGE (happened);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE VIEW owner_names AS SELECT id, name FROM owners;
CREATE MATERIALIZED VIEW owner_counts AS SELECT owner_id, count(*) AS total FROM every_types GROUP BY owner_id;
CREATE UNIQUE INDEX owner_counts_owner ON owner_counts (owner_id);
CREATE SCHEMA billing;
CREATE TYPE billing.currency AS ENUM ('EUR', 'USD');
CREATE TABLE billing.invoices (
    id integer PRIMARY KEY,
    owner_id bigint NOT NULL REFERENCES public.owners (id),
    currency billing.currency NOT NULL DEFAULT 'EUR',
    total numeric NOT NULL CHECK (total >= 0)
);
"""
POSTGRES_SCHEMAS = ("public", "billing")
