"""Stamps: a verdict is reused only while nothing it read changed, whatever way a file changes."""

from __future__ import annotations

import os
import shutil
import sys
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
    assert not (aged / ".kitgen" / "during.stamp").exists()


def test_a_damaged_stamp_is_no_stamp(aged: Path) -> None:
    (aged / ".kitgen").mkdir(exist_ok=True)
    (aged / ".kitgen" / "broken.stamp").write_text("kitgen stamp 2\nnot hex\n")
    assert stamps.confirmed(aged, "broken", "key", [aged / "folder0"]) is None


def test_check_and_migrate_see_an_entity_edited_after_a_clean_run_was_stamped(project: Project) -> None:
    project.create_table("2026_01_01_000001_create_users", "users", "id INTEGER PRIMARY KEY, name TEXT NOT NULL")
    assert project.run("migrate").returncode == 0
    time.sleep(stamps.RACY_NANOSECONDS / 1e9 + 0.2)
    assert project.run("check").stdout.endswith(" ok.\n")  # compared, then stamped
    assert list((project.root / ".kitgen").glob("check-*.stamp"))
    assert project.run("migrate").stdout == "Nothing to migrate.\n"
    assert list((project.root / ".kitgen").glob("entities-*.stamp"))
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
    assert not list((project.root / ".kitgen").glob("check-*.stamp"))
    shared.write_text("'draft', 'published', 'gone'")
    check = project.run("check")
    assert check.returncode == 1 and "post.py: stale" in check.stdout


# --- the no-op `kitgen migrate` ------------------------------------------------------------------------

USERS, POSTS = "2026_01_01_000001_create_users", "2026_01_01_000002_create_posts"
NOOP_CHANGES: dict[str, tuple[Callable[[Project], None], int, str]] = {  # the change, then what migrate says
    "a migration edited, keeping its size": (
        lambda project: _edit(project.migrations / f"{USERS}.sql", "name", "nick"),
        1,
        "changed since it ran",
    ),
    "an older version of a migration checked out": (
        lambda project: _checkout(
            project.migrations / f"{USERS}.sql",
            (project.migrations / f"{USERS}.sql").read_text().replace("name", "nick"),
        ),
        1,
        "changed since it ran",
    ),
    "a migration added": (
        lambda project: project.create_table("2026_01_01_000003_create_tags", "tags"),
        0,
        "Applying 2026_01_01_000003_create_tags",
    ),
    "a migration removed": (lambda project: (project.migrations / f"{POSTS}.py").unlink(), 0, "has no file"),
    "an entity edited by hand, keeping its size": (
        lambda project: _edit(project.entities / "user.py", "name", "nome"),
        3,
        "user.py: edited",
    ),
    "an entity removed": (lambda project: (project.entities / "post.py").unlink(), 0, "post.py"),
    "the database changed by another program": (
        lambda project: _roll_back_by_hand(project),
        0,
        f"Applying {POSTS}",
    ),
    "the database replaced by a copy with the same times": (
        lambda project: _replace(project.database),
        0,
        "Nothing to migrate.",
    ),
    "a setting changed in pyproject.toml": (
        lambda project: (project.root / "pyproject.toml").write_text(
            '[project]\nname = "sample"\nversion = "0"\n\n[tool.kitgen]\nentities = "app/models"\n'
        ),
        1,
        "app/models",
    ),
    "the database's symlink pointed at another database": (
        lambda project: _repoint(project.database, project.root / "dbs" / "b.sqlite"),
        0,
        f"Applying {USERS}",
    ),
    "a schema file added": (
        lambda project: (project.root / "database" / "schema.sql").write_text("-- hand-made\n"),
        1,
        "schema.sql",
    ),
}
IMPORTS = {"PYTHONPROFILEIMPORTTIME": "1"}  # the imports, on stderr: the full comparison imports kitgen.config


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert len(old) == len(new) and old in text
    path.write_text(text.replace(old, new))


def _repoint(link: Path, target: Path) -> None:
    target.write_bytes(b"")  # an empty database
    link.unlink()
    link.symlink_to(target)


def _behind_a_symlink(project: Project) -> None:
    """The database moved to ``dbs/a.sqlite``, ``database/database.sqlite`` a symlink to it (per-branch databases)."""
    (project.root / "dbs").mkdir()
    project.database.rename(project.root / "dbs" / "a.sqlite")
    project.database.symlink_to(project.root / "dbs" / "a.sqlite")


def _roll_back_by_hand(project: Project) -> None:
    with project.connect() as connection:
        connection.execute("DROP TABLE posts")
        connection.execute("DELETE FROM kitgen_migrations WHERE name = ?", (POSTS,))


@pytest.fixture(scope="module")
def noop_projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Project]:
    """One migrated project per change (and one left alone), all older than the racy window."""
    projects = {}
    for change in ["nothing", *NOOP_CHANGES]:
        project = Project(tmp_path_factory.mktemp("noop") / "project")
        project.create_table(USERS, "users", "id INTEGER PRIMARY KEY, name TEXT NOT NULL")
        project.python(POSTS, 'db.execute("CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER)")')
        assert project.run("migrate").returncode == 0
        if change == "the database's symlink pointed at another database":
            _behind_a_symlink(project)
        projects[change] = project
    time.sleep(stamps.RACY_NANOSECONDS / 1e9 + 0.2)
    for project in projects.values():
        assert project.run("migrate").stdout == "Nothing to migrate.\n"  # compared in full, then stamped
    return projects


def test_a_stamped_noop_migrate_reads_no_configuration_and_no_database(noop_projects: dict[str, Project]) -> None:
    project = noop_projects["nothing"]
    before = project.snapshot()
    for _ in range(2):
        result = project.run("migrate", env=IMPORTS)
        assert result.stdout == "Nothing to migrate.\n" and result.returncode == 0
        imported = result.stderr
        assert "kitgen.stamps" in imported
        assert "kitgen.config" not in imported and "sqlite3" not in imported and "pathlib" not in imported
    assert project.snapshot() == before


@pytest.mark.parametrize("change", sorted(NOOP_CHANGES))
def test_every_change_a_noop_depends_on_goes_back_to_the_full_comparison(
    noop_projects: dict[str, Project], change: str
) -> None:
    project = noop_projects[change]
    assert "kitgen.config" not in project.run("migrate", env=IMPORTS).stderr  # stamped
    make_change, code, said = NOOP_CHANGES[change]
    make_change(project)
    result = project.run("migrate", env=IMPORTS)
    assert "kitgen.config" in result.stderr  # compared in full
    assert result.returncode == code
    assert said in result.stdout + "".join(line for line in result.stderr.splitlines() if "import time:" not in line)


def test_a_noop_after_a_change_is_answered_in_full_again_and_stamped_again(noop_projects: dict[str, Project]) -> None:
    project = noop_projects["an entity removed"]  # the parametrized test removed it; migrate wrote it back
    assert (project.entities / "post.py").exists()
    time.sleep(stamps.RACY_NANOSECONDS / 1e9 + 0.2)
    assert "kitgen.config" in project.run("migrate", env=IMPORTS).stderr  # in full, then stamped
    assert "kitgen.config" not in project.run("migrate", env=IMPORTS).stderr


def test_a_noop_stamp_belongs_to_its_folder_environment_and_interpreter(
    noop_projects: dict[str, Project], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kitgen.commands.migrating import noop_watched, nothing_to_migrate

    project = noop_projects["nothing"]
    monkeypatch.chdir(project.root)
    environ = {name: value for name, value in os.environ.items() if not name.startswith("KITGEN_")}
    monkeypatch.setattr(os, "environ", environ)
    assert nothing_to_migrate(project.config())  # in full, stamped for this process's interpreter
    assert stamps.confirmed_noop(environ)
    assert not stamps.confirmed_noop({**environ, "KITGEN_DATABASE": "other.sqlite"})
    assert not stamps.confirmed_noop({**environ, "DATABASE_URL": "sqlite:///other.sqlite"})
    assert stamps.confirmed_noop({**environ, "PATH": "/elsewhere"})  # only kitgen's own variables count
    lock = project.database.with_name(project.database.name + ".lock")
    lock.write_text("")  # another kitgen command holds the database
    assert not stamps.confirmed_noop(environ)
    lock.unlink()
    assert stamps.confirmed_noop(environ)
    watched = noop_watched(project.config())
    package = str(Path(stamps.__file__).parent)
    assert ("list", package) in watched and ("list", os.path.join(package, "driver")) in watched
    assert any(kind == "stat" and path.endswith("site-packages") for kind, path in watched)
    assert ("exists", str(project.root / ".git")) in watched
    monkeypatch.setattr(sys, "path", ["/elsewhere", *sys.path])  # PYTHONPATH: another kitgen, other packages
    assert not stamps.confirmed_noop(environ)
    monkeypatch.setattr(sys, "path", sys.path[1:])
    assert stamps.confirmed_noop(environ)
    monkeypatch.setattr(sys, "version", sys.version + " (upgraded)")
    assert not stamps.confirmed_noop(environ)
    monkeypatch.setattr(sys, "version", sys.version.removesuffix(" (upgraded)"))
    assert stamps.confirmed_noop(environ)
    monkeypatch.chdir(project.root / "app")  # another folder of the same project: a stamp of its own
    assert not stamps.confirmed_noop(environ)


def test_every_environment_variable_the_configuration_reads_is_in_the_noop_key() -> None:
    from kitgen.config import SETTINGS

    read = {name for setting in SETTINGS for name in (setting.env, setting.fallback_env) if name} | {"KITGEN_ENV"}
    assert read and all(name.startswith("KITGEN_") or name in stamps.OTHER_VARIABLES for name in read)


def test_a_file_name_that_is_not_utf8_neither_breaks_migrate_nor_leaves_files(project: Project) -> None:
    project.create_table(USERS, "users", "id INTEGER PRIMARY KEY, name TEXT NOT NULL")
    assert project.run("migrate").returncode == 0
    for folder in (project.entities, project.migrations):
        (folder / os.fsdecode(b"notes-\xff.txt")).write_text("")
    time.sleep(stamps.RACY_NANOSECONDS / 1e9 + 0.2)
    for _ in range(3):
        result = project.run("migrate", env=IMPORTS)
        assert result.returncode == 0 and result.stdout == "Nothing to migrate.\n"
    assert "kitgen.config" not in result.stderr  # stamped, names and all
    assert not [path.name for path in (project.root / ".kitgen").iterdir() if path.name.endswith(".tmp")]
