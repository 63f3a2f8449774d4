"""Ctrl-C and SIGTERM during the commands that change the database, with real processes and signals.

Each test starts the installed ``kitgen`` with ``subprocess.Popen``, reads its output as it comes,
waits until the migration to stop is visibly running (its ``Applying …`` line, then a marker file
it writes, or the CPU time a long statement burns), sends the signal with ``os.kill`` and then looks
at the exit code, the output, the SQLite file and the entities folder. A slow migration waits while
a "hold" file exists, so a test decides when it may go on instead of sleeping.
"""

from __future__ import annotations

import os
import re
import select
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import KITGEN, Project, assert_one_error

from kitgen import cli, interrupts
from kitgen.driver.filelock import exclusive_lock
from kitgen.driver.sqlite import SQLiteDriver
from kitgen.interrupts import Interrupted
from kitgen.output import LiveProgress

AUTHORS = "2026_01_01_000001_create_authors_table"
SLOW = "2026_01_01_000002_slow"
TAGS = "2026_01_01_000003_create_tags_table"
AGAIN = "what completed before it stays (listed above); run the command again to go on"
DONE = r" … done \(batch (\d+), \d+ ms\)"
NO_ENTITIES = {"KITGEN_GENERATE": "false"}  # runs that only prepare or re-check the database: faster
LONG = 60  # seconds to wait for output or an exit: far beyond what any of them needs, even on a loaded machine

# Over an hour at millions of rows a second: only SQLite's own interrupt ends it in a test's time.
ENDLESS_INSERT = (
    "INSERT INTO {table} (n) WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10000000000) "
    "SELECT n FROM r WHERE n % 1000000 = 0;"
)


# --- helpers -------------------------------------------------------------------------------


class Running:
    """A ``kitgen`` process whose stdout and stderr are read as they come, by one thread each."""

    def __init__(self, project: Project, *args: str) -> None:
        environ = {key: value for key, value in os.environ.items() if not key.startswith("KITGEN_")}
        environ["NO_COLOR"] = "1"
        self.process = subprocess.Popen(
            [KITGEN, *args],
            cwd=project.root,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.received = {"stdout": bytearray(), "stderr": bytearray()}
        self.closed: set[str] = set()
        self.changed = threading.Condition()
        self.readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, "stdout"), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, "stderr"), daemon=True),
        ]
        for reader in self.readers:
            reader.start()

    def _read(self, stream: object, key: str) -> None:
        fd = stream.fileno()  # type: ignore[attr-defined]
        while chunk := os.read(fd, 4096):
            with self.changed:
                self.received[key] += chunk
                self.changed.notify_all()
        with self.changed:
            self.closed.add(key)
            self.changed.notify_all()

    def text(self, key: str) -> str:
        with self.changed:
            return self.received[key].decode("utf-8", "replace")

    def wait_for_output(self, key: str, fragment: str) -> None:
        """Until ``fragment`` is on ``key`` (stdout or stderr); fails if the process ends without it."""
        with self.changed:
            found = self.changed.wait_for(
                lambda: fragment.encode() in self.received[key] or key in self.closed, timeout=LONG
            )
            seen = fragment.encode() in self.received[key]
        if not (found and seen):
            self.process.kill()
            pytest.fail(f"no {fragment!r} on {key}:\n{self.text('stdout')}\n{self.text('stderr')}")

    def send(self, signum: int) -> None:
        assert self.process.poll() is None, (self.text("stdout"), self.text("stderr"))
        os.kill(self.process.pid, signum)

    def finish(self) -> subprocess.CompletedProcess[str]:
        try:
            self.process.wait(timeout=LONG)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"kitgen did not end within {LONG} s:\n{self.text('stdout')}\n{self.text('stderr')}")
        for reader in self.readers:
            reader.join(timeout=LONG)
        return subprocess.CompletedProcess(self.process.args, self.process.returncode, *map(self.text, self.received))


@pytest.fixture
def running() -> Iterator[Callable[..., Running]]:
    """Start ``kitgen`` processes; any still running when the test ends are killed."""
    started: list[Running] = []

    def start(project: Project, *args: str) -> Running:
        started.append(Running(project, *args))
        return started[-1]

    yield start
    for item in started:
        if item.process.poll() is None:
            item.process.kill()
        item.process.wait()


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + LONG
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {LONG} s waiting for {what}")
        time.sleep(0.01)


def cpu_seconds(pid: int) -> float:
    """User and system time the process has used so far (Linux: /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def busy_for(process: Running, seconds: float) -> None:
    """Until the process has spent ``seconds`` more of CPU: then it is inside a statement that burns it."""
    if not Path(f"/proc/{process.process.pid}/stat").exists():
        pytest.skip("needs /proc to tell when a statement is running")
    start = cpu_seconds(process.process.pid)
    wait_until(lambda: cpu_seconds(process.process.pid) - start >= seconds, f"{seconds} s of CPU in a statement")


class Slow:
    """Files of a migration that waits: ``started`` once it changed something, and it waits while ``hold`` exists."""

    def __init__(self, project: Project) -> None:
        self.started = project.root / "started.marker"
        self.hold = project.root / "hold.marker"

    def code(self, changes: str) -> str:
        return f"""
            import time
            from pathlib import Path

            {changes}
            unfinished = db.execute("SELECT 1 UNION ALL SELECT 2")  # a cursor left open while it waits
            unfinished.fetchone()
            Path({str(self.started)!r}).write_text("started", encoding="utf-8")
            deadline = time.monotonic() + {LONG}
            while Path({str(self.hold)!r}).exists() and time.monotonic() < deadline:
                time.sleep(0.02)
        """

    def wait_until_started(self) -> None:
        wait_until(self.started.exists, "the slow migration to start")


BOOKS_UP = (
    'db.execute("CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT NOT NULL)")\n'
    "            db.execute(\"INSERT INTO authors (name) VALUES ('partial')\")"
)


def three_migrations(project: Project, slow: Slow, *, slow_down: bool = False) -> None:
    """Authors, then one that creates books slowly (its up, or its down), then tags."""
    project.create_table(AUTHORS, "authors", "id INTEGER PRIMARY KEY, name TEXT NOT NULL")
    if slow_down:
        project.python(SLOW, BOOKS_UP.replace("            ", ""), down=slow.code('db.execute("DROP TABLE books")'))
    else:
        project.python(SLOW, slow.code(BOOKS_UP), down='db.execute("DROP TABLE books")')
    project.create_table(TAGS, "tags")


def progress_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith(("Applying ", "Rolling back "))]


def entity_files(project: Project) -> set[str]:
    return {path.name for path in project.entities.glob("*.py")} - {"__init__.py", "_kitgen.py"}


def assert_interrupted(result: subprocess.CompletedProcess[str], signum: int, what: str) -> None:
    """Exit 128 + the signal, one line on stderr saying what happened, and no traceback."""
    assert result.returncode == 128 + signum, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.splitlines() == [what], result.stderr


def rows(project: Project, query: str) -> list[tuple[object, ...]]:
    with project.connect() as connection:
        return connection.execute(query).fetchall()


# --- migrate -------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_migrate_rolls_back_only_the_migration_in_flight(
    project: Project, running: Callable[..., Running], signum: int
) -> None:
    slow = Slow(project)
    three_migrations(project, slow)
    slow.hold.touch()

    process = running(project, "migrate")
    process.wait_for_output("stdout", f"Applying {SLOW} …")
    slow.wait_until_started()  # books created, a row inserted: now undo it
    process.send(signum)
    result = process.finish()

    assert_interrupted(result, signum, f"Interrupted during {SLOW}: rolled back — {AGAIN}")
    lines = progress_lines(result.stdout)
    assert len(lines) == 2, result.stdout
    assert re.fullmatch(f"Applying {AUTHORS}{DONE}", lines[0]), lines
    assert lines[1] == f"Applying {SLOW} … interrupted: rolled back"
    assert "Wrote app/entities/author.py" in result.stdout.splitlines()
    assert project.applied() == [(AUTHORS, 1)]
    assert project.tables() == ["authors", "kitgen_migrations"]
    assert rows(project, "SELECT * FROM authors") == []
    assert entity_files(project) == {"author.py"}

    slow.hold.unlink()
    again = project.run("migrate")

    assert again.returncode == 0, again.stderr
    assert [re.fullmatch(f"Applying (\\w+){DONE}", line).groups() for line in progress_lines(again.stdout)] == [  # type: ignore[union-attr]
        (SLOW, "2"),
        (TAGS, "2"),
    ]
    assert project.applied() == [(AUTHORS, 1), (SLOW, 2), (TAGS, 2)]
    assert rows(project, "SELECT name FROM authors") == [("partial",)]
    assert entity_files(project) == {"author.py", "book.py", "tag.py"}


def test_a_long_statement_is_stopped_inside_sqlite(project: Project, running: Callable[..., Running]) -> None:
    project.create_table(AUTHORS, "authors", "id INTEGER PRIMARY KEY, name TEXT NOT NULL")
    project.sql(
        SLOW,
        "INSERT INTO authors (name) VALUES ('partial');\nCREATE TABLE numbers (n INTEGER NOT NULL);\n"
        + ENDLESS_INSERT.format(table="numbers"),
        "DROP TABLE numbers;",
    )

    process = running(project, "migrate")
    process.wait_for_output("stdout", f"Applying {SLOW} …")
    busy_for(process, 0.5)  # the statement runs, holding Python out until it returns
    process.send(signal.SIGINT)
    result = process.finish()  # long before the statement's hour

    assert_interrupted(result, signal.SIGINT, f"Interrupted during {SLOW}: rolled back — {AGAIN}")
    assert progress_lines(result.stdout)[-1] == f"Applying {SLOW} … interrupted: rolled back"
    assert project.applied() == [(AUTHORS, 1)]
    assert project.tables() == ["authors", "kitgen_migrations"]
    assert rows(project, "SELECT * FROM authors") == []
    assert entity_files(project) == {"author.py"}


def test_a_migration_without_a_transaction_says_which_statements_ran(
    project: Project, running: Callable[..., Running]
) -> None:
    project.create_table(AUTHORS, "authors", "id INTEGER PRIMARY KEY, name TEXT NOT NULL")
    ran = "CREATE TABLE notes (n INTEGER PRIMARY KEY);\nINSERT INTO notes (n) VALUES (1);\n"
    project.write(f"{SLOW}.sql", "-- migrate:up transaction:false\n" + ran + ENDLESS_INSERT.format(table="notes"))
    project.create_table(TAGS, "tags")

    process = running(project, "migrate")
    process.wait_for_output("stdout", f"Applying {SLOW} …")
    busy_for(process, 0.5)
    process.send(signal.SIGINT)
    result = process.finish()

    assert_interrupted(
        result,
        signal.SIGINT,
        f"Interrupted during {SLOW}, which runs without a transaction: 2 statements ran: "
        "CREATE TABLE notes (n INTEGER PRIMARY KEY); INSERT INTO notes (n) VALUES (1) — it is not recorded as "
        "applied: either undo what ran by hand and run the command again, or finish it by hand and record it with "
        f"kitgen migrate:resolve {SLOW} --applied (running it again would repeat what ran)",
    )
    assert progress_lines(result.stdout)[-1] == f"Applying {SLOW} … interrupted: partly run"
    assert project.applied() == [(AUTHORS, 1)]
    assert rows(project, "SELECT n FROM notes") == [(1,)]  # what ran stays; the stopped statement's rows do not

    with project.connect() as connection:  # undone by hand, and the migration made to end
        connection.execute("DROP TABLE notes")
    project.write(f"{SLOW}.sql", "-- migrate:up transaction:false\n" + ran)
    again = project.run("migrate", env=NO_ENTITIES)

    assert again.returncode == 0, again.stderr
    assert project.applied() == [(AUTHORS, 1), (SLOW, 2), (TAGS, 2)]


def test_a_failing_migration_without_a_transaction_says_which_statements_ran(project: Project) -> None:
    project.write(
        f"{SLOW}.sql",
        "-- migrate:up transaction:false\nCREATE TABLE notes (n INTEGER PRIMARY KEY);\n"
        "INSERT INTO notes (n) VALUES (1);\nINSERT INTO missing (n) VALUES (2);\n",
    )

    result = project.run("migrate")

    assert_one_error(
        result,
        "2 statements ran: CREATE TABLE notes (n INTEGER PRIMARY KEY); INSERT INTO notes (n) VALUES (1)",
        "no such table: missing",
    )
    assert progress_lines(result.stdout) == [f"Applying {SLOW} … failed"]
    assert rows(project, "SELECT n FROM notes") == [(1,)]
    assert rows(project, "SELECT name FROM kitgen_migrations") == []


def test_a_signal_while_waiting_for_the_lock_changes_nothing(project: Project, running: Callable[..., Running]) -> None:
    project.create_table(AUTHORS, "authors", "id INTEGER PRIMARY KEY, name TEXT NOT NULL")
    assert project.run("migrate", env=NO_ENTITIES).returncode == 0
    project.create_table(TAGS, "tags")
    before, entities = project.snapshot(), entity_files(project)
    lock = project.database.with_name(project.database.name + ".lock")

    with exclusive_lock(lock, command="kitgen migrate", timeout=0, on_wait=lambda holder: None):
        process = running(project, "migrate")
        process.wait_for_output("stderr", "Waiting for the migration lock")
        process.send(signal.SIGINT)
        result = process.finish()

    assert result.returncode == 130, (result.stdout, result.stderr)
    assert result.stderr.splitlines()[1:] == [
        "Interrupted while no migration was running — the migrations shown done above stay; "
        "kitgen migrate:status shows where the database is"
    ]
    assert progress_lines(result.stdout) == []
    assert project.snapshot() == before
    assert entity_files(project) == entities


# --- rollback, refresh, fresh ----------------------------------------------------------------


@pytest.mark.parametrize("command", ["migrate:rollback", "migrate:reset"])
def test_a_signal_during_a_rollback_keeps_what_was_rolled_back_before(
    project: Project, running: Callable[..., Running], command: str
) -> None:
    slow = Slow(project)
    project.create_table(AUTHORS, "authors", "id INTEGER PRIMARY KEY, name TEXT NOT NULL")
    assert project.run("migrate", env=NO_ENTITIES).returncode == 0
    three_migrations(project, slow, slow_down=True)
    assert project.run("migrate", env=NO_ENTITIES).returncode == 0  # books and tags: batch 2
    slow.hold.touch()

    process = running(project, command, "--force")
    process.wait_for_output("stdout", f"Rolling back {SLOW} …")
    slow.wait_until_started()  # books dropped: now undo it
    process.send(signal.SIGINT)
    result = process.finish()

    assert_interrupted(result, signal.SIGINT, f"Interrupted during {SLOW}: rolled back — {AGAIN}")
    lines = progress_lines(result.stdout)
    assert len(lines) == 2, result.stdout
    assert re.fullmatch(f"Rolling back {TAGS}{DONE}", lines[0]).group(1) == "2"  # type: ignore[union-attr]
    assert lines[1] == f"Rolling back {SLOW} … interrupted: rolled back"
    assert project.applied() == [(AUTHORS, 1), (SLOW, 2)]
    assert project.tables() == ["authors", "books", "kitgen_migrations"]
    assert entity_files(project) == {"author.py", "book.py"}

    slow.hold.unlink()
    again = project.run(command, "--force", env=NO_ENTITIES)

    assert again.returncode == 0, again.stderr
    rolled_back = [SLOW] if command == "migrate:rollback" else [SLOW, AUTHORS]
    assert [line.split(" … ")[0] for line in progress_lines(again.stdout)] == [
        f"Rolling back {name}" for name in rolled_back
    ]
    assert project.applied() == ([(AUTHORS, 1)] if command == "migrate:rollback" else [])


@pytest.mark.parametrize("command", ["migrate:refresh", "migrate:fresh"])
def test_a_signal_while_a_rebuild_applies_again_keeps_what_it_applied(
    project: Project, running: Callable[..., Running], command: str
) -> None:
    slow = Slow(project)
    three_migrations(project, slow)
    assert project.run("migrate", env=NO_ENTITIES).returncode == 0
    slow.started.unlink()
    slow.hold.touch()

    process = running(project, command, "--force")
    process.wait_for_output("stdout", f"Applying {SLOW} …")
    slow.wait_until_started()
    process.send(signal.SIGTERM)
    result = process.finish()

    assert_interrupted(result, signal.SIGTERM, f"Interrupted during {SLOW}: rolled back — {AGAIN}")
    lines = progress_lines(result.stdout)
    rolled_back = [f"Rolling back {name}" for name in (TAGS, SLOW, AUTHORS)] if command == "migrate:refresh" else []
    assert [line.split(" … ")[0] for line in lines] == [*rolled_back, f"Applying {AUTHORS}", f"Applying {SLOW}"]
    assert all(re.fullmatch(f".*{DONE}", line) for line in lines[:-1]), lines
    assert lines[-1] == f"Applying {SLOW} … interrupted: rolled back"
    assert project.applied() == [(AUTHORS, 1)]
    assert project.tables() == ["authors", "kitgen_migrations"]
    assert rows(project, "SELECT * FROM authors") == []
    assert entity_files(project) == {"author.py"}

    slow.hold.unlink()
    again = project.run("migrate", env=NO_ENTITIES)

    assert again.returncode == 0, again.stderr
    assert project.applied() == [(AUTHORS, 1), (SLOW, 2), (TAGS, 2)]


@pytest.mark.parametrize("command", ["migrate:refresh", "migrate:fresh"])
def test_a_rebuild_stopped_in_its_first_migration_leaves_the_entities_of_an_empty_database(
    project: Project, running: Callable[..., Running], command: str
) -> None:
    slow = Slow(project)
    project.python(
        AUTHORS,
        slow.code('db.execute("CREATE TABLE authors (id INTEGER PRIMARY KEY)")'),
        'db.execute("DROP TABLE authors")',
    )
    project.create_table(TAGS, "tags")
    assert project.run("migrate").returncode == 0
    assert entity_files(project) == {"author.py", "tag.py"}
    slow.started.unlink()
    slow.hold.touch()

    process = running(project, command, "--force")
    process.wait_for_output("stdout", f"Applying {AUTHORS} …")
    slow.wait_until_started()
    process.send(signal.SIGINT)
    result = process.finish()

    assert_interrupted(result, signal.SIGINT, f"Interrupted during {AUTHORS}: rolled back — {AGAIN}")
    assert project.applied() == []
    assert project.tables() == ["kitgen_migrations"]
    assert entity_files(project) == set()  # the tables are gone: so are their entities


# --- signals where no real one lands reliably: forced in the process ------------------------


def in_process(project: Project, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str):  # type: ignore[no-untyped-def]
    """``kitgen ARGS`` run by ``kitgen.cli.main`` in this process (so a test can force a signal's place)."""
    monkeypatch.chdir(project.root)
    monkeypatch.setenv("NO_COLOR", "1")
    with pytest.raises(SystemExit) as exited:
        cli.main(list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, exited.value.code, out, err)


def test_a_signal_just_after_a_commit_reports_that_migration_applied(
    project: Project, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    three_migrations(project, Slow(project))
    original = SQLiteDriver.transaction

    @contextmanager
    def then_interrupted(driver: SQLiteDriver, **options: bool) -> Iterator[object]:
        with original(driver, **options) as db:
            yield db
        if SLOW in {row.name for row in driver.applied_migrations()}:
            raise Interrupted(signal.SIGINT)  # as if the signal came right after SLOW's COMMIT

    monkeypatch.setattr(SQLiteDriver, "transaction", then_interrupted)

    result = in_process(project, monkeypatch, capsys, "migrate")

    assert_interrupted(result, signal.SIGINT, f"Interrupted after the last migration committed — {AGAIN}")
    assert [line.split(" … ")[0] for line in progress_lines(result.stdout)] == [
        f"Applying {AUTHORS}",
        f"Applying {SLOW}",
    ]
    assert all(re.fullmatch(f".*{DONE}", line) for line in progress_lines(result.stdout)), result.stdout
    assert project.applied() == [(AUTHORS, 1), (SLOW, 1)]
    assert entity_files(project) == {"author.py", "book.py"}


@pytest.mark.parametrize("report", ["started", "ended"])
def test_a_signal_while_a_line_is_written_is_still_one_migrations_interrupt(
    project: Project, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], report: str
) -> None:
    """Writing to a full pipe or a slow terminal blocks: the signal then lands in the write, not the migration."""
    three_migrations(project, Slow(project))
    original = LiveProgress._write
    signals = [signal.SIGTERM]

    def write(progress: LiveProgress, text: str) -> None:
        if report == "started" and text == f"Applying {SLOW} …" and signals:
            raise Interrupted(signals.pop())  # blocked before SLOW's line got out
        original(progress, text)
        if report == "ended" and "done" in text and progress.head == f"Applying {SLOW} …" and signals:
            raise Interrupted(signals.pop())  # just after SLOW's line was completed

    monkeypatch.setattr(LiveProgress, "_write", write)

    result = in_process(project, monkeypatch, capsys, "migrate")

    lines = progress_lines(result.stdout)
    assert re.fullmatch(f"Applying {AUTHORS}{DONE}", lines[0]), lines
    assert "Wrote app/entities/author.py" in result.stdout.splitlines()
    if report == "started":
        assert_interrupted(result, signal.SIGTERM, f"Interrupted during {SLOW}: rolled back — {AGAIN}")
        assert lines[1:] == [f"Applying {SLOW} … interrupted: rolled back"]
        assert project.applied() == [(AUTHORS, 1)]
        assert entity_files(project) == {"author.py"}
    else:
        assert_interrupted(result, signal.SIGTERM, f"Interrupted after the last migration committed — {AGAIN}")
        assert len(lines) == 2 and re.fullmatch(f"Applying {SLOW}{DONE}", lines[1]), lines
        assert project.applied() == [(AUTHORS, 1), (SLOW, 1)]
        assert entity_files(project) == {"author.py", "book.py"}


def test_the_statements_cleaning_up_after_a_signal_are_not_cancelled(tmp_path: Path) -> None:
    """Raised by the handler, the signal is Python's: the waker it also woke must leave the connection alone."""
    connection = sqlite3.connect(tmp_path / "x.sqlite", isolation_level=None, check_same_thread=False)
    unfinished = connection.execute("SELECT 1 UNION ALL SELECT 2")  # a cancel would reach later statements
    unfinished.fetchone()
    with interrupts.interruptible(), interrupts.stop_statements(connection.interrupt):
        with pytest.raises(Interrupted):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(LONG)  # the handler raises here
        for thread in threading.enumerate():
            if thread.name == "kitgen-interrupt":
                thread.join(LONG)  # the waker has decided
        assert connection.execute("SELECT 3").fetchone() == (3,)
    connection.close()


# --- progress ------------------------------------------------------------------------------


def test_piped_progress_is_one_plain_line_per_migration(project: Project) -> None:
    three_migrations(project, Slow(project))

    applied = project.run("migrate", env=NO_ENTITIES)
    rolled_back = project.run("migrate:rollback", "--force", env=NO_ENTITIES)

    assert applied.returncode == 0 and rolled_back.returncode == 0, (applied.stderr, rolled_back.stderr)
    for result in (applied, rolled_back):
        assert "\r" not in result.stdout and "\x1b" not in result.stdout
    assert [re.fullmatch(f"Applying (\\w+){DONE}", line).groups() for line in progress_lines(applied.stdout)] == [  # type: ignore[union-attr]
        (AUTHORS, "1"),
        (SLOW, "1"),
        (TAGS, "1"),
    ]
    assert progress_lines(applied.stdout) == applied.stdout.splitlines()[:3]
    assert [
        re.fullmatch(f"Rolling back (\\w+){DONE}", line).groups()  # type: ignore[union-attr]
        for line in progress_lines(rolled_back.stdout)
    ] == [(TAGS, "1"), (SLOW, "1"), (AUTHORS, "1")]


@pytest.mark.parametrize("colors", [True, False], ids=["colors", "NO_COLOR"])
def test_on_a_terminal_a_long_migration_shows_its_elapsed_time(project: Project, colors: bool) -> None:
    slow = Slow(project)
    three_migrations(project, slow)
    slow.hold.touch()
    environ = {key: value for key, value in os.environ.items() if not key.startswith(("KITGEN_", "NO_COLOR"))}
    environ.update(NO_ENTITIES if colors else {"NO_COLOR": "1", **NO_ENTITIES})
    erase = "\x1b[K" if colors else ""  # NO_COLOR: no escape at all, the redraw is a carriage return

    def plain(text: str) -> str:
        return re.sub(r"\x1b\[[\d;]*m", "", text)

    primary, secondary = os.openpty()
    try:
        process = subprocess.Popen(
            [KITGEN, "migrate"],
            cwd=project.root,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=secondary,
            stderr=subprocess.PIPE,
        )
    finally:
        os.close(secondary)
    try:
        shown = read_terminal(primary, lambda text: f"\r{erase}Applying {SLOW} … 2 s" in plain(text))
        slow.hold.unlink()  # two redraws seen: let it end
        shown += read_terminal(primary, lambda text: False)
        assert process.wait(timeout=LONG) == 0, process.stderr.read() if process.stderr else ""
    finally:
        os.close(primary)
        if process.poll() is None:
            process.kill()
        if process.stderr:
            process.stderr.close()

    if not colors:
        assert "\x1b" not in shown, repr(shown)
    shown = plain(shown)
    redrawn = re.escape(f"\r{erase}Applying ")
    assert re.findall(f"{redrawn}{SLOW} … (\\d+) s", shown)[:2] == ["1", "2"], repr(shown)
    assert re.search(f"{redrawn}{SLOW}{DONE}\r\n", shown), repr(shown)  # the line completed in place
    assert f"Applying {AUTHORS} … 1 s" not in shown  # a quick one shows no timer
    assert re.search(f"{redrawn}{TAGS}{DONE}\r\n", shown), repr(shown)


def read_terminal(primary: int, enough: Callable[[str], bool]) -> str:
    """What a program writes to its terminal, until ``enough`` of it or until it closes the terminal."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + LONG
    while not enough(b"".join(chunks).decode("utf-8", "replace")):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out; the terminal showed {b''.join(chunks)!r}")
        ready, _, _ = select.select([primary], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # EIO: the program closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def test_a_signal_while_the_schema_file_loads_leaves_nothing_of_it(
    project: Project, running: Callable[..., Running]
) -> None:
    from kitgen.migrations import dump

    project.create_table(AUTHORS, "authors", "id INTEGER PRIMARY KEY, name TEXT NOT NULL")
    assert project.run("migrate", env=NO_ENTITIES).returncode == 0
    assert project.run("schema:dump").returncode == 0
    path = project.root / "database" / "schema.sql"
    script, marker, rows_ = path.read_text().rsplit("-- kitgen: checksum", 1)[0].partition("-- kitgen: the")
    body = f"{script}CREATE TABLE numbers (n INTEGER NOT NULL);\n\n{ENDLESS_INSERT.format(table='numbers')}\n\n"
    body += marker + rows_  # a schema file that takes long to load, sealed as schema:dump seals one
    path.write_text(f"{body}-- kitgen: checksum {dump._checksum(body)}\n")
    project.database.unlink()

    process = running(project, "migrate")
    process.wait_for_output("stdout", "Loading schema.sql …")
    busy_for(process, 0.5)
    process.send(signal.SIGINT)
    result = process.finish()

    assert_interrupted(result, signal.SIGINT, f"Interrupted during schema.sql: rolled back — {AGAIN}")
    assert progress_lines(result.stdout) == []
    assert result.stdout.splitlines()[-1].endswith("interrupted: rolled back")
    tables = project.tables()
    assert tables in ([], ["kitgen_migrations"])  # nothing of the file, no tracking row
    if tables:
        assert project.applied() == []
