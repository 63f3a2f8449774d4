"""The support module written beside the entities (``_kitgen.py``): row conversions.

Entities stay small and need nothing from kitgen at run time: their ``from_row`` and
``to_row`` call the functions below, which turn what SQLite stores into the field types
and back.

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
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Row = sqlite3.Row | Sequence[Any] | Mapping[str, Any]


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
        return decimal.Decimal(repr(value))  # 0.1 -> Decimal("0.1"), not its binary expansion
    if isinstance(value, bytes):
        value = value.decode()
    return decimal.Decimal(value)


def _datetime(value: Any) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value
    if isinstance(value, (int, float)):  # Unix epoch seconds, as UTC without a time zone
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


def read_row(row: Row, columns: Mapping[str, str], kinds: Mapping[str, str]) -> dict[str, Any]:
    """Field name -> value converted to the field's type, from a row in any of the accepted shapes."""
    if isinstance(row, (sqlite3.Row, Mapping)):
        values = [row[column] for column in columns.values()]
    else:
        values = list(row)
        if len(values) != len(columns):
            raise ValueError(f"expected {len(columns)} values in column order, got {len(values)}")
    return {
        field: None if value is None else READERS[kinds[field]](value)
        for field, value in zip(columns, values, strict=True)
    }


def write_row(values: Mapping[str, Any], columns: Mapping[str, str], kinds: Mapping[str, str]) -> dict[str, Any]:
    """Column name -> value as SQLite stores it, for the given fields."""
    return {
        columns[field]: None if value is None else WRITERS.get(kinds[field], _same)(value)
        for field, value in values.items()
    }
'''.lstrip("\n")
