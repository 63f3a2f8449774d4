"""Every expected failure, end to end: one ``Error: <what> — <hint>`` line, and nothing changed.

Each case builds a real project, runs the installed ``kitgen`` script and checks the
exit code, the single error line naming the cause, the absence of a traceback, and
that the database and every file of the project are exactly as before — except the
migrations a failing run applied before the broken one, which stay applied.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import textwrap
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import engines
import pytest
from conftest import Project, assert_one_error, run_on_terminal

from kitgen.codegen.names import module_base

# --- helpers ---------------------------------------------------------------------------------

Step = Callable[[Project], object]
Condition = Callable[[Project], AbstractContextManager[object]]

USERS = "2026_01_01_000001_create_users_table"
BROKEN = "2026_01_01_000002_broken"
POSTS = "2026_01_01_000002_create_posts_table"
COMMENTS = "2026_01_01_000003_create_comments_table"
NOTES = "2026_01_01_000001_create_notes_table"
ANSI = "\x1b["


def users(project: Project) -> None:
    """An applicable first migration."""
    project.create_table(USERS, "users")


def migrate(project: Project) -> None:
    """A first, successful ``kitgen migrate``."""
    result = project.run("migrate")
    assert result.returncode == 0, result.stderr


MIGRATED = (users, migrate)


def source(filename: str, text: str | bytes) -> Step:
    """Write a migration file verbatim (text is dedented)."""

    def write(project: Project) -> None:
        if isinstance(text, bytes):
            (project.migrations / filename).write_bytes(text)
        else:
            project.write(filename, text)

    return write


def sql(name: str, up: str, down: str = "") -> Step:
    return lambda project: project.sql(name, up, down)


def python(name: str, up: str, down: str = "pass") -> Step:
    return lambda project: project.python(name, up, down)


def pyproject(text: str) -> Step:
    """Append to the project's pyproject.toml."""

    def append(project: Project) -> None:
        path = project.root / "pyproject.toml"
        path.write_text(path.read_text(encoding="utf-8") + textwrap.dedent(text), encoding="utf-8")

    return append


def database_bytes(data: bytes) -> Step:
    return lambda project: project.database.write_bytes(data)


def database_folder(project: Project) -> None:
    project.database.mkdir()


def no_condition(project: Project) -> AbstractContextManager[object]:
    return nullcontext()


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make ``path`` unwritable, even for root (``chattr +i``), for the block."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(mode & ~0o222)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    chattr = shutil.which("chattr")
    done = subprocess.run([chattr, "+i", str(path)], capture_output=True, text=True) if chattr else None
    if done is None or done.returncode != 0:
        pytest.skip(f"chattr +i does not work here: {done.stderr if done else 'chattr not installed'}")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


def read_only_database(project: Project) -> AbstractContextManager[object]:
    return read_only(project.database)


def read_only_database_folder(project: Project) -> AbstractContextManager[object]:
    return read_only(project.database.parent)


def read_only_entities_folder(project: Project) -> AbstractContextManager[object]:
    return read_only(project.entities)


def no_entities_folder(project: Project) -> None:
    shutil.rmtree(project.entities)


@contextmanager
def locked_database(project: Project) -> Iterator[None]:
    """Another connection holding an exclusive lock on the database for the block."""
    connection = sqlite3.connect(project.database, isolation_level=None)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        connection.close()


def project_files(project: Project) -> dict[str, bytes | None]:
    """Every folder (None) and file (its bytes) of the project, but the database's lock file."""
    lock = project.database.with_name(project.database.name + ".lock")
    found: dict[str, bytes | None] = {}
    for path in sorted(project.root.rglob("*")):
        if path == lock:
            continue
        found[str(path.relative_to(project.root))] = None if path.is_dir() else path.read_bytes()
    return found


def database_dump(project: Project) -> list[str] | None:
    """``project.dump()``, or None when the database cannot be read (its bytes are compared anyway)."""
    try:
        return project.dump()
    except sqlite3.DatabaseError:
        return None


def applied_names(project: Project) -> list[str]:
    return [name for name, _ in project.applied()]


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("Error: ")]


COPIED_CLASS = """
from kitgen import Database, Migration


class CreateTable(Migration):
    def up(self, db: Database) -> None:
        db.execute("CREATE TABLE {table} (id INTEGER PRIMARY KEY)")
"""


@dataclass(frozen=True)
class Case:
    """One expected failure: the project it starts from, the command, the error it gives."""

    id: str
    given: tuple[Step, ...]
    args: tuple[str, ...]
    fragments: tuple[str, ...]
    code: int = 1
    env: Mapping[str, str] = field(default_factory=dict)
    during: Condition = no_condition  # held while the command runs
    kept: Mapping[str, str] = field(default_factory=dict)  # applied before the failure: name → its table
    postgresql: tuple[str, ...] | None = ()  # the fragments on PostgreSQL when they differ; None: SQLite's case


SQLITE_ONLY = (
    "database-",  # a database file, its folder, its lock file, another connection's lock on it
    "config-",  # the project's pyproject.toml, which names the PostgreSQL database
    "missing-migrations-folder",
    "model-type-",
)
NO_SUCH_TABLE = {"no such table: nope": 'relation "nope" does not exist'}


def on_postgresql(case: Case) -> tuple[str, ...] | None:
    """The fragments the case's error has on PostgreSQL, or None when the case is about SQLite or the config."""
    if case.postgresql is None or case.id.startswith(SQLITE_ONLY) or case.id.endswith("-protected"):
        return None
    return case.postgresql or tuple(NO_SUCH_TABLE.get(fragment, fragment) for fragment in case.fragments)


SYNTAX_ERROR = """
    from kitgen import Database, Migration


    class Broken(Migration):
        def up(self, db: Database) -> None
            pass
"""

BAD_NAMES = {
    "capitals": "CreateUsers",
    "spaces": "create users",
    "slash": "a/b",
    "dot-dot": "..",
    "empty": "",
    "leading-digit": "1st_table",
}

DESTRUCTIVE = ("migrate:rollback", "migrate:reset", "migrate:refresh", "migrate:fresh")

CASES = [
    # --- broken .py migrations ---
    Case(
        "py-syntax-error",
        (*MIGRATED, source(f"{BROKEN}.py", SYNTAX_ERROR)),
        ("migrate",),
        (f"{BROKEN}.py", "syntax error", "line 5"),
    ),
    Case(
        "py-syntax-error-on-first-migrate",
        (source(f"{BROKEN}.py", SYNTAX_ERROR),),
        ("migrate",),
        (f"{BROKEN}.py", "syntax error", "line 5"),
    ),
    Case(
        "py-imports-missing-module",
        (*MIGRATED, source(f"{BROKEN}.py", "import kitgen_no_such_module\n")),
        ("migrate",),
        (f"{BROKEN}.py", "kitgen_no_such_module"),
    ),
    Case(
        "py-no-migration-class",
        (*MIGRATED, source(f"{BROKEN}.py", "from kitgen import Migration\n\n\nclass M:\n    pass\n")),
        ("migrate",),
        (f"{BROKEN}.py", "no subclass of kitgen.Migration"),
    ),
    Case(
        "py-two-migration-classes",
        (
            *MIGRATED,
            source(
                f"{BROKEN}.py",
                """
                from kitgen import Database, Migration


                class First(Migration):
                    def up(self, db: Database) -> None:
                        pass


                class Second(Migration):
                    def up(self, db: Database) -> None:
                        pass
                """,
            ),
        ),
        ("migrate",),
        (f"{BROKEN}.py", "2 Migration classes", "First", "Second"),
    ),
    Case(
        "py-no-up-method",
        (
            *MIGRATED,
            source(
                f"{BROKEN}.py",
                """
                from kitgen import Database, Migration


                class Broken(Migration):
                    def down(self, db: Database) -> None:
                        pass
                """,
            ),
        ),
        ("migrate",),
        (f"{BROKEN}.py", "no up()"),
    ),
    Case(
        "py-up-raises-value-error",
        (*MIGRATED, python(BROKEN, 'db.execute("CREATE TABLE t (id INTEGER)")\nraise ValueError("no good")')),
        ("migrate",),
        (f"migration {BROKEN} ", "at line 7:", "ValueError: no good"),
    ),
    Case(
        "py-db-execute-fails",
        (
            *MIGRATED,
            python(BROKEN, 'db.execute("CREATE TABLE t (id INTEGER)")\ndb.execute("INSERT INTO nope VALUES (1)")'),
        ),
        ("migrate",),
        (f"migration {BROKEN} ", "at line 7:", "no such table: nope", "INSERT INTO nope VALUES (1)"),
    ),
    Case("py-empty-file", (*MIGRATED, source(f"{BROKEN}.py", "")), ("migrate",), (f"{BROKEN}.py", "no subclass")),
    Case(
        "py-binary-file",
        (*MIGRATED, source(f"{BROKEN}.py", b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary")),
        ("migrate",),
        (f"{BROKEN}.py", "UTF-8"),
    ),
    # --- broken .sql migrations ---
    Case(
        "sql-statement-fails-after-good-migration",
        (
            *MIGRATED,
            sql(POSTS, "CREATE TABLE posts (id INTEGER PRIMARY KEY);", "DROP TABLE posts;"),
            sql(COMMENTS, "CREATE TABLE comments (id INTEGER PRIMARY KEY);\n\nINSERT INTO nope VALUES (1);"),
        ),
        ("migrate",),
        (f"migration {COMMENTS} ", "at line 4:", "no such table: nope", "INSERT INTO nope VALUES (1)"),
        kept={POSTS: "posts"},
    ),
    Case(
        "sql-no-up-section",
        (*MIGRATED, source(f"{BROKEN}.sql", "CREATE TABLE t (id INTEGER);\n")),
        ("migrate",),
        (f"{BROKEN}.sql", "-- migrate:up"),
    ),
    Case(  # rolled back: the tracking table is still there, with its rows (the dump is unchanged)
        "sql-drops-tracking-table",
        (*MIGRATED, sql(BROKEN, "DROP TABLE kitgen_migrations;")),
        ("migrate",),
        (f"migration {BROKEN} ", "kitgen_migrations"),
    ),
    Case(
        "sql-runs-commit",
        (*MIGRATED, sql(BROKEN, "CREATE TABLE t (id INTEGER);\nCOMMIT;")),
        ("migrate",),
        (f"migration {BROKEN} ", "COMMIT"),
    ),
    # --- migration files that cannot be ordered or named ---
    Case(
        "duplicate-timestamp-prefix",
        (*MIGRATED, sql(POSTS, "CREATE TABLE posts (id INTEGER);"), sql(BROKEN, "CREATE TABLE t (id INTEGER);")),
        ("migrate",),
        (f"{BROKEN}.sql", f"{POSTS}.sql", "2026_01_01_000002"),
    ),
    Case(
        "badly-named-migration-file",
        (*MIGRATED, python("create_posts_table", "pass")),
        ("migrate",),
        ("'create_posts_table.py'", "YYYY_MM_DD_HHMMSS_name"),
    ),
    Case(
        "missing-migrations-folder",
        (*MIGRATED, pyproject('\n[tool.kitgen]\nmigrations = "db/migrations"\n')),
        ("migrate",),
        ("migrations folder", "db/migrations", "does not exist"),
    ),
    Case(
        "applied-migration-changed",
        (
            python(NOTES, 'db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")'),
            migrate,
            python(NOTES, 'db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT)")'),
            sql(POSTS, "CREATE TABLE posts (id INTEGER PRIMARY KEY);"),
        ),
        ("migrate",),
        ("changed", NOTES),
    ),
    # --- the database ---
    Case(
        "database-not-sqlite",
        (users, database_bytes(random.Random(0).randbytes(8192))),
        ("migrate",),
        ("not a SQLite database",),
    ),
    Case("database-path-is-folder", (users, database_folder), ("migrate",), ("is a folder",)),
    Case(
        "database-folder-missing",
        (users,),
        ("migrate", "--database", "nowhere/x.sqlite"),
        ("nowhere", "does not exist"),
    ),
    Case(
        "database-folder-missing-from-env",
        (users,),
        ("migrate",),
        ("nowhere", "does not exist"),
        env={"KITGEN_DATABASE": "nowhere/x.sqlite"},
    ),
    Case(
        "database-file-read-only",
        (*MIGRATED, sql(POSTS, "CREATE TABLE posts (id INTEGER);")),
        ("migrate",),
        ("database", "is read-only", "writable"),
        during=read_only_database,
    ),
    Case(
        "database-folder-read-only",
        (*MIGRATED, sql(POSTS, "CREATE TABLE posts (id INTEGER);")),
        ("migrate",),
        ("database.sqlite.lock", "writable"),
        during=read_only_database_folder,
    ),
    Case(
        "py-copied-class-name",
        (
            source(f"{USERS}.py", COPIED_CLASS.format(table="users")),
            migrate,
            source(f"{POSTS}.py", COPIED_CLASS.format(table="posts")),
        ),
        ("migrate",),
        (f"{POSTS}.py defines class CreateTable", f"{USERS}.py", "name of its own"),
    ),
    Case(
        "entities-folder-read-only",
        (*MIGRATED, sql(POSTS, "CREATE TABLE posts (id INTEGER);")),
        ("migrate",),
        ("cannot write in the entities folder", "writable"),
        during=read_only_entities_folder,
    ),
    Case(
        "entities-folder-missing",
        (*MIGRATED, no_entities_folder, sql(POSTS, "CREATE TABLE posts (id INTEGER);")),
        ("migrate",),
        ("entities folder", "does not exist", "kitgen init"),
    ),
    Case(
        "model-type-unknown",
        (*MIGRATED, sql(POSTS, "CREATE TABLE posts (id INTEGER);")),
        ("migrate", "--model-type", "attrs"),
        ("unknown model_type 'attrs'", "pydantic"),
    ),
    Case(
        "model-type-typeddict",
        (*MIGRATED, sql(POSTS, "CREATE TABLE posts (id INTEGER);")),
        ("generate", "--model-type", "typeddict"),
        ("typeddict", "from_row"),
    ),
    Case(
        "make-migration-name-unicode",
        MIGRATED,
        ("make:migration", "créer_users"),
        ("invalid migration name", "snake_case"),
        code=2,
    ),
    Case(
        "migration-file-name-unicode",
        (*MIGRATED, sql("2026_01_01_000002_créer_posts", "CREATE TABLE posts (id INTEGER);")),
        ("migrate",),
        ("2026_01_01_000002_créer_posts.sql", "does not match"),
    ),
    Case(
        "database-locked-by-another-connection",
        (*MIGRATED, sql(POSTS, "CREATE TABLE posts (id INTEGER);")),
        ("migrate", "--lock-timeout", "0.3"),
        ("locked", "--lock-timeout"),
        during=locked_database,
    ),
    # --- configuration ---
    Case(
        "config-unknown-key",
        (*MIGRATED, pyproject('\n[tool.kitgen]\ndatabse = "x.sqlite"\n')),
        ("migrate",),
        ("unknown key", "'databse'", "[tool.kitgen]"),
    ),
    Case(
        "config-invalid-toml",
        (*MIGRATED, pyproject("\n[tool.kitgen\n")),
        ("migrate",),
        ("pyproject.toml", "not valid TOML"),
    ),
    Case(
        "config-lock-timeout-not-a-number",
        (*MIGRATED, pyproject('\n[tool.kitgen]\nlock_timeout = "soon"\n')),
        ("migrate",),
        ("'lock_timeout'", "'soon'"),
    ),
    Case(
        "config-database-not-a-string",
        (*MIGRATED, pyproject("\n[tool.kitgen]\ndatabase = 3\n")),
        ("migrate",),
        ("'database'", "got 3"),
    ),
    # --- make:migration ---
    *(
        Case(f"make-migration-name-{label}", (), ("make:migration", name), ("invalid migration name",), code=2)
        for label, name in BAD_NAMES.items()
    ),
    Case(
        "make-migration-name-exists",
        (users,),
        ("make:migration", "create_users_table"),
        ("'create_users_table'", "already exists", f"{USERS}.sql"),
        code=2,
    ),
    Case(
        "make-migration-bad-model",
        (),
        ("make:migration", "create_posts_table", "--model", "not valid"),
        ("invalid model", "'not valid'"),
        code=2,
    ),
    Case(
        "make-migration-model-taken",
        MIGRATED,
        ("make:migration", "create_posts_table", "--model", "User"),
        ("--model", "User", 'table "users"', "app/entities/user.py"),
    ),
    # --- destructive commands ---
    Case(
        "rollback-sql-with-empty-down",
        (sql(USERS, "CREATE TABLE users (id INTEGER PRIMARY KEY);", ""), migrate),
        ("migrate:rollback", "--force"),
        (USERS, "no down"),
    ),
    *(
        Case(
            f"{command.split(':')[1]}-in-production",
            MIGRATED,
            (command, "--force"),
            (command, "refused", "KITGEN_ENV=production"),
            env={"KITGEN_ENV": "production"},
        )
        for command in DESTRUCTIVE
    ),
    *(
        Case(
            f"{command.split(':')[1]}-protected",
            (*MIGRATED, pyproject("\n[tool.kitgen]\nprotect = true\n")),
            (command, "--force"),
            (command, "refused", "protect = true"),
        )
        for command in DESTRUCTIVE
    ),
]


# --- the table -------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_expected_failure(project: Project, case: Case) -> None:
    for step in case.given:
        step(project)
    dump = database_dump(project)
    files = project_files(project)
    applied = applied_names(project) if case.kept else []
    tables = set(project.tables()) if case.kept else set()

    with case.during(project):
        result = project.run(*case.args, env=dict(case.env))

    assert_one_error(result, *case.fragments, code=case.code)
    if not case.kept:
        assert "Applied" not in result.stdout
        assert database_dump(project) == dump
        assert project_files(project) == files
        return
    # The migrations before the failing one stay applied, and are named; nothing else changed.
    for name in case.kept:
        assert f"Applying {name} … done" in result.stdout
    assert applied_names(project) == applied + list(case.kept)
    assert set(dump or ()) <= set(project.dump())
    assert set(project.tables()) == tables | set(case.kept.values())
    # ... and the entities follow what was applied.
    for table in case.kept.values():
        assert (project.entities / f"{module_base(table)}.py").is_file()
    database = str(project.database.relative_to(project.root))

    def unchanged(path: str) -> bool:
        return path != database and not path.startswith("app/entities/")

    assert {k: v for k, v in project_files(project).items() if unchanged(k)} == {
        k: v for k, v in files.items() if unchanged(k)
    }


PG_CASES = [case for case in CASES if on_postgresql(case) is not None]


@pytest.mark.parametrize("case", PG_CASES, ids=[case.id for case in PG_CASES])
def test_expected_failure_on_postgresql(project: Project, pg_url: str, case: Case) -> None:
    """The same failures on PostgreSQL: one error line, and the database and files as before it."""
    engine = engines.Engine("postgresql", pg_url)
    engines.configure(project.root, engine)
    project.engine = engine
    for step in case.given:
        step(project)
    dump, applied, files = engine.dump(), [name for name, _ in engine.applied()], project_files(project)

    with case.during(project):
        result = project.run(*case.args, env=dict(case.env))

    fragments = on_postgresql(case)
    assert fragments is not None
    assert_one_error(result, *fragments, code=case.code)
    assert [name for name, _ in engine.applied()] == applied + list(case.kept)
    for name in case.kept:
        assert f"Applying {name} … done" in result.stdout
    if not case.kept:
        assert engine.dump() == dump
        assert project_files(project) == files
    else:
        assert set(engine.tables()) >= set(case.kept.values())
        unchanged = {path: data for path, data in files.items() if not path.startswith("app/entities/")}
        assert {path: data for path, data in project_files(project).items() if path in unchanged} == unchanged


# --- special cases ---------------------------------------------------------------------------


def test_traceback_option_prints_the_traceback_and_the_error_line(project: Project) -> None:
    source(f"{BROKEN}.py", SYNTAX_ERROR)(project)

    result = project.run("--traceback", "migrate")

    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "SyntaxError" in result.stderr
    [error] = error_lines(result.stderr)
    assert f"{BROKEN}.py" in error
    assert "line 5" in error


def test_no_color_removes_ansi_escapes_on_a_terminal(project: Project) -> None:
    users(project)

    applied = run_on_terminal(project, "migrate", env={"NO_COLOR": "1"})
    source(f"{BROKEN}.py", SYNTAX_ERROR)(project)
    colored = run_on_terminal(project, "migrate", env={})
    failed = run_on_terminal(project, "migrate", env={"NO_COLOR": "1"})

    assert f"Applying {USERS} … done" in applied
    assert ANSI in colored  # the control: a terminal gets colors by default
    assert len(error_lines(failed)) == 1
    assert ANSI not in applied
    assert ANSI not in failed


def test_comment_only_edit_of_an_applied_migration_is_not_a_change(project: Project) -> None:
    path = project.python(NOTES, 'db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")')
    migrate(project)
    path.write_text(
        "# Notes, kept by the users.\n" + path.read_text(encoding="utf-8").replace(")\n", ")  # the table\n", 1),
        encoding="utf-8",
    )
    project.create_table(POSTS, "posts")

    result = project.run("migrate")

    assert result.returncode == 0, result.stderr
    assert f"Applying {POSTS} … done" in result.stdout
    assert applied_names(project) == [NOTES, POSTS]
