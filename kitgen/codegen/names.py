"""Python names for tables and columns: safe, readable, and the same every time.

Module names are the singular snake_case of the table name, class names its singular
PascalCase (or the ``model`` the creating migration asked for), field names the snake_case
of the column name. Whatever the schema holds, every name is a valid identifier that cannot
reach outside the entities folder, and collisions are settled in sorted order.
"""

from __future__ import annotations

import functools
import keyword
import re
from collections.abc import Iterable, Sequence

import inflection

NOT_IDENTIFIER = re.compile(r"[^0-9A-Za-z_]+")
RESERVED_MODULES = frozenset({"__init__", "__main__", "kitgen_runtime"})
# Names the generated modules import or define: a class must not shadow them.
RESERVED_CLASSES = frozenset(
    {
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
        "Self",
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


def module_names(tables: Sequence[str]) -> dict[str, str]:
    """Table → module name. A table whose own name is the singular keeps it on a collision."""
    bases = {table: module_base(table) for table in tables}
    ordered = sorted(tables, key=lambda table: (table != bases[table], table))
    return dict(zip(ordered, deduplicate([bases[table] for table in ordered]), strict=True))


def class_names(tables: Sequence[tuple[str, str | None]]) -> dict[str, str]:
    """Table → class name: models asked for by migrations first, then by table name, every time alike."""
    ordered = sorted(tables, key=lambda item: (item[1] is None, item[0]))
    classes = deduplicate([class_base(table, model) for table, model in ordered], separator="")
    return dict(zip([table for table, _ in ordered], classes, strict=True))


def field_names(columns: Sequence[str]) -> list[str]:
    """Column names → field names, in column order."""
    return deduplicate([field_base(column) for column in columns])
