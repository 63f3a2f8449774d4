"""Migration formats, by file suffix: each knows its checksum, how to load and how to describe."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kitgen.migrations.base import Database

Step = Callable[[Database], None]


@dataclass(frozen=True)
class LoadedMigration:
    """A migration ready to run: its steps and options."""

    name: str
    format: str
    up: Step
    down: Step | None
    transactional: bool
    model: str | None
    path: Path
    down_transactional: bool = True
    foreign_keys: bool = False  # enforce foreign keys (ON DELETE actions fire) during up
    down_foreign_keys: bool = False


@dataclass(frozen=True)
class Description:
    """What can be told of a migration without running any of its code."""

    model: str | None
    transactional: bool
    runs_nothing: bool = False  # an up without a statement (an unfilled template)


@dataclass(frozen=True)
class Format:
    """One migration file format.

    ``checksum`` covers what applying the migration runs (its up), ``down_checksum`` its down
    alone (``NO_DOWN`` when it has none): editing or adding a down changes only the second.
    Both ignore comments and formatting, and follow the scheme ``CHECKSUM_SCHEME``.
    """

    suffix: str
    checksum: Callable[[str], str]
    down_checksum: Callable[[str], str]
    load: Callable[[str, str, Path], LoadedMigration]
    describe: Callable[[str, Path], Description]


CHECKSUM_SCHEME = "3"  # bump whenever any format's checksums change, for the same source


def digest(text: str) -> str:
    """The sha256 of some text, as kitgen records it."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


NO_DOWN = digest("")  # the down checksum of a migration without a down


def raw_hash(data: bytes) -> str:
    """The sha256 of a file's bytes: the fast first comparison before normalizing."""
    return hashlib.sha256(data).hexdigest()


def formats() -> dict[str, Format]:
    """The registry of formats by suffix."""
    from kitgen.migrations import python, sql

    return {".py": python.FORMAT, ".sql": sql.FORMAT}


SUFFIXES = (".py", ".sql")


def format_for(suffix: str) -> Format:
    return formats()[suffix]
