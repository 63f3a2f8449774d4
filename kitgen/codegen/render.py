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

from kitgen.codegen.plan import EntitySpec
from kitgen.schema.constraints import NO_DEFAULT, Constraints, column_constraints, constant_default
from kitgen.schema.model import Column, Table
from kitgen.schema.types import ANNOTATIONS

LINE_LENGTH = 88
SKIP = "  # fmt: skip"
MSGSPEC_UNNAMEABLE = re.compile(r'[\\"\x00-\x1f]')  # msgspec refuses these in renames; __columns__ keeps them
FILLED = "_kitgen.DATABASE_DEFAULT"
MODULE_IMPORTS = {"datetime": "datetime", "decimal": "decimal", "uuid": "uuid"}
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


def render_entities(specs: Sequence[EntitySpec]) -> dict[str, str]:
    """Module name → module body (without kitgen's header) for every spec."""
    return {spec.module: render_entity(spec) for spec in specs}


def render_entity(spec: EntitySpec) -> str:
    constraints = column_constraints(spec.table)
    fields = [render_field(name, column, spec.model_type, constraints.get(column.name)) for name, column in spec.pairs]
    body = "\n\n".join(
        section
        for section in (
            _docstring(class_docstring(spec.table)),
            "\n".join(_metadata(spec)),
            "\n".join(f"{_field_lines(field)}\n{_docstring(field.doc)}" for field in fields),
            METHODS,
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


def render_field(field: str, column: Column, model_type: str, constraints: Constraints | None) -> FieldText:
    stated = _consistent(column, constraints or Constraints())
    annotation = _annotation(column, model_type, stated)
    default = _default(column)
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
    doc = field_docstring(column, stated, model_type)
    if not keywords:
        return FieldText(field, annotation, default, doc)
    call = "Field" if model_type == "pydantic" else "field"
    arguments = tuple(([f"default={default}"] if default else []) + keywords)
    return FieldText(field, annotation, f"{call}({', '.join(arguments)})", doc, arguments)


def _consistent(column: Column, stated: Constraints) -> Constraints:
    """The constraints, without choices that the column's own constant default is not one of."""
    value = constant_default(column.default, column.kind)
    if not stated.choices or value is NO_DEFAULT or value is None or value in stated.choices:
        return stated
    choices = f"{column.name} IN ({', '.join(map(repr, stated.choices))})"
    return Constraints((), stated.bounds, stated.max_length, (*stated.checks, choices))


def _annotation(column: Column, model_type: str, stated: Constraints) -> str:
    base = ANNOTATIONS[column.kind]
    if column.kind == "json":
        return "_kitgen.JSON"
    if base == "typing.Any":
        return "Any"
    if stated.choices:
        base = f"Literal[{', '.join(_choice(choice) for choice in stated.choices)}]"
    elif model_type == "msgspec" and (stated.bounds or stated.max_length is not None):
        meta = [f"max_length={stated.max_length}"] if stated.max_length is not None else []
        meta += [f"{key}={_number(value)}" for key, value in stated.bounds]
        base = f"Annotated[{base}, Meta({', '.join(meta)})]"
    return f"{base} | None" if column.nullable else base


def _default(column: Column) -> str | None:
    """The field's default: what the database would store when an INSERT leaves the column out."""
    if column.generated or column.rowid:
        return FILLED
    value = constant_default(column.default, column.kind)
    if value is NO_DEFAULT:
        if column.default is not None:
            return FILLED
        return "None" if column.nullable else None
    if value is None:
        return "None" if column.nullable else None
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


# --- text -----------------------------------------------------------------------------------


def literal(text: str) -> str:
    """A Python string literal holding ``text`` exactly, ASCII only, on one line, safe in any context.

    Double quotes, unless the text holds more double quotes than single ones: the quotes that
    ruff format and black choose (the fewer escapes, double on a tie).
    """
    body = _escape(text)
    quote = "'" if body.count('"') > body.count("'") else '"'
    return quote + body.replace(quote, "\\" + quote) + quote


def _escape(text: str) -> str:
    """Backslashes, control and non-ASCII characters as Python escapes (\\n, \\xe9, \\U0001f600…)."""
    return text.encode("unicode_escape").decode("ascii")


def _docstring(text: str) -> str:
    return '"""' + _escape_docstring(text) + '"""'


def _escape_docstring(text: str) -> str:
    """Backslashes, control and non-ASCII characters escaped; a quote only where it could close the string.

    Leading and trailing spaces are escaped too: formatters strip them from docstrings.
    """
    escaped = re.sub(r'"(?="|$)', r'\\"', _escape(text))
    return re.sub(r"^ | $", r"\\x20", escaped)


def class_docstring(table: Table) -> str:
    origin = f", created by migration {table.created_by}" if table.created_by else ""
    return f"{table.kind.capitalize()} {literal(table.name)}{origin}."


def field_docstring(column: Column, stated: Constraints | None = None, model_type: str = "pydantic") -> str:
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
    if column.rowid:
        parts.append("assigned by SQLite when left out")
    parts += _left_to_database(stated or Constraints(), model_type)
    return ", ".join(parts) + "."


def _left_to_database(stated: Constraints, model_type: str) -> list[str]:
    left = [f"check {check} (left to the database)" for check in stated.checks]
    if model_type == "dataclass":
        left += [f"{_BOUND_WORDS[key]} {_number(value)} (left to the database)" for key, value in stated.bounds]
    return left


_BOUND_WORDS = {"ge": "at least", "gt": "more than", "le": "at most", "lt": "less than"}


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


METHODS = '''@classmethod
def from_row(
    cls,
    row: _kitgen.Row,
    *,
    columns: _kitgen.Names | None = None,
) -> Self:
    """An entity from a sqlite3.Row or a mapping, by column name.

    A tuple of values needs its column names: ``columns=cursor.description``.
    """
    return _kitgen.read_entity(cls, row, columns)

def to_row(self) -> dict[str, Any]:
    """Column name -> value as SQLite stores it, for the fields to write.

    An entity read by from_row writes the fields changed since; one the program
    built, those it set, except what the database fills.
    """
    return _kitgen.write_entity(self)'''


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
    sections = ["from __future__ import annotations", "\n".join(standard), third_party, "from . import _kitgen"]
    return "\n" + "\n\n".join(section for section in sections if section) + "\n"


def _module_imports(spec: EntitySpec) -> list[str]:
    needed = {ANNOTATIONS[column.kind].split(".")[0] for column in spec.table.columns}
    return sorted(name for name in needed if name in MODULE_IMPORTS)
