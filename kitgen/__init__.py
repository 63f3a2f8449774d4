"""kitgen: migrations for SQLite, and typed entities that always match the schema."""

from kitgen.migrations.base import Database, Migration, TableAlteration

__all__ = ["Database", "Migration", "TableAlteration", "__version__"]
__version__ = "0.3.0"
