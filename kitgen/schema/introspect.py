"""Raw schema rows → the intermediate model, with each column's Python type decided."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from kitgen.driver.base import AppliedMigration, Driver, RawColumn, RawSchema
from kitgen.schema.model import Column, EnumType, ForeignKey, Schema, Table
from kitgen.schema.types import CatalogType, resolve_kind, resolve_postgres_kind

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
        _described(
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
                raw.engine,
            ),
            raw,
        )
        for name, kind in raw.relations
    )
    return Schema(tables, raw.engine, tuple(EnumType(name, labels) for name, labels in sorted(raw.enums)))


def _described(table: Table, raw: RawSchema) -> Table:
    """The table with what PostgreSQL says beside its columns: CHECKs, comment, partitioned or materialized."""
    if raw.engine == "sqlite":
        return table
    return replace(
        table,
        checks=tuple(check for name, check in raw.checks if name == table.name),
        comment=dict(raw.comments).get(table.name),
        variant=dict(raw.variants).get(table.name, ""),
    )


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
    engine: str = "sqlite",
) -> Table:
    single_unique = {columns[0] for columns in unique_sets if len(columns) == 1}
    columns = tuple(
        _column(
            name,
            column,
            overrides,
            engine,
            not_null=column.not_null or column.name in never_null,
            unique=column.name in single_unique and not column.primary_key,
            foreign_key=foreign.get(column.name),
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


def _column(
    table: str,
    raw: RawColumn,
    overrides: Mapping[str, str],
    engine: str,
    *,
    not_null: bool,
    unique: bool,
    foreign_key: ForeignKey | None,
    rowid: bool,
) -> Column:
    column = Column(
        name=raw.name,
        declared_type=raw.declared_type,
        kind=resolve_kind(table, raw.name, raw.declared_type, overrides) if engine == "sqlite" else "",
        nullable=not not_null,
        not_null=not_null,
        default=raw.default,
        primary_key=raw.primary_key,
        unique=unique,
        foreign_key=foreign_key,
        generated=raw.generated,
        rowid=rowid,
    )
    return _postgres_column(table, raw, column, overrides) if engine == "postgres" else column


def _postgres_column(table: str, raw: RawColumn, column: Column, overrides: Mapping[str, str]) -> Column:
    """The column with its kind decided from the catalog's type, and what PostgreSQL adds."""
    found = CatalogType(raw.declared_type, raw.type_name, raw.type_category, raw.element_type, raw.element_category)
    kind, element = resolve_postgres_kind(table, raw.name, found, overrides)
    return replace(
        column,
        kind=kind,
        element=element,
        enum=raw.enum if "enum" in (kind, element) else "",
        identity=raw.identity,
        base_type=raw.base_type,
        comment=raw.comment,
    )


def _never_null_keys(table: str, columns: list[RawColumn], raw: RawSchema) -> set[str]:
    """Key columns that can never hold NULL: the rowid alias, or every key column WITHOUT ROWID.

    Only a lone ``INTEGER PRIMARY KEY`` with no index of its own aliases the rowid; other keys
    of ordinary tables accept NULL, as SQLite has always allowed.
    """
    keys = [column for column in columns if column.primary_key]
    if raw.engine != "sqlite":
        return set()  # PostgreSQL: a key column is NOT NULL, and says so
    if table in raw.without_rowid:
        return {column.name for column in keys}
    alias = _rowid_alias(table, columns, raw)
    return {alias} if alias else set()


def _rowid_alias(table: str, columns: list[RawColumn], raw: RawSchema) -> str | None:
    """The column that aliases the rowid (SQLite assigns it when an INSERT leaves it out), if any."""
    keys = [column for column in columns if column.primary_key]
    if raw.engine != "sqlite" or table in raw.without_rowid or table in raw.indexed_keys or len(keys) != 1:
        return None
    return keys[0].name if keys[0].declared_type.upper() == "INTEGER" else None
