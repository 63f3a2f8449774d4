"""The text of a CREATE TABLE statement, edited in place for ``db.alter_table()``.

sqlglot's SQLite tokenizer finds the spans — the table name, each column definition and table
constraint (split at commas outside parentheses), and within a column its type and constraints —
and every edit is spliced into the original string by offset. Nothing is ever re-joined from
tokens (the tokenizer keeps comments aside), so every byte outside an edited span stays as
written: comments, spacing, quoting, ``STRICT`` and ``WITHOUT ROWID``. Nothing here touches a
database; ``sqlite_alter`` runs the result.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

from kitgen.errors import SchemaChangeRefused

QUOTES = "\"'`["
BLANKS = " \t\r"
TABLE_CONSTRAINTS = frozenset({"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"})
COLUMN_CONSTRAINTS = frozenset(
    {"CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT", "COLLATE", "REFERENCES", "GENERATED", "AS"}
)
ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def fold(name: str) -> str:
    """A name as SQLite compares identifiers: ASCII letters without case, anything else as is."""
    return name.translate(ASCII_LOWER)


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Token:
    """One token, with its span in the text it came from."""

    text: str  # names and strings without their quotes
    word: str  # the keyword in upper case ("PRIMARY KEY"); "" for quoted names and strings
    start: int
    stop: int  # one past its last character

    @property
    def head(self) -> str:
        return self.word.split(" ", 1)[0]


def tokenize(sql: str, what: str = "SQL") -> list[Token]:
    from sqlglot.dialects.sqlite import SQLite
    from sqlglot.errors import TokenError

    try:
        tokens = SQLite().tokenize(sql)
    except TokenError as exc:
        raise SchemaChangeRefused(f"cannot read the {what} {sql!r}: {exc}", "check its quotes and brackets") from exc
    return [Token(token.text, _word(sql, token.start, token.text), token.start, token.end + 1) for token in tokens]


def _word(sql: str, start: int, text: str) -> str:
    return "" if sql[start] in QUOTES else " ".join(text.upper().split())


def words(sql: str) -> frozenset[str] | None:
    """Every name, string and keyword of ``sql``, folded; None when it cannot be read."""
    try:
        return frozenset(fold(token.text) for token in tokenize(sql))
    except SchemaChangeRefused:
        return None


class Spanned:
    """Tokens in a row, and the span of text they cover."""

    tokens: tuple[Token, ...]

    @property
    def start(self) -> int:
        return self.tokens[0].start

    @property
    def stop(self) -> int:
        return self.tokens[-1].stop


@dataclass(frozen=True)
class Element(Spanned):
    """A column definition or a table constraint: the tokens between two commas."""

    tokens: tuple[Token, ...]

    @property
    def is_column(self) -> bool:
        return self.tokens[0].head not in TABLE_CONSTRAINTS

    @property
    def name(self) -> str | None:
        """The column's name, or the constraint's (``CONSTRAINT name …``); None for an unnamed constraint."""
        if self.is_column:
            return self.tokens[0].text
        if self.tokens[0].head == "CONSTRAINT" and len(self.tokens) > 1:
            return self.tokens[1].text
        return None


@dataclass(frozen=True)
class CreateTable:
    """A CREATE TABLE statement as SQLite stores it, split into its parts."""

    text: str
    name: Token
    elements: tuple[Element, ...]
    commas: tuple[Token, ...]  # commas[i] separates elements[i] and elements[i + 1]

    def columns(self) -> list[Element]:
        return [element for element in self.elements if element.is_column]

    def source(self, element: Element) -> str:
        return self.text[element.start : element.stop]


def parse_create_table(sql: str) -> CreateTable:
    tokens = tokenize(sql, "CREATE TABLE statement")
    if len(tokens) < 5 or [token.head for token in tokens[:2]] != ["CREATE", "TABLE"] or tokens[3].word != "(":
        raise SchemaChangeRefused(f"cannot read the statement {sql!r}", "alter_table() changes tables of CREATE TABLE")
    elements: list[Element] = []
    commas: list[Token] = []
    current: list[Token] = []
    depth = 0
    for token in tokens[4:]:
        if depth == 0 and token.word in (",", ")") and current:
            elements.append(Element(tuple(current)))
            if token.word == ")":
                return CreateTable(sql, tokens[2], tuple(elements), tuple(commas))
            commas.append(token)
            current = []
            continue
        depth += (token.word == "(") - (token.word == ")")
        current.append(token)
    raise SchemaChangeRefused(f"cannot read the statement {sql!r}", "its parentheses do not match")


# --- the parts of a column definition -------------------------------------------------------


@dataclass(frozen=True)
class Clause(Spanned):
    """One constraint of a column (``NOT NULL``, ``DEFAULT 0``, ``CONSTRAINT c CHECK (…)``…)."""

    kind: str  # its first keyword: PRIMARY, NOT (NOT NULL), NULL, UNIQUE, CHECK, DEFAULT, COLLATE…
    name: str | None
    tokens: tuple[Token, ...]  # from CONSTRAINT, when named, to its last token


@dataclass(frozen=True)
class ColumnParts:
    name: Token
    type: tuple[Token, ...]
    clauses: tuple[Clause, ...]


def column_parts(element: Element) -> ColumnParts:
    tokens = element.tokens[1:]
    starts = clause_starts(tokens)
    bounds = [*starts, len(tokens)]
    pieces = [tokens[start:stop] for start, stop in itertools.pairwise(bounds)]
    return ColumnParts(element.tokens[0], tokens[: bounds[0]], tuple(_named(pieces)))


def clause_starts(tokens: Sequence[Token]) -> list[int]:
    """Where each column constraint begins: a keyword outside parentheses that no clause owns."""
    starts: list[int] = []
    depth, owned = 0, -1
    for index, token in enumerate(tokens):
        if depth == 0 and index > owned and _starts_clause(tokens, index):
            starts.append(index)
            owned = index + _owned_after(tokens, index)
        depth += (token.word == "(") - (token.word == ")")
    return starts


def _starts_clause(tokens: Sequence[Token], index: int) -> bool:
    word = tokens[index].head
    before = tokens[index - 1].head if index else ""
    after = tokens[index + 1].head if index + 1 < len(tokens) else ""
    if word not in COLUMN_CONSTRAINTS:
        return False
    if word in ("NULL", "DEFAULT") and before in ("NOT", "SET"):  # NOT NULL, ON DELETE SET NULL/DEFAULT
        return False
    return not (word == "NOT" and after == "DEFERRABLE") and not (word == "AS" and before == "ALWAYS")


def _owned_after(tokens: Sequence[Token], index: int) -> int:
    """How many tokens after a keyword are its operand (a constraint's name, a default value)."""
    word = tokens[index].head
    if word == "DEFAULT":
        return 2 if index + 1 < len(tokens) and tokens[index + 1].word in ("-", "+") else 1
    return 1 if word in ("CONSTRAINT", "COLLATE") else 0


def _named(pieces: Iterable[Sequence[Token]]) -> list[Clause]:
    """Clauses, each ``CONSTRAINT name`` joined to the constraint it names."""
    clauses: list[Clause] = []
    pending: tuple[Token, ...] = ()
    for piece in pieces:
        if piece[0].head == "CONSTRAINT" and len(piece) <= 2:
            pending = tuple(piece)
            continue
        name = pending[1].text if len(pending) > 1 else None
        clauses.append(Clause(piece[0].head, name, (*pending, *piece)))
        pending = ()
    return clauses


# --- splicing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    """Replace ``text[start:stop]`` (empty for an insertion)."""

    start: int
    stop: int
    text: str = ""


def splice(text: str, edits: Sequence[Edit]) -> str:
    """Apply edits that do not overlap; insertions at one place keep the order given."""
    pieces: list[str] = []
    position = 0
    for edit in sorted(edits, key=lambda edit: (edit.start, edit.stop)):
        pieces += [text[position : edit.start], edit.text]
        position = edit.stop
    return "".join(pieces) + text[position:]


def _line_start(text: str, position: int) -> int | None:
    """The start of the line, when only blanks precede ``position`` on it."""
    start = text.rfind("\n", 0, position) + 1
    return start if not text[start:position].strip(BLANKS) else None


def _line_end(text: str, position: int) -> int | None:
    """Just past the line's newline, when only blanks and a ``--`` comment follow ``position`` on it."""
    rest = len(text) - len(text[position:].lstrip(BLANKS))
    if text.startswith("--", rest):
        rest = text.find("\n", rest)
    return rest + 1 if rest >= 0 and text.startswith("\n", rest) else None


def _own_lines(parsed: CreateTable, index: int) -> tuple[int, int] | None:
    """The element's lines (start, past the newline), when nothing else is on them."""
    element = parsed.elements[index]
    after = parsed.commas[index].stop if index < len(parsed.commas) else element.stop
    start, stop = _line_start(parsed.text, element.start), _line_end(parsed.text, after)
    return None if start is None or stop is None else (start, stop)


def removal(parsed: CreateTable, index: int) -> list[Edit]:
    """Take an element out with its comma, and its lines when it has them to itself."""
    element, last = parsed.elements[index], index == len(parsed.elements) - 1
    lines = _own_lines(parsed, index)
    if lines is not None:
        comma = parsed.commas[index - 1] if last else None
        return [Edit(*lines)] + ([Edit(comma.start, comma.stop)] if comma else [])
    if last:
        return [Edit(parsed.elements[index - 1].stop, element.stop)]
    after = parsed.commas[index].stop
    return [Edit(element.start, len(parsed.text) - len(parsed.text[after:].lstrip(BLANKS)))]


def insertion(parsed: CreateTable, index: int, definition: str) -> list[Edit]:
    """Put a new element after ``elements[index]``, laid out like it (own line and indent, or inline)."""
    element, last = parsed.elements[index], index == len(parsed.elements) - 1
    lines = _own_lines(parsed, index)
    if lines is not None:
        indent = parsed.text[lines[0] : element.start]
        if last:
            return [Edit(element.stop, element.stop, ","), Edit(lines[1] - 1, lines[1] - 1, f"\n{indent}{definition}")]
        return [Edit(lines[1], lines[1], f"{indent}{definition},\n")]
    if last:
        return [Edit(element.stop, element.stop, f", {definition}")]
    following = parsed.elements[index + 1].start
    return [Edit(following, following, f"{definition}, ")]


def clause_removal(text: str, clause: Clause) -> Edit:
    """A clause and the blanks just before it."""
    return Edit(len(text[: clause.start].rstrip(BLANKS)), clause.stop)


def fragment(text: str, what: str) -> tuple[str, list[Token]]:
    """A piece of SQL given to alter_table(), trimmed to its tokens: one item, brackets balanced."""
    tokens = tokenize(text, what)
    depth = 0
    for token in tokens:
        depth += (token.word == "(") - (token.word == ")")
        if depth < 0 or token.word == ";" or (depth == 0 and token.word == ","):
            break
    else:
        if tokens and depth == 0:
            return text[tokens[0].start : tokens[-1].stop], tokens
    raise SchemaChangeRefused(f"{text!r} is not one {what}", f"give one {what}, without , or ; outside brackets")


# --- the draft of the new statement ----------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    """The new CREATE TABLE text of a table, and where each of its elements came from."""

    table: str
    text: str
    sources: tuple[int | None, ...]  # per element: its index in the original statement; None when added

    @classmethod
    def of(cls, table: str, sql: str) -> Draft:
        return cls(table, sql, tuple(range(len(parse_create_table(sql).elements))))

    @cached_property
    def parsed(self) -> CreateTable:
        return parse_create_table(self.text)

    def edited(self, edits: Sequence[Edit], sources: Sequence[int | None] | None = None) -> Draft:
        return replace(self, text=splice(self.text, edits), sources=tuple(self.sources if sources is None else sources))

    def column_index(self, name: str) -> int:
        for index, element in enumerate(self.parsed.elements):
            if element.is_column and fold(element.tokens[0].text) == fold(name):
                return index
        names = ", ".join(element.tokens[0].text for element in self.parsed.columns())
        raise SchemaChangeRefused(f"{self.table} has no column {name}", f"its columns are: {names}")

    def refuse_existing_column(self, name: str) -> None:
        if any(fold(element.tokens[0].text) == fold(name) for element in self.parsed.columns()):
            hint = "choose another name, or drop that column first"
            raise SchemaChangeRefused(f"{self.table} already has a column named {name}", hint)

    def unchanged_sources(self, original: CreateTable) -> set[int]:
        """The original elements still in the draft exactly as they were written."""
        return {
            source
            for source, element in zip(self.sources, self.parsed.elements, strict=True)
            if source is not None and self.parsed.source(element) == original.source(original.elements[source])
        }

    def with_table_name(self, name: str) -> str:
        token = self.parsed.name
        return splice(self.text, [Edit(token.start, token.stop, quote(name))])

    def has_autoincrement(self) -> bool:
        return any(token.word == "AUTOINCREMENT" for token in tokenize(self.text))
