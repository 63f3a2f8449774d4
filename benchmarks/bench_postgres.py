"""kitgen beside alembic on one PostgreSQL server: a no-op `migrate`, and 200 migrations from empty.

The script starts a throwaway PostgreSQL server (``tests/pg_server.py``: initdb and pg_ctl on a free
port, as the ``postgres`` user when run as root) and stops it at the end; a server that cannot start
stops the benchmark with the reason. Both tools get the same chain of 200 migrations, each creating
one table of eight columns of PostgreSQL types with one statement, in databases of their own on
that server.

- No-op: both projects are migrated first; then ``kitgen migrate``, ``alembic upgrade head`` and
  ``python -c pass`` take turns with nothing to do.
- Apply: every measured run starts from a database just created (``CREATE DATABASE``) and, for
  kitgen with entities, no entity files; the run before is checked to have created all 200 tables,
  recorded all 200 migrations (and written 200 entity modules).

kitgen's rows with entities are measured when generating them on PostgreSQL works; otherwise the
script prints why and measures ``kitgen migrate`` without them. Needs alembic and SQLAlchemy
(``make bench`` installs them) and the PostgreSQL server binaries.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
from bench_generate import clear_entities
from bench_noop_migrate import alembic_available, build_alembic_project
from harness import KITGEN, Command, Timing, new_project, print_table, time_in_turns
from psycopg import sql

sys.path.append(str(Path(__file__).resolve().parent.parent / "tests"))
from pg_server import Server, start_server  # the throwaway server of the tests

COUNT = 200
ALEMBIC = [sys.executable, "-m", "alembic", "upgrade", "head"]


def postgres_table(index: int) -> str:
    return (
        f"CREATE TABLE t{index} (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name TEXT NOT NULL, "
        "email VARCHAR(120) NOT NULL UNIQUE, score NUMERIC(10, 2), active BOOLEAN NOT NULL DEFAULT TRUE, "
        "created_at TIMESTAMPTZ NOT NULL DEFAULT now(), tags TEXT[], payload JSONB)"
    )


def build_kitgen_project(root: Path, url: str, *, sql_files: bool) -> None:
    """The chain as kitgen migrations on ``url``: every other one ``.sql`` when ``sql_files``, else all ``.py``."""
    migrations = new_project(root)
    with (root / "pyproject.toml").open("a") as pyproject:
        pyproject.write(f'\n[tool.kitgen]\ndatabase = "{url}"\ngenerate = true\n')
    for index in range(COUNT):
        name = f"2026_01_01_{index:06d}_create_table_{index}"
        if sql_files and index % 2:
            (migrations / f"{name}.sql").write_text(
                f"-- migrate:up\n{postgres_table(index)};\n\n-- migrate:down\nDROP TABLE t{index};\n"
            )
        else:
            (migrations / f"{name}.py").write_text(
                "from kitgen import Database, Migration\n\n\n"
                f"class CreateTable{index}(Migration):\n"
                "    def up(self, db: Database) -> None:\n"
                f'        db.execute("{postgres_table(index)}")\n\n'
                "    def down(self, db: Database) -> None:\n"
                f'        db.execute("DROP TABLE t{index}")\n'
            )


def build_alembic_chain(root: Path, url: str, *, upgrade: bool) -> None:
    """The same chain as alembic revisions, through SQLAlchemy's psycopg 3 dialect."""
    sqlalchemy_url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    build_alembic_project(root, COUNT, upgrade=upgrade, url=sqlalchemy_url, create_table=postgres_table)


def recreate_database(server: Server, name: str) -> None:
    """Drop ``name`` if it exists and create it empty."""
    with psycopg.connect(server.url(), autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def database_exists(server: Server, name: str) -> bool:
    with psycopg.connect(server.url(), autocommit=True) as connection:
        return connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def database_state(url: str, tracking: str) -> tuple[int, int]:
    """The tables of ``public`` but the tracking table, and the tracking table's rows."""
    with psycopg.connect(url, autocommit=True) as connection:
        tables = connection.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> %s", (tracking,)
        ).fetchone()
        rows = connection.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(tracking))).fetchone()
    assert tables is not None and rows is not None
    return tables[0], rows[0]


def entity_modules(root: Path) -> int:
    return len(list((root / "app" / "entities").glob("t*.py")))


def verify(root: Path, url: str, *, tracking: str, rows: int, entities: bool) -> None:
    """All the tables exist, the tracking table holds ``rows`` rows (and the entity modules are all there)."""
    tables, recorded = database_state(url, tracking)
    modules = entity_modules(root) if entities else COUNT
    if (tables, recorded, modules) != (COUNT, rows, COUNT):
        raise SystemExit(
            f"{root.name}: {tables} tables, {recorded} rows in {tracking}, {modules} entity modules; "
            f"expected {COUNT}, {rows}, {COUNT}"
        )


class Tool:
    """One project and its database on the server: how to check a run's result and start again empty."""

    def __init__(self, server: Server, root: Path, *, kitgen: bool, entities: bool = False) -> None:
        self.server = server
        self.root = root
        self.database = f"bench_{root.name}"
        self.url = server.url(self.database)
        self.kitgen = kitgen
        self.entities = entities

    def verify(self) -> None:
        tracking, rows = ("kitgen_migrations", COUNT) if self.kitgen else ("alembic_version", 1)
        verify(self.root, self.url, tracking=tracking, rows=rows, entities=self.entities)

    def reset(self) -> None:
        """Check the previous run, if any, then give the next one an empty database (and no entities)."""
        if database_exists(self.server, self.database):
            self.verify()
        recreate_database(self.server, self.database)
        if self.kitgen:
            clear_entities(self.root)


def migrate_kitgen(root: Path) -> str:
    """Apply the chain with entities; "" when that worked, else why (then applied without entities)."""
    result = subprocess.run([KITGEN, "migrate"], cwd=root, capture_output=True, text=True)
    if result.returncode == 0:
        return ""
    subprocess.run([KITGEN, "migrate", "--no-generate"], cwd=root, check=True, capture_output=True)
    return (result.stderr or result.stdout).strip().splitlines()[-1]


def check_nothing_to_migrate(root: Path, *, generate: bool) -> None:
    environ = {**os.environ, "KITGEN_GENERATE": str(generate).lower()}
    result = subprocess.run([KITGEN, "migrate"], cwd=root, env=environ, capture_output=True, text=True)
    if result.stdout != "Nothing to migrate.\n":
        raise SystemExit(f"kitgen migrate had something to do: {result.stdout}{result.stderr}")


def noop(server: Server, folder: Path, runs: int) -> str:
    """Time the no-op migrate; returns why entities were left out ("" when they were not)."""
    kitgen = Tool(server, folder / "kitgen_noop", kitgen=True)
    alembic = Tool(server, folder / "alembic_noop", kitgen=False)
    for tool in (kitgen, alembic):
        recreate_database(server, tool.database)
    build_kitgen_project(kitgen.root, kitgen.url, sql_files=True)
    no_entities = migrate_kitgen(kitgen.root)
    build_alembic_chain(alembic.root, alembic.url, upgrade=True)
    kitgen.entities = not no_entities
    commands = [
        Command("python -c pass", [sys.executable, "-c", "pass"], folder),
        Command(
            f"kitgen migrate, {COUNT}, KITGEN_GENERATE=false",
            [KITGEN, "migrate"],
            kitgen.root,
            env={"KITGEN_GENERATE": "false"},
        ),
        Command(f"kitgen migrate --no-generate, {COUNT}", [KITGEN, "migrate", "--no-generate"], kitgen.root),
    ]
    if kitgen.entities:
        commands.append(Command(f"kitgen migrate, {COUNT} + entities", [KITGEN, "migrate"], kitgen.root))
    commands.append(Command(f"alembic upgrade head, {COUNT}", ALEMBIC, alembic.root))
    python, *kitgen_timings, alembic_timing = time_in_turns(commands, runs=runs, warmup=2)
    for tool in (kitgen, alembic):
        tool.verify()
    check_nothing_to_migrate(kitgen.root, generate=kitgen.entities)
    if no_entities:
        print(f"\nkitgen's entities on PostgreSQL left out: `kitgen migrate` failed with: {no_entities}")
    rows: list[tuple[Timing, Timing | None, str]] = [(python, None, "")]
    rows += [(timing, python, "") for timing in kitgen_timings]
    rows += [(alembic_timing, python, "")]
    rows += [(timing, alembic_timing, "≤ 1x alembic") for timing in kitgen_timings]
    print_table(f"No-op migrate on PostgreSQL ({runs} runs each)", rows)
    return no_entities


def apply(server: Server, folder: Path, runs: int, *, entities: bool) -> None:
    """Time applying the chain to an empty database, the tools taking turns."""
    kitgen = Tool(server, folder / "kitgen_apply", kitgen=True)
    kitgen_entities = Tool(server, folder / "kitgen_apply_entities", kitgen=True, entities=True)
    alembic = Tool(server, folder / "alembic_apply", kitgen=False)
    build_alembic_chain(alembic.root, alembic.url, upgrade=False)
    tools: list[tuple[Tool, str, list[str]]] = [
        (alembic, f"alembic upgrade head, {COUNT} (no entities)", ALEMBIC),
        (kitgen, f"kitgen migrate --no-generate, {COUNT}", [KITGEN, "migrate", "--no-generate"]),
    ]
    if entities:
        tools.append((kitgen_entities, f"kitgen migrate, {COUNT}, incl. entities", [KITGEN, "migrate"]))
    for tool, _, _ in tools[1:]:
        build_kitgen_project(tool.root, tool.url, sql_files=False)
    commands = [Command(label, argv, tool.root, prepare=tool.reset) for tool, label, argv in tools]
    alembic_timing, *kitgen_timings = time_in_turns(commands, runs=runs)
    for tool, _, _ in tools:
        tool.verify()
    rows: list[tuple[Timing, Timing | None, str]] = [(alembic_timing, None, "")]
    rows += [(timing, alembic_timing, "≤ 1x alembic") for timing in kitgen_timings]
    print_table(f"Apply {COUNT} migrations to an empty PostgreSQL database ({runs} runs each)", rows)


def start() -> Server:
    try:
        return start_server()
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        raise SystemExit(f"bench_postgres: the PostgreSQL server did not start: {error}") from error


def main(noop_runs: int = 20, apply_runs: int = 5) -> None:
    if not alembic_available():
        print("\nkitgen beside alembic on PostgreSQL: skipped, alembic is not installed (`make bench` installs it)")
        return
    server = start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            no_entities = noop(server, Path(folder), noop_runs)
            apply(server, Path(folder), apply_runs, entities=not no_entities)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
