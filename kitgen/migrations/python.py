"""The ``.py`` migration format: one subclass of ``kitgen.Migration`` per file."""

from __future__ import annotations

import ast
import sys
import traceback
import types
from collections.abc import Sequence
from pathlib import Path
from typing import TypeGuard

from kitgen.errors import MigrationFileError
from kitgen.migrations.base import Migration
from kitgen.migrations.canonical import canonical_ast
from kitgen.migrations.formats import NO_DOWN, Description, Format, LoadedMigration, digest

DOCSTRING_OWNERS = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def parse(source: str, path: Path) -> ast.Module:
    """The file's AST; a syntax error becomes a kitgen error naming the line."""
    try:
        return ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        where = f" at line {exc.lineno}" if exc.lineno else ""
        raise MigrationFileError(
            f"{path.name} has a syntax error{where}: {exc.msg}",
            "fix the file and run the command again",
        ) from exc
    except ValueError as exc:  # null bytes
        raise MigrationFileError(f"{path.name} is not Python source: {exc}", "fix or remove the file") from exc


def python_checksum(source: str) -> str:
    """Checksum of what applying the migration runs: the module without its ``down`` method.

    Comments, formatting and docstrings do not count; the text hashed is the same on every
    supported Python (see ``canonical``).
    """
    module, _ = split_down(_code_tree(source))
    return digest(canonical_ast(module))


def python_down_checksum(source: str) -> str:
    """Checksum of the Migration subclass's ``down`` method (decorators included), or ``NO_DOWN``."""
    _, downs = split_down(_code_tree(source))
    return digest("\n".join(canonical_ast(down) for down in downs)) if downs else NO_DOWN


def _code_tree(source: str) -> ast.Module:
    """The file's AST without docstrings (a body left empty gets a ``pass``)."""
    tree = parse(source, Path("<migration>"))
    for node in ast.walk(tree):
        if isinstance(node, DOCSTRING_OWNERS) and _has_docstring(node):
            node.body = node.body[1:] or [ast.Pass()]
    return tree


def _has_docstring(node: ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    first = node.body[0] if node.body else None
    return isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)


Down = ast.FunctionDef | ast.AsyncFunctionDef


def split_down(module: ast.Module) -> tuple[ast.Module, list[Down]]:
    """Take the ``down`` method(s) out of the module's Migration subclass, read without running it,
    with the functions and methods only the down uses (so editing them is a new down, not a change).

    Without such a class the module stays whole and there is no down.
    """
    cls = migration_class_node(module)
    if cls is None:
        return module, []
    downs = [statement for statement in cls.body if _is_down(statement)]
    if not downs:
        return module, []
    helpers = _used_by_down_only(module, cls, downs)
    cls.body = [statement for statement in cls.body if not _is_down(statement) and statement not in helpers]
    module.body = [statement for statement in module.body if statement not in helpers]
    return module, [*downs, *helpers]


DYNAMIC_LOOKUPS = frozenset({"getattr", "globals", "locals", "vars", "eval", "exec", "__dict__", "__getattribute__"})


def _used_by_down_only(module: ast.Module, cls: ast.ClassDef, downs: list[Down]) -> list[Down]:
    """The module's functions and the class's methods (but ``up``) that the down uses, directly or
    through one another, and nothing else in the module names."""
    candidates = [
        statement
        for statement in [*module.body, *cls.body]
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef) and statement.name not in ("up", "down")
    ]
    outside = [node for node in [*module.body, *cls.body] if node is not cls and not _is_down(node)]
    if _names(outside) & DYNAMIC_LOOKUPS:
        return []  # what the up reaches by a computed name cannot be told apart: every function counts for it
    chosen = [each for each in candidates if each.name in _names(downs)]
    while True:
        used = _names([*downs, *chosen])
        grown = [each for each in candidates if each.name in used]
        rest: list[ast.AST] = [node for node in [*module.body, *cls.body] if node is not cls and not _is_down(node)]
        rest += [*cls.bases, *cls.keywords, *cls.decorator_list]
        elsewhere = _names([node for node in rest if node not in grown])
        kept = [each for each in grown if each.name not in elsewhere]
        if kept == chosen:
            return chosen
        chosen = kept


def _names(nodes: Sequence[ast.AST]) -> set[str]:
    """Every name and attribute the nodes mention (a function's own name excluded)."""
    found: set[str] = set()
    for node in nodes:
        for each in ast.walk(node):
            if isinstance(each, ast.Name):
                found.add(each.id)
            elif isinstance(each, ast.Attribute):
                found.add(each.attr)
    return found


def _is_down(statement: ast.stmt) -> TypeGuard[Down]:
    return isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef) and statement.name == "down"


def migration_class_node(module: ast.Module) -> ast.ClassDef | None:
    """The first top-level class with ``Migration`` (or ``something.Migration``) among its bases."""
    for statement in module.body:
        if isinstance(statement, ast.ClassDef) and any(_names_migration(base) for base in statement.bases):
            return statement
    return None


def _names_migration(base: ast.expr) -> bool:
    return (isinstance(base, ast.Name) and base.id == "Migration") or (
        isinstance(base, ast.Attribute) and base.attr == "Migration"
    )


def load_python(name: str, source: str, path: Path) -> LoadedMigration:
    """Run the file's top level and return its one Migration subclass, ready to run."""
    module = _execute(name, source, path)
    cls = _migration_class(module, path)
    if cls.up is Migration.up:
        raise MigrationFileError(f"{cls.__name__} in {path.name} defines no up()", "add def up(self, db) -> None")
    instance = cls()
    return LoadedMigration(
        name=name,
        format="py",
        up=instance.up,
        down=instance.down if cls.down is not Migration.down else None,
        transactional=bool(cls.transaction),
        down_transactional=bool(cls.transaction),
        foreign_keys=bool(cls.foreign_keys),
        down_foreign_keys=bool(cls.foreign_keys),
        model=cls.model,
        path=path,
    )


def _execute(name: str, source: str, path: Path) -> types.ModuleType:
    code = compile(parse(source, path), str(path), "exec")
    module = types.ModuleType(f"kitgen_migration_{name}")
    module.__file__ = str(path)
    sys.modules[module.__name__] = module
    try:
        exec(code, module.__dict__)
    except Exception as exc:
        line = line_in(exc, path)
        where = f" at line {line}" if line else ""
        raise MigrationFileError(
            f"{path.name} failed to load{where}: {type(exc).__name__}: {exc}",
            "fix the file (a missing module needs installing or a corrected import)",
        ) from exc
    finally:
        sys.modules.pop(module.__name__, None)
    return module


def _migration_class(module: types.ModuleType, path: Path) -> type[Migration]:
    classes = sorted(
        (
            value
            for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, Migration) and value.__module__ == module.__name__
        ),
        key=lambda cls: cls.__name__,
    )
    if not classes:
        raise MigrationFileError(
            f"{path.name} defines no subclass of kitgen.Migration",
            "define one class, e.g. class CreateUsersTable(Migration), with up() and down()",
        )
    if len(classes) > 1:
        names = ", ".join(cls.__name__ for cls in classes)
        raise MigrationFileError(
            f"{path.name} defines {len(classes)} Migration classes ({names})", "keep exactly one per file"
        )
    return classes[0]


def line_in(exc: BaseException, path: Path) -> int | None:
    """The last line of ``path`` in the exception's traceback, if it passed there."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == str(path):
            line = frame.lineno
    return line


def describe_python(source: str, path: Path) -> Description:
    """Model and transaction options read from the AST, without running the file."""
    model: str | None = None
    transactional = True
    module = parse(source, path)
    for node in ast.walk(module):
        if isinstance(node, ast.ClassDef):
            for statement in node.body:
                target, value = _simple_assignment(statement)
                if target == "model" and isinstance(value, str):
                    model = value
                elif target == "transaction" and value is False:
                    transactional = False
    return Description(model=model, transactional=transactional, runs_nothing=_up_is_empty(module))


def _up_is_empty(module: ast.Module) -> bool:
    """Whether the Migration class's up() holds nothing but ``pass``, ``...`` or a docstring."""
    cls = migration_class_node(module)
    up = next(
        (node for node in (cls.body if cls else []) if isinstance(node, ast.FunctionDef) and node.name == "up"),
        None,
    )
    return up is not None and all(
        isinstance(statement, ast.Pass)
        or (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))
        for statement in up.body
    )


def _simple_assignment(statement: ast.stmt) -> tuple[str | None, object]:
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target, value = statement.targets[0], statement.value
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        target, value = statement.target, statement.value
    else:
        return None, None
    if isinstance(target, ast.Name) and isinstance(value, ast.Constant):
        return target.id, value.value
    return None, None


FORMAT = Format(
    suffix=".py",
    checksum=python_checksum,
    down_checksum=python_down_checksum,
    load=load_python,
    describe=describe_python,
)
