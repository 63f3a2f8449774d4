"""Python names for tables and columns: safe, readable, and the same every time.

Module names are the singular snake_case of the table name, class names its singular
PascalCase (or the ``model`` the creating migration asked for), field names the snake_case
of the column name. Whatever the schema holds, every name is a valid identifier that cannot
reach outside the entities folder. Names never move: a table whose entity exists keeps its
module and class, and only newcomers settle collisions, in sorted order (on a clean run, all).
"""

from __future__ import annotations

import functools
import keyword
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import inflection

NOT_IDENTIFIER = re.compile(r"[^0-9A-Za-z_]+")
RESERVED_MODULES = frozenset({"__init__", "__main__", "kitgen_runtime"})
# Names the generated modules import or define: a class must not shadow them.
RESERVED_CLASSES = frozenset(
    {
        "_kitgen",
        "AliasChoices",
        "PrivateAttr",
        "Annotated",
        "Literal",
        "Meta",
        "Self",
        "Any",
        "BaseModel",
        "Row",
        "field",
        "read_row",
        "write_row",
        "ClassVar",
        "ConfigDict",
        "Field",
        "Mapping",
        "Sequence",
        "Struct",
        "TypedDict",
        "annotations",
        "dataclass",
        "dataclasses",
        "datetime",
        "decimal",
        "json",
        "msgspec",
        "typing",
        "uuid",
    }
)
# Attributes of the entity classes, and names their annotations and methods use: a field must not shadow them.
RESERVED_FIELDS = frozenset(
    {
        "Any",
        "ClassVar",
        "Field",
        "Row",
        "bool",
        "bytes",
        "datetime",
        "decimal",
        "field",
        "float",
        "int",
        "read_row",
        "str",
        "typing",
        "uuid",
        "write_row",
        "construct",
        "copy",
        "dict",
        "fields",
        "from_orm",
        "from_row",
        "json",
        "model_computed_fields",
        "model_config",
        "model_construct",
        "model_copy",
        "model_dump",
        "model_dump_json",
        "model_extra",
        "model_fields",
        "model_fields_set",
        "model_json_schema",
        "model_parametrized_name",
        "model_post_init",
        "model_rebuild",
        "model_validate",
        "model_validate_json",
        "model_validate_strings",
        "parse_file",
        "parse_obj",
        "parse_raw",
        "schema",
        "schema_json",
        "self",
        "to_row",
        "update_forward_refs",
        "validate",
        "cls",
    }
)


def ascii_identifier(text: str) -> str:
    """Letters, digits and single underscores only; unicode letters are transliterated."""
    return NOT_IDENTIFIER.sub("_", inflection.transliterate(text)).strip("_")


SNAKE = re.compile(r"[a-z0-9_]+")


def snake(text: str) -> str:
    if SNAKE.fullmatch(text):  # already snake_case: the common case, kept cheap
        return re.sub(r"_+", "_", text).strip("_")
    return re.sub(r"_+", "_", inflection.underscore(ascii_identifier(text)))


@functools.lru_cache(maxsize=4096)
def module_base(table: str) -> str:
    """``people`` → ``person``, ``user_profiles`` → ``user_profile``, ``../x`` → ``x``."""
    name = snake(inflection.singularize(snake(table)) or table)
    if not name:
        return "table"
    if name[0].isdigit():
        name = f"table_{name}"
    if keyword.iskeyword(name) or name in RESERVED_MODULES:
        name += "_"
    return name


def class_base(table: str, model: str | None) -> str:
    if model and model.isidentifier() and not keyword.iskeyword(model):
        name = model
    else:
        name = inflection.camelize(module_base(table).rstrip("_")) or "Table"
    if name in RESERVED_CLASSES or keyword.iskeyword(name):
        name += "Entity"
    return name


@functools.lru_cache(maxsize=8192)
def field_base(column: str) -> str:
    """Snake case; keywords get a trailing ``_``; other characters become ``_``."""
    leading_underscore = column.startswith("_")
    name = snake(column)
    if not name:
        name = "column"
    elif name[0].isdigit():
        name = f"field_{name}"
    if leading_underscore or keyword.iskeyword(name) or name in RESERVED_FIELDS:
        name += "_"
    return name


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key with numbers compared by value (``v2`` before ``v10``), as ruff sorts imports."""
    return tuple((1, int(part)) if part.isdigit() else (0, part) for part in re.split(r"(\d+)", text) if part)


def deduplicate(bases: Sequence[str], taken: Iterable[str] = (), separator: str = "_") -> list[str]:
    """Unique names in order: a repeated base gets ``_2``, ``_3``… (classes: ``2``, ``3``…)."""
    used = set(taken)
    result = []
    for base in bases:
        name, counter = base, 1
        while name in used:
            counter += 1
            name = f"{base}{separator}{counter}"
        used.add(name)
        result.append(name)
    return result


@dataclass(frozen=True)
class EntityNames:
    """The module and class a table's entity already has, and its file as the user reads it."""

    module: str
    class_name: str
    file: str = ""


def kept_names(existing: Mapping[str, EntityNames], tables: Iterable[str]) -> dict[str, EntityNames]:
    """Table → the names its entity keeps: those of ``existing`` for a table still there, valid and
    unique (should two tables claim one name, the first in sorted order keeps it)."""
    kept: dict[str, EntityNames] = {}
    modules: set[str] = set()
    classes: set[str] = set()
    for table in sorted(set(tables) & set(existing)):
        names = existing[table]
        valid = valid_module(names.module) and valid_class(names.class_name)
        if valid and names.module not in modules and names.class_name not in classes:
            kept[table] = names
            modules.add(names.module)
            classes.add(names.class_name)
    return kept


def valid_module(name: str) -> bool:
    return name.isidentifier() and not (keyword.iskeyword(name) or name.startswith("_") or name in RESERVED_MODULES)


def valid_class(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name) and name not in RESERVED_CLASSES


def module_names(
    tables: Sequence[str], kept: Mapping[str, str] | None = None, reserved: frozenset[str] = frozenset()
) -> dict[str, str]:
    """Table → module name: ``kept`` ones stay; a newcomer whose own name is the singular goes first.

    A base in ``reserved`` (a module kitgen writes beside the entities) gets a trailing ``_``.
    """
    present = set(tables)
    kept = {table: module for table, module in (kept or {}).items() if table in present}
    bases = {table: _unreserved(module_base(table), reserved) for table in tables if table not in kept}
    ordered = sorted(bases, key=lambda table: (table != bases[table], table))
    fresh = deduplicate([bases[table] for table in ordered], taken=kept.values())
    return {**kept, **dict(zip(ordered, fresh, strict=True))}


def class_names(tables: Sequence[tuple[str, str | None]], kept: Mapping[str, str] | None = None) -> dict[str, str]:
    """Table → class name: ``kept`` ones stay; then models asked for by migrations, then by table name."""
    names = {table for table, _ in tables}
    kept = {table: class_name for table, class_name in (kept or {}).items() if table in names}
    ordered = sorted([item for item in tables if item[0] not in kept], key=lambda item: (item[1] is None, item[0]))
    fresh = deduplicate([class_base(table, model) for table, model in ordered], taken=kept.values(), separator="")
    return {**kept, **dict(zip([table for table, _ in ordered], fresh, strict=True))}


def model_owner(table: str, model: str, kept: Mapping[str, str]) -> str | None:
    """The other table whose entity already has the class name ``model`` gives ``table``, if any."""
    wanted = class_base(table, model)
    return next((owner for owner, class_name in sorted(kept.items()) if class_name == wanted and owner != table), None)


def field_names(columns: Sequence[str], reserved: frozenset[str] = frozenset()) -> list[str]:
    """Column names → field names, in column order, whatever that order: a column whose name is already
    its field name keeps it, and the others sharing a name get the suffixes in the order of their column
    names (two databases built from the same migrations can order their columns differently).

    A base in ``reserved`` (a module the annotations name) gets a trailing ``_``. Remembered: ``watch``
    asks again for every table at every change.
    """
    return list(_field_names(tuple(columns), reserved))


@functools.lru_cache(maxsize=16384)
def _field_names(columns: tuple[str, ...], reserved: frozenset[str]) -> tuple[str, ...]:
    bases = [_unreserved(field_base(column), reserved) for column in columns]
    order = sorted(range(len(columns)), key=lambda index: (columns[index] != bases[index], columns[index], index))
    named = dict(zip(order, deduplicate([bases[index] for index in order]), strict=True))
    return tuple(named[index] for index in range(len(columns)))


def _unreserved(name: str, reserved: frozenset[str]) -> str:
    return f"{name}_" if name in reserved else name


def enum_class_names(types: Sequence[str]) -> dict[str, str]:
    """Enum type → class name: the PascalCase of its name (``mood`` → ``Mood``, ``billing.currency`` →
    ``BillingCurrency``), not singularized; names that clash get ``2``, ``3``… in sorted order."""
    ordered = sorted(types)
    return dict(zip(ordered, deduplicate([_enum_base(name) for name in ordered], separator=""), strict=True))


def _enum_base(name: str) -> str:
    base = inflection.camelize(snake(name)) or "Enum"
    if keyword.iskeyword(base):  # None, True, False
        return f"{base}Enum"
    return f"Enum{base}" if base[0].isdigit() else base


def member_names(labels: Sequence[str], kept: Mapping[str, str] | None = None) -> list[str]:
    """Enum labels → member names, in label order: upper snake case (``in progress`` → ``IN_PROGRESS``);
    a label that gives no name is ``VALUE``, one that starts with a digit gets ``VALUE_``.

    ``kept`` (label → member, from the enums module on disk) names the labels it holds: a member never
    moves to another label, also when a label added before it would take its name (``Ok`` before ``ok``)."""
    kept = kept or {}
    chosen: dict[int, str] = {}
    for index, label in enumerate(labels):
        name = kept.get(label)
        if name and name.isidentifier() and not keyword.iskeyword(name) and name not in chosen.values():
            chosen[index] = name
    rest = [index for index in range(len(labels)) if index not in chosen]
    named = deduplicate([_member_base(labels[index]) for index in rest], taken=chosen.values())
    chosen.update(zip(rest, named, strict=True))
    return [chosen[index] for index in range(len(labels))]


def _member_base(label: str) -> str:
    name = snake(label).upper()
    if not name:
        return "VALUE"
    return f"VALUE_{name}" if name[0].isdigit() else name
