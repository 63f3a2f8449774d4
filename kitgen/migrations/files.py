"""Discover migration files: names, prefixes, formats and raw hashes."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from kitgen.errors import MigrationFileError
from kitgen.migrations.formats import SUFFIXES, raw_hash

NAME = re.compile(r"^(?P<prefix>\d{4}_\d{2}_\d{2}_\d{6})_(?P<label>[a-z][a-z0-9_]*)$")
IGNORED_NAMES = frozenset({"__init__.py", "__pycache__"})


@dataclass(frozen=True)
class MigrationFile:
    """One migration file: its stem is the migration's name."""

    name: str
    path: Path
    prefix: str
    label: str

    @property
    def suffix(self) -> str:
        return self.path.suffix

    def read_bytes(self) -> bytes:
        try:
            return self.path.read_bytes()
        except OSError as exc:
            raise MigrationFileError(f"cannot read {self.path}: {exc.strerror}", "check its permissions") from exc

    def raw_hash(self) -> str:
        return raw_hash(self.read_bytes())

    def read_text(self) -> str:
        return decode_source(self.read_bytes(), self.path)


def decode_source(data: bytes, path: Path) -> str:
    """A migration's text as Python reads source: UTF-8, a leading byte order mark dropped, and
    CRLF or CR line ends read as LF (so a checkout converting line ends changes no statement)."""
    try:
        if b"\x00" in data:
            raise UnicodeDecodeError("utf-8", data, data.index(b"\x00"), data.index(b"\x00") + 1, "NUL byte")
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MigrationFileError(
            f"{path.name} is not UTF-8 text (byte {exc.start}: {exc.reason})", "save it as UTF-8, or remove it"
        ) from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def is_candidate(filename: str) -> bool:
    """Whether a file in the migrations folder is meant as a migration."""
    if filename in IGNORED_NAMES or filename.startswith((".", "#", "~")) or filename.endswith("~"):
        return False
    return os.path.splitext(filename)[1] in SUFFIXES


def discover(folder: Path) -> list[MigrationFile]:
    """Every migration file in ``folder``, in prefix order; bad names are errors."""
    try:
        entries = sorted(entry for entry in os.listdir(folder) if is_candidate(entry))
    except FileNotFoundError as exc:
        raise MigrationFileError(
            f"the migrations folder {folder} does not exist",
            "run kitgen init, or set migrations in [tool.kitgen] or --migrations",
        ) from exc
    except PermissionError as exc:
        raise MigrationFileError(f"cannot read the migrations folder {folder}", "check its permissions") from exc
    except NotADirectoryError as exc:
        raise MigrationFileError(f"the migrations path {folder} is not a folder", "point it at a folder") from exc
    files = [_migration_file(folder / entry) for entry in entries]
    _reject_duplicate_prefixes(files)
    return files


def _migration_file(path: Path) -> MigrationFile:
    match = NAME.match(path.stem)
    if match is None or not path.is_file():
        raise MigrationFileError(
            f"migration file name {path.name!r} does not match YYYY_MM_DD_HHMMSS_name{path.suffix}",
            "rename it (lower-case name after a timestamp prefix), or create migrations with kitgen make:migration",
        )
    return MigrationFile(name=path.stem, path=path, prefix=match["prefix"], label=match["label"])


def _reject_duplicate_prefixes(files: list[MigrationFile]) -> None:
    seen: dict[str, MigrationFile] = {}
    for file in files:
        other = seen.setdefault(file.prefix, file)
        if other is not file:
            raise MigrationFileError(
                f"{other.path.name} and {file.path.name} share the timestamp prefix {file.prefix}",
                "give one of them a later prefix so their order is unambiguous",
            )
