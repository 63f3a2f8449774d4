"""Which entity goes where: module, class and field names, and each one's definition hash.

Everything here is light (no renderer imports): the no-op path uses it to compare the
hashes recorded in file headers with the schema, and renders nothing when they match.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from kitgen import __version__
from kitgen.codegen.headers import digest
from kitgen.codegen.names import (
    EntityNames,
    class_names,
    enum_class_names,
    field_names,
    kept_names,
    member_names,
    model_owner,
    module_names,
)
from kitgen.errors import ModelNameTaken
from kitgen.schema.model import Column, EnumType, Schema, Table, stable_repr

MODEL_TYPES = ("pydantic", "dataclass", "msgspec")
SUPPORT_MODULE = "_kitgen"
ENUMS_MODULE = "enums"  # PostgreSQL: the enum classes, which entities name as enums.Mood
# Names the annotations of an engine's entities use, which no module or field may take.
RESERVED = {"postgres": frozenset({ENUMS_MODULE, "ipaddress"})}


@dataclass(frozen=True)
class EnumSpec:
    """An enum type and its class: the class name and, per label, its member's name."""

    name: str
    class_name: str
    members: tuple[tuple[str, str], ...]  # (member name, label), in the type's order

    def member(self, label: str) -> str | None:
        return next((member for member, value in self.members if value == label), None)


@dataclass(frozen=True)
class EntitySpec:
    """One entity to render: the table, its names, and the hash of all that decides its text."""

    table: Table
    module: str
    class_name: str
    fields: tuple[str, ...]  # one per column, in column order
    model_type: str
    schema_hash: str
    engine: str = "sqlite"  # the database's: what the support module reads and writes
    enums: tuple[EnumSpec, ...] = ()  # the enum types its columns use, sorted by name

    @property
    def pairs(self) -> list[tuple[str, Column]]:
        """(field name, column) in column order."""
        return list(zip(self.fields, self.table.columns, strict=True))

    @property
    def filename(self) -> str:
        return f"{self.module}.py"


def plan_entities(
    schema: Schema,
    model_type: str,
    existing: Mapping[str, EntityNames] | None = None,
    members: Mapping[str, Mapping[str, str]] | None = None,
) -> list[EntitySpec]:
    """One spec per table and view, sorted by module name.

    ``existing`` (table → the names of its entity on disk) decides the names of the tables it
    holds: they never move. A new table whose migration asks for a class name another table's
    entity has is refused. ``members`` (enum type → label → member, from the enums module on disk)
    does the same for enum members.
    """
    kept = kept_names(existing or {}, [table.name for table in schema.tables])
    kept_classes = {table: names.class_name for table, names in kept.items()}
    refuse_taken_models(schema, kept)
    reserved = RESERVED.get(schema.engine, frozenset())
    modules = module_names(
        [table.name for table in schema.tables], {t: names.module for t, names in kept.items()}, reserved
    )
    classes = class_names([(table.name, table.model) for table in schema.tables], kept_classes)
    enums = plan_enums(schema.enums, members or {})
    specs = []
    for table in schema.tables:
        fields = tuple(field_names([column.name for column in table.columns], reserved))
        module, class_name = modules[table.name], classes[table.name]
        used = tuple(enums[name] for name in sorted({column.enum for column in table.columns if column.enum}))
        specs.append(
            EntitySpec(
                table,
                module,
                class_name,
                fields,
                model_type,
                definition_hash(table, module, class_name, fields, model_type, schema.engine, used),
                schema.engine,
                used,
            )
        )
    return sorted(specs, key=lambda spec: spec.module)


def plan_enums(
    types: tuple[EnumType, ...], members: Mapping[str, Mapping[str, str]] | None = None
) -> dict[str, EnumSpec]:
    """Enum type → its class: names decided from every type of the schema at once, the same every time,
    members named as they already are (``members``)."""
    classes = enum_class_names([found.name for found in types])
    return {
        found.name: EnumSpec(
            found.name,
            classes[found.name],
            tuple(zip(member_names(found.labels, (members or {}).get(found.name)), found.labels, strict=True)),
        )
        for found in types
    }


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


@functools.lru_cache(maxsize=16384)  # watch asks again for every table at every change
def definition_hash(
    table: Table,
    module: str,
    class_name: str,
    fields: tuple[str, ...],
    model_type: str,
    engine: str = "sqlite",
    enums: tuple[EnumSpec, ...] = (),
) -> str:
    """The hash of everything an entity's text depends on, the generator's version included."""
    # The repr of the frozen dataclasses is deterministic and spells out every field, nested ones too;
    # stable_repr leaves out fields added for other engines while they hold their defaults.
    described: tuple[object, ...] = (__version__, model_type, module, class_name, fields, table)
    if engine != "sqlite":
        described += (engine, enums)
    return digest(stable_repr(described))
