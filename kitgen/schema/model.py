"""The intermediate model: what introspection produces and rendering consumes.

Plain frozen dataclasses, so a renderer test can build a schema by hand.

Fields marked ``ADDED`` state what only some engines know (PostgreSQL's identity columns, enums,
arrays, comments…). They are left out of ``stable_repr`` while at their defaults, so the definition
hash of an entity that does not use them stays what it was before they existed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

ADDED = {"added": True}  # metadata of a field stable_repr leaves out while it holds its default


@dataclass(frozen=True)
class ForeignKey:
    """The target of a foreign key column."""

    table: str
    column: str | None  # None: the target table's primary key
    on_delete: str = "NO ACTION"
    on_update: str = "NO ACTION"


@dataclass(frozen=True)
class Column:
    """One column of a table or view, with its Python type already decided."""

    name: str
    declared_type: str
    kind: str  # a key of kitgen.schema.types.ANNOTATIONS (or, on PostgreSQL, of POSTGRES_ANNOTATIONS)
    nullable: bool  # the Python field accepts None
    not_null: bool = False
    default: str | None = None  # the SQL default expression, as written
    primary_key: int = 0  # position in the primary key, 1-based; 0 when not part of it
    unique: bool = False
    foreign_key: ForeignKey | None = None
    generated: bool = False  # a generated column: read, never written
    rowid: bool = False  # the INTEGER PRIMARY KEY that aliases the rowid: SQLite assigns it
    element: str = field(default="", metadata=ADDED)  # kind "list": the kind of its elements
    enum: str = field(default="", metadata=ADDED)  # kind "enum" (or elements of kind "enum"): the enum type
    identity: str = field(default="", metadata=ADDED)  # "always" or "by default": the database assigns it
    base_type: str = field(default="", metadata=ADDED)  # a domain's base type, as declared
    comment: str | None = field(default=None, metadata=ADDED)  # COMMENT ON COLUMN


@dataclass(frozen=True)
class Table:
    """A table or a view."""

    name: str
    kind: str  # "table" or "view"
    columns: tuple[Column, ...]
    unique_together: tuple[tuple[str, ...], ...] = ()
    created_by: str | None = None  # the migration that created it
    model: str | None = None  # the entity class name that migration asked for
    sql: str = ""  # the CREATE statement as sqlite_master keeps it: CHECK constraints are read from it
    checks: tuple[str, ...] = field(default=(), metadata=ADDED)  # CHECK expressions, as PostgreSQL prints them
    comment: str | None = field(default=None, metadata=ADDED)  # COMMENT ON TABLE / VIEW
    variant: str = field(default="", metadata=ADDED)  # "partitioned" (a table) or "materialized" (a view)

    @property
    def primary_key(self) -> tuple[str, ...]:
        keyed = sorted((column.primary_key, column.name) for column in self.columns if column.primary_key)
        return tuple(name for _, name in keyed)


@dataclass(frozen=True)
class EnumType:
    """A database enum type: its name (qualified as relations are) and its labels in their order."""

    name: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Schema:
    """Every table and view kitgen generates entities for, sorted by name."""

    tables: tuple[Table, ...] = field(default_factory=tuple)
    engine: str = "sqlite"  # "sqlite" or "postgres": how values are stored, read and written
    enums: tuple[EnumType, ...] = ()  # the enum types the columns use, sorted by name


SCALARS = (str, int, bool, type(None))  # their repr is their stable_repr


def stable_repr(value: Any) -> str:
    """``repr(value)``, without the ``ADDED`` fields of its dataclasses that hold their defaults."""
    if isinstance(value, tuple):
        items = [stable_repr(item) for item in value]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    if is_dataclass(value) and not isinstance(value, type):
        shown = []
        for name, added, default in _shown_fields(type(value)):
            item = getattr(value, name)
            if not (added and item == default):
                shown.append(f"{name}={repr(item) if type(item) in SCALARS else stable_repr(item)}")
        return f"{type(value).__qualname__}({', '.join(shown)})"
    return repr(value)


@functools.cache
def _shown_fields(kind: type) -> tuple[tuple[str, bool, Any], ...]:
    """(name, added, default) of each field a dataclass's repr shows."""
    return tuple((item.name, bool(item.metadata.get("added")), item.default) for item in fields(kind) if item.repr)
