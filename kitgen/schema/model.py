"""The intermediate model: what introspection produces and rendering consumes.

Plain frozen dataclasses, so a renderer test can build a schema by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
    kind: str  # a key of kitgen.schema.types.ANNOTATIONS
    nullable: bool  # the Python field accepts None
    not_null: bool = False
    default: str | None = None  # the SQL default expression, as written
    primary_key: int = 0  # position in the primary key, 1-based; 0 when not part of it
    unique: bool = False
    foreign_key: ForeignKey | None = None
    generated: bool = False  # a generated column: read, never written
    rowid: bool = False  # the INTEGER PRIMARY KEY that aliases the rowid: SQLite assigns it


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

    @property
    def primary_key(self) -> tuple[str, ...]:
        keyed = sorted((column.primary_key, column.name) for column in self.columns if column.primary_key)
        return tuple(name for _, name in keyed)


@dataclass(frozen=True)
class Schema:
    """Every table and view kitgen generates entities for, sorted by name."""

    tables: tuple[Table, ...] = field(default_factory=tuple)
