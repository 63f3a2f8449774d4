"""Edit ``app/entities/__init__.py`` so that it exports every entity, with minimal edits (libcst).

Called only when ``kitgen.codegen.exports`` says the file is not current. kitgen's imports are
kept as one block, sorted (sorted in among the user's relative imports they touch); ``__all__`` is
``kitgen.codegen.exports_all``'s. Every other node (user imports,
comments, helpers, ``if TYPE_CHECKING:`` blocks, formatting) comes out byte for byte as it went in,
and an import that is already right is kept as it is, comments and all. What kitgen writes is in
the form ``ruff format`` and ``black`` (default settings) leave as it is.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import libcst as cst

from kitgen.codegen.exports import Export, ExportsError, ExportsGoal, all_order, import_text
from kitgen.codegen.exports_all import after_imports, with_all
from kitgen.codegen.names import natural_key


def edit_exports(source: str, goal: ExportsGoal, path: str) -> str:
    """``source`` with kitgen's imports and ``__all__`` entries made to match ``goal``."""
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise ExportsError(
            f"{path} is not valid Python (line {exc.raw_line}): kitgen cannot update its exports",
            "fix the file, or delete it and run kitgen generate",
        ) from exc
    body, position, old_block = _without_managed_imports(module.body, goal.managed)
    reused = {_export_of(statement): statement for statement in old_block}
    wanted = sorted(goal.exports, key=lambda export: (natural_key(export[0]), export[1]))
    imports = [reused.get(export) or _import_statement(*export) for export in wanted]
    if position is None:
        position = after_imports(body)
    attached = position > 0 and _is_relative_import(body[position - 1])
    attached = attached and not (_blank_before(old_block[0]) if old_block else False)
    block = _as_block(imports, old_block, blank_before=position > 0 and not attached)
    if not block and old_block and position < len(body):  # the lines above the old block stay where they were
        own = _leading(body[position])
        above = _leading(old_block[0])
        kept = [line for line in own if not _is_blank(line)] if any(map(_is_blank, above)) else own
        body[position] = _with_leading(body[position], [*above, *kept])
    body, end = _merged(body, position, block, attached=attached)
    if block and end < len(body) and not _is_import(body[end]) and not _blank_before(body[end]):
        body[end] = _with_leading(body[end], [cst.EmptyLine(), *_leading(body[end])])  # a blank line after imports
    names = sorted((name for _, name in wanted), key=all_order)
    old_names = {_export_of(statement)[1] for statement in old_block} - set(names)
    body = with_all(body, names, old_names)
    if body and not module.header:  # nothing but code above: no blank line at the top of the file
        body[0] = _with_leading(body[0], list(itertools.dropwhile(_is_blank, _leading(body[0]))))
    return module.with_changes(body=body, has_trailing_newline=True).code


def _import_statement(module: str, name: str) -> cst.BaseStatement:
    return cst.parse_statement(import_text(module, name))


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


def _merged(
    body: list[cst.BaseStatement], position: int, block: list[cst.BaseStatement], *, attached: bool
) -> tuple[list[cst.BaseStatement], int]:
    """``block`` inserted at ``position``; sorted into the user's relative imports it touches (one isort block).

    The user's imports keep their order; kitgen's go where a sorted block has them. Also returns the index
    just after the block.
    """
    start = position
    while attached and start > 0 and _is_relative_import(body[start - 1]):
        if start < position and _blank_before(body[start]):
            break
        start -= 1
    end = position
    while end < len(body) and _is_relative_import(body[end]) and not _blank_before(body[end]):
        end += 1
    if start == end or not block:
        return [*body[:position], *block, *body[position:]], position + len(block)
    users, ours, merged = list(body[start:end]), list(block), []
    for statement in users:
        while ours and _module_key(ours[0]) < _module_key(statement):
            merged.append(ours.pop(0))
        merged.append(statement)
    merged += ours
    first = users[0] if start < position else block[0]
    merged = [_with_leading(s, _leading(first) if i == 0 else _comments(s)) for i, s in enumerate(merged)]
    return [*body[:start], *merged, *body[end:]], start + len(merged)


def _is_relative_import(statement: cst.BaseStatement) -> bool:
    """``from .module import …`` alone on its line."""
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return False
    node = statement.body[0]
    return isinstance(node, cst.ImportFrom) and len(node.relative) == 1 and node.module is not None


def _module_key(statement: cst.BaseStatement) -> tuple[tuple[int, int | str], ...]:
    node = cst.ensure_type(cst.ensure_type(statement, cst.SimpleStatementLine).body[0], cst.ImportFrom)
    assert node.module is not None
    return natural_key(cst.Module(body=[]).code_for_node(node.module).lower())


def _blank_before(statement: cst.BaseStatement) -> bool:
    return any(_is_blank(line) for line in _leading(statement))


def _is_blank(line: cst.EmptyLine) -> bool:
    return line.comment is None


def _is_import(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(node, (cst.Import, cst.ImportFrom)) for node in statement.body
    )


def _comments(statement: cst.BaseStatement) -> list[cst.EmptyLine]:
    return [line for line in _leading(statement) if line.comment is not None]


def _with_leading(statement: cst.BaseStatement, lines: list[cst.EmptyLine]) -> cst.BaseStatement:
    return statement.with_changes(leading_lines=lines)


def _is_simple(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine)


def _leading(statement: cst.BaseStatement) -> list[cst.EmptyLine]:
    return list(getattr(statement, "leading_lines", ()))


def _without_managed_imports(
    statements: Sequence[cst.BaseStatement], managed: frozenset[str]
) -> tuple[list[cst.BaseStatement], int | None, list[cst.BaseStatement]]:
    """The statements without kitgen's imports, where the first of those was, and those imports."""
    kept: list[cst.BaseStatement] = []
    position: int | None = None
    removed: list[cst.BaseStatement] = []
    for statement in statements:
        export = _kitgen_import(statement)
        if export is not None and export[0] in managed:
            position = len(kept) if position is None else position
            removed.append(statement)
        else:
            kept.append(statement)
    return kept, position, removed


def _kitgen_import(statement: cst.BaseStatement) -> Export | None:
    """``from .module import Class`` alone on its line, as (module, class): the shape exports.read_exports reads."""
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return None
    node = statement.body[0]
    if not (isinstance(node, cst.ImportFrom) and len(node.relative) == 1 and isinstance(node.module, cst.Name)):
        return None
    if not isinstance(node.names, Sequence) or len(node.names) != 1:
        return None
    alias = node.names[0]
    if alias.asname is not None or not isinstance(alias.name, cst.Name):
        return None
    return node.module.value, alias.name.value


def _export_of(statement: cst.BaseStatement) -> Export:
    export = _kitgen_import(statement)
    assert export is not None
    return export
