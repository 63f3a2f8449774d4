"""The public base class of Python migrations and the handle they receive."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Protocol

Params = Sequence[Any] | Mapping[str, Any]


class Cursor(Protocol):
    """What ``Database.execute`` returns: enough to read rows back."""

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Database(Protocol):
    """kitgen's handle on the connection, given to ``up`` and ``down``.

    Every call stays inside the migration's transaction (unless the migration sets
    ``transaction = False``).
    """

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        """Run one statement with optional parameters."""
        ...

    def executemany(self, sql: str, rows: Iterable[Params]) -> Cursor:
        """Run one statement once per row of parameters."""
        ...

    def executescript(self, script: str, first_line: int | None = None) -> None:
        """Run several ``;``-separated statements, inside the transaction.

        ``first_line`` is the line of the script's start in its file, for error messages.
        """
        ...


class Migration:
    """Subclass once per migration file and implement ``up`` and ``down``.

    ``model`` names the entity class of the table the migration creates;
    ``transaction = False`` runs it outside a transaction (for VACUUM and the like).
    """

    model: ClassVar[str | None] = None
    transaction: ClassVar[bool] = True

    def up(self, db: Database) -> None:
        """Apply the change."""
        raise NotImplementedError

    def down(self, db: Database) -> None:
        """Undo what ``up`` did."""
        raise NotImplementedError
