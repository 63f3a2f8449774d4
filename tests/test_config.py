"""Configuration precedence: option > environment > [tool.kitgen] > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from kitgen.config import find_root, load_config
from kitgen.errors import ConfigError


def make_root(tmp_path: Path, kitgen_table: str = "") -> Path:
    (tmp_path / "pyproject.toml").write_text(
        f'[project]\nname = "x"\n\n[tool.kitgen]\n{kitgen_table}', encoding="utf-8"
    )
    return tmp_path


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


def test_without_pyproject_the_current_folder_is_the_root(tmp_path: Path) -> None:
    assert find_root(tmp_path) == tmp_path


def test_option_beats_environment_beats_pyproject(tmp_path: Path) -> None:
    root = make_root(tmp_path, 'database = "from_file.sqlite"\nlock_timeout = 5\n')
    env = {"KITGEN_DATABASE": "from_env.sqlite", "KITGEN_LOCK_TIMEOUT": "7"}
    assert load_config(cwd=root, environ={}).database.name == "from_file.sqlite"
    assert load_config(cwd=root, environ={}).lock_timeout == 5.0
    assert load_config(cwd=root, environ=env).database.name == "from_env.sqlite"
    assert load_config(cwd=root, environ=env).lock_timeout == 7.0
    chosen = load_config(cwd=root, options={"database": "from_option.sqlite"}, environ=env)
    assert chosen.database.name == "from_option.sqlite"


def test_option_paths_are_relative_to_the_current_folder(tmp_path: Path) -> None:
    root = make_root(tmp_path, 'migrations = "db/migrations"\n')
    sub = root / "sub"
    sub.mkdir()
    config = load_config(cwd=sub, options={"database": "local.sqlite"}, environ={})
    assert config.database == sub.resolve() / "local.sqlite"
    assert config.migrations == root.resolve() / "db" / "migrations"


def test_protect_and_production_prohibit_destructive_commands(tmp_path: Path) -> None:
    assert load_config(cwd=make_root(tmp_path, "protect = true\n"), environ={}).destructive_prohibited
    other = tmp_path / "other"
    other.mkdir()
    assert load_config(cwd=make_root(other), environ={"KITGEN_ENV": "Production"}).destructive_prohibited


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('databse = "x.sqlite"\n', r"unknown key 'databse' in \[tool.kitgen\].*known keys are database"),
        ("database = 3\n", "must be a non-empty path string"),
        ('database = ""\n', "must be a non-empty path string"),
        ('protect = "sometimes"\n', "must be true or false"),
        ('lock_timeout = "soon"\n', "must be a number of seconds"),
        ("lock_timeout = -1\n", "must be a number of seconds"),
        ("lock_timeout = true\n", "must be a number of seconds"),
        ("database = \n", "is not valid TOML"),
    ],
)
def test_bad_settings_are_explained(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(cwd=make_root(tmp_path, table), environ={})


def test_bad_environment_value_is_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lock_timeout"):
        load_config(cwd=make_root(tmp_path), environ={"KITGEN_LOCK_TIMEOUT": "later"})
