"""Splitting a PostgreSQL script into statements, where psql would send each one.

The rules are psql's own (``src/fe_utils/psqlscan.l``, which follows the server's lexer): a ``;`` ends
a statement unless it is inside ``'…'`` (``''`` doubled), ``E'…'`` (backslash escapes, continued on
a later line by another ``'…'``), ``B'…'``, ``X'…'``, ``N'…'``, ``U&'…'``, ``"…"``, a dollar-quoted
string (``$$…$$``, ``$tag$…$tag$``; ``$1`` is a parameter and the ``$`` of ``a$b`` belongs to the
identifier), a ``--`` or a nested ``/* /* */ */`` comment, parentheses (``CREATE RULE … DO (…; …)``),
or the ``BEGIN ATOMIC … END`` body of a ``CREATE [OR REPLACE] FUNCTION|PROCEDURE``. Plain strings
are read with ``standard_conforming_strings`` on, PostgreSQL's default and what pg_dump writes.

Why not sqlglot's postgres tokenizer: it fails on valid input (``X'1f'`` bit strings raise a
TokenError), raises on an unterminated string or comment instead of leaving the server to point at
it, knows nothing of ``BEGIN ATOMIC`` bodies or of the parentheses rule (splitting needs more than
tokens), and tokenizes every character in Python, several times slower than the one regular
expression below, which lets ``re`` skip everything but the few tokens that matter.

psql meta-commands: a backslash outside quotes and comments starts one, running to the end of the
line. ``\\restrict`` and ``\\unrestrict`` (written by pg_dump since 17.6, 16.10, 15.14…, to guard a
restore through psql) mean nothing here and are skipped; any other (``\\connect``, ``\\i``, ``\\set``…)
is refused with a ``StatementError`` naming its line, before any statement runs: kitgen runs SQL,
not psql scripts (``\\.``, which ends the rows of a ``COPY … FROM stdin`` in a data dump, says to dump
INSERT statements instead).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from kitgen.driver.base import StatementError

WHITESPACE = " \t\n\r\f\v"
SKIPPED_META_COMMANDS = frozenset({"restrict", "unrestrict"})
ROUTINE_STARTS = ("cf", "cp", "corf", "corp")  # CREATE [OR REPLACE] FUNCTION|PROCEDURE, by first letters
ROUTINE_WORDS = frozenset({"create", "or", "replace", "function", "procedure"})

_START = "A-Za-z_\u0080-\U0010ffff"  # what may begin an identifier or a dollar-quote tag
_CONTINUE = _START + "0-9"
_NEWLINE_BETWEEN = r"(?:[ \t\f]|--[^\n\r]*+)*+[\n\r](?:[ \t\n\r\f]++|--[^\n\r]*+[\n\r])*+"  # string continuation
_E_BODY = r"'(?:[^'\\]++|\\(?:.|\Z)|'')*+'?"
TOKEN = re.compile(
    rf"""
    (?P<semicolon>;)
    |(?P<open>\()
    |(?P<close>\))
    |(?P<string>[eE]{_E_BODY}(?:{_NEWLINE_BETWEEN}{_E_BODY})*+|(?:[bBxXnN]|[uU]&)?'[^']*+(?:''[^']*+)*+'?)
    |(?P<identifier>(?:[uU]&)?"[^"]*+(?:""[^"]*+)*+"?)
    |(?P<word>[{_START}][{_CONTINUE}$]*+)
    |(?P<number>[0-9][0-9.]*+(?:[eE][+-]?[0-9]++)?)
    |(?P<dollar>\$(?P<tag>(?:[{_START}][{_CONTINUE}]*+)?)\$(?:.*?\$(?P=tag)\$|.*))
    |(?P<comment>--[^\n\r]*+)
    |(?P<nested>/\*)
    |(?P<meta>\\)
    """,
    re.VERBOSE | re.DOTALL,
)  # anything else (operators, commas, parameters' $…) is code that needs no attention: search() skips it
CODE = re.compile(rf"[^{WHITESPACE}]")
COMMENT_EDGE = re.compile(r"/\*|\*/")
META_NAME = re.compile(r"\\([A-Za-z]+|.?)")


@dataclass(frozen=True)
class Piece:
    """A statement (``start``: the offset of its first word) or a psql meta-command (of its backslash)."""

    kind: str  # "statement" or "meta"
    start: int
    text: str


def split_statements(script: str, first_line: int = 1) -> list[tuple[int, str]]:
    """Split a script into complete statements, each with the line its first word is on.

    Each statement is stripped and keeps its ``;``; pieces holding only comments and white space are
    left out. A psql meta-command other than ``\\restrict``/``\\unrestrict`` raises ``StatementError``.
    """
    statements: list[tuple[int, str]] = []
    lines = LineCounter(script, first_line)
    for piece in Scanner(script).pieces():
        if piece.kind == "statement":
            statements.append((lines.line_at(piece.start), piece.text))
        elif _meta_command_name(piece.text) not in SKIPPED_META_COMMANDS:
            raise _refused_meta_command(piece.text, lines.line_at(piece.start))
    return statements


class LineCounter:
    """Line numbers of offsets asked in (mostly) increasing order, without counting from the start each time."""

    def __init__(self, script: str, first_line: int) -> None:
        self.script, self.offset, self.line = script, 0, first_line

    def line_at(self, offset: int) -> int:
        if offset >= self.offset:
            self.line += self.script.count("\n", self.offset, offset)
        else:  # a statement a meta-command cut into began before it
            self.line -= self.script.count("\n", offset, self.offset)
        self.offset = offset
        return self.line


def _meta_command_name(text: str) -> str:
    match = META_NAME.match(text)
    return match.group(1) if match else ""


def _refused_meta_command(text: str, line: int) -> StatementError:
    name = _meta_command_name(text)
    if name == ".":  # the end of the rows of a COPY … FROM stdin, as pg_dump writes data
        return StatementError(
            text,
            "\\. ends the rows of a COPY … FROM stdin, which a migration cannot send",
            line,
            hint="write the rows as INSERT statements (pg_dump --inserts or --column-inserts)",
        )
    return StatementError(
        text,
        f"\\{name} is a psql meta-command, not SQL",
        line,
        hint="remove it: kitgen sends SQL statements to the server itself, without psql "
        "(only pg_dump's \\restrict and \\unrestrict lines are skipped)",
    )


def first_words(statement: str, limit: int) -> list[str]:
    """The first ``limit`` words of the first statement in ``statement``, lower-cased; comments skipped.

    Stops early at anything that is not a word (a string, a parenthesis, a semicolon…).
    """
    words: list[str] = []
    position = 0
    while len(words) < limit and (match := TOKEN.search(statement, position)) is not None:
        if CODE.search(statement, position, match.start()):
            break  # an operator or another character search() skipped
        if match.lastgroup == "word":
            words.append(match.group().lower())
        elif match.lastgroup not in ("comment", "nested"):
            break
        position = _comment_end(statement, match.start()) if match.lastgroup == "nested" else match.end()
    return words


def first_code_offset(statement: str) -> int:
    """The offset of the first character of ``statement`` outside white space and comments."""
    position = 0
    while (match := TOKEN.search(statement, position)) is not None:
        code = CODE.search(statement, position, match.start())
        if code is not None:
            return code.start()
        if match.lastgroup not in ("comment", "nested"):
            return match.start()
        position = _comment_end(statement, match.start()) if match.lastgroup == "nested" else match.end()
    code = CODE.search(statement, position)
    return code.start() if code is not None else len(statement)


def _comment_end(script: str, start: int) -> int:
    """The end of the ``/* … */`` comment opening at ``start``, nested ones included (the end of the
    script when it is not closed)."""
    depth = 0
    for edge in COMMENT_EDGE.finditer(script, start):
        depth += 1 if edge.group() == "/*" else -1
        if depth == 0:
            return edge.end()
    return len(script)


class Scanner:
    """One pass over a script, giving its statements and meta-commands in order."""

    def __init__(self, script: str) -> None:
        self.script = script
        self.position = 0
        self._begin_statement(0)

    def _begin_statement(self, start: int) -> None:
        self.start = start
        self.parts: list[str] = []  # text of the statement before a meta-command cut into it
        self.first_code: int | None = None
        self.parens = 0
        self.begins = 0  # BEGIN (and CASE within it) not yet ENDed, in a routine's body
        self.words = 0
        self.marks = ""  # for each of the first four words: its first letter if in ROUTINE_WORDS, else " "

    def pieces(self) -> Iterator[Piece]:
        script = self.script
        while (match := TOKEN.search(script, self.position)) is not None:
            self._note_code(self.position, match.start())
            self.position = match.end()
            kind = match.lastgroup
            if kind == "semicolon":
                if self.parens == 0 and self.begins == 0:
                    yield from self._end_statement(match.end())
                continue
            if kind == "comment":
                continue
            if kind == "nested":
                self.position = _comment_end(script, match.start())
            elif kind == "meta":
                yield self._meta_command(match.start())
            else:
                self._code(kind, match)
        self._note_code(self.position, len(script))
        yield from self._end_statement(len(script))

    def _note_code(self, start: int, end: int) -> None:
        """Code characters ``search()`` skipped (operators, commas…) start a statement too."""
        if self.first_code is None and (code := CODE.search(self.script, start, end)) is not None:
            self.first_code = code.start()

    def _code(self, kind: str | None, match: re.Match[str]) -> None:
        if self.first_code is None:
            self.first_code = match.start()
        if kind == "open":
            self.parens += 1
        elif kind == "close":
            self.parens = max(self.parens - 1, 0)
        elif kind == "word" and (self.words < 4 or self.marks.startswith(ROUTINE_STARTS)):
            self._word(match.group().lower())

    def _word(self, word: str) -> None:
        """psql's heuristic: in CREATE [OR REPLACE] FUNCTION|PROCEDURE, outside parentheses, BEGIN opens
        a block that END closes (CASE too, within a block), and a ``;`` inside does not end the statement."""
        if self.words < 4:
            self.marks += word[0] if word in ROUTINE_WORDS else " "
        self.words += 1
        if self.parens > 0 or not self.marks.startswith(ROUTINE_STARTS):
            return
        if word == "begin" or (word == "case" and self.begins > 0):
            self.begins += 1
        elif word == "end" and self.begins > 0:
            self.begins -= 1

    def _meta_command(self, start: int) -> Piece:
        """A backslash command runs to the end of its line; the statement around it goes on after it."""
        end = self.script.find("\n", start)
        end = len(self.script) if end == -1 else end
        self.parts.append(self.script[self.start : start])
        self.start = self.position = end
        return Piece("meta", start, self.script[start:end].rstrip(WHITESPACE))

    def _end_statement(self, end: int) -> Iterator[Piece]:
        if self.first_code is not None:
            text = "".join(self.parts) + self.script[self.start : end]
            yield Piece("statement", self.first_code, text.strip(WHITESPACE))
        self._begin_statement(end)
