"""The parts of the support module (``_kitgen.py``) that are PostgreSQL's own.

psycopg returns values as Python objects already (json and jsonb decoded, timestamptz aware,
numeric as Decimal, arrays as lists), so the readers check and keep them: a jsonb string
``"abc"`` arrives as the str ``abc`` and is never decoded again. An array of a type psycopg does
not know (an enum's, citext's) arrives as PostgreSQL's text for it and is parsed here.

The writers give what psycopg adapts to the column's type: bool stays bool (PostgreSQL casts
no integer to boolean), datetimes, dates, times, durations, Decimals, UUIDs and addresses stay
as they are, a JSON value becomes its JSON text (a str, which psycopg sends untyped, so the
server reads it as json or jsonb), an enum member its value, a list a list. A datetime without
time zone for a timestamptz column, or one with a time zone for a timestamp column, is refused:
PostgreSQL would read it in the session's time zone. A datetime for a date column is refused
unless at midnight. The module needs nothing but the standard library: no psycopg, no sqlite3.
"""

IMPORTS = """
import copy
import datetime
import decimal
import enum
import inspect
import ipaddress
import json
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
Row = Mapping[str, Any] | Sequence[Any]
""".removeprefix("\n")

CONVERSIONS = '''
def _aware(value: Any) -> datetime.datetime:
    """A moment with its time zone (timestamptz); without one, the moment is unknown."""
    moment = _datetime(value)
    if moment.utcoffset() is None:
        raise ValueError(
            f"{moment.isoformat(sep=' ')} has no time zone, so PostgreSQL would read it"
            " in the session's: give it one (datetime.UTC, a zoneinfo.ZoneInfo)"
        )
    return moment


def _naive(value: Any) -> datetime.datetime:
    """A date and time without time zone (timestamp); one with a time zone is refused."""
    moment = _datetime(value)
    if moment.utcoffset() is not None:
        raise ValueError(
            f"{moment.isoformat(sep=' ')} has a time zone, which PostgreSQL would drop"
            " after moving the time to the session's: give the time without it"
        )
    return moment


def _timedelta(value: Any) -> datetime.timedelta:
    if isinstance(value, datetime.timedelta):
        return value
    raise TypeError(f"a {type(value).__name__} is not a duration")


def _interface(value: Any) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
    return ipaddress.ip_interface(value)


def _network(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(value)


def _json_text(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _array(value: Any) -> list[Any]:
    """An array's items: a list as psycopg gives it, or parsed from PostgreSQL's text
    of an array whose type psycopg does not know ('{sad,"in progress",NULL}')."""
    if isinstance(value, str):
        return _flat(_array_items(value))
    return _items(value)


def _items(value: Any) -> list[Any]:
    """The items of a list (or tuple) of values: an array of one dimension."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise TypeError(f"a {type(value).__name__} is not a list")
    return _flat(list(value))


def _flat(items: list[Any]) -> list[Any]:
    if any(isinstance(item, (list, tuple)) for item in items):
        raise ValueError("it has more than one dimension, and the field holds one")
    return items


def _array_items(text: str) -> list[Any]:
    """The items of an array as PostgreSQL writes it: quoted or bare, NULL for None."""
    body = text.partition("=")[2] if text.startswith("[") else text  # [0:1]={a,b}
    if body[:1] != "{" or body[-1:] != "}":
        raise ValueError("it is not an array")
    if body == "{}":
        return []
    items: list[Any] = []
    chars: list[str] = []
    quoted = was_quoted = escaped = False
    for char in body[1:-1] + ",":
        if escaped:
            chars.append(char)
            escaped = False
        elif char == "\\\\":
            escaped = True
        elif char == '"':
            quoted, was_quoted = not quoted, True
        elif quoted or char not in ",{}":
            chars.append(char)
        elif char == ",":
            word = "".join(chars)
            items.append(None if word.upper() == "NULL" and not was_quoted else word)
            chars, was_quoted = [], False
        else:
            items.append([])  # a nested array: refused by _flat
    return items


def _read_list(read: Callable[[Any], Any]) -> Callable[[Any], list[Any]]:
    def convert(value: Any) -> list[Any]:
        return [None if item is None else read(item) for item in _array(value)]

    return convert


def _write_list(write: Callable[[Any], Any]) -> Callable[[Any], list[Any]]:
    def convert(value: Any) -> list[Any]:
        return [None if item is None else write(item) for item in _items(value)]

    return convert


READERS: dict[str, Callable[[Any], Any]] = {
    "any": _same,
    "bool": _boolean,
    "bytes": _bytes,
    "cidr": _network,
    "date": _date,
    "datetime": _datetime,
    "decimal": _decimal,
    "float": float,
    "inet": _interface,
    "int": _integer,
    "json": _same,  # json and jsonb arrive decoded: a JSON string is a str already
    "json_text": _json,  # JSON kept as text in a column of another type
    "str": _text,
    "time": _time,
    "timedelta": _timedelta,
    "timestamptz": _aware,
    "uuid": _uuid,
}

WRITERS: dict[str, Callable[[Any], Any]] = {
    "bool": _boolean,
    "cidr": _network,
    "date": _date,
    "datetime": _naive,
    "decimal": _decimal,
    "inet": _interface,
    "int": _integer,
    "json": _json_text,
    "json_text": _json_text,
    "timedelta": _timedelta,
    "timestamptz": _aware,
    "uuid": _uuid,
}


'''.removeprefix("\n")

KINDS = """
# JSON kept as text in a column of another type: json.loads reads it
JSON_TEXT_MARK = "kitgen: json text"
JSONText: TypeAlias = Annotated[Any, JSON_TEXT_MARK]
# a timestamptz column: a datetime with its time zone
AWARE_MARK = "kitgen: timestamptz"
AwareDatetime: TypeAlias = Annotated[datetime.datetime, AWARE_MARK]
MARKS = {JSON_MARK: "json", JSON_TEXT_MARK: "json_text", AWARE_MARK: "timestamptz"}

KINDS: dict[Any, str] = {
    bool: "bool",
    bytes: "bytes",
    datetime.date: "date",
    datetime.datetime: "datetime",
    decimal.Decimal: "decimal",
    float: "float",
    int: "int",
    ipaddress.IPv4Interface: "inet",
    ipaddress.IPv6Interface: "inet",
    ipaddress.IPv4Network: "cidr",
    ipaddress.IPv6Network: "cidr",
    str: "str",
    datetime.time: "time",
    datetime.timedelta: "timedelta",
    uuid.UUID: "uuid",
}


""".removeprefix("\n")

KIND = '''
def _kind(hint: Any) -> str:
    """The kind of a field (a key of READERS) from its annotation; that of an enum or of
    a list is added to READERS and WRITERS the first time it is met."""
    if get_origin(hint) in (Union, types.UnionType):
        hint = next(arg for arg in get_args(hint) if arg is not type(None))
    if get_origin(hint) is Annotated:
        hint, *extras = get_args(hint)
        marked = [kind for mark, kind in MARKS.items() if mark in extras]
        if marked:
            return marked[0]
    if get_origin(hint) is Literal:
        hint = type(get_args(hint)[0])
    if get_origin(hint) is list:
        return _list_kind(_kind(get_args(hint)[0]))
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum_kind(hint)
    return KINDS.get(hint, "any")


def _enum_kind(hint: type[enum.Enum]) -> str:
    """An enum's kind: read as the member of that value, written as its value."""
    kind = f"{hint.__module__}.{hint.__qualname__}"
    if kind not in READERS:
        READERS[kind] = hint
        WRITERS[kind] = lambda value: hint(value).value
    return kind


def _list_kind(item: str) -> str:
    """A list's kind: each item read and written as its kind, None as NULL."""
    kind = f"list[{item}]"
    if kind not in READERS:
        READERS[kind] = _read_list(READERS[item])
        WRITERS[kind] = _write_list(WRITERS.get(item, _same))
    return kind


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
    if isinstance(row, Mapping):
        return row, set()
    keys: Callable[[], Iterable[str]] | None = getattr(row, "keys", None)
    if keys is not None:  # a row that carries its names, as sqlite3.Row does
        return _pair(row, list(keys()), table)
    raise TypeError(
        f"table {table!r}: a {type(row).__name__} of values has no column names, and values are never"
        " matched to columns by position (two databases built from the same migrations can order"
        " their columns differently); read rows as dicts (psycopg.rows.dict_row), or pass the"
        " names: from_row(row, columns=cursor.description)"
    )


def _sequence_of_values(row: Row, table: str) -> Sequence[Any]:
    if isinstance(row, (Mapping, str, bytes)) or hasattr(row, "keys"):
        raise TypeError(
            f"table {table!r}: columns= goes with a tuple or list of values, not a"
            f" {type(row).__name__} (a mapping carries its own names)"
        )
    return row


'''.removeprefix("\n")

WRITE_DOC = '''
    """Column name -> value for psycopg to write, for every field to write.

    An entity read by ``read_entity`` writes the fields whose value changed since it was
    read, so a column the program never touched keeps what the database holds (an
    interval of months, which reads as days). An entity the program built writes every
    field but those still at DATABASE_DEFAULT and, for a pydantic model, those not set
    (``model_fields_set``), so that an INSERT of the row lets the database fill them.
    Generated columns are never written.
    """
'''.removeprefix("\n")

WRITTEN = """
def _written(field: Field, value: Any) -> Any:
    if value is None:
        return None
    try:
        return WRITERS.get(field.kind, _same)(value)
    except (ValueError, TypeError, ArithmeticError) as error:
        name = f"{field.name!r} (column {field.column!r})"
        raise ValueError(f"the field {name} cannot be written: {error}") from None


""".removeprefix("\n")
