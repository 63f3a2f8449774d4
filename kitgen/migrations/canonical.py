"""A text form of a Python AST that is the same on every supported Python (3.11 and later).

``ast.dump`` is not: 3.12 added ``type_params``, 3.13 leaves out fields at their defaults, and
``repr`` of a string depends on the interpreter's Unicode tables. Here each node is written as
its class name and its fields, in ``_fields`` order, by name; a field that is None or an empty
list is left out, so fields that later versions add with such defaults change nothing.
Positions (line, column), ``type_comment``, ``Constant.kind`` (the ``u`` of ``u"..."``) and the
source text that 3.14 keeps in ``Interpolation.str`` are never written. Scalars carry their type
and a representation that depends on no version. The text parts of an f-string are merged and
empty ones dropped, since where the parser cuts them has changed between versions.

This module imports only the standard library: the checksums of applied migrations must be
computable by any interpreter, with nothing installed.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

SKIPPED_FIELDS = frozenset({"type_comment"})
SKIPPED_FIELDS_BY_NODE = {  # each with SKIPPED_FIELDS
    "Constant": SKIPPED_FIELDS | {"kind"},  # "u" for u"...": the same string
    "Interpolation": SKIPPED_FIELDS | {"str"},  # 3.14 t-strings: the expression's source text, spacing included
}


class _Text(str):
    """Text to emit as it is (as opposed to a value still to be written)."""


def canonical_ast(node: ast.AST) -> str:
    """The canonical text of a node and everything under it.

    Written recursively, which is the fast way; a tree too deep for the interpreter's stack (a long
    chain such as ``a + b + ... + z``, one nested node per term) is written with an explicit stack.
    """
    out: list[str] = []
    try:
        _write(node, out.append)
    except RecursionError:
        return canonical_ast_iterative(node)
    return "".join(out)


def _write(value: object, out: Callable[[str], None]) -> None:
    """What ``_node_parts`` and ``_written_fields`` describe, written as it is walked."""
    if isinstance(value, ast.AST):
        head, names = _SPECS.get(type(value)) or _spec(type(value))
        out(head)
        separator = ""
        for name in names:
            field = getattr(value, name, None)
            if field is None:
                continue
            if type(field) is list:
                if name == "values" and isinstance(value, ast.JoinedStr):
                    field = _joined_parts(field)
                if not field:
                    continue
            elif name == "format_spec" and isinstance(value, ast.FormattedValue) and not _has_parts(field):
                continue
            out(f"{separator}{name}=")
            separator = ","
            _write(field, out)
        out(")")
    elif type(value) is list:
        out("[")
        for index, element in enumerate(value):
            if index:
                out(",")
            _write(element, out)
        out("]")
    else:
        out(canonical_scalar(value))


_SPECS: dict[type[ast.AST], tuple[str, tuple[str, ...]]] = {}  # node class: "Name(", the fields it may write


def _spec(kind: type[ast.AST]) -> tuple[str, tuple[str, ...]]:
    skipped = SKIPPED_FIELDS_BY_NODE.get(kind.__name__, SKIPPED_FIELDS)
    spec = _SPECS[kind] = (f"{kind.__name__}(", tuple(name for name in kind._fields if name not in skipped))
    return spec


def canonical_ast_iterative(node: ast.AST) -> str:
    """``canonical_ast``'s text, written with an explicit stack rather than recursion."""
    out: list[str] = []
    stack: list[object] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, _Text):
            out.append(item)
        elif isinstance(item, ast.AST):
            stack.extend(reversed(_node_parts(item)))
        elif isinstance(item, list):
            stack.extend(reversed(_list_parts(item)))
        else:
            out.append(canonical_scalar(item))
    return "".join(out)


def _node_parts(node: ast.AST) -> list[object]:
    parts: list[object] = [_Text(f"{type(node).__name__}(")]
    for name, value in _written_fields(node):
        if len(parts) > 1:
            parts.append(_Text(","))
        parts.extend((_Text(f"{name}="), value))
    parts.append(_Text(")"))
    return parts


def _written_fields(node: ast.AST) -> list[tuple[str, object]]:
    """The fields to write, by name, with the f-string parts normalized; None and [] left out."""
    skipped = SKIPPED_FIELDS_BY_NODE.get(type(node).__name__, SKIPPED_FIELDS)
    fields = []
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(node, ast.JoinedStr) and name == "values":
            value = _joined_parts(node.values)
        elif isinstance(node, ast.FormattedValue) and name == "format_spec" and not _has_parts(value):
            value = None
        if name not in skipped and value is not None and not (isinstance(value, list) and not value):
            fields.append((name, value))
    return fields


def _joined_parts(values: list[ast.expr]) -> list[ast.expr]:
    """The parts of an f-string, with adjacent text merged and empty text dropped.

    Where the parser cuts the text of an f-string varies between versions: 3.12.1 ends the format
    spec of ``f"{x:>{w}}"`` with an empty ``Constant("")`` that 3.11 and 3.13 do not have.
    """
    parts: list[ast.expr] = []
    text = ""
    for value in values:
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            text += value.value
            continue
        parts.extend([ast.Constant(value=text), value] if text else [value])
        text = ""
    return [*parts, ast.Constant(value=text)] if text else parts


def _has_parts(format_spec: object) -> bool:
    """``f"{x:}"`` formats as ``f"{x}"`` does: an empty format spec counts as none."""
    return not isinstance(format_spec, ast.JoinedStr) or bool(_joined_parts(format_spec.values))


def _list_parts(items: list[object]) -> list[object]:
    parts: list[object] = [_Text("[")]
    for index, element in enumerate(items):
        if index:
            parts.append(_Text(","))
        parts.append(element)
    parts.append(_Text("]"))
    return parts


def canonical_scalar(value: object) -> str:
    """A constant or a plain field value, tagged with its type; None only appears inside lists."""
    if value is None or value is Ellipsis:
        return repr(value)
    if isinstance(value, bool):
        return f"bool:{value}"
    if isinstance(value, int):
        return f"int:{value:x}"  # hexadecimal: no digit limit, unlike str(int) since 3.11
    if isinstance(value, float | complex):
        return f"{type(value).__name__}:{value!r}"
    if isinstance(value, str):
        return f'str:"{_escaped(value)}"'
    if isinstance(value, bytes):
        return f"bytes:{value.hex()}"
    raise TypeError(f"no canonical form for a {type(value).__name__} in an AST")


def _escaped(text: str) -> str:
    """Printable ASCII as it is, every other character as a numbered escape.

    Unlike ``repr``, which keeps the characters the interpreter's Unicode tables call printable,
    this never depends on the version; lone surrogates are escaped one by one.
    """
    return text.encode("unicode_escape").decode("ascii").replace('"', '\\"')
