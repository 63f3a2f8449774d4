"""Which entity goes where: module, class and field names, and each one's definition hash.

Everything here is light (no renderer imports): the no-op path uses it to compare the
hashes recorded in file headers with the schema, and renders nothing when they match.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kitgen import __version__
from kitgen.codegen.headers import digest
from kitgen.codegen.names import EntityNames, class_names, field_names, kept_names, model_owner, module_names
from kitgen.errors import ModelNameTaken
from kitgen.schema.model import Column, Schema, Table

MODEL_TYPES = ("pydantic", "dataclass", "msgspec")
SUPPORT_MODULE = "_kitgen"


@dataclass(frozen=True)
class EntitySpec:
    """One entity to render: the table, its names, and the hash of all that decides its text."""

    table: Table
    module: str
    class_name: str
    fields: tuple[str, ...]  # one per column, in column order
    model_type: str
    schema_hash: str

    @property
    def pairs(self) -> list[tuple[str, Column]]:
        """(field name, column) in column order."""
        return list(zip(self.fields, self.table.columns, strict=True))

    @property
    def filename(self) -> str:
        return f"{self.module}.py"


def plan_entities(
    schema: Schema, model_type: str, existing: Mapping[str, EntityNames] | None = None
) -> list[EntitySpec]:
    """One spec per table and view, sorted by module name.

    ``existing`` (table → the names of its entity on disk) decides the names of the tables it
    holds: they never move. A new table whose migration asks for a class name another table's
    entity has is refused.
    """
    kept = kept_names(existing or {}, [table.name for table in schema.tables])
    kept_classes = {table: names.class_name for table, names in kept.items()}
    refuse_taken_models(schema, kept)
    modules = module_names([table.name for table in schema.tables], {t: names.module for t, names in kept.items()})
    classes = class_names([(table.name, table.model) for table in schema.tables], kept_classes)
    specs = []
    for table in schema.tables:
        fields = tuple(field_names([column.name for column in table.columns]))
        module, class_name = modules[table.name], classes[table.name]
        specs.append(
            EntitySpec(
                table,
                module,
                class_name,
                fields,
                model_type,
                definition_hash(table, module, class_name, fields, model_type),
            )
        )
    return sorted(specs, key=lambda spec: spec.module)


def refuse_taken_models(schema: Schema, kept: Mapping[str, EntityNames]) -> None:
    """Raise when a table without an entity yet asks, by its migration's ``model``, for a class name
    the entity of another table has."""
    classes = {table: names.class_name for table, names in kept.items()}
    for table in schema.tables:
        if table.model is None or table.name in kept:
            continue
        owner = model_owner(table.name, table.model, classes)
        if owner is not None:
            raise ModelNameTaken(table.model, owner, kept[owner].file, migration=table.created_by, table=table.name)


def definition_hash(table: Table, module: str, class_name: str, fields: tuple[str, ...], model_type: str) -> str:
    """The hash of everything an entity's text depends on, the generator's version included."""
    # repr() of the frozen dataclasses is deterministic and spells out every field, nested ones too.
    return digest(repr((__version__, model_type, module, class_name, fields, table)))
