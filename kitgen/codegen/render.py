"""Render entity modules from the intermediate model, as text formatters leave unchanged.

Each field states what the schema states: its type (``Literal`` for a ``CHECK … IN``),
its default (the constant, ``None``, or ``_kitgen.DATABASE_DEFAULT`` where the database
fills it in), its bounds and length (pydantic ``Field``, msgspec ``Meta``), its column name
when it differs, and a docstring with what is left to the database. Lines stay within 88
characters (the default of ruff format and black) except where a name is longer; those
lines carry ``# fmt: skip``, so that neither formatter rewrites a generated file.

datamodel-code-generator rendered these classes until it was measured: for 200 tables its
``generate()`` took about 1.6 s in-process (plus 0.24 s to import it and libcst), as long
as its whole CLI run, so kitgen could never be as fast as that CLI while calling it
(benchmarks/README.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from kitgen.codegen.docs import class_summary, docstring, field_summary, literal
from kitgen.codegen.plan import ENUMS_MODULE, EntitySpec, EnumSpec
from kitgen.schema.constraints import NO_DEFAULT, Constraints, column_constraints, constant_default
from kitgen.schema.model import Column
from kitgen.schema.types import ANNOTATIONS, POSTGRES_ANNOTATIONS

LINE_LENGTH = 88
SKIP = "  # fmt: skip"
MSGSPEC_UNNAMEABLE = re.compile(r'[\\"\x00-\x1f]')  # msgspec refuses these in renames; __columns__ keeps them
FILLED = "_kitgen.DATABASE_DEFAULT"
MODULE_IMPORTS = {"datetime": "datetime", "decimal": "decimal", "ipaddress": "ipaddress", "uuid": "uuid"}
MODULE_PREFIX = re.compile(r"(?<![\w.])([a-z]\w*)\.")  # datetime. in datetime.date, not in _kitgen.JSON
# Kinds whose annotation is an alias of the support module (a marked Any or datetime).
SUPPORT_ALIASES = {"json": "_kitgen.JSON", "json_text": "_kitgen.JSONText", "timestamptz": "_kitgen.AwareDatetime"}
# msgspec: dict=True gives instances a __dict__, where from_row keeps what it read (not a field).
BASES = {"pydantic": "(BaseModel)", "dataclass": "", "msgspec": "(Struct, kw_only=True, dict=True)"}
# pydantic: what the program assigns is checked as what it constructs; what from_row read is kept
# in a private attribute (a dataclass or a msgspec Struct keeps it in the instance's __dict__).
PYDANTIC_STATE = (
    "model_config = ConfigDict(validate_assignment=True)",
    "_kitgen_read: _kitgen.Snapshot = PrivateAttr(default=_kitgen.NOT_READ)",
)


@dataclass(frozen=True)
class FieldText:
    """One field as it is written: ``name: annotation = value`` and its docstring.

    A value that is a ``Field(…)``/``field(…)`` call also keeps its arguments, to be written
    one a line when the field does not fit on one.
    """

    name: str
    annotation: str
    value: str | None
    doc: str
    arguments: tuple[str, ...] = ()
    comment: str | None = None  # COMMENT ON COLUMN: the docstring's first paragraph


def render_entities(specs: Sequence[EntitySpec]) -> dict[str, str]:
    """Module name → module body (without kitgen's header) for every spec."""
    return {spec.module: render_entity(spec) for spec in specs}


def render_entity(spec: EntitySpec) -> str:
    constraints = column_constraints(spec.table, spec.engine)
    fields = [
        render_field(name, column, spec.model_type, constraints.get(column.name), engine=spec.engine, enums=spec.enums)
        for name, column in spec.pairs
    ]
    quoted = spec.engine != "sqlite"  # a docstring may start with a quoted type name: escape that quote
    body = "\n\n".join(
        section
        for section in (
            docstring(class_summary(spec.table), quoted, spec.table.comment),
            "\n".join(_metadata(spec)),
            "\n".join(f"{_field_lines(field)}\n{docstring(field.doc, quoted, field.comment)}" for field in fields),
            ENGINE_METHODS[spec.engine],
        )
        if section
    )
    decorator = "@dataclass(kw_only=True)\n" if spec.model_type == "dataclass" else ""
    header = _class_line(spec)
    klass = f"{decorator}{header}\n" + "\n".join(f"    {line}" if line else "" for line in body.split("\n")) + "\n"
    return _imports(spec, fields) + "\n\n" + klass


def _class_line(spec: EntitySpec) -> str:
    """``class Name(Base):``, its bases one per line when it is too long (black and ruff agree on that)."""
    line = f"class {spec.class_name}{BASES[spec.model_type]}:"
    if len(line) <= LINE_LENGTH or not BASES[spec.model_type]:
        return line
    bases = BASES[spec.model_type].strip("()").split(", ")
    return f"class {spec.class_name}(\n" + "".join(f"    {base},\n" for base in bases) + "):"


# --- fields ---------------------------------------------------------------------------------


def render_field(
    field: str,
    column: Column,
    model_type: str,
    constraints: Constraints | None,
    *,
    engine: str = "sqlite",
    enums: Sequence[EnumSpec] = (),
) -> FieldText:
    stated = _consistent(column, constraints or Constraints(), engine)
    annotation = _annotation(column, model_type, stated, enums)
    default = _default(column, engine, enums)
    keywords = []
    if model_type == "pydantic":
        keywords += [f"max_length={stated.max_length}"] if stated.max_length is not None else []
        keywords += [f"{key}={_number(value)}" for key, value in stated.bounds]
        if default == FILLED:  # not in model_dump() until the database has filled it
            keywords.append("exclude_if=_kitgen.is_database_default")
        if field != column.name:  # dumped by the column's name, validated by either (never the constructor's)
            keywords.append(f"validation_alias=AliasChoices({literal(field)}, {literal(column.name)})")
            keywords.append(f"serialization_alias={literal(column.name)}")
    elif model_type == "msgspec" and field != column.name and not MSGSPEC_UNNAMEABLE.search(column.name):
        keywords.append(f"name={literal(column.name)}")
    doc = field_summary(column, stated, model_type)
    if not keywords:
        return FieldText(field, annotation, default, doc, comment=column.comment)
    call = "Field" if model_type == "pydantic" else "field"
    arguments = tuple(([f"default={default}"] if default else []) + keywords)
    return FieldText(field, annotation, f"{call}({', '.join(arguments)})", doc, arguments, column.comment)


def _consistent(column: Column, stated: Constraints, dialect: str = "sqlite") -> Constraints:
    """The constraints, without choices that the column's own constant default is not one of."""
    value = constant_default(column.default, column.kind, dialect)
    if not stated.choices or value is NO_DEFAULT or value is None or value in stated.choices:
        return stated
    choices = f"{column.name} IN ({', '.join(map(repr, stated.choices))})"
    return Constraints((), stated.bounds, stated.max_length, (*stated.checks, choices))


def _annotation(column: Column, model_type: str, stated: Constraints, enums: Sequence[EnumSpec] = ()) -> str:
    if column.kind in ("json", "json_text"):  # Any, None included
        return SUPPORT_ALIASES[column.kind]
    base = type_annotation(column.kind, column.element, column.enum, enums)
    if base == "typing.Any":
        return "Any"
    if stated.choices:
        base = f"Literal[{', '.join(_choice(choice) for choice in stated.choices)}]"
    elif model_type == "msgspec" and (stated.bounds or stated.max_length is not None):
        meta = [f"max_length={stated.max_length}"] if stated.max_length is not None else []
        meta += [f"{key}={_number(value)}" for key, value in stated.bounds]
        base = f"Annotated[{base}, Meta({', '.join(meta)})]"
    return f"{base} | None" if column.nullable else base


def type_annotation(kind: str, element: str = "", enum: str = "", enums: Sequence[EnumSpec] = ()) -> str:
    """The annotation of a kind, without ``| None``: a list's items may be None, an enum is its class."""
    if kind in SUPPORT_ALIASES:
        return SUPPORT_ALIASES[kind]
    if kind == "enum":
        return f"{ENUMS_MODULE}.{_enum_of(enum, enums).class_name}"
    if kind == "list":
        item = type_annotation(element, "", enum, enums)
        if element in ("any", "json", "json_text"):  # Any: None included
            return "list[Any]" if element == "any" else f"list[{item}]"
        return f"list[{item} | None]"
    return ANNOTATIONS.get(kind) or POSTGRES_ANNOTATIONS[kind]


def _enum_of(name: str, enums: Sequence[EnumSpec]) -> EnumSpec:
    return next(found for found in enums if found.name == name)


def _default(column: Column, dialect: str = "sqlite", enums: Sequence[EnumSpec] = ()) -> str | None:
    """The field's default: what the database would store when an INSERT leaves the column out."""
    if column.generated or column.rowid or column.identity:
        return FILLED
    value = constant_default(column.default, column.kind, dialect)
    if value is NO_DEFAULT:
        if column.default is not None:
            return FILLED
        return "None" if column.nullable else None
    if value is None:
        return "None" if column.nullable else None
    if isinstance(value, str) and column.kind == "enum":
        found = _enum_of(column.enum, enums)
        member = found.member(value)
        return f"{ENUMS_MODULE}.{found.class_name}.{member}" if member else FILLED
    if isinstance(value, str):
        return literal(value)
    if isinstance(value, bytes):
        return 'b"' + "".join(_byte(byte) for byte in value) + '"'
    return repr(value)


def _byte(byte: int) -> str:
    """One byte in a bytes literal with double quotes, as formatters write it."""
    return chr(byte) if 0x20 <= byte < 0x7F and chr(byte) not in '"\\' else f"\\x{byte:02x}"


def _choice(value: str | int) -> str:
    return literal(value) if isinstance(value, str) else repr(value)


def _number(value: int | float) -> str:
    return repr(value)


def _field_line(field: FieldText) -> str:
    return f"{field.name}: {field.annotation}" + (f" = {field.value}" if field.value is not None else "")


def _field_lines(field: FieldText) -> str:
    """The field on one line; a call too long for it with one argument a line and a trailing comma
    (kept so by both formatters at any line length); else one line marked ``# fmt: skip``."""
    line = _field_line(field)
    if len(line) + 4 <= LINE_LENGTH or not field.arguments:
        return _fit(line)
    call = field.value.split("(", 1)[0] if field.value else ""
    lines = [f"{field.name}: {field.annotation} = {call}(", *(f"    {a}," for a in field.arguments), ")"]
    if any(len(text) + 4 > LINE_LENGTH for text in lines):
        return _fit(line)
    return "\n".join(lines)


def _fit(line: str, indent: str = "    ") -> str:
    """The line, marked for formatters to leave as it is when it is longer than they allow."""
    return line + SKIP if len(indent) + len(line) > LINE_LENGTH else line


# --- metadata, methods, imports -------------------------------------------------------------


def _metadata(spec: EntitySpec) -> list[str]:
    table = spec.table
    lines = [
        _fit(f"__tablename__: ClassVar[str] = {literal(table.name)}"),
        _fit(f"__primary_key__: ClassVar[tuple[str, ...]] = {_tuple(table.primary_key)}"),
    ]
    if any(field != column.name for field, column in spec.pairs):
        items = "".join(f"    {literal(field)}: {literal(column.name)},\n" for field, column in spec.pairs)
        lines.append(f"__columns__: ClassVar[dict[str, str]] = {{\n{items}}}")
    generated = [field for field, column in spec.pairs if column.generated]
    if generated:
        lines.append(_fit(f"__generated__: ClassVar[tuple[str, ...]] = {_tuple(generated)}"))
    if spec.model_type == "pydantic":
        lines += PYDANTIC_STATE
    return lines


def _tuple(names: Sequence[str]) -> str:
    items = [literal(name) for name in names]
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


METHODS_TEXT = '''@classmethod
def from_row(
    cls,
    row: _kitgen.Row,
    *,
    columns: _kitgen.Names | None = None,
) -> Self:
    """An entity from {rows}, by column name.

    A tuple of values needs its column names: ``columns=cursor.description``.
    """
    return _kitgen.read_entity(cls, row, columns)

def to_row(self) -> dict[str, Any]:
    """Column name -> value {values}, for the fields to write.

    An entity read by from_row writes the fields changed since; one the program
    built, those it set, except what the database fills.
    """
    return _kitgen.write_entity(self)'''
METHODS = METHODS_TEXT.format(rows="a sqlite3.Row or a mapping", values="as SQLite stores it")
POSTGRES_METHODS = METHODS_TEXT.format(rows="a row or a mapping (psycopg's dict_row)", values="for psycopg to write")
ENGINE_METHODS = {"sqlite": METHODS, "postgres": POSTGRES_METHODS}


def _imports(spec: EntitySpec, fields: Sequence[FieldText]) -> str:
    """Imports in ruff's (isort's) order, each section only what the class uses."""
    text = "\n".join(f"{field.annotation} {field.value}" for field in fields)
    standard = [f"import {name}" for name in _module_imports(spec)]
    if spec.model_type == "dataclass":
        standard.append("from dataclasses import dataclass")
    typing = ["Annotated"] * ("Annotated[" in text) + ["Any", "ClassVar"] + ["Literal"] * ("Literal[" in text)
    standard.append(f"from typing import {', '.join([*typing, 'Self'])}")
    third_party = {
        "pydantic": "from pydantic import "
        + ("AliasChoices, " if "AliasChoices(" in text else "")
        + "BaseModel, ConfigDict"
        + (", Field" if "Field(" in text else "")
        + ", PrivateAttr",
        "msgspec": "from msgspec import "
        + ", ".join(["Meta"] * ("Meta(" in text) + ["Struct"] + ["field"] * ("field(" in text)),
    }.get(spec.model_type)
    local = f"from . import _kitgen, {ENUMS_MODULE}" if spec.enums else "from . import _kitgen"
    sections = ["from __future__ import annotations", "\n".join(standard), third_party, local]
    return "\n" + "\n\n".join(section for section in sections if section) + "\n"


def _module_imports(spec: EntitySpec) -> list[str]:
    needed = {
        module
        for column in spec.table.columns
        for module in MODULE_PREFIX.findall(type_annotation(column.kind, column.element, column.enum, spec.enums))
    }
    return sorted(name for name in needed if name in MODULE_IMPORTS)
