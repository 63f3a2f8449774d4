"""Configuration: command-line option > ``KITGEN_*`` environment > ``[tool.kitgen]`` > default.

Paths given on the command line or in the environment are relative to the current
folder; paths in pyproject.toml and the defaults are relative to the project root
(see ``find_root``). Values in pyproject.toml must have their TOML type (a boolean, a
number, a string); the environment's strings are parsed. Every error about a value
names where it came from.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kitgen.driver.url import ServerUrl, UrlError, file_as_written, parse_database, parse_server_url
from kitgen.errors import ConfigError

PYPROJECT = "pyproject.toml"


@dataclass(frozen=True)
class Setting:
    """One configuration key: its environment variable, option, parser and default.

    ``parse`` raises ``ValueError`` for a value that is not ``requirement`` (the message is
    then built here), or a ``ConfigError`` of its own; either way the value's origin is added.
    """

    name: str
    env: str
    parse: Callable[[object], object]
    default: object
    requirement: str
    option: str = ""
    fallback_env: str = ""  # read when nothing else sets it, before the default (DATABASE_URL)


@dataclass(frozen=True)
class Origin:
    """Where a value came from: ``label`` names it in errors, ``base`` anchors its relative paths."""

    kind: str  # "option", "environment", "pyproject" or "default"
    label: str
    base: Path


@dataclass(frozen=True)
class Config:
    """Resolved settings of one kitgen invocation."""

    root: Path
    database: Path | ServerUrl
    migrations: Path
    entities: Path
    schema_file: Path = Path("database/schema.sql")  # what schema:dump writes and migrate loads (absolute once loaded)
    protect: bool = False
    lock_timeout: float = 30.0
    model_type: str = "pydantic"
    types: Mapping[str, str] = field(default_factory=dict)
    out_of_order: bool = False
    generate: bool = True
    schemas: tuple[str, ...] = ()  # the server schemas kitgen manages (default: the search_path's first)
    shadow_database: ServerUrl | None = None  # where check replays on a server (default: a temporary database)
    environment: str = ""
    origins: Mapping[str, str] = field(default_factory=dict)  # setting → where its value came from, for messages
    as_written: Mapping[str, Path] = field(default_factory=dict)  # path settings before symlinks were resolved

    @property
    def destructive_prohibited(self) -> bool:
        """True when destructive commands must be refused outright."""
        return self.protect or self.environment == "production"

    def display(self, path: Path | ServerUrl) -> str:
        """A path as the user should read it: relative to the root when inside it (a URL without its password)."""
        if isinstance(path, ServerUrl):
            return str(path)
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)


def _parse_path(value: object) -> object:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        raise ValueError(value)
    return value


BOOLEAN_WORDS = {"1": True, "true": True, "yes": True, "on": True} | dict.fromkeys(("0", "false", "no", "off"), False)


def _parse_bool(value: object) -> object:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in BOOLEAN_WORDS:
        return BOOLEAN_WORDS[value.strip().lower()]
    raise ValueError(value)


def _parse_seconds(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(value)
    seconds = float(value)
    if not (0 <= seconds < float("inf")):  # rejects NaN and infinity too
        raise ValueError(value)
    return seconds


def _parse_model_type(value: object) -> object:
    from kitgen.codegen.plan import MODEL_TYPES

    if value == "typeddict":
        raise ConfigError(
            "model type 'typeddict' is not offered: a TypedDict cannot carry the from_row/to_row methods of entities",
            f"use one of {', '.join(MODEL_TYPES)}",
        )
    if value not in MODEL_TYPES:
        raise ConfigError(f"unknown model_type {value!r}", f"use one of {', '.join(MODEL_TYPES)}")
    return value


def _parse_schemas(value: object) -> object:
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(name, str) and name.strip() for name in names):
        raise ValueError(value)
    return tuple(name.strip() for name in names)


def _parse_server(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError(value)
    if not value.strip():
        return None
    try:
        return parse_server_url(value.strip())
    except UrlError as exc:
        raise ConfigError(exc.what, exc.hint) from None


def _parse_types(value: object) -> object:
    from kitgen.schema.types import validate_overrides

    return validate_overrides(value)


PATH_REQUIREMENT = "a non-empty path string"
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "database",
        "KITGEN_DATABASE",
        _parse_path,
        "database/database.sqlite",
        "a path or a database URL",
        "--database",
        fallback_env="DATABASE_URL",
    ),
    Setting("migrations", "KITGEN_MIGRATIONS", _parse_path, "database/migrations", PATH_REQUIREMENT, "--migrations"),
    Setting("entities", "KITGEN_ENTITIES", _parse_path, "app/entities", PATH_REQUIREMENT, "--entities"),
    Setting("schema_file", "KITGEN_SCHEMA_FILE", _parse_path, "database/schema.sql", PATH_REQUIREMENT),
    Setting("protect", "KITGEN_PROTECT", _parse_bool, False, "true or false"),
    Setting("lock_timeout", "KITGEN_LOCK_TIMEOUT", _parse_seconds, 30.0, "a number of seconds ≥ 0", "--lock-timeout"),
    Setting("model_type", "KITGEN_MODEL_TYPE", _parse_model_type, "pydantic", "a model type name", "--model-type"),
    Setting("types", "", _parse_types, {}, "a table of type overrides"),
    Setting("out_of_order", "KITGEN_OUT_OF_ORDER", _parse_bool, False, "true or false", "--allow-out-of-order"),
    Setting("generate", "KITGEN_GENERATE", _parse_bool, True, "true or false", "--no-generate"),
    Setting("schemas", "KITGEN_SCHEMAS", _parse_schemas, [], "a list of schema names"),
    Setting("shadow_database", "KITGEN_SHADOW_DATABASE", _parse_server, "", "a database URL"),
)
PATH_SETTINGS = frozenset({"migrations", "entities", "schema_file"})


# --- the project root and its pyproject.toml -------------------------------------------------------


def find_root(start: Path, *, new_project: bool = False) -> Path:
    """The project root of a command run in ``start``.

    The nearest folder upward whose pyproject.toml has a ``[tool.kitgen]`` table; else the
    nearest folder holding a pyproject.toml; else the git root (the nearest folder holding a
    ``.git`` folder or file), where the search stops; else ``start``. For ``kitgen init`` (``new_project``), the nearest
    pyproject.toml comes first: a package of its own in a repository (a service of a monorepo)
    is set up there, even when a project above it already uses kitgen.
    """
    return search_root(start, new_project=new_project)[0]


def search_root(start: Path, *, new_project: bool = False) -> tuple[Path, list[tuple[str, str]]]:
    """``find_root``'s answer, and what it looked at to find it: ``("stat", pyproject.toml)`` and
    ``("exists", .git)`` of each folder up to where the search stopped (the same answer while they stay)."""
    nearest_pyproject: Path | None = None
    looked: list[tuple[str, str]] = []
    for folder in (start, *start.parents):
        pyproject = folder / PYPROJECT
        looked += [("stat", str(pyproject)), ("exists", str(folder / ".git"))]
        if pyproject.is_file():
            data = read_pyproject_bytes(pyproject)
            if new_project or (b"kitgen" in data and declares_kitgen(parse_pyproject(data, pyproject))):
                return folder, looked  # (parsed only when it may declare kitgen)
            nearest_pyproject = nearest_pyproject or folder
        if (folder / ".git").exists():
            return nearest_pyproject or folder, looked  # a repository's files never belong to a project above it
    return nearest_pyproject or start, looked


def declares_kitgen(document: Mapping[str, object]) -> bool:
    """True when a parsed pyproject.toml has a ``kitgen`` entry under ``tool``."""
    tool = document.get("tool")
    return isinstance(tool, dict) and "kitgen" in tool


def read_pyproject(path: Path) -> dict[str, Any]:
    """A pyproject.toml, parsed."""
    return parse_pyproject(read_pyproject_bytes(path), path)


def read_pyproject_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", "check its permissions") from exc


def parse_pyproject(data: bytes, path: Path) -> dict[str, Any]:
    """The bytes of the pyproject.toml at ``path``, parsed."""
    import tomllib

    try:
        return tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}", "fix the syntax of pyproject.toml") from exc


def read_pyproject_settings(root: Path) -> dict[str, Any]:
    """The ``[tool.kitgen]`` table of the root's pyproject.toml (empty when absent)."""
    path = root / PYPROJECT
    if not path.is_file():
        return {}
    document = read_pyproject(path)
    if not declares_kitgen(document):
        return {}
    table = document["tool"]["kitgen"]
    if not isinstance(table, dict):
        raise ConfigError(f"[tool.kitgen] in {path} is not a table", "write it as a [tool.kitgen] section")
    _reject_unknown_keys(table, path)
    return table


def _reject_unknown_keys(table: Mapping[str, object], path: Path) -> None:
    known = sorted(setting.name for setting in SETTINGS)
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} in [tool.kitgen] of {path}",
            _unknown_keys_hint(unknown, known),
        )


def _unknown_keys_hint(unknown: list[str], known: list[str]) -> str:
    """Closest known keys first (best match first), then every known key."""
    guesses = []
    for key in unknown:
        close = " or ".join(map(repr, difflib.get_close_matches(key, known, n=3)))
        if close:
            guesses.append(close if len(unknown) == 1 else f"{close} for {key!r}")
    listed = f"known keys are {', '.join(known)}"
    them = "it" if len(unknown) == 1 else "them"
    if not guesses:
        return f"remove or correct {them}; {listed}"
    return f"did you mean {', '.join(guesses)}? Otherwise remove {them}; {listed}"


# --- resolving every setting -----------------------------------------------------------------------


def load_config(
    cwd: Path | None = None,
    options: Mapping[str, object] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    new_project: bool = False,
) -> Config:
    """Resolve every setting from options, environment, pyproject.toml and defaults.

    ``new_project``: for ``kitgen init``, whose root is the nearest pyproject.toml (see ``find_root``).
    """
    cwd = (cwd or Path.cwd()).resolve()
    options = options or {}
    environ = os.environ if environ is None else environ
    root = find_root(cwd, new_project=new_project)
    from_file = read_pyproject_settings(root)
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    as_written: dict[str, Path] = {}
    for setting in SETTINGS:
        value, origin = _pick(setting, options, environ, from_file, cwd, root)
        values[setting.name] = _resolve(setting, value, origin)
        origins[setting.name] = origin_phrase(setting, origin)
        if (written := _as_written(setting, value, origin)) is not None:
            as_written[setting.name] = written
    if values["schema_file"].parent == values["migrations"]:
        raise ConfigError(
            f"the schema file {values['schema_file']} is in the migrations folder (from {origins['schema_file']}), "
            "where every .sql file is a migration",
            'put it beside the folder, e.g. schema_file = "database/schema.sql" in [tool.kitgen]',
        )
    environment = environ.get("KITGEN_ENV", "").strip().lower()
    return Config(root=root, environment=environment, origins=origins, as_written=as_written, **values)


def _as_written(setting: Setting, value: object, origin: Origin) -> Path | None:
    """A path setting (or a SQLite database) made absolute, symlinks on the way kept; called after ``_resolve``
    accepted the value."""
    if setting.name == "database":
        return file_as_written(str(setting.parse(value)), origin.base)
    return origin.base / str(setting.parse(value)) if setting.name in PATH_SETTINGS else None


def origin_phrase(setting: Setting, origin: Origin) -> str:
    """Where a value came from, short: ``--model-type``, ``KITGEN_MODEL_TYPE``, ``model_type in [tool.kitgen]``."""
    if origin.kind == "pyproject":
        return f"{setting.name} in [tool.kitgen]"
    return "the default" if origin.kind == "default" else origin.label


def _pick(
    setting: Setting,
    options: Mapping[str, object],
    environ: Mapping[str, str],
    from_file: Mapping[str, object],
    cwd: Path,
    root: Path,
) -> tuple[object, Origin]:
    if options.get(setting.name) is not None:
        return options[setting.name], Origin("option", setting.option or f"option {setting.name}", cwd)
    if setting.env and environ.get(setting.env):
        return environ[setting.env], Origin("environment", setting.env, cwd)
    if setting.name in from_file:
        label = f"{setting.name} in [tool.kitgen] of {root / PYPROJECT}"
        return from_file[setting.name], Origin("pyproject", label, root)
    if setting.fallback_env and environ.get(setting.fallback_env):
        return environ[setting.fallback_env], Origin("environment", setting.fallback_env, cwd)
    return setting.default, Origin("default", "the default", root)


def _resolve(setting: Setting, value: object, origin: Origin) -> object:
    """The parsed value (a path made absolute), or a ConfigError naming the value's origin."""
    try:
        if origin.kind == "pyproject" and not _has_toml_type_of(setting.default, value):
            raise ValueError(value)
        parsed = setting.parse(value)
    except ValueError:
        shown = os.fspath(value) if isinstance(value, os.PathLike) else value
        what = f"setting {setting.name!r} must be {setting.requirement}, got {shown!r}"
        raise ConfigError(f"{what} (from {origin.label})", _how_to_fix(setting, origin)) from None
    except ConfigError as exc:
        raise ConfigError(f"{exc.what} (from {origin.label})", exc.hint or _how_to_fix(setting, origin)) from None
    if setting.name == "database":
        try:
            return parse_database(str(parsed), origin.base)
        except UrlError as exc:
            raise ConfigError(f"{exc.what} (from {origin.label})", exc.hint) from None
    return (origin.base / str(parsed)).resolve() if setting.name in PATH_SETTINGS else parsed


def _toml_type(value: object) -> str:
    """The TOML type name of a parsed value."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "table" if isinstance(value, dict) else "array" if isinstance(value, list) else "date or time"


def _has_toml_type_of(default: object, value: object) -> bool:
    """Whether a pyproject.toml value has the TOML type of the setting (tables are checked by their parser)."""
    return isinstance(default, dict) or _toml_type(value) == _toml_type(default)


def _how_to_fix(setting: Setting, origin: Origin) -> str:
    kind = _toml_type(setting.default)
    example = "true" if kind == "boolean" else f"{setting.default:g}" if kind == "number" else str(setting.default)
    if origin.kind == "environment":
        return f"set {setting.env} to true or false" if kind == "boolean" else f"set e.g. {setting.env}={example}"
    if origin.kind == "option":
        return f"pass {origin.label} or leave it out" if kind == "boolean" else f"pass e.g. {origin.label} {example}"
    if kind == "boolean":
        return f"write {setting.name} = true or {setting.name} = false in [tool.kitgen] (TOML booleans, without quotes)"
    if kind == "number":
        return f"write e.g. {setting.name} = {example} in [tool.kitgen] (a TOML number, without quotes)"
    if kind == "string":
        return f'write e.g. {setting.name} = "{example}" in [tool.kitgen] (a TOML string, in quotes)'
    return f"correct {setting.name} in [tool.kitgen]"
