"""Real projects in ``tmp_path``: files on disk, SQLite databases, the installed ``kitgen`` script."""

from __future__ import annotations

import os
import pty
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path

import engines
import pg_server
import pytest

from kitgen.config import Config, load_config

KITGEN = str(Path(sys.executable).parent / "kitgen")


class Project:
    """A scratch kitgen project: pyproject.toml, migrations folder, database path."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.migrations = root / "database" / "migrations"
        self.database = root / "database" / "database.sqlite"
        self.entities = root / "app" / "entities"
        self.engine = engines.Engine("sqlite", str(self.database))  # engine_project may point it elsewhere
        self.migrations.mkdir(parents=True)
        self.entities.mkdir(parents=True)
        (root / "app" / "__init__.py").write_text("", encoding="utf-8")
        (self.entities / "__init__.py").write_text('"""Entities."""\n', encoding="utf-8")
        (root / "pyproject.toml").write_text('[project]\nname = "sample"\nversion = "0"\n', encoding="utf-8")

    # --- writing migrations ---

    def write(self, filename: str, text: str) -> Path:
        path = self.migrations / filename
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def sql(self, name: str, up: str, down: str = "") -> Path:
        """A .sql migration named ``name`` (a full stem such as 2026_01_01_000001_x)."""
        return self.write(f"{name}.sql", f"-- migrate:up\n{up}\n\n-- migrate:down\n{down}\n")

    def python(self, name: str, up: str, down: str = "pass", extra: str = "") -> Path:
        """A .py migration whose up/down bodies are given as single-indented code."""
        body = textwrap.indent(textwrap.dedent(up).strip(), " " * 8)
        undo = textwrap.indent(textwrap.dedent(down).strip(), " " * 8)
        text = (
            "from kitgen import Database, Migration\n\n\n"
            f"class M{name.replace('_', '')}(Migration):\n{textwrap.indent(extra, '    ')}"
            f"    def up(self, db: Database) -> None:\n{body}\n\n"
            f"    def down(self, db: Database) -> None:\n{undo}\n"
        )
        path = self.migrations / f"{name}.py"
        path.write_text(text, encoding="utf-8")
        return path

    def create_table(self, name: str, table: str, columns: str = "id INTEGER PRIMARY KEY") -> Path:
        return self.sql(name, f"CREATE TABLE {table} ({columns});", f"DROP TABLE {table};")

    # --- running kitgen ---

    def config(self, **options: object) -> Config:
        return load_config(cwd=self.root, options=options, environ={})

    def run(
        self, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """The installed console script, in the project folder, without a terminal."""
        environ = {key: value for key, value in os.environ.items() if not key.startswith("KITGEN_")}
        environ.update(env or {})
        return subprocess.run(
            [KITGEN, *args],
            cwd=self.root,
            env=environ,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )

    # --- looking at the database ---

    def connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.database)

    def tables(self) -> list[str]:
        with self.connect() as connection:
            rows = connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            ).fetchall()
        return [row[0] for row in rows]

    def applied(self) -> list[tuple[str, int]]:
        with self.connect() as connection:
            return connection.execute("SELECT name, batch FROM kitgen_migrations ORDER BY id").fetchall()

    def snapshot(self) -> bytes:
        """The database file's bytes (or b"" when absent): for "exactly as before" checks."""
        return self.database.read_bytes() if self.database.exists() else b""

    def dump(self) -> list[str]:
        """Schema and content as SQL text, independent of page layout."""
        if not self.database.exists():
            return []
        connection = sqlite3.connect(self.database)
        try:
            return list(connection.iterdump())
        finally:
            connection.close()


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    yield Project(tmp_path / "project")


@pytest.fixture(params=["sqlite", "postgresql"])
def engine_project(request: pytest.FixtureRequest, project: Project) -> Iterator[Project]:
    """The test's project, once on SQLite and once on a PostgreSQL database of its own (``project.engine``)."""
    if request.param == "sqlite":
        engine = engines.Engine("sqlite", str(project.database))
    else:
        engine = engines.Engine("postgresql", request.getfixturevalue("pg_url"))
    engines.configure(project.root, engine)
    project.engine = engine
    yield project


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[pg_server.Server]:
    """One throwaway PostgreSQL server for the whole session (never skipped: CI installs it)."""
    server = pg_server.start_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(postgres_server: pg_server.Server) -> Iterator[str]:
    """The URL of a new, empty database on the session's server, dropped after the test."""
    import psycopg

    name = pg_server.new_database_name()
    with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield postgres_server.url(name)
    with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def assert_one_error(result: subprocess.CompletedProcess[str], *fragments: str, code: int = 1) -> None:
    """Exit code, one ``Error: … — …`` line naming the cause, and no traceback."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    assert " — " in errors[0], errors[0]
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])


def run_on_terminal(project: Project, *args: str, env: Mapping[str, str], answer: str | None = None) -> str:
    """Run kitgen on a pseudo-terminal (stdin, stdout, stderr); type ``answer`` at its prompt."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KITGEN_") and k != "NO_COLOR"}
    environ.update(env)
    primary, secondary = pty.openpty()
    try:
        process = subprocess.Popen(
            [KITGEN, *args], cwd=project.root, env=environ, stdin=secondary, stdout=secondary, stderr=secondary
        )
    finally:
        os.close(secondary)
    chunks: list[bytes] = []
    try:
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
            if answer is not None and b"[y/N]" in b"".join(chunks):
                os.write(primary, answer.encode() + b"\n")
                answer = None
        process.wait(timeout=120)
    finally:
        os.close(primary)
    return b"".join(chunks).decode("utf-8", "replace")
