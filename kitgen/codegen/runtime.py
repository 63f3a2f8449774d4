"""The support module written beside the entities (``_kitgen.py``): row conversions.

Entities stay small and need nothing from kitgen at run time: their ``from_row`` and
``to_row`` call the functions of the support module, which turn what the database stores
into the field types and back. Its text is the parts below, shared by every engine, with
an engine's own parts between them (``kitgen.codegen.runtime_sqlite``,
``kitgen.codegen.runtime_postgres``): its imports, the row types it takes, its readers and
writers, the kinds of the fields' annotations, and the docstring of ``write_entity``.

Values are found by column name only, never by position: two databases built from the same
migrations applied in a different order hold the same columns in a different order. A row
that carries its names (``sqlite3.Row``, a mapping, psycopg's ``dict_row``) is read by them; a
tuple needs them beside it (``columns=cursor.description``), and a tuple without them is
refused. A name the entity needs that is missing, or that the row holds twice (a join), is an
error, not a guess.

An entity read from a row keeps the stored values beside its fields (``Snapshot``, never
part of its value), and ``to_row`` writes only the fields whose written form differs from
what the stored value reads as: a column the program never changed is never rewritten in
another form (an epoch number as text, 2 in a BOOLEAN as 1). Reading checks types, not the
fields' constraints: a row the database accepted is always read.
"""

from __future__ import annotations

from dataclasses import dataclass

from kitgen.codegen import runtime_postgres, runtime_sqlite


@dataclass(frozen=True)
class EngineRuntime:
    """The parts of the support module that differ between engines, in the order they come."""

    imports: str  # the imports, down to the typing names
    row: str  # the Row alias: what from_row takes
    conversions: str  # READERS and WRITERS (and the functions only they use)
    kinds: str  # KINDS: annotation -> kind (and the aliases that mark kinds)
    kind: str  # _kind(): the kind of an annotation
    rows: str  # _values_by_name(): a row's values by column name
    write_doc: str  # the docstring of write_entity()
    written: str  # _written(): a field's value as it is written


ENGINES = {
    "sqlite": EngineRuntime(
        runtime_sqlite.IMPORTS,
        runtime_sqlite.ROW,
        runtime_sqlite.CONVERSIONS,
        runtime_sqlite.KINDS,
        runtime_sqlite.KIND,
        runtime_sqlite.ROWS,
        runtime_sqlite.WRITE_DOC,
        runtime_sqlite.WRITTEN,
    ),
    "postgres": EngineRuntime(
        runtime_postgres.IMPORTS,
        runtime_postgres.ROW,
        runtime_postgres.CONVERSIONS,
        runtime_postgres.KINDS,
        runtime_postgres.KIND,
        runtime_postgres.ROWS,
        runtime_postgres.WRITE_DOC,
        runtime_postgres.WRITTEN,
    ),
}


def support_body(engine: str = "sqlite") -> str:
    """The text of the support module for the entities of a database of ``engine``."""
    own = ENGINES[engine]
    return "".join(
        (
            HEAD,
            own.imports,
            own.row,
            CONVERTERS,
            own.conversions,
            STATE,
            own.kinds,
            FIELDS,
            own.kind,
            READ,
            own.rows,
            WRITE,
            own.write_doc,
            WRITE_REST,
            own.written,
            TAIL,
        )
    )


# --- the parts every engine shares ----------------------------------------------------------

HEAD = '''
"""kitgen's runtime for the entities of this package: rows in, rows out.

Written by kitgen beside the entities it generates, so that they need nothing from
kitgen at run time. ``read_entity`` builds an entity from a row (by column name,
each value converted to its field's type) and keeps the values it read;
``write_entity`` gives the row to write: for an entity read from a row, the fields
changed since; for one the program built, what it set, leaving out what the
database fills in (``DATABASE_DEFAULT``).
"""

from __future__ import annotations

'''.removeprefix("\n")

CONVERTERS = '''
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


'''.removeprefix("\n")

STATE = '''
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

'''.removeprefix("\n")

FIELDS = '''
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


'''.removeprefix("\n")

READ = '''
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


'''.removeprefix("\n")

WRITE = '''
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
'''.removeprefix("\n")

WRITE_REST = '''
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


'''.removeprefix("\n")

TAIL = '''
def _unchanged(field: Field, written: Any, stored: Any) -> bool:
    """Whether ``written`` is what the value read from ``stored`` writes: the field did not change."""
    try:
        value = None if stored is None else READERS[field.kind](stored)
        before = _written(field, value)
    except (ValueError, TypeError, ArithmeticError, OSError):
        return False
    return type(before) is type(written) and bool(before == written)
'''.removeprefix("\n")


SUPPORT_BODY = support_body("sqlite")
