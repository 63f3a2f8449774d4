"""What a failed PostgreSQL statement means, and the statements refused before they are sent.

``statement_error`` turns psycopg's error into kitgen's ``StatementError``: the server's primary
message, its DETAIL and HINT, the line the server points at, and what the SQLSTATE says to do
(25001: run the migration outside a transaction; 55P04: use a new enum value in the next migration).
``transaction_control`` names the BEGIN, COMMIT, ROLLBACK… a migration must not run inside kitgen's
transaction: PostgreSQL would commit it early, or only warn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kitgen.driver.base import TRANSACTION_CONTROL_MESSAGE, StatementError
from kitgen.driver.postgres_split import Scanner, first_code_offset, first_words

if TYPE_CHECKING:  # imported by the driver, which says how to install psycopg when it is missing
    import psycopg

ACTIVE_SQL_TRANSACTION = "25001"  # psycopg.errors.ActiveSqlTransaction: CONCURRENTLY, VACUUM, CREATE DATABASE…
HINTS = {  # SQLSTATE → what to do
    "55P03": (  # psycopg.errors.LockNotAvailable: kitgen's lock_timeout ran out waiting for a table lock
        "another session holds a lock on a table the statement needs (an application's open transaction?): "
        "find it in pg_stat_activity and pg_locks and let it finish, or raise --lock-timeout"
    ),
    "55P04": (  # psycopg.errors.UnsafeNewEnumValueUsage: ALTER TYPE … ADD VALUE, then the value used before COMMIT
        "add the value in one migration and use it in the next: PostgreSQL cannot use a new enum value "
        "before the transaction that added it commits"
    ),
    "25P02": (  # psycopg.errors.InFailedSqlTransaction: a statement failed earlier and the migration went on
        "a statement before it failed (an exception caught in the migration?), and a failed statement aborts "
        "the whole transaction in PostgreSQL: let the error stop the migration, or run the statement that may "
        "fail after a SAVEPOINT and ROLLBACK TO it"
    ),
}
TRANSACTION_WORDS = frozenset({"begin", "end", "abort", "commit", "rollback"})
STARTING_WORDS = frozenset({"start", "prepare"})  # START TRANSACTION, PREPARE TRANSACTION


def statement_error(statement: str, exc: psycopg.Error, line: int | None) -> StatementError:
    """kitgen's error for ``statement``, which ``exc`` stopped; ``line``: where its first word is in its file.

    ``statement`` must be the text the server received (the error position counts its characters).
    With ``line``, the line is the one the server points at; without it, the message says which line
    of a statement spanning several the server points at.
    """
    message = _primary_message(exc)
    within = _line_within(statement, exc.diag.statement_position)
    if line is not None:
        line += within
    elif within:
        message += f" (line {within + 1} of the statement)"
    return StatementError(
        statement,
        message,
        line,
        needs_autocommit=exc.sqlstate == ACTIVE_SQL_TRANSACTION,
        hint=_hint(exc),
        detail=_sentence(exc.diag.message_detail),
    )


def _primary_message(exc: psycopg.Error) -> str:
    """The server's one-line message (``str(exc)`` adds LINE, caret, DETAIL and HINT lines)."""
    primary = exc.diag.message_primary
    if primary:
        return primary
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _line_within(statement: str, position: str | None) -> int:
    """How many lines after the statement's first word the error position (1-based characters) is."""
    if not position or not position.isdigit():
        return 0
    index = min(int(position) - 1, len(statement))
    start = first_code_offset(statement)
    return statement.count("\n", start, index) if index > start else 0


def _hint(exc: psycopg.Error) -> str | None:
    return HINTS.get(exc.sqlstate or "") or _sentence(exc.diag.message_hint)


def _sentence(text: str | None) -> str | None:
    """The server's DETAIL or HINT as a clause of kitgen's message: one line, without its final period."""
    if not text:
        return None
    return " ".join(text.split()).removesuffix(".") or None


def transaction_control(statement: str) -> str | None:
    """Why ``statement`` cannot run in a migration's transaction, when it begins, ends or prepares one.

    BEGIN, START TRANSACTION, COMMIT, END, ROLLBACK, ABORT and PREPARE TRANSACTION are refused (each
    statement of a multi-statement string is checked); SAVEPOINT, RELEASE and ROLLBACK TO are not, nor
    COMMIT PREPARED and ROLLBACK PREPARED, which the server itself refuses inside a transaction (25001).
    The driver raises ``StatementError(statement, message, line, needs_autocommit=True)`` with it: outside
    a transaction (``transaction = False``), the migration may manage its own.
    """
    for piece in Scanner(statement).pieces():
        if piece.kind == "statement" and (keyword := _control_keyword(first_words(piece.text, 3))):
            return TRANSACTION_CONTROL_MESSAGE.format(keyword=keyword)
    return None


def _control_keyword(words: list[str]) -> str | None:
    first, second, third = [*words, "", "", ""][:3]
    if first in STARTING_WORDS:
        return f"{first} transaction".upper() if second == "transaction" else None
    if first not in TRANSACTION_WORDS:
        return None
    following = third if second in ("work", "transaction") else second
    if following == "prepared" or (first == "rollback" and following == "to"):
        return None
    return first.upper()
