"""``kitgen init`` and ``kitgen make:migration``."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kitgen.config import PYPROJECT, Config, declares_kitgen, parse_pyproject, read_pyproject_bytes
from kitgen.driver.dialect import Dialect, dialect_for
from kitgen.driver.url import ServerUrl, engine_of
from kitgen.errors import ConfigError, MigrationFileError, ModelNameTaken, UsageError

PYPROJECT_CREATED = f"{PYPROJECT} ([tool.kitgen])"


@dataclass(frozen=True)
class InitResult:
    created: list[str]


def init_project(config: Config) -> InitResult:
    """Create the files and folders a kitgen project needs; never overwrite anything.

    Everything is checked before anything is created: a folder outside the project root, a file
    where a folder belongs or a pyproject.toml that cannot take the table stops it with nothing done.
    """
    folders = _folders_to_create(config)
    pyproject = _pyproject_with_table(config)
    created: list[str] = []
    if pyproject is not None:
        _write_pyproject(config.root / PYPROJECT, *pyproject)
        created.append(PYPROJECT_CREATED)
    for folder in folders:
        if not folder.is_dir():  # the migrations folder may have created the database folder
            folder.mkdir(parents=True)
            created.append(config.display(folder) + "/")
    for package in _packages(config):
        init = package / "__init__.py"
        if not init.exists():
            init.write_text(f'"""{_package_doc(config, package)}"""\n', encoding="utf-8")
            created.append(config.display(init))
    if _ensure_ignored(config):
        created.append(".gitignore (database line)")
    return InitResult(created)


def _folders_to_create(config: Config) -> list[Path]:
    """The configured folders that do not exist yet, once each is known to be creatable."""
    missing: list[Path] = []
    named = [("migrations folder", config.migrations), ("entities folder", config.entities)]
    if isinstance(config.database, Path):  # a server makes its own databases
        named.append(("database folder", config.database.parent))
    for what, folder in named:
        if folder.is_dir():
            continue
        if folder != config.root and config.root not in folder.parents:
            raise ConfigError(
                f"the {what} {folder} does not exist and is outside the project root {config.root}; "
                "kitgen creates folders only inside the project",
                "create it yourself, or choose a path inside the project",
            )
        _require_creatable(folder)
        missing.append(folder)
    return missing


def _require_creatable(folder: Path) -> None:
    """Refuse when a file stands where ``folder`` or one of its parents belongs."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(
            f"{existing} is a file, where kitgen needs a folder", "move the file, or configure another path"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot create {folder}: {existing} is not writable", "check its permissions")


def _pyproject_with_table(config: Config) -> tuple[bytes, bytes | None] | None:
    """pyproject.toml with a ``[tool.kitgen]`` table and the bytes it replaces (None: a new file).

    None when the file already has the table. The table is appended, the existing bytes kept
    as they are, and the result must parse to the same document plus the table.
    """
    path = config.root / PYPROJECT
    table = _kitgen_table(config)
    if path.exists() and not path.is_file():
        raise UsageError(f"{path} is not a file", "move it away, or run kitgen init in another folder")
    original = read_pyproject_bytes(path) if path.exists() else None
    document = parse_pyproject(original, path) if original is not None else {}
    if declares_kitgen(document):
        return None
    tool = document.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(
            f"cannot add a [tool.kitgen] table to {path}: its tool key is not a table",
            "make tool a table, or add the [tool.kitgen] table yourself",
        )
    updated = _append_table(original or b"", _table_text(table))
    if not os.access(config.root, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write {path}: {config.root} is not writable", "check its permissions")
    _require_parses_to(updated, {**document, "tool": {**tool, "kitgen": table}}, path)
    return updated, original


def _kitgen_table(config: Config) -> dict[str, str]:
    """The three paths as resolved (relative to the root when inside it, else absolute), and the model type.

    A server URL that came from the environment (``DATABASE_URL``, ``KITGEN_DATABASE``) stays there:
    written into pyproject.toml, it would win over the environment from then on."""
    paths = {"database": config.database, "migrations": config.migrations, "entities": config.entities}
    from_environment = config.origins.get("database") in {"DATABASE_URL", "KITGEN_DATABASE"}
    if isinstance(config.database, ServerUrl) and from_environment:
        del paths["database"]
    return {**{key: _from_root(config, path) for key, path in paths.items()}, "model_type": config.model_type}


def _from_root(config: Config, path: Path | ServerUrl) -> str:
    """A path relative to the root when inside it; a server URL without its password (libpq finds that)."""
    if isinstance(path, ServerUrl):
        return str(path)
    return path.relative_to(config.root).as_posix() if config.root in path.parents else str(path)


def _table_text(table: dict[str, str]) -> str:
    lines = (f"{key} = {json.dumps(value, ensure_ascii=False)}\n" for key, value in table.items())
    return "[tool.kitgen]\n" + "".join(lines)


def _append_table(original: bytes, text: str) -> bytes:
    """``original`` unchanged, a blank line, then ``text`` with the file's line endings."""
    newline = b"\r\n" if b"\r\n" in original else b"\n"
    if not original or original.endswith(newline * 2):
        separator = b""
    elif original.endswith(newline):
        separator = newline
    else:
        separator = newline * 2
    return original + separator + text.encode("utf-8").replace(b"\n", newline)


def _require_parses_to(data: bytes, expected: dict[str, object], path: Path) -> None:
    import tomllib

    try:
        parsed: dict[str, object] | None = tomllib.loads(data.decode("utf-8"))
    except tomllib.TOMLDecodeError:
        parsed = None
    if parsed != expected:
        raise ConfigError(
            f"cannot add a [tool.kitgen] table to {path}: appended, it would not read back as written "
            "(an inline tool = {…} table cannot be extended)",
            "write tool as [tool.…] sections, or add the [tool.kitgen] table yourself",
        )


def _write_pyproject(path: Path, data: bytes, replaced: bytes | None) -> None:
    try:
        if replaced is None:
            with path.open("xb") as handle:  # never over a file that appeared meanwhile
                handle.write(data)
        else:
            _replace_atomically(path.resolve(), data, replaced)
    except FileExistsError as exc:
        raise ConfigError(f"{path} appeared while kitgen init was creating it", "run kitgen init again") from exc
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}", "check its permissions") from exc


def _replace_atomically(target: Path, data: bytes, replaced: bytes) -> None:
    """Write ``data`` to a temporary file beside ``target``, then rename it over ``target``."""
    descriptor, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, stat.S_IMODE(target.stat().st_mode))
        if target.read_bytes() != replaced:
            raise ConfigError(f"{target} changed while kitgen init was adding [tool.kitgen]", "run kitgen init again")
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _packages(config: Config) -> list[Path]:
    """The entities folder and each folder between it and the root, outermost first."""
    chain = [config.entities]
    while chain[-1].parent != config.root and config.root in chain[-1].parents:
        chain.append(chain[-1].parent)
    return list(reversed(chain))


def _package_doc(config: Config, package: Path) -> str:
    if package == config.entities:
        return "Entities generated by kitgen from the database schema."
    return "The application package."


def _ensure_ignored(config: Config) -> bool:
    if not isinstance(config.database, Path):
        return False  # a server database is no file of the project
    line = "/" + config.display(config.database) + "*"
    if line.startswith("//"):
        return False  # the database lives outside the project
    gitignore = config.root / ".gitignore"
    existing = gitignore.read_text(encoding="utf-8") if gitignore.exists() else ""
    if line in existing.splitlines():
        return False
    separator = "" if not existing or existing.endswith("\n") else "\n"
    with gitignore.open("a", encoding="utf-8") as handle:
        handle.write(f"{separator}{line}\n")
    return True


def make_migration(
    config: Config,
    name: str,
    *,
    model: str | None = None,
    sql: bool = False,
    now: datetime | None = None,
    dialect: Dialect | None = None,
) -> Path:
    """Create a migration file named after ``name`` with a unique, ordered timestamp prefix, its SQL
    written for the ``dialect`` of the configured database."""
    from kitgen.migrations import templates

    dialect = dialect or dialect_for(engine_of(config.database))
    templates.validate_label(name)
    templates.validate_model(model)
    if model is not None:
        refuse_taken_model(config, model)
    folder = config.migrations
    if not folder.is_dir():
        raise MigrationFileError(f"the migrations folder {folder} does not exist", "run kitgen init first")
    text = templates.render_sql(name, model, dialect) if sql else templates.render_python(name, model, dialect)
    moment = (now or datetime.now(UTC)).replace(tzinfo=None)
    try:
        return templates.create_migration_file(folder, name, ".sql" if sql else ".py", text, moment)
    except PermissionError as exc:
        raise MigrationFileError(
            f"cannot write in the migrations folder {folder}: {exc.strerror}", "check its permissions"
        ) from exc


def refuse_taken_model(config: Config, model: str) -> None:
    """Refuse a ``--model`` that is the class name of another table's entity: entity names never move."""
    from kitgen.codegen import files as entity_files
    from kitgen.codegen.names import model_owner

    if not config.entities.is_dir():
        return  # no entities yet: every name is free
    existing = entity_files.existing_names(config.entities, config.display)
    owner = model_owner("", model, {table: names.class_name for table, names in existing.items()})
    if owner is not None:
        raise ModelNameTaken(model, owner, existing[owner].file)
