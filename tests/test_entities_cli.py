"""Entities through the real ``kitgen`` script: every command regenerates, minimal writes, hand edits.

Every test builds a real project in ``tmp_path``, runs the installed console script in a
subprocess, and looks at the files on disk (bytes and mtimes) and the real SQLite database.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import Project, assert_one_error

from kitgen.codegen import headers

REPOSITORY = Path(__file__).resolve().parent.parent
USERS = "2026_01_01_000001_create_users_table"
POSTS = "2026_01_01_000002_create_posts_table"
TAGS = "2026_01_01_000003_create_tags_table"
OLD = 1_000_000_000_000_000_000  # 2001-09-09, in nanoseconds
RENDERER = ("libcst", "datamodel_code_generator", "pydantic")


# --- helpers ------------------------------------------------------------------------------------


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    return result


def users(project: Project) -> None:
    project.create_table(USERS, "users", "id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT")


def posts(project: Project) -> None:
    project.create_table(POSTS, "posts", "id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), title TEXT")


def tags(project: Project) -> None:
    project.create_table(TAGS, "tags", "id INTEGER PRIMARY KEY, label TEXT NOT NULL")


def migrated(project: Project, *tables: str) -> Project:
    makers = {"users": users, "posts": posts, "tags": tags}
    for table in tables or ("users", "posts"):
        makers[table](project)
    ok(project.run("migrate"))
    return project


def files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}


def age(folder: Path) -> dict[str, int]:
    """Give every file an old mtime, so a rewrite is visible; return name → mtime_ns."""
    for path in folder.iterdir():
        if path.is_file():
            os.utime(path, ns=(OLD, OLD))
    return mtimes(folder)


def mtimes(folder: Path) -> dict[str, int]:
    return {path.name: path.stat().st_mtime_ns for path in folder.iterdir() if path.is_file()}


def touched(before: dict[str, int], folder: Path) -> set[str]:
    after = mtimes(folder)
    return {name for name in set(before) | set(after) if before.get(name) != after.get(name)}


def exports(project: Project) -> tuple[list[tuple[str, str]], list[str]]:
    """The relative imports of the entities __init__.py, and its __all__."""
    tree = ast.parse((project.entities / "__init__.py").read_text(encoding="utf-8"))
    imports = [
        (node.module or "", alias.name)
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.level == 1
        for alias in node.names
    ]
    listed: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(target, ast.Name) and target.id == "__all__" for target in targets):
                assert node.value is not None
                listed = list(ast.literal_eval(node.value))
    return imports, listed


def class_of(path: Path) -> list[str]:
    return [node.name for node in ast.parse(path.read_text(encoding="utf-8")).body if isinstance(node, ast.ClassDef)]


def source_of(path: Path) -> str:
    header = headers.parse(path.read_text(encoding="utf-8"))
    assert header is not None, path
    return header.source


def python(project: Project, code: str) -> subprocess.CompletedProcess[str]:
    """The test interpreter (kitgen's venv) running ``code`` from the project root."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith("KITGEN_")}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=project.root, env=environ, capture_output=True, text=True, timeout=120
    )


def imported_modules(project: Project, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``python -X importtime -m kitgen ARGS`` in the project; the top-level modules it imported."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith("KITGEN_")}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "kitgen", *args],
        cwd=project.root,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    modules = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line and not line.rstrip().endswith("imported package")
    }
    assert "kitgen" in modules, result.stderr[-2000:]
    return result, modules


def wrote(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith(("Wrote ", "Deleted "))]


# --- every command regenerates --------------------------------------------------------------------


def test_migrate_writes_one_module_per_table_the_support_module_and_the_exports(project: Project) -> None:
    users(project)
    posts(project)

    result = ok(project.run("migrate"))

    assert wrote(result) == [
        "Wrote app/entities/__init__.py",
        "Wrote app/entities/_kitgen.py",
        "Wrote app/entities/post.py",
        "Wrote app/entities/user.py",
    ]
    assert sorted(files(project.entities)) == ["__init__.py", "_kitgen.py", "post.py", "user.py"]
    assert exports(project) == ([("post", "Post"), ("user", "User")], ["Post", "User"])
    text = (project.entities / "user.py").read_text(encoding="utf-8")
    first, second, third, _ = text.split("\n", 3)
    assert first == '# Code generated by kitgen from table "users". DO NOT EDIT.'
    assert second == "# Regenerate with `kitgen generate`; change the schema with a migration, not this file."
    assert third.startswith("# kitgen: schema=") and " body=" in third
    assert headers.parse(text) is not None and not headers.is_edited(text)
    assert class_of(project.entities / "user.py") == ["User"]


def test_views_get_modules_too(project: Project) -> None:
    users(project)
    project.sql(
        "2026_01_01_000002_create_named_users_view",
        "CREATE VIEW named_users AS SELECT id, name FROM users;",
        "DROP VIEW named_users;",
    )

    ok(project.run("migrate"))

    text = (project.entities / "named_user.py").read_text(encoding="utf-8")
    assert text.startswith('# Code generated by kitgen from view "named_users". DO NOT EDIT.\n')
    assert ("named_user", "NamedUser") in exports(project)[0]


def refresh_setup(project: Project) -> None:
    migrated(project)
    (project.entities / "user.py").unlink()


@pytest.mark.parametrize(
    ("args", "present", "absent"),
    [
        (("migrate",), {"user.py", "post.py", "tag.py"}, set()),
        (("migrate:rollback", "--force"), {"user.py", "post.py"}, {"tag.py"}),
        (("migrate:reset", "--force"), set(), {"user.py", "post.py", "tag.py", "_kitgen.py"}),
        (("migrate:refresh", "--force"), {"user.py", "post.py", "tag.py"}, set()),
        (("migrate:fresh", "--force"), {"user.py", "post.py", "tag.py"}, set()),
        (("generate",), {"user.py", "post.py", "tag.py"}, set()),
        (("generate", "--force"), {"user.py", "post.py", "tag.py"}, set()),
    ],
    ids=["migrate", "rollback", "reset", "refresh", "fresh", "generate", "generate-force"],
)
def test_every_command_brings_the_entities_up_to_date(
    project: Project, args: tuple[str, ...], present: set[str], absent: set[str]
) -> None:
    migrated(project)
    tags(project)
    if args[0] != "migrate":
        ok(project.run("migrate"))
        if args[0] != "migrate:reset":
            (project.entities / "user.py").unlink()  # out of date before the command

    result = ok(project.run(*args))

    names = set(files(project.entities))
    assert present <= names, (names, result.stdout)
    assert not absent & names, (names, result.stdout)
    modules = sorted(name[:-3] for name in present)
    assert exports(project)[0] == [(module, module.capitalize()) for module in modules]
    assert exports(project)[1] == [module.capitalize() for module in modules]
    again = ok(project.run("generate"))
    assert wrote(again) == []
    assert "Entities are up to date" in again.stdout


# --- minimal writes -------------------------------------------------------------------------------


def test_a_run_with_nothing_to_do_touches_no_file(project: Project) -> None:
    migrated(project)
    before = age(project.entities)

    for args in (("migrate",), ("generate",), ("migrate", "--step")):
        result = ok(project.run(*args))
        assert wrote(result) == []

    assert touched(before, project.entities) == set()


def test_changing_one_table_of_two_hundred_writes_exactly_one_file(project: Project) -> None:
    up = "\n".join(
        f"CREATE TABLE t{i:03d}_items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL);" for i in range(200)
    )
    down = "\n".join(f"DROP TABLE t{i:03d}_items;" for i in range(200))
    project.sql("2026_01_01_000001_create_two_hundred_tables", up, down)
    ok(project.run("migrate"))
    assert len(files(project.entities)) == 202
    before = age(project.entities)
    content = files(project.entities)

    assert wrote(ok(project.run("migrate"))) == []
    assert touched(before, project.entities) == set()

    project.sql(
        "2026_01_01_000002_add_note_to_t042_items",
        "ALTER TABLE t042_items ADD COLUMN note TEXT;",
        "ALTER TABLE t042_items DROP COLUMN note;",
    )
    result = ok(project.run("migrate"))

    assert wrote(result) == ["Wrote app/entities/t042_item.py"]
    assert touched(before, project.entities) == {"t042_item.py"}
    after = files(project.entities)
    assert {name for name in after if after[name] != content[name]} == {"t042_item.py"}
    assert "note: str | None" in after["t042_item.py"].decode()


def test_the_no_op_path_does_not_load_the_renderer(project: Project) -> None:
    migrated(project)

    result, modules = imported_modules(project, "migrate")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout == "Nothing to migrate.\n"
    assert not set(RENDERER) & modules, set(RENDERER) & modules

    result, modules = imported_modules(project, "generate")
    assert result.returncode == 0, result.stderr[-2000:]
    assert not set(RENDERER) & modules, set(RENDERER) & modules

    tags(project)
    result, modules = imported_modules(project, "migrate")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Wrote app/entities/tag.py" in result.stdout
    assert "libcst" not in modules  # exports in kitgen's plain form are edited as text
    assert not {"datamodel_code_generator", "pydantic"} & modules  # rendering needs neither


def test_the_no_op_path_reports_an_edited_file_all_the_same(project: Project) -> None:
    migrated(project)
    user = project.entities / "user.py"
    user.write_text(user.read_text(encoding="utf-8") + "# mine\n", encoding="utf-8")

    result = project.run("migrate")

    assert_one_error(result, "--force", code=3)  # migrate's own work succeeded
    assert "app/entities/user.py: edited" in result.stderr


# --- hand edits -----------------------------------------------------------------------------------


def test_an_edited_file_is_kept_listed_with_a_diff_and_the_rest_is_updated(project: Project) -> None:
    migrated(project)
    user = project.entities / "user.py"
    edited = user.read_text(encoding="utf-8") + "\n\ndef my_helper() -> int:\n    return 42\n"
    user.write_text(edited, encoding="utf-8")
    project.sql(
        "2026_01_01_000003_more",
        "ALTER TABLE users ADD COLUMN bio TEXT;\nALTER TABLE posts ADD COLUMN body TEXT;\n"
        "CREATE TABLE tags (id INTEGER PRIMARY KEY);",
        "DROP TABLE tags;",
    )
    before = age(project.entities)

    result = project.run("migrate")

    assert_one_error(result, "move your code out", "--force", code=3)
    assert "Applying 2026_01_01_000003_more … done" in result.stdout
    assert "app/entities/user.py: edited" in result.stderr
    assert "--- user.py (on disk)\n+++ user.py (kitgen)\n" in result.stderr
    assert "-def my_helper() -> int:" in result.stderr
    assert "+    bio: str | None" in result.stderr
    assert user.read_text(encoding="utf-8") == edited
    assert touched(before, project.entities) == {"__init__.py", "post.py", "tag.py"}
    assert "body: str | None" in (project.entities / "post.py").read_text(encoding="utf-8")
    assert exports(project)[1] == ["Post", "Tag", "User"]

    again = project.run("generate")
    assert_one_error(again, "move your code out", "--force")
    assert user.read_text(encoding="utf-8") == edited

    forced = ok(project.run("generate", "--force"))
    assert wrote(forced) == ["Wrote app/entities/user.py"]
    text = user.read_text(encoding="utf-8")
    assert "my_helper" not in text and "bio: str | None" in text
    assert not headers.is_edited(text)
    assert wrote(ok(project.run("generate"))) == []


def truncated_in_hash_line(text: str) -> str:
    lines = text.split("\n")
    return "\n".join([*lines[:2], lines[2][:40]])


def hash_replaced(text: str) -> str:
    """Both hashes of the body (its text's and its code's) replaced."""
    return re.sub(r"(body|code)=[0-9a-f]{64}", lambda found: found[1] + "=" + "f" * 64, text)


def first_line_damaged(text: str) -> str:
    return text.replace(" DO NOT EDIT.", " EDIT AT WILL.", 1)


def cut_in_the_body(text: str) -> str:
    return text[: len(text) // 2]


@pytest.mark.parametrize(
    "damage",
    [truncated_in_hash_line, hash_replaced, cut_in_the_body, first_line_damaged],
    ids=["truncated in the hash line", "hash replaced", "cut in the body", "first line damaged"],
)
def test_a_corrupt_or_truncated_header_counts_as_edited(project: Project, damage: object) -> None:
    migrated(project)
    user = project.entities / "user.py"
    original = user.read_bytes()
    assert callable(damage)
    damaged = damage(original.decode("utf-8"))
    user.write_text(damaged, encoding="utf-8")

    result = project.run("generate")

    assert_one_error(result, "--force")
    assert "app/entities/user.py: edited" in result.stderr
    assert user.read_text(encoding="utf-8") == damaged
    ok(project.run("generate", "--force"))
    assert user.read_bytes() == original


def test_a_users_file_with_an_entity_name_is_flagged_and_never_touched(project: Project) -> None:
    users(project)
    posts(project)
    mine = '"""My own post helpers."""\n\n\nclass Post:\n    pass\n'
    (project.entities / "post.py").write_text(mine, encoding="utf-8")

    result = project.run("migrate")

    assert_one_error(result, code=3)
    assert "app/entities/post.py: not generated by kitgen" in result.stderr
    assert (project.entities / "post.py").read_text(encoding="utf-8") == mine
    assert (project.entities / "user.py").exists() and (project.entities / "_kitgen.py").exists()
    assert ("user", "User") in exports(project)[0]

    forced = project.run("generate", "--force")
    assert_one_error(forced)
    assert "app/entities/post.py: not generated by kitgen" in forced.stderr
    assert (project.entities / "post.py").read_text(encoding="utf-8") == mine


def test_other_files_of_the_user_are_left_alone(project: Project) -> None:
    helpers = project.entities / "helpers.py"
    helpers.write_text("def slug(text: str) -> str:\n    return text.lower()\n", encoding="utf-8")
    os.utime(helpers, ns=(OLD, OLD))
    migrated(project)

    ok(project.run("migrate:fresh", "--force"))
    ok(project.run("migrate:reset", "--force"))

    assert helpers.read_text(encoding="utf-8") == "def slug(text: str) -> str:\n    return text.lower()\n"
    assert helpers.stat().st_mtime_ns == OLD


# --- dropped tables -------------------------------------------------------------------------------


def test_a_dropped_tables_module_is_deleted_and_its_export_removed(project: Project) -> None:
    migrated(project)
    tags(project)
    ok(project.run("migrate"))

    result = ok(project.run("migrate:rollback", "--force"))

    assert "Deleted app/entities/tag.py" in result.stdout
    assert not (project.entities / "tag.py").exists()
    assert exports(project) == ([("post", "Post"), ("user", "User")], ["Post", "User"])
    assert ok(python(project, "import app.entities as e; print(sorted(e.__all__))")).stdout == "['Post', 'User']\n"


def test_a_dropped_tables_export_is_removed_even_when_its_module_was_already_deleted(project: Project) -> None:
    migrated(project)
    tags(project)
    ok(project.run("migrate"))
    (project.entities / "tag.py").unlink()

    ok(project.run("migrate:rollback", "--force"))

    assert exports(project) == ([("post", "Post"), ("user", "User")], ["Post", "User"])
    ok(python(project, "import app.entities"))


def test_a_dropped_tables_edited_module_is_flagged_and_left(project: Project) -> None:
    migrated(project)
    tags(project)
    ok(project.run("migrate"))
    tag = project.entities / "tag.py"
    edited = tag.read_text(encoding="utf-8") + "# keep me\n"
    tag.write_text(edited, encoding="utf-8")

    result = project.run("migrate:rollback", "--force")

    assert_one_error(result, "--force", code=3)
    assert f"Rolling back {TAGS} … done" in result.stdout
    assert "app/entities/tag.py: edited" in result.stderr
    assert tag.read_text(encoding="utf-8") == edited
    assert project.tables() == ["kitgen_migrations", "posts", "users"]

    ok(project.run("generate", "--force"))
    assert not tag.exists()
    assert "Tag" not in exports(project)[1]


# --- __init__.py ----------------------------------------------------------------------------------

USER_INIT = textwrap.dedent(
    '''\
    """My entities package."""

    # My comment, kept as it is.
    from __future__ import annotations

    import os  # for SETTING

    from .helpers import slug  # mine

    SETTING = os.environ.get("SETTING", "x")   # odd  spacing


    def describe(entity: object) -> str:
        """A helper of mine."""
        return f"{type(entity).__name__}: {slug(str(entity))}"


    __all__ = ["describe", "slug"]
    # the end
    '''
)


def user_lines(text: str) -> list[str]:
    """Every non-blank line except kitgen's imports of entity modules and the ``__all__`` statement."""
    tree = ast.parse(text)
    skip: set[int] = set()
    for node in tree.body:
        is_entity_import = isinstance(node, ast.ImportFrom) and node.level == 1 and node.module not in {None, "helpers"}
        is_all = isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets
        )
        if is_entity_import or is_all:
            skip.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return [
        line for number, line in enumerate(text.splitlines(keepends=True), 1) if number not in skip and line.strip()
    ]


def test_the_users_lines_in_init_are_kept_byte_for_byte(project: Project) -> None:
    (project.entities / "__init__.py").write_text(USER_INIT, encoding="utf-8")
    (project.entities / "helpers.py").write_text("def slug(text: str) -> str:\n    return text.lower()\n")
    users(project)
    ok(project.run("migrate"))
    steps = [
        lambda: tags(project),
        lambda: posts(project),
    ]

    for step in steps:
        step()
        ok(project.run("migrate", "--allow-out-of-order"))  # tags is older than posts: a merged branch
        text = (project.entities / "__init__.py").read_text(encoding="utf-8")
        assert user_lines(text) == user_lines(USER_INIT)
    ok(project.run("migrate:rollback", "--force"))
    ok(project.run("migrate:rollback", "--force"))

    text = (project.entities / "__init__.py").read_text(encoding="utf-8")
    assert user_lines(text) == user_lines(USER_INIT)
    assert exports(project) == ([("helpers", "slug"), ("user", "User")], ["User", "describe", "slug"])
    result = ok(python(project, "import app.entities as e; print(e.describe(e.User(id=1, name='A', email=None)))"))
    assert result.stdout.startswith("User: ")


def test_the_init_exports_do_not_depend_on_the_order_of_runs(project: Project, tmp_path: Path) -> None:
    """Applying the migrations one run at a time gives the same folder as applying them at once."""
    at_once = Project(tmp_path / "at_once")
    migrated(at_once, "users", "posts", "tags")
    for table in ("users", "posts", "tags"):
        migrated(project, table)

    assert (project.entities / "__init__.py").read_text(encoding="utf-8") == (
        at_once.entities / "__init__.py"
    ).read_text(encoding="utf-8")
    assert files(project.entities) == files(at_once.entities)


def test_rolling_back_gives_the_init_of_a_project_that_never_had_those_tables(project: Project, tmp_path: Path) -> None:
    migrated(project, "users", "posts", "tags")
    only_users = Project(tmp_path / "only_users")
    migrated(only_users, "users")

    ok(project.run("migrate:rollback", "--step", "2", "--force"))

    assert (project.entities / "__init__.py").read_text(encoding="utf-8") == (
        only_users.entities / "__init__.py"
    ).read_text(encoding="utf-8")
    assert files(project.entities) == files(only_users.entities)


def test_an_unparsable_init_is_one_error_and_nothing_is_half_written(project: Project) -> None:
    users(project)
    broken = "from .user import (\n"
    (project.entities / "__init__.py").write_text(broken, encoding="utf-8")

    result = project.run("migrate")

    assert_one_error(result, "__init__.py", "not valid Python", "1 migration was applied", code=3)
    assert sorted(os.listdir(project.entities)) == ["__init__.py"]
    assert (project.entities / "__init__.py").read_text(encoding="utf-8") == broken

    result = project.run("generate", "--force")
    assert_one_error(result, "__init__.py")
    assert sorted(os.listdir(project.entities)) == ["__init__.py"]


def test_an_unparsable_init_stops_an_update_before_any_file_changes(project: Project) -> None:
    migrated(project)
    (project.entities / "__init__.py").write_text("def broken(:\n", encoding="utf-8")
    (project.entities / "post.py").unlink()
    tags(project)
    before = age(project.entities)
    content = files(project.entities)

    result = project.run("migrate")

    assert_one_error(result, "__init__.py", "was applied", code=3)
    assert files(project.entities) == content
    assert touched(before, project.entities) == set()


def test_a_missing_entities_folder_is_an_error_naming_it(project: Project) -> None:
    users(project)
    shutil.rmtree(project.entities)

    result = project.run("migrate")

    assert_one_error(result, "app/entities")
    assert not project.entities.exists()

    result = project.run("generate", "--entities", "src/models")
    assert_one_error(result, str(project.root / "src" / "models"))
    assert not (project.root / "src").exists()


# --- names ----------------------------------------------------------------------------------------


def test_make_migration_model_names_the_class(project: Project) -> None:
    ok(project.run("make:migration", "create_users_table", "--model", "Member"))

    ok(project.run("migrate"))

    assert class_of(project.entities / "user.py") == ["Member"]
    assert exports(project) == ([("user", "Member")], ["Member"])
    result = ok(python(project, "from app.entities import Member; print(Member.__tablename__)"))
    assert result.stdout == "users\n"


def test_a_migration_class_model_and_a_sql_model_line_name_the_class(project: Project) -> None:
    project.python(
        USERS,
        'db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")',
        'db.execute("DROP TABLE users")',
        extra='model = "Member"\n',
    )
    project.write(
        f"{POSTS}.sql",
        """
        -- kitgen:model Article
        -- migrate:up
        CREATE TABLE posts (id INTEGER PRIMARY KEY);

        -- migrate:down
        DROP TABLE posts;
        """,
    )

    ok(project.run("migrate"))

    assert class_of(project.entities / "user.py") == ["Member"]
    assert class_of(project.entities / "post.py") == ["Article"]
    assert exports(project) == ([("post", "Article"), ("user", "Member")], ["Article", "Member"])


def user_and_users(project: Project, order: tuple[str, str]) -> None:
    for number, table in enumerate(order, 1):
        project.sql(f"2026_01_01_00000{number}_create_{table}", f"CREATE TABLE {table} (id INTEGER PRIMARY KEY);")


def test_user_and_users_get_distinct_modules_the_same_way_every_time(project: Project, tmp_path: Path) -> None:
    user_and_users(project, ("users", "user"))
    ok(project.run("migrate"))
    other = Project(tmp_path / "other")
    user_and_users(other, ("user", "users"))
    ok(other.run("migrate"))

    for one in (project, other):
        assert source_of(one.entities / "user.py") == "user"
        assert source_of(one.entities / "user_2.py") == "users"
        assert class_of(one.entities / "user.py") == ["User"]
        assert class_of(one.entities / "user_2.py") == ["User2"]
        assert exports(one) == ([("user", "User"), ("user_2", "User2")], ["User", "User2"])
        ok(python(one, "import app.entities"))

    content = files(project.entities)
    ok(project.run("migrate:fresh", "--force"))
    assert files(project.entities) == content


# --- determinism ----------------------------------------------------------------------------------


def rich_schema(project: Project) -> None:
    project.python(
        USERS,
        """
        db.execute(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, active BOOLEAN NOT NULL,"
            " born DATE, seen_at DATETIME, balance DECIMAL(10, 2), settings JSON, token UUID, photo BLOB,"
            " score REAL, \\"class\\" TEXT, \\"Weird Name\\" INTEGER)"
        )
        """,
        'db.execute("DROP TABLE users")',
        extra='model = "Account"\n',
    )
    project.sql(
        "2026_01_01_000002_create_people",
        "CREATE TABLE people (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        " nickname VARCHAR(40));\nCREATE VIEW adults AS SELECT id, nickname FROM people;",
        "DROP VIEW adults;\nDROP TABLE people;",
    )


def test_two_projects_with_the_same_migrations_get_identical_bytes(project: Project, tmp_path: Path) -> None:
    other = Project(tmp_path / "other")
    for one in (project, other):
        rich_schema(one)
        ok(one.run("migrate"))

    assert files(project.entities) == files(other.entities)
    assert sorted(files(project.entities)) == ["__init__.py", "_kitgen.py", "adult.py", "person.py", "user.py"]
    assert class_of(project.entities / "user.py") == ["Account"]


def test_fresh_regenerates_identical_bytes_and_writes_nothing(project: Project) -> None:
    rich_schema(project)
    ok(project.run("migrate"))
    content = files(project.entities)
    before = age(project.entities)

    result = ok(project.run("migrate:fresh", "--force"))

    assert wrote(result) == []
    assert files(project.entities) == content
    assert touched(before, project.entities) == set()

    shutil.rmtree(project.entities)
    project.entities.mkdir()
    (project.entities / "__init__.py").write_text('"""Entities."""\n', encoding="utf-8")
    ok(project.run("migrate:fresh", "--force"))
    assert files(project.entities) == content


# --- model types ----------------------------------------------------------------------------------

IS_DATACLASS = "import dataclasses, app.entities as e; print([dataclasses.is_dataclass(e.User), e.User.__module__])"


@pytest.mark.parametrize("how", ["option", "environment", "pyproject"])
def test_the_dataclass_model_type(project: Project, how: str) -> None:
    users(project)
    args: tuple[str, ...] = ("migrate",)
    env: dict[str, str] = {}
    if how == "option":
        args = ("migrate", "--model-type", "dataclass")
    elif how == "environment":
        env = {"KITGEN_MODEL_TYPE": "dataclass"}
    else:
        with (project.root / "pyproject.toml").open("a", encoding="utf-8") as handle:
            handle.write('\n[tool.kitgen]\nmodel_type = "dataclass"\n')

    ok(project.run(*args, env=env))

    text = (project.entities / "user.py").read_text(encoding="utf-8")
    assert "@dataclass" in text and "pydantic" not in text
    assert ok(python(project, IS_DATACLASS)).stdout == "[True, 'app.entities.user']\n"
    again = ok(
        project.run("generate", env=env) if how != "option" else project.run("generate", "--model-type", "dataclass")
    )
    assert wrote(again) == []


def test_switching_the_model_type_regenerates_every_entity(project: Project) -> None:
    migrated(project)
    assert ok(python(project, IS_DATACLASS)).stdout == "[False, 'app.entities.user']\n"

    result = ok(project.run("generate", "--model-type", "dataclass"))

    assert wrote(result) == ["Wrote app/entities/post.py", "Wrote app/entities/user.py"]
    assert ok(python(project, IS_DATACLASS)).stdout == "[True, 'app.entities.user']\n"


@pytest.mark.parametrize("how", ["option", "environment", "pyproject"])
def test_an_unknown_model_type_is_one_error_and_changes_nothing(project: Project, how: str) -> None:
    users(project)
    args: tuple[str, ...] = ("migrate",)
    env: dict[str, str] = {}
    if how == "option":
        args = ("migrate", "--model-type", "attrs")
    elif how == "environment":
        env = {"KITGEN_MODEL_TYPE": "attrs"}
    else:
        with (project.root / "pyproject.toml").open("a", encoding="utf-8") as handle:
            handle.write('\n[tool.kitgen]\nmodel_type = "attrs"\n')

    result = project.run(*args, env=env)

    assert result.returncode != 0
    assert_one_error(result, "attrs", code=result.returncode)
    assert sorted(os.listdir(project.entities)) == ["__init__.py"]
    assert not project.database.exists()


# --- the sample application -------------------------------------------------------------------------


def test_the_sample_layout_migrates_and_imports(project: Project) -> None:
    shutil.rmtree(project.migrations)
    shutil.copytree(REPOSITORY / "database" / "migrations", project.migrations)
    shutil.copy(REPOSITORY / "app" / "__init__.py", project.root / "app" / "__init__.py")
    pyproject = (REPOSITORY / "pyproject.toml").read_text(encoding="utf-8")
    kitgen_table = pyproject[pyproject.index("[tool.kitgen]") :].split("\n\n", 1)[0]
    (project.root / "pyproject.toml").write_text(
        f'[project]\nname = "sample"\nversion = "0"\n\n{kitgen_table}\n', encoding="utf-8"
    )

    ok(project.run("migrate"))

    assert sorted(files(project.entities)) == [
        "__init__.py",
        "_kitgen.py",
        "comment.py",
        "post.py",
        "profile.py",
        "user.py",
    ]
    with project.connect() as connection:
        connection.execute("INSERT INTO users (name, email, created_at, updated_at) VALUES ('Ann', 'a@x', 1, 2)")
    code = (
        "import sqlite3, app.entities as e\n"
        "connection = sqlite3.connect('database/database.sqlite')\n"
        "connection.row_factory = sqlite3.Row\n"
        "user = e.User.from_row(connection.execute('SELECT * FROM users').fetchone())\n"
        "unchanged = user.to_row()\n"
        "user.email = 'b@x'\n"
        "print(e.__file__, sorted(e.__all__), user.name, unchanged, user.to_row())\n"
    )
    result = ok(python(project, code))
    exports = "['Comment', 'Post', 'Profile', 'User']"
    assert result.stdout == f"{project.entities / '__init__.py'} {exports} Ann {{}} {{'email': 'b@x'}}\n"
    assert ok(project.run("check")).stdout.strip().endswith("ok.")


# --- decimals SQLite cannot keep -------------------------------------------------------------------

PRICES = "2026_01_01_000004_create_prices_table"
TAX = "2026_01_01_000005_add_tax_to_prices"
LOSSY = {"prices.amount": 18, "prices.total": 20, "prices.fee": 16}


def prices(project: Project) -> None:
    """DECIMAL(18,4), NUMERIC(20) and decimal(16, 2) lose digits; the others do not."""
    project.create_table(
        PRICES,
        "prices",
        "id INTEGER PRIMARY KEY, amount DECIMAL(18,4) NOT NULL, total NUMERIC(20), fee decimal(16, 2),"
        " small DECIMAL(10,2), plain NUMERIC, exact TEXT NOT NULL",
    )
    with (project.root / "pyproject.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[tool.kitgen.types]\n"prices.exact" = "decimal"\n')


def precision_warnings(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """table.column → its ``Warning: …`` line on stderr (none on stdout)."""
    assert "Warning: " not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.startswith("Warning: ")]
    found = {line.removeprefix("Warning: ").split(" ", 1)[0]: line for line in lines}
    assert len(found) == len(lines), lines  # once per column
    return found


def assert_precision_warnings(result: subprocess.CompletedProcess[str], expected: dict[str, int]) -> None:
    found = precision_warnings(result)
    assert sorted(found) == sorted(expected), result.stderr
    for name, precision in expected.items():
        line = found[name]
        assert f"(precision {precision})" in line and "only 15 significant digits" in line, line
        assert f'declare it TEXT with "{name}" = "decimal" in [tool.kitgen.types]' in line, line
        assert "store integer minor units (e.g. cents) in an INTEGER column" in line, line


def test_a_decimal_column_sqlite_cannot_keep_is_warned_about_when_its_entity_is_written(project: Project) -> None:
    prices(project)

    assert_precision_warnings(ok(project.run("migrate")), LOSSY)
    assert "amount: decimal.Decimal\n" in (project.entities / "price.py").read_text(encoding="utf-8")

    for args in (("migrate",), ("generate",), ("migrate",)):  # nothing to write: nothing to say
        result = ok(project.run(*args))
        assert wrote(result) == [] and precision_warnings(result) == {}, result.stderr

    (project.entities / "price.py").unlink()
    assert_precision_warnings(ok(project.run("generate")), LOSSY)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("migrate:rollback", "--force"), LOSSY),
        (("migrate:refresh", "--force"), {**LOSSY, "prices.tax": 20}),
        (("migrate:fresh", "--force"), {**LOSSY, "prices.tax": 20}),
    ],
    ids=["rollback", "refresh", "fresh"],
)
def test_the_rollback_family_warns_about_the_entities_it_writes(
    project: Project, args: tuple[str, ...], expected: dict[str, int]
) -> None:
    prices(project)
    project.sql(TAX, "ALTER TABLE prices ADD COLUMN tax DECIMAL(20,6);", "ALTER TABLE prices DROP COLUMN tax;")
    assert_precision_warnings(ok(project.run("migrate", "--step")), {**LOSSY, "prices.tax": 20})
    (project.entities / "price.py").unlink()  # refresh and fresh end with the same schema: make them write it

    assert_precision_warnings(ok(project.run(*args)), expected)


def test_migrations_applied_then_entities_that_cannot_be_written_exit_3_and_say_so(project: Project) -> None:
    """A deploy script tells "migrated, entities not written" (3) from "a migration failed" (1)."""
    project.create_table("2026_01_01_000001_create_a_table", "a")
    assert project.run("migrate").returncode == 0
    init = project.entities / "__init__.py"
    init.write_text(init.read_text() + "<<<<<<< HEAD\nfrom .a import A\n=======\n>>>>>>> theirs\n")  # a merge conflict
    project.create_table("2026_01_01_000002_create_b_table", "b")

    result = project.run("migrate")

    assert_one_error(result, "1 migration was applied, but the entities were not brought up to date", code=3)
    assert project.tables() == ["a", "b", "kitgen_migrations"]


def test_a_support_module_edited_by_hand_is_never_overwritten_without_force(project: Project) -> None:
    project.create_table("2026_01_01_000001_create_users", "users", "id INTEGER PRIMARY KEY, name TEXT")
    assert project.run("migrate").returncode == 0
    support = project.entities / "_kitgen.py"
    edited = support.read_text() + "\n\ndef my_helper() -> int:\n    return 42\n"
    support.write_text(edited)
    generate = project.run("generate")
    assert generate.returncode == 1 and "_kitgen.py: edited" in generate.stderr
    project.create_table("2026_01_01_000002_create_tags", "tags")
    migrate = project.run("migrate")
    assert migrate.returncode == 3 and "_kitgen.py: edited" in migrate.stderr
    assert support.read_text() == edited
    assert project.run("generate", "--force").returncode == 0
    assert "my_helper" not in support.read_text()
