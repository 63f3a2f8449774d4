"""Keep ``app/entities/__init__.py`` exporting every entity, with minimal edits (libcst).

kitgen owns only two things in that file: the ``from .module import Class`` statements of
generated modules, and the names of those classes in ``__all__``. Every other node (user
imports, comments, helpers, formatting) comes out byte for byte as it went in, and an
import that is already right is kept as it is, comments and all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import libcst as cst

from kitgen.codegen.names import natural_key
from kitgen.errors import KitgenError

Export = tuple[str, str]  # (module, class)


class ExportsError(KitgenError):
    """The exports file cannot be parsed."""


def update_exports(source: str, exports: Sequence[Export], managed_modules: Iterable[str], path: str) -> str:
    """``source`` with kitgen's imports and ``__all__`` entries made to match ``exports``."""
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise ExportsError(
            f"{path} is not valid Python (line {exc.raw_line}): kitgen cannot update its exports",
            "fix the file, or delete it and run kitgen generate",
        ) from exc
    managed = set(managed_modules) | {name for name, _ in exports}
    body, position, old_names = _without_managed_imports(module.body, managed)
    old_block = [statement for statement in module.body if _is_managed(statement, managed)]
    reused = {_export_of(statement): statement for statement in old_block}
    wanted = sorted(set(exports), key=lambda export: (natural_key(export[0]), export[1]))
    imports = [
        reused.get(export) or cst.parse_statement(f"from .{export[0]} import {export[1]}\n") for export in wanted
    ]
    if position is None:
        position = _after_imports(body)
    body[position:position] = _as_block(imports, old_block, blank_before=position > 0)
    body = _with_all(body, sorted((name for _, name in wanted), key=all_order), old_names)
    return module.with_changes(body=body).code


def _as_block(
    imports: Sequence[cst.BaseStatement], old_block: Sequence[cst.BaseStatement], *, blank_before: bool
) -> list[cst.BaseStatement]:
    """One contiguous block: the lines before the old block's first import stay on top; comments stay put."""
    if not imports:
        return []
    first_lines = _leading(old_block[0]) if old_block else ([cst.EmptyLine()] if blank_before else [])
    block = [imports[0].with_changes(leading_lines=first_lines) if _is_simple(imports[0]) else imports[0]]
    for statement in imports[1:]:
        comments = [line for line in _leading(statement) if line.comment is not None]
        block.append(statement.with_changes(leading_lines=comments) if _is_simple(statement) else statement)
    return block


def _is_simple(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine)


def _leading(statement: cst.BaseStatement) -> list[cst.EmptyLine]:
    return list(statement.leading_lines) if isinstance(statement, cst.SimpleStatementLine) else []


def all_order(name: str) -> tuple[int, tuple[tuple[int, int | str], ...]]:
    """``__all__`` in ruff's isort-style order: CONSTANTS, then Classes, then the rest, numbers by value."""
    group = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return group, natural_key(name)


def _without_managed_imports(
    statements: Sequence[cst.BaseStatement], managed: set[str]
) -> tuple[list[cst.BaseStatement], int | None, set[str]]:
    kept: list[cst.BaseStatement] = []
    position: int | None = None
    names: set[str] = set()
    for statement in statements:
        if _is_managed(statement, managed):
            position = len(kept) if position is None else position
            names.add(_export_of(statement)[1])
        else:
            kept.append(statement)
    return kept, position, names


def _import_from(statement: cst.BaseStatement) -> cst.ImportFrom | None:
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        node = statement.body[0]
        if isinstance(node, cst.ImportFrom) and len(node.relative) == 1 and isinstance(node.module, cst.Name):
            return node
    return None


def _is_managed(statement: cst.BaseStatement, managed: set[str]) -> bool:
    node = _import_from(statement)
    if node is None or node.module is None or not isinstance(node.names, Sequence) or len(node.names) != 1:
        return False
    alias = node.names[0]
    return (
        alias.asname is None
        and isinstance(alias.name, cst.Name)
        and cst.ensure_type(node.module, cst.Name).value in managed
    )


def _export_of(statement: cst.BaseStatement) -> Export:
    node = _import_from(statement)
    assert node is not None and isinstance(node.names, Sequence)
    return cst.ensure_type(node.module, cst.Name).value, cst.ensure_type(node.names[0].name, cst.Name).value


def _after_imports(statements: Sequence[cst.BaseStatement]) -> int:
    """Just after the docstring and the leading imports."""
    position = 0
    for index, statement in enumerate(statements):
        if isinstance(statement, cst.SimpleStatementLine) and all(
            isinstance(node, (cst.Import, cst.ImportFrom)) or _is_docstring(node, index) for node in statement.body
        ):
            position = index + 1
        else:
            break
    return position


def _is_docstring(node: cst.BaseSmallStatement, index: int) -> bool:
    return index == 0 and isinstance(node, cst.Expr) and isinstance(node.value, cst.SimpleString)


def _with_all(statements: list[cst.BaseStatement], names: list[str], old_names: set[str]) -> list[cst.BaseStatement]:
    for index, statement in enumerate(statements):
        current = _all_entries(statement)
        if current is not None:
            extras = [name for name in current if name not in old_names and name not in names]
            if current == names + extras:
                return statements
            statements[index] = _all_statement(names + extras, statement)
            return statements
    position = _after_imports(statements)
    return [*statements[:position], _all_statement(names, None), *statements[position:]]


def _all_entries(statement: cst.BaseStatement) -> list[str] | None:
    """The names of a literal ``__all__ = [...]`` statement, or None for any other statement."""
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return None
    node = statement.body[0]
    target = (
        node.target
        if isinstance(node, cst.AnnAssign)
        else (node.targets[0].target if isinstance(node, cst.Assign) and len(node.targets) == 1 else None)
    )
    value = node.value if isinstance(node, (cst.Assign, cst.AnnAssign)) else None
    if not (isinstance(target, cst.Name) and target.value == "__all__" and isinstance(value, (cst.List, cst.Tuple))):
        return None
    entries = [element.value for element in value.elements]
    if not all(isinstance(entry, cst.SimpleString) for entry in entries):
        return None
    return [str(cst.ensure_type(entry, cst.SimpleString).evaluated_value) for entry in entries]


def _all_statement(names: list[str], previous: cst.BaseStatement | None) -> cst.BaseStatement:
    lines = "".join(f'    "{name}",\n' for name in names)
    statement = cst.parse_statement(f"__all__ = [\n{lines}]\n" if names else "__all__: list[str] = []\n")
    if isinstance(previous, cst.SimpleStatementLine):
        return statement.with_changes(leading_lines=previous.leading_lines)
    return statement.with_changes(leading_lines=[cst.EmptyLine()])
