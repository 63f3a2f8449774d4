"""``__all__`` of ``app/entities/__init__.py``: kitgen's names in, names of removed entities out (libcst).

``__all__`` is what its last top-level assignment and the ``__all__ += …`` after it build, and kitgen's
names live in their list and tuple literals (as ``kitgen.codegen.exports`` reads them). A lone list of
strings is written as kitgen writes it (kitgen's names first); otherwise only the literal holding
kitgen's names changes (or ``__all__ += [...]`` is added when there is none), in the layout ``ruff
format`` and ``black`` give it.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from kitgen.codegen.exports import all_order
from kitgen.codegen.exports import literal_text as _literal_text

AllLiteral = cst.List | cst.Tuple


def after_imports(statements: Sequence[cst.BaseStatement]) -> int:
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


def with_all(statements: list[cst.BaseStatement], names: list[str], old_names: set[str]) -> list[cst.BaseStatement]:
    """``names`` listed in ``__all__`` and ``old_names`` no longer: in the literal that holds kitgen's names."""
    live = _all_statements(statements)
    if not live:
        position = after_imports(statements)
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


def _code(element: cst.BaseElement) -> str:
    value = cst.Module(body=[]).code_for_node(element.value)
    return f"*{value}" if isinstance(element, cst.StarredElement) else value


def _all_statement(names: list[str], extras: list[str], previous: cst.BaseStatement | None) -> cst.BaseStatement:
    entries = [*_quoted(names), *extras]
    statement = cst.parse_statement(f"__all__ = {_literal_text(entries)}\n" if entries else "__all__: list[str] = []\n")
    if isinstance(previous, cst.SimpleStatementLine):
        return statement.with_changes(leading_lines=previous.leading_lines)
    return statement.with_changes(leading_lines=[cst.EmptyLine()])
