"""``kitgen init``: the [tool.kitgen] table in pyproject.toml, folders only inside the root, all checked first."""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path

import pytest
from conftest import KITGEN, Project, assert_one_error

from kitgen import commands
from kitgen.commands.scaffolding import _replace_atomically
from kitgen.config import load_config
from kitgen.driver.dialect import POSTGRESQL
from kitgen.errors import ConfigError, UsageError

DEFAULT_TABLE = (
    "[tool.kitgen]\n"
    'database = "database/database.sqlite"\n'
    'migrations = "database/migrations"\n'
    'entities = "app/entities"\n'
    'model_type = "pydantic"\n'
)
DEFAULT_PATHS = {
    "database": "database/database.sqlite",
    "migrations": "database/migrations",
    "entities": "app/entities",
    "model_type": "pydantic",
}
USERS_SQL = "-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE users;\n"


def kitgen(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed console script in ``cwd``, with no KITGEN_* variable but ``env``."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith("KITGEN_")}
    environ.update(env or {})
    return subprocess.run([KITGEN, *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=120)


def tree(folder: Path) -> list[str]:
    """Every file and folder under ``folder``, relative to it."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


def init(root: Path, **options: object) -> list[str]:
    return commands.init_project(load_config(cwd=root, options=options, environ={})).created


# --- the [tool.kitgen] table ---------------------------------------------------------------------------


def test_init_in_an_empty_folder_creates_pyproject_with_the_table(tmp_path: Path) -> None:
    result = kitgen(tmp_path, "init")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"Project root: {tmp_path}"
    assert result.stdout.splitlines()[1:] == [
        "Created pyproject.toml ([tool.kitgen])",
        "Created database/migrations/",
        "Created app/entities/",
        "Created app/__init__.py",
        "Created app/entities/__init__.py",
        "Created .gitignore (database line)",
    ]
    assert (tmp_path / "pyproject.toml").read_text(encoding="utf-8") == DEFAULT_TABLE
    again = kitgen(tmp_path, "init")
    assert again.stdout.splitlines()[1:] == ["Nothing to create: the project is already set up."]
    assert (tmp_path / "pyproject.toml").read_text(encoding="utf-8") == DEFAULT_TABLE


@pytest.mark.parametrize(
    ("original", "separator"),
    [
        (b'[project]\nname = "x"\n', b"\n"),
        (b'[project]\nname = "x"', b"\n\n"),
        (b'[project]\nname = "x"\n\n', b""),
        (b'[project]\r\nname = "x"\r\n', b"\r\n"),
        (b"", b""),
        (b"# only a comment", b"\n\n"),
        ('[project]\nname = "Zoë"  # trailing comment\n'.encode(), b"\n"),
        (b'[project]\nname = "x"\n\n[tool.black]\nline-length = 100\n\n[tool.ruff.lint]\nselect = ["E"]\n', b"\n"),
        (b"tool.black.line-length = 100\n", b"\n"),
        (b'[tool]\nshared = 1\n\n[project]\nname = "x"\n', b"\n"),
        (b'[project]\ndescription = """\nmulti-line\n"""\n', b"\n"),
    ],
)
def test_init_appends_the_table_keeping_every_byte(tmp_path: Path, original: bytes, separator: bytes) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_bytes(original)
    before = tomllib.loads(original.decode())

    created = init(tmp_path)

    newline = b"\r\n" if b"\r\n" in original else b"\n"
    updated = pyproject.read_bytes()
    assert created[0] == "pyproject.toml ([tool.kitgen])"
    assert updated == original + separator + DEFAULT_TABLE.encode().replace(b"\n", newline)
    assert tomllib.loads(updated.decode()) == {**before, "tool": {**before.get("tool", {}), "kitgen": DEFAULT_PATHS}}
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".pyproject")] == []


@pytest.mark.parametrize("model_type", ["dataclass", "msgspec"])
def test_init_model_type_is_written_into_the_table_and_used_from_then_on(tmp_path: Path, model_type: str) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")

    result = kitgen(tmp_path, "init", "--model-type", model_type)

    assert result.returncode == 0, result.stderr
    table = tomllib.loads((tmp_path / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["kitgen"]
    assert table["model_type"] == model_type
    assert load_config(cwd=tmp_path, environ={}).model_type == model_type
    (tmp_path / "database" / "migrations" / "2026_01_01_000001_create_users_table.sql").write_text(USERS_SQL)
    assert kitgen(tmp_path, "migrate").returncode == 0
    assert kitgen(tmp_path, "check").returncode == 0  # no option: the table is the truth


def test_init_refuses_an_unknown_model_type_and_creates_nothing(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")

    result = kitgen(tmp_path, "init", "--model-type", "attrs")

    assert_one_error(result, "attrs", "--model-type", "pydantic, dataclass, msgspec", code=result.returncode)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["pyproject.toml"]


def test_init_records_the_paths_it_was_given_relative_to_the_root(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    (tmp_path / "src").mkdir()

    result = kitgen(
        tmp_path / "src",
        "init",
        "--database",
        "../db/app.sqlite",
        "--entities",
        "models",
        env={"KITGEN_MIGRATIONS": "../db/up"},
    )

    assert result.returncode == 0, result.stderr
    table = tomllib.loads((tmp_path / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["kitgen"]
    assert table == {
        "database": "db/app.sqlite",
        "migrations": "db/up",
        "entities": "src/models",
        "model_type": "pydantic",
    }
    (tmp_path / "db" / "up" / "2026_01_01_000001_create_users_table.sql").write_text(USERS_SQL, encoding="utf-8")
    migrated = kitgen(tmp_path / "src" / "models", "migrate")  # no option: the table is enough
    assert migrated.returncode == 0, migrated.stderr
    assert (tmp_path / "db" / "app.sqlite").is_file()
    assert (tmp_path / "src" / "models" / "user.py").is_file()


def test_init_leaves_an_existing_table_alone(tmp_path: Path) -> None:
    text = '[project]\nname = "x"\n\n[tool.kitgen]\nprotect = false\n'
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")

    created = init(tmp_path, database="other/app.sqlite")

    assert "pyproject.toml ([tool.kitgen])" not in created
    assert "other/" in created
    assert (tmp_path / "pyproject.toml").read_text(encoding="utf-8") == text


def test_an_existing_folder_outside_the_root_is_recorded_as_an_absolute_path(tmp_path: Path) -> None:
    root, shared = tmp_path / "project", tmp_path / "shared"
    root.mkdir()
    shared.mkdir()

    result = kitgen(root, "init", "--database", "../shared/app.sqlite")

    assert result.returncode == 0, result.stderr
    table = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["kitgen"]
    assert table["database"] == str(shared.resolve() / "app.sqlite")
    assert tree(shared) == []
    assert ".gitignore" not in os.listdir(root)  # the database lives outside the project


# --- refusals: nothing is created ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "fragments"),
    [
        (b'[project\nname = "x"\n', ("pyproject.toml is not valid TOML",)),
        (b"tool = {black = {line-length = 100}}\n", ("cannot add a [tool.kitgen] table", "inline tool")),
        (b"tool = 3\n", ("cannot add a [tool.kitgen] table", "tool key is not a table")),
        (b"[[tool]]\nname = 1\n", ("cannot add a [tool.kitgen] table", "tool key is not a table")),
        (b'[tool]\nkitgen = "yes"\n', ("[tool.kitgen]", "is not a table")),
    ],
)
def test_init_refuses_a_pyproject_it_cannot_add_the_table_to(
    tmp_path: Path, original: bytes, fragments: tuple[str, ...]
) -> None:
    (tmp_path / "pyproject.toml").write_bytes(original)

    result = kitgen(tmp_path, "init")

    assert_one_error(result, *fragments)
    assert (tmp_path / "pyproject.toml").read_bytes() == original
    assert tree(tmp_path) == ["pyproject.toml"]


@pytest.mark.parametrize(
    ("args", "env", "what", "outside"),
    [
        (("--database", "../shared/app.sqlite"), {}, "database folder", "shared"),
        (("--migrations", "../shared/migrations"), {}, "migrations folder", "shared/migrations"),
        ((), {"KITGEN_ENTITIES": "../shared/entities"}, "entities folder", "shared/entities"),
    ],
)
def test_init_creates_no_folder_outside_the_root(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], what: str, outside: str
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")

    result = kitgen(root, "init", *args, env=env)

    folder = tmp_path.resolve() / outside
    assert_one_error(result, f"the {what} {folder} does not exist", f"outside the project root {root.resolve()}")
    assert "create it yourself, or choose a path inside the project" in result.stderr
    assert sorted(os.listdir(tmp_path)) == ["project"]
    assert tree(root) == ["pyproject.toml"]
    assert (root / "pyproject.toml").read_text(encoding="utf-8") == '[project]\nname = "x"\n'


def test_init_in_a_folder_without_any_project_creates_only_there(tmp_path: Path) -> None:
    folder = tmp_path / "scratch"
    folder.mkdir()
    result = kitgen(folder, "init", "--migrations", "../migrations")
    assert_one_error(result, "outside the project root")
    assert sorted(os.listdir(tmp_path)) == ["scratch"] and os.listdir(folder) == []


def test_a_file_in_the_way_stops_init_before_anything_is_created(tmp_path: Path) -> None:
    (tmp_path / "database").write_text("not a folder", encoding="utf-8")

    with pytest.raises(UsageError, match=r"database is a file, where kitgen needs a folder"):
        init(tmp_path)

    assert tree(tmp_path) == ["database"]


# --- writing pyproject.toml safely ----------------------------------------------------------------------


def test_the_rewritten_pyproject_keeps_its_mode_and_its_symlink(tmp_path: Path) -> None:
    real = tmp_path / "config" / "pyproject.toml"
    real.parent.mkdir()
    real.write_text('[project]\nname = "x"\n', encoding="utf-8")
    real.chmod(0o640)
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").symlink_to(real)

    init(root)

    assert (root / "pyproject.toml").is_symlink()
    assert real.read_text(encoding="utf-8") == f'[project]\nname = "x"\n\n{DEFAULT_TABLE}'
    assert real.stat().st_mode & 0o777 == 0o640
    assert sorted(os.listdir(real.parent)) == ["pyproject.toml"]


def test_a_pyproject_changed_meanwhile_is_not_replaced(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "edited"\n', encoding="utf-8")

    with pytest.raises(ConfigError, match="changed while kitgen init was adding"):
        _replace_atomically(
            pyproject, b'[project]\nname = "x"\n\n' + DEFAULT_TABLE.encode(), b'[project]\nname = "x"\n'
        )

    assert pyproject.read_text(encoding="utf-8") == '[project]\nname = "edited"\n'
    assert os.listdir(tmp_path) == ["pyproject.toml"]


def test_init_in_a_monorepo_service_with_its_own_pyproject_sets_up_that_service(tmp_path: Path) -> None:
    """Two services of one repository, the repository root already a kitgen project: each service's init
    sets up the service, and each command run in it finds it."""
    root = tmp_path / "mono"
    (root / ".git").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n")
    first = kitgen(root, "init")
    assert first.returncode == 0, first.stderr
    for service in ("api", "web"):
        folder = root / "services" / service
        folder.mkdir(parents=True)
        (folder / "pyproject.toml").write_text(f'[project]\nname = "{service}"\n')

        result = kitgen(folder, "init")

        assert result.returncode == 0, result.stderr
        assert f"Project root: {folder}" in result.stdout
        assert (folder / "database" / "migrations").is_dir()
        assert "[tool.kitgen]" in (folder / "pyproject.toml").read_text()
        status = kitgen(folder / "app", "migrate:status")
        assert "Database: database/database.sqlite" in status.stdout, status.stderr
    assert sorted(path.name for path in (root / "services").iterdir()) == ["api", "web"]


def test_init_with_a_server_url_writes_it_without_its_password_and_makes_no_database_folder(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    root.mkdir()
    (root / ".git").mkdir()
    result = subprocess.run(
        [KITGEN, "init", "--database", "postgresql://app:hunter2@db.internal:5432/shop?sslmode=require"],
        cwd=root,
        capture_output=True,
        text=True,
        env={key: value for key, value in os.environ.items() if not key.startswith("KITGEN_")},
    )
    assert result.returncode == 0, result.stderr
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    assert 'database = "postgresql://app@db.internal:5432/shop?sslmode=require"' in text
    assert "hunter2" not in text + result.stdout + result.stderr
    assert sorted(path.name for path in (root / "database").iterdir()) == ["migrations"]
    assert not (root / ".gitignore").exists()


# --- make:migration ------------------------------------------------------------------------------------


def test_make_migration_writes_the_sql_of_the_dialect_it_is_given(project: Project) -> None:
    sqlite_sql = commands.make_migration(project.config(), "create_order_table", sql=True).read_text()
    postgres_sql = commands.make_migration(project.config(), "create_user_table", sql=True, dialect=POSTGRESQL)
    postgres_python = commands.make_migration(project.config(), "drop_group_from_order", dialect=POSTGRESQL)

    assert 'CREATE TABLE "order" (\n    id INTEGER PRIMARY KEY,' in sqlite_sql
    assert 'CREATE TABLE "user" (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,' in postgres_sql.read_text()
    assert 'db.execute(\'ALTER TABLE "order" DROP COLUMN "group"\')' in postgres_python.read_text()


def test_make_migration_writes_the_configured_engines_ddl(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.kitgen]\ndatabase = "postgresql://app@db/shop"\n', encoding="utf-8")
    (tmp_path / "database" / "migrations").mkdir(parents=True)
    config = load_config(cwd=tmp_path, environ={})
    path = commands.make_migration(config, "create_orders_table", sql=True)
    text = path.read_text(encoding="utf-8")
    assert "GENERATED ALWAYS AS IDENTITY" in text and "INTEGER PRIMARY KEY" not in text


def test_init_leaves_a_server_url_from_the_environment_in_the_environment(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    root.mkdir()
    (root / ".git").mkdir()
    environ = {key: value for key, value in os.environ.items() if not key.startswith("KITGEN_")}
    environ["DATABASE_URL"] = "postgresql://app@db.internal/shop"
    result = subprocess.run([KITGEN, "init"], cwd=root, capture_output=True, text=True, env=environ)
    assert result.returncode == 0, result.stderr
    table = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["kitgen"]
    assert "database" not in table
    assert str(load_config(cwd=root, environ={"DATABASE_URL": "postgresql://app@other/shop"}).database).endswith(
        "@other/shop"
    )
