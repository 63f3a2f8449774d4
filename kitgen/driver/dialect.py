"""The SQL each engine wants in a new migration: key column, timestamps, names that need quotes.

``make:migration`` writes its templates through a ``Dialect``, so nothing outside ``kitgen.driver``
knows which engine it writes for. PostgreSQL's reserved words are a constant (a test checks it
against ``pg_get_keywords()`` of a real server): quoting one more name than needed is harmless,
so it holds the words reserved in any version from 15 on.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from kitgen.errors import ConfigError


@dataclass(frozen=True)
class Dialect:
    """How one engine spells what kitgen's templates write."""

    name: str  # the engine, as configured: "sqlite", "postgresql"
    key_column: str  # the primary key column of a new table, as its definition
    timestamp: str  # type and constraints of created_at and updated_at
    text_type: str  # the type of a column the template adds
    rebuilds_to_drop_columns: bool  # Python migrations drop a column with db.alter_table(), not DROP COLUMN
    needs_quotes: Callable[[str], bool] = field(repr=False, compare=False)

    def quote_name(self, name: str) -> str:
        """The name as a table or column name in a statement: quoted when it is a keyword (``order``)."""
        return '"' + name.replace('"', '""') + '"' if self.needs_quotes(name) else name


def _sqlite_needs_quotes(name: str) -> bool:
    """Whether SQLite refuses the bare name as a table and a column name (SQLite itself decides)."""
    import sqlite3

    connection = sqlite3.connect(":memory:")
    try:
        connection.execute(f"CREATE TABLE {name} ({name} INTEGER)")
    except sqlite3.Error:
        return True
    finally:
        connection.close()
    return False


# pg_get_keywords() with catcode R (reserved) or T (only function or type names): never a bare table or
# column name. PostgreSQL 15's list; system_user is reserved from 16 on.
POSTGRESQL_RESERVED = frozenset(
    """
    all analyse analyze and any array as asc asymmetric authorization binary both case cast check collate
    collation column concurrently constraint create cross current_catalog current_date current_role
    current_schema current_time current_timestamp current_user default deferrable desc distinct do else end
    except false fetch for foreign freeze from full grant group having ilike in initially inner intersect into
    is isnull join lateral leading left like limit localtime localtimestamp natural not notnull null offset on
    only or order outer overlaps placing primary references returning right select session_user similar some
    symmetric system_user table tablesample then to trailing true union unique user using variadic verbose when
    where window with
    """.split()  # noqa: SIM905 - a hundred words read better as text than one per line
)
POSTGRESQL_PLAIN_NAME = re.compile(r"[a-z_][a-z0-9_$]*")  # what PostgreSQL reads back as written, unquoted


def _postgresql_needs_quotes(name: str) -> bool:
    return name in POSTGRESQL_RESERVED or not POSTGRESQL_PLAIN_NAME.fullmatch(name)


SQLITE = Dialect(
    name="sqlite",
    key_column="id INTEGER PRIMARY KEY",
    timestamp="INTEGER NOT NULL",
    text_type="TEXT",
    rebuilds_to_drop_columns=True,  # SQLite's DROP COLUMN fails on UNIQUE and PRIMARY KEY columns
    needs_quotes=_sqlite_needs_quotes,
)
POSTGRESQL = Dialect(
    name="postgresql",
    key_column="id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    timestamp="timestamptz NOT NULL DEFAULT now()",
    text_type="text",
    rebuilds_to_drop_columns=False,
    needs_quotes=_postgresql_needs_quotes,
)
DIALECTS = {dialect.name: dialect for dialect in (SQLITE, POSTGRESQL)}


def dialect_for(engine: str) -> Dialect:
    """The dialect of a database engine ("sqlite", "postgresql")."""
    try:
        return DIALECTS[engine]
    except KeyError:
        raise ConfigError(f"unknown database engine {engine!r}", f"use one of {', '.join(sorted(DIALECTS))}") from None
