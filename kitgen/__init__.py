"""kitgen: migrations for SQLite, and typed entities that always match the schema."""

from kitgen.migrations.base import Database, Migration

__all__ = ["Database", "Migration", "__version__"]
__version__ = "0.1.0"
