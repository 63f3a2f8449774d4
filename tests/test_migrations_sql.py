"""The .sql format: sections, options, comment stripping, normalization, checksums of up and down."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from conftest import Project, assert_one_error

from kitgen.errors import MigrationFileError
from kitgen.migrations.formats import NO_DOWN
from kitgen.migrations.sql import normalize_sql, parse_sql_migration, sql_checksum, sql_down_checksum, strip_comments

PATH = Path("2026_01_01_000001_x.sql")


def test_sections_keep_their_text_and_first_line() -> None:
    source = "-- migrate:up\nCREATE TABLE a (id INTEGER);\n\n-- migrate:down\nDROP TABLE a;\n"
    parsed = parse_sql_migration(source, PATH)
    assert parsed.up.text == "CREATE TABLE a (id INTEGER);\n\n"
    assert parsed.up.first_line == 2
    assert parsed.down is not None
    assert parsed.down.first_line == 5
    assert parsed.up.transactional and parsed.down.transactional


def test_transaction_false_option_and_model_directive() -> None:
    source = "-- kitgen:model Person\n-- migrate:up transaction:false\nVACUUM;\n-- migrate:down\n"
    parsed = parse_sql_migration(source, PATH)
    assert parsed.model == "Person"
    assert parsed.up.transactional is False
    assert parsed.down is None  # an empty down means irreversible


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("CREATE TABLE a (id INTEGER);\n", "no '-- migrate:up' section"),
        ("-- migrate:up\nSELECT 1;\n-- migrate:up\nSELECT 2;\n", "two '-- migrate:up' sections"),
        ("-- migrate:up transaction:maybe\nSELECT 1;\n", "unknown section option"),
    ],
)
def test_malformed_files_are_errors(source: str, message: str) -> None:
    with pytest.raises(MigrationFileError, match=message):
        parse_sql_migration(source, PATH)


def test_comments_are_stripped_but_quoted_text_is_kept() -> None:
    sql = "SELECT '-- not a comment', \"/* nor */\" -- gone\n/* gone\ntoo */ FROM t;"
    assert strip_comments(sql) == "SELECT '-- not a comment', \"/* nor */\" \n FROM t;"


def test_normalize_folds_white_space_outside_quotes_only() -> None:
    assert normalize_sql("SELECT   'a   b'\n\n  FROM\tt  ;") == "SELECT 'a   b' FROM t;"
    assert normalize_sql("SELECT 'it''s  x'") == "SELECT 'it''s  x'"


BASE = "-- migrate:up\nCREATE TABLE a (id INTEGER);\n-- migrate:down\nDROP TABLE a;\n"


def checksums(source: str) -> tuple[str, str]:
    return sql_checksum(source), sql_down_checksum(source)


def test_checksums_ignore_comments_and_spacing_but_not_statements() -> None:
    reformatted = (
        "-- a comment\n-- migrate:up\nCREATE TABLE a (\n  id INTEGER -- the key\n);\n\n-- migrate:down\nDROP TABLE a;"
    )
    assert checksums(BASE) == checksums(reformatted)
    assert sql_checksum(BASE) != sql_checksum(BASE.replace("INTEGER", "TEXT"))
    assert sql_down_checksum(BASE) == sql_down_checksum(BASE.replace("INTEGER", "TEXT"))


@pytest.mark.parametrize(
    "edited",
    [
        BASE.replace("DROP TABLE a", "DROP TABLE IF EXISTS a"),
        BASE.replace("-- migrate:down", "-- migrate:down transaction:false"),
        BASE.replace("-- migrate:down\nDROP TABLE a;\n", ""),
        BASE.replace("DROP TABLE a;", "-- nothing to undo"),
    ],
    ids=["statement", "option", "section-removed", "section-emptied"],
)
def test_editing_the_down_changes_the_down_checksum_only(edited: str) -> None:
    assert sql_checksum(edited) == sql_checksum(BASE)
    assert sql_down_checksum(edited) != sql_down_checksum(BASE)


def test_an_empty_down_section_is_no_down() -> None:
    up_only = "-- migrate:up\nCREATE TABLE a (id INTEGER);\n"
    for source in (up_only, up_only + "-- migrate:down\n", up_only + "-- migrate:down transaction:false\n;  -- none\n"):
        assert checksums(source) == (sql_checksum(BASE), NO_DOWN)


def test_up_options_count_in_the_up_checksum_in_any_order() -> None:
    options = BASE.replace("-- migrate:up", "-- migrate:up transaction:false foreign_keys:on")
    assert sql_checksum(options) != sql_checksum(BASE)
    assert checksums(options) == checksums(
        options.replace("transaction:false foreign_keys:on", "foreign_keys:on  transaction:false")
    )


def test_normalize_keeps_the_space_beside_any_non_ascii_character() -> None:
    """Which characters are letters depends on the Unicode tables of the Python version; the checksum must not."""
    assert normalize_sql("SELECT  ∑  FROM  t") == "SELECT ∑ FROM t"
    assert normalize_sql("SELECT 'é' , ∑ ;") == "SELECT 'é',∑;"


@pytest.mark.parametrize(
    "statement", ["COMMIT;", "commit", "BEGIN TRANSACTION;", "END;", "ROLLBACK;", "/* x */ COMMIT;"]
)
def test_transaction_control_in_sql_is_explained_in_sql_terms(project: Project, statement: str) -> None:
    project.sql("2026_01_01_000001_t", f"CREATE TABLE t (id INTEGER);\n{statement}\n")
    result = project.run("migrate")
    assert_one_error(
        result, "is not allowed in a migration that runs in a transaction", "-- migrate:up transaction:false"
    )
    assert "transaction = False" not in result.stderr
    assert not project.database.exists() or "t" not in project.tables()


def test_vacuum_in_a_transactional_sql_migration_points_to_transaction_false(project: Project) -> None:
    project.sql("2026_01_01_000001_t", "CREATE TABLE t (id INTEGER);", "VACUUM;")
    assert project.run("migrate").returncode == 0
    result = project.run("migrate:rollback", "--force")
    assert_one_error(result, "cannot VACUUM from within a transaction", "-- migrate:down transaction:false")
    assert project.tables() == ["kitgen_migrations", "t"]


def test_vacuum_with_transaction_false_runs(project: Project) -> None:
    project.write("2026_01_01_000001_v.sql", "-- migrate:up transaction:false\nVACUUM;\n")
    result = project.run("migrate")
    assert result.returncode == 0, result.stderr


def test_vacuum_after_a_begin_in_a_migration_outside_a_transaction_says_to_commit_first(project: Project) -> None:
    project.write("2026_01_01_000001_v.sql", "-- migrate:up transaction:false\nBEGIN;\nVACUUM;\n")
    result = project.run("migrate")
    assert_one_error(result, "cannot VACUUM from within a transaction", "a BEGIN earlier in it opened one")
    assert "transaction:false' to run it" not in result.stderr


def test_sql_migration_with_bom_and_crlf_runs(project: Project) -> None:
    text = "\ufeff-- migrate:up\r\nCREATE TABLE t (\r\n  id INTEGER PRIMARY KEY\r\n);\r\n\r\n-- migrate:down\r\nDROP TABLE t;\r\n"
    (project.migrations / "2026_01_01_000001_t.sql").write_bytes(text.encode("utf-8"))
    result = project.run("migrate")
    assert result.returncode == 0, result.stderr
    assert "t" in project.tables()
    assert project.run("migrate:status", "--exit-code").returncode == 0
    assert project.run("migrate:rollback", "--force").returncode == 0


def test_line_end_conversion_of_an_applied_migration_changes_nothing(project: Project) -> None:
    """A checkout converting line ends (git autocrlf) leaves the migration applied and its data as they were."""
    path = project.sql("2026_01_01_000001_t", "CREATE TABLE t (v TEXT);\nINSERT INTO t VALUES ('x\ny');")
    assert project.run("migrate").returncode == 0
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert project.run("migrate:status", "--exit-code").returncode == 0
    assert project.run("check").returncode == 0
    (project.migrations / "2026_01_01_000002_u.sql").write_bytes(
        b"-- migrate:up\r\nINSERT INTO t VALUES ('a\r\nb');\r\n"
    )
    (project.migrations / "2026_01_01_000003_w.sql").write_bytes(b"-- migrate:up\rINSERT INTO t VALUES ('c\rd');\r")
    assert project.run("migrate").returncode == 0
    with project.connect() as connection:
        assert [row[0] for row in connection.execute("SELECT v FROM t")] == ["x\ny", "a\nb", "c\nd"]


def test_a_utf16_migration_is_named_as_not_utf8(project: Project) -> None:
    for suffix in (".sql", ".py"):
        path = project.migrations / f"2026_01_01_000001_t{suffix}"
        path.write_bytes("-- migrate:up\nCREATE TABLE t (id INTEGER);\n".encode("utf-16-le"))
        assert_one_error(project.run("migrate"), "is not UTF-8 text")
        path.unlink()


@pytest.mark.parametrize(
    "statement", ["PRAGMA journal_mode=WAL;", "PRAGMA main.journal_mode = MEMORY;", "PRAGMA foreign_keys = OFF;"]
)
def test_pragmas_sqlite_ignores_in_a_transaction_are_refused(project: Project, statement: str) -> None:
    project.sql("2026_01_01_000001_t", f"CREATE TABLE t (id INTEGER);\n{statement}")
    result = project.run("migrate")
    assert_one_error(result, "cannot be changed inside a transaction", "-- migrate:up transaction:false")
    project.write("2026_01_01_000001_t.sql", f"-- migrate:up transaction:false\n{statement}\n")
    assert project.run("migrate").returncode == 0


def test_normalizing_code_without_quotes_or_comments_agrees_with_the_general_way() -> None:
    """Sections of code and spacing alone take two regular-expression passes; quotes or comments take the
    piece-by-piece way. Checksums recorded in databases depend on both giving the same text."""
    from kitgen.migrations.sql import SEPARATED, _separator

    pieces = [*"ab_1$;(),.=*+-/", " ", "\t", "\n", "\r\n", "  ", "é", "∑", "\u00a0", "\u2028", "\u3000"]
    generator = random.Random(14)
    for _ in range(20000):
        text = "".join(generator.choice(pieces) for _ in range(generator.randint(0, 20)))
        assert "--" in text or "/*" in text or normalize_sql(text) == SEPARATED.sub(_separator, text), repr(text)
