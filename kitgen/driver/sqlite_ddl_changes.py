"""The six changes of ``db.alter_table()``, as edits of a CREATE TABLE statement's text.

Each takes the draft of the new statement and returns the next one (``sqlite_ddl`` cuts the text
into spans and splices the edits); a change that cannot apply to the text is refused here, before
anything touches a database.
"""

from __future__ import annotations

from collections.abc import Sequence

from kitgen.driver.sqlite_ddl import (
    BLANKS,
    TABLE_CONSTRAINTS,
    Clause,
    ColumnParts,
    CreateTable,
    Draft,
    Edit,
    Element,
    Token,
    clause_removal,
    clause_starts,
    column_parts,
    fold,
    fragment,
    insertion,
    parse_create_table,
    quote,
    removal,
    tokenize,
)
from kitgen.errors import SchemaChangeRefused
from kitgen.migrations.base import UNCHANGED, Unchanged

# --- the six operations, on the text -----------------------------------------------------------


def add_column(draft: Draft, definition: str) -> Draft:
    text, tokens = fragment(definition, "column definition")
    if tokens[0].head in TABLE_CONSTRAINTS:
        raise SchemaChangeRefused(f"{definition!r} is a table constraint, not a column", "use add_constraint() for it")
    draft.refuse_existing_column(tokens[0].text)
    elements = draft.parsed.elements
    after = max(index for index, element in enumerate(elements) if element.is_column)
    sources = [*draft.sources[: after + 1], None, *draft.sources[after + 1 :]]
    return draft.edited(insertion(draft.parsed, after, text), sources)


def drop_column(draft: Draft, name: str) -> Draft:
    index = draft.column_index(name)
    if len(draft.parsed.columns()) == 1:
        raise SchemaChangeRefused(f"cannot drop {draft.table}.{name}: it is the table's only column", "drop the table")
    return draft.edited(removal(draft.parsed, index), [*draft.sources[:index], *draft.sources[index + 1 :]])


def rename_column(draft: Draft, old: str, new: str) -> Draft:
    """The draft after a rename: only the name changes here (SQLite's native rename does the rest)."""
    index = draft.column_index(old)
    fragment(new, "column name")
    draft.refuse_existing_column(new)
    token = draft.parsed.elements[index].tokens[0]
    return draft.edited([Edit(token.start, token.stop, quote(new))])


def add_constraint(draft: Draft, definition: str) -> Draft:
    text, tokens = fragment(definition, "table constraint")
    if tokens[0].head not in TABLE_CONSTRAINTS:
        raise SchemaChangeRefused(
            f"{definition!r} is not a table constraint",
            "start it with CONSTRAINT name, PRIMARY KEY, UNIQUE, CHECK or FOREIGN KEY (columns: add_column())",
        )
    if tokens[0].head == "CONSTRAINT" and len(tokens) > 1 and _constraint_named(draft, tokens[1].text):
        raise SchemaChangeRefused(f"{draft.table} already has a constraint named {tokens[1].text}", "choose another")
    last = len(draft.parsed.elements) - 1
    return draft.edited(insertion(draft.parsed, last, text), [*draft.sources, None])


def drop_constraint(draft: Draft, name: str) -> Draft:
    for index, element in enumerate(draft.parsed.elements):
        if not element.is_column and element.name is not None and fold(element.name) == fold(name):
            return draft.edited(removal(draft.parsed, index), [*draft.sources[:index], *draft.sources[index + 1 :]])
    for clause in _column_clauses(draft):
        if clause.name is not None and fold(clause.name) == fold(name):
            return draft.edited([clause_removal(draft.text, clause)])
    named = _constraint_names(draft)
    hint = f"its named constraints are: {', '.join(named)}" if named else "it has no named constraints"
    hint += " (unnamed ones cannot be dropped by name)"
    raise SchemaChangeRefused(f"{draft.table} has no constraint named {name}", hint)


def _column_clauses(draft: Draft) -> list[Clause]:
    return [clause for element in draft.parsed.columns() for clause in column_parts(element).clauses]


def _constraint_names(draft: Draft) -> list[str]:
    tables = [element.name for element in draft.parsed.elements if not element.is_column and element.name]
    return tables + [clause.name for clause in _column_clauses(draft) if clause.name]


def _constraint_named(draft: Draft, name: str) -> bool:
    return any(fold(existing) == fold(name) for existing in _constraint_names(draft))


def alter_column(
    draft: Draft,
    name: str,
    type: str | None = None,
    nullable: bool | None = None,
    default: str | Unchanged | None = UNCHANGED,
) -> Draft:
    """The column's type, NOT NULL and DEFAULT replaced, added or removed; its other clauses untouched."""
    element = draft.parsed.elements[draft.column_index(name)]
    parts = column_parts(element)
    edits = _type_edits(draft.text, parts, type) + _nullable_edits(draft.text, parts, nullable)
    return draft.edited(edits + _default_edits(draft.text, element, parts, default))


def _type_edits(text: str, parts: ColumnParts, new_type: str | None) -> list[Edit]:
    if new_type is None:
        return []
    new = fragment(new_type, "column type")[0] if new_type.strip() else ""
    if new and clause_starts(tokenize(new)):
        raise SchemaChangeRefused(f"{new_type!r} is not a type name", "give constraints with nullable= and default=")
    if parts.type:
        start = parts.type[0].start if new else len(text[: parts.type[0].start].rstrip(BLANKS))
        return [Edit(start, parts.type[-1].stop, new)]
    return [Edit(parts.name.stop, parts.name.stop, f" {new}")] if new else []


def _nullable_edits(text: str, parts: ColumnParts, nullable: bool | None) -> list[Edit]:
    if nullable is None:
        return []
    if nullable:
        return [clause_removal(text, clause) for clause in parts.clauses if clause.kind == "NOT"]
    if any(clause.kind == "NOT" for clause in parts.clauses):
        return []
    anchor = (parts.type or (parts.name,))[-1].stop
    bare = [clause_removal(text, clause) for clause in parts.clauses if clause.kind == "NULL"]
    return [*bare, Edit(anchor, anchor, " NOT NULL")]


def _default_edits(text: str, element: Element, parts: ColumnParts, default: str | Unchanged | None) -> list[Edit]:
    if isinstance(default, Unchanged):
        return []
    current = [clause for clause in parts.clauses if clause.kind == "DEFAULT"]
    if default is None:
        return [clause_removal(text, clause) for clause in current]
    value = default_value(default)
    if not current:
        return [Edit(element.stop, element.stop, f" DEFAULT {value}")]
    keyword = next(index for index, token in enumerate(current[-1].tokens) if token.head == "DEFAULT")
    start = current[-1].tokens[keyword].stop
    return [*(clause_removal(text, clause) for clause in current[:-1]), Edit(start, current[-1].stop, f" {value}")]


def default_value(default: str) -> str:
    """A default as SQLite accepts it: a literal or signed number as given, anything else in brackets."""
    text, tokens = fragment(default, "default value")
    signed = len(tokens) == 2 and tokens[0].word in ("-", "+")
    bracketed = tokens[0].word == "(" and _closing(tokens) == len(tokens) - 1
    return text if len(tokens) == 1 or signed or bracketed else f"({text})"


def _closing(tokens: Sequence[Token]) -> int:
    """The index of the bracket that closes ``tokens[0]``."""
    depth = 0
    for index, token in enumerate(tokens):
        depth += (token.word == "(") - (token.word == ")")
        if depth == 0:
            return index
    return -1


# --- who uses a column, from a probe rename --------------------------------------------------


def uses_in_table(original: str, probed: str, probe: str, considered: set[int]) -> list[str]:
    """What, among the ``considered`` elements, refers to the column SQLite renamed to ``probe``."""
    before, after = parse_create_table(original), parse_create_table(probed)
    uses = []
    for index in sorted(considered):
        hits = [token for token in after.elements[index].tokens if fold(token.text) == fold(probe)]
        if hits:
            uses.append(_describe(before, after.elements[index], index, hits[0]))
    return uses


def _describe(before: CreateTable, element: Element, index: int, hit: Token) -> str:
    """Name the part of the table's definition that holds ``hit``, as it was written before the probe."""
    original = before.elements[index]
    if not element.is_column:
        if original.name:
            return f"constraint {original.name}"
        return f"the table constraint {' '.join(before.source(original).split())}"
    column = original.tokens[0].text
    clause = next((clause for clause in column_parts(element).clauses if clause.start <= hit.start < clause.stop), None)
    if clause is None:
        return f"column {column}"
    if clause.kind in ("AS", "GENERATED"):
        return f"generated column {column}"
    label = {"CHECK": "the CHECK constraint", "REFERENCES": "the foreign key"}.get(clause.kind, "a constraint")
    return f"constraint {clause.name} of column {column}" if clause.name else f"{label} of column {column}"
