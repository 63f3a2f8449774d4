"""kitgen: migrations for SQLite, and typed entities that always match the schema."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from kitgen.migrations.base import Database, Migration, TableAlteration

__all__ = ["Database", "Migration", "TableAlteration", "__version__"]
__version__ = "0.3.0"


def __getattr__(name: str) -> object:
    """The classes migrations import, loaded on first use: the no-op ``kitgen migrate`` needs none."""
    if name in ("Database", "Migration", "TableAlteration"):
        from kitgen.migrations import base

        return getattr(base, name)
    raise AttributeError(f"module 'kitgen' has no attribute {name!r}")
