"""The ``.sql`` migration format: ``-- migrate:up`` and ``-- migrate:down`` sections.

A section marker may carry options, as in dbmate: ``-- migrate:up transaction:false``, and
``foreign_keys:on`` to keep foreign keys enforced (ON DELETE actions fire) while it runs.
A ``-- kitgen:model User`` line names the entity class of the table the file creates.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from kitgen.errors import MigrationFileError
from kitgen.migrations.base import Database
from kitgen.migrations.formats import NO_DOWN, Description, Format, LoadedMigration, Step, digest

MARKER = re.compile(r"^--\s*migrate:(up|down)\b(.*)$", re.MULTILINE)
MODEL = re.compile(r"^--\s*kitgen:model\s+([A-Za-z_][A-Za-z0-9_]*)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Section:
    """One section of a SQL migration: its text, first line and options."""

    text: str
    first_line: int
    transactional: bool
    foreign_keys: bool = False


@dataclass(frozen=True)
class SqlMigration:
    """A parsed ``.sql`` migration."""

    up: Section
    down: Section | None
    model: str | None


def parse_sql_migration(source: str, path: Path) -> SqlMigration:
    """Split a SQL migration into its sections; a missing up section is an error."""
    markers = list(MARKER.finditer(source))
    sections: dict[str, Section] = {}
    for index, marker in enumerate(markers):
        kind = marker.group(1)
        if kind in sections:
            raise MigrationFileError(f"{path.name} has two '-- migrate:{kind}' sections", "keep one of each section")
        end = markers[index + 1].start() if index + 1 < len(markers) else len(source)
        body_start = marker.end() + 1
        transactional, foreign_keys = _options(marker.group(2), path)
        sections[kind] = Section(
            text=source[body_start:end],
            first_line=source.count("\n", 0, body_start) + 1,
            transactional=transactional,
            foreign_keys=foreign_keys,
        )
    if "up" not in sections:
        raise MigrationFileError(
            f"{path.name} has no '-- migrate:up' section",
            "start the file with a line '-- migrate:up', then the statements",
        )
    down = sections.get("down")
    if down is not None and not has_statements(down.text):
        down = None
    model = MODEL.search(source)
    return SqlMigration(up=sections["up"], down=down, model=model.group(1) if model else None)


SECTION_OPTIONS = {"transaction": {"true": True, "false": False}, "foreign_keys": {"on": True, "off": False}}


def _options(text: str, path: Path) -> tuple[bool, bool]:
    """``transaction:true|false`` and ``foreign_keys:on|off`` of a section marker."""
    chosen: dict[str, bool] = {}
    for option in text.split():
        key, _, value = option.partition(":")
        if value not in SECTION_OPTIONS.get(key, {}):
            raise MigrationFileError(
                f"{path.name} has an unknown section option {option!r}",
                "the options are transaction:false and foreign_keys:on",
            )
        if key in chosen:
            raise MigrationFileError(f"{path.name} gives the section option {key} twice", "keep one")
        chosen[key] = SECTION_OPTIONS[key][value]
    transactional = chosen.get("transaction", True)
    if not transactional and chosen.get("foreign_keys") is False:
        raise MigrationFileError(
            f"{path.name} asks for foreign_keys:off with transaction:false",
            "outside a transaction foreign keys stay enforced; drop one of the two options",
        )
    return transactional, chosen.get("foreign_keys", False)


def strip_comments(sql: str) -> str:
    """SQL without ``--`` and ``/* */`` comments, quoted text left intact."""
    return "".join(text for kind, text in _tokens(sql) if kind != "comment")


def has_statements(sql: str) -> bool:
    """Whether some SQL holds more than comments, spacing and semicolons (an empty down is no down)."""
    return bool(strip_comments(sql).strip(" \t\r\n;"))


def normalize_sql(sql: str) -> str:
    """SQL without comments; white space outside quotes kept only where it separates words.

    Each run of comments and spacing between two pieces of code becomes one space when the characters on
    both sides are a word's, and nothing otherwise (or at either end).
    """
    if not _QUOTE_OR_COMMENT.search(sql):  # code and spacing only: two passes without a call per piece
        return _SPACING.sub("", _BETWEEN_WORDS.sub(" ", sql))
    return SEPARATED.sub(_separator, sql)


def _separator(match: re.Match[str]) -> str:
    quoted, start, end, text = match.group(1), match.start(), match.end(), match.string
    if quoted is not None:
        return quoted
    if start == 0 or end == len(text):
        return ""
    return " " if _is_word(text[start - 1]) and _is_word(text[end]) else ""


def _is_word(char: str) -> bool:
    """Characters that white space must keep apart: words, numbers and quoted names.

    Every non-ASCII character counts as a word's: which ones are letters depends on the Unicode
    tables of the Python version, and the normalized text must not.
    """
    return not char.isascii() or char.isalnum() or char in "_$'\"`[]"


TOKEN = re.compile(
    r"""
    (?P<quoted>'(?:[^']|'')*'?|"(?:[^"]|"")*"?|`(?:[^`]|``)*`?|\[[^\]]*\]?)
    |(?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
    |(?P<space>\s+)
    |(?P<code>[^'"`\[\s/-]+|[/-])
    """,
    re.DOTALL | re.VERBOSE,
)


_WORD = r"""(?:[^\s\x00-\x7f]|[A-Za-z0-9_$'"`\[\]])"""  # what _is_word says, for one non-space character
_BETWEEN_WORDS = re.compile(rf"(?<={_WORD})\s+(?={_WORD})")
_SPACING = re.compile(rf"(?<!{_WORD})\s+|\s+(?=(?!{_WORD})\S|\Z)")  # what _BETWEEN_WORDS left
_QUOTE_OR_COMMENT = re.compile(r"""['"`\[]|--|/\*""")
SEPARATED = re.compile(  # a quoted piece (kept whole), or a run of comments and spacing
    r"""('(?:[^']|'')*'?|"(?:[^"]|"")*"?|`(?:[^`]|``)*`?|\[[^\]]*\]?)|((?:\s+|--[^\n]*|/\*.*?(?:\*/|\Z))+)""",
    re.DOTALL,
)


def _tokens(sql: str) -> list[tuple[str, str]]:
    """Cut SQL into (kind, text) pieces: quoted, comment, space and code (unterminated quotes run to the end)."""
    return [(match.lastgroup or "code", match.group()) for match in TOKEN.finditer(sql)]


def sql_checksum(source: str) -> str:
    """Checksum of everything but the down section (its marker line included), comments and spacing ignored."""
    preamble, sections = _raw_sections(source)
    kept = [_normalized_section(kind, options, text) for kind, options, text in sections if kind != "down"]
    return digest(json.dumps([normalize_sql(preamble), *kept]))


def sql_down_checksum(source: str) -> str:
    """Checksum of the down section's options and statements, or ``NO_DOWN`` when it has no statements."""
    _, sections = _raw_sections(source)
    downs = [
        _normalized_section(kind, options, text)
        for kind, options, text in sections
        if kind == "down" and has_statements(text)
    ]
    return digest(json.dumps(downs)) if downs else NO_DOWN


def _raw_sections(source: str) -> tuple[str, list[tuple[str, str, str]]]:
    """The text before the first marker, then (kind, options, text) of each section; never raises."""
    pieces = MARKER.split(source)
    return pieces[0], [(pieces[i], pieces[i + 1], pieces[i + 2]) for i in range(1, len(pieces), 3)]


def _normalized_section(kind: str, options: str, text: str) -> list[str]:
    """A section as checksums see it: the order of options and the comments and spacing do not count."""
    return [kind, " ".join(sorted(options.split())), normalize_sql(text)]


def load_sql(name: str, source: str, path: Path) -> LoadedMigration:
    """A SQL migration as runnable steps."""
    parsed = parse_sql_migration(source, path)
    return LoadedMigration(
        name=name,
        format="sql",
        up=_runner(parsed.up),
        down=_runner(parsed.down) if parsed.down is not None else None,
        transactional=parsed.up.transactional,
        down_transactional=parsed.down.transactional if parsed.down is not None else True,
        foreign_keys=parsed.up.foreign_keys,
        down_foreign_keys=parsed.down.foreign_keys if parsed.down is not None else False,
        model=parsed.model,
        path=path,
    )


def _runner(section: Section) -> Step:
    def run(db: Database) -> None:
        db.executescript(section.text, first_line=section.first_line)

    return run


def describe_sql(source: str, path: Path) -> Description:
    parsed = parse_sql_migration(source, path)
    return Description(
        model=parsed.model, transactional=parsed.up.transactional, runs_nothing=not has_statements(parsed.up.text)
    )


FORMAT = Format(
    suffix=".sql", checksum=sql_checksum, down_checksum=sql_down_checksum, load=load_sql, describe=describe_sql
)
