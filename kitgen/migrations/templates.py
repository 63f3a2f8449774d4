"""New migration files for ``make:migration``: names, prefixes and templates."""

from __future__ import annotations

import fcntl
import keyword
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from kitgen.driver.dialect import SQLITE, Dialect
from kitgen.errors import MigrationFileError, UsageError
from kitgen.migrations.files import NAME

LABEL = re.compile(r"^[a-z][a-z0-9_]*$")
MODEL = re.compile(r"^[A-Z][A-Za-z0-9_]*$")
CREATE = re.compile(r"^create_(?P<table>[a-z0-9_]+?)_table$")
ADD = re.compile(r"^add_(?P<column>[a-z0-9_]+?)_to_(?P<table>[a-z0-9_]+?)(?:_table)?$")
DROP = re.compile(r"^drop_(?P<column>[a-z0-9_]+?)_from_(?P<table>[a-z0-9_]+?)(?:_table)?$")
PREFIX_FORMAT = "%Y_%m_%d_%H%M%S"


@dataclass(frozen=True)
class Change:
    """The SQL a new migration starts with, guessed from its name.

    ``python_up``/``python_down`` are Python statements the Python template uses instead of
    ``db.execute(up)``/``db.execute(down)``: where the dialect rebuilds tables to drop a column
    (SQLite, whose own DROP COLUMN fails on UNIQUE and PRIMARY KEY columns), dropping one goes
    through ``db.alter_table()``. SQL migrations keep the plain SQL.
    """

    up: str
    down: str
    summary: str
    python_up: str = ""
    python_down: str = ""


def validate_label(label: str) -> None:
    if not LABEL.match(label):
        raise UsageError(
            f"invalid migration name {label!r}: it must match ^[a-z][a-z0-9_]*$",
            "use lower-case snake_case starting with a letter, e.g. create_users_table",
        )


def validate_model(model: str | None) -> None:
    if model is not None and (not MODEL.match(model) or keyword.iskeyword(model)):
        raise UsageError(f"invalid model class name {model!r}", "use a PascalCase Python identifier, e.g. User")


def guess_change(label: str, dialect: Dialect = SQLITE) -> Change:
    """``create_X_table`` creates X, ``add_C_to_T`` adds column C to T, ``drop_C_from_T`` drops it, else blank."""
    if match := CREATE.match(label):
        table = dialect.quote_name(match["table"])
        return Change(_create_table(table, dialect), f"DROP TABLE {table}", f"Create the {table} table.")
    if match := ADD.match(label):
        column, table = dialect.quote_name(match["column"]), dialect.quote_name(match["table"])
        return Change(
            f"ALTER TABLE {table} ADD COLUMN {column} {dialect.text_type}",
            f"ALTER TABLE {table} DROP COLUMN {column}",
            f"Add the {column} column to the {table} table.",
            python_down=_drop_column(match["table"], match["column"], dialect),
        )
    if match := DROP.match(label):
        column, table = dialect.quote_name(match["column"]), dialect.quote_name(match["table"])
        return Change(
            f"ALTER TABLE {table} DROP COLUMN {column}",
            f"ALTER TABLE {table} ADD COLUMN {column} {dialect.text_type}",
            f"Drop the {column} column from the {table} table.",
            python_up=_drop_column(match["table"], match["column"], dialect),
        )
    return Change("", "", label.replace("_", " ").capitalize() + ".")


def _create_table(table: str, dialect: Dialect) -> str:
    columns = (dialect.key_column, f"created_at {dialect.timestamp}", f"updated_at {dialect.timestamp}")
    return f"CREATE TABLE {table} (\n" + ",\n".join(f"    {column}" for column in columns) + "\n)"


def _drop_column(table: str, column: str, dialect: Dialect) -> str:
    """The Python that drops a column where the dialect rebuilds the table for it (else: the plain SQL)."""
    if not dialect.rebuilds_to_drop_columns:
        return ""
    return f'with db.alter_table("{table}") as table:\n    table.drop_column("{column}")'


def render_python(label: str, model: str | None, dialect: Dialect = SQLITE) -> str:
    change = guess_change(label, dialect)
    lines = [
        f'"""{change.summary}"""',
        "",
        "from kitgen import Database, Migration",
        "",
        "",
        f"class {class_name(label)}(Migration):",
    ]
    if model:
        lines += [f'    model = "{model}"', ""]
    lines += [*_python_method("up", change.up, change.python_up), ""]
    lines += _python_method("down", change.down, change.python_down)
    return "\n".join(lines) + "\n"


def class_name(label: str) -> str:
    """The migration's class: the name in PascalCase (``none`` → ``NoneMigration``, not ``None``)."""
    import inflection

    name = inflection.camelize(label)
    return f"{name}Migration" if keyword.iskeyword(name) else name


def _python_method(name: str, sql: str, code: str = "") -> list[str]:
    header = f"    def {name}(self, db: Database) -> None:"
    if code:
        return [header, *("        " + line for line in code.splitlines())]
    if not sql:
        return [header, "        pass"]
    if "\n" not in sql:
        quote = "'" if '"' in sql else '"'  # "order" and other quoted names
        return [header, f"        db.execute({quote}{sql}{quote})"]
    body = "\n".join("            " + line for line in sql.splitlines())
    return [header, "        db.execute(", '            """', body, '            """', "        )"]


def render_sql(label: str, model: str | None, dialect: Dialect = SQLITE) -> str:
    change = guess_change(label, dialect)
    lines = [f"-- kitgen:model {model}"] if model else []
    lines += ["-- migrate:up", change.up + ";" if change.up else "", "", "-- migrate:down"]
    lines += [change.down + ";" if change.down else ""]
    return "\n".join(lines) + "\n"


def existing_migrations(folder: Path) -> dict[str, str]:
    """Label → file name of every well-named migration in the folder."""
    found: dict[str, str] = {}
    for entry in sorted(os.listdir(folder)):
        match = NAME.match(os.path.splitext(entry)[0])
        if match:
            found.setdefault(match["label"], entry)
    return found


def first_prefix(folder: Path, now: datetime) -> datetime:
    """The moment to stamp a new migration with: now, or one second after the latest one."""
    latest = max((_prefix_time(entry) for entry in os.listdir(folder)), default=None)
    if latest is not None and latest >= now.replace(microsecond=0):
        return latest + timedelta(seconds=1)
    return now.replace(microsecond=0)


def _prefix_time(entry: str) -> datetime:
    match = NAME.match(os.path.splitext(entry)[0])
    if not match:
        return datetime.min
    try:
        return datetime.strptime(match["prefix"], PREFIX_FORMAT)
    except ValueError:
        return datetime.min


def create_migration_file(folder: Path, label: str, suffix: str, text: str, now: datetime) -> Path:
    """Write a new migration atomically, under a unique prefix never earlier than the newest one.

    A lock on the folder makes concurrent calls take turns, so two of them can neither share a
    prefix nor both create the same name.
    """
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".kitgen-", suffix=".tmp")
    folder_fd = os.open(folder, os.O_RDONLY)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        fcntl.flock(folder_fd, fcntl.LOCK_EX)
        _refuse_existing(folder, label)
        return _link_under_free_prefix(folder, label, suffix, temporary, first_prefix(folder, now))
    finally:
        os.unlink(temporary)
        os.close(folder_fd)


def _refuse_existing(folder: Path, label: str) -> None:
    existing = existing_migrations(folder)
    if label in existing:
        raise UsageError(
            f"a migration named {label!r} already exists ({existing[label]})",
            "choose another name, e.g. with a more specific verb or table",
        )


def _link_under_free_prefix(folder: Path, label: str, suffix: str, temporary: str, moment: datetime) -> Path:
    taken = {entry[:17] for entry in os.listdir(folder)}
    for _ in range(3600):
        prefix = moment.strftime(PREFIX_FORMAT)
        if prefix not in taken:
            target = folder / f"{prefix}_{label}{suffix}"
            os.link(temporary, target)
            return target
        moment += timedelta(seconds=1)
    raise MigrationFileError("no free timestamp prefix within an hour", "remove stray migration files")


ADOPTION_LABEL = "adopt_existing_schema"
ADOPTION_HEADER = (
    "-- The schema of the database kitgen init --from-database adopted, as it was then: recorded as applied\n"
    "-- there without running. Its up builds that schema in an empty database; its down drops all of it.\n"
)


def render_adoption(schema: str, drop: str) -> str:
    """The adoption migration: the schema's script as its up, the script that drops it as its down.

    Refused when the file would not read back as those two sections (a line of the schema's own text,
    a comment inside a CREATE statement, that reads as a section marker or a ``kitgen:model`` line).
    """
    from kitgen.migrations.sql import parse_sql_migration

    text = f"{ADOPTION_HEADER}-- migrate:up\n{schema.strip()}\n\n-- migrate:down\n{drop.strip()}\n"
    try:
        parsed = parse_sql_migration(text, Path(f"{ADOPTION_LABEL}.sql"))
        down = parsed.down.text.strip() if parsed.down is not None else ""
        read_back = parsed.up.text.strip() == schema.strip() and down == drop.strip() and parsed.model is None
    except MigrationFileError:
        read_back = False
    if not read_back:
        raise MigrationFileError(
            "the schema's text holds a line that reads as a '-- migrate:' section marker or a "
            "'-- kitgen:model' line, so it cannot be written as one .sql migration",
            "change that comment in the database (recreate the object without it), then adopt again; "
            "nothing was written",
        )
    return text


def write_new_file(folder: Path, filename: str, data: bytes) -> Path:
    """Write ``data`` as ``folder/filename`` at once (a temporary file linked into place, so it is never seen
    half-written), and never over a file that exists."""
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".kitgen-", suffix=".tmp")
    target = folder / filename
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, target)
    except FileExistsError as exc:
        raise MigrationFileError(f"{target} already exists", "move it away and run the command again") from exc
    finally:
        os.unlink(temporary)
    return target
