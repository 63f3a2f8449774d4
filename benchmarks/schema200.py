"""A 200-table project of ~15 columns each, as migrations, for the generation benchmarks."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from harness import KITGEN, new_project

TABLES = 200
TYPES = [
    "INTEGER NOT NULL",
    "TEXT",
    "TEXT NOT NULL",
    "REAL",
    "NUMERIC(10,2)",
    "DATETIME",
    "DATE",
    "BOOLEAN NOT NULL",
    "BLOB",
    "JSON",
    "UUID",
    "VARCHAR(40)",
    "INTEGER",
    "TIMESTAMP NOT NULL",
]


def table_sql(index: int) -> str:
    columns = ["id INTEGER PRIMARY KEY"] + [f"c{n}_{index} {TYPES[n % len(TYPES)]}" for n in range(14)]
    if index:
        columns.append(f"FOREIGN KEY (c0_{index}) REFERENCES table_{index - 1}s(id)")
    return f"CREATE TABLE table_{index}s (\n    " + ",\n    ".join(columns) + "\n);"


def build_project(root: Path, *, migrate: bool = True) -> Path:
    """The project with its migrations (one file per table), migrated when asked; returns the database."""
    migrations = new_project(root)
    for index in range(TABLES):
        (migrations / f"2026_01_01_{index:06d}_create_table_{index}s_table.sql").write_text(
            f"-- migrate:up\n{table_sql(index)}\n\n-- migrate:down\nDROP TABLE table_{index}s;\n"
        )
    if migrate:
        subprocess.run([KITGEN, "migrate"], cwd=root, check=True, capture_output=True)
    return root / "database" / "database.sqlite"


def equivalent_json_schema(path: Path) -> None:
    """The same 200 tables as one JSON Schema, for datamodel-codegen's own CLI."""
    kinds = {
        "INTEGER NOT NULL": {"type": "integer"},
        "TEXT": {"type": ["string", "null"]},
        "TEXT NOT NULL": {"type": "string"},
        "REAL": {"type": ["number", "null"]},
        "NUMERIC(10,2)": {"type": ["string", "null"], "format": "decimal"},
        "DATETIME": {"type": ["string", "null"], "format": "date-time"},
        "DATE": {"type": ["string", "null"], "format": "date"},
        "BOOLEAN NOT NULL": {"type": "boolean"},
        "BLOB": {"type": ["string", "null"], "format": "binary"},
        "JSON": {},
        "UUID": {"type": ["string", "null"], "format": "uuid"},
        "VARCHAR(40)": {"type": ["string", "null"], "maxLength": 40},  # kitgen states the length too
        "INTEGER": {"type": ["integer", "null"]},
        "TIMESTAMP NOT NULL": {"type": "string", "format": "date-time"},
    }
    definitions = {}
    for index in range(TABLES):
        properties = {"id": {"type": "integer"}}
        properties |= {f"c{n}_{index}": kinds[TYPES[n % len(TYPES)]] for n in range(14)}
        required = [name for name, schema in properties.items() if "null" not in schema.get("type", ["null"])]
        # kitgen's entities make the rowid and nullable columns optional: so does the JSON Schema
        required.remove("id")
        definitions[f"Table{index}"] = {"type": "object", "properties": properties, "required": required}
    path.write_text(json.dumps({"$defs": definitions}))
