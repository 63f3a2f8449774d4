"""Text in generated code: string literals and docstrings, as ruff format and black leave them.

What a docstring says of a table or column (its comment first, when COMMENT ON gave one) is
decided here too, so that a test can compare a class's ``__doc__`` with it.
"""

from __future__ import annotations

import re

from kitgen.schema.constraints import Constraints
from kitgen.schema.model import Column, Table


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


def docstring(text: str, quoted: bool = False, comment: str | None = None) -> str:
    """A docstring holding ``text`` on one line, after the lines of ``comment`` (COMMENT ON) and a blank
    line when there is one, the closing quotes then on a line of their own. ``quoted``: a quote that starts
    it is escaped (formatters would put a space before it)."""
    lines = [_escape_docstring(line) for line in comment_lines(comment)]
    lines += [""] * bool(lines) + [_escape_docstring(text)]
    if quoted:
        lines[0] = re.sub(r'^"', r'\\"', lines[0])
    if len(lines) == 1:
        return '"""' + lines[0] + '"""'
    return '"""' + "\n".join(lines) + '\n"""'


def comment_lines(comment: str | None) -> list[str]:
    """The lines of a comment, without the blank lines around it and the spaces that end them."""
    lines = [line.rstrip() for line in (comment or "").strip().split("\n")]
    return lines if any(lines) else []


def _escape_docstring(text: str) -> str:
    """Backslashes, control and non-ASCII characters escaped; a quote only where it could close the string.

    Leading and trailing spaces are escaped too: formatters strip them from docstrings.
    """
    escaped = re.sub(r'"(?="|$)', r'\\"', _escape(text))
    return re.sub(r"^ | $", r"\\x20", escaped)


def class_docstring(table: Table) -> str:
    """The class's docstring: its comment, when it has one, then what the table is."""
    return _commented(table.comment, class_summary(table))


def class_summary(table: Table) -> str:
    origin = f", created by migration {table.created_by}" if table.created_by else ""
    what = VARIANTS.get(table.variant, table.kind.capitalize())
    return f"{what} {literal(table.name)}{origin}."


VARIANTS = {"partitioned": "Partitioned table", "materialized": "Materialized view"}


def _commented(comment: str | None, text: str) -> str:
    """The text after the comment's lines (COMMENT ON) and a blank line."""
    lines = comment_lines(comment)
    return "\n".join([*lines, "", text]) if lines else text


def field_docstring(column: Column, stated: Constraints | None = None, model_type: str = "pydantic") -> str:
    """The field's docstring: its column's comment, when it has one, then what the column is."""
    return _commented(column.comment, field_summary(column, stated, model_type))


def field_summary(column: Column, stated: Constraints | None = None, model_type: str = "pydantic") -> str:
    parts = [column.declared_type or "no declared type"]
    if column.base_type:  # a domain
        parts[0] += f" ({column.base_type})"
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
    parts += [IDENTITY[column.identity]] if column.identity else []
    parts += _left_to_database(stated or Constraints(), model_type)
    return ", ".join(parts) + "."


IDENTITY = {
    "always": "identity, always assigned by PostgreSQL",
    "by default": "identity, assigned by PostgreSQL when left out",
}


def _left_to_database(stated: Constraints, model_type: str) -> list[str]:
    left = [f"check {check} (left to the database)" for check in stated.checks]
    if model_type == "dataclass":
        left += [f"{_BOUND_WORDS[key]} {value!r} (left to the database)" for key, value in stated.bounds]
    return left


_BOUND_WORDS = {"ge": "at least", "gt": "more than", "le": "at most", "lt": "less than"}
