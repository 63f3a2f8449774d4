"""The parts of the support module (``_kitgen.py``) that are SQLite's own.

SQLite stores what it is given, whatever the declared type: the readers accept every form a
value may have been stored in (text, numbers, blobs) and the writers give what SQLite keeps
exactly. A Decimal is written as its exact text (``str``), never as a float, whatever the
column's affinity: a TEXT column keeps every digit (``0.10`` included), and for NUMERIC
affinity SQLite itself turns the text into an INTEGER (exact up to 2**63) or a REAL; a float
would round integers past 2**53, and SQLite stores a float NaN as NULL.
"""

IMPORTS = """
import copy
import datetime
import decimal
import inspect
import json
import sqlite3
import sys
import types
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import (
    Annotated,
    Any,
    ClassVar,
    Literal,
    NamedTuple,
    Protocol,
    TypeAlias,
    TypeVar,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

""".removeprefix("\n")

ROW = """
Row = sqlite3.Row | Mapping[str, Any] | Sequence[Any]
""".removeprefix("\n")

CONVERSIONS = """
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


""".removeprefix("\n")

KINDS = """
KINDS: dict[Any, str] = {
    bool: "bool",
    bytes: "bytes",
    datetime.date: "date",
    datetime.datetime: "datetime",
    decimal.Decimal: "decimal",
    float: "float",
    int: "int",
    str: "str",
    datetime.time: "time",
    uuid.UUID: "uuid",
}


""".removeprefix("\n")

KIND = '''
def _kind(hint: Any) -> str:
    """The kind of a field (a key of READERS) from its annotation."""
    if get_origin(hint) in (Union, types.UnionType):
        hint = next(arg for arg in get_args(hint) if arg is not type(None))
    if get_origin(hint) is Annotated:
        hint, *extras = get_args(hint)
        if JSON_MARK in extras:
            return "json"
    if get_origin(hint) is Literal:
        hint = type(get_args(hint)[0])
    return KINDS.get(hint, "any")


'''.removeprefix("\n")

ROWS = '''
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


'''.removeprefix("\n")

WRITE_DOC = '''
    """Column name -> value as SQLite stores it, for every field to write.

    An entity read by ``read_entity`` writes the fields whose value changed since it was
    read, so a column the program never touched keeps what the database holds (an epoch
    number in a DATETIME, 2 in a BOOLEAN). An entity the program built writes every field
    but those still at DATABASE_DEFAULT and, for a pydantic model, those not set
    (``model_fields_set``), so that an INSERT of the row lets the database fill them.
    Generated columns are never written.
    """
'''.removeprefix("\n")

WRITTEN = """
def _written(field: Field, value: Any) -> Any:
    return None if value is None else WRITERS.get(field.kind, _same)(value)


""".removeprefix("\n")
