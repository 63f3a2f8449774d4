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

An entity read from a row keeps the stored values beside its fields (``Snapshot``, never
part of its value), and ``to_row`` writes only the fields whose written form differs from
what the stored value reads as: a column the program never changed is never rewritten in
another form (an epoch number as text, 2 in a BOOLEAN as 1). Reading checks types, not the
fields' constraints: a row the database accepted is always read.
"""

from __future__ import annotations

SUPPORT_BODY = '''
"""kitgen's runtime for the entities of this package: rows in, rows out.

Written by kitgen beside the entities it generates, so that they need nothing from
kitgen at run time. ``read_entity`` builds an entity from a row (by column name,
each value converted to its field's type) and keeps the values it read;
``write_entity`` gives the row to write: for an entity read from a row, the fields
changed since; for one the program built, what it set, leaving out what the
database fills in (``DATABASE_DEFAULT``).
"""

from __future__ import annotations

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
        return _day_of(value)
    if isinstance(value, datetime.date):
        return value
    text = value.decode() if isinstance(value, bytes) else str(value)
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return _day_of(datetime.datetime.fromisoformat(text))


def _day_of(moment: datetime.datetime) -> datetime.date:
    """The day of a moment at midnight; any other time of day would be lost, so it is refused."""
    if moment.time() != datetime.time() or moment.tzinfo is not None:
        when = moment.isoformat(sep=" ")
        raise ValueError(f"it has a time of day ({when}) that a date would lose")
    return moment.date()


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


class _DatabaseDefault:
    """The default of a field the database fills in: ``to_row()`` leaves it out."""

    def __repr__(self) -> str:
        return "DATABASE_DEFAULT"

    def __copy__(self) -> _DatabaseDefault:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _DatabaseDefault:
        return self


# Typed Any, so that type checkers accept it as the default of a field of any type.
DATABASE_DEFAULT: Any = _DatabaseDefault()


def is_database_default(value: Any) -> bool:
    """Whether a field still waits for the database to fill it (pydantic leaves it out of dumps)."""
    return value is DATABASE_DEFAULT


READ = "_kitgen_read"  # the attribute of an entity that holds what from_row read


class Snapshot:
    """The values an entity was read from, by field name (``None``: not read from a row).

    It is part of the entity's state, not of its value: two snapshots are always equal,
    so an entity read from a row equals one built with the same field values.
    """

    __slots__ = ("values", "written")

    def __init__(
        self,
        values: dict[str, Any] | None,
        written: frozenset[str] = frozenset(),
    ) -> None:
        self.values = values
        # The fields an earlier to_row() gave: written again every time.
        self.written = written

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Snapshot)

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return "NOT_READ" if self.values is None else f"Snapshot({self.values!r})"

    def __copy__(self) -> Snapshot:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Snapshot:
        return self  # its values are never changed in place


NOT_READ = Snapshot(None)

JSON_MARK = "kitgen: json"
JSON: TypeAlias = Annotated[Any, JSON_MARK]  # a JSON column: any value json.loads gives

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


class ColumnValueError(ValueError):
    """A value of a row that its entity cannot hold: names the entity, column and value."""

    def __init__(
        self,
        entity: str,
        table: str,
        column: str,
        value: Any,
        reason: str,
    ) -> None:
        where = f"column {column!r} of table {table!r}"
        super().__init__(f"{entity}: {where} holds {value!r}, {reason}")
        self.entity = entity
        self.column = column
        self.value = value


class Entity(Protocol):
    """What the functions below need of an entity class: its table and its key."""

    __tablename__: ClassVar[str]
    __primary_key__: ClassVar[tuple[str, ...]]


E = TypeVar("E", bound=Entity)


class Field(NamedTuple):
    """A field of an entity, its column, its kind, and whether to_row() writes it."""

    name: str
    column: str
    kind: str
    written: bool


SHAPES: dict[type[Any], tuple[Field, ...]] = {}


def fields_of(entity: type[Entity]) -> tuple[Field, ...]:
    """The entity's fields in column order, from its annotations (read once per class).

    ``__columns__`` (field -> column) is there only when a name differs, and
    ``__generated__`` only when the table has generated columns.
    """
    found = SHAPES.get(entity)
    if found is None:
        columns: dict[str, str] = getattr(entity, "__columns__", {})
        generated: tuple[str, ...] = getattr(entity, "__generated__", ())
        found = tuple(
            Field(name, columns.get(name, name), _kind(hint), name not in generated)
            for name, hint in _field_hints(entity).items()
        )
        SHAPES[entity] = found
    return found


def _field_hints(entity: type[Entity]) -> dict[str, Any]:
    """The fields' annotations, evaluated in the module alone: a field's default (a
    field named ``tuple`` holds None) must not stand for a name an annotation uses."""
    own = inspect.get_annotations(entity)
    fields = {name: hint for name, hint in own.items() if _is_field(name, hint)}
    holder = types.SimpleNamespace(__annotations__=fields)
    module = vars(sys.modules[entity.__module__])
    return get_type_hints(holder, module, include_extras=True)


def _is_field(name: str, hint: Any) -> bool:
    """Not a ClassVar, nor ``_kitgen_read`` (no field's name starts with _)."""
    return "ClassVar[" not in str(hint) and not name.startswith("_")


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


def read_entity(entity: type[E], row: Row, names: Names | None) -> E:
    """An entity from a row, each field from its column, converted to the field's type."""
    table = entity.__tablename__
    fields = fields_of(entity)
    by_name, repeated = _values_by_name(row, names, table)
    _check_columns(table, [field.column for field in fields], by_name, repeated)
    values = {f.name: _read(entity, f, by_name[f.column]) for f in fields}
    # Not validated again: what the database holds is read as it is, even a value longer
    # than its VARCHAR(n), which SQLite does not enforce (pydantic: model_construct).
    construct: Callable[..., E] = getattr(entity, "model_construct", entity)
    read = construct(**values)
    kept = {f.name: _kept(by_name[f.column]) for f in fields if f.written}
    setattr(read, READ, Snapshot(kept))
    return read


def _kept(value: Any) -> Any:
    """A stored value as it was read: a copy of a mutable one (a mapping's list, say)."""
    if value is None or isinstance(value, (int, float, str, bytes)):
        return value
    return copy.deepcopy(value)


def _read(entity: type[Entity], field: Field, value: Any) -> Any:
    if value is None:
        return None
    try:
        return READERS[field.kind](value)
    except (ValueError, TypeError, ArithmeticError, OSError) as error:
        reason = f"which is not a {field.kind} ({error})"
        name = entity.__name__
        table = entity.__tablename__
        raise ColumnValueError(name, table, field.column, value, reason) from None


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


def write_entity(entity: Entity) -> dict[str, Any]:
    """Column name -> value as SQLite stores it, for every field to write.

    An entity read by ``read_entity`` writes the fields whose value changed since it was
    read, so a column the program never touched keeps what the database holds (an epoch
    number in a DATETIME, 2 in a BOOLEAN). An entity the program built writes every field
    but those still at DATABASE_DEFAULT and, for a pydantic model, those not set
    (``model_fields_set``), so that an INSERT of the row lets the database fill them.
    Generated columns are never written.
    """
    snapshot = getattr(entity, READ, NOT_READ)
    read = snapshot.values
    chosen: set[str] | None = None
    if read is None:
        chosen = getattr(entity, "model_fields_set", None)
    row: dict[str, Any] = {}
    given: set[str] = set()
    for field in fields_of(type(entity)):
        value = getattr(entity, field.name)
        unset = chosen is not None and field.name not in chosen
        if not field.written or unset or value is DATABASE_DEFAULT:
            continue
        written = _written(field, value)
        if read is None or field.name in snapshot.written:
            changed = True
        else:
            changed = not _unchanged(field, written, read[field.name])
        if changed:
            row[field.column] = written
            given.add(field.name)
    if read is not None:
        _refuse_a_new_key(entity, read, row)
        # A field once given stays given: changed back after a save, it is written again.
        setattr(entity, READ, Snapshot(read, snapshot.written | given))
    return row


def _refuse_a_new_key(
    entity: Entity,
    read: dict[str, Any],
    row: dict[str, Any],
) -> None:
    """A read entity whose key changed would make an UPDATE by its key write another row."""
    for field in fields_of(type(entity)):
        if field.column in row and field.column in entity.__primary_key__:
            stored = read[field.name]
            old = None if stored is None else READERS[field.kind](stored)
            new = getattr(entity, field.name)
            raise ValueError(
                f"{type(entity).__name__}: the primary key column {field.column!r} of table"
                f" {entity.__tablename__!r} changed since the row was read ({old!r} → {new!r});"
                " an UPDATE by the new key would write another row: change the key with an"
                " UPDATE of your own, or build a new entity to insert a copy"
            )


def _written(field: Field, value: Any) -> Any:
    return None if value is None else WRITERS.get(field.kind, _same)(value)


def _unchanged(field: Field, written: Any, stored: Any) -> bool:
    """Whether ``written`` is what the value read from ``stored`` writes: the field did not change."""
    try:
        value = None if stored is None else READERS[field.kind](stored)
        before = _written(field, value)
    except (ValueError, TypeError, ArithmeticError, OSError):
        return False
    return type(before) is type(written) and bool(before == written)
'''.lstrip("\n")
