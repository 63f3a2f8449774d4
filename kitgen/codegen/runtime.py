"""The support module written beside the entities (``_kitgen.py``): row conversions.

Entities stay small and need nothing from kitgen at run time: their ``from_row`` and
``to_row`` call the functions below, which turn what SQLite stores into the field types
and back.

Values are found by column name only, never by position: two databases built from the same
migrations applied in a different order hold the same columns in a different order. A
``sqlite3.Row`` or a mapping carries its names; a tuple needs them beside it
(``columns=cursor.description``), and a tuple without them is refused. A name the entity needs
that is missing, or that the row holds twice (a join), is an error, not a guess.

A Decimal is written as its exact text (``str``), never as a float, whatever the column's
affinity: a TEXT column keeps every digit (``0.10`` included), and for NUMERIC affinity SQLite
itself turns the text into an INTEGER (exact up to 2**63) or a REAL; a float would round
integers past 2**53, and SQLite stores a float NaN as NULL.
"""

from __future__ import annotations

SUPPORT_BODY = '''
"""Conversions between SQLite values and entity field types, shared by the entities."""

from __future__ import annotations

import datetime
import decimal
import json
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Protocol

Row = sqlite3.Row | Mapping[str, Any] | Sequence[Any]
Names = Sequence[str | Sequence[Any]]  # column names, or cursor.description


def _integer(value: Any) -> int:
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{value!r} is not an integer")
    return int(value)


def _boolean(value: Any) -> bool:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in {"1", "true", "t", "yes", "y", "on"}:
            return True
        if lowered in {"0", "false", "f", "no", "n", "off", ""}:
            return False
        raise ValueError(f"{value!r} is not a boolean")
    return bool(value)


def _decimal(value: Any) -> decimal.Decimal:
    if isinstance(value, float):
        # 0.1 -> Decimal("0.1"), not its binary expansion
        return decimal.Decimal(repr(value))
    if isinstance(value, bytes):
        value = value.decode()
    return decimal.Decimal(value)


def _datetime(value: Any) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value
    if isinstance(value, (int, float)):  # Unix epoch seconds, as UTC, naive
        moment = datetime.datetime.fromtimestamp(value, datetime.UTC)
        return moment.replace(tzinfo=None)
    text = value.decode() if isinstance(value, bytes) else str(value)
    return datetime.datetime.fromisoformat(text)


def _date(value: Any) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = value.decode() if isinstance(value, bytes) else str(value)
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return datetime.datetime.fromisoformat(text).date()


def _time(value: Any) -> datetime.time:
    if isinstance(value, datetime.time):
        return value
    text = value.decode() if isinstance(value, bytes) else str(value)
    return datetime.time.fromisoformat(text)


def _uuid(value: Any) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, (bytes, memoryview)) and len(value) == 16:
        return uuid.UUID(bytes=bytes(value))
    return uuid.UUID(value.decode() if isinstance(value, bytes) else str(value))


def _json(value: Any) -> Any:
    if isinstance(value, (str, bytes)):
        return json.loads(value)
    return value


def _bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode()
    return bytes(value)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


def _same(value: Any) -> Any:
    return value


READERS: dict[str, Callable[[Any], Any]] = {
    "any": _same,
    "bool": _boolean,
    "bytes": _bytes,
    "date": _date,
    "datetime": _datetime,
    "decimal": _decimal,
    "float": float,
    "int": _integer,
    "json": _json,
    "str": _text,
    "time": _time,
    "uuid": _uuid,
}


def _isoformat(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    return value.isoformat()


WRITERS: dict[str, Callable[[Any], Any]] = {
    "bool": int,
    "date": _isoformat,
    "datetime": _isoformat,
    "decimal": str,
    "json": lambda value: json.dumps(value, sort_keys=True),
    "time": _isoformat,
    "uuid": str,
}


class Entity(Protocol):
    """What read_row needs of an entity class: its table, columns and kinds."""

    __tablename__: ClassVar[str]
    __columns__: ClassVar[dict[str, str]]
    __kinds__: ClassVar[dict[str, str]]


def read_row(entity: type[Entity], row: Row, names: Names | None) -> dict[str, Any]:
    """Field name -> value converted to the field's type, each found by its column's name."""
    table = entity.__tablename__
    by_name, repeated = _values_by_name(row, names, table)
    _check_columns(table, list(entity.__columns__.values()), by_name, repeated)
    fields: dict[str, Any] = {}
    for field, column in entity.__columns__.items():
        value = by_name[column]
        kind = entity.__kinds__[field]
        fields[field] = None if value is None else READERS[kind](value)
    return fields


def _check_columns(
    table: str,
    needed: list[str],
    by_name: Mapping[str, Any],
    repeated: set[str],
) -> None:
    """Every column the entity needs is in the row, exactly once."""
    twice = [column for column in needed if column in repeated]
    if twice:
        raise ValueError(
            f"table {table!r}: more than one column of the row is named {_names(twice)};"
            " select each once, or give the others another name with AS"
        )
    missing = [column for column in needed if column not in by_name]
    if missing:
        raise ValueError(
            f"table {table!r}: the row has no column {_names(missing)}"
            f" (its columns: {_names(by_name) or 'none'}); select every column of the table"
        )


def _names(names: Iterable[str]) -> str:
    return ", ".join(map(repr, names))


def _values_by_name(
    row: Row,
    names: Names | None,
    table: str,
) -> tuple[Mapping[str, Any], set[str]]:
    """Column name -> value, and the names the row holds more than once (ambiguous)."""
    if names is not None:
        values = _sequence_of_values(row, table)
        return _pair(values, _column_names(names, table), table)
    if isinstance(row, sqlite3.Row):
        return _pair(row, row.keys(), table)
    if isinstance(row, Mapping):
        return row, set()
    raise TypeError(
        f"table {table!r}: a {type(row).__name__} of values has no column names, and values are never"
        " matched to columns by position (two databases built from the same migrations can order"
        " their columns differently); set connection.row_factory = sqlite3.Row, pass a dict of"
        " column name -> value, or pass the names: from_row(row, columns=cursor.description)"
    )


def _sequence_of_values(row: Row, table: str) -> Sequence[Any]:
    if isinstance(row, (sqlite3.Row, Mapping, str, bytes)):
        raise TypeError(
            f"table {table!r}: columns= goes with a tuple or list of values, not a"
            f" {type(row).__name__} (a sqlite3.Row or a mapping carries its own names)"
        )
    return row


def _column_names(names: Names, table: str) -> list[str]:
    """The names from a list of names or from cursor.description (whose items start with the name)."""
    if isinstance(names, str):
        expected = "a list of names or cursor.description"
        raise TypeError(f"table {table!r}: columns= takes {expected}")
    return [name if isinstance(name, str) else name[0] for name in names]


def _pair(
    values: Sequence[Any],
    names: Sequence[str],
    table: str,
) -> tuple[dict[str, Any], set[str]]:
    if len(values) != len(names):
        counts = f"{len(values)} values but columns= has {len(names)} names"
        raise ValueError(f"table {table!r}: the row has {counts}")
    by_name: dict[str, Any] = {}
    repeated: set[str] = set()
    for name, value in zip(names, values, strict=True):
        if name in by_name:
            repeated.add(name)
        by_name[name] = value
    return by_name, repeated


def write_row(
    values: Mapping[str, Any],
    columns: Mapping[str, str],
    kinds: Mapping[str, str],
) -> dict[str, Any]:
    """Column name -> value as SQLite stores it, for the given fields."""
    written: dict[str, Any] = {}
    for field, value in values.items():
        writer = WRITERS.get(kinds[field], _same)
        written[columns[field]] = None if value is None else writer(value)
    return written
'''.lstrip("\n")
