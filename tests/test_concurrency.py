"""Concurrency: several real ``kitgen`` processes on one project, and the lock file itself.

Everything here is real: processes started with ``subprocess.Popen``, files on disk,
SQLite databases, ``flock`` on the lock file beside the database.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import KITGEN, Project, assert_one_error

from kitgen import commands
from kitgen.driver.filelock import exclusive_lock, read_holder
from kitgen.errors import LockTimeout

WAITING = "Waiting for the migration lock"
FILE_NAME = re.compile(r"^\d{4}_\d{2}_\d{2}_\d{6}_[a-z][a-z0-9_]*\.py$")


# --- helpers -------------------------------------------------------------------------------


def start(project: Project, *args: str) -> subprocess.Popen[str]:
    """The installed script in the project folder, not waited on (like ``Project.run``)."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith("KITGEN_")}
    environ["NO_COLOR"] = "1"
    return subprocess.Popen(
        [KITGEN, *args],
        cwd=project.root,
        env=environ,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        pytest.fail(f"{process.args} did not finish in {timeout} s:\n{stdout}\n{stderr}")
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test started; any still running at the end are killed."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


def lock_path(project: Project) -> Path:
    return project.database.with_name(project.database.name + ".lock")


def query(project: Project, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    return project.engine.query(sql, params)


def user_tables(project: Project) -> list[str]:
    return project.engine.tables()


def assert_sound(project: Project) -> None:
    """SQLite: the file's integrity and no lock file left; PostgreSQL: no advisory lock left."""
    if project.engine.name == "sqlite":
        assert query(project, "PRAGMA integrity_check") == [("ok",)]
        assert not lock_path(project).exists()
    else:
        assert query(project, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == [(0,)]


def slow_migration(project: Project, name: str, marker: Path, seconds: float) -> Path:
    """A .py migration that creates a table, says it started (marker file), sleeps, then inserts.

    The environment variable SLOW_SECONDS, when set, replaces ``seconds``.
    """
    return project.python(
        name,
        up=f"""
            import os
            import pathlib
            import time

            db.execute("CREATE TABLE slow ({project.engine.key}, note TEXT)")
            pathlib.Path({str(marker)!r}).write_text("started")
            time.sleep(float(os.environ.get("SLOW_SECONDS", "{seconds}")))
            db.execute("INSERT INTO slow (note) VALUES ('done')")
        """,
        down='db.execute("DROP TABLE slow")',
    )


# --- 1. many migrate processes at once -----------------------------------------------------


def many_migrations(project: Project) -> tuple[list[str], dict[str, list[str]]]:
    """31 small migrations, .sql and .py, most inserting rows; returns names and expected rows."""
    names: list[str] = []
    expected: dict[str, list[str]] = {}

    def name(number: int, label: str) -> str:
        full = f"2026_01_01_{number:06d}_{label}"
        names.append(full)
        return full

    mark = project.engine.placeholder

    def log(migration: str, end: str = ";") -> str:
        return f"INSERT INTO run_log (migration) VALUES ('{migration}'){end}"

    first = name(0, "create_run_log_table")
    key = project.engine.key
    project.sql(first, f"CREATE TABLE run_log ({key}, migration TEXT NOT NULL);\n{log(first)}")
    for number in range(1, 11):  # create t1..t10
        table = f"t{number}"
        expected[table] = []
        label = name(number, f"create_{table}_table")
        if number % 2:
            project.python(
                label,
                up=f"""
                    db.execute("CREATE TABLE {table} ({key}, tag TEXT NOT NULL)")
                    db.execute("{log(label, end="")}")
                """,
                down=f'db.execute("DROP TABLE {table}")',
            )
        else:
            project.sql(label, f"CREATE TABLE {table} ({key}, tag TEXT NOT NULL);\n{log(label)}")
    for number in range(11, 21):  # three rows into each of t1..t10
        table = f"t{number - 10}"
        tags = [f"m{number}-{row}" for row in range(3)]
        expected[table] += tags
        label = name(number, f"fill_{table}")
        if number % 2:
            project.python(
                label,
                up=f"""
                    import time

                    db.executemany("INSERT INTO {table} (tag) VALUES ({mark})", [(tag,) for tag in {tags!r}])
                    db.execute("INSERT INTO run_log (migration) VALUES ({mark})", ({label!r},))
                    time.sleep({0.3 if number == 15 else 0})  # the others arrive while the run is half done
                """,
            )
        else:
            values = ", ".join(f"('{tag}')" for tag in tags)
            project.sql(label, f"INSERT INTO {table} (tag) VALUES {values};\n{log(label)}")
    for number in range(21, 31):  # a table and two rows in one migration: u21..u30
        table = f"u{number}"
        tags = [f"m{number}-a", f"m{number}-b"]
        expected[table] = tags
        label = name(number, f"create_{table}_with_rows")
        script = (
            f"CREATE TABLE {table} ({key}, tag TEXT NOT NULL);\n"
            f"INSERT INTO {table} (tag) VALUES ('{tags[0]}'), ('{tags[1]}');\n{log(label)}"
        )
        if number % 2:
            project.python(label, up=f"db.executescript({script!r})", down=f'db.execute("DROP TABLE {table}")')
        else:
            project.sql(label, script, f"DROP TABLE {table};")
    return names, expected


def test_eight_concurrent_migrates_apply_everything_exactly_once(
    engine_project: Project, processes: list[subprocess.Popen[str]]
) -> None:
    project = engine_project
    names, expected = many_migrations(project)
    assert user_tables(project) == []

    processes.extend(start(project, "migrate") for _ in range(8))  # all started before any is waited on
    results = [finish(process) for process in processes]

    for result in results:
        assert result.returncode == 0, (result.stdout, result.stderr)
        assert "Traceback" not in result.stderr and "Error" not in result.stderr, result.stderr
        assert all(line.startswith(WAITING) for line in result.stderr.splitlines()), result.stderr
    appliers = [result for result in results if "Applied" in result.stdout]
    assert len(appliers) == 1, [result.stdout for result in results]
    assert f"Applied {len(names)} migrations" in appliers[0].stdout
    for result in results:
        if result is not appliers[0]:
            assert result.stdout.strip() == "Nothing to migrate.", result.stdout

    recorded = query(project, "SELECT name, batch FROM kitgen_migrations ORDER BY id")
    assert recorded == [(migration, 1) for migration in names]
    assert user_tables(project) == sorted(["kitgen_migrations", "run_log", *expected])
    log = query(project, "SELECT migration FROM run_log ORDER BY id")
    assert [row[0] for row in log] == names
    for table, tags in expected.items():
        assert sorted(row[0] for row in query(project, f"SELECT tag FROM {table}")) == sorted(tags), table
    assert_sound(project)


# --- 2 and 3. a waiting process says who holds the lock, or gives up ----------------------


@pytest.fixture
def slow_project(engine_project: Project, tmp_path: Path) -> tuple[Project, Path]:
    """A project whose first pending migration sleeps 1.5 s inside its transaction."""
    project = engine_project
    marker = tmp_path / "slow-started"
    slow_migration(project, "2026_01_01_000001_slow", marker, 1.5)
    project.create_table("2026_01_01_000002_create_after_table", "after")
    return project, marker


def test_second_migrate_waits_and_names_the_holder(
    slow_project: tuple[Project, Path], processes: list[subprocess.Popen[str]]
) -> None:
    project, marker = slow_project
    first = start(project, "migrate")
    processes.append(first)
    wait_for(marker.exists, "the slow migration to start")
    second = start(project, "migrate")
    processes.append(second)

    first_result, second_result = finish(first), finish(second)

    assert first_result.returncode == 0, first_result.stderr
    assert second_result.returncode == 0, second_result.stderr
    assert WAITING in second_result.stderr
    waiting = [line for line in second_result.stderr.splitlines() if WAITING in line]
    assert len(waiting) == 1, second_result.stderr
    if project.engine.name == "sqlite":
        assert f"held by pid {first.pid} (kitgen migrate on " in waiting[0]
    else:  # the holder's session: pg_terminate_backend(pid) ends it
        assert "held by kitgen migrate (server pid " in waiting[0]
    assert "Applied 2 migrations" in first_result.stdout
    assert second_result.stdout.strip() == "Nothing to migrate."
    assert query(project, "SELECT name, batch FROM kitgen_migrations ORDER BY id") == [
        ("2026_01_01_000001_slow", 1),
        ("2026_01_01_000002_create_after_table", 1),
    ]
    assert query(project, "SELECT note FROM slow") == [("done",)]
    assert_sound(project)


def test_lock_timeout_is_one_error_naming_the_holder(
    slow_project: tuple[Project, Path], processes: list[subprocess.Popen[str]]
) -> None:
    project, marker = slow_project
    first = start(project, "migrate")
    processes.append(first)
    wait_for(marker.exists, "the slow migration to start")

    second = project.run("migrate", "--lock-timeout", "0.2")

    assert first.poll() is None, "the second process gave up only after the holder finished"
    holder = f"pid {first.pid}" if project.engine.name == "sqlite" else "kitgen migrate (server pid"
    assert_one_error(second, holder, "--lock-timeout", "0.2 s")
    assert second.stdout == ""
    first_result = finish(first)
    assert first_result.returncode == 0, first_result.stderr
    assert "Applied 2 migrations" in first_result.stdout
    assert query(project, "SELECT name, count(*) FROM kitgen_migrations GROUP BY name ORDER BY name") == [
        ("2026_01_01_000001_slow", 1),
        ("2026_01_01_000002_create_after_table", 1),
    ]
    assert_sound(project)


# --- 4. a killed holder ----------------------------------------------------------------------


def test_lock_left_by_a_killed_process_does_not_block_and_its_migration_is_rolled_back(
    engine_project: Project, tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    project = engine_project
    marker = tmp_path / "slow-started"
    project.create_table("2026_01_01_000001_create_before_table", "before")
    slow_migration(project, "2026_01_01_000002_slow", marker, 30)
    project.create_table("2026_01_01_000003_create_after_table", "after")
    killed = start(project, "migrate")
    processes.append(killed)
    wait_for(marker.exists, "the slow migration to start")

    killed.send_signal(signal.SIGKILL)
    assert killed.wait(timeout=10) == -signal.SIGKILL

    if project.engine.name == "sqlite":
        assert lock_path(project).exists(), "the killed process should have left its lock file behind"
        assert read_holder(lock_path(project)).startswith(f"pid {killed.pid} (kitgen migrate on ")
    assert user_tables(project) == ["before", "kitgen_migrations"]  # no half-applied "slow"
    assert query(project, "SELECT name FROM kitgen_migrations") == [("2026_01_01_000001_create_before_table",)]

    result = project.run("migrate", "--lock-timeout", "5", env={"SLOW_SECONDS": "0"})

    assert result.returncode == 0, result.stderr
    assert WAITING not in result.stderr
    assert "Applied 2 migrations" in result.stdout
    assert query(project, "SELECT name, batch FROM kitgen_migrations ORDER BY id") == [
        ("2026_01_01_000001_create_before_table", 1),
        ("2026_01_01_000002_slow", 2),
        ("2026_01_01_000003_create_after_table", 2),
    ]
    assert user_tables(project).count("slow") == 1
    assert query(project, "SELECT note FROM slow") == [("done",)]
    assert_sound(project)


# --- 5. make:migration at the same time ----------------------------------------------------


def test_concurrent_and_rapid_make_migration_give_unique_ordered_prefixes(
    project: Project, processes: list[subprocess.Popen[str]]
) -> None:
    concurrent = [f"create_c{number}_table" for number in range(10)]
    sequential = [f"create_s{number}_table" for number in range(20)]
    future = (datetime.now(UTC) + timedelta(seconds=20)).strftime("%Y_%m_%d_%H%M%S")
    project.create_table(f"{future}_create_early_table", "early")  # stamped ahead of the clock
    config = project.config()

    processes.extend(start(project, "make:migration", name) for name in concurrent)
    wait_for(lambda: len(os.listdir(project.migrations)) > 1, "the first make:migration process to create its file")
    made: list[Path] = []
    for name in sequential:  # in a tight loop, while the processes may still run
        latest_before = max(entry[:17] for entry in os.listdir(project.migrations) if not entry.startswith("."))
        made.append(commands.make_migration(config, name))
        assert made[-1].name[:17] > latest_before, (made[-1].name, latest_before)
    results = [finish(process) for process in processes]

    for result in results:
        assert result.returncode == 0, (result.stdout, result.stderr)
        assert result.stdout.startswith("Created database/migrations/"), result.stdout
    created = [result.stdout.strip().rsplit("/", 1)[-1] for result in results]
    generated = created + [path.name for path in made]
    files = sorted(os.listdir(project.migrations))
    assert files == sorted([*generated, f"{future}_create_early_table.sql"])  # no temporary files left
    for file in generated:
        assert FILE_NAME.match(file), file
    for name, file in zip(concurrent + sequential, generated, strict=True):
        assert file.endswith(f"_{name}.py"), (name, file)
    prefixes = [file[:17] for file in files]
    assert len(set(prefixes)) == len(prefixes) == 31, prefixes
    assert min(file[:17] for file in generated) > future
    made_prefixes = [path.name[:17] for path in made]
    assert made_prefixes == sorted(set(made_prefixes)), made_prefixes  # strictly increasing

    result = project.run("migrate")

    assert result.returncode == 0, result.stderr
    assert "Applied 31 migrations" in result.stdout
    assert query(project, "SELECT name FROM kitgen_migrations ORDER BY id") == [(Path(file).stem,) for file in files]
    expected = ["early"] + [f"c{number}" for number in range(10)] + [f"s{number}" for number in range(20)]
    assert user_tables(project) == sorted(["kitgen_migrations", *expected])


# --- 6. exclusive_lock in-process ---------------------------------------------------------


def try_lock(path: Path, timeout: float) -> tuple[BaseException | None, list[str], float]:
    """Acquire in a thread; return its error (or None), what on_wait heard, and the time taken."""
    outcome: list[BaseException | None] = [None]
    heard: list[str] = []

    def attempt() -> None:
        try:
            with exclusive_lock(path, command="thread", timeout=timeout, on_wait=heard.append):
                pass
        except BaseException as exc:
            outcome[0] = exc

    started = time.monotonic()
    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join(timeout=timeout + 10)
    assert not thread.is_alive()
    return outcome[0], heard, time.monotonic() - started


def test_exclusive_lock_records_the_holder_and_removes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite.lock"
    heard: list[str] = []

    with exclusive_lock(path, command="kitgen unit", timeout=1, on_wait=heard.append):
        holder = json.loads(path.read_text(encoding="utf-8"))
        phrase = read_holder(path)
        assert path.exists()

    assert holder["pid"] == os.getpid()
    assert holder["command"] == "kitgen unit"
    assert holder["host"] == socket.gethostname()
    assert re.match(rf"^pid {os.getpid()} \(kitgen unit on {re.escape(socket.gethostname())}, since \d{{4}}-", phrase)
    assert heard == []
    assert not path.exists()
    assert read_holder(path) == "another kitgen process"


def test_exclusive_lock_second_acquirer_times_out_while_held_then_succeeds(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite.lock"

    with exclusive_lock(path, command="kitgen holder", timeout=1, on_wait=lambda _: None):
        error, heard, elapsed = try_lock(path, 0.2)
        holder = read_holder(path)

    assert isinstance(error, LockTimeout), error
    assert f"pid {os.getpid()} (kitgen holder on " in str(error)
    assert "0.2 s" in str(error) and "--lock-timeout" in str(error)
    assert heard == [holder]
    assert 0.2 <= elapsed < 2, elapsed
    assert not path.exists()
    error, heard, _ = try_lock(path, 0.2)  # re-acquire after release
    assert error is None and heard == []
    assert not path.exists()


def test_exclusive_lock_times_out_in_another_process(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite.lock"
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from kitgen.driver.filelock import exclusive_lock
        from kitgen.errors import LockTimeout
        try:
            with exclusive_lock(Path({str(path)!r}), command="other", timeout=0.3, on_wait=print):
                sys.exit(0)
        except LockTimeout as exc:
            print("timeout:", exc)
            sys.exit(3)
        """
    )

    with exclusive_lock(path, command="kitgen holder", timeout=1, on_wait=lambda _: None):
        held = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    free = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)

    assert held.returncode == 3, (held.stdout, held.stderr)
    lines = held.stdout.splitlines()
    assert lines[0].startswith(f"pid {os.getpid()} (kitgen holder on ")  # on_wait
    assert lines[-1].startswith(f"timeout: pid {os.getpid()} (kitgen holder on ")
    assert free.returncode == 0, (free.stdout, free.stderr)
    assert not path.exists()


def test_exclusive_lock_waiter_gets_the_lock_once_released(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite.lock"
    result: list[tuple[BaseException | None, list[str], float]] = []

    with exclusive_lock(path, command="kitgen holder", timeout=1, on_wait=lambda _: None):
        waiter = threading.Thread(target=lambda: result.append(try_lock(path, 5)))
        waiter.start()
        time.sleep(0.3)
        assert waiter.is_alive()
    waiter.join(timeout=10)

    error, heard, elapsed = result[0]
    assert error is None
    assert len(heard) == 1 and heard[0].startswith(f"pid {os.getpid()} (kitgen holder on ")
    assert 0.3 <= elapsed < 5
    assert not path.exists()


def test_stale_lock_file_without_a_holder_does_not_block(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite.lock"
    path.write_text(json.dumps({"pid": 999999, "host": "gone", "command": "kitgen migrate", "since": "then"}))

    error, heard, _ = try_lock(path, 0)

    assert error is None and heard == []
    assert not path.exists()


def test_exclusive_lock_excludes_many_contending_threads(tmp_path: Path) -> None:
    """The file is removed and re-created on every release; no two holders may overlap."""
    path = tmp_path / "db.sqlite.lock"
    inside: list[int] = []
    overlaps: list[int] = []
    failures: list[BaseException] = []
    counter = [0]

    def work(worker: int) -> None:
        try:
            for _ in range(40):
                with exclusive_lock(path, command=f"worker {worker}", timeout=20, on_wait=lambda _: None):
                    inside.append(worker)
                    if len(inside) > 1:
                        overlaps.append(worker)
                    value = counter[0]
                    time.sleep(0.0005)
                    counter[0] = value + 1
                    inside.remove(worker)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert overlaps == []
    assert counter[0] == 6 * 40
    assert not path.exists()
