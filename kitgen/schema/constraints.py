"""What a table's SQL states about each column's values: defaults and CHECK constraints.

Parsed with sqlglot from the column's default text and, on SQLite, the table's ``CREATE``
statement (``sqlite_master.sql``); on PostgreSQL, the CHECK expressions as the catalog prints
them (``'draft'::text``, ``status = ANY (ARRAY[…])``, casts everywhere), which are read as
the plain comparisons they are. What an entity can state (a constant default, a set of choices,
numeric bounds, a maximum length) is returned as data; every other CHECK is returned as its SQL
text, left to the database.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

from kitgen.schema.model import Column, Table

Constant = str | int | float | bool | bytes | None
CITEXT = re.compile(r"(?:^|\.)citext$")  # PostgreSQL's case-insensitive text: choices compared without case
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
def constant_default(default: str | None, kind: str, dialect: str = "sqlite") -> Constant | object:
    """The Python value of a constant ``DEFAULT`` of a column of ``kind``, else ``NO_DEFAULT``.

    Only literals that the field's type holds exactly as the database would store them count:
    ``DEFAULT CURRENT_TIMESTAMP`` or ``DEFAULT (lower('X'))`` are left to the database. On
    PostgreSQL (``dialect="postgres"``) a constant is printed cast to its type (``'-5'::integer``):
    its text is read as the kind's value.
    """
    if default is None:
        return NO_DEFAULT
    if dialect == "postgres":
        return _postgres_default(default, kind)
    value = _literal(default)
    if value is None:
        return None if default.strip().upper().strip("()") == "NULL" else NO_DEFAULT
    return _typed(value, kind)


def _typed(value: Constant, kind: str) -> Constant | object:
    """A literal's value as a field of ``kind`` holds it, else ``NO_DEFAULT``."""
    if kind == "bool" and value in (0, 1) and not isinstance(value, (str, bytes, float)):
        return bool(value)
    if kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if math.isfinite(value) else NO_DEFAULT
    wanted = {"int": int, "str": str, "bytes": bytes, "enum": str}.get(kind)
    if wanted is not None and type(value) is wanted:
        return value
    return NO_DEFAULT


def _postgres_default(default: str, kind: str) -> Constant | object:
    """A PostgreSQL default: ``NULL``, a number or boolean, or text cast to the column's type."""
    from sqlglot import exp, parse_one
    from sqlglot.errors import SqlglotError

    try:
        node = _bare(parse_one(default, read="postgres"))
    except (SqlglotError, ValueError, RecursionError):
        return NO_DEFAULT
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Literal) and node.is_string:
        return _from_text(str(node.this), kind)
    value = _value(node)
    return NO_DEFAULT if value is None else _typed(value, kind)


TRUE_TEXTS, FALSE_TEXTS = ("t", "true", "y", "yes", "on", "1"), ("f", "false", "n", "no", "off", "0")


def _from_text(text: str, kind: str) -> Constant | object:
    """The value of a PostgreSQL constant written as text (``'-5'::integer``) for a field of ``kind``."""
    if kind in ("str", "enum"):
        return text
    if kind == "int" and re.fullmatch(r"[+-]?\d+", text.strip()):
        return int(text)
    if kind == "float" and re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?", text.strip(), re.IGNORECASE):
        return float(text)
    if kind == "bool" and text.strip().lower() in TRUE_TEXTS + FALSE_TEXTS:
        return text.strip().lower() in TRUE_TEXTS
    if kind == "bytes" and re.fullmatch(r"\\x([0-9a-fA-F]{2})*", text):
        return bytes.fromhex(text[2:])
    return NO_DEFAULT


def _bare(node: object) -> object:
    """The node without the parentheses and casts PostgreSQL prints around values and columns; text
    cast to a number (``'-5'::integer``, how it prints negative constants) is that number."""
    from sqlglot import exp

    while isinstance(node, (exp.Paren, exp.Cast)):
        inner = node.this
        while isinstance(inner, exp.Paren):
            inner = inner.this
        if isinstance(node, exp.Cast) and isinstance(inner, exp.Literal) and inner.is_string:
            return _number_literal(inner) if node.to.is_type(*exp.DataType.NUMERIC_TYPES) else inner
        node = inner
    return node


def _number_literal(text: object) -> object:
    """A string literal holding a number as a number literal (negated when negative); else as it is."""
    from sqlglot import exp

    assert isinstance(text, exp.Literal)
    found = re.fullmatch(r"\s*(-?)\s*(\d+(?:\.\d*)?(?:e[+-]?\d+)?)\s*", str(text.this), re.IGNORECASE)
    if found is None:
        return text
    number = exp.Literal.number(found.group(2))
    return exp.Neg(this=number) if found.group(1) else number


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


def column_constraints(table: Table, dialect: str = "sqlite") -> dict[str, Constraints]:
    """Column name → what its CHECK constraints and declared type state (columns with none left out).

    SQLite's CHECKs are read from the table's CREATE statement, PostgreSQL's (``dialect="postgres"``)
    from ``table.checks``.
    """
    found: dict[str, Constraints] = {}
    kinds = {column.name.lower(): column for column in table.columns}
    if dialect == "postgres":
        nocase = {
            column.name.lower() for column in table.columns if CITEXT.search(column.base_type or column.declared_type)
        }
        conjuncts = _postgres_conjuncts(table.checks)
    else:
        nocase = _nocase_columns(table.sql) if "NOCASE" in table.sql.upper() else set()
        conjuncts = _conjuncts(table.sql) if "CHECK" in table.sql.upper() else []
    for conjunct in conjuncts:
        _add(found, conjunct, kinds, nocase, dialect)
    for column in table.columns:
        declared = column.base_type or column.declared_type  # a domain's length is its base type's
        match = MAX_LENGTH.search(declared) if column.kind == "str" else None
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


def _postgres_conjuncts(checks: tuple[str, ...]) -> list[object]:
    """Every CHECK expression as PostgreSQL prints it, split at its top-level ANDs."""
    from sqlglot import exp, parse_one
    from sqlglot.errors import SqlglotError

    parts: list[object] = []
    for check in checks:
        try:
            tree = parse_one(check, read="postgres")
        except (SqlglotError, ValueError, RecursionError):
            continue
        while isinstance(tree, exp.Paren):
            tree = tree.this
        for part in tree.flatten() if isinstance(tree, exp.And) else [tree]:
            while isinstance(part, exp.Paren):
                part = part.this
            parts.append(part)
    return parts


def _plain(node: object) -> object:
    """A PostgreSQL conjunct as the comparison it states, without casts: ``status = ANY (ARRAY[…])``
    as ``status IN (…)``, ``(ratio >= (0)::double precision)`` as ``ratio >= 0``."""
    from sqlglot import exp

    node = _bare(node)
    if isinstance(node, exp.EQ) and isinstance(_bare(node.expression), exp.Any):
        array = _bare(_bare(node.expression).this)  # type: ignore[attr-defined]
        if isinstance(array, exp.Array):
            return exp.In(this=_bare(node.this), expressions=[_bare(item) for item in array.expressions])
    if isinstance(node, exp.In) and not node.args.get("query"):
        return exp.In(this=_bare(node.this), expressions=[_bare(item) for item in node.expressions])
    if isinstance(node, exp.Between):
        return exp.Between(this=_bare(node.this), low=_bare(node.args["low"]), high=_bare(node.args["high"]))
    if isinstance(node, (exp.GT, exp.GTE, exp.LT, exp.LTE)):
        return type(node)(this=_bare(node.this), expression=_bare(node.expression))
    return node


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


def _add(
    found: dict[str, Constraints],
    conjunct: object,
    columns: dict[str, Column],
    nocase: set[str],
    dialect: str = "sqlite",
) -> None:
    from sqlglot import exp

    assert isinstance(conjunct, exp.Expression)
    named = {column.name.lower() for column in conjunct.find_all(exp.Column)}
    targets = [columns[name] for name in sorted(named) if name in columns]
    text = conjunct.sql(dialect=dialect)
    caseless = "NOCASE" in text.upper() or bool(named & nocase)
    plain = _plain(conjunct.copy()) if dialect == "postgres" else conjunct
    stated = _stated(plain, targets[0], caseless) if len(targets) == 1 else None
    for column in targets:
        old = found.get(column.name, Constraints())
        if stated is not None and column is targets[0]:
            choices, new_bounds = stated
            bounds = tuple(sorted({*old.bounds, *new_bounds}))
            found[column.name] = Constraints(choices or old.choices, bounds, old.max_length, old.checks)
        else:
            found[column.name] = Constraints(old.choices, old.bounds, old.max_length, (*old.checks, text))


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
