"""What failed PostgreSQL statements mean: each error produced by really running the statement."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from kitgen.driver.base import StatementError
from kitgen.driver.postgres_errors import statement_error, transaction_control
from kitgen.migrations.python import load_python
from kitgen.migrations.runner import _failure
from kitgen.migrations.sql import load_sql


def failure(url: str, *statements: str, setup: str = "") -> tuple[str, psycopg.Error]:
    """The statement that failed and its error, the statements run in one transaction after ``setup``."""
    if setup:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(setup)
    with psycopg.connect(url) as connection:
        for statement in statements:
            try:
                connection.execute(statement)
            except psycopg.Error as exc:
                return statement, exc
    raise AssertionError(f"nothing failed in {statements}")


def printed(error: StatementError, source: str = "-- migrate:up\nSELECT 1;\n") -> str:
    """The error kitgen prints when this statement fails in the up of a migration ``m`` (``.sql`` or ``.py``)."""
    if source.startswith("-- migrate:"):
        migration = load_sql("m", source, Path("m.sql"))
    else:
        migration = load_python("m", source, Path("m.py"))
    return str(_failure(migration, "up", error, [], []))


@pytest.mark.parametrize(
    ("statement", "setup"),
    [
        ("CREATE INDEX CONCURRENTLY t_x ON t (x)", "CREATE TABLE t (x int)"),
        ("DROP INDEX CONCURRENTLY t_x", "CREATE TABLE t (x int); CREATE INDEX t_x ON t (x)"),
        ("REINDEX TABLE CONCURRENTLY t", "CREATE TABLE t (x int)"),
        ("VACUUM t", "CREATE TABLE t (x int)"),
        ("CREATE DATABASE never_made", ""),
        ("COMMIT PREPARED 'nothing'", ""),
    ],
)
def test_statements_that_cannot_run_in_a_transaction_need_autocommit(pg_url: str, statement: str, setup: str) -> None:
    failed, exc = failure(pg_url, "SELECT 1", statement, setup=setup)
    assert exc.sqlstate == "25001"

    error = statement_error(failed, exc, 2)

    assert error.needs_autocommit
    assert error.message.endswith("cannot run inside a transaction block")
    assert (error.statement, error.line, error.hint, error.detail) == (statement, 2, None, None)
    assert printed(error) == (
        f"migration m failed in up() at line 2: {error.message} in: {statement} — mark the section "
        "'-- migrate:up transaction:false' to run it outside a transaction; the database is as it was before it"
    )
    python = "from kitgen import Migration\n\n\nclass M(Migration):\n    def up(self, db):\n        pass\n"
    assert "set transaction = False on the migration's class to run it outside a transaction" in printed(error, python)


def test_a_new_enum_value_used_in_the_transaction_that_added_it_says_to_split_the_migration(pg_url: str) -> None:
    failed, exc = failure(
        pg_url, "ALTER TYPE mood ADD VALUE 'happy'", "SELECT 'happy'::mood", setup="CREATE TYPE mood AS ENUM ('sad')"
    )
    assert exc.sqlstate == "55P04"

    error = statement_error(failed, exc, 3)

    assert not error.needs_autocommit
    assert error.message == 'unsafe use of new value "happy" of enum type mood'
    assert printed(error) == (
        'migration m failed in up() at line 3: unsafe use of new value "happy" of enum type mood in: '
        "SELECT 'happy'::mood — add the value in one migration and use it in the next: PostgreSQL cannot use a new "
        "enum value before the transaction that added it commits; the database is as it was before it"
    )


def test_a_statement_after_a_failed_one_says_the_transaction_is_aborted(pg_url: str) -> None:
    with psycopg.connect(pg_url) as connection:
        with pytest.raises(psycopg.Error):
            connection.execute("SELECT * FROM missing")
        with pytest.raises(psycopg.Error) as raised:
            connection.execute("SELECT 1")
    assert raised.value.sqlstate == "25P02"
    hint = statement_error("SELECT 1", raised.value, None).hint
    assert hint is not None and "SAVEPOINT" in hint and "aborts the whole transaction" in hint


def test_detail_and_hint_come_from_the_server_on_one_line(pg_url: str) -> None:
    failed, exc = failure(pg_url, "INSERT INTO u VALUES (1), (1)", setup="CREATE TABLE u (a int UNIQUE)")
    error = statement_error(failed, exc, 5)
    assert error.message == 'duplicate key value violates unique constraint "u_a_key"'
    assert error.detail == "Key (a)=(1) already exists"
    assert printed(error) == (
        'migration m failed in up() at line 5: duplicate key value violates unique constraint "u_a_key" '
        "(Key (a)=(1) already exists) in: INSERT INTO u VALUES (1), (1) — fix the migration and run the command "
        "again; the database is as it was before it"
    )  # the DETAIL's "already exists" is not the table's: no migrate:resolve advice

    failed, exc = failure(pg_url, "SELECT nothing_like_it(1)")
    error = statement_error(failed, exc, 1)
    assert error.hint == (
        "No function matches the given name and argument types. You might need to add explicit type casts"
    )
    assert printed(error).endswith(
        "— No function matches the given name and argument types. You might need to add explicit type casts; "
        "the database is as it was before it"
    )


def test_an_object_that_already_exists_still_gets_the_resolve_advice(pg_url: str) -> None:
    failed, exc = failure(pg_url, "CREATE TABLE t (x int)", setup="CREATE TABLE t (x int)")
    assert exc.sqlstate == "42P07"
    assert "kitgen migrate:resolve m --applied" in printed(statement_error(failed, exc, 1))


def test_the_error_position_gives_the_line_in_the_file_or_in_the_statement(pg_url: str) -> None:
    statement = "-- first the comment\n/* and\n another */ SELECT 1,\n  2,\n  nope"
    failed, exc = failure(pg_url, statement)
    assert exc.diag.statement_position is not None

    assert statement_error(failed, exc, 12).line == 14  # line 12 is SELECT's; nope is two lines below
    assert statement_error(failed, exc, 12).message == 'column "nope" does not exist'
    without_line = statement_error(failed, exc, None)
    assert without_line.line is None
    assert without_line.message == 'column "nope" does not exist (line 3 of the statement)'

    failed, exc = failure(pg_url, "SELECT nope")
    assert statement_error(failed, exc, None).message == 'column "nope" does not exist'
    assert statement_error(failed, exc, 7).line == 7


def test_an_error_in_a_function_body_points_at_its_line(pg_url: str) -> None:
    statement = "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$\n  SELECT 1\n  FROM nowhere\n$$"
    failed, exc = failure(pg_url, statement)
    assert statement_error(failed, exc, 20).line == 22


# --- transaction control --------------------------------------------------------------------------------

REFUSED = {
    "BEGIN": "BEGIN",
    "begin work": "BEGIN",
    "BEGIN ISOLATION LEVEL SERIALIZABLE": "BEGIN",
    "start transaction": "START TRANSACTION",
    "COMMIT": "COMMIT",
    "commit /* the work */ work": "COMMIT",
    "COMMIT AND CHAIN": "COMMIT",
    "END": "END",
    "end transaction": "END",
    "ROLLBACK": "ROLLBACK",
    "rollback and no chain": "ROLLBACK",
    "ABORT": "ABORT",
    "-- a comment first\nCOMMIT;": "COMMIT",
    "SELECT 1; COMMIT": "COMMIT",
    "PREPARE TRANSACTION 'kitgen'": "PREPARE TRANSACTION",
}
ALLOWED = [
    "SAVEPOINT s",
    "RELEASE SAVEPOINT s",
    "ROLLBACK TO s",
    "rollback transaction to savepoint s",
    "ROLLBACK WORK TO s",
    "COMMIT PREPARED 'x'",
    "ROLLBACK PREPARED 'x'",
    "PREPARE begin_plan AS SELECT 1",
    "DO $$ BEGIN PERFORM 1; COMMIT; END $$",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END",
    "SELECT 'COMMIT'",
    "-- COMMIT\nSELECT 1",
    "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
]


@pytest.mark.parametrize(("statement", "keyword"), REFUSED.items())
def test_transaction_control_is_refused_with_the_sqlite_message(statement: str, keyword: str) -> None:
    assert transaction_control(statement) == (
        f"{keyword} is not allowed in a migration that runs in a transaction: kitgen begins and commits it"
    )


@pytest.mark.parametrize("statement", ALLOWED)
def test_savepoints_and_other_statements_are_not_transaction_control(statement: str) -> None:
    assert transaction_control(statement) is None


def _transaction_after(url: str, statement: str) -> tuple[int | None, int | None, list[str]]:
    """The transaction id before and after ``statement`` runs inside a transaction that wrote something,
    and the server's notices."""
    notices: list[str] = []
    with psycopg.connect(url) as connection:
        connection.add_notice_handler(lambda diagnostic: notices.append(diagnostic.message_primary or ""))
        connection.execute("CREATE TABLE written (x int); SAVEPOINT s")
        before = connection.execute("SELECT pg_current_xact_id_if_assigned()::text::bigint").fetchone()
        connection.execute(statement)
        after = connection.execute("SELECT pg_current_xact_id_if_assigned()::text::bigint").fetchone()
        connection.rollback()
    assert before is not None and after is not None
    return before[0], after[0], notices


@pytest.mark.parametrize(  # but PREPARE TRANSACTION (disabled by default) and BEGIN ISOLATION LEVEL (refused: 25001)
    "statement", [statement for statement in REFUSED if not any(word in statement for word in ("PREP", "ISOL", ";"))]
)
def test_each_refused_statement_ends_the_transaction_or_is_only_warned_about(pg_url: str, statement: str) -> None:
    before, after, notices = _transaction_after(pg_url, statement)
    assert before is not None
    if transaction_control(statement) in (transaction_control("BEGIN"), transaction_control("START TRANSACTION")):
        assert (after, notices) == (before, ["there is already a transaction in progress"])
    else:
        assert after != before  # committed or rolled back: what ran before it is settled behind kitgen's back


@pytest.mark.parametrize("statement", ["SAVEPOINT t", "RELEASE SAVEPOINT s", "ROLLBACK TO s", "ROLLBACK WORK TO s"])
def test_savepoints_keep_the_transaction(pg_url: str, statement: str) -> None:
    before, after, notices = _transaction_after(pg_url, statement)
    assert (after, notices) == (before, [])


def test_the_modules_import_without_psycopg() -> None:
    """The driver imports them before it can say that psycopg is missing and how to install it."""
    code = (
        "import sys; sys.modules['psycopg'] = None; "
        "import kitgen.driver.postgres_errors, kitgen.driver.postgres_split, kitgen.driver.dialect"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
