"""Configuration: command-line option > ``KITGEN_*`` environment > ``[tool.kitgen]`` > default.

Paths given on the command line or in the environment are relative to the current
folder; paths in pyproject.toml and the defaults are relative to the project root,
the nearest folder upward that holds a pyproject.toml.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kitgen.errors import ConfigError

PYPROJECT = "pyproject.toml"


@dataclass(frozen=True)
class Setting:
    """One configuration key: its environment variable, parser and default."""

    name: str
    env: str
    parse: Callable[[str, object], object]
    default: object


@dataclass(frozen=True)
class Config:
    """Resolved settings of one kitgen invocation."""

    root: Path
    database: Path
    migrations: Path
    entities: Path
    protect: bool = False
    lock_timeout: float = 30.0
    model_type: str = "pydantic"
    types: Mapping[str, str] = field(default_factory=dict)
    environment: str = ""

    @property
    def destructive_prohibited(self) -> bool:
        """True when destructive commands must be refused outright."""
        return self.protect or self.environment == "production"

    def display(self, path: Path) -> str:
        """A path as the user should read it: relative to the root when inside it."""
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)


def _parse_path(key: str, value: object) -> object:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        raise ConfigError(
            f"setting {key!r} must be a non-empty path string, got {value!r}",
            f'set {key} to a path such as "database/database.sqlite"',
        )
    return value


def _parse_bool(key: str, value: object) -> object:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"1", "true", "yes", "on", "0", "false", "no", "off", ""}:
        return value.lower() in {"1", "true", "yes", "on"}
    raise ConfigError(f"setting {key!r} must be true or false, got {value!r}", f"set {key} = true or false")


def _parse_seconds(key: str, value: object) -> object:
    try:
        seconds = float(value) if isinstance(value, (int, float, str)) and not isinstance(value, bool) else -1.0
    except ValueError:
        seconds = -1.0
    if not (0 <= seconds < float("inf")):  # rejects NaN and infinity too
        raise ConfigError(f"setting {key!r} must be a number of seconds ≥ 0, got {value!r}", f"set {key} to e.g. 30")
    return seconds


def _parse_model_type(key: str, value: object) -> object:
    from kitgen.codegen.plan import MODEL_TYPES

    if value == "typeddict":
        raise ConfigError(
            "model type 'typeddict' is not offered: a TypedDict cannot carry the from_row/to_row methods of entities",
            f"use one of {', '.join(MODEL_TYPES)}",
        )
    if value not in MODEL_TYPES:
        raise ConfigError(
            f"unknown {key} {value!r}", f"use one of {', '.join(MODEL_TYPES)} (--model-type or model_type)"
        )
    return value


def _parse_types(key: str, value: object) -> object:
    from kitgen.schema.types import validate_overrides

    return validate_overrides(value)


SETTINGS: tuple[Setting, ...] = (
    Setting("database", "KITGEN_DATABASE", _parse_path, "database/database.sqlite"),
    Setting("migrations", "KITGEN_MIGRATIONS", _parse_path, "database/migrations"),
    Setting("entities", "KITGEN_ENTITIES", _parse_path, "app/entities"),
    Setting("protect", "KITGEN_PROTECT", _parse_bool, False),
    Setting("lock_timeout", "KITGEN_LOCK_TIMEOUT", _parse_seconds, 30.0),
    Setting("model_type", "KITGEN_MODEL_TYPE", _parse_model_type, "pydantic"),
    Setting("types", "", _parse_types, {}),
)
PATH_SETTINGS = frozenset({"database", "migrations", "entities"})


def find_root(start: Path) -> Path:
    """The nearest folder from ``start`` upward holding a pyproject.toml, else ``start``."""
    for folder in (start, *start.parents):
        if (folder / PYPROJECT).is_file():
            return folder
    return start


def read_pyproject_settings(root: Path) -> dict[str, Any]:
    """The ``[tool.kitgen]`` table of the root's pyproject.toml (empty when absent)."""
    path = root / PYPROJECT
    if not path.is_file():
        return {}
    import tomllib

    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}", "fix the syntax of pyproject.toml") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", "check its permissions") from exc
    table = document.get("tool", {}).get("kitgen", {})
    if not isinstance(table, dict):
        raise ConfigError(f"[tool.kitgen] in {path} is not a table", "write it as a [tool.kitgen] section")
    _reject_unknown_keys(table, path)
    return table


def _reject_unknown_keys(table: Mapping[str, object], path: Path) -> None:
    known = {setting.name for setting in SETTINGS}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(
            f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} in [tool.kitgen] of {path}",
            f"remove or correct it; known keys are {', '.join(sorted(known))}",
        )


def load_config(
    cwd: Path | None = None,
    options: Mapping[str, object] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Resolve every setting from options, environment, pyproject.toml and defaults."""
    cwd = (cwd or Path.cwd()).resolve()
    options = options or {}
    environ = os.environ if environ is None else environ
    root = find_root(cwd)
    from_file = read_pyproject_settings(root)
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        value, base = _pick(setting, options, environ, from_file, cwd, root)
        parsed = setting.parse(setting.name, value)
        values[setting.name] = (base / str(parsed)).resolve() if setting.name in PATH_SETTINGS else parsed
    return Config(root=root, environment=environ.get("KITGEN_ENV", "").strip().lower(), **values)


def _pick(
    setting: Setting,
    options: Mapping[str, object],
    environ: Mapping[str, str],
    from_file: Mapping[str, object],
    cwd: Path,
    root: Path,
) -> tuple[object, Path]:
    if options.get(setting.name) is not None:
        return options[setting.name], cwd
    if setting.env and environ.get(setting.env):
        return environ[setting.env], cwd
    if setting.name in from_file:
        return from_file[setting.name], root
    return setting.default, root
