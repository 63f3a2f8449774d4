"""The DDL of a PostgreSQL database, as ``schema:dump`` writes it: the server's own ``pg_dump``, normalised.

Only pg_dump knows how to write everything PostgreSQL holds (routines, triggers, partitions,
policies, domains, enums, sequences, materialized views, comments…) in an order it loads in. It
dumps the managed schemas, schema only, without owners, grants, tablespaces, publications,
subscriptions or security labels (they belong to a server, not to the schema a project builds),
and without kitgen's tracking table. Its text is then made fit for kitgen:

- it must load through ``executescript`` inside one transaction of kitgen's own session: pg_dump's
  session settings become transaction-local (``SET LOCAL``, ``set_config(…, true)``); otherwise its
  empty ``search_path`` would outlive the load and break every later unqualified statement of the
  run. ``lock_timeout`` and ``client_encoding`` are left out: kitgen's lock timeout stays in force,
  and psycopg encodes the text itself;
- it must load where the schemas already exist (``migrate:fresh`` keeps them): ``CREATE SCHEMA x``
  becomes ``CREATE SCHEMA IF NOT EXISTS x``; ``public``, in every database, is not created (which
  would need the right to create schemas) and its default comment is left out;
- with ``--schema``, pg_dump writes no ``CREATE EXTENSION``: the extensions the managed schemas hold
  or their objects use are created (``IF NOT EXISTS``) after the schemas, the ones they require
  first; ``plpgsql`` is in every database and left out;
- identical schemas give identical text: pg_dump's version and date comments and the random key of
  its ``\\restrict`` lines are left out, and the layout is rebuilt statement by statement (with the
  splitter ``executescript`` uses), each one under pg_dump's ``-- Name: …; Type: …`` comment when it
  has one, a blank line between them. The text of the statements is pg_dump's, untouched.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kitgen.driver.postgres_split import first_code_offset, split_statements
from kitgen.driver.url import ServerUrl
from kitgen.errors import DatabaseError

if TYPE_CHECKING:
    import psycopg

PG_DUMP_OPTIONS = (
    "--schema-only",
    "--no-owner",
    "--no-privileges",
    "--no-tablespaces",
    "--no-publications",
    "--no-subscriptions",
    "--no-security-labels",
    "--encoding=UTF8",
    "--no-password",  # never wait for a password at a prompt
)
DEBIAN_CLIENTS = "/usr/lib/postgresql/*/bin/pg_dump"
VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)")
NAME_COMMENT = re.compile(r"^-- Name: .*; Type: .*$", re.MULTILINE)
SESSION_SET = re.compile(r"SET\s+(?!LOCAL\s)(?P<name>\w+)", re.IGNORECASE)
SEARCH_PATH_CONFIG = re.compile(r"(SELECT pg_catalog\.set_config\('[^']*', '[^']*', )false(\);)")
CREATE_SCHEMA = re.compile(r"CREATE SCHEMA (?!IF NOT EXISTS )(?P<name>.+);")
LEFT_OUT_SETTINGS = frozenset({"lock_timeout", "client_encoding"})  # see the module docstring
LEFT_OUT_STATEMENTS = frozenset({"CREATE SCHEMA public;", "COMMENT ON SCHEMA public IS 'standard public schema';"})
HEAD_STATEMENT = re.compile(r"(SET |SELECT pg_catalog\.set_config\(|CREATE SCHEMA |COMMENT ON SCHEMA )")
KEPT_EXTENSION_SCHEMAS = frozenset({"public", "pg_catalog"})  # in every database: never created

EXISTING_SCHEMAS = "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s) ORDER BY array_position(%s, nspname)"
EXTENSIONS = """
WITH RECURSIVE members AS (
  SELECT classid, objid, refobjid AS extension FROM pg_depend
  WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
), placed AS (
  SELECT 'pg_class'::regclass AS classid, oid AS objid, relnamespace AS namespace FROM pg_class
  UNION ALL SELECT 'pg_proc'::regclass, oid, pronamespace FROM pg_proc
  UNION ALL SELECT 'pg_type'::regclass, oid, typnamespace FROM pg_type
  UNION ALL SELECT 'pg_constraint'::regclass, oid, connamespace FROM pg_constraint
  UNION ALL SELECT 'pg_attrdef'::regclass, a.oid, c.relnamespace FROM pg_attrdef a JOIN pg_class c ON c.oid = a.adrelid
  UNION ALL SELECT 'pg_trigger'::regclass, t.oid, c.relnamespace FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
  UNION ALL SELECT 'pg_rewrite'::regclass, r.oid, c.relnamespace FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
  UNION ALL SELECT 'pg_policy'::regclass, p.oid, c.relnamespace FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
), wanted AS (
  SELECT e.oid FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE n.nspname = ANY(%(schemas)s)
  UNION
  SELECT m.extension FROM pg_depend d
  JOIN members m ON m.classid = d.refclassid AND m.objid = d.refobjid
  JOIN placed p ON p.classid = d.classid AND p.objid = d.objid
  JOIN pg_namespace n ON n.oid = p.namespace
  WHERE n.nspname = ANY(%(schemas)s) AND d.deptype IN ('n', 'a')
    AND NOT EXISTS (SELECT 1 FROM members x WHERE x.classid = d.classid AND x.objid = d.objid)
), needed(oid, depth) AS (
  SELECT oid, 0 FROM wanted
  UNION
  SELECT d.refobjid, needed.depth + 1 FROM needed JOIN pg_depend d
    ON d.classid = 'pg_extension'::regclass AND d.objid = needed.oid AND d.refclassid = 'pg_extension'::regclass
)
SELECT quote_ident(e.extname), quote_ident(n.nspname), n.nspname, max(needed.depth)
FROM needed JOIN pg_extension e ON e.oid = needed.oid JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname <> 'plpgsql'
GROUP BY e.extname, n.nspname
ORDER BY max(needed.depth) DESC, e.extname
"""


@dataclass(frozen=True)
class Extension:
    """An extension to create, its name and schema quoted as SQL needs them."""

    name: str
    schema: str
    schema_name: str  # unquoted, to tell public and pg_catalog


@dataclass(frozen=True)
class Block:
    """One statement of the dump, under pg_dump's ``-- Name: …`` comment when it has one."""

    header: str | None
    statement: str


def dump_schema(
    connection: psycopg.Connection[Any],
    url: ServerUrl,
    schemas: Sequence[str],
    exclude: tuple[str, str],
    lock_timeout: float,
) -> str:
    """The normalised dump of ``schemas`` (those that exist), the table ``exclude`` (schema, name) left out."""
    existing = [row[0] for row in connection.execute(EXISTING_SCHEMAS, (list(schemas), list(schemas))).fetchall()]
    if not existing:
        return ""
    program = find_pg_dump(server_major(connection))
    raw = run_pg_dump(program, url, pg_dump_arguments(existing, exclude, lock_timeout))
    return normalise(raw, required_extensions(connection, existing), populated_views(connection, existing))


POPULATED_VIEWS = """
SELECT quote_ident(schemaname) || '.' || quote_ident(matviewname) FROM pg_matviews
WHERE ispopulated AND schemaname = ANY(%s)
"""


def populated_views(connection: psycopg.Connection[Any], schemas: Sequence[str]) -> frozenset[str]:
    """The materialized views holding data (qualified and quoted as pg_dump writes them): a migration may have
    made one ``WITH NO DATA``, and a loaded schema must leave it so."""
    return frozenset(row[0] for row in connection.execute(POPULATED_VIEWS, (list(schemas),)).fetchall())


def server_major(connection: psycopg.Connection[Any]) -> int:
    row = connection.execute("SELECT current_setting('server_version_num')::int").fetchone()
    assert row is not None
    return int(row[0]) // 10000


# --- finding and running pg_dump ---


def find_pg_dump(server: int, candidates: Iterable[str] | None = None) -> str:
    """The first pg_dump (``PATH``'s, then Debian's by version) able to dump a server of major version
    ``server``: pg_dump refuses a server newer than itself."""
    for program in pg_dump_candidates() if candidates is None else candidates:
        major = client_major(program)
        if major is not None and major >= server:
            return program
    raise DatabaseError(
        f"schema:dump on PostgreSQL runs pg_dump, and no pg_dump of version {server} or newer was found "
        f"(the server is PostgreSQL {server})",
        f"install postgresql-client-{server} (or put a pg_dump of version {server} or newer on the PATH)",
    )


def pg_dump_candidates() -> list[str]:
    """``PATH``'s pg_dump, then Debian's versioned ones, oldest first (the closest to the server wins)."""
    on_path = shutil.which("pg_dump")
    debian = sorted(Path("/").glob(DEBIAN_CLIENTS.lstrip("/")), key=lambda path: _version_key(path.parts[-3]))
    return [*([on_path] if on_path else []), *(str(path) for path in debian)]


def _version_key(folder: str) -> tuple[int, str]:
    return (int(folder), folder) if folder.isdigit() else (0, folder)


def client_major(program: str) -> int | None:
    """The major version of a pg_dump (None when it cannot be run)."""
    try:
        done = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    match = VERSION.search(done.stdout)
    return int(match.group(1)) if done.returncode == 0 and match else None


def pg_dump_arguments(schemas: Sequence[str], exclude: tuple[str, str], lock_timeout: float) -> list[str]:
    """Options naming the schemas and the left-out table as quoted patterns (no wildcard, case kept);
    pg_dump gives up rather than wait for a table lock longer than kitgen would."""
    arguments = [*PG_DUMP_OPTIONS, *(f"--schema={_pattern(schema)}" for schema in schemas)]
    schema, table = exclude
    arguments.append(f"--exclude-table={_pattern(schema)}.{_pattern(table)}")
    if lock_timeout > 0:
        arguments.append(f"--lock-wait-timeout={int(lock_timeout * 1000)}ms")
    return arguments


def _pattern(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def run_pg_dump(program: str, url: ServerUrl, arguments: list[str]) -> str:
    """pg_dump's output; the password goes through the environment, never the command line (``ps``)."""
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = url.password
    command = [program, *arguments, f"--dbname={url.without_password}"]
    try:
        done = subprocess.run(command, capture_output=True, env=environment, stdin=subprocess.DEVNULL, check=False)
    except OSError as exc:
        raise DatabaseError(f"cannot run {program}: {exc.strerror}", "check that pg_dump is installed") from None
    if done.returncode != 0:
        raise DatabaseError(
            f"pg_dump could not dump {url}: {url.hide(_message(done.stderr))}",
            "check the URL, that the server is running, and that this user may read the schemas",
        )
    return done.stdout.decode("utf-8")


def _message(stderr: bytes) -> str:
    """pg_dump's error lines as one line, its ``pg_dump: error:`` prefixes taken out."""
    lines = (
        re.sub(r"^pg_dump: (error|detail|hint): ", "", line.strip())
        for line in stderr.decode(errors="replace").splitlines()
    )
    return " ".join(line for line in lines if line) or "it failed without a message"


def required_extensions(connection: psycopg.Connection[Any], schemas: Sequence[str]) -> list[Extension]:
    rows = connection.execute(EXTENSIONS, {"schemas": list(schemas)}).fetchall()
    return [Extension(name, schema, schema_name) for name, schema, schema_name, _ in rows]


# --- normalising the text ---


def normalise(raw: str, extensions: Sequence[Extension] = (), populated: frozenset[str] = frozenset()) -> str:
    """pg_dump's text made loadable in kitgen's transaction and identical for identical schemas (see
    the module docstring)."""
    blocks = [kept for block in parse_blocks(raw) if (kept := load_in_transaction(block)) is not None]
    head = sum(1 for _ in _leading(blocks, HEAD_STATEMENT))
    created = {block.statement for block in blocks[:head]}
    added = [block for block in extension_blocks(extensions) if block.statement not in created]
    return render([*blocks[:head], *added, *blocks[head:], *refresh_blocks(blocks, populated)])


def parse_blocks(raw: str) -> list[Block]:
    """The statements of a dump (psql's ``\\restrict`` lines skipped), each with its ``-- Name:`` line;
    other comments (versions, dates, banners) are left out."""
    blocks = []
    for _, text in split_statements(raw):
        start = first_code_offset(text)
        header = NAME_COMMENT.search(text, 0, start)
        blocks.append(Block(header.group() if header else None, text[start:]))
    return blocks


def load_in_transaction(block: Block) -> Block | None:
    """The block rewritten to load inside kitgen's transaction and session (None: left out)."""
    statement = block.statement
    if statement in LEFT_OUT_STATEMENTS:
        return None
    if (setting := SESSION_SET.match(statement)) is not None:
        if setting["name"].lower() in LEFT_OUT_SETTINGS:
            return None
        statement = statement[: setting.start("name")] + "LOCAL " + statement[setting.start("name") :]
    elif SEARCH_PATH_CONFIG.fullmatch(statement):
        statement = SEARCH_PATH_CONFIG.sub(r"\1true\2", statement)
    elif (schema := CREATE_SCHEMA.fullmatch(statement)) is not None:
        statement = f"CREATE SCHEMA IF NOT EXISTS {schema['name']};"
    return Block(block.header, statement)


def _leading(blocks: Sequence[Block], pattern: re.Pattern[str]) -> Iterable[Block]:
    for block in blocks:
        if not pattern.match(block.statement):
            return
        yield block


def extension_blocks(extensions: Sequence[Extension]) -> list[Block]:
    """``CREATE EXTENSION IF NOT EXISTS`` for each, under the comment a full pg_dump writes; an
    extension's schema outside the dump is created first."""
    blocks = []
    for schema in dict.fromkeys(e.schema for e in extensions if e.schema_name not in KEPT_EXTENSION_SCHEMAS):
        header = f"-- Name: {schema}; Type: SCHEMA; Schema: -; Owner: -"
        blocks.append(Block(header, f"CREATE SCHEMA IF NOT EXISTS {schema};"))
    for extension in extensions:
        header = f"-- Name: {extension.name}; Type: EXTENSION; Schema: -; Owner: -"
        blocks.append(Block(header, f"CREATE EXTENSION IF NOT EXISTS {extension.name} WITH SCHEMA {extension.schema};"))
    return blocks


IDENTIFIER = r'(?:"(?:[^"]|"")*"|[^\s."(]+)'
MATERIALIZED_VIEW = re.compile(rf"CREATE MATERIALIZED VIEW ({IDENTIFIER}\.{IDENTIFIER})\s.*\sWITH NO DATA;", re.DOTALL)


def refresh_blocks(blocks: Sequence[Block], populated: frozenset[str]) -> list[Block]:
    """A ``REFRESH`` for each materialized view that holds data (``populated``), last, as a full pg_dump
    writes them: a schema-only dump creates every one ``WITH NO DATA``, unreadable until refreshed."""
    refreshes = []
    for block in blocks:
        found = MATERIALIZED_VIEW.fullmatch(block.statement)
        if found is not None and found.group(1) in populated:
            header = block.header and block.header.replace(
                "; Type: MATERIALIZED VIEW;", "; Type: MATERIALIZED VIEW DATA;"
            )
            refreshes.append(Block(header, f"REFRESH MATERIALIZED VIEW {found.group(1)};"))
    return refreshes


def render(blocks: Sequence[Block]) -> str:
    """One blank line between statements; statements without a header that follow each other (pg_dump's
    settings) stay together."""
    paragraphs: list[str] = []
    previous: Block | None = None
    for block in blocks:
        if block.header is not None:
            paragraphs.append(f"--\n{block.header}\n--\n\n{block.statement}")
        elif previous is not None and previous.header is None:
            paragraphs[-1] += "\n" + block.statement
        else:
            paragraphs.append(block.statement)
        previous = block
    return "\n\n".join(paragraphs) + "\n" if paragraphs else ""
