"""Checksums, frozen: the golden digests of many styles of migration, on every Python found here.

The digests below were computed once and written down. If one of these tests fails, the checksum
scheme changed: every applied migration would look changed. Bump ``CHECKSUM_SCHEME`` instead and let
the tracking rows be re-derived, never edit these values to make the test pass.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kitgen.migrations.canonical import canonical_ast, canonical_scalar
from kitgen.migrations.formats import CHECKSUM_SCHEME, NO_DOWN, format_for
from kitgen.migrations.python import python_checksum, python_down_checksum
from kitgen.migrations.sql import sql_down_checksum

ROOT = Path(__file__).resolve().parents[1]

PY_SOURCES: dict[str, str] = {
    "helpers_of_the_down": """from kitgen import Database, Migration


def restore(db: Database, table: str) -> None:
    db.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY)")


def shared(db: Database) -> None:
    db.execute("SELECT 1")


class DropLegacy(Migration):
    def up(self, db: Database) -> None:
        shared(db)
        db.execute("DROP TABLE legacy")

    def down(self, db: Database) -> None:
        shared(db)
        self.recreate(db)

    def recreate(self, db: Database) -> None:
        restore(db, "legacy")
""",
    "minimal_up_only": """from kitgen import Database, Migration


class CreateUsers(Migration):
    def up(self, db: Database) -> None:
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
""",
    "up_and_down_with_docstrings": '''"""Create the posts table."""

from kitgen import Database, Migration


class CreatePosts(Migration):
    """Posts belong to users."""

    model = "Post"

    def up(self, db: Database) -> None:
        """Create it."""
        db.execute("CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id))")

    def down(self, db: Database) -> None:
        """Drop it."""
        db.execute("DROP TABLE posts")
''',
    "attribute_base_and_options": """import kitgen


class AddIndex(kitgen.Migration):
    transaction = False
    foreign_keys = True

    def up(self, db):
        db.execute("CREATE INDEX posts_user ON posts (user_id)")

    def down(self, db):
        db.execute("DROP INDEX posts_user")
""",
    "type_hints": """from __future__ import annotations

from typing import ClassVar, Final

from kitgen import Database, Migration

COLUMNS: Final[list[tuple[str, str | None]]] = [("id", "INTEGER"), ("name", None)]


class CreateTags(Migration):
    model: ClassVar[str] = "Tag"

    def up(self, db: Database, *, strict: bool = True) -> None:
        columns: dict[str, str] = {name: kind or "TEXT" for name, kind in COLUMNS}
        db.execute(f"CREATE TABLE tags ({', '.join(f'{n} {k}' for n, k in columns.items())})")

    def down(self, db: Database) -> None:
        db.execute("DROP TABLE tags")
""",
    "f_strings": '''from kitgen import Migration

WIDTH = 12


class Report(Migration):
    def up(self, db):
        name, table = "x", "users"
        db.execute(f"SELECT {name!r:>{WIDTH}} AS label FROM {table}")
        db.execute(f"SELECT '{name=}', '{{literal}}' FROM {table}")
        db.execute(f"INSERT INTO log VALUES ('{ {'a': 1}['a'] }', '{table:}', {WIDTH:{WIDTH}d})")
        db.execute(f"""SELECT "{table!s:<{WIDTH}.{3}}" -- {"nested"}""")
''',
    "match_statement": """from kitgen import Migration


class Convert(Migration):
    def up(self, db):
        for row in db.execute("SELECT id, kind FROM things").fetchall():
            match row:
                case (int(key), "a" | "b" as kind) if key > 0:
                    db.execute("UPDATE things SET kind = ? WHERE id = ?", (kind.upper(), key))
                case {"id": key, **rest}:
                    print(key, rest)
                case [_, None] | [_, -1] | [_, 1.5j]:
                    pass
                case _:
                    raise ValueError(row)
""",
    "async_and_decorators": """import functools

from kitgen import Migration


def logged(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper


async def fetch_all(rows):
    return [row async for row in rows]


class Decorated(Migration):
    @staticmethod
    @functools.cache
    def statement() -> str:
        return "CREATE TABLE d (id INTEGER)"

    @logged
    def up(self, db):
        db.execute(self.statement())

    @logged
    def down(self, db):
        db.execute("DROP TABLE d")
""",
    "walrus_starred_comprehensions": """from kitgen import Migration


class Backfill(Migration):
    def up(self, db):
        rows = [*db.execute("SELECT id FROM a").fetchall(), *[(0,)]]
        first, *rest = rows
        if (count := len(rest)) > 0:
            db.executemany("INSERT INTO b VALUES (?)", [(r[0],) for r in rest if r])
        merged = {**{"first": first}, "count": count}
        pairs = {k: v for k, v in merged.items()}
        total = sum(x for x in range(10) if x % 2)
        db.execute("INSERT INTO c VALUES (?, ?)", (len(pairs), total))
""",
    "numbers_and_bytes": """from kitgen import Migration

LIMIT = 1_000_000
MASK = 0xFF_FF
MODE = 0o755
FLAGS = 0b1010_1010
RATIO = 1_0.5e-3
PHASE = 2.5j
HUGE = 123456789012345678901234567890123456789012345678901234567890
BLOB = b"\\x00\\xffkit" b"gen"


class Numbers(Migration):
    def up(self, db):
        db.execute("INSERT INTO n VALUES (?, ?, ?, ?, ?, ?)", (LIMIT, MASK, MODE, FLAGS, RATIO, BLOB))
        db.execute("SELECT ?", (-0.0 + abs(PHASE) + HUGE % 7 + 1e999 * 0,))
""",
    "unicode": """from kitgen import Migration

café = "crème brûlée 🍮"
NAMES = ("\\N{GREEK SMALL LETTER ALPHA}", "\\u00e9", "\\U0001F600", "tab\\tand\\nline", "quote\\"s", r"\\d+")


class Unicode(Migration):
    def up(self, db):
        db.execute("INSERT INTO desserts (name) VALUES (?)", (café,))
        db.executemany("INSERT INTO names (n) VALUES (?)", [(n,) for n in NAMES])
""",
    "implicit_concatenation_and_raw": '''from kitgen import Migration

SQL = (
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY,"
    '  payload TEXT CHECK (payload LIKE \\'{%\\')'
    ")"
)
PATTERN = r"^\\w+$" u"!"
SCRIPT = """
    CREATE VIEW recent AS SELECT * FROM events ORDER BY id DESC LIMIT 10;
"""


class Events(Migration):
    def up(self, db):
        db.execute(SQL)
        db.executescript(SCRIPT)

    def down(self, db):
        db.executescript("DROP VIEW recent; DROP TABLE events;")
''',
    "control_flow": """from kitgen import Migration

SEEN = set()


class Guarded(Migration):
    def up(self, db):
        global SEEN
        try:
            with open("seed.csv") as handle, open("log.txt", "a") as log:
                for line in handle:
                    if not line.strip():
                        continue
                    elif line.startswith("#"):
                        break
                    else:
                        SEEN |= {line}
                log.write(str(len(SEEN)))
        except (FileNotFoundError, PermissionError) as exc:
            raise RuntimeError("no seed") from exc
        else:
            assert SEEN, "seeded"
        finally:
            del SEEN
        while False:
            pass
""",
    "lambdas_slices_arguments": """from kitgen import Migration

key = lambda row, /, *, column=0, **extra: (row[column:], row[::-1], row[1:2:3], extra)


def chunks(items, size=100, *rest, flag: bool = False, **options):
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Chunked(Migration):
    def up(self, db):
        rows = sorted(db.execute("SELECT * FROM big").fetchall(), key=key)
        for chunk in chunks(rows, 50):
            db.executemany("INSERT INTO copy VALUES (?, ?)", chunk)
        yield_from = [x for x in chunks(rows)]
        assert yield_from is not None
""",
    "two_downs_and_async_down": """from kitgen import Migration


class Redefined(Migration):
    def down(self, db):
        db.execute("DROP TABLE old")

    def up(self, db):
        db.execute("CREATE TABLE r (id INTEGER)")

    async def down(self, db):
        db.execute("DROP TABLE r")
""",
    "no_migration_class": '''"""Helpers shared by migrations: no Migration subclass here."""

import kitgen


def create(db, table):
    db.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY)")


class Helper(kitgen.Database):
    def down(self, db):
        pass
''',
    "empty_file": "",
}

SQL_SOURCES: dict[str, str] = {
    "sql_up_and_down": "-- migrate:up\nCREATE TABLE a (id INTEGER PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE a;\n",
    "sql_options_and_model": (
        "-- kitgen:model Person\n"
        "-- migrate:up transaction:false foreign_keys:on\n"
        "CREATE TABLE people (\n  id INTEGER PRIMARY KEY, -- the key\n  name TEXT DEFAULT 'crème  brûlée'\n);\n"
        "/* a block\n comment */\n"
        "-- migrate:down foreign_keys:on\n"
        "DROP TABLE people;\n"
    ),
    "sql_up_only": "-- migrate:up\nINSERT INTO a VALUES (1), (2);\n",
    "sql_empty_down": "-- migrate:up\nVACUUM;\n-- migrate:down transaction:false\n-- nothing to undo\n",
    "sql_down_first": "-- migrate:down\nDROP TABLE z;\n-- migrate:up\nCREATE TABLE z (v TEXT);\n",
}

# name: (up checksum, down checksum); computed once, then frozen
GOLDEN: dict[str, tuple[str, str]] = {
    "helpers_of_the_down": (
        "bdff8c515c2b7d49e686c6f70726f45dec42bb2e778273c2765ab1094916ad23",
        "18f60d22f22b83bf143e4dfb4f31a656583f80597ed1e55870e668e912f9a1b7",
    ),
    "minimal_up_only": (
        "7055e79d0a52ff16255160dc60c8beabe473a95010d2e3674256b004b499463a",
        NO_DOWN,
    ),
    "up_and_down_with_docstrings": (
        "63250ade43b0502f2f786993367faafbf29f9566034dcfb2a5b286f376948bf2",
        "7c865582b8efb59d63d01bfe1454e0b7be923122012b01147bc6956568b72188",
    ),
    "attribute_base_and_options": (
        "4efbea16afa7c21a9180ad6b6b44952c50ebadc320bce660ed27596c3bfa1690",
        "9d8fca7be0a0ed1a4eb07f59633ea93d37329ddf7e4d3c49c844ef4f20bb15e4",
    ),
    "type_hints": (
        "cb67c97756aa8701cf7217a2bb650cc74b116d09c3896d4aaaa19556133dca6d",
        "d08a9233f32dacdaba4beb644420775b9b8641f74106234d5e3ea926017ce4d8",
    ),
    "f_strings": (
        "5dd9b3d01f98921e4940898c59054752bdef06d2d4b26091fea12c07389fab7f",
        NO_DOWN,
    ),
    "match_statement": (
        "f685fb30e7d001be1f378a5901de15cacd1e3a48ebe780633877987f614e4e07",
        NO_DOWN,
    ),
    "async_and_decorators": (
        "5304d1be7c1c048e474a81d49ce02017500df0c5cf38eb75bea932a9eed307d7",
        "0bc999c347de489843ce84a8afa9cfa72cdf9f867be4a10bce9bb33710fdb732",
    ),
    "walrus_starred_comprehensions": (
        "446f55f80a3d251f6ea123f4da60d7ed14f16fb13390f17e192243e1ad188b31",
        NO_DOWN,
    ),
    "numbers_and_bytes": (
        "6c630576957ac6c4ceefef156203b54ecfe2e253dec71bea087ca458236af02d",
        NO_DOWN,
    ),
    "unicode": (
        "b24dc7715e06865b49927804def37bb88e356c0c604c3fa3b28830d903a2f58c",
        NO_DOWN,
    ),
    "implicit_concatenation_and_raw": (
        "6e647a44dedac80954ac4fb875a2a89cd0fca2897136dbb82940132e49427960",
        "78457e80ee6c2e8c23aa2cfe48a964af41586224e92d8c8df743c152bfb42e49",
    ),
    "control_flow": (
        "3de39d7be6abe1f9e38fc18d2fe78fb1b32837215feb2dec584125b322ffb95f",
        NO_DOWN,
    ),
    "lambdas_slices_arguments": (
        "92941fbf0437c767835ee9b4d928ec6935c0c923cb8645c95fc9123880149570",
        NO_DOWN,
    ),
    "two_downs_and_async_down": (
        "d243527167cadf8604b12aaf3cd74969feeda38d18330b651e3942327452fa4d",
        "fa67a90d24032732d393dabb3d96e76813d5a1752408ff9514e6b6eddadfa627",
    ),
    "no_migration_class": (
        "ff65c86fc43d7098ef87a3b85759e20b46f97c3b8a2a9b2121ec725478e55033",
        NO_DOWN,
    ),
    "empty_file": (
        "ad2e13b69c4fc1fda46413f740f426fc1793cfc6d6da8d226ba619f1aef48be7",
        NO_DOWN,
    ),
    "sql_up_and_down": (
        "7e7cea0124190f6035175baf486b998296375e3836fae3d5ac48bd160fa3483f",
        "77d4d27e8e79be23eae238b65f4a3aeac26c89837531861c23d872e724f0c111",
    ),
    "sql_options_and_model": (
        "48ee9a68f1b220de62d0bad6605292fa323a5e2df8e907058c91c71f12f11b27",
        "e2b3d1bb0c8bd03d781c2292eadcb5cee8225e0520c8267a6f814bd335ed3093",
    ),
    "sql_up_only": (
        "660986297d8edf7178f5c336d32128f9d919de13b8128a74cc8da1214c94c320",
        NO_DOWN,
    ),
    "sql_empty_down": (
        "b268ed6ea633ee22cdef88d4b34cea0f314e6a8fb0611369f3022f98feb1f042",
        NO_DOWN,
    ),
    "sql_down_first": (
        "248700d27bdb98db350bfd8c2fabb333cfc41bfe811d803d223cb41d93098fee",
        "a30598bc66f9ef1eaebde4cbb7dde0550b07674f630f389637df4616f10bdfaa",
    ),
}
SOURCES = {**PY_SOURCES, **SQL_SOURCES}


def checksums(name: str) -> tuple[str, str]:
    fmt = format_for(".sql" if name in SQL_SOURCES else ".py")
    return fmt.checksum(SOURCES[name]), fmt.down_checksum(SOURCES[name])


def test_the_scheme_is_the_one_these_digests_belong_to() -> None:
    assert CHECKSUM_SCHEME == "3"
    assert NO_DOWN == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  # sha256 of ""
    assert GOLDEN.keys() == SOURCES.keys()


@pytest.mark.parametrize("name", list(SOURCES))
def test_golden_checksums(name: str) -> None:
    assert checksums(name) == GOLDEN[name]


def test_golden_sources_are_all_different() -> None:
    ups = [up for up, _ in GOLDEN.values()]
    assert len(set(ups)) == len(ups)


# --- the same text on every Python -------------------------------------------------------------

CHILD = """
import json, sys
from kitgen.migrations.python import python_checksum, python_down_checksum
from kitgen.migrations.sql import sql_checksum, sql_down_checksum

sources = json.load(sys.stdin)
result = {}
for name, source in sources["py"].items():
    result[name] = [python_checksum(source), python_down_checksum(source)]
for name, source in sources["sql"].items():
    result[name] = [sql_checksum(source), sql_down_checksum(source)]
json.dump({"version": list(sys.version_info[:3]), "checksums": result}, sys.stdout)
"""


def other_interpreters() -> list[Path]:
    """CPython 3.11 or later found on this machine (pyenv versions, python3.X on PATH), this one left out."""
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [*versions.glob("3.*/bin/python3")]
    candidates += [Path(found) for minor in range(11, 20) if (found := shutil.which(f"python3.{minor}"))]
    candidates = [candidate for candidate in candidates if "shims" not in candidate.parts]  # pyenv's dispatchers
    this = Path(sys.executable).resolve()
    found: dict[Path, Path] = {}
    for candidate in candidates:
        real = candidate.resolve()
        minor = re.search(r"3\.(\d+)", f"{candidate.parent.parent.name} {candidate.name} {real.name}")
        if real != this and real not in found and minor and int(minor.group(1)) >= 11:
            found[real] = candidate
    return sorted(found.values())


def run_in(interpreter: Path) -> tuple[str, dict[str, list[str]]]:
    """The golden checksums as another interpreter computes them, with nothing but the standard library."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONHOME", None)
    completed = subprocess.run(
        [str(interpreter), "-S", "-c", CHILD],  # -S: no site-packages, so only the standard library
        input=json.dumps({"py": PY_SOURCES, "sql": SQL_SOURCES}),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, f"{interpreter}: {completed.stderr}"
    result = json.loads(completed.stdout)
    return ".".join(map(str, result["version"])), result["checksums"]


def test_every_python_computes_the_same_checksums() -> None:
    interpreters = other_interpreters()
    if not interpreters:
        pytest.skip("no other Python 3.11+ interpreter on this machine (pyenv versions or python3.X on PATH)")
    for interpreter in interpreters:
        version, computed = run_in(interpreter)
        differing = sorted(name for name, pair in GOLDEN.items() if computed.get(name) != list(pair))
        assert not differing, f"Python {version} ({interpreter}) computes other checksums for {differing}"


# --- the canonical text ---------------------------------------------------------------------------


def text(source: str) -> str:
    return canonical_ast(ast.parse(source))


def test_nodes_are_written_by_field_name_without_positions() -> None:
    assert text("x = 1") == 'Module(body=[Assign(targets=[Name(id=str:"x",ctx=Store())],value=Constant(value=int:1))])'
    assert text("x = 1") == text("\n\nx   =   (1)  # one\n")


class Probe(ast.AST):
    """A node as a later Python might grow it: a new field with an empty default."""

    _fields = ("name", "added")


def test_fields_none_or_empty_are_left_out() -> None:
    assert (
        canonical_ast(Probe(name="p", added=[])) == canonical_ast(Probe(name="p", added=None)) == 'Probe(name=str:"p")'
    )
    assert canonical_ast(Probe(name="p", added=[None, 1])) == 'Probe(name=str:"p",added=[None,int:1])'


def test_type_comments_and_the_u_prefix_are_left_out() -> None:
    assert canonical_ast(ast.parse("x = 1  # type: int", type_comments=True)) == text("x = 1")
    assert text("x = u'a'") == text("x = 'a'")


class Interpolation(ast.AST):
    """The shape of 3.14's node for ``{...}`` in a t-string, which keeps the expression's source text."""

    _fields = ("value", "str", "conversion")


def test_the_source_text_of_a_t_string_interpolation_is_left_out() -> None:
    spaced = Interpolation(value=ast.Name(id="x"), str=" x ", conversion=-1)
    assert canonical_ast(spaced) == canonical_ast(Interpolation(value=ast.Name(id="x"), str="x", conversion=-1))


def test_the_format_spec_a_python_ends_with_empty_text_reads_the_same() -> None:
    """3.12.1 parses f"{x:>{w}}" with a trailing Constant("") in the format spec; 3.11 and 3.13 do not."""
    parsed = ast.parse('f"{x:>{w}}"')
    as_parsed = canonical_ast(parsed)
    spec = next(node.format_spec for node in ast.walk(parsed) if isinstance(node, ast.FormattedValue))
    assert isinstance(spec, ast.JoinedStr)
    spec.values.append(ast.Constant(value=""))  # as 3.12.1 parses it
    spec.values.insert(1, ast.Constant(value=""))
    assert canonical_ast(parsed) == as_parsed


def test_f_string_text_is_merged_and_an_empty_spec_is_none() -> None:
    split = ast.JoinedStr(values=[ast.Constant(value="a"), ast.Constant(value="b"), ast.Constant(value="")])
    assert canonical_ast(split) == text('f"ab"')[len("Module(body=[Expr(value=") : -len(")])")]
    assert text('f"{x:}"') == text('f"{x}"')
    assert text('f"{x}"') != text('f"{x!r}"') != text('f"{x:>3}"')


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('é\n"\\', 'str:"\\xe9\\n\\"\\\\"'),
        ("\U0001f600", 'str:"\\U0001f600"'),
        ("\ud83d\ude00", 'str:"\\ud83d\\ude00"'),  # two lone surrogates are not the character they pair to
        (b"\x00k", "bytes:006b"),
        (True, "bool:True"),
        (255, "int:ff"),
        (-1, "int:-1"),
        pytest.param(10**5000, "int:" + format(10**5000, "x"), id="int-of-5001-digits"),  # str() would raise
        (0.1, "float:0.1"),
        (2.5j, "complex:2.5j"),
        (Ellipsis, "Ellipsis"),
        (None, "None"),
    ],
)
def test_scalars_carry_their_type_and_no_version_dependent_repr(value: object, expected: str) -> None:
    assert canonical_scalar(value) == expected


def test_a_very_long_expression_is_written_without_recursion() -> None:
    source = "x = " + " + ".join(["a"] * 2000)  # ast.dump() exhausts the stack on this
    assert python_checksum(source) != python_checksum(source + " + a")


def test_no_down_is_one_value_for_every_format() -> None:
    assert (
        python_down_checksum(PY_SOURCES["minimal_up_only"]) == sql_down_checksum(SQL_SOURCES["sql_up_only"]) == NO_DOWN
    )


def test_the_python_checksum_needs_only_the_standard_library() -> None:
    """Any interpreter must be able to check applied migrations, with nothing installed (-S: no site-packages)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    script = "import kitgen.migrations.python, kitgen.migrations.sql; print('ok')"
    completed = subprocess.run(
        [sys.executable, "-S", "-c", script], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert completed.stdout.strip() == "ok", completed.stderr


def test_a_function_only_the_down_uses_is_part_of_the_down() -> None:
    source = PY_SOURCES["helpers_of_the_down"]
    edited_helper = source.replace("(id INTEGER PRIMARY KEY)", "(id INTEGER PRIMARY KEY, name TEXT)")
    edited_method = source.replace('restore(db, "legacy")', 'restore(db, "legacy_table")')
    edited_shared = source.replace("SELECT 1", "SELECT 2")

    for edited in (edited_helper, edited_method):
        assert python_checksum(edited) == python_checksum(source)
        assert python_down_checksum(edited) != python_down_checksum(source)
    assert python_checksum(edited_shared) != python_checksum(source)  # up uses it too


def test_a_function_the_up_uses_through_another_stays_part_of_the_up() -> None:
    source = PY_SOURCES["helpers_of_the_down"].replace(
        '        shared(db)\n        db.execute("DROP TABLE legacy")',
        '        self.recreate(db)\n        db.execute("DROP TABLE legacy")',
    )
    edited = source.replace("(id INTEGER PRIMARY KEY)", "(id INTEGER PRIMARY KEY, name TEXT)")

    assert python_checksum(edited) != python_checksum(source)


def test_the_recursive_and_the_iterative_writers_give_the_same_text() -> None:
    """Checksums recorded in databases depend on it: the fast recursive writer, and the explicit stack
    taken for trees too deep for it, on every module of kitgen and a chain deep enough to need the stack."""
    from kitgen.migrations.canonical import canonical_ast, canonical_ast_iterative

    sources = [path.read_text(encoding="utf-8") for path in sorted((ROOT / "kitgen").rglob("*.py"))]
    sources.append("x = " + " + ".join(["a"] * 900))
    for source in sources:
        tree = ast.parse(source)
        assert canonical_ast(tree) == canonical_ast_iterative(tree)
