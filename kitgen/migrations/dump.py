"""The schema file (``database/schema.sql``): the schema as one script, and the migrations it contains.

``kitgen schema:dump`` writes it; ``migrate`` loads it into a database with no migration applied,
then applies only the migrations it does not contain; ``check`` replays from it. The file is the
driver's script of the schema (``Driver.dump_schema``), then one row per migration it contains, as
an INSERT into the tracking table that kitgen reads back (``read_dump``) and records itself when it
loads the file. A row keeps what tells the migration apart from an edited one (its checksums and
format) and what the entities' names depend on (its model and the relations it created); not when
or in which batch one database applied it, so that every database with the same schema and
migrations gives the same bytes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from kitgen.driver import AppliedMigration
from kitgen.driver.base import TRACKING_TABLE
from kitgen.errors import MigrationFileError

HEADER = (
    "-- The database schema, written by kitgen schema:dump: regenerate it rather than edit it.\n"
    "-- kitgen migrate loads it into a database with no migration applied, then applies the migrations\n"
    "-- that are not listed at the end.\n\n"
)
ROWS_MARKER = "-- kitgen: the migrations this schema contains"
CHECKSUM_LINE = re.compile(r"\n-- kitgen: checksum ([0-9a-f]{64})\b[^\n]*\s*$")
ROW_COLUMNS = ("name", "checksum", "raw_hash", "format", "transactional", "model", "created", "checksum_scheme")
DUMP_BATCH = 0  # the batch of the rows recorded by loading the file: below every batch migrate gives
LITERAL = re.compile(r"\s*(?:'((?:[^']|'')*)'|(NULL)|(-?\d+))\s*(,|\))")


@dataclass(frozen=True)
class SchemaDump:
    """A schema file: its script, where the script starts in the file, and the migrations it contains."""

    path: Path
    script: str
    rows: tuple[AppliedMigration, ...]
    first_line: int = 1  # the script's first line in the file
    names: frozenset[str] = field(init=False)  # the rows' names

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", frozenset(row.name for row in self.rows))


def dumped_row(row: AppliedMigration) -> AppliedMigration:
    """What the file keeps of a tracking row (see the module's docstring)."""
    return AppliedMigration(
        name=row.name,
        batch=DUMP_BATCH,
        checksum=row.checksum,
        raw_hash=row.raw_hash,
        source="",
        format=row.format,
        transactional=row.transactional,
        model=row.model,
        applied_at="",
        created=row.created,
        checksum_scheme=row.checksum_scheme,
    )


def render_dump(script: str, rows: list[AppliedMigration]) -> str:
    """The file's text: the header, the schema's script, then the rows sorted by name."""
    values = ",\n".join(_values(dumped_row(row)) for row in sorted(rows, key=lambda row: row.name))
    insert = f"INSERT INTO {TRACKING_TABLE} ({', '.join(ROW_COLUMNS)}) VALUES\n{values};\n" if rows else ""
    text = f"{HEADER}{script.rstrip()}\n\n{ROWS_MARKER} (kitgen records them when it loads this file)\n{insert}"
    return f"{text}-- kitgen: checksum {_checksum(text)} (of the text above: an edit by hand is refused)\n"


def _checksum(text: str) -> str:
    """The hash of a schema file's text, blind to what editors and git change: line endings, a byte order mark,
    spaces at the ends of lines, blank lines at the end."""
    lines = [line.rstrip() for line in text.lstrip("\ufeff").replace("\r\n", "\n").split("\n")]
    return hashlib.sha256("\n".join(lines).rstrip("\n").encode("utf-8")).hexdigest()


def _values(row: AppliedMigration) -> str:
    created = json.dumps(list(row.created))
    fields = (row.name, row.checksum, row.raw_hash, row.format, int(row.transactional), row.model, created)
    return "(" + ", ".join(_literal(value) for value in (*fields, row.checksum_scheme)) + ")"


def _literal(value: str | int | None) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("'", "''") + "'"


def read_dump(path: Path) -> SchemaDump | None:
    """The schema file at ``path``; None when there is none. Read once per process while it stays as it was."""
    try:
        found = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _unreadable(path, exc.strerror or str(exc)) from exc
    return _read(path, (found.st_size, found.st_mtime_ns, found.st_ctime_ns, found.st_ino))


@functools.lru_cache(maxsize=4)
def _read(path: Path, state: tuple[int, int, int, int]) -> SchemaDump | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise _unreadable(path, str(exc)) from exc
    return parse_dump(text, path)


def parse_dump(text: str, path: Path) -> SchemaDump:
    """The script and the rows of a schema file's text, once its checksum says it is as kitgen wrote it."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n")
    sealed = CHECKSUM_LINE.search(text)
    if sealed is None:
        raise _unreadable(path, "its last line, '-- kitgen: checksum …', is missing")
    body = text[: sealed.start() + 1]
    if _checksum(body) != sealed.group(1):
        raise MigrationFileError(
            f"{path} was changed since kitgen schema:dump wrote it (its checksum does not match): loading it "
            "would build a schema the migrations do not",
            "write it again with kitgen schema:dump from a database the migrations built (after a merge "
            "conflict in it: take either side, migrate, and dump again), or restore it from git",
        )
    script, marker, tail = body.partition(f"\n{ROWS_MARKER}")
    if not marker:
        raise _unreadable(path, f"the line {ROWS_MARKER!r} is missing")
    rows = tuple(_parse_row(line, path) for line in tail.splitlines()[2:] if line.strip())
    if script.startswith(HEADER):  # comments: not statements to show or run
        return SchemaDump(path, script[len(HEADER) :], rows, HEADER.count("\n") + 1)
    return SchemaDump(path, script, rows)


def _parse_row(line: str, path: Path) -> AppliedMigration:
    """One ``(…)`` line of the INSERT: the values in ``ROW_COLUMNS`` order."""
    values: list[str | int | None] = []
    rest = line.strip()
    if not rest.startswith("("):
        raise _unreadable(path, f"a migration row does not start with '(': {line.strip()[:80]}")
    rest = rest[1:]
    while True:
        match = LITERAL.match(rest)
        if match is None:
            raise _unreadable(path, f"cannot read the migration row {line.strip()[:80]}")
        text, null, number, end = match.groups()
        values.append(None if null else int(number) if number is not None else text.replace("''", "'"))
        rest = rest[match.end() :]
        if end == ")":
            break
    if rest.strip() not in (",", ";") or len(values) != len(ROW_COLUMNS):
        raise _unreadable(path, f"cannot read the migration row {line.strip()[:80]}")
    name, checksum, raw, fmt, transactional, model, created, scheme = values
    try:
        relations = tuple(json.loads(str(created)))
    except ValueError as exc:
        raise _unreadable(path, f"the created relations of {name} are not a JSON list") from exc
    return AppliedMigration(
        name=str(name),
        batch=DUMP_BATCH,
        checksum=str(checksum),
        raw_hash=str(raw),
        source="",
        format=str(fmt),
        transactional=bool(transactional),
        model=None if model is None else str(model),
        applied_at="",
        created=relations,
        checksum_scheme=str(scheme),
    )


def _unreadable(path: Path, why: str) -> MigrationFileError:
    return MigrationFileError(
        f"{path} is not a schema file kitgen can read: {why}",
        "write it again with kitgen schema:dump (from a database the migrations built), or restore it from git",
    )
