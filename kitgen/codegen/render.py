"""Render entity modules: JSON Schema → datamodel-code-generator → libcst → module text.

datamodel-code-generator writes the class (base, config, fields in column order) for
every entity in one call; libcst then makes each class honour kitgen's contract —
canonical annotations, column aliases, docstrings built from the schema as inert
string literals, the ``ClassVar`` metadata and the ``from_row``/``to_row`` methods —
and each module gets exactly the imports it uses.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import libcst as cst

from kitgen.codegen.plan import EntitySpec
from kitgen.schema.model import Column, Table
from kitgen.schema.types import ANNOTATIONS

JSON_TYPES: dict[str, dict[str, Any]] = {
    "bool": {"type": "boolean"},
    "datetime": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
    "time": {"type": "string", "format": "time"},
    "decimal": {"type": "string", "format": "decimal"},
    "json": {},
    "uuid": {"type": "string", "format": "uuid"},
    "int": {"type": "integer"},
    "str": {"type": "string"},
    "any": {},
    "bytes": {"type": "string", "format": "binary"},
    "float": {"type": "number"},
}
MSGSPEC_UNNAMEABLE = re.compile(r'[\\"\x00-\x1f]')  # msgspec refuses these in renames; __columns__ keeps them
RENAMES = {"pydantic": " = Field(alias={})", "dataclass": "", "msgspec": " = field(name={})"}
MODULE_IMPORTS = {"datetime": "datetime", "decimal": "decimal", "uuid": "uuid"}


def render_entities(specs: Sequence[EntitySpec]) -> dict[str, str]:
    """Module name → module body (without kitgen's header) for every spec."""
    bodies: dict[str, str] = {}
    for model_type in sorted({spec.model_type for spec in specs}):
        group = [spec for spec in specs if spec.model_type == model_type]
        module = cst.parse_module(_run_renderer(group, model_type))
        classes = {node.name.value: node for node in module.body if isinstance(node, cst.ClassDef)}
        for spec in group:
            bodies[spec.module] = _module(spec, _finish(classes[spec.class_name], spec, module))
    return bodies


# --- the renderer ---------------------------------------------------------------------------


def json_schema(spec: EntitySpec) -> dict[str, Any]:
    """The table as a JSON Schema object: every column required, nullable ones also null."""
    properties = {}
    for field, column in spec.pairs:
        schema = dict(JSON_TYPES[column.kind])
        if column.nullable and schema:
            schema["type"] = [schema["type"], "null"]
        properties[field] = schema
    return {"type": "object", "properties": properties, "required": list(spec.fields)}


def _run_renderer(specs: Sequence[EntitySpec], model_type: str) -> str:
    from datamodel_code_generator import generate
    from datamodel_code_generator.enums import DataModelType, InputFileType
    from datamodel_code_generator.format import DatetimeClassType, Formatter, PythonVersion

    output = {
        "pydantic": DataModelType.PydanticV2BaseModel,
        "dataclass": DataModelType.DataclassesDataclass,
        "msgspec": DataModelType.MsgspecStruct,
    }
    result = generate(
        {"$defs": {spec.class_name: json_schema(spec) for spec in specs}},
        input_file_type=InputFileType.JsonSchema,
        output_model_type=output[model_type],
        target_python_version=PythonVersion.PY_311,
        formatters=[Formatter.BUILTIN],
        settings_path=Path("/"),  # never read the project's pyproject.toml
        builtin_format_line_length=120,
        disable_timestamp=True,
        custom_file_header="# kitgen",
        skip_root_model=True,
        output_datetime_class=DatetimeClassType.Datetime,
        use_standard_primitive_types=True,
        allow_population_by_field_name=True,
        custom_class_name_generator=lambda name: name,
    )
    return str(result)


# --- making each class honour the contract --------------------------------------------------


def _finish(node: cst.ClassDef, spec: EntitySpec, module: cst.Module) -> str:
    """The class as the renderer made it, with docstring, metadata, canonical fields and methods."""
    config = [
        module.code_for_node(statement).strip("\n")
        for statement in node.body.body
        if _field_name(statement) is None and not _is_docstring(statement)
    ]  # model_config and the like; the fields themselves come from the spec, whatever the renderer named them
    fields: list[str] = []
    for field, column in spec.pairs:
        fields += [_field(field, column, spec.model_type), _docstring(field_docstring(column))]
    sections = ["\n".join(section) for section in (config, _metadata(spec), fields, _methods(spec)) if section]
    body = "\n\n".join([_docstring(class_docstring(spec.table)), *sections])
    return _class_line(node, module) + textwrap.indent(body, "    ", lambda line: bool(line.strip())) + "\n"


def _class_line(node: cst.ClassDef, module: cst.Module) -> str:
    decorators = "".join(f"@{module.code_for_node(decorator.decorator)}\n" for decorator in node.decorators)
    bases = ", ".join(module.code_for_node(base.value) for base in node.bases)
    return f"{decorators}class {node.name.value}({bases}):\n" if bases else f"{decorators}class {node.name.value}:\n"


def _field_name(statement: cst.BaseStatement | cst.BaseSmallStatement) -> str | None:
    if isinstance(statement, cst.SimpleStatementLine) and isinstance(statement.body[0], cst.AnnAssign):
        target = statement.body[0].target
        return target.value if isinstance(target, cst.Name) else None
    return None


def _is_docstring(statement: cst.BaseStatement | cst.BaseSmallStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, cst.SimpleString)
    )


def annotation(column: Column) -> str:
    base = ANNOTATIONS[column.kind]
    if base == "typing.Any":
        return "Any"  # imported from typing by every entity module
    return f"{base} | None" if column.nullable else base


def _field(field: str, column: Column, model_type: str) -> str:
    text = f"{field}: {annotation(column)}"
    if field != column.name and not (model_type == "msgspec" and MSGSPEC_UNNAMEABLE.search(column.name)):
        text += RENAMES[model_type].format(literal(column.name))
    return text


def literal(text: str) -> str:
    """A Python string literal holding ``text`` exactly, ASCII only, on one line, safe in any context."""
    return '"' + _escape(text).replace('"', '\\"') + '"'


def _escape(text: str) -> str:
    """Backslashes, control and non-ASCII characters as Python escapes (\\n, \\xe9, \\U0001f600…)."""
    return text.encode("unicode_escape").decode("ascii")


def _docstring(text: str) -> str:
    return '"""' + _escape_docstring(text) + '"""'


def _escape_docstring(text: str) -> str:
    """Backslashes, control and non-ASCII characters escaped; a quote only where it could close the string."""
    return re.sub(r'"(?="|$)', r'\\"', _escape(text))


def class_docstring(table: Table) -> str:
    origin = f", created by migration {table.created_by}" if table.created_by else ""
    return f"{table.kind.capitalize()} {literal(table.name)}{origin}."


def field_docstring(column: Column) -> str:
    parts = [column.declared_type or "no declared type"]
    if column.primary_key:
        parts.append("primary key")
    parts.append("not null" if column.not_null else "nullable")
    if column.unique:
        parts.append("unique")
    if column.default is not None:
        parts.append(f"default {column.default}")
    if column.foreign_key is not None:
        key = column.foreign_key
        parts.append(f"references {key.table}" + (f"({key.column})" if key.column else ""))
        parts += [
            f"on {event} {action.lower()}"
            for event, action in (("delete", key.on_delete), ("update", key.on_update))
            if action != "NO ACTION"
        ]
    if column.generated:
        parts.append("generated")
    return ", ".join(parts) + "."


def _metadata(spec: EntitySpec) -> list[str]:
    table = spec.table
    names = [literal(name) for name in table.primary_key]
    key = f"{names[0]}," if len(names) == 1 else ", ".join(names)
    lines = [
        f"__tablename__: ClassVar[str] = {literal(table.name)}",
        f"__primary_key__: ClassVar[tuple[str, ...]] = ({key})",
        _mapping("__columns__", [(field, column.name) for field, column in spec.pairs]),
        _mapping("__kinds__", [(field, column.kind) for field, column in spec.pairs]),
    ]
    return lines


def _mapping(name: str, pairs: list[tuple[str, str]]) -> str:
    items = "".join(f"    {literal(key)}: {literal(value)},\n" for key, value in pairs)
    return f"{name}: ClassVar[dict[str, str]] = {{\n{items}}}"


def _methods(spec: EntitySpec) -> list[str]:
    build = "cls.model_validate(values)" if spec.model_type == "pydantic" else "cls(**values)"
    writable = [field for field, column in spec.pairs if not column.generated]
    values = "".join(f"            {literal(field)}: self.{field},\n" for field in writable)
    source = f'''
@classmethod
def from_row(
    cls,
    row: Row,
    *,
    columns: Sequence[str | Sequence[Any]] | None = None,
) -> {spec.class_name}:
    """An entity from a sqlite3.Row or a mapping, by column name.

    A tuple of values needs its column names: ``columns=cursor.description``.
    """
    values = read_row(cls, row, columns)
    return {build}

def to_row(self) -> dict[str, Any]:
    """Column name -> value as SQLite stores it, to write this entity back."""
    return write_row(
        {{
{values}        }},
        self.__columns__,
        self.__kinds__,
    )
'''
    return [source.strip("\n")]


# --- the module -----------------------------------------------------------------------------


def _module(spec: EntitySpec, class_text: str) -> str:
    """Imports in ruff's (isort's) order, each section only what the class uses, then the class."""
    standard = [f"import {name}" for name in _module_imports(spec)]
    standard.append("from collections.abc import Sequence")
    if spec.model_type == "dataclass":
        standard.append("from dataclasses import dataclass")
    standard.append("from typing import Any, ClassVar")
    aliased = any(_field(field, column, spec.model_type).endswith(")") for field, column in spec.pairs)
    third_party = {
        "pydantic": f"from pydantic import BaseModel, ConfigDict{', Field' if aliased else ''}",
        "msgspec": f"from msgspec import Struct{', field' if aliased else ''}",
    }.get(spec.model_type)
    sections = [
        "from __future__ import annotations",
        "\n".join(standard),
        third_party,
        "from ._kitgen import Row, read_row, write_row",
    ]
    return "\n" + "\n\n".join(section for section in sections if section) + "\n\n\n" + class_text


def _module_imports(spec: EntitySpec) -> list[str]:
    needed = {ANNOTATIONS[column.kind].split(".")[0] for column in spec.table.columns}
    return sorted(name for name in needed if name in MODULE_IMPORTS)
