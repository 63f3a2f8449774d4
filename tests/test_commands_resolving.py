"""``kitgen migrate:resolve`` and edits of applied files that are not changes, through the installed script."""

from __future__ import annotations

import subprocess

import pytest
from conftest import Project, assert_one_error

USERS = "2026_01_01_000001_create_users_table"
POSTS = "2026_01_01_000002_create_posts_table"
TAGS = "2026_01_01_000003_create_tags_table"
USERS_TABLE = "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"
RESOLUTIONS = ("--applied", "--rolled-back", "--accept-changes")


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result


def entity_files(project: Project) -> dict[str, bytes]:
    """Every file under the entities folder with its bytes: for "no entity file changed" checks."""
    return {str(path.relative_to(project.entities)): path.read_bytes() for path in project.entities.rglob("*.py")}


def tracking_lines(lines: list[str]) -> set[str]:
    return {line for line in lines if "kitgen_migrations" in line}


def only_tracking_rows_differ(before: list[str], after: list[str], name: str) -> None:
    """Between two dumps, only rows of the tracking table, and only ``name``'s, differ."""
    changed = set(before) ^ set(after)
    assert changed, "nothing changed"
    assert changed <= tracking_lines(before) | tracking_lines(after), changed
    assert all(name in line for line in changed if line.startswith("INSERT")), changed


def hand_made_users(project: Project) -> None:
    """A database whose users table (and a row in it) was created before kitgen ran."""
    project.database.parent.mkdir(parents=True, exist_ok=True)
    with project.connect() as connection:
        connection.execute(USERS_TABLE)
        connection.execute("INSERT INTO users (name) VALUES ('ada')")
    connection.close()


def users_and_posts(project: Project) -> None:
    project.sql(USERS, f"{USERS_TABLE};", "DROP TABLE users;")
    project.create_table(POSTS, "posts")


# --- --applied: a table that already exists ----------------------------------------------------------


def test_applied_records_a_hand_made_table_so_that_migrate_applies_only_the_rest(project: Project) -> None:
    hand_made_users(project)
    users_and_posts(project)
    failed = project.run("migrate")
    assert_one_error(failed, USERS, "table users already exists")
    assert project.applied() == [] and "posts" not in project.tables()  # the failed run applied nothing

    resolved = ok(project.run("migrate:resolve", USERS, "--applied"))

    assert resolved.stdout == f"Recorded {USERS} as applied in batch 1, without running it.\n"
    assert project.applied() == [(USERS, 1)]
    assert not (project.entities / "user.py").exists()  # resolving writes no entity
    migrated = ok(project.run("migrate"))
    assert f"Applying {POSTS} … done (batch 2" in migrated.stdout and f"Applying {USERS}" not in migrated.stdout
    assert project.applied() == [(USERS, 1), (POSTS, 2)]
    with project.connect() as connection:
        assert connection.execute("SELECT name FROM users").fetchall() == [("ada",)]
    assert (project.entities / "user.py").is_file() and (project.entities / "post.py").is_file()
    ok(project.run("migrate:status", "--exit-code"))
    ok(project.run("check"))  # the entities are those of a database that ran every migration


def test_a_migration_recorded_as_applied_still_names_its_entity(project: Project) -> None:
    project.python(
        "2026_01_01_000001_create_people_table",
        'db.execute("CREATE TABLE people (id INTEGER PRIMARY KEY)")',
        'db.execute("DROP TABLE people")',
        extra='model = "Member"\n\n',
    )
    project.database.parent.mkdir(parents=True, exist_ok=True)
    with project.connect() as connection:
        connection.execute("CREATE TABLE people (id INTEGER PRIMARY KEY)")
    connection.close()

    ok(project.run("migrate:resolve", "2026_01_01_000001_create_people_table", "--applied"))
    ok(project.run("migrate"))

    entity = (project.entities / "person.py").read_text()
    assert "class Member(" in entity and "created by migration 2026_01_01_000001_create_people_table" in entity
    ok(project.run("check"))


def test_applied_refuses_a_migration_that_is_applied(project: Project) -> None:
    users_and_posts(project)
    ok(project.run("migrate"))
    before = project.snapshot()

    assert_one_error(project.run("migrate:resolve", USERS, "--applied"), USERS, "already applied (batch 1)")
    assert project.snapshot() == before


# --- --rolled-back -------------------------------------------------------------------------------------


def test_rolled_back_forgets_the_record_without_running_the_down_and_migrate_runs_it_again(
    project: Project,
) -> None:
    seed = "2026_01_01_000002_seed_admin"
    project.sql(USERS, f"{USERS_TABLE};", "DROP TABLE users;")
    project.sql(seed, "INSERT INTO users (name) VALUES ('admin');", "DELETE FROM users WHERE name = 'admin';")
    ok(project.run("migrate"))

    resolved = ok(project.run("migrate:resolve", seed, "--rolled-back"))

    assert resolved.stdout == f"Forgot {seed} (batch 1), without running its down.\n"
    assert project.applied() == [(USERS, 1)]
    with project.connect() as connection:
        assert connection.execute("SELECT count(*) FROM users").fetchone() == (1,)  # the down did not run
    status = project.run("migrate:status")
    assert [seed, "pending"] in [line.split() for line in status.stdout.splitlines()]
    migrated = ok(project.run("migrate"))
    assert f"Applying {seed} … done (batch 2" in migrated.stdout
    with project.connect() as connection:
        assert connection.execute("SELECT name FROM users ORDER BY id").fetchall() == [("admin",), ("admin",)]


def test_rolled_back_forgets_a_migration_whose_file_is_gone(project: Project) -> None:
    users_and_posts(project)
    ok(project.run("migrate"))
    (project.migrations / f"{POSTS}.sql").unlink()

    ok(project.run("migrate:resolve", POSTS, "--rolled-back"))

    assert project.applied() == [(USERS, 1)]
    assert "posts" in project.tables()
    ok(project.run("migrate:status", "--exit-code"))


# --- --accept-changes ----------------------------------------------------------------------------------


def test_accept_changes_takes_the_edited_file_as_applied_and_rollback_runs_its_down(project: Project) -> None:
    users_and_posts(project)
    ok(project.run("migrate"))
    project.sql(
        POSTS, "CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT);", "ALTER TABLE posts RENAME TO old_posts;"
    )
    with project.connect() as connection:  # the same change, made by hand on this database
        connection.execute("ALTER TABLE posts ADD COLUMN title TEXT")
    connection.close()
    project.create_table(TAGS, "tags")
    refused = project.run("migrate")
    assert_one_error(refused, "changed since it ran", POSTS)
    assert "tags" not in project.tables()

    resolved = ok(project.run("migrate:resolve", POSTS, "--accept-changes"))

    assert resolved.stdout == f"Recorded the current content of {POSTS} as applied, without running it.\n"
    migrated = ok(project.run("migrate"))
    assert f"Applying {TAGS} … done (batch 2" in migrated.stdout
    ok(project.run("migrate:status", "--exit-code"))
    ok(project.run("check"))
    ok(project.run("migrate:rollback", "--step", "2", "--force"))
    assert project.tables() == ["kitgen_migrations", "old_posts", "users"]  # the accepted down ran
    assert project.applied() == [(USERS, 1)]


def test_accept_changes_refuses_a_file_that_did_not_change(project: Project) -> None:
    users_and_posts(project)
    ok(project.run("migrate"))
    before = project.snapshot()

    assert_one_error(
        project.run("migrate:resolve", POSTS, "--accept-changes"), POSTS, "has not changed since it was applied"
    )
    project.sql(POSTS, "CREATE TABLE posts (id INTEGER PRIMARY KEY);", "DROP TABLE posts; -- and more")
    assert_one_error(project.run("migrate:resolve", POSTS, "--accept-changes"), "has not changed")  # its down only
    assert project.snapshot() == before


def test_accept_changes_refuses_a_migration_whose_file_is_gone(project: Project) -> None:
    users_and_posts(project)
    ok(project.run("migrate"))
    (project.migrations / f"{POSTS}.sql").unlink()
    before = project.snapshot()

    assert_one_error(project.run("migrate:resolve", POSTS, "--accept-changes"), POSTS, "has no file")
    assert project.snapshot() == before


@pytest.mark.parametrize("resolution", ["--rolled-back", "--accept-changes"])
def test_a_pending_migration_has_no_record_to_forget_or_accept(project: Project, resolution: str) -> None:
    users_and_posts(project)
    ok(project.run("migrate"))
    project.create_table(TAGS, "tags")
    before = project.snapshot()

    result = project.run("migrate:resolve", TAGS, resolution)

    assert_one_error(result, TAGS, "is not applied", "--applied records a pending one")
    assert "nothing to rolled back" not in result.stderr and "nothing to accept changes" not in result.stderr
    assert project.snapshot() == before


# --- what every resolution shares --------------------------------------------------------------------


def test_each_resolution_changes_only_its_tracking_row(project: Project) -> None:
    users_and_posts(project)
    ok(project.run("migrate"))
    entities = entity_files(project)
    project.create_table(TAGS, "tags")
    with project.connect() as connection:
        connection.execute("CREATE TABLE tags (id INTEGER PRIMARY KEY)")
    connection.close()
    project.sql(POSTS, "CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT);", "DROP TABLE posts;")
    steps = [(TAGS, "--applied"), (POSTS, "--accept-changes"), (USERS, "--rolled-back")]

    for name, resolution in steps:
        before = project.dump()
        ok(project.run("migrate:resolve", name, resolution))
        only_tracking_rows_differ(before, project.dump(), name)

    assert entity_files(project) == entities
    assert project.tables() == ["kitgen_migrations", "posts", "tags", "users"]


@pytest.mark.parametrize(
    "given", [POSTS, f"{POSTS}.sql", f"database/migrations/{POSTS}.sql", f"./database/migrations/{POSTS}"]
)
def test_the_name_may_carry_its_suffix_or_be_a_path(project: Project, given: str) -> None:
    users_and_posts(project)
    ok(project.run("migrate"))

    assert ok(project.run("migrate:resolve", given, "--rolled-back")).stdout.startswith(f"Forgot {POSTS} ")
    assert project.applied() == [(USERS, 1)]


def test_an_absolute_path_names_the_migration_too(project: Project) -> None:
    users_and_posts(project)
    ok(project.run("migrate"))

    ok(project.run("migrate:resolve", str(project.migrations / f"{POSTS}.sql"), "--rolled-back"))
    assert project.applied() == [(USERS, 1)]


def test_an_unknown_name_is_refused_with_the_closest_names_first(project: Project) -> None:
    users_and_posts(project)
    project.create_table("2026_01_01_000003_create_user_roles_table", "user_roles")
    ok(project.run("migrate"))
    before = project.snapshot()

    result = project.run("migrate:resolve", "2026_01_01_000001_create_user_table", "--rolled-back")

    assert_one_error(result, "no migration named 2026_01_01_000001_create_user_table", code=2)
    assert f"did you mean {USERS} or " in result.stderr
    assert project.snapshot() == before
    far = project.run("migrate:resolve", "zzz", "--applied")
    assert_one_error(far, "no migration named zzz", "kitgen migrate:status", code=2)


@pytest.mark.parametrize("given", [(), ("--applied", "--rolled-back"), ("--accept-changes", "--applied")])
def test_exactly_one_resolution_is_taken(project: Project, given: tuple[str, ...]) -> None:
    users_and_posts(project)
    ok(project.run("migrate"))
    before = project.snapshot()

    result = project.run("migrate:resolve", POSTS, *given)

    assert_one_error(result, "migrate:resolve", "--applied", "--rolled-back", "--accept-changes", code=2)
    assert project.snapshot() == before
    assert project.applied() == [(USERS, 1), (POSTS, 1)]


@pytest.mark.parametrize("resolution", RESOLUTIONS)
@pytest.mark.parametrize("where", ["KITGEN_ENV=production", "protect = true"])
def test_resolving_is_refused_where_destructive_commands_are(project: Project, resolution: str, where: str) -> None:
    users_and_posts(project)
    ok(project.run("migrate"))
    project.create_table(TAGS, "tags")
    project.sql(POSTS, "CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT);", "DROP TABLE posts;")
    env = {}
    if where == "protect = true":
        with (project.root / "pyproject.toml").open("a", encoding="utf-8") as pyproject:
            pyproject.write("\n[tool.kitgen]\nprotect = true\n")
    else:
        env["KITGEN_ENV"] = "production"
    before = project.snapshot()

    result = project.run("migrate:resolve", TAGS if resolution == "--applied" else POSTS, resolution, env=env)

    assert_one_error(result, "migrate:resolve is refused", where)
    assert project.snapshot() == before


# --- an applied file edited without changing what it ran ------------------------------------------------


@pytest.mark.parametrize("first_down", ["DROP TABLE users;", ""])
def test_a_new_down_of_an_applied_sql_migration_is_recorded_and_rollback_runs_it(
    project: Project, first_down: str
) -> None:
    project.sql(USERS, f"{USERS_TABLE};", first_down)
    ok(project.run("migrate"))
    project.sql(USERS, f"{USERS_TABLE};", "ALTER TABLE users RENAME TO old_users;")

    migrated = ok(project.run("migrate"))

    assert migrated.stdout == f"Recorded the new down of {USERS} (rollback runs it)\nNothing to migrate.\n"
    status = ok(project.run("migrate:status", "--exit-code"))
    assert f"{USERS}  applied (batch 1)" in status.stdout
    assert ok(project.run("migrate")).stdout == "Nothing to migrate.\n"  # recorded once
    ok(project.run("migrate:rollback", "--force"))
    assert project.tables() == ["kitgen_migrations", "old_users"]


@pytest.mark.parametrize("first_down", ['db.execute("DROP TABLE users")', None])
def test_a_new_down_of_an_applied_python_migration_is_recorded_and_rollback_runs_it(
    project: Project, first_down: str | None
) -> None:
    up = f'db.execute("{USERS_TABLE}")'
    if first_down is None:  # no down method at all
        project.write(
            f"{USERS}.py",
            f"""
            from kitgen import Database, Migration


            class M{USERS.replace("_", "")}(Migration):
                def up(self, db: Database) -> None:
                    {up}
            """,
        )
    else:
        project.python(USERS, up, first_down)
    ok(project.run("migrate"))
    if first_down is None:
        assert_one_error(project.run("migrate:rollback", "--force"), "has no down")
    project.python(USERS, up, 'db.execute("ALTER TABLE users RENAME TO old_users")')

    migrated = ok(project.run("migrate"))

    assert f"Recorded the new down of {USERS} (rollback runs it)" in migrated.stdout
    assert "changed" not in migrated.stdout + migrated.stderr
    ok(project.run("migrate:status", "--exit-code"))
    ok(project.run("migrate:rollback", "--force"))
    assert project.tables() == ["kitgen_migrations", "old_users"]


def test_comments_and_layout_of_an_applied_migration_are_not_a_change(project: Project) -> None:
    project.sql(USERS, f"{USERS_TABLE};", "DROP TABLE users;")
    project.python(POSTS, 'db.execute("CREATE TABLE posts (id INTEGER PRIMARY KEY)")', 'db.execute("DROP TABLE posts")')
    ok(project.run("migrate"))
    project.write(
        f"{USERS}.sql",
        """
        -- migrate:up
        -- Who can sign in.
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL  -- as they want to be called
        );

        -- migrate:down
        DROP TABLE users;
        """,
    )
    project.write(
        f"{POSTS}.py",
        """
        \"\"\"The posts.\"\"\"

        from kitgen import Database, Migration


        class M20260101000002createpoststable(Migration):
            # One row per post.
            def up(self, db: Database) -> None:
                db.execute(
                    "CREATE TABLE posts (id INTEGER PRIMARY KEY)"  # the table
                )

            def down(self, db: Database) -> None:
                db.execute("DROP TABLE posts")
        """,
    )

    migrated = ok(project.run("migrate"))

    assert migrated.stdout == "Nothing to migrate.\n"
    ok(project.run("migrate:status", "--exit-code"))
    for name in (USERS, POSTS):
        assert_one_error(project.run("migrate:resolve", name, "--accept-changes"), "has not changed")
    ok(project.run("migrate:rollback", "--force"))
    assert project.tables() == ["kitgen_migrations"]


def test_a_changed_up_is_still_refused_when_the_down_changed_too(project: Project) -> None:
    users_and_posts(project)
    ok(project.run("migrate"))
    project.sql(POSTS, "CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT);", "DROP TABLE IF EXISTS posts;")
    before = project.snapshot()

    assert_one_error(project.run("migrate"), "changed since it ran", POSTS)
    assert project.snapshot() == before
    assert "changed" in project.run("migrate:status").stdout
