"""What a table's SQL states about each column's values: defaults and CHECK constraints.

Parsed with sqlglot from the column's default text and the table's ``CREATE`` statement
(``sqlite_master.sql``). What an entity can state (a constant default, a set of choices,
numeric bounds, a maximum length) is returned as data; every other CHECK is returned as
its SQL text, left to the database.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

from kitgen.schema.model import Column, Table

Constant = str | int | float | bool | bytes | None
MAX_LENGTH = re.compile(r"CHAR[^(]*\(\s*\+?(\d+)\s*\)", re.IGNORECASE)  # VARCHAR(20), CHARACTER(5)…
BOUNDS = {"GTE": "ge", "GT": "gt", "LTE": "le", "LT": "lt"}
FLIPPED = {"ge": "le", "gt": "lt", "le": "ge", "lt": "gt"}


@dataclass(frozen=True)
class Constraints:
    """What the entity of one column can state; ``checks`` are left to the database."""

    choices: tuple[str | int, ...] = ()
    bounds: tuple[tuple[str, int | float], ...] = ()  # ("ge" | "gt" | "le" | "lt", number), sorted
    max_length: int | None = None
    checks: tuple[str, ...] = ()


NO_DEFAULT = object()


@functools.lru_cache(maxsize=1024)
def constant_default(default: str | None, kind: str) -> Constant | object:
    """The Python value of a constant ``DEFAULT`` of a column of ``kind``, else ``NO_DEFAULT``.

    Only literals that the field's type holds exactly as SQLite would store them count:
    ``DEFAULT CURRENT_TIMESTAMP`` or ``DEFAULT (lower('X'))`` are left to the database.
    """
    if default is None:
        return NO_DEFAULT
    value = _literal(default)
    if value is None:
        return None if default.strip().upper().strip("()") == "NULL" else NO_DEFAULT
    if kind == "bool" and value in (0, 1) and not isinstance(value, (str, bytes, float)):
        return bool(value)
    if kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if math.isfinite(value) else NO_DEFAULT
    wanted = {"int": int, "str": str, "bytes": bytes}.get(kind)
    if wanted is not None and type(value) is wanted:
        return value
    return NO_DEFAULT


def _literal(sql: str) -> Constant:
    """A literal's value (numbers, strings, blobs, TRUE/FALSE), or None when it is none."""
    from sqlglot import exp, parse_one
    from sqlglot.errors import SqlglotError

    try:
        node = parse_one(sql, read="sqlite")
    except (SqlglotError, ValueError, RecursionError):
        return None
    while isinstance(node, exp.Paren):
        node = node.this
    return _value(node)


def _value(node: object) -> Constant:
    from sqlglot import exp

    negative = isinstance(node, exp.Neg)
    if negative:
        node = node.this  # type: ignore[attr-defined]
    if isinstance(node, exp.Boolean) and not negative:
        return int(bool(node.this))
    if isinstance(node, exp.HexString) and not negative:
        return bytes.fromhex(node.this)
    if not isinstance(node, exp.Literal):
        return None
    if node.is_string:
        return None if negative else str(node.this)
    text = str(node.this)
    number: int | float = int(text) if re.fullmatch(r"\d+", text) else float(text)
    return -number if negative else number


def column_constraints(table: Table) -> dict[str, Constraints]:
    """Column name → what its CHECK constraints and declared type state (columns with none left out)."""
    found: dict[str, Constraints] = {}
    kinds = {column.name.lower(): column for column in table.columns}
    nocase = _nocase_columns(table.sql) if "NOCASE" in table.sql.upper() else set()
    for conjunct in _conjuncts(table.sql) if "CHECK" in table.sql.upper() else []:
        _add(found, conjunct, kinds, nocase)
    for column in table.columns:
        match = MAX_LENGTH.search(column.declared_type) if column.kind == "str" else None
        if match and int(match.group(1)) < LARGEST:  # a length no validator can hold states nothing
            old = found.get(column.name, Constraints())
            found[column.name] = Constraints(old.choices, old.bounds, int(match.group(1)), old.checks)
    return found


def _conjuncts(sql: str) -> list[object]:
    """Every CHECK of the table (column and table constraints), split at its top-level ANDs."""
    from sqlglot import exp, parse_one
    from sqlglot.errors import SqlglotError

    try:
        tree = parse_one(sql, read="sqlite")
    except (SqlglotError, ValueError, RecursionError):
        return []
    parts: list[object] = []
    for check in tree.find_all(exp.CheckColumnConstraint):
        parts += list(check.this.flatten()) if isinstance(check.this, exp.And) else [check.this]
    return parts


def _nocase_columns(sql: str) -> set[str]:
    """The (lower-case) names of the columns declared ``COLLATE NOCASE``: their choices match in any case."""
    from sqlglot import exp, parse_one
    from sqlglot.errors import SqlglotError

    try:
        tree = parse_one(sql, read="sqlite")
    except (SqlglotError, ValueError, RecursionError):
        return set()
    return {
        definition.name.lower()
        for definition in tree.find_all(exp.ColumnDef)
        if any(
            "NOCASE" in collate.sql(dialect="sqlite").upper()
            for collate in definition.find_all(exp.CollateColumnConstraint)
        )
    }


def _add(found: dict[str, Constraints], conjunct: object, columns: dict[str, Column], nocase: set[str]) -> None:
    from sqlglot import exp

    assert isinstance(conjunct, exp.Expression)
    named = {column.name.lower() for column in conjunct.find_all(exp.Column)}
    targets = [columns[name] for name in sorted(named) if name in columns]
    caseless = "NOCASE" in conjunct.sql(dialect="sqlite").upper() or bool(named & nocase)
    stated = _stated(conjunct, targets[0], caseless) if len(targets) == 1 else None
    for column in targets:
        old = found.get(column.name, Constraints())
        if stated is not None and column is targets[0]:
            choices, new_bounds = stated
            bounds = tuple(sorted({*old.bounds, *new_bounds}))
            found[column.name] = Constraints(choices or old.choices, bounds, old.max_length, old.checks)
        else:
            found[column.name] = Constraints(
                old.choices, old.bounds, old.max_length, (*old.checks, conjunct.sql(dialect="sqlite"))
            )


Bound = tuple[str, int | float]


def _stated(
    node: object, column: Column, caseless: bool = False
) -> tuple[tuple[str | int, ...], tuple[Bound, ...]] | None:
    """(choices, bounds) when the conjunct is ``col IN (…)`` (not on text compared without case),
    ``col <op> number`` or BETWEEN; else None. An integer column's bounds are integers."""
    from sqlglot import exp

    if isinstance(node, exp.In) and caseless and column.kind == "str":
        return None  # 'ON' passes CHECK (st IN ('on', 'off')) on a NOCASE column: a Literal would refuse it
    if isinstance(node, exp.In) and isinstance(node.this, exp.Column) and not node.args.get("query"):
        values = [_value(item) for item in node.expressions]
        wanted = {"str": str, "int": int}.get(column.kind)
        if values and wanted and all(type(value) is wanted for value in values):
            return tuple(value for value in dict.fromkeys(values) if isinstance(value, (str, int))), ()
        return None
    if column.kind not in ("int", "float", "decimal"):
        return None
    if isinstance(node, exp.Between) and isinstance(node.this, exp.Column):
        low, high = _number(node.args.get("low")), _number(node.args.get("high"))
        if low is None or high is None:
            return None
        return (), tuple(_bound(key, value, column) for key, value in (("ge", low), ("le", high)))
    if type(node).__name__ in BOUNDS and isinstance(node, exp.Binary):
        left, right, key = node.this, node.expression, BOUNDS[type(node).__name__]
        if isinstance(right, exp.Column):
            left, right, key = right, left, FLIPPED[key]
        number = _number(right)
        if isinstance(left, exp.Column) and number is not None:
            return (), (_bound(key, number, column),)
    return None


def _bound(key: str, number: int | float, column: Column) -> Bound:
    """The bound as the field states it: on an integer column, the integer bound that admits the same
    integers (``>= 0.5`` is ``>= 1``, ``< 2.5`` is ``<= 2``), since pydantic refuses a fractional one."""
    if column.kind != "int" or isinstance(number, int):
        return key, number
    if number.is_integer():
        return key, int(number)
    if key in ("ge", "gt"):
        return "ge", math.ceil(number)
    return "le", math.floor(number)


LARGEST = 2**63  # validators hold 64-bit integers: a bound or length beyond is left to the database


def _number(node: object) -> int | float | None:
    value = _value(node)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return value if abs(value) < LARGEST else None
    return None
