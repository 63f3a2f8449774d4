"""Discovery: which files are migrations, their order, and names that are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from kitgen.errors import MigrationFileError
from kitgen.migrations.files import discover, is_candidate


def touch(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).write_text("", encoding="utf-8")


def test_migrations_come_in_prefix_order_with_their_parts(tmp_path: Path) -> None:
    touch(tmp_path, "2026_01_02_000000_b.sql", "2026_01_01_000000_a.py")
    found = discover(tmp_path)
    assert [(f.name, f.prefix, f.label, f.suffix) for f in found] == [
        ("2026_01_01_000000_a", "2026_01_01_000000", "a", ".py"),
        ("2026_01_02_000000_b", "2026_01_02_000000", "b", ".sql"),
    ]


@pytest.mark.parametrize(
    "name",
    [
        ".gitkeep",
        "__init__.py",
        ".#2026_01_01_000000_a.py",
        "2026_01_01_000000_a.py~",
        "README.md",
        "notes.txt",
        ".2026_01_01_000000_a.py.swp",
        "#2026_01_01_000000_a.py#",
    ],
)
def test_editor_and_other_files_are_ignored(name: str) -> None:
    assert not is_candidate(name)


def test_pycache_folder_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "__pycache__").mkdir()
    touch(tmp_path, "2026_01_01_000000_a.py")
    assert [f.name for f in discover(tmp_path)] == ["2026_01_01_000000_a"]


@pytest.mark.parametrize("name", ["create_users.py", "2026_01_01_create_users.py", "2026_01_01_000000_Users.sql"])
def test_badly_named_migrations_are_errors(tmp_path: Path, name: str) -> None:
    touch(tmp_path, name)
    with pytest.raises(MigrationFileError, match="does not match YYYY_MM_DD_HHMMSS_name"):
        discover(tmp_path)


def test_two_migrations_with_one_prefix_are_an_error(tmp_path: Path) -> None:
    touch(tmp_path, "2026_01_01_000000_a.py", "2026_01_01_000000_b.sql")
    with pytest.raises(MigrationFileError, match="share the timestamp prefix 2026_01_01_000000"):
        discover(tmp_path)


def test_missing_folder_says_to_run_init(tmp_path: Path) -> None:
    with pytest.raises(MigrationFileError, match="does not exist — run kitgen init"):
        discover(tmp_path / "nope")


def test_non_utf8_file_is_explained(tmp_path: Path) -> None:
    (tmp_path / "2026_01_01_000000_a.sql").write_bytes(b"\xff\xfe\x00binary")
    (found,) = discover(tmp_path)
    with pytest.raises(MigrationFileError, match="is not UTF-8 text"):
        found.read_text()
