"""Reliability: ``kitgen migrate`` killed with SIGKILL at random moments, and killed among concurrent migrators.

Everything is real: the installed ``kitgen`` script started with ``subprocess.Popen``, SIGKILL,
SQLite files with their rollback journals, entity files on disk. No mocks.

The migrations: 40 small ones, a mix of ``.sql`` and ``.py``. Migration *i* creates table ``tNN`` and
inserts its rows; from number 26 on it also adds a column to an earlier table (so that earlier entity
files get rewritten) and fills it; last, it inserts its marker row into ``log`` with a statement that
does a few milliseconds of work, so that a kill often lands inside a migration's transaction, after
its table and rows exist and before its marker row does. "Fully applied" is: table with all its rows,
column with its values, exactly one marker row. "Half applied" is any of those without the others.

``KITGEN_KILL_RUNS`` (default 100) sets the number of kills; ``KITGEN_KILL_SEED`` the random seed, to
replay a failure.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import engines
import pytest
from conftest import KITGEN, Project

from kitgen.codegen import headers

COUNT = 40  # migrations
ALTER_FROM = 26  # from this migration on, each also adds a column to table t(i - 25)
BASE = 20  # migrations applied in the "base" starting state (with its entity files)
WORK = 30_000  # rows of the recursive CTE in each marker insert: a few ms of work per migration
KILL_RUNS = int(os.environ.get("KITGEN_KILL_RUNS", "100"))
SEED = int(os.environ.get("KITGEN_KILL_SEED", "20260101"))
INITIAL_EXPORTS = b'"""Entities."""\n'  # app/entities/__init__.py as conftest's Project writes it
RUN_TIMEOUT = 60.0


# --- the migrations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One migration and everything it changes."""

    index: int

    @property
    def name(self) -> str:
        return f"2026_01_01_{self.index:06d}_step_{self.index:02d}"

    @property
    def python(self) -> bool:
        return self.index % 3 == 0

    @property
    def filename(self) -> str:
        return self.name + (".py" if self.python else ".sql")

    @property
    def table(self) -> str:
        return f"t{self.index:02d}"

    @property
    def altered(self) -> str | None:
        return f"t{self.index - ALTER_FROM + 1:02d}" if self.index >= ALTER_FROM else None

    @property
    def column(self) -> str:
        return f"c{self.index:02d}"

    @property
    def rows(self) -> list[tuple[int, str, float]]:
        return [(row, f"step {self.index} row {row}", self.index + row / 4) for row in range(1, 4)]

    @property
    def work(self) -> int:
        return WORK * (WORK + 1) // 2  # sum(1..WORK), what the marker insert records

    def statements(self, key: str = "id INTEGER PRIMARY KEY") -> list[str]:
        """The up statements, as the .sql file holds them (the .py file runs the same ones).

        ``key`` is the log table's key column, which the database fills in (``engine.key``).
        """
        out = []
        if self.index == 1:
            out.append(f"CREATE TABLE log ({key}, migration TEXT NOT NULL, work INTEGER NOT NULL)")
        out.append(f"CREATE TABLE {self.table} (id INTEGER PRIMARY KEY, label TEXT NOT NULL, weight REAL)")
        values = ", ".join(f"({row}, '{label}', {weight!r})" for row, label, weight in self.rows)
        out.append(f"INSERT INTO {self.table} (id, label, weight) VALUES {values}")
        if self.altered:
            out.append(f"ALTER TABLE {self.altered} ADD COLUMN {self.column} INTEGER")
            out.append(f"UPDATE {self.altered} SET {self.column} = id * {self.index}")
        out.append(self.marker_insert)
        return out

    @property
    def marker_insert(self) -> str:
        return (
            f"INSERT INTO log (migration, work) SELECT '{self.name}', sum(x) FROM "
            f"(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {WORK}) SELECT x FROM c) AS w"
        )

    def text(self, key: str = "id INTEGER PRIMARY KEY", placeholder: str = "?") -> str:
        if not self.python:
            body = ";\n".join(self.statements(key))
            return f"-- migrate:up\n{body};\n\n-- migrate:down\nDROP TABLE {self.table};\n"
        lines = [f'"""Step {self.index}."""', "", "from kitgen import Database, Migration", "", ""]
        lines += [f"class Step{self.index:02d}(Migration):", "    def up(self, db: Database) -> None:"]
        for statement in self.statements(key):
            if statement.startswith("INSERT INTO t"):
                marks = ", ".join([placeholder] * 3)
                lines.append(
                    f"        db.executemany({f'INSERT INTO {self.table} (id, label, weight) VALUES ({marks})'!r}, "
                    f"{self.rows!r})"
                )
            else:
                lines.append(f"        db.execute({statement!r})")
        lines += ["", "    def down(self, db: Database) -> None:", f"        db.execute('DROP TABLE {self.table}')", ""]
        return "\n".join(lines)


STEPS = [Step(index) for index in range(1, COUNT + 1)]
NAMES = [step.name for step in STEPS]


def write_migrations(project: Project, steps: list[Step] = STEPS) -> None:
    for step in steps:
        (project.migrations / step.filename).write_text(step.text(), encoding="utf-8")


def replayed_states() -> list[list[str]]:
    """The user tables' dump after exactly the first k migrations, for k = 0..COUNT (replayed in memory)."""
    connection = sqlite3.connect(":memory:", isolation_level=None)
    states = [user_dump(connection)]
    for step in STEPS:
        for statement in step.statements():
            connection.execute(statement)
        states.append(user_dump(connection))
    connection.close()
    return states


# --- looking at a database -----------------------------------------------------------------------


def in_memory_copy(database: Path) -> sqlite3.Connection:
    """A private copy of the database (opening it rolls back a hot journal, as kitgen's next run would)."""
    copy = sqlite3.connect(":memory:", isolation_level=None)
    if database.exists():
        with contextlib.closing(sqlite3.connect(database)) as source:
            source.backup(copy)
    return copy


def user_dump(connection: sqlite3.Connection) -> list[str]:
    """Schema and rows of every table except kitgen's tracking table."""
    return [line for line in connection.iterdump() if "kitgen_migrations" not in line]


def comparable_dump(database: Path) -> list[str]:
    """Schema and data, tracking rows included, without what differs from run to run.

    ``applied_at`` is a clock reading; ``batch`` counts runs (a run killed after applying some
    migrations used a batch number, so a resumed project has more batches than one migrated in one go).
    """
    with contextlib.closing(in_memory_copy(database)) as copy:
        copy.execute("UPDATE kitgen_migrations SET applied_at = '', batch = 0")
        return list(copy.iterdump())


def tracking_rows(connection: sqlite3.Connection) -> list[tuple[int, str, int]]:
    if not _tables(connection) & {"kitgen_migrations"}:
        return []
    return connection.execute("SELECT id, name, batch FROM kitgen_migrations ORDER BY id").fetchall()


def _tables(connection: sqlite3.Connection) -> set[str]:
    return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _columns(connection: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in connection.execute("SELECT * FROM pragma_table_info(?)", (table,))]


def effects(connection: sqlite3.Connection, step: Step) -> dict[str, bool]:
    """Each change the migration makes, and whether it is there in full."""

    def query(sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        return [tuple(row) for row in connection.execute(sql.replace("%s", "?"), params).fetchall()]

    return effects_seen(query, _tables(connection), lambda table: _columns(connection, table), step)


def effects_seen(
    query: Callable[[str, tuple[object, ...]], list[tuple[object, ...]]],
    tables: set[str],
    columns: Callable[[str], list[str]],
    step: Step,
) -> dict[str, bool]:
    """``effects`` through any engine: ``query`` takes ``%s`` placeholders."""
    found: dict[str, bool] = {f"table {step.table}": step.table in tables}
    rows = query(f"SELECT id, label, weight FROM {step.table} ORDER BY id", ()) if step.table in tables else []
    found[f"rows of {step.table}"] = rows == step.rows
    if step.altered:
        has_column = step.altered in tables and step.column in columns(step.altered)
        found[f"column {step.altered}.{step.column}"] = has_column
        values = query(f"SELECT id, {step.column} FROM {step.altered} ORDER BY id", ()) if has_column else []
        found[f"values of {step.altered}.{step.column}"] = values == [(row, row * step.index) for row in (1, 2, 3)]
    markers = query("SELECT work FROM log WHERE migration = %s", (step.name,)) if "log" in tables else []
    assert len(markers) <= 1, f"{step.name} ran {len(markers)} times: {len(markers)} marker rows in log"
    found["marker row in log"] = markers == [(step.work,)]
    return found


def check_database(database: Path, states: list[list[str]]) -> int:
    """Integrity, and every recorded migration fully applied, none half applied; returns how many are applied."""
    if database.exists():
        with contextlib.closing(sqlite3.connect(database)) as connection:
            integrity = connection.execute("PRAGMA integrity_check").fetchall()
        assert integrity == [("ok",)], f"PRAGMA integrity_check: {integrity}"
    with contextlib.closing(in_memory_copy(database)) as connection:
        rows = tracking_rows(connection)
        recorded = [name for _, name, _ in rows]
        assert len(set(recorded)) == len(recorded), f"a migration is recorded twice: {recorded}"
        assert recorded == NAMES[: len(recorded)], f"recorded migrations are not the first {len(recorded)}: {recorded}"
        assert [row_id for row_id, _, _ in rows] == list(range(1, len(rows) + 1)), rows
        batches = [batch for _, _, batch in rows]
        assert batches == sorted(batches) and all(batch >= 1 for batch in batches), batches
        for step in STEPS:
            applied = step.name in recorded
            found = effects(connection, step)
            wrong = [what for what, present in found.items() if present != applied]
            state = "recorded" if applied else "not recorded"
            assert not wrong, f"{step.name} is {state} but these do not match: {wrong} (all: {found})"
        assert user_dump(connection) == states[len(recorded)], f"the database is not the state after {len(recorded)}"
    return len(recorded)


# --- looking at the entities folder --------------------------------------------------------------


def entity_files(folder: Path) -> dict[str, bytes]:
    """Every module kitgen could import: ``*.py`` not starting with a dot."""
    return {
        path.name: path.read_bytes()
        for path in sorted(folder.iterdir())
        if path.suffix == ".py" and not path.name.startswith(".") and path.is_file()
    }


def temporary_files(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir() if path.name.startswith(".")}


def check_entities(folder: Path, old: dict[str, bytes], new: dict[str, bytes]) -> Counter[str]:
    """Each file is exactly its old or its new version (or absent where that is one of them), never partial.

    Also: every file parses, generated ones keep an intact header whose body hash matches, the exports
    import only modules that exist, and hidden files are only kitgen's temporary files. Returns how many
    files are in their old version and how many in their new one.
    """
    present = entity_files(folder)
    versions: Counter[str] = Counter()
    for name in sorted(set(present) | set(old) | set(new)):
        actual = present.get(name)
        allowed = {old.get(name), new.get(name)}
        assert actual in allowed, f"{folder / name} is neither its old nor its new version:\n{actual!r}"
        versions["old" if actual == old.get(name) else "new"] += 1
    for name, data in present.items():
        text = data.decode("utf-8")
        compile(text, str(folder / name), "exec")  # parses
        assert text.endswith("\n"), f"{name} is truncated"
        if name != "__init__.py":
            header = headers.parse(text)
            assert header is not None and header.body_hash is not None, f"{name} has no intact kitgen header"
            assert not headers.is_edited(text), f"{name}: its body does not match the hash in its header"
    exports = present.get("__init__.py", b"").decode("utf-8")
    for node in ast.parse(exports).body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            assert f"{node.module}.py" in present, f"__init__.py imports {node.module}, which does not exist"
    for name in temporary_files(folder):  # what a killed atomic write leaves: ".<module>.py.<random>.tmp"
        assert name.endswith(".tmp") and ".py." in name, f"unexpected hidden file {name} in {folder}"
    return versions


# --- running and killing -------------------------------------------------------------------------


def start(root: Path) -> subprocess.Popen[str]:
    environ = {key: value for key, value in os.environ.items() if not key.startswith("KITGEN_")}
    environ["NO_COLOR"] = "1"
    return subprocess.Popen(
        [KITGEN, "migrate"],
        cwd=root,
        env=environ,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    try:
        stdout, stderr = process.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        pytest.fail(f"kitgen migrate did not finish in {RUN_TIMEOUT} s:\n{stdout}\n{stderr}")
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def assert_succeeded(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"kitgen migrate exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr and "Error" not in result.stderr, result.stderr


def listing(folder: Path) -> dict[str, int]:
    with os.scandir(folder) as entries:
        return {entry.name: entry.inode() for entry in entries}


@contextlib.contextmanager
def reaped(processes: list[subprocess.Popen[str]]) -> Iterator[None]:
    """Whatever happens, no started process outlives the test."""
    try:
        yield
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            with contextlib.suppress(Exception):
                process.communicate(timeout=10)


@dataclass(frozen=True)
class Timing:
    """Moments of an unkilled run from an empty database, in seconds after it started."""

    database: float  # the database file appears: the lock is held, migrating starts
    migrated: float  # the last change to the database file
    writing: float  # the first change in the entities folder
    written: float  # the last change in the entities folder
    end: float

    def __str__(self) -> str:
        ms = [round(1000 * moment) for moment in (self.database, self.migrated, self.writing, self.written, self.end)]
        return f"database {ms[0]} ms, migrated {ms[1]} ms, writing {ms[2]}-{ms[3]} ms, end {ms[4]} ms"


def migrate_measuring(project: Project) -> Timing:
    """Run ``kitgen migrate`` to completion, watching the database file and the entities folder."""
    entities = listing(project.entities)
    process = start(project.root)
    started = time.monotonic()
    database = migrated = writing = written = None
    last = None
    with reaped([process]):
        while process.poll() is None:
            now = time.monotonic() - started
            with contextlib.suppress(FileNotFoundError):
                stat = project.database.stat()
                if database is None:
                    database = now
                if (stat.st_size, stat.st_mtime_ns) != last:
                    migrated, last = now, (stat.st_size, stat.st_mtime_ns)
            if (current := listing(project.entities)) != entities:
                writing = now if writing is None else writing
                written, entities = now, current
            time.sleep(0.0002)
        end = time.monotonic() - started
        assert_succeeded(finish(process))
    moments = (database, migrated, writing, written)
    assert database is not None and migrated is not None and writing is not None and written is not None, moments
    return Timing(database, migrated, writing, written, end)


@dataclass
class Reference:
    """A project migrated once, never killed: what every run must end up with."""

    dump: list[str]
    files: dict[str, bytes]
    timing: Timing
    states: list[list[str]] = field(default_factory=replayed_states)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    project = Project(tmp_path_factory.mktemp("reference") / "project")
    write_migrations(project)
    timing = migrate_measuring(project)
    assert [name for name, _ in project.applied()] == NAMES
    assert not temporary_files(project.entities)
    assert not project.database.with_name(project.database.name + ".lock").exists()
    return Reference(comparable_dump(project.database), entity_files(project.entities), timing)


def assert_same_as_reference(project: Project, reference: Reference) -> None:
    assert check_database(project.database, reference.states) == COUNT
    assert comparable_dump(project.database) == reference.dump, "the database differs from an unkilled run's"
    files = entity_files(project.entities)
    assert sorted(files) == sorted(reference.files), "the entity modules differ from an unkilled run's"
    for name, data in files.items():
        assert data == reference.files[name], f"{name} differs from an unkilled run's"


def companions(database: Path) -> list[Path]:
    return [database.with_name(database.name + suffix) for suffix in ("", "-journal", "-wal", "-shm", ".lock")]


@dataclass(frozen=True)
class Start:
    """A state a series of kills starts from: database bytes and entity files."""

    label: str
    database: bytes | None
    files: dict[str, bytes]

    def restore(self, project: Project) -> None:
        for path in companions(project.database):
            path.unlink(missing_ok=True)
        if self.database is not None:
            project.database.write_bytes(self.database)
        for name in entity_files(project.entities):
            (project.entities / name).unlink()
        for name, data in self.files.items():
            (project.entities / name).write_bytes(data)
        # leftover temporary files of killed runs stay: kitgen must keep ignoring them


def base_start(tmp_path: Path) -> Start:
    """The first BASE migrations applied by an unkilled run, with their entities."""
    project = Project(tmp_path / "base")
    write_migrations(project, STEPS[:BASE])
    assert_succeeded(project.run("migrate"))
    return Start("base", project.database.read_bytes(), entity_files(project.entities))


@contextlib.contextmanager
def explained(where: str) -> Iterator[None]:
    """Prefix a failed assertion with where it happened and how to replay the run."""
    try:
        yield
    except AssertionError as exc:
        replay = f"KITGEN_KILL_SEED={SEED} KITGEN_KILL_RUNS={KILL_RUNS}"
        raise AssertionError(f"{where} ({replay}): {exc}") from exc


@dataclass
class Tally:
    """Where kills landed, judged from what they left behind."""

    kills: int = 0
    completed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    modes: Counter[str] = field(default_factory=Counter)
    seconds: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        spent = ", ".join(f"{what} {seconds:.1f} s" for what, seconds in self.seconds.items())
        return (
            f"{self.kills} kills by mode {dict(self.modes)}, {self.completed} runs finished before their kill; "
            f"kills left: {dict(self.outcomes)}; time: {spent}"
        )


def kill_delay(rng: random.Random, timing: Timing, pending: int) -> tuple[str, float]:
    """A kill mode and its delay: very early, while migrating, anywhere, or while writing entities.

    "migrating" aims at the part of the run that applies the ``pending`` migrations (measured for
    all of them); "writing" counts from the first change kitgen makes in the entities folder.
    """
    mode = rng.choices(["early", "migrating", "anywhere", "writing"], weights=[20, 50, 12, 18])[0]
    if mode == "early":
        return mode, rng.uniform(0, timing.database)
    if mode == "migrating":
        return mode, rng.uniform(
            timing.database, timing.database + (timing.migrated - timing.database) * pending / COUNT
        )
    if mode == "anywhere":
        return mode, rng.uniform(0, timing.end * 1.05)
    return mode, rng.uniform(0, (timing.written - timing.writing) * 1.2 + 0.001)


def run_and_kill(project: Project, mode: str, delay: float) -> subprocess.CompletedProcess[str]:
    """Start ``kitgen migrate`` and SIGKILL it after ``delay`` (for "writing", counted from its first write)."""
    before = listing(project.entities)
    process = start(project.root)
    with reaped([process]):
        if mode == "writing":
            deadline = time.monotonic() + RUN_TIMEOUT
            while process.poll() is None and listing(project.entities) == before and time.monotonic() < deadline:
                time.sleep(0.0002)
        time.sleep(delay)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        return finish(process)


@pytest.mark.slow
def test_sigkill_at_random_moments_never_half_applies_nor_corrupts(
    project: Project, reference: Reference, tmp_path: Path
) -> None:
    write_migrations(project)
    rng = random.Random(SEED)
    starts = [base_start(tmp_path), Start("empty", None, {"__init__.py": INITIAL_EXPORTS})]
    tally = Tally()
    temporaries: set[str] = set()  # leftovers of killed atomic writes, now
    left_behind: set[str] = set()  # every one ever seen
    cycle = 0
    while tally.kills < KILL_RUNS:
        begin = starts[cycle % len(starts)]
        cycle += 1
        begin.restore(project)
        applied = check_database(project.database, reference.states)
        for _ in range(rng.randint(6, 14)):
            if tally.kills >= KILL_RUNS:
                break
            mode, delay = kill_delay(rng, reference.timing, COUNT - applied)
            clock = time.monotonic()
            files_before = entity_files(project.entities)
            result = run_and_kill(project, mode, delay)
            where = f"{begin.label} start, cycle {cycle}, kill {tally.kills + 1}, {mode} after {delay * 1000:.1f} ms"
            if result.returncode != -signal.SIGKILL:  # it finished before the kill
                tally.seconds["runs finished"] += time.monotonic() - clock
                with explained(f"a run not killed in time ({where})"):
                    assert_succeeded(result)
                    assert_same_as_reference(project, reference)
                tally.completed += 1
                break
            tally.seconds["runs killed"] += time.monotonic() - clock
            clock = time.monotonic()
            tally.kills += 1
            tally.modes[mode] += 1
            journal = project.database.with_name(project.database.name + "-journal")
            if journal.exists() and journal.stat().st_size > 0:
                tally.outcomes["inside a transaction"] += 1
            with explained(f"after a SIGKILL ({where})"):
                now = check_database(project.database, reference.states)
                versions = check_entities(project.entities, begin.files, reference.files)
            leftovers = temporary_files(project.entities)
            if leftovers - temporaries:
                tally.outcomes["temporary file left"] += 1
            temporaries = leftovers
            left_behind |= leftovers
            if now != applied:
                tally.outcomes["some migrations applied" if now < COUNT else "the last migrations applied"] += 1
            if versions["old"] and versions["new"] and entity_files(project.entities) != files_before:
                tally.outcomes["entities half written"] += 1
            applied = now
            tally.seconds["checks"] += time.monotonic() - clock
        # A following run completes and leaves what a run that was never killed leaves.
        clock = time.monotonic()
        with explained(f"the run following the kills of cycle {cycle} ({begin.label} start)"):
            assert_succeeded(finish(start(project.root)))
            assert_same_as_reference(project, reference)
            check_entities(project.entities, reference.files, reference.files)
        temporaries = temporary_files(project.entities)
        tally.seconds["following runs"] += time.monotonic() - clock
    print(tally.summary(), reference.timing)
    if KILL_RUNS >= 50:  # the kills must reach the moments that matter, or this test proves little
        assert tally.outcomes["inside a transaction"] >= 1, tally.summary()
        assert tally.outcomes["some migrations applied"] >= 1, tally.summary()
        assert tally.outcomes["entities half written"] + tally.outcomes["temporary file left"] >= 1, tally.summary()
    remaining = temporary_files(project.entities)
    assert not (left_behind & remaining), (
        f"{len(left_behind & remaining)} of the {len(left_behind)} temporary files that killed runs left in "
        f"{project.entities} are still there after every later run: {sorted(left_behind & remaining)[:3]}…"
    )


@pytest.mark.parametrize("round_", [1, 2, 3])
def test_concurrent_migrators_with_two_killed_apply_everything_once(
    project: Project, reference: Reference, round_: int
) -> None:
    """8 processes migrate a new database; the lock holder is killed while migrating, and one more at random."""
    write_migrations(project)
    rng = random.Random(SEED + round_)
    timing = reference.timing
    lock = project.database.with_name(project.database.name + ".lock")
    holder_delay = rng.uniform(0, timing.migrated - timing.database)  # after the database appears
    other_at, other_pick = rng.uniform(0, timing.end * 1.5), rng.random()  # after the start
    processes = [start(project.root) for _ in range(8)]
    started = time.monotonic()
    killed: dict[int, str] = {}
    holder_at: float | None = None
    with reaped(processes):
        while any(process.poll() is None for process in processes) and len(killed) < 2:
            now = time.monotonic() - started
            running = [index for index, process in enumerate(processes) if process.poll() is None]
            if holder_at is None and project.database.exists():
                holder_at = now + holder_delay
            if holder_at is not None and now >= holder_at and "lock holder" not in killed.values():
                victim = lock_holder(lock, processes, running)
                if victim is not None:
                    processes[victim].send_signal(signal.SIGKILL)
                    killed[victim] = "lock holder"
            if now >= other_at and "any" not in killed.values():
                candidates = [index for index in running if index not in killed]
                if candidates:
                    victim = candidates[int(other_pick * len(candidates))]
                    processes[victim].send_signal(signal.SIGKILL)
                    killed[victim] = "any"
            time.sleep(0.0005)
        results = [finish(process) for process in processes]
    batches = Counter(batch for _, batch in project.applied()) if project.database.exists() else Counter()
    print(f"round {round_}: killed {killed}, exit codes {[r.returncode for r in results]}, batches {dict(batches)}")
    printed: list[str] = []
    for index, result in enumerate(results):
        if index in killed and result.returncode == -signal.SIGKILL:
            continue
        assert_succeeded(result)  # README: they all exit 0
        printed += [line.split()[1] for line in result.stdout.splitlines() if line.startswith("Applying 2026")]
    assert len(printed) == len(set(printed)), f"a migration was applied by two processes: {sorted(printed)}"
    check_database(project.database, reference.states)
    check_entities(project.entities, {"__init__.py": INITIAL_EXPORTS}, reference.files)

    assert_succeeded(project.run("migrate"))
    assert [name for name, _ in project.applied()] == NAMES  # each exactly once, in order
    with contextlib.closing(project.connect()) as connection:
        markers = connection.execute("SELECT migration, count(*) FROM log GROUP BY migration ORDER BY migration")
        assert markers.fetchall() == [(name, 1) for name in NAMES]
    assert_same_as_reference(project, reference)
    check_entities(project.entities, reference.files, reference.files)
    assert not lock.exists(), "the lock file outlived the last run"


def lock_holder(lock: Path, processes: list[subprocess.Popen[str]], running: list[int]) -> int | None:
    """Which of the running processes the lock file names as its holder, if any."""
    try:
        pid = json.loads(lock.read_text(encoding="utf-8"))["pid"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return next((index for index in running if processes[index].pid == pid), None)


# --- PostgreSQL: the same migrations, killed at random moments --------------------------------------


@pytest.mark.slow
def test_sigkill_at_random_moments_on_postgresql_never_half_applies(project: Project, pg_url: str) -> None:
    """Every recorded migration is there in full and no other one is there at all, whenever kitgen dies;
    the killed session's lock and transaction go with it, so the next run goes on."""
    engine = engines.Engine("postgresql", pg_url)
    engines.configure(project.root, engine)
    (project.root / "pyproject.toml").write_text(
        (project.root / "pyproject.toml").read_text() + "generate = false\n", encoding="utf-8"
    )
    for step in STEPS:
        (project.migrations / step.filename).write_text(step.text(engine.key, "%s"), encoding="utf-8")
    rng = random.Random(SEED)
    kills, completed, seen = 0, 0, Counter[str]()
    while kills < max(12, KILL_RUNS // 5):
        process = start(project.root)
        time.sleep(rng.uniform(0.2, 2.5))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        result = finish(process)
        now = pg_recorded(engine)
        if result.returncode == 0:
            assert now == NAMES
            completed += 1
            engine.query("DROP SCHEMA public CASCADE; CREATE SCHEMA public")  # start again from empty
            continue
        seen["none" if not now else "all" if len(now) == COUNT else "some"] += 1
    assert_succeeded(finish(start(project.root)))
    assert pg_recorded(engine) == NAMES
    assert engine.query("SELECT migration, count(*) FROM log GROUP BY migration ORDER BY migration") == [
        (name, 1) for name in NAMES
    ]
    print(f"PostgreSQL: {kills} kills, {completed} runs completed, states after a kill: {dict(seen)}")
    assert seen["some"] >= 1, seen  # kills landed between migrations, not only before or after them


def pg_recorded(engine: engines.Engine) -> list[str]:
    """The recorded migrations, each checked to be there in full, and every other one not at all."""
    tables = set(engine.tables())
    recorded = [name for name, _ in engine.applied()]
    assert len(set(recorded)) == len(recorded), recorded
    assert recorded == NAMES[: len(recorded)], recorded

    def columns(table: str) -> list[str]:
        rows = engine.query("SELECT column_name::text FROM information_schema.columns WHERE table_name = %s", (table,))
        return [str(row[0]) for row in rows]

    for step in STEPS:
        found = effects_seen(engine.query, tables, columns, step)
        applied = step.name in recorded
        wrong = [what for what, present in found.items() if present != applied]
        assert not wrong, f"{step.name} is {'recorded' if applied else 'not recorded'} but not these: {wrong}"
    return recorded
