"""The enums module written beside PostgreSQL entities (``enums.py``): one ``enum.StrEnum`` per type.

Every entity whose columns use an enum type (or an array of one) names its class here
(``enums.Mood``), so a value is the same member whichever entity holds it. Classes come sorted
by type name and members in the type's order, named by ``kitgen.codegen.names``: the same types
give the same bytes. The module is written when the schema has enum types, and deleted with
the last of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from kitgen import __version__
from kitgen.codegen import headers
from kitgen.codegen.docs import docstring, literal
from kitgen.codegen.plan import ENUMS_MODULE, EntitySpec, EnumSpec
from kitgen.codegen.render import SKIP

DOCSTRING = '"""The enum types of the database: each a StrEnum whose members are its labels, in order."""\n'
LINE_LENGTH = 88


def enums_of(specs: Iterable[EntitySpec]) -> list[EnumSpec]:
    """Every enum type the entities use, sorted by name."""
    return sorted({found.name: found for spec in specs for found in spec.enums}.values(), key=lambda e: e.name)


def render_enums(enums: Sequence[EnumSpec]) -> str:
    """The module body: its docstring, ``import enum`` and one class per type."""
    classes = "\n\n".join(_enum_class(found) for found in sorted(enums, key=lambda found: found.name))
    return f"{DOCSTRING}\nimport enum\n\n\n{classes}"


def _enum_class(found: EnumSpec) -> str:
    lines = [f"class {found.class_name}(enum.StrEnum):", f"    {docstring(f'Enum type {literal(found.name)}.')}"]
    members = [f"    {member} = {literal(label)}" for member, label in found.members]
    lines += [""] * bool(members) + [line + SKIP if len(line) > LINE_LENGTH else line for line in members]
    return "\n".join(lines) + "\n"


def enums_text(enums: Sequence[EnumSpec]) -> str:
    """The whole file: kitgen's header, then the body whose hash it records."""
    body = render_enums(enums)
    return headers.compose("kitgen", ENUMS_MODULE, headers.digest(__version__ + body), body)


def enums_current(text: str, enums: Sequence[EnumSpec]) -> bool:
    """Whether the enums module on disk is the one kitgen would write: the same text, or the same code in a
    formatter's layout."""
    wanted = enums_text(enums)
    if text == wanted:
        return True
    found, expected = headers.parse(text), headers.parse(wanted)
    return (
        found is not None
        and expected is not None
        and found.schema_hash == expected.schema_hash
        and not headers.is_edited(text)
    )
