"""Entities of a real PostgreSQL schema: generated files pass ruff, black, mypy --strict and pyright; rows
inserted with psycopg are read (tuples with their names, dict_row), written back and read again equal;
what would be a silent lie (a jsonb string decoded twice, a naive datetime in a timestamptz, an enum value
the enum lacks, an integer for a boolean) is refused or put right."""

from __future__ import annotations

import datetime
import decimal
import ipaddress
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pg_server
import psycopg
import pytest
from entity_helpers import (
    POSTGRES_SCHEMAS,
    POSTGRES_SQL,
    generate_package,
    imported,
    mypy_strict,
    postgres_schema_of,
    rebuilt,
    run_tool,
)
from psycopg.rows import dict_row

from kitgen.codegen.check import check_entities
from kitgen.codegen.generate import execute, plan_generation
from kitgen.codegen.plan import MODEL_TYPES, plan_entities
from kitgen.schema.types import validate_overrides

BIN = Path(sys.executable).parent
UTC = datetime.UTC
# One row with a value in every column (the generated one aside): text that array syntax must quote, enum
# labels with commas, quotes, backslashes, spaces and braces, a JSON string that looks like JSON.
FULL_ROW = r"""
INSERT INTO owners (name) VALUES ('Ada');
INSERT INTO every_types (small, whole, object, amount, ratio, precise, body, code, fixed, label, nick, doc,
    words, mac, price, flag, blob, day, at_time, at_time_tz, stamp, moment, span, token, meta, data, feeling,
    oddity, address, network, period, spot, numbers, tags, feelings, oddities, count, contact, owner_id, score)
VALUES (2, 3, 4, 12.50, 0.25, 1e300, 'multi
line', 'a', 'ab', 'nm', 'MiXeD', '<a>b</a>', 'a fat cat', '08:00:2b:01:02:03', 12.5, false, '\x00ff',
    '2026-02-03', '10:30:00.5', '10:30+02', '2026-02-03 10:30:00.123456', '2026-02-03 10:30+02',
    '1 day 02:03:04.5', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '[1, {"b": null, "a": "x"}]', '"{\"a\": 1}"',
    'in progress', 'say "hi"', '192.168.0.1/24', '10.0.0.0/8', '[1,5)', '(1,2)', '{1,NULL,3}',
    '{"a,b","say \"hi\"","back\\slash",NULL,"NULL",""," x "}', '{sad,"in progress",NULL}',
    '{"a,b","say \"hi\"","back\\slash","NULL"," spaced ","{braces}",NULL}', 7, 'ada@example.com', 1, 50);
"""


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def insert(connection: psycopg.Connection[Any], table: str, row: dict[str, Any]) -> Any:
    """INSERT the row with psycopg; the stored row comes back (RETURNING *) as a tuple and its description."""
    names = ", ".join(map(quote, row))
    cursor = connection.execute(
        f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(row))}) RETURNING *", list(row.values())
    )
    return cursor.fetchone(), cursor.description


def update(connection: psycopg.Connection[Any], table: str, row: dict[str, Any], key: dict[str, Any]) -> None:
    sets = ", ".join(f"{quote(name)} = %s" for name in row)
    where = " AND ".join(f"{quote(name)} = %s" for name in key)
    assert connection.execute(f"UPDATE {table} SET {sets} WHERE {where}", [*row.values(), *key.values()]).rowcount == 1


def values_of(entity: Any) -> dict[str, Any]:
    """Field name → value, for every field of the entity."""
    runtime = sys.modules[type(entity).__module__.rsplit(".", 1)[0] + "._kitgen"]
    return {field.name: getattr(entity, field.name) for field in runtime.fields_of(type(entity))}


def read_dict(connection: psycopg.Connection[Any], sql: str) -> dict[str, Any]:
    row = connection.cursor(row_factory=dict_row).execute(sql).fetchone()
    assert row is not None
    return row


@pytest.fixture(scope="module")
def packages(postgres_server: pg_server.Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Model type → the root of a package ``pg_<type>.entities`` generated from POSTGRES_SQL, once per module."""
    name = pg_server.new_database_name()
    with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(postgres_server.url(name), autocommit=True) as connection:
            connection.execute("SET TimeZone TO 'UTC'")
            connection.execute(POSTGRES_SQL)
            schema = postgres_schema_of(connection, POSTGRES_SCHEMAS)
    finally:
        with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    roots = {}
    for model_type in MODEL_TYPES:
        root = tmp_path_factory.mktemp(model_type)
        generate_package(root, schema, model_type, package=f"pg_{model_type}")
        roots[model_type] = root
    return roots


@pytest.fixture(params=MODEL_TYPES)
def model_type(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def entities(packages: dict[str, Path], model_type: str) -> Iterator[Any]:
    with imported(packages[model_type], f"pg_{model_type}.entities") as found:
        yield found


@pytest.fixture
def database(pg_url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection, in a time zone that is not UTC, to a fresh database holding POSTGRES_SQL."""
    with psycopg.connect(pg_url, autocommit=True) as connection:
        connection.execute(POSTGRES_SQL)
        connection.execute("SET TimeZone TO 'America/New_York'")
        yield connection


# --- what the generated files are --------------------------------------------------------------------------


def test_one_entity_per_table_partitioned_table_view_and_materialized_view(packages: dict[str, Path]) -> None:
    folder = packages["pydantic"] / "pg_pydantic" / "entities"
    assert sorted(path.name for path in folder.glob("*.py")) == [
        "__init__.py",
        "_kitgen.py",
        "billing_invoice.py",  # billing.invoices: the schema is part of its names
        "enums.py",
        "event.py",  # the partitioned table; its partitions have none
        "every_type.py",
        "owner.py",
        "owner_count.py",
        "owner_name.py",
    ]
    runtime = (folder / "_kitgen.py").read_text()
    assert "import sqlite3" not in runtime and "import psycopg" not in runtime


CONSTRUCT = """
from __future__ import annotations

import datetime
import decimal
import ipaddress
import uuid

from {package}.entities import BillingInvoice, Event, EveryType, Owner, OwnerName
from {package}.entities.enums import BillingCurrency, Mood, Odd


def build() -> list[object]:
    every = EveryType(
        count=1,
        amount=decimal.Decimal("1.50"),
        moment=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        stamp=datetime.datetime(2026, 1, 1),
        span=datetime.timedelta(days=1),
        token=uuid.uuid4(),
        data={{"a": [1, None]}},
        feeling=Mood.IN_PROGRESS,
        oddity=Odd.SAY_HI,
        address=ipaddress.ip_interface("10.0.0.1/24"),
        network=ipaddress.ip_network("10.0.0.0/8"),
        numbers=[1, None],
        tags=["a", None],
        feelings=[Mood.SAD, None],
        period=object(),
    )
    feeling: Mood | None = every.feeling
    numbers: list[int | None] | None = every.numbers
    moment: datetime.datetime = every.moment
    owner = Owner(name="Ada")
    invoice = BillingInvoice(id=1, owner_id=1, total=decimal.Decimal(1), currency=BillingCurrency.USD)
    event = Event(id=1, happened=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))
    return [every, feeling, numbers, moment, owner, invoice, event, OwnerName(id=None, name=None)]
"""


def test_generated_files_pass_mypy_strict_and_pyright(
    packages: dict[str, Path], model_type: str, tmp_path: Path
) -> None:
    root = packages[model_type]
    (root / f"construct_{model_type}.py").write_text(CONSTRUCT.format(package=f"pg_{model_type}"), encoding="utf-8")
    mypy = mypy_strict(root, f"construct_{model_type}.py", f"pg_{model_type}", cache_dir=tmp_path / "mypy")
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
    pyright = run_tool(
        str(BIN / "pyright"), "--pythonpath", sys.executable, f"construct_{model_type}.py", f"pg_{model_type}", cwd=root
    )
    assert pyright.returncode == 0, pyright.stdout + pyright.stderr


@pytest.mark.parametrize("tool", ["ruff check", "ruff format", "black"])
def test_generated_files_pass_ruff_and_formatters_leave_them(
    packages: dict[str, Path], model_type: str, tool: str
) -> None:
    folder = packages[model_type] / f"pg_{model_type}" / "entities"
    files = sorted(str(path) for path in folder.glob("*.py") if path.name != "__init__.py")
    command = {
        "ruff check": [str(BIN / "ruff"), "check", "--isolated", "--no-cache", *files],
        "ruff format": [str(BIN / "ruff"), "format", "--isolated", "--no-cache", "--check", *files],
        "black": [str(BIN / "black"), "--check", "--quiet", *files],
    }[tool]
    result = run_tool(*command, cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr


def test_generating_twice_gives_the_same_bytes(database: psycopg.Connection[Any], tmp_path: Path) -> None:
    found = []
    for attempt in ("first", "second"):
        schema = postgres_schema_of(database, POSTGRES_SCHEMAS)
        folder, _ = generate_package(tmp_path / attempt, schema, "msgspec")
        found.append({path.name: path.read_bytes() for path in sorted(folder.iterdir())})
    assert found[0] == found[1]


def test_the_runtime_needs_no_sqlite3(packages: dict[str, Path], database: psycopg.Connection[Any]) -> None:
    database.execute(FULL_ROW)
    script = (
        "import sys\n"
        "sys.modules['sqlite3'] = None  # importing it fails\n"
        "import psycopg\n"
        "from psycopg.rows import dict_row\n"
        "from pg_dataclass.entities import EveryType\n"
        f"with psycopg.connect({database.info.dsn!r}, row_factory=dict_row) as connection:\n"
        "    row = connection.execute('SELECT * FROM every_types').fetchone()\n"
        "print(EveryType.from_row(row).feeling.name)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=packages["dataclass"], capture_output=True, text=True, timeout=120
    )
    assert (result.returncode, result.stdout) == (0, "IN_PROGRESS\n"), result.stderr


def test_comments_are_the_first_paragraph_of_the_docs(entities: Any) -> None:
    assert entities.Owner.__doc__.split("\n")[0] == "People who own things."
    assert entities.Owner.__doc__.strip().endswith('Table "owners".')
    assert entities.OwnerCount.__doc__ == 'Materialized view "owner_counts".'
    assert entities.Event.__doc__ == 'Partitioned table "events".'
    text = Path(str(sys.modules[entities.Owner.__module__].__file__)).read_text()
    assert '"""Full name,\n    as written.\n\n    text, not null, unique.\n    """' in text


# --- lies that are refused ---------------------------------------------------------------------------------


def test_a_jsonb_string_is_read_as_the_string_it_holds_never_decoded_again(
    entities: Any, database: psycopg.Connection[Any]
) -> None:
    database.execute(FULL_ROW)
    every = entities.EveryType.from_row(read_dict(database, "SELECT * FROM every_types"))
    assert every.data == '{"a": 1}'  # a JSON string whose text looks like JSON: a str, not a dict
    assert every.meta == [1, {"b": None, "a": "x"}]
    every.data = "abc"
    every.meta = {"k": "v"}
    assert every.to_row() == {"data": '"abc"', "meta": '{"k": "v"}'}
    update(database, "every_types", every.to_row(), {"id": every.id})
    stored = database.execute("SELECT data, jsonb_typeof(data), meta::text FROM every_types").fetchone()
    assert stored == ("abc", "string", '{"k": "v"}')


def test_a_datetime_that_the_column_would_read_in_the_session_time_zone_is_refused(
    entities: Any, database: psycopg.Connection[Any]
) -> None:
    naive = entities.EveryType(count=1, moment=datetime.datetime(2026, 1, 1, 12))
    aware = entities.EveryType(count=1, stamp=datetime.datetime(2026, 1, 1, 12, tzinfo=UTC))
    with pytest.raises(ValueError, match=r"'moment' .*has no time zone"):
        naive.to_row()
    with pytest.raises(ValueError, match=r"'stamp' .*has a time zone"):
        aware.to_row()
    with pytest.raises(ValueError, match=r"time"):  # pydantic refuses it when built, the runtime when written
        entities.EveryType(count=1, day=datetime.datetime(2026, 1, 1, 12)).to_row()  # PostgreSQL would cut it


def test_a_timestamptz_keeps_its_moment_across_session_time_zones(
    entities: Any, database: psycopg.Connection[Any], pg_url: str
) -> None:
    moment = datetime.datetime(2026, 7, 1, 23, 30, 0, 250000, tzinfo=UTC)
    insert(database, "every_types", entities.EveryType(count=1, moment=moment).to_row())  # in New York
    with psycopg.connect(pg_url, autocommit=True) as tokyo:
        tokyo.execute("SET TimeZone TO 'Asia/Tokyo'")
        read = entities.EveryType.from_row(read_dict(tokyo, "SELECT * FROM every_types"))
        assert read.moment == moment and read.moment.utcoffset() == datetime.timedelta(hours=9)
        tokyo.execute("DELETE FROM every_types")
        insert(tokyo, "every_types", rebuilt(read).to_row())  # written back from Tokyo
    again = entities.EveryType.from_row(read_dict(database, "SELECT * FROM every_types"))
    assert again.moment == moment and again.moment.utcoffset() == datetime.timedelta(hours=-4)
    assert database.execute("SELECT moment = '2026-07-01 23:30:00.25+00' FROM every_types").fetchone() == (True,)


def test_an_enum_value_the_generated_enum_lacks_is_refused_by_column(
    entities: Any, database: psycopg.Connection[Any], model_type: str
) -> None:
    database.execute("ALTER TYPE mood ADD VALUE 'angry'")  # after the entities were generated
    database.execute("INSERT INTO every_types (count, feeling) VALUES (1, 'angry')")
    with pytest.raises(ValueError, match=r"column 'feeling' of table 'every_types' holds 'angry'"):
        entities.EveryType.from_row(read_dict(database, "SELECT * FROM every_types"))
    every = entities.EveryType(count=1)
    if model_type == "pydantic":
        with pytest.raises(ValueError, match="feelings"):  # checked on assignment (a ValidationError)
            every.feelings = ["sad", "angry"]
        return
    every.feelings = ["sad", "angry"]  # a dataclass or a Struct takes what it is given: to_row() checks it
    with pytest.raises(ValueError, match=r"'feelings'.*'angry' is not a valid Mood"):
        every.to_row()


def test_an_integer_for_a_boolean_is_written_as_the_bool_postgresql_takes(
    entities: Any, database: psycopg.Connection[Any], model_type: str
) -> None:
    every = entities.EveryType(count=1, flag=True)
    if model_type != "pydantic":  # pydantic makes 1 a bool when it is given; the others keep what they get
        every.flag = 1
    row = every.to_row()
    assert row["flag"] is True
    stored, description = insert(database, "every_types", row)  # an int would be refused: boolean ≠ smallint
    assert entities.EveryType.from_row(stored, columns=description).flag is True


def test_an_array_of_more_dimensions_than_the_list_is_refused(entities: Any, database: psycopg.Connection[Any]) -> None:
    database.execute("INSERT INTO every_types (count, numbers) VALUES (1, '{{1,2},{3,4}}')")
    with pytest.raises(ValueError, match=r"column 'numbers'.*more than one dimension"):
        entities.EveryType.from_row(read_dict(database, "SELECT * FROM every_types"))


# --- round trips -------------------------------------------------------------------------------------------


def test_a_full_row_read_as_a_tuple_and_as_a_dict_round_trips_through_insert_and_update(
    entities: Any, database: psycopg.Connection[Any]
) -> None:
    database.execute(FULL_ROW)
    cursor = database.execute("SELECT * FROM every_types")
    from_tuple = entities.EveryType.from_row(cursor.fetchone(), columns=cursor.description)
    from_dict = entities.EveryType.from_row(read_dict(database, "SELECT * FROM every_types"))
    assert from_tuple == from_dict
    assert from_dict.to_row() == {}  # read, not changed: nothing to write
    assert from_dict.oddities == [
        entities.enums.Odd.A_B,
        entities.enums.Odd.SAY_HI,
        entities.enums.Odd.BACK_SLASH,
        entities.enums.Odd.NULL,
        entities.enums.Odd.SPACED,
        entities.enums.Odd.BRACES,
        None,
    ]
    assert from_dict.tags == ["a,b", 'say "hi"', "back\\slash", None, "NULL", "", " x "]
    assert (from_dict.feeling, from_dict.feelings) == (
        entities.enums.Mood.IN_PROGRESS,
        [entities.enums.Mood.SAD, entities.enums.Mood.IN_PROGRESS, None],
    )
    assert from_dict.address == ipaddress.ip_interface("192.168.0.1/24")
    assert from_dict.amount == decimal.Decimal("12.50") and from_dict.token == uuid.UUID(
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    )
    assert from_dict.doubled == 6

    # every field written by a copy the program built: the same row again
    database.execute("DELETE FROM every_types")
    stored, description = insert(database, "every_types", rebuilt(from_dict).to_row())
    assert entities.EveryType.from_row(stored, columns=description) == from_dict

    # changed fields, and only they, written by an UPDATE, read back as they were set
    from_dict.whole = 10
    from_dict.flag = True
    from_dict.feelings = [entities.enums.Mood.HAPPY]
    from_dict.oddity = entities.enums.Odd.BRACES
    from_dict.tags = ["{", "}", None]
    from_dict.address = ipaddress.ip_interface("::1/128")
    from_dict.span = datetime.timedelta(minutes=5)
    from_dict.moment = datetime.datetime(2030, 1, 1, tzinfo=UTC)
    from_dict.amount = decimal.Decimal("0.10")
    row = from_dict.to_row()
    assert set(row) == {"whole", "flag", "feelings", "oddity", "tags", "address", "span", "moment", "amount"}
    update(database, "every_types", row, {"id": from_dict.id})
    again = entities.EveryType.from_row(read_dict(database, "SELECT * FROM every_types"))
    assert values_of(again) == {**values_of(from_dict), "doubled": 20}  # the database computed it, never written


def test_an_entity_of_its_required_fields_gets_what_the_database_fills(
    entities: Any, database: psycopg.Connection[Any]
) -> None:
    owner_row = entities.Owner(name="Ada").to_row()
    assert owner_row == {"name": "Ada"}  # the identity column is the database's to fill
    stored, description = insert(database, "owners", owner_row)
    owner = entities.Owner.from_row(stored, columns=description)
    assert owner.id == 1
    with pytest.raises(psycopg.errors.GeneratedAlways):  # a key given for GENERATED ALWAYS is refused, not replaced
        insert(database, "owners", entities.Owner(id=7, name="Bob").to_row())

    row = entities.EveryType(count=2).to_row()
    assert not {"id", "big", "moment", "doubled"} & set(row)
    stored, description = insert(database, "every_types", row)
    every = entities.EveryType.from_row(stored, columns=description)
    assert (every.id, every.big, every.whole, every.flag, every.ratio, every.body) == (1, 1, -5, True, 0.5, "it's")
    assert every.feeling is entities.enums.Mood.HAPPY and every.doubled == -10
    assert every.moment.tzinfo is not None


def test_a_partitioned_table_is_written_through_its_one_entity(
    entities: Any, database: psycopg.Connection[Any]
) -> None:
    event = entities.Event(id=1, happened=datetime.datetime(2026, 3, 1, tzinfo=UTC))
    insert(database, "events", event.to_row())
    where = database.execute("SELECT tableoid::regclass::text FROM events").fetchone()
    assert where == ("events_2026",)
    assert entities.Event.__primary_key__ == ("id", "happened")


def test_views_and_materialized_views_are_read(entities: Any, database: psycopg.Connection[Any]) -> None:
    database.execute(FULL_ROW)
    database.execute("REFRESH MATERIALIZED VIEW owner_counts")
    names = entities.OwnerName.from_row(read_dict(database, "SELECT * FROM owner_names"))
    counts = entities.OwnerCount.from_row(read_dict(database, "SELECT * FROM owner_counts"))
    assert (names.id, names.name, counts.owner_id, counts.total) == (1, "Ada", 1, 1)


def test_an_entity_of_another_schema(entities: Any, database: psycopg.Connection[Any]) -> None:
    assert entities.BillingInvoice.__tablename__ == "billing.invoices"
    database.execute("INSERT INTO owners (name) VALUES ('Ada')")
    invoice = entities.BillingInvoice(id=1, owner_id=1, total=decimal.Decimal("9.99"))
    assert invoice.currency is entities.enums.BillingCurrency.EUR  # the column's default, a member
    stored, description = insert(database, "billing.invoices", invoice.to_row())
    assert entities.BillingInvoice.from_row(stored, columns=description) == invoice


def test_overrides_make_a_text_column_json_and_a_declared_type_decimal(pg_url: str, tmp_path: Path) -> None:
    with psycopg.connect(pg_url, autocommit=True) as connection:
        connection.execute("CREATE TABLE settings (id integer PRIMARY KEY, value text, price varchar(10), raw jsonb)")
        connection.execute("""INSERT INTO settings VALUES (1, '{"a": [1]}', '1.50', '"x"')""")
        overrides = validate_overrides({"settings.value": "json", "character varying(10)": "decimal"})
        schema = postgres_schema_of(connection, overrides=overrides)
        generate_package(tmp_path, schema, "dataclass", package="overridden")
        with imported(tmp_path, "overridden.entities") as entities:
            setting = entities.Setting.from_row(read_dict(connection, "SELECT * FROM settings"))
            assert (setting.value, setting.price, setting.raw) == ({"a": [1]}, decimal.Decimal("1.50"), "x")
            setting.value = {"a": [2]}
            setting.price = decimal.Decimal("2.25")
            update(connection, "settings", setting.to_row(), {"id": 1})
            stored = connection.execute("SELECT value, price FROM settings").fetchone()
    assert stored == ('{"a": [2]}', "2.25")


# --- the enums module, names -------------------------------------------------------------------------------


def test_the_enums_module_follows_the_enum_types_and_check_agrees(pg_url: str, tmp_path: Path) -> None:
    with psycopg.connect(pg_url, autocommit=True) as connection:
        connection.execute(
            "CREATE TYPE mood AS ENUM ('sad', 'happy'); CREATE TABLE people (id integer PRIMARY KEY, feeling mood)"
        )
        folder, first = generate_package(tmp_path, postgres_schema_of(connection), "pydantic")
        assert sorted(path.name for path in first.written) == ["__init__.py", "_kitgen.py", "enums.py", "person.py"]
        specs = plan_entities(postgres_schema_of(connection), "pydantic")
        assert plan_generation(folder, specs).current
        assert {state.path.name: state.state for state in check_entities(folder, specs)} == {
            "__init__.py": "ok",
            "_kitgen.py": "ok",
            "enums.py": "ok",
            "person.py": "ok",
        }

        connection.execute("ALTER TYPE mood ADD VALUE 'angry'")
        specs = plan_entities(postgres_schema_of(connection), "pydantic")
        assert {state.path.name: state.state for state in check_entities(folder, specs)}["enums.py"] == "stale"
        execute(plan_generation(folder, specs))
        assert '    ANGRY = "angry"\n' in (folder / "enums.py").read_text()

        connection.execute("ALTER TABLE people DROP COLUMN feeling")
        deleted = execute(plan_generation(folder, plan_entities(postgres_schema_of(connection), "pydantic"))).deleted
        assert deleted == [folder / "enums.py"]


def test_a_file_of_the_users_named_enums_is_never_overwritten(pg_url: str, tmp_path: Path) -> None:
    with psycopg.connect(pg_url, autocommit=True) as connection:
        connection.execute(
            "CREATE TYPE mood AS ENUM ('sad'); CREATE TABLE people (id integer PRIMARY KEY, feeling mood)"
        )
        specs = plan_entities(postgres_schema_of(connection), "dataclass")
    folder = tmp_path / "entities"
    folder.mkdir()
    (folder / "enums.py").write_text("MINE = 1\n", encoding="utf-8")
    result = execute(plan_generation(folder, specs))
    assert (folder / "enums.py").read_text() == "MINE = 1\n"
    assert [(flagged.path.name, flagged.reason) for flagged in result.flagged] == [
        ("enums.py", "not generated by kitgen")
    ]
    assert "not generated by kitgen" in {state.state for state in check_entities(folder, specs)}


ODD_NAMES = r'''
CREATE TYPE mood AS ENUM ('sad');
CREATE TYPE "My ""Odd"" Mood" AS ENUM ('1st', 'a b', 'A B', 'é', '"', '\');
CREATE TABLE tricky (
    id integer PRIMARY KEY, enums mood, ipaddress inet, datetime timestamptz, decimal numeric, uuid uuid,
    "Quoted" "My ""Odd"" Mood" DEFAULT '"', many "My ""Odd"" Mood"[]
);
COMMENT ON TABLE tricky IS '"Quoted" at the start,
  indented, with a tab	and """triple""" quotes ending in a quote"';
COMMENT ON COLUMN tricky."Quoted" IS '   ';
COMMENT ON COLUMN tricky.many IS e'back\\slash \\\nand a blank line:\n\nthere. "';
'''


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_odd_names_comments_and_labels_give_code_that_formatters_and_mypy_accept(
    pg_url: str, tmp_path: Path, model_type: str
) -> None:
    with psycopg.connect(pg_url, autocommit=True) as connection:
        connection.execute(ODD_NAMES)
        schema = postgres_schema_of(connection)
    [spec] = plan_entities(schema, model_type)
    assert spec.fields == ("id", "enums_", "ipaddress_", "datetime_", "decimal_", "uuid_", "quoted", "many")
    folder, _ = generate_package(tmp_path, schema, model_type, package="tricky")
    files = sorted(str(path) for path in folder.glob("*.py"))
    for command in (
        [str(BIN / "ruff"), "check", "--isolated", "--no-cache", *files],
        [str(BIN / "ruff"), "format", "--isolated", "--no-cache", "--check", *files],
        [str(BIN / "black"), "--check", "--quiet", *files],
    ):
        result = run_tool(*command, cwd=folder)
        assert result.returncode == 0, result.stdout + result.stderr
    mypy = mypy_strict(tmp_path, "tricky", cache_dir=tmp_path / "mypy")
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
    with imported(tmp_path, "tricky.entities") as entities:
        odd = entities.enums.MyOddMood
        assert [(member.name, member.value) for member in odd] == [
            ("VALUE_1ST", "1st"),
            ("A_B", "a b"),
            ("A_B_2", "A B"),
            ("E", "é"),
            ("VALUE", '"'),
            ("VALUE_2", "\\"),
        ]
        assert entities.Tricky(id=1).quoted is odd.VALUE  # the default, a member
        assert entities.Tricky.__doc__.startswith('"Quoted" at the start,\n')
