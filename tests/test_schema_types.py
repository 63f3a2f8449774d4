"""Declared SQLite types → Python types: the rule table, overrides and their validation."""

from __future__ import annotations

import pytest
from entity_helpers import column, schema_from_sql

from kitgen.errors import ConfigError
from kitgen.schema.types import (
    ANNOTATIONS,
    kind_of,
    lossy_precision,
    precision_warning,
    resolve_kind,
    validate_overrides,
)

# (declared type, kind): every row of the rule table, in rule order, with the tricky cases.
TYPE_TABLE = [
    # BOOL → bool
    ("BOOL", "bool"),
    ("BOOLEAN", "bool"),
    ("boolean", "bool"),
    ("TINYINT BOOL", "bool"),  # BOOL comes before INT
    # DATETIME or TIMESTAMP → datetime (before DATE and TIME, which they contain)
    ("DATETIME", "datetime"),
    ("datetime", "datetime"),
    ("TIMESTAMP", "datetime"),
    ("TIMESTAMP WITH TIME ZONE", "datetime"),
    ("SMALLDATETIME", "datetime"),
    # DATE → date
    ("DATE", "date"),
    ("date", "date"),
    ("DATEONLY", "date"),
    # TIME → time
    ("TIME", "time"),
    ("TIMETZ", "time"),
    ("time", "time"),
    # DECIMAL/NUMERIC/MONEY → Decimal
    ("DECIMAL", "decimal"),
    ("DECIMAL(10,2)", "decimal"),
    ("NUMERIC", "decimal"),
    ("numeric(5)", "decimal"),
    ("MONEY", "decimal"),
    ("SMALLMONEY", "decimal"),
    # JSON → Any
    ("JSON", "json"),
    ("JSONB", "json"),
    ("json", "json"),
    # UUID → uuid.UUID
    ("UUID", "uuid"),
    ("uuid", "uuid"),
    # INT → int (anywhere in the name)
    ("INT", "int"),
    ("INTEGER", "int"),
    ("BIGINT", "int"),
    ("UNSIGNED BIG INT", "int"),
    ("int8", "int"),
    ("POINT", "int"),  # contains INT
    ("CHARINT", "int"),  # INT comes before CHAR
    ("INTERVAL", "int"),
    # CHAR/CLOB/TEXT → str
    ("CHAR", "str"),
    ("VARCHAR(20)", "str"),
    ("varchar(255)", "str"),
    ("NATIVE CHARACTER(70)", "str"),
    ("NVARCHAR", "str"),
    ("CLOB", "str"),
    ("TEXT", "str"),
    ("text", "str"),
    ("TINYTEXT", "str"),
    # no declared type → Any
    ("", "any"),
    ("   ", "any"),
    # BLOB → bytes
    ("BLOB", "bytes"),
    ("blob", "bytes"),
    ("LONGBLOB", "bytes"),
    # REAL/FLOA/DOUB → float
    ("REAL", "float"),
    ("real", "float"),
    ("DOUBLE", "float"),
    ("DOUBLE PRECISION", "float"),
    ("FLOAT", "float"),
    ("FLOATING", "float"),
    ("float8", "float"),
    # anything else → Decimal (NUMERIC affinity)
    ("WHATEVER", "decimal"),
    ("STRING", "decimal"),  # no CHAR/CLOB/TEXT in it: NUMERIC affinity in SQLite too
    ("BIT", "decimal"),
    ("BOOLEEN", "bool"),  # contains BOOL: substring rules, not words
    ("X", "decimal"),
    ("MEDIUM", "decimal"),
]


@pytest.mark.parametrize(("declared", "kind"), TYPE_TABLE, ids=[repr(declared) for declared, _ in TYPE_TABLE])
def test_declared_type_to_kind(declared: str, kind: str) -> None:
    assert kind_of(declared) == kind
    assert resolve_kind("t", "c", declared, {}) == kind


def test_every_kind_has_an_annotation_and_the_table_covers_every_kind() -> None:
    assert {kind for _, kind in TYPE_TABLE} == set(ANNOTATIONS)
    assert ANNOTATIONS == {
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


@pytest.mark.parametrize(
    ("declared", "kind"),
    [
        ("DATETIME", "datetime"),
        ("DATE", "date"),
        ("TIME", "time"),
        ("VARCHAR(20)", "str"),
        ("", "any"),
        ("POINT", "int"),
    ],
)
def test_the_same_rules_apply_to_types_read_from_sqlite(declared: str, kind: str) -> None:
    schema = schema_from_sql(f"CREATE TABLE t (id INTEGER PRIMARY KEY, c {declared});")
    assert column(schema, "t", "c").declared_type.upper() == declared.upper()
    assert column(schema, "t", "c").kind == kind


# --- overrides -------------------------------------------------------------------------------


def test_override_by_declared_type() -> None:
    overrides = validate_overrides({"TEXT": "json"})
    assert resolve_kind("users", "meta", "TEXT", overrides) == "json"
    assert resolve_kind("users", "meta", "text", overrides) == "json"  # declared types compare upper-cased
    assert resolve_kind("users", "meta", "VARCHAR", overrides) == "str"  # the exact declared type only


def test_declared_type_override_keys_are_normalised() -> None:
    assert validate_overrides({" varchar(20) ": "bytes"}) == {"VARCHAR(20)": "bytes"}
    assert resolve_kind("t", "c", "varchar(20)", validate_overrides({"Varchar(20)": "bytes"})) == "bytes"


def test_override_by_table_column_wins_over_declared_type() -> None:
    overrides = validate_overrides({"TEXT": "json", "users.meta": "bytes"})
    assert resolve_kind("users", "meta", "TEXT", overrides) == "bytes"
    assert resolve_kind("users", "other", "TEXT", overrides) == "json"
    assert resolve_kind("posts", "meta", "TEXT", overrides) == "json"


def test_table_column_keys_are_case_sensitive_and_kept_as_written() -> None:
    overrides = validate_overrides({"Users.Meta": "json"})
    assert overrides == {"Users.Meta": "json"}
    assert resolve_kind("Users", "Meta", "TEXT", overrides) == "json"
    assert resolve_kind("users", "meta", "TEXT", overrides) == "str"


def test_override_can_give_an_untyped_column_a_type() -> None:
    overrides = validate_overrides({"events.payload": "json", "events.at": "datetime"})
    assert resolve_kind("events", "payload", "", overrides) == "json"
    assert resolve_kind("events", "at", "", overrides) == "datetime"
    assert resolve_kind("events", "other", "", overrides) == "any"


def test_overrides_reach_the_schema_model() -> None:
    schema = schema_from_sql(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, meta TEXT, note TEXT, at INTEGER);",
        validate_overrides({"users.meta": "json", "integer": "datetime"}),
    )
    assert column(schema, "users", "meta").kind == "json"
    assert column(schema, "users", "note").kind == "str"
    assert column(schema, "users", "at").kind == "datetime"
    assert column(schema, "users", "id").kind == "datetime"  # a declared-type override applies to every column


@pytest.mark.parametrize("kind", sorted(ANNOTATIONS))
def test_every_known_kind_is_accepted(kind: str) -> None:
    assert validate_overrides({"t.c": kind}) == {"t.c": kind}


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"users.meta": "dict"}, "'users.meta' = 'dict' is not a known type"),
        ({"TEXT": "string"}, "'TEXT' = 'string' is not a known type"),
        ({"TEXT": "JSON"}, "'TEXT' = 'JSON'"),  # kinds are lower case
        ({"TEXT": 1}, "'TEXT' = 1"),
        ({"TEXT": None}, "'TEXT' = None"),
    ],
)
def test_unknown_kinds_are_rejected(overrides: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError) as raised:
        validate_overrides(overrides)
    message = str(raised.value)
    assert fragment in message
    assert "json" in message and "uuid" in message  # names the known kinds


@pytest.mark.parametrize("overrides", [["TEXT", "json"], "TEXT=json", 3, None])
def test_overrides_must_be_a_table(overrides: object) -> None:
    with pytest.raises(ConfigError) as raised:
        validate_overrides(overrides)
    assert "[tool.kitgen.types] must be a table" in str(raised.value)


def test_empty_overrides() -> None:
    assert validate_overrides({}) == {}


# --- decimal precision SQLite cannot keep ------------------------------------------------------


@pytest.mark.parametrize(
    ("declared", "precision"),
    [
        ("DECIMAL(18,4)", 18),
        ("NUMERIC(20)", 20),
        ("DECIMAL(16, 2)", 16),
        ("decimal( 16 , 2 )", 16),
        ("Numeric(+18,-2)", 18),  # SQLite accepts signed numbers in a type name
        ("DECIMAL (30,10)", 30),
        ("MONEY(19,4)", 19),
        ("BIGINT(20)", 20),  # INTEGER affinity stores numbers too; INT wins over CHAR
        ("DOUBLE(20)", 20),  # REAL affinity
        ("CHARINT(20)", 20),
    ],
)
def test_a_decimal_column_stored_as_a_number_with_more_than_15_digits_is_lossy(declared: str, precision: int) -> None:
    assert lossy_precision(declared, "decimal") == precision


@pytest.mark.parametrize(
    ("declared", "kind"),
    [
        ("DECIMAL(10,2)", "decimal"),
        ("DECIMAL(15,4)", "decimal"),  # 15 digits fit a REAL
        ("NUMERIC", "decimal"),  # no precision declared
        ("DECIMAL", "decimal"),
        ("TEXT", "decimal"),  # overridden to decimal, stored as text
        ("VARCHAR(40)", "decimal"),
        ("CHARACTER(20)", "decimal"),
        ("NCLOB(30)", "decimal"),
        ("BLOB(20)", "decimal"),
        ("DECIMAL(18,4)", "str"),  # overridden away from decimal
        ("DECIMAL(18,4)", "float"),
        ("", "decimal"),
    ],
)
def test_other_columns_are_not_lossy(declared: str, kind: str) -> None:
    assert lossy_precision(declared, kind) is None


def test_the_warning_names_the_column_its_precision_and_both_ways_out() -> None:
    warning = precision_warning("prices", "amount", "DECIMAL(18,4)", "decimal")
    assert warning is not None
    assert warning.startswith("prices.amount is DECIMAL(18,4) (precision 18)")
    assert "only 15 significant digits" in warning
    assert 'declare it TEXT with "prices.amount" = "decimal" in [tool.kitgen.types]' in warning
    assert "store integer minor units (e.g. cents) in an INTEGER column" in warning
    assert precision_warning("prices", "amount", "DECIMAL(10,2)", "decimal") is None
