"""Raw schema rows → the intermediate model, with each column's Python type decided."""

from __future__ import annotations

from collections.abc import Mapping

from kitgen.driver.base import AppliedMigration, Driver, RawColumn, RawSchema
from kitgen.schema.model import Column, ForeignKey, Schema, Table
from kitgen.schema.types import resolve_kind

Origins = Mapping[str, tuple[str, str | None]]  # table → (creating migration, its model)


def introspect_schema(driver: Driver, overrides: Mapping[str, str] | None = None) -> Schema:
    """The database's schema as the intermediate model, with who created each table."""
    return build_schema(driver.read_schema(), overrides, origins(driver.applied_migrations()))


def origins(applied: list[AppliedMigration]) -> dict[str, tuple[str, str | None]]:
    """Table → (the migration that created it, the model it asked for).

    A migration's ``model`` names the one table it created, or, when it created several,
    the one its name is about (``create_users_table`` → ``users``).
    """
    found: dict[str, tuple[str, str | None]] = {}
    for row in applied:
        tables = list(row.created)
        about = [table for table in tables if row.name.endswith(f"_create_{table}_table")]
        modelled = tables[0] if len(tables) == 1 else (about[0] if len(about) == 1 else None)
        for table in tables:
            found[table] = (row.name, row.model if table == modelled else None)
    return found


def build_schema(raw: RawSchema, overrides: Mapping[str, str] | None = None, origins: Origins | None = None) -> Schema:
    """The model of every table and view in ``raw``, sorted by name."""
    overrides = overrides or {}
    origins = origins or {}
    columns: dict[str, list[RawColumn]] = {}
    for column in raw.columns:
        columns.setdefault(column.table, []).append(column)
    unique: dict[str, list[tuple[str, ...]]] = {}
    for table, unique_columns in raw.unique_indexes:
        unique.setdefault(table, []).append(unique_columns)
    foreign: dict[str, dict[str, ForeignKey]] = {}
    for fk in raw.foreign_keys:
        foreign.setdefault(fk.table, {})[fk.column] = ForeignKey(
            fk.target_table, fk.target_column, fk.on_delete, fk.on_update
        )
    statements = dict(raw.sql)
    tables = tuple(
        _table(
            name,
            kind,
            columns.get(name, []),
            unique.get(name, []),
            foreign.get(name, {}),
            overrides,
            origins.get(name),
            _never_null_keys(name, columns.get(name, []), raw),
            _rowid_alias(name, columns.get(name, []), raw),
            statements.get(name, ""),
        )
        for name, kind in raw.relations
    )
    return Schema(tables)


def _table(
    name: str,
    kind: str,
    raw_columns: list[RawColumn],
    unique_sets: list[tuple[str, ...]],
    foreign: dict[str, ForeignKey],
    overrides: Mapping[str, str],
    origin: tuple[str, str | None] | None,
    never_null: set[str],
    rowid: str | None,
    sql: str,
) -> Table:
    single_unique = {columns[0] for columns in unique_sets if len(columns) == 1}
    columns = tuple(
        Column(
            name=column.name,
            declared_type=column.declared_type,
            kind=resolve_kind(name, column.name, column.declared_type, overrides),
            nullable=not (column.not_null or column.name in never_null),
            not_null=column.not_null or column.name in never_null,
            default=column.default,
            primary_key=column.primary_key,
            unique=column.name in single_unique and not column.primary_key,
            foreign_key=foreign.get(column.name),
            generated=column.generated,
            rowid=column.name == rowid,
        )
        for column in raw_columns
    )
    return Table(
        name=name,
        kind=kind,
        columns=columns,
        unique_together=tuple(sorted(columns_ for columns_ in unique_sets if len(columns_) > 1)),
        created_by=origin[0] if origin else None,
        model=origin[1] if origin else None,
        sql=sql,
    )


def _never_null_keys(table: str, columns: list[RawColumn], raw: RawSchema) -> set[str]:
    """Key columns that can never hold NULL: the rowid alias, or every key column WITHOUT ROWID.

    Only a lone ``INTEGER PRIMARY KEY`` with no index of its own aliases the rowid; other keys
    of ordinary tables accept NULL, as SQLite has always allowed.
    """
    keys = [column for column in columns if column.primary_key]
    if table in raw.without_rowid:
        return {column.name for column in keys}
    alias = _rowid_alias(table, columns, raw)
    return {alias} if alias else set()


def _rowid_alias(table: str, columns: list[RawColumn], raw: RawSchema) -> str | None:
    """The column that aliases the rowid (SQLite assigns it when an INSERT leaves it out), if any."""
    keys = [column for column in columns if column.primary_key]
    if table in raw.without_rowid or table in raw.indexed_keys or len(keys) != 1:
        return None
    return keys[0].name if keys[0].declared_type.upper() == "INTEGER" else None
