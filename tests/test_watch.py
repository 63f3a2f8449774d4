"""``kitgen watch`` in a subprocess over a real project, driven by real file changes; its decisions also
called directly where they need no watcher."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import KITGEN, Project

from kitgen import commands, watch
from kitgen.errors import ChangedMigrationsError, IrreversibleMigration, MigrationFileError, ProtectedError
from kitgen.migrations.runner import Ran

USERS = "2026_01_01_000001_create_users_table"
TAGS = "2026_01_01_000002_create_tags_table"
POSTS = "2026_01_01_000003_create_posts_table"
PRICES = "2026_01_01_000003_create_prices_table"
NOTES = "2026_01_01_000004_create_notes_table"


class Watcher:
    """A running ``kitgen watch`` whose output lines can be waited for."""

    def __init__(self, project: Project, *args: str, env: dict[str, str] | None = None) -> None:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("KITGEN_") and k != "NO_COLOR"}
        environ.update({"NO_COLOR": "1", **(env or {})})
        self.process = subprocess.Popen(
            [KITGEN, "watch", *args],
            cwd=project.root,
            env=environ,
            text=True,
            bufsize=1,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 30) -> str:
        """The next line matching ``pattern``; fails with everything seen so far."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            self.seen.append(line)
            if re.search(pattern, line):
                return line
        raise AssertionError(
            f"no line matching {pattern!r} within {timeout} s; output so far:\n" + "\n".join(self.seen)
        )

    def quiet(self, seconds: float) -> list[str]:
        """Lines printed during ``seconds``."""
        deadline, lines = time.monotonic() + seconds, []
        while time.monotonic() < deadline:
            try:
                lines.append(self.lines.get(timeout=0.05))
            except queue.Empty:
                continue
        self.seen += lines
        return lines

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str]:
        self.process.send_signal(signum)
        code = self.process.wait(timeout=30)
        time.sleep(0.1)
        rest = []
        while not self.lines.empty():
            rest.append(self.lines.get())
        self.seen += rest
        return code, "\n".join(self.seen)


@pytest.fixture
def watcher(project: Project) -> Iterator[Watcher]:
    project.create_table(USERS, "users", "id INTEGER PRIMARY KEY, name TEXT NOT NULL")
    yield from _watching(project)


@pytest.fixture
def engine_watcher(engine_project: Project) -> Iterator[Watcher]:
    """``watcher`` on SQLite and on PostgreSQL."""
    engine_project.create_table(USERS, "users", "id INTEGER PRIMARY KEY, name TEXT NOT NULL")
    yield from _watching(engine_project)


def _watching(project: Project) -> Iterator[Watcher]:
    running = Watcher(project)
    running.wait_for("^Watching ")
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait()


def test_starts_with_a_full_migrate_and_applies_a_new_migration(
    engine_project: Project, engine_watcher: Watcher
) -> None:
    project, watcher = engine_project, engine_watcher
    assert any(f"applied {USERS}" in line for line in watcher.seen)
    assert (project.entities / "user.py").is_file()

    project.create_table(TAGS, "tags", "id INTEGER PRIMARY KEY, label TEXT")

    line = watcher.wait_for(f"applied {TAGS}")
    assert re.search(r"wrote tag\.py.*, \d+ ms$", line), line
    assert "class Tag(BaseModel)" in (project.entities / "tag.py").read_text()
    code, output = watcher.stop()
    assert code == 0
    assert "Stopped watching." in output and "Traceback" not in output


def test_a_syntax_error_is_reported_and_the_fix_is_applied(project: Project, watcher: Watcher) -> None:
    broken = project.migrations / f"{TAGS}.py"
    broken.write_text("from kitgen import Migration\n\nclass M(Migration:\n    pass\n")

    line = watcher.wait_for("^Error: ")
    assert f"{TAGS}.py has a syntax error at line 3" in line and " — " in line

    project.python(TAGS, 'db.execute("CREATE TABLE tags (id INTEGER PRIMARY KEY)")', 'db.execute("DROP TABLE tags")')
    watcher.wait_for(f"applied {TAGS}")
    assert (project.entities / "tag.py").is_file()
    assert watcher.stop()[0] == 0


def test_failing_sql_is_reported_and_leaves_nothing_applied(engine_project: Project, engine_watcher: Watcher) -> None:
    project, watcher = engine_project, engine_watcher
    project.sql(TAGS, "CREATE TABLE tags (id INTEGER PRIMARY KEY);\nINSERT INTO nowhere VALUES (1);")

    line = watcher.wait_for("^Error: ")
    missing = "no such table: nowhere" if project.engine.name == "sqlite" else 'relation "nowhere" does not exist'
    assert missing in line and "at line 3" in line
    assert "tags" not in project.engine.tables()

    project.sql(TAGS, "CREATE TABLE tags (id INTEGER PRIMARY KEY);", "DROP TABLE tags;")
    watcher.wait_for(f"applied {TAGS}")
    assert "tags" in project.engine.tables()
    assert watcher.stop()[0] == 0


def test_a_hand_edited_entity_is_reported_and_never_overwritten(
    engine_project: Project, engine_watcher: Watcher
) -> None:
    project, watcher = engine_project, engine_watcher
    user = project.entities / "user.py"
    edited = user.read_text() + "\n# my own helper\n"
    user.write_text(edited)

    watcher.wait_for(r"app/entities/user\.py: edited")

    project.sql(TAGS, "ALTER TABLE users ADD COLUMN email TEXT;", "ALTER TABLE users DROP COLUMN email;")
    watcher.wait_for(f"applied {TAGS}")
    assert user.read_text() == edited
    assert watcher.stop()[0] == 0


def test_a_migration_the_watch_applied_when_it_started_is_re_applied_when_edited(
    engine_project: Project, engine_watcher: Watcher
) -> None:
    """users was applied by the full migrate that starts watching: this watch applied it."""
    project, watcher = engine_project, engine_watcher
    project.create_table(USERS, "users", "id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT")

    line = watcher.wait_for(f"applied {USERS}")
    assert line.startswith(f"rolled back {USERS}, applied {USERS}")
    assert any("email" in line for line in project.engine.dump())
    assert watcher.stop()[0] == 0


def test_redo_rolls_back_the_last_batch_and_applies_the_new_version(project: Project) -> None:
    project.create_table(USERS, "users", "id INTEGER PRIMARY KEY, name TEXT NOT NULL")
    watcher = Watcher(project, "--redo")
    try:
        watcher.wait_for("^Watching ")
        project.create_table(USERS, "users", "id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT")

        line = watcher.wait_for(f"applied {USERS}")
        assert line.startswith(f"rolled back {USERS}, applied {USERS}")
        assert "email: str | None" in (project.entities / "user.py").read_text()
        assert watcher.stop()[0] == 0
    finally:
        if watcher.process.poll() is None:
            watcher.process.kill()


def test_redo_is_refused_where_destructive_commands_are(project: Project) -> None:
    project.create_table(USERS, "users")
    result = subprocess.run(
        [KITGEN, "watch", "--redo"],
        cwd=project.root,
        capture_output=True,
        text=True,
        env={**os.environ, "KITGEN_ENV": "production"},
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("Error: watch --redo is refused") and "Traceback" not in result.stderr


def test_editor_save_patterns_act_once(project: Project, watcher: Watcher) -> None:
    final = project.migrations / f"{TAGS}.sql"
    swap = project.migrations / f".{TAGS}.sql.swp"
    swap.write_text("junk")
    temporary = project.migrations / f".{TAGS}.sql.tmp123"
    temporary.write_text(
        "-- migrate:up\nCREATE TABLE tags (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE tags;\n"
    )
    os.replace(temporary, final)  # write-and-rename, as many editors save
    (project.migrations / f"{TAGS}.sql~").write_text("backup")
    swap.unlink()

    watcher.wait_for(f"applied {TAGS}")
    later = watcher.quiet(1.5)
    assert not [line for line in later if "applied" in line or line.startswith("Error")], later
    assert watcher.stop()[0] == 0


def test_several_writes_in_a_row_are_one_event(project: Project, watcher: Watcher) -> None:
    path = project.migrations / f"{TAGS}.sql"
    with path.open("w") as handle:
        for part in (
            "-- migrate:up\n",
            "CREATE TABLE tags (",
            "id INTEGER PRIMARY KEY);\n",
            "-- migrate:down\n",
            "DROP TABLE tags;\n",
        ):
            handle.write(part)
            handle.flush()
            time.sleep(0.005)

    watcher.wait_for(f"applied {TAGS}")
    assert not [line for line in watcher.quiet(1.0) if line.startswith("Error")]
    assert watcher.stop()[0] == 0


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signals_end_it_cleanly(watcher: Watcher, signum: int) -> None:
    code, output = watcher.stop(signum)
    assert code == 0
    assert output.splitlines()[-1] == "Stopped watching."
    assert "Traceback" not in output and "KeyboardInterrupt" not in output


def test_no_half_written_files_after_a_stop(project: Project, watcher: Watcher) -> None:
    project.create_table(TAGS, "tags")
    time.sleep(0.02)
    watcher.stop(signal.SIGTERM)
    leftovers = [path.name for path in project.entities.iterdir() if path.name.endswith(".tmp")]
    assert leftovers == []
    for path in project.entities.glob("*.py"):
        compile(path.read_text(), str(path), "exec")


def test_missing_folder_is_one_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    result = subprocess.run([KITGEN, "watch"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Error: " in result.stderr and "Traceback" not in result.stderr


def test_redo_with_a_half_saved_file_rolls_nothing_back(project: Project) -> None:
    users = project.python(
        USERS, 'db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")', 'db.execute("DROP TABLE users")'
    )
    watcher = Watcher(project, "--redo")
    try:
        watcher.wait_for("^Watching ")
        with project.connect() as connection:
            connection.execute("INSERT INTO users VALUES (7)")
        users.write_text(users.read_text().replace("def up(self", "def up(self,,"))

        watcher.wait_for("^Error: .*syntax error")
        with project.connect() as connection:
            assert connection.execute("SELECT id FROM users").fetchall() == [(7,)]
        assert watcher.stop()[0] == 0
    finally:
        if watcher.process.poll() is None:
            watcher.process.kill()


@pytest.mark.parametrize("option", [("--database", "."), ("--migrations", "nowhere"), ("--entities", "nowhere")])
def test_a_setup_error_at_start_is_one_error_and_no_watching(project: Project, option: tuple[str, str]) -> None:
    result = subprocess.run([KITGEN, "watch", *option], cwd=project.root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ") and " — " in result.stderr and "Traceback" not in result.stderr
    assert "Watching" not in result.stdout


def test_a_decimal_column_sqlite_cannot_keep_is_warned_about_once(project: Project, watcher: Watcher) -> None:
    project.create_table(PRICES, "prices", "id INTEGER PRIMARY KEY, amount DECIMAL(18,4) NOT NULL")

    watcher.wait_for(f"applied {PRICES}.*wrote price\\.py")
    line = watcher.wait_for("^Warning: ")
    assert line.startswith("Warning: prices.amount is DECIMAL(18,4) (precision 18)"), line

    project.create_table(NOTES, "notes", "id INTEGER PRIMARY KEY, body TEXT")  # price.py stays as it is
    watcher.wait_for(f"applied {NOTES}")
    assert not [line for line in watcher.quiet(0.5) if line.startswith("Warning: ")]
    code, output = watcher.stop()
    assert code == 0 and output.count("Warning: ") == 1, output


# --- editing the newest migration this watch applied re-applies it ---


def tags(project: Project, *columns: str) -> Path:
    """A Python migration creating tags with ``columns`` after its id."""
    listed = "".join(f", {column}" for column in columns)
    return project.python(
        TAGS, f'db.execute("CREATE TABLE tags (id INTEGER PRIMARY KEY{listed})")', 'db.execute("DROP TABLE tags")'
    )


def columns(project: Project, table: str) -> list[str]:
    with project.connect() as connection:
        return [row[1] for row in connection.execute(f"SELECT * FROM pragma_table_info('{table}')")]


def recorded_source(project: Project, name: str) -> str:
    with project.connect() as connection:
        return str(connection.execute("SELECT source FROM kitgen_migrations WHERE name = ?", (name,)).fetchone()[0])


def test_each_save_of_a_new_migration_re_applies_it(project: Project, watcher: Watcher) -> None:
    created = project.run("make:migration", "create_posts_table")
    path = project.root / created.stdout.removeprefix("Created ").strip()
    posts, template = path.stem, path.read_text()
    watcher.wait_for(f"applied {posts}")

    added: list[str] = []
    for column in ("title TEXT NOT NULL DEFAULT ''", "body TEXT", "score INTEGER"):
        added.append(column)
        path.write_text(template.replace("updated_at INTEGER NOT NULL", ",\n".join(["updated_at INTEGER", *added])))
        line = watcher.wait_for(f"applied {posts}")
        assert line.startswith(f"rolled back {posts}, applied {posts}") and "wrote post.py" in line, line

    assert columns(project, "posts") == ["id", "created_at", "updated_at", "title", "body", "score"]
    assert "score: int | None" in (project.entities / "post.py").read_text()
    assert recorded_source(project, posts) == path.read_text()
    assert [name for name, _ in project.applied()] == [USERS, posts]
    assert watcher.stop()[0] == 0


def test_a_migration_applied_before_watching_is_refused_when_edited(project: Project) -> None:
    tags(project, "label TEXT")
    assert project.run("migrate").returncode == 0
    watcher = Watcher(project)
    try:
        watcher.wait_for("^Watching ")
        before = project.dump()
        tags(project, "label TEXT", "color TEXT")

        line = watcher.wait_for("^Error: ")
        assert "changed since it ran" in line and TAGS in line and "new migration" in line
        assert project.dump() == before
        assert watcher.stop()[0] == 0
    finally:
        if watcher.process.poll() is None:
            watcher.process.kill()


def test_an_edited_migration_with_a_newer_one_applied_after_it_is_refused(project: Project, watcher: Watcher) -> None:
    tags(project, "label TEXT")
    watcher.wait_for(f"applied {TAGS}")
    project.create_table(NOTES, "notes")
    watcher.wait_for(f"applied {NOTES}")
    with project.connect() as connection:
        connection.execute("INSERT INTO tags VALUES (7, 'kept')")
    before = project.dump()

    tags(project, "label TEXT", "color TEXT")

    line = watcher.wait_for("^Error: ")
    assert "changed since it ran" in line and TAGS in line
    assert project.dump() == before
    assert watcher.stop()[0] == 0


def test_a_half_saved_edit_rolls_nothing_back_and_the_next_save_re_applies(project: Project, watcher: Watcher) -> None:
    path = tags(project, "label TEXT")
    watcher.wait_for(f"applied {TAGS}")
    with project.connect() as connection:
        connection.execute("INSERT INTO tags VALUES (7, 'kept')")
    before = project.dump()

    path.write_text(path.read_text().replace("def up(self", "def up(self,,"))
    watcher.wait_for("^Error: .*syntax error")
    assert project.dump() == before

    tags(project, "label TEXT", "color TEXT")
    line = watcher.wait_for(f"applied {TAGS}")
    assert line.startswith(f"rolled back {TAGS}, applied {TAGS}"), line
    assert columns(project, "tags") == ["id", "label", "color"]
    assert watcher.stop()[0] == 0


def test_a_failing_new_version_leaves_it_rolled_back_and_the_fix_applies(project: Project, watcher: Watcher) -> None:
    project.sql(TAGS, "CREATE TABLE tags (id INTEGER PRIMARY KEY);", "DROP TABLE tags;")
    watcher.wait_for(f"applied {TAGS}")

    project.sql(
        TAGS, "CREATE TABLE tags (id INTEGER PRIMARY KEY);\nINSERT INTO nowhere VALUES (1);", "DROP TABLE tags;"
    )
    assert watcher.wait_for(f"rolled back {TAGS}").startswith(f"rolled back {TAGS}, ")
    assert "no such table: nowhere" in watcher.wait_for("^Error: ")
    assert "tags" not in project.tables() and [name for name, _ in project.applied()] == [USERS]

    project.sql(TAGS, "CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT);", "DROP TABLE tags;")
    line = watcher.wait_for(f"applied {TAGS}")
    assert line.startswith(f"applied {TAGS}"), line  # simply pending: nothing to roll back
    assert columns(project, "tags") == ["id", "label"]
    assert watcher.stop()[0] == 0


def test_an_edited_migration_without_a_down_is_refused(project: Project, watcher: Watcher) -> None:
    project.sql(TAGS, "CREATE TABLE tags (id INTEGER PRIMARY KEY);")
    watcher.wait_for(f"applied {TAGS}")
    before = project.dump()

    project.sql(TAGS, "CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT);")

    line = watcher.wait_for("^Error: ")
    assert f"migration {TAGS} changed, but the version applied has no down" in line, line
    assert "new migration" in line and "write its down" in line
    assert project.dump() == before
    assert watcher.stop()[0] == 0


def test_re_applying_is_refused_where_destructive_commands_are(project: Project) -> None:
    project.create_table(USERS, "users")
    watcher = Watcher(project, env={"KITGEN_ENV": "production"})
    try:
        watcher.wait_for("^Watching ")
        tags(project, "label TEXT")
        watcher.wait_for(f"applied {TAGS}")
        before = project.dump()

        tags(project, "label TEXT", "color TEXT")

        line = watcher.wait_for("^Error: ")
        assert line.startswith(f"Error: watch re-applying {TAGS} is refused"), line
        assert "KITGEN_ENV=production" in line
        assert project.dump() == before
        assert watcher.stop()[0] == 0
    finally:
        if watcher.process.poll() is None:
            watcher.process.kill()


# --- the same decisions, without a watcher ---


@pytest.fixture
def migrated_tags(project: Project) -> Path:
    """users and tags applied, one row in tags."""
    project.create_table(USERS, "users")
    path = tags(project, "label TEXT")
    commands.migrate(project.config())
    with project.connect() as connection:
        connection.execute("INSERT INTO tags VALUES (7, 'kept')")
    return path


def test_redo_newest_migration_rolls_back_and_migrate_applies_the_new_version(
    project: Project, migrated_tags: Path
) -> None:
    config = project.config()
    tags(project, "label TEXT", "color TEXT")

    assert [item.name for item in commands.redo_newest_migration(config, TAGS)] == [TAGS]
    assert "tags" not in project.tables()
    assert [item.name for item in commands.migrate(config).applied] == [TAGS]
    assert columns(project, "tags") == ["id", "label", "color"]
    assert recorded_source(project, TAGS) == migrated_tags.read_text()


def test_redo_newest_migration_rolls_nothing_back_for_a_file_restored_or_gone(
    project: Project, migrated_tags: Path
) -> None:
    before = project.dump()
    assert commands.redo_newest_migration(project.config(), TAGS) == []
    migrated_tags.unlink()
    assert commands.redo_newest_migration(project.config(), TAGS) == []
    assert project.dump() == before


def test_redo_newest_migration_is_refused_where_destructive_commands_are(project: Project, migrated_tags: Path) -> None:
    tags(project, "label TEXT", "color TEXT")
    before = project.dump()
    with pytest.raises(ProtectedError, match=f"watch re-applying {TAGS} is refused"):
        commands.redo_newest_migration(project.config(protect=True), TAGS)
    assert project.dump() == before


def test_redo_newest_migration_refuses_one_applied_before_another(project: Project, migrated_tags: Path) -> None:
    project.create_table(NOTES, "notes")
    commands.migrate(project.config())
    tags(project, "label TEXT", "color TEXT")
    before = project.dump()
    with pytest.raises(ChangedMigrationsError, match="changed since it ran"):
        commands.redo_newest_migration(project.config(), TAGS)
    assert project.dump() == before


def test_redo_newest_migration_loads_the_new_version_first(project: Project, migrated_tags: Path) -> None:
    migrated_tags.write_text(migrated_tags.read_text().replace("def up(self", "def up(self,,"))
    before = project.dump()
    with pytest.raises(MigrationFileError, match="syntax error"):
        commands.redo_newest_migration(project.config(), TAGS)
    assert project.dump() == before


def test_redo_newest_migration_needs_a_recorded_down(project: Project) -> None:
    project.sql(TAGS, "CREATE TABLE tags (id INTEGER PRIMARY KEY);")
    commands.migrate(project.config())
    project.sql(TAGS, "CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT);", "DROP TABLE tags;")
    before = project.dump()
    with pytest.raises(IrreversibleMigration, match="the version applied has no down") as refused:
        commands.redo_newest_migration(project.config(), TAGS)
    assert "new migration" in refused.value.hint and "nothing was changed" in refused.value.hint
    assert project.dump() == before


def test_only_the_one_changed_migration_this_watch_applied_is_re_applied(project: Project, migrated_tags: Path) -> None:
    config = project.config()
    path = tags(project, "label TEXT", "color TEXT")

    assert isinstance(watch.handle_batch(config, {path}, redo=False).error, ChangedMigrationsError)
    users = project.create_table(USERS, "users", "id INTEGER PRIMARY KEY, name TEXT")
    both = watch.handle_batch(config, {path, users}, redo=False, applied_here={USERS, TAGS})
    assert isinstance(both.error, ChangedMigrationsError) and both.error.names == (USERS, TAGS)
    assert columns(project, "tags") == ["id", "label"]

    project.create_table(USERS, "users")
    event = watch.handle_batch(config, {path}, redo=False, applied_here={TAGS})
    assert event.error is None and event.result is not None
    assert [item.name for item in event.redone] == [TAGS] == [item.name for item in event.result.applied]
    assert columns(project, "tags") == ["id", "label", "color"]


def test_track_applied_keeps_what_this_watch_applied_and_did_not_roll_back() -> None:
    applied_here = {USERS, TAGS}
    result = commands.MigrateResult([Ran(NOTES, 3, 1.0)])
    watch.track_applied(applied_here, watch.Event(1.0, result, redone=[Ran(TAGS, 2, 1.0)]))
    assert applied_here == {USERS, NOTES}
    watch.track_applied(applied_here, watch.Event(1.0, redone=[Ran(NOTES, 3, 1.0)]))
    assert applied_here == {USERS}


def test_an_entity_file_removed_under_it_keeps_it_watching(project: Project, watcher: Watcher) -> None:
    project.create_table(TAGS, "tags", "id INTEGER PRIMARY KEY, label TEXT")
    watcher.wait_for(f"applied {TAGS}")
    (project.migrations / f"{TAGS}.sql").unlink()  # a checkout to a branch without them
    (project.entities / "tag.py").unlink()
    watcher.quiet(1.5)

    project.create_table(POSTS, "posts", "id INTEGER PRIMARY KEY")

    watcher.wait_for(f"applied {POSTS}")
    assert watcher.process.poll() is None
