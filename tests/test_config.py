"""Configuration precedence: option > environment > [tool.kitgen] > default; the project root; strict types."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import KITGEN, assert_one_error

from kitgen.config import find_root, load_config
from kitgen.errors import ConfigError


def make_root(tmp_path: Path, kitgen_table: str = "") -> Path:
    (tmp_path / "pyproject.toml").write_text(
        f'[project]\nname = "x"\n\n[tool.kitgen]\n{kitgen_table}', encoding="utf-8"
    )
    return tmp_path


def kitgen(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed console script in ``cwd``, with no KITGEN_* variable but ``env``."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith("KITGEN_")}
    environ.update(env or {})
    return subprocess.run([KITGEN, *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=120)


def test_defaults_are_relative_to_the_root_found_upward(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    nested = root / "app" / "deep"
    nested.mkdir(parents=True)
    config = load_config(cwd=nested, environ={})
    assert config.root == root.resolve()
    assert config.database == root.resolve() / "database" / "database.sqlite"
    assert config.migrations == root.resolve() / "database" / "migrations"
    assert config.entities == root.resolve() / "app" / "entities"
    assert (config.protect, config.lock_timeout, config.destructive_prohibited) == (False, 30.0, False)
    assert (config.out_of_order, config.generate) == (False, True)


# --- the project root ------------------------------------------------------------------------------


def test_without_pyproject_or_git_the_current_folder_is_the_root(tmp_path: Path) -> None:
    assert find_root(tmp_path) == tmp_path


def test_the_nearest_kitgen_table_beats_a_nearer_pyproject_without_one(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    package = root / "app"
    (package / "sub").mkdir(parents=True)
    (package / "pyproject.toml").write_text('[project]\nname = "kitgen-sub"\n\n[tool.black]\n', encoding="utf-8")
    (root / ".git").mkdir()
    assert find_root(package / "sub") == root


def test_without_a_kitgen_table_the_nearest_pyproject_is_the_root(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "outer"\n', encoding="utf-8")
    (tmp_path / "app" / "sub").mkdir(parents=True)
    (tmp_path / "app" / "pyproject.toml").write_text('[project]\nname = "inner"\n', encoding="utf-8")
    assert find_root(tmp_path / "app" / "sub") == tmp_path / "app"


@pytest.mark.parametrize("git", ["folder", "file"])
def test_without_any_pyproject_the_git_root_is_the_root(tmp_path: Path, git: str) -> None:
    (tmp_path / "app" / "sub").mkdir(parents=True)
    if git == "folder":
        (tmp_path / ".git").mkdir()
    else:  # a worktree or a submodule
        (tmp_path / ".git").write_text("gitdir: /elsewhere/.git/worktrees/x\n", encoding="utf-8")
    assert find_root(tmp_path / "app" / "sub") == tmp_path


def test_the_search_stops_at_the_git_root_even_with_a_kitgen_project_above(tmp_path: Path) -> None:
    make_root(tmp_path)  # a project that uses kitgen, with a repository cloned inside it
    clone = tmp_path / "vendor" / "clone"
    (clone / "sub").mkdir(parents=True)
    (clone / ".git").mkdir()
    assert find_root(clone / "sub") == clone
    assert find_root(clone / "sub", new_project=True) == clone


def test_init_in_a_repository_below_a_pyproject_sets_up_the_repository(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "home"\n', encoding="utf-8")
    repo = tmp_path / "code" / "myapp"
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)

    result = kitgen(repo, "init")

    assert result.returncode == 0, result.stderr
    assert f"Project root: {repo.resolve()}" in result.stdout
    assert (repo / "pyproject.toml").is_file() and (repo / "database" / "migrations").is_dir()
    assert (tmp_path / "pyproject.toml").read_text(encoding="utf-8") == '[project]\nname = "home"\n'
    assert not (tmp_path / "database").exists()


def test_a_broken_pyproject_on_the_way_up_is_reported(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    (root / "app").mkdir()
    (root / "app" / "pyproject.toml").write_text("[tool.kitgen\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"app/pyproject.toml is not valid TOML"):
        load_config(cwd=root / "app", environ={})


def test_commands_in_a_subfolder_find_the_project_with_the_kitgen_table(tmp_path: Path) -> None:
    myapp = tmp_path / "myapp"
    myapp.mkdir()
    make_root(myapp, 'database = "var/app.sqlite"\n')
    (myapp / "app" / "sub").mkdir(parents=True)
    (myapp / "app" / "pyproject.toml").write_text('[project]\nname = "sub"\n', encoding="utf-8")
    (myapp / "database" / "migrations").mkdir(parents=True)
    (myapp / "database" / "migrations" / "2026_01_01_000001_create_users_table.sql").write_text(
        "-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE users;\n"
    )
    (myapp / "var").mkdir()

    status = kitgen(myapp / "app" / "sub", "migrate:status")

    assert status.returncode == 0, status.stderr
    assert "2026_01_01_000001_create_users_table" in status.stdout
    assert not (myapp / "app" / "database").exists() and not (myapp / "app" / "sub" / "database").exists()


def test_commands_in_a_subfolder_of_a_git_repository_without_pyproject_find_its_root(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "app" / "sub").mkdir(parents=True)
    assert kitgen(tmp_path / "app" / "sub", "init").returncode == 0
    (tmp_path / "database" / "migrations" / "2026_01_01_000001_create_users_table.sql").write_text(
        "-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE users;\n"
    )

    migrated = kitgen(tmp_path / "app", "migrate")

    assert migrated.returncode == 0, migrated.stderr
    assert (tmp_path / "database" / "database.sqlite").is_file()
    assert (tmp_path / "app" / "entities" / "user.py").is_file()
    assert sorted(os.listdir(tmp_path / "app")) == ["__init__.py", "entities", "sub"]


# --- precedence and paths ----------------------------------------------------------------------------


def test_option_beats_environment_beats_pyproject(tmp_path: Path) -> None:
    root = make_root(tmp_path, 'database = "from_file.sqlite"\nlock_timeout = 5\n')
    env = {"KITGEN_DATABASE": "from_env.sqlite", "KITGEN_LOCK_TIMEOUT": "7"}
    assert load_config(cwd=root, environ={}).database.name == "from_file.sqlite"
    assert load_config(cwd=root, environ={}).lock_timeout == 5.0
    assert load_config(cwd=root, environ=env).database.name == "from_env.sqlite"
    assert load_config(cwd=root, environ=env).lock_timeout == 7.0
    chosen = load_config(cwd=root, options={"database": "from_option.sqlite"}, environ=env)
    assert chosen.database.name == "from_option.sqlite"


def test_option_and_environment_paths_are_relative_to_the_current_folder(tmp_path: Path) -> None:
    root = make_root(tmp_path, 'migrations = "db/migrations"\n')
    sub = root / "sub"
    sub.mkdir()
    config = load_config(cwd=sub, options={"database": "local.sqlite"}, environ={"KITGEN_ENTITIES": "models"})
    assert config.database == sub.resolve() / "local.sqlite"
    assert config.entities == sub.resolve() / "models"
    assert config.migrations == root.resolve() / "db" / "migrations"


def test_protect_and_production_prohibit_destructive_commands(tmp_path: Path) -> None:
    assert load_config(cwd=make_root(tmp_path, "protect = true\n"), environ={}).destructive_prohibited
    other = tmp_path / "other"
    other.mkdir()
    assert load_config(cwd=make_root(other), environ={"KITGEN_ENV": "Production"}).destructive_prohibited


@pytest.mark.parametrize(
    ("table", "environ", "options", "expected"),
    [
        ("", {}, {}, (False, True)),
        ("out_of_order = true\ngenerate = false\n", {}, {}, (True, False)),
        ("", {"KITGEN_OUT_OF_ORDER": "true", "KITGEN_GENERATE": "0"}, {}, (True, False)),
        ("", {"KITGEN_OUT_OF_ORDER": "yes", "KITGEN_GENERATE": "off"}, {}, (True, False)),
        ("generate = true\n", {"KITGEN_GENERATE": "false"}, {}, (False, False)),
        ("out_of_order = false\n", {"KITGEN_OUT_OF_ORDER": "no"}, {"out_of_order": True}, (True, True)),
        ("", {"KITGEN_GENERATE": "true"}, {"generate": False}, (False, False)),
        ("generate = false\n", {}, {"out_of_order": None, "generate": None}, (False, False)),
    ],
)
def test_out_of_order_and_generate(
    tmp_path: Path, table: str, environ: dict[str, str], options: dict[str, object], expected: tuple[bool, bool]
) -> None:
    config = load_config(cwd=make_root(tmp_path, table), options=options, environ=environ)
    assert (config.out_of_order, config.generate) == expected


def test_environment_strings_are_parsed(tmp_path: Path) -> None:
    environ = {"KITGEN_PROTECT": "false", "KITGEN_LOCK_TIMEOUT": "30", "KITGEN_MODEL_TYPE": "dataclass"}
    config = load_config(cwd=make_root(tmp_path, "protect = true\nlock_timeout = 1\n"), environ=environ)
    assert (config.protect, config.lock_timeout, config.model_type) == (False, 30.0, "dataclass")
    assert load_config(cwd=tmp_path, environ={"KITGEN_PROTECT": "TRUE", "KITGEN_LOCK_TIMEOUT": "0.5"}).protect


# --- errors, naming where the value came from ---------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('databse = "x.sqlite"\n', r"unknown key 'databse' in \[tool.kitgen\].*known keys are database"),
        ("database = 3\n", "'database' must be a path or a database URL, got 3"),
        ('database = ""\n', "must be a path or a database URL"),
        ('migrations = ["db"]\n', "'migrations' must be a non-empty path string"),
        ('protect = "sometimes"\n', "must be true or false"),
        ('protect = "false"\n', "'protect' must be true or false, got 'false'"),
        ("protect = 0\n", "'protect' must be true or false, got 0"),
        ('out_of_order = "yes"\n', "'out_of_order' must be true or false, got 'yes'"),
        ('generate = "false"\n', "'generate' must be true or false, got 'false'"),
        ('lock_timeout = "soon"\n', "must be a number of seconds"),
        ('lock_timeout = "30"\n', "'lock_timeout' must be a number of seconds ≥ 0, got '30'"),
        ("lock_timeout = -1\n", "must be a number of seconds"),
        ("lock_timeout = true\n", "must be a number of seconds"),
        ("lock_timeout = nan\n", "must be a number of seconds"),
        ("model_type = 3\n", "'model_type' must be a model type name, got 3"),
        ('model_type = "attrs"\n', "unknown model_type 'attrs'"),
        ("types = 3\n", r"\[tool.kitgen.types\] must be a table"),
        ("database = \n", "is not valid TOML"),
    ],
)
def test_bad_settings_are_explained(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        load_config(cwd=make_root(tmp_path, table), environ={})
    assert str(tmp_path / "pyproject.toml") in str(raised.value)


@pytest.mark.parametrize("table", ['protect = "true"\n', 'lock_timeout = "30"\n', "database = 3\n"])
def test_only_the_value_in_use_is_checked(tmp_path: Path, table: str) -> None:
    """A wrongly typed key that the environment overrides is not read, so not an error."""
    environ = {"KITGEN_PROTECT": "1", "KITGEN_LOCK_TIMEOUT": "3", "KITGEN_DATABASE": "x.sqlite"}
    config = load_config(cwd=make_root(tmp_path, table), environ=environ)
    assert (config.protect, config.lock_timeout, config.database.name) == (True, 3.0, "x.sqlite")


@pytest.mark.parametrize(
    ("environ", "options", "origin", "fix"),
    [
        ({"KITGEN_LOCK_TIMEOUT": "later"}, {}, "(from KITGEN_LOCK_TIMEOUT)", "set e.g. KITGEN_LOCK_TIMEOUT=30"),
        ({}, {"lock_timeout": float("nan")}, "(from --lock-timeout)", "pass e.g. --lock-timeout 30"),
        (
            {},
            {},
            "(from lock_timeout in [tool.kitgen] of {pyproject})",
            "write e.g. lock_timeout = 30 in [tool.kitgen]",
        ),
        ({"KITGEN_PROTECT": "maybe"}, {}, "(from KITGEN_PROTECT)", "set KITGEN_PROTECT to true or false"),
        ({"KITGEN_GENERATE": "never"}, {}, "(from KITGEN_GENERATE)", "set KITGEN_GENERATE to true or false"),
        ({}, {"out_of_order": "sometimes"}, "(from --allow-out-of-order)", "pass --allow-out-of-order"),
        ({"KITGEN_MODEL_TYPE": "attrs"}, {}, "unknown model_type 'attrs' (from KITGEN_MODEL_TYPE)", "use one of"),
        ({}, {"database": ""}, "(from --database)", "pass e.g. --database database/database.sqlite"),
    ],
)
def test_errors_name_where_the_value_came_from(
    tmp_path: Path, environ: dict[str, str], options: dict[str, object], origin: str, fix: str
) -> None:
    root = make_root(tmp_path, 'lock_timeout = "30"\n' if not environ and not options else "")
    with pytest.raises(ConfigError) as raised:
        load_config(cwd=root, options=options, environ=environ)
    assert origin.format(pyproject=root / "pyproject.toml") in raised.value.what
    assert fix in raised.value.hint


@pytest.mark.parametrize(
    ("keys", "hint"),
    [
        ("lock_timout = 3\n", "did you mean 'lock_timeout'? Otherwise remove it; known keys are database, entities,"),
        ("database_file = 'x'\n", "did you mean 'database'? Otherwise remove it"),
        ("out_of_ordr = true\n", "did you mean 'out_of_order'?"),
        ("migration = 'x'\n", "did you mean 'migrations'?"),
        ("model_types = 'x'\n", "did you mean 'model_type' or 'types'?"),
        ("_type = 'x'\n", "did you mean 'types' or 'model_type'?"),
        ("colour = 'red'\n", "remove or correct it; known keys are database, entities, generate, lock_timeout,"),
        (
            "protct = true\ngenrate = false\nzzz = 1\n",
            "did you mean 'generate' for 'genrate', 'protect' for 'protct'? Otherwise remove them; known keys",
        ),
    ],
)
def test_unknown_keys_suggest_the_closest_known_key_first(tmp_path: Path, keys: str, hint: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(cwd=make_root(tmp_path, keys), environ={})
    assert raised.value.what.startswith("unknown key")
    assert f"of {tmp_path / 'pyproject.toml'}" in raised.value.what
    assert raised.value.hint.startswith(hint)


def test_bad_environment_value_is_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lock_timeout"):
        load_config(cwd=make_root(tmp_path), environ={"KITGEN_LOCK_TIMEOUT": "later"})


@pytest.mark.parametrize(
    ("table", "args", "env", "fragments"),
    [
        ('protect = "false"\n', (), {}, ("'protect'", "got 'false'", "protect in [tool.kitgen] of {pyproject}")),
        (
            'lock_timeout = "30"\n',
            (),
            {},
            ("'lock_timeout'", "got '30'", "lock_timeout in [tool.kitgen] of {pyproject}"),
        ),
        ("", (), {"KITGEN_LOCK_TIMEOUT": "later"}, ("'lock_timeout'", "got 'later'", "KITGEN_LOCK_TIMEOUT")),
        ("", ("--lock-timeout", "nan"), {}, ("'lock_timeout'", "got nan", "--lock-timeout")),
        ("", (), {"KITGEN_GENERATE": "perhaps"}, ("'generate'", "got 'perhaps'", "KITGEN_GENERATE")),
        ("lock_timout = 3\n", (), {}, ("unknown key 'lock_timout'", "did you mean 'lock_timeout'?")),
    ],
)
def test_setting_errors_on_the_command_line(
    tmp_path: Path, table: str, args: tuple[str, ...], env: dict[str, str], fragments: tuple[str, ...]
) -> None:
    root = make_root(tmp_path, table)
    result = kitgen(root, "migrate:status", *args, env=env)
    assert_one_error(result, *(fragment.format(pyproject=root / "pyproject.toml") for fragment in fragments))
    assert sorted(os.listdir(root)) == ["pyproject.toml"]


@pytest.mark.parametrize(
    ("table", "options", "environ", "origin"),
    [
        ("", {}, {}, "the default"),
        ('model_type = "msgspec"\n', {}, {}, "model_type in [tool.kitgen]"),
        ('model_type = "msgspec"\n', {}, {"KITGEN_MODEL_TYPE": "dataclass"}, "KITGEN_MODEL_TYPE"),
        ('model_type = "msgspec"\n', {"model_type": "dataclass"}, {"KITGEN_MODEL_TYPE": "pydantic"}, "--model-type"),
    ],
)
def test_every_value_knows_where_it_came_from(
    tmp_path: Path, table: str, options: dict[str, object], environ: dict[str, str], origin: str
) -> None:
    config = load_config(cwd=make_root(tmp_path, table), options=options, environ=environ)
    assert config.origins["model_type"] == origin
    assert config.origins["database"] == "the default"
