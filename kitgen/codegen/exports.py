"""What ``app/entities/__init__.py`` exports, read once: the one verdict ``generate`` and ``check`` share.

kitgen owns two things in that file: the ``from .module import Class`` lines of generated modules
(one class, no alias, alone on its line, at the top level), and those classes' names in
``__all__``. Everything else is the user's. ``__all__`` may be any expression or sequence of
statements at the top level (``__all__ = HELPERS + [...]``, ``[*BASE, ...]``, a tuple,
``__all__ += [...]``): what counts is the string literals of its list and tuple literals, as
Python would build it (a later ``__all__ = …`` replaces what came before).

Reading needs only ``ast`` (no libcst): ``check`` and the no-op path decide from it. Editing lives
in ``kitgen.codegen.exports_edit`` and is loaded only when the file has to change; it edits only
when this verdict says "not current", and its result must read as current.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from kitgen.codegen.names import natural_key
from kitgen.errors import KitgenError

Export = tuple[str, str]  # (module, class)
INDENT = "    "
LINE_LENGTH = 88  # the formatters' default: a longer import is written in their wrapped form


class ExportsError(KitgenError):
    """The exports file cannot be parsed, or kitgen cannot make it list the entities."""


@dataclass(frozen=True)
class ExportsRead:
    """What an ``__init__.py`` exports, as kitgen sees it."""

    imports: frozenset[Export]  # every line shaped like kitgen's: from .module import Class
    all_names: frozenset[str] | None  # the names __all__ is built from; None: no __all__ at the top level


@dataclass(frozen=True)
class ExportsGoal:
    """What kitgen wants: these exports, and which modules' imports are kitgen's to add or remove."""

    exports: tuple[Export, ...]
    managed: frozenset[str]  # modules of generated entities, gone or present

    @classmethod
    def of(cls, exports: Iterable[Export], managed_modules: Iterable[str]) -> ExportsGoal:
        wanted = tuple(sorted(set(exports)))
        return cls(wanted, frozenset(managed_modules) | {module for module, _ in wanted})


@functools.lru_cache(maxsize=8)  # one file, read again by generate, check and watch's every change
def read_exports(source: str) -> ExportsRead | None:
    """The exports of ``source``; None when it is not valid Python."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    alone = _alone_on_their_lines(tree.body)
    imports = frozenset(export for node in alone if (export := _kitgen_import(node)) is not None)
    return ExportsRead(imports, _all_names(tree.body))


def is_current(read: ExportsRead | None, goal: ExportsGoal) -> bool:
    """Whether the file already imports and lists exactly what ``goal`` wants (nothing to edit)."""
    if read is None:
        return False  # updating it reports the problem
    owned = {export for export in read.imports if export[0] in goal.managed}
    if owned != set(goal.exports):
        return False
    if not owned:
        return True  # nothing of kitgen's to list: __all__, if any, is the user's business
    names = {name for _, name in goal.exports}
    return read.all_names is not None and names <= read.all_names


def stale_names(read: ExportsRead, goal: ExportsGoal) -> set[str]:
    """kitgen's names that ``__all__`` must no longer list: classes of imports kitgen removes."""
    names = {name for _, name in goal.exports}
    return {name for module, name in read.imports if module in goal.managed} - names


def update_exports(source: str, exports: Sequence[Export], managed_modules: Iterable[str], path: str) -> str:
    """``source`` with kitgen's imports and ``__all__`` entries made to match ``exports``.

    ``managed_modules``: modules whose kitgen-shaped imports go when not in ``exports`` (dropped tables,
    deleted files). ``source`` comes back unchanged when it is current already; a file without
    ``__all__`` gets one, even an empty one.
    """
    goal = ExportsGoal.of(exports, managed_modules)
    read = read_exports(source)
    if read is not None and read.all_names is not None and is_current(read, goal):
        return source
    updated = _plain_update(source, read, goal)
    if updated is None:
        from kitgen.codegen.exports_edit import edit_exports

        updated = edit_exports(source, goal, path)
    if not is_current(read_exports(updated), goal):  # one verdict: what kitgen writes, check accepts
        raise ExportsError(
            f"kitgen cannot make __all__ in {path} list the entities",
            "write __all__ as a list (or a sum of lists) of strings, or delete the file and run kitgen generate",
        )
    return updated


def _plain_update(source: str, read: ExportsRead | None, goal: ExportsGoal) -> str | None:
    """The file in kitgen's plain form for ``goal``, when it is in kitgen's plain form now: a docstring (or
    nothing), kitgen's imports and ``__all__`` of their names, as ``plain_text`` writes them. That is what
    the libcst edit would write (a test holds them to it); a file in any other shape goes to that edit."""
    if (
        read is None
        or not read.imports
        or not goal.exports
        or any(module not in goal.managed for module, _ in read.imports)
    ):
        return None
    head = source[: source.find("from .")] if "from ." in source else source
    if head and not _is_docstring_head(head):
        return None
    if source != plain_text(head, read.imports):
        return None
    return plain_text(head, goal.exports)


def _is_docstring_head(head: str) -> bool:
    """A module docstring on its own, then one blank line."""
    try:
        body = ast.parse(head).body
    except (SyntaxError, ValueError):
        return False
    is_docstring = len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
    return is_docstring and head.endswith('"""\n\n') and not head.endswith('"""\n\n\n')


def plain_text(head: str, exports: Iterable[Export]) -> str:
    """``head`` (a docstring and a blank line, or nothing), the imports of ``exports`` in kitgen's order, a
    blank line and ``__all__`` listing their classes: the file as kitgen writes it for its exports alone."""
    wanted = sorted(exports, key=lambda export: (natural_key(export[0]), export[1]))
    names = sorted((name for _, name in wanted), key=all_order)
    imports = "".join(import_text(module, name) for module, name in wanted)
    return f"{head}{imports}\n__all__ = {literal_text([f'{chr(34)}{name}{chr(34)}' for name in names])}\n"


def import_text(module: str, name: str) -> str:
    """``from .module import Class``, in the formatters' wrapped form when longer than a line."""
    line = f"from .{module} import {name}\n"
    if len(line) - 1 > LINE_LENGTH:
        line = f"from .{module} import (\n{INDENT}{name},\n)\n"
    return line


def literal_text(entries: Sequence[str], *, tuple_: bool = False) -> str:
    """A list (or tuple) literal, one entry a line with a trailing comma: the formatters' exploded form."""
    opening, closing = "()" if tuple_ else "[]"
    if not entries:
        return opening + closing
    return opening + "\n" + "".join(f"{INDENT}{entry},\n" for entry in entries) + closing


def all_order(name: str) -> tuple[int, tuple[tuple[int, int | str], ...]]:
    """``__all__`` in ruff's isort-style order: CONSTANTS, then Classes, then the rest, numbers by value."""
    group = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return group, natural_key(name)


def _alone_on_their_lines(statements: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements that share no line with another (``a; b`` is neither's own line)."""
    for index, node in enumerate(statements):
        before = statements[index - 1] if index else None
        after = statements[index + 1] if index + 1 < len(statements) else None
        shares = (before is not None and (before.end_lineno or before.lineno) >= node.lineno) or (
            after is not None and after.lineno <= (node.end_lineno or node.lineno)
        )
        if not shares:
            yield node


def _kitgen_import(node: ast.stmt) -> Export | None:
    """``from .module import Class`` (one class, no alias, a sibling module) as (module, class)."""
    if not (isinstance(node, ast.ImportFrom) and node.level == 1 and node.module and "." not in node.module):
        return None
    if len(node.names) != 1 or node.names[0].asname is not None or node.names[0].name == "*":
        return None
    return node.module, node.names[0].name


def all_statements(statements: Sequence[ast.stmt]) -> list[ast.stmt]:
    """The top-level statements that decide ``__all__``: its last assignment and the ``+=`` after it."""
    live: list[ast.stmt] = []
    for node in statements:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and _targets_all(node):
            live = [node]
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add) and _is_all(node.target):
            live.append(node)
    return live


def _all_names(statements: Sequence[ast.stmt]) -> frozenset[str] | None:
    live = all_statements(statements)
    if not live:
        return None
    return frozenset(name for node in live for literal in _literals(_value(node)) for name in _strings(literal))


def _targets_all(node: ast.Assign | ast.AnnAssign) -> bool:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return any(_is_all(target) for target in targets)


def _is_all(target: ast.expr) -> bool:
    return isinstance(target, ast.Name) and target.id == "__all__"


def _value(node: ast.stmt) -> ast.expr | None:
    return node.value if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) else None


def _literals(value: ast.expr | None) -> Iterator[ast.List | ast.Tuple]:
    """The list and tuple literals an ``__all__`` value adds together."""
    if isinstance(value, (ast.List, ast.Tuple)):
        yield value
    elif isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add):
        yield from _literals(value.left)
        yield from _literals(value.right)


def _strings(literal: ast.List | ast.Tuple) -> Iterator[str]:
    for element in literal.elts:
        if isinstance(element, ast.Constant) and isinstance(element.value, str):
            yield element.value
