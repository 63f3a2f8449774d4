"""Column types → Python types.

SQLite: decided on the declared type, upper-cased, first match wins: SQLite's affinity rules
(datatype3 §3.1) with the common type hints (BOOL, DATE, UUID, JSON…) put first.

PostgreSQL: decided on the catalog's type (``pg_type.typname`` of the base type, domains
resolved, and its ``typcategory``), as psycopg returns its values: never on the declared text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

from kitgen.errors import ConfigError

# kind → the annotation generated code uses for it
ANNOTATIONS: dict[str, str] = {
    "bool": "bool",
    "datetime": "datetime.datetime",
    "date": "datetime.date",
    "time": "datetime.time",
    "decimal": "decimal.Decimal",
    "json": "typing.Any",
    "uuid": "uuid.UUID",
    "int": "int",
    "str": "str",
    "any": "typing.Any",
    "bytes": "bytes",
    "float": "float",
}

# Kinds only PostgreSQL columns have → the annotation (the renderer spells some through the support
# module: AwareDatetime, JSON; enums and lists through their enum class and element).
POSTGRES_ANNOTATIONS: dict[str, str] = {
    "timestamptz": "datetime.datetime",
    "timedelta": "datetime.timedelta",
    "inet": "ipaddress.IPv4Interface | ipaddress.IPv6Interface",
    "cidr": "ipaddress.IPv4Network | ipaddress.IPv6Network",
    "json_text": "typing.Any",  # JSON kept as text in a column of another type ([tool.kitgen.types])
    "enum": "enum.StrEnum",
    "list": "list",
}

# pg_type.typname of a base type → kind; any other type is "any" (ranges, composites, geometry…)
POSTGRES_TYPES: dict[str, str] = {
    **dict.fromkeys(("int2", "int4", "int8", "oid"), "int"),
    "numeric": "decimal",
    **dict.fromkeys(("float4", "float8"), "float"),
    **dict.fromkeys(
        ("text", "varchar", "bpchar", "char", "name", "citext", "xml", "tsvector", "macaddr", "money"), "str"
    ),
    "bool": "bool",
    "bytea": "bytes",
    "date": "date",
    **dict.fromkeys(("time", "timetz"), "time"),
    "timestamp": "datetime",
    "timestamptz": "timestamptz",
    "interval": "timedelta",
    "uuid": "uuid",
    **dict.fromkeys(("json", "jsonb"), "json"),
    "inet": "inet",
    "cidr": "cidr",
}
ARRAY_CATEGORY, ENUM_CATEGORY = "A", "E"

RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("BOOL",), "bool"),
    (("DATETIME", "TIMESTAMP"), "datetime"),
    (("DATE",), "date"),
    (("TIME",), "time"),
    (("DECIMAL", "NUMERIC", "MONEY"), "decimal"),
    (("JSON",), "json"),
    (("UUID",), "uuid"),
    (("INT",), "int"),
    (("CHAR", "CLOB", "TEXT"), "str"),
    (("BLOB",), "bytes"),
    (("REAL", "FLOA", "DOUB"), "float"),
)

FLOAT_DIGITS = 15  # significant decimal digits a REAL (an IEEE 754 double) always keeps
PRECISION = re.compile(r"\(\s*\+?(\d+)\s*(?:,\s*[+-]?\d+\s*)?\)")  # (18,4), ( 16 , 2 ), (20)
TEXT_STORAGE = ("CHAR", "CLOB", "TEXT", "BLOB")  # unless INT comes first: datatype3 §3.1 rules 1-3


@functools.lru_cache(maxsize=1024)
def kind_of(declared_type: str) -> str:
    """The kind of a declared type: a key of ``ANNOTATIONS``."""
    upper = declared_type.upper()
    if not upper.strip():
        return "any"
    for needles, kind in RULES:
        if any(needle in upper for needle in needles):
            return kind
    return "decimal"  # NUMERIC affinity


def lossy_precision(declared_type: str, kind: str) -> int | None:
    """The declared precision of a decimal column that SQLite rounds to 15 digits, else None.

    ``DECIMAL(18,4)`` has NUMERIC affinity (``BIGINT(20)`` INTEGER, ``DOUBLE(20)`` REAL): SQLite
    turns the text of such a number into a REAL, so a precision above 15 promises digits that
    are lost. TEXT affinity (CHAR, CLOB, TEXT) or BLOB keeps the text as written.
    """
    upper = declared_type.upper()
    match = PRECISION.search(upper)
    keeps_text = "INT" not in upper and any(needle in upper for needle in TEXT_STORAGE)
    if kind != "decimal" or match is None or keeps_text or int(match.group(1)) <= FLOAT_DIGITS:
        return None
    return int(match.group(1))


def precision_warning(table: str, column: str, declared_type: str, kind: str) -> str | None:
    """What to tell the user about a decimal column that cannot hold its declared precision."""
    precision = lossy_precision(declared_type, kind)
    if precision is None:
        return None
    name = f"{table}.{column}"
    return (
        f"{name} is {declared_type} (precision {precision}), but SQLite stores its values as REAL numbers, "
        f"which keep only {FLOAT_DIGITS} significant digits — declare it TEXT with "
        f'"{name}" = "decimal" in [tool.kitgen.types] to keep every digit, or store integer '
        "minor units (e.g. cents) in an INTEGER column"
    )


def resolve_kind(table: str, column: str, declared_type: str, overrides: Mapping[str, str]) -> str:
    """``[tool.kitgen.types]`` wins: first ``table.column``, then the declared type; else the rules."""
    if overrides:
        for key in (f"{table}.{column}", declared_type.upper().strip()):
            if key in overrides:
                return overrides[key]
    return kind_of(declared_type)


def postgres_kind(type_name: str, category: str) -> str:
    """The kind of a PostgreSQL base type (not an array): by its name, an enum by its category."""
    if category == ENUM_CATEGORY:
        return "enum"
    return POSTGRES_TYPES.get(type_name, "any")


@dataclass(frozen=True)
class CatalogType:
    """What the catalog says of a PostgreSQL column's type, domains resolved to their base type."""

    declared_type: str  # as format_type() writes it: "character varying(20)", "mood[]", "email"
    type_name: str  # pg_type.typname of the base type ("_int4" for int4[])
    category: str  # its typcategory
    element_type: str = ""  # an array's element type name
    element_category: str = ""


def resolve_postgres_kind(table: str, column: str, found: CatalogType, overrides: Mapping[str, str]) -> tuple[str, str]:
    """(kind, kind of the elements when it is "list"): ``[tool.kitgen.types]`` first, as on SQLite, then
    the catalog's type. A column made "json" that does not hold json or jsonb holds JSON text."""
    native = "list" if found.category == ARRAY_CATEGORY else postgres_kind(found.type_name, found.category)
    for key in (f"{table}.{column}", found.declared_type.upper().strip()):
        if key in overrides:
            kind = overrides[key]
            return ("json_text" if kind == "json" and native != "json" else kind), ""
    if native == "list":
        return native, postgres_kind(found.element_type, found.element_category)
    return native, ""


def validate_overrides(overrides: object) -> dict[str, str]:
    """Check a ``[tool.kitgen.types]`` table: declared type or table.column → a known kind."""
    if not isinstance(overrides, dict):
        raise ConfigError("[tool.kitgen.types] must be a table", 'write e.g. [tool.kitgen.types] "users.meta" = "json"')
    checked: dict[str, str] = {}
    for key, kind in sorted(overrides.items()):
        if not isinstance(kind, str) or kind not in ANNOTATIONS:
            raise ConfigError(
                f"[tool.kitgen.types] {key!r} = {kind!r} is not a known type",
                f"use one of {', '.join(sorted(ANNOTATIONS))}",
            )
        checked[key if "." in key else key.upper().strip()] = kind
    return checked
