"""Edit ``app/entities/__init__.py`` so that it exports every entity, with minimal edits (libcst).

Called only when ``kitgen.codegen.exports`` says the file is not current. kitgen's imports are
kept as one block, sorted; ``__all__`` gets kitgen's names in the list literal that already holds
them (or a new ``__all__ += [...]`` when its value has no literal). Every other node (user imports,
comments, helpers, ``if TYPE_CHECKING:`` blocks, formatting) comes out byte for byte as it went in,
and an import that is already right is kept as it is, comments and all. What kitgen writes is in
the form ``ruff format`` and ``black`` (default settings) leave as it is.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import libcst as cst

from kitgen.codegen.exports import Export, ExportsError, ExportsGoal
from kitgen.codegen.names import natural_key

LINE_LENGTH = 88  # the formatters' default: a longer import is written in their wrapped form
INDENT = "    "
AllLiteral = cst.List | cst.Tuple


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
        position = _after_imports(body)
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
    body = _with_all(body, names, old_names)
    if body and not module.header:  # nothing but code above: no blank line at the top of the file
        body[0] = _with_leading(body[0], list(itertools.dropwhile(_is_blank, _leading(body[0]))))
    return module.with_changes(body=body, has_trailing_newline=True).code


def _import_statement(module: str, name: str) -> cst.BaseStatement:
    line = f"from .{module} import {name}\n"
    if len(line) - 1 > LINE_LENGTH:
        line = f"from .{module} import (\n{INDENT}{name},\n)\n"
    return cst.parse_statement(line)


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


def all_order(name: str) -> tuple[int, tuple[tuple[int, int | str], ...]]:
    """``__all__`` in ruff's isort-style order: CONSTANTS, then Classes, then the rest, numbers by value."""
    group = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return group, natural_key(name)


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


# --- __all__ ---------------------------------------------------------------------------------------


def _with_all(statements: list[cst.BaseStatement], names: list[str], old_names: set[str]) -> list[cst.BaseStatement]:
    """``names`` listed in ``__all__`` and ``old_names`` no longer: in the literal that holds kitgen's names."""
    live = _all_statements(statements)
    if not live:
        position = _after_imports(statements)
        return [*statements[:position], _all_statement(names, [], None), *statements[position:]]
    value = _value_of(statements[live[0]])
    if len(live) == 1 and isinstance(value, (cst.List, cst.Tuple)) and _only_strings(value):
        return _with_simple_all(statements, live[0], value, names, old_names)
    literals = [(index, literal) for index in live for literal in _literals(_value_of(statements[index]))]
    listed = {name for _, literal in literals for name in _strings(literal)} - old_names
    missing = [name for name in names if name not in listed]
    home = _home([literal for _, literal in literals], set(names) | old_names)
    for index in live:
        exploded = _exploded(_value_of(statements[index]))
        replacements = {
            id(literal): _rebuilt(literal, missing if literal is home else [], set(names), old_names, exploded)
            for position, literal in literals
            if position == index and ((literal is home and missing) or set(_strings(literal)) & old_names)
        }
        if replacements:
            statements[index] = _replaced(statements[index], replacements)
    if home is None and missing:
        statements.insert(live[-1] + 1, cst.parse_statement(f"__all__ += {_literal_text(_quoted(missing))}\n"))
    return statements


def _replaced(statement: cst.BaseStatement, replacements: dict[int, cst.BaseExpression]) -> cst.BaseStatement:
    result = statement.visit(_Replace(replacements))
    assert isinstance(result, cst.BaseStatement)
    return result


class _Replace(cst.CSTTransformer):
    """Replace nodes by identity."""

    def __init__(self, replacements: dict[int, cst.BaseExpression]) -> None:
        super().__init__()
        self.replacements = replacements

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> cst.CSTNode:  # type: ignore[override]
        return self.replacements.get(id(original_node), updated_node)


def _with_simple_all(
    statements: list[cst.BaseStatement], index: int, literal: AllLiteral, names: list[str], old_names: set[str]
) -> list[cst.BaseStatement]:
    """``__all__ = [...]`` of strings alone: kitgen's names first, the user's after.

    The literal is rewritten in place (a tuple stays a tuple, an annotation and a trailing comment stay);
    kitgen's own empty form ``__all__: list[str] = []`` and an emptied plain list are written as kitgen writes them.
    """
    extras = [_code(element) for element in literal.elements if _string(element) not in set(names) | old_names]
    entries = [*_quoted(names), *extras]
    if [_code(element) for element in literal.elements] == entries:
        return statements
    statement = statements[index]
    node = cst.ensure_type(statement, cst.SimpleStatementLine).body[0]
    kitgens_empty_form = (
        isinstance(node, cst.AnnAssign) and not literal.elements and _code_of(node.annotation.annotation) == "list[str]"
    )
    if kitgens_empty_form or (isinstance(node, cst.Assign) and not entries):
        statements[index] = _all_statement(names, extras, statement)
    else:
        replacement = cst.parse_expression(_literal_text(entries, tuple_=isinstance(literal, cst.Tuple)))
        statements[index] = _replaced(statement, {id(literal): replacement})
    return statements


def _code_of(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node).strip()


def _only_strings(literal: AllLiteral) -> bool:
    return all(_string(element) is not None for element in literal.elements)


def _quoted(names: Sequence[str]) -> list[str]:
    return [f'"{name}"' for name in names]


def _all_statements(statements: Sequence[cst.BaseStatement]) -> list[int]:
    """Indexes of the top-level statements that decide ``__all__`` (as exports.all_statements reads them)."""
    live: list[int] = []
    for index, statement in enumerate(statements):
        node = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) and statement.body else None
        if _assigns_all(node):
            live = [index]
        elif isinstance(node, cst.AugAssign) and isinstance(node.operator, cst.AddAssign) and _is_all(node.target):
            live.append(index)
    return live


def _assigns_all(node: cst.BaseSmallStatement | None) -> bool:
    if isinstance(node, cst.Assign):
        return any(_is_all(target.target) for target in node.targets)
    return isinstance(node, cst.AnnAssign) and node.value is not None and _is_all(node.target)


def _is_all(target: cst.BaseExpression) -> bool:
    return isinstance(target, cst.Name) and target.value == "__all__"


def _value_of(statement: cst.BaseStatement) -> cst.BaseExpression | None:
    node = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) else None
    return node.value if isinstance(node, (cst.Assign, cst.AnnAssign, cst.AugAssign)) else None


def _literals(value: cst.BaseExpression | None) -> list[AllLiteral]:
    """The list and tuple literals an ``__all__`` value adds together (as exports._literals reads them)."""
    if isinstance(value, (cst.List, cst.Tuple)):
        return [value]
    if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add):
        return [*_literals(value.left), *_literals(value.right)]
    return []


def _strings(literal: AllLiteral) -> list[str]:
    return [text for element in literal.elements if (text := _string(element)) is not None]


def _string(element: cst.BaseElement) -> str | None:
    if isinstance(element, cst.Element) and isinstance(element.value, (cst.SimpleString, cst.ConcatenatedString)):
        value = element.value.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _home(literals: list[AllLiteral], kitgen: set[str]) -> AllLiteral | None:
    """The literal holding the most of kitgen's names (the last on a tie, so the last when none does)."""
    if not literals:
        return None
    return max(reversed(literals), key=lambda literal: len(set(_strings(literal)) & kitgen))


def _exploded(value: cst.BaseExpression | None) -> cst.BaseExpression | None:
    """The literal of an ``__all__`` value the formatters write one entry a line: the value, or ``X + [...]``.

    Elsewhere in a sum they would wrap the whole sum in parentheses, so kitgen writes that literal on one line.
    """
    if isinstance(value, cst.BinaryOperation) and not isinstance(value.left, cst.BinaryOperation):
        return value.right
    return value


def _rebuilt(
    literal: AllLiteral, missing: list[str], names: set[str], old_names: set[str], exploded: cst.BaseExpression | None
) -> cst.BaseExpression:
    """``literal`` without ``old_names`` and with ``missing``: kitgen's names sorted, after the user's leading ones."""
    elements = [element for element in literal.elements if _string(element) not in old_names]
    first = next((i for i, element in enumerate(elements) if _string(element) in names), None)
    leading = elements[:first] if first is not None else []
    kept = [_string(element) for element in elements[len(leading) :] if _string(element) in names]
    ours = sorted({*missing, *(name for name in kept if name is not None)}, key=all_order)
    rest = [element for element in elements[len(leading) :] if _string(element) not in names]
    entries = [*map(_code, leading), *_quoted(ours), *map(_code, rest)]
    tuple_ = isinstance(literal, cst.Tuple)
    if literal is not exploded:
        opening, closing = "()" if tuple_ else "[]"
        comma = "," if tuple_ and len(entries) == 1 else ""
        return cst.parse_expression(f"{opening}{', '.join(entries)}{comma}{closing}")
    return cst.parse_expression(_literal_text(entries, tuple_=tuple_))


def _literal_text(entries: Sequence[str], *, tuple_: bool = False) -> str:
    """A list (or tuple) literal, one entry a line with a trailing comma: the formatters' exploded form."""
    opening, closing = "()" if tuple_ else "[]"
    if not entries:
        return opening + closing
    return opening + "\n" + "".join(f"{INDENT}{entry},\n" for entry in entries) + closing


def _code(element: cst.BaseElement) -> str:
    value = cst.Module(body=[]).code_for_node(element.value)
    return f"*{value}" if isinstance(element, cst.StarredElement) else value


def _all_statement(names: list[str], extras: list[str], previous: cst.BaseStatement | None) -> cst.BaseStatement:
    entries = [*_quoted(names), *extras]
    statement = cst.parse_statement(f"__all__ = {_literal_text(entries)}\n" if entries else "__all__: list[str] = []\n")
    if isinstance(previous, cst.SimpleStatementLine):
        return statement.with_changes(leading_lines=previous.leading_lines)
    return statement.with_changes(leading_lines=[cst.EmptyLine()])
