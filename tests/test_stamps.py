"""Stamps: a verdict is reused only while nothing it read changed, whatever way a file changes."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import Project

from kitgen import stamps

CHANGES: dict[str, Callable[[Path], None]] = {
    "an edit that keeps the size": lambda folder: (folder / "a.py").write_text("x = 2\n"),
    "an edit that keeps size and times": lambda folder: _keeping_times(folder / "a.py", "x = 3\n"),
    "an older version checked out": lambda folder: _checkout(folder / "a.py", "x = 1  # old version\n"),
    "a file replaced by a rename": lambda folder: _replace(folder / "a.py"),
    "a file added": lambda folder: (folder / "c.py").write_text(""),
    "a file removed": lambda folder: (folder / "b.py").unlink(),
    "a file made unreadable": lambda folder: (folder / "a.py").chmod(0),
}


def _keeping_times(path: Path, text: str) -> None:
    before = path.stat()
    path.write_text(text)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # the change time still moves


def _checkout(path: Path, text: str) -> None:
    path.write_text(text)
    os.utime(path, ns=(0, 0))  # git gives a checked-out file the time of the checkout; an archive, an old one


def _replace(path: Path) -> None:
    spare = path.with_suffix(".new")
    shutil.copy2(path, spare)
    os.replace(spare, path)


@pytest.fixture(scope="module")
def aged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One folder per kind of change, each with two files written more than two seconds ago."""
    root = tmp_path_factory.mktemp("stamps")
    for index in range(len(CHANGES) + 2):
        folder = root / f"folder{index}"
        folder.mkdir()
        (folder / "a.py").write_text("x = 1\n")
        (folder / "b.py").write_text("y = 1\n")
    time.sleep(stamps.RACY_NANOSECONDS / 1e9 + 0.2)
    yield root


def stamped(root: Path, folder: Path) -> None:
    stamps.record(root, "test", "key", [folder], "verdict", stamps.folder_states([folder]))


def test_a_stamp_confirms_its_verdict_while_nothing_changed(aged: Path) -> None:
    folder = aged / "folder0"
    stamped(aged, folder)
    assert stamps.confirmed(aged, "test", "key", [folder]) == "verdict"
    assert stamps.confirmed(aged, "test", "another key", [folder]) is None
    assert (aged / ".kitgen" / ".gitignore").read_text().endswith("*\n")


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_every_way_a_file_changes_undoes_the_stamp(aged: Path, change: str) -> None:
    folder = aged / f"folder{sorted(CHANGES).index(change) + 1}"
    name = f"test-{sorted(CHANGES).index(change)}"
    stamps.record(aged, name, "key", [folder], "verdict", stamps.folder_states([folder]))
    assert stamps.confirmed(aged, name, "key", [folder]) == "verdict"
    CHANGES[change](folder)
    assert stamps.confirmed(aged, name, "key", [folder]) is None


def test_a_stamp_taken_right_after_a_change_vouches_for_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    stamped(tmp_path, tmp_path)
    assert stamps.confirmed(tmp_path, "test", "key", [tmp_path]) is None  # an edit in the same tick could hide


def test_a_change_during_the_comparison_leaves_no_stamp(aged: Path) -> None:
    folder = aged / f"folder{len(CHANGES) + 1}"
    before = stamps.folder_states([folder])
    (folder / "a.py").write_text("x = 9\n")  # while the caller compared
    stamps.record(aged, "during", "key", [folder], "verdict", before)
    assert not (aged / ".kitgen" / "during.json").exists()


def test_a_damaged_stamp_is_no_stamp(aged: Path) -> None:
    (aged / ".kitgen").mkdir(exist_ok=True)
    (aged / ".kitgen" / "broken.json").write_text('{"key": "key", "files": [[1]]')
    assert stamps.confirmed(aged, "broken", "key", [aged / "folder0"]) is None


def test_check_and_migrate_see_an_entity_edited_after_a_clean_run_was_stamped(project: Project) -> None:
    project.create_table("2026_01_01_000001_create_users", "users", "id INTEGER PRIMARY KEY, name TEXT NOT NULL")
    assert project.run("migrate").returncode == 0
    time.sleep(stamps.RACY_NANOSECONDS / 1e9 + 0.2)
    assert project.run("check").stdout.endswith(" ok.\n")  # compared, then stamped
    assert list((project.root / ".kitgen").glob("check-*.json"))
    assert project.run("migrate").stdout == "Nothing to migrate.\n"
    assert list((project.root / ".kitgen").glob("entities-*.json"))
    assert project.run("check").stdout.endswith(" ok.\n")  # the stamp
    entity = project.entities / "user.py"
    text = entity.read_text()
    entity.write_text(text.replace("name: str", "nome: str"))  # same size
    check = project.run("check")
    assert check.returncode == 1 and "user.py: edited" in check.stdout
    migrate = project.run("migrate")
    assert migrate.returncode == 3 and "user.py: edited" in migrate.stderr


def test_check_sees_a_migration_changed_after_a_clean_run_was_stamped(project: Project) -> None:
    path = project.create_table("2026_01_01_000001_create_users", "users", "id INTEGER PRIMARY KEY, name TEXT")
    assert project.run("migrate").returncode == 0
    project.database.unlink()  # CI: no database, the migrations replayed
    time.sleep(stamps.RACY_NANOSECONDS / 1e9 + 0.2)
    assert project.run("check").returncode == 0
    assert project.run("check").returncode == 0
    path.write_text(path.read_text().replace("name TEXT", "nick TEXT"))  # same size: another column
    check = project.run("check")
    assert check.returncode == 1 and "user.py: stale" in check.stdout


def test_check_never_stamps_a_replay_of_python_migrations_which_may_read_any_file(project: Project) -> None:
    shared = project.root / "database" / "statuses.txt"
    shared.write_text("'draft', 'published'")
    project.python(
        "2026_01_01_000001_create_posts",
        """
        from pathlib import Path

        statuses = (Path(__file__).parent.parent / "statuses.txt").read_text()
        db.execute(f"CREATE TABLE posts (id INTEGER PRIMARY KEY, status TEXT CHECK (status IN ({statuses})))")
        """,
    )
    assert project.run("migrate").returncode == 0
    project.database.unlink()
    time.sleep(stamps.RACY_NANOSECONDS / 1e9 + 0.2)
    assert project.run("check").returncode == 0
    assert project.run("check").returncode == 0
    assert not list((project.root / ".kitgen").glob("check-*.json"))
    shared.write_text("'draft', 'published', 'gone'")
    check = project.run("check")
    assert check.returncode == 1 and "post.py: stale" in check.stdout
