"""Splitting PostgreSQL scripts: psql's lexical rules, pg_dump's output replayed, meta-commands."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pg_server
import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kitgen.driver.base import StatementError
from kitgen.driver.postgres_split import split_statements

WHITESPACE = " \t\n\r\f\v"


def texts(script: str) -> list[str]:
    return [statement for _, statement in split_statements(script)]


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("SELECT 'a''b;c'; SELECT 2", ["SELECT 'a''b;c';", "SELECT 2"]),
        ("SELECT E'it\\'s;'; SELECT 2", ["SELECT E'it\\'s;';", "SELECT 2"]),
        ("SELECT e'\\\\'';'; SELECT 2", ["SELECT e'\\\\'';';", "SELECT 2"]),
        ("SELECT 'a\\'; SELECT 2", ["SELECT 'a\\';", "SELECT 2"]),  # a backslash is a character in '…'
        ("SELECT E'a'\n'\\';'; SELECT 2", ["SELECT E'a'\n'\\';';", "SELECT 2"]),  # continued: still E'…'
        ("SELECT E'a' -- c\n  '\\';'; SELECT 2", ["SELECT E'a' -- c\n  '\\';';", "SELECT 2"]),
        (
            "SELECT X'1f;', B'1;', N'a;', U&'d\\0061t;a'; SELECT 2",
            ["SELECT X'1f;', B'1;', N'a;', U&'d\\0061t;a';", "SELECT 2"],
        ),
        ('SELECT "a;b""c", U&"d;"; SELECT 2', ['SELECT "a;b""c", U&"d;";', "SELECT 2"]),
        ("SELECT $$a;b$$; SELECT 2", ["SELECT $$a;b$$;", "SELECT 2"]),
        ("SELECT $tag$a;$$;$ta$;b$tag$; SELECT 2", ["SELECT $tag$a;$$;$ta$;b$tag$;", "SELECT 2"]),
        ("SELECT $_$ $1; $_$; SELECT 2", ["SELECT $_$ $1; $_$;", "SELECT 2"]),
        ("SELECT $a$ $A$; $a$; SELECT 2", ["SELECT $a$ $A$; $a$;", "SELECT 2"]),  # tags are case-sensitive
        ("SELECT $é$;$é$; SELECT 2", ["SELECT $é$;$é$;", "SELECT 2"]),
        ("PREPARE p AS SELECT $1; SELECT $2$$;$$", ["PREPARE p AS SELECT $1;", "SELECT $2$$;$$"]),
        ("SELECT a$b, c$$d FROM t; SELECT $$;$$", ["SELECT a$b, c$$d FROM t;", "SELECT $$;$$"]),  # $ in names
        ("SELECT 1 /* a /* b; */ c; */; SELECT 2", ["SELECT 1 /* a /* b; */ c; */;", "SELECT 2"]),
        ("SELECT 1 /*/ ; */; SELECT 2", ["SELECT 1 /*/ ; */;", "SELECT 2"]),
        ("SELECT 1 */ ; SELECT 2", ["SELECT 1 */ ;", "SELECT 2"]),
        ("SELECT 1 -- x; y\n; SELECT 2", ["SELECT 1 -- x; y\n;", "SELECT 2"]),
        ("SELECT 1 +-- x;\n 2; SELECT 2", ["SELECT 1 +-- x;\n 2;", "SELECT 2"]),
        ("SELECT 1e5, 1e'x;'; SELECT 2", ["SELECT 1e5, 1e'x;';", "SELECT 2"]),
        (
            "CREATE RULE r AS ON INSERT TO v DO INSTEAD (INSERT INTO a VALUES (1); INSERT INTO a VALUES (2)); SELECT 2",
            [
                "CREATE RULE r AS ON INSERT TO v DO INSTEAD (INSERT INTO a VALUES (1); INSERT INTO a VALUES (2));",
                "SELECT 2",
            ],
        ),
        (
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN x THEN 1 END; END;"
            " SELECT 2",
            [
                "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN x THEN 1 END; END;",
                "SELECT 2",
            ],
        ),
        (
            "create or replace procedure p() language sql begin atomic select 1; end; begin; end;",
            ["create or replace procedure p() language sql begin atomic select 1; end;", "begin;", "end;"],
        ),
        ("DO $$ BEGIN PERFORM 1; END $$; SELECT 2", ["DO $$ BEGIN PERFORM 1; END $$;", "SELECT 2"]),
        ("SELECT 1 /* never closed; SELECT 2", ["SELECT 1 /* never closed; SELECT 2"]),
        ("SELECT 'never closed; SELECT 2", ["SELECT 'never closed; SELECT 2"]),
        ("SELECT $x$ never closed; SELECT 2", ["SELECT $x$ never closed; SELECT 2"]),
        (" ; -- only a comment;\n /* and; another */ ;\n", []),
        ("SELECT 1;;; SELECT 2;", ["SELECT 1;", "SELECT 2;"]),
        ("SELECT\u00a0;", ["SELECT\u00a0;"]),  # a no-break space is part of a name, not white space
    ],
)
def test_semicolons_inside_quotes_comments_parentheses_and_routine_bodies_do_not_split(
    script: str, expected: list[str]
) -> None:
    assert texts(script) == expected


def test_each_statement_has_the_line_of_its_first_word() -> None:
    script = (
        "-- header\nCREATE TABLE a (x text DEFAULT ';');\n"
        "/* a\n comment */ CREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN 'y;';\nEND\n$$;\n"
        "\n  INSERT INTO a VALUES ('z\n')"
    )
    statements = split_statements(script, first_line=10)
    assert [line for line, _ in statements] == [11, 13, 19]
    assert statements[0][1].startswith("-- header\nCREATE TABLE a")  # leading comments stay, as on SQLite
    assert statements[2][1] == "INSERT INTO a VALUES ('z\n')"


def test_pg_dump_restrict_lines_are_skipped_and_other_meta_commands_refused() -> None:
    script = "--\n\\restrict abc\n\nSET x = 1;\nSELECT 1\n\\unrestrict abc\n;\n"
    assert split_statements(script) == [(4, "--\n\n\nSET x = 1;"), (5, "SELECT 1\n\n;")]
    with pytest.raises(StatementError, match=r"\\connect is a psql meta-command, not SQL") as refused:
        split_statements("SELECT 1;\n\n\\connect other\nSELECT 2;", first_line=7)
    assert (refused.value.line, refused.value.statement) == (9, "\\connect other")
    assert refused.value.hint is not None and "remove it" in refused.value.hint
    with pytest.raises(StatementError, match=r"ends the rows of a COPY … FROM stdin") as refused:
        split_statements("COPY t (a) FROM stdin;\n1\n2\n\\.\n")
    assert refused.value.line == 4
    assert refused.value.hint == "write the rows as INSERT statements (pg_dump --inserts or --column-inserts)"
    assert texts("SELECT '\\connect'; -- \\connect\nSELECT $$\n\\i x$$") == [
        "SELECT '\\connect';",
        "-- \\connect\nSELECT $$\n\\i x$$",
    ]


# --- generated statements join and split back -------------------------------------------------------------

CHARACTERS = st.text(
    st.sampled_from([*";'\"$\\\n-/*()eE x", "é", "\u00a0"]) | st.characters(codec="utf-8"), max_size=12
)
FLAT = CHARACTERS.map(lambda text: text.replace("*", "").replace("/", ""))
WORDS = st.from_regex(r"[a-z_][a-z0-9_$]{0,6}", fullmatch=True).filter(
    lambda word: word not in {"begin", "case", "end"}
)
TAGS = st.from_regex(r"(|[A-Za-z_][A-Za-z0-9_]{0,4})", fullmatch=True)


def _dollar_quoted(tag: str, body: str) -> str:
    close = f"${tag}$"
    return close + body.replace(close, "") + close


def _closes_once(quoted: str) -> bool:
    close = quoted[: quoted.index("$", 1) + 1]
    return quoted.find(close, len(close)) == len(quoted) - len(close)


COMMENTS = st.recursive(
    FLAT.map(lambda text: f"/*{text}*/"),
    lambda inner: st.tuples(FLAT, inner, FLAT).map(lambda parts: f"/*{parts[0]} {parts[1]} {parts[2]}*/"),
    max_leaves=3,
)
PIECES = st.one_of(
    WORDS,
    st.from_regex(r"[0-9]{1,4}(\.[0-9]{1,2})?", fullmatch=True),
    st.sampled_from(
        ["+", "-", "*", "/", "::", "<>", ",", ".", "=", "||", "@", "#", "%", "^", "&", "|", "~", "!", "[1]"]
    ),
    st.integers(1, 99).map(lambda number: f"${number}"),
    CHARACTERS.map(lambda text: "'" + text.replace("'", "''") + "'"),
    CHARACTERS.map(lambda text: "E'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"),
    CHARACTERS.map(lambda text: "X'" + text.replace("'", "''") + "'"),
    CHARACTERS.map(lambda text: '"' + text.replace('"', '""') + '"'),
    st.builds(_dollar_quoted, TAGS, CHARACTERS).filter(_closes_once),
    CHARACTERS.map(lambda text: "--" + text.replace("\n", " ").replace("\r", " ") + "\nx"),  # no string after it
    COMMENTS,
)
GROUPS = st.lists(st.lists(PIECES, max_size=4).map(" ".join), min_size=1, max_size=3).map(
    lambda parts: "(" + "; ".join(parts) + ")"
)
PLAIN = st.tuples(
    st.sampled_from(["SELECT", "insert", "DO", "comment", "alter"]), st.lists(PIECES | GROUPS, max_size=8)
)
ROUTINES = st.lists(st.lists(PIECES, max_size=5).map(" ".join), min_size=1, max_size=3).map(
    lambda bodies: (
        "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC "
        + " ".join(f"SELECT CASE WHEN true THEN {body} END;" for body in bodies)
        + " END"
    )
)
STATEMENTS = PLAIN.map(lambda parts: " ".join([parts[0], *parts[1]])) | ROUTINES
SEPARATORS = st.sampled_from(["", " ", "\n", "\n\n", "\t", " \r\n"])


@settings(max_examples=300)
@given(st.lists(STATEMENTS, min_size=1, max_size=5), SEPARATORS, st.integers(1, 50))
def test_statements_joined_with_semicolons_split_back(statements: list[str], separator: str, first_line: int) -> None:
    script = (";" + separator).join(statements)
    expected_texts = [(statement + ";").strip(WHITESPACE) for statement in statements[:-1]]
    expected_texts.append(statements[-1].strip(WHITESPACE))
    starts = [
        sum(len(statement) + 1 + len(separator) for statement in statements[:index]) for index in range(len(statements))
    ]
    expected_lines = [first_line + script.count("\n", 0, start) for start in starts]
    assert split_statements(script, first_line) == list(zip(expected_lines, expected_texts, strict=True))


# --- a real pg_dump, replayed -----------------------------------------------------------------------------

SCHEMA = r"""
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy;yes', 'it''s');
CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0);
CREATE TABLE "order" (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "user" text DEFAULT 'a;b',
    m mood,
    qty positive_int,
    note text DEFAULT E'x\\y;\'z',
    "we;ird""name" int
);
CREATE TABLE audit (id serial PRIMARY KEY, what text, at timestamptz NOT NULL DEFAULT now());
CREATE TABLE a$b (c$d int);
CREATE FUNCTION log_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- a comment; inside
  /* nested /* comment; */ still */
  INSERT INTO audit (what) VALUES ('order ' || NEW.id || ';' || $q$it's;$q$);
  RETURN NEW;
END;
$$;
CREATE FUNCTION add_one(integer) RETURNS integer LANGUAGE sql IMMUTABLE AS $f$ SELECT $1 + 1; $f$;
CREATE FUNCTION weird() RETURNS text LANGUAGE sql AS $fn$ SELECT $$;$$ || E'\';' $fn$;
CREATE FUNCTION atomic_body(a integer) RETURNS integer LANGUAGE sql
BEGIN ATOMIC
  SELECT a + 1;
  SELECT CASE WHEN a > 0 THEN a ELSE 0 END;
END;
CREATE PROCEDURE p(x int) LANGUAGE plpgsql AS $body$
BEGIN
  IF x > 0 THEN RAISE NOTICE 'x;%', x; END IF;
END
$body$;
CREATE TRIGGER order_log AFTER INSERT ON "order" FOR EACH ROW EXECUTE FUNCTION log_order();
CREATE VIEW big_orders AS SELECT id, "user", 'semi;colon' AS s FROM "order" WHERE qty > 10;
CREATE RULE r AS ON INSERT TO big_orders DO INSTEAD (
    INSERT INTO audit (what) VALUES ('x;'); INSERT INTO audit (what) VALUES ('y')
);
COMMENT ON TABLE "order" IS 'orders; with ''quotes'' and $$dollars$$';
CREATE INDEX order_user ON "order" (lower("user")) WHERE "user" <> ';';
DO $$ BEGIN CREATE TABLE made_in_do (x int); END $$;
"""


@pytest.fixture
def second_pg_url(postgres_server: pg_server.Server) -> Iterator[str]:
    name = pg_server.new_database_name()
    with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield postgres_server.url(name)
    with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def schema_dump(server: pg_server.Server, url: str) -> str:
    dumped = subprocess.run(
        [str(server.binaries / "pg_dump"), "--schema-only", "-d", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return dumped.stdout


def without_restrict_keys(dump: str) -> list[str]:
    """The dump's lines but the \\restrict and \\unrestrict ones, whose key is new each time."""
    return [line for line in dump.splitlines() if not line.startswith(("\\restrict ", "\\unrestrict "))]


def test_a_schema_dump_split_and_replayed_gives_the_same_schema(
    postgres_server: pg_server.Server, pg_url: str, second_pg_url: str
) -> None:
    with psycopg.connect(pg_url, autocommit=True) as source:
        for _, statement in split_statements(SCHEMA):
            source.execute(statement)
    dump = schema_dump(postgres_server, pg_url)
    assert "$_$" in dump and "BEGIN ATOMIC" in dump and "DO INSTEAD (" in dump  # what pg_dump writes

    statements = split_statements(dump)
    with psycopg.connect(second_pg_url, autocommit=True) as target:
        for _, statement in statements:
            target.execute(statement)

    assert without_restrict_keys(schema_dump(postgres_server, second_pg_url)) == without_restrict_keys(dump)
    with psycopg.connect(second_pg_url, autocommit=True) as target:
        target.execute('INSERT INTO "order" (qty) VALUES (1)')
        assert target.execute("SELECT what FROM audit").fetchall() == [("order 1;it's;",)]
        assert target.execute("SELECT public.weird(), public.atomic_body(2)").fetchone() == (";';", 2)
