"""Read, change, write back: an entity read from a row writes only what changed since, so a column the
program never touched keeps exactly what the database held (epoch numbers, 2 in a BOOLEAN, 1e20 in an
INTEGER); every row the database accepts can be read; an unsaved pydantic entity can be dumped."""

from __future__ import annotations

import copy
import sqlite3
import warnings
from typing import Any

import pytest
from conftest import Project
from entity_helpers import imported

from kitgen.codegen.plan import MODEL_TYPES

SCHEMA = """
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    name VARCHAR(5) NOT NULL,
    created_at TIMESTAMP,
    happened DATETIME,
    day DATE,
    flag BOOLEAN,
    big INTEGER,
    meta JSON,
    note TEXT,
    stamp DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
"""
# What an older program (or another language) stored: all of it SQLite accepts.
STORED = {
    "id": 1,
    "name": "waytoolong",
    "created_at": 1700000000,
    "happened": "2026-01-01T10:30:00",
    "day": "2026-01-01",
    "flag": 2,
    "big": 1e20,
    "meta": '{"tags": ["a"]}',
    "note": "old",
}


@pytest.fixture(scope="module", params=MODEL_TYPES)
def events(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Project]:
    project = Project(tmp_path_factory.mktemp(request.param) / "project")
    project.sql("2026_01_01_000001_create_events_table", SCHEMA, "DROP TABLE events;")
    result = project.run("migrate", "--model-type", request.param)
    assert result.returncode == 0, result.stdout + result.stderr
    return request.param, project


def fresh_connection(project: Project, **stored: Any) -> sqlite3.Connection:
    """The events table holding one row: STORED with ``stored`` over it."""
    connection = project.connect()
    connection.row_factory = sqlite3.Row
    connection.execute("DELETE FROM events")
    row = {**STORED, **stored}
    columns = ", ".join(row)
    connection.execute(f"INSERT INTO events ({columns}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
    return connection


def read_event(project: Project, entities: Any, **stored: Any) -> Any:
    """The entity of the one row (STORED with ``stored`` over it), read with from_row."""
    connection = fresh_connection(project, **stored)
    try:
        return entities.Event.from_row(connection.execute("SELECT * FROM events").fetchone())
    finally:
        connection.close()


def stored_row(connection: sqlite3.Connection) -> list[tuple[Any, str]]:
    """Every value of the row with its storage class, as SQLite holds it."""
    names = [row[1] for row in connection.execute("PRAGMA table_info(events)")]
    select = ", ".join(f"{name}, typeof({name})" for name in names)
    values = connection.execute(f"SELECT {select} FROM events").fetchone()
    return [(values[i], values[i + 1]) for i in range(0, len(values), 2)]


def update(connection: sqlite3.Connection, entity: Any) -> None:
    row = entity.to_row()
    assignments = ", ".join(f"{column} = ?" for column in row)
    connection.execute(f"UPDATE events SET {assignments} WHERE id = ?", [*row.values(), entity.id])


def test_a_changed_entity_writes_back_only_the_changed_fields_and_the_others_keep_their_stored_values(
    events: tuple[str, Project],
) -> None:
    _, project = events
    with imported(project.root, "app.entities") as entities:
        connection = fresh_connection(project)
        try:
            before = stored_row(connection)
            event = entities.Event.from_row(connection.execute("SELECT * FROM events").fetchone())
            event.note = "new"
            assert event.to_row() == {"note": "new"}
            update(connection, event)
            after = stored_row(connection)
            still_later = connection.execute("SELECT count(*) FROM events WHERE created_at > 1600000000").fetchone()
        finally:
            connection.close()
    changed = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    assert changed == [(("old", "text"), ("new", "text"))]
    assert still_later[0] == 1


def test_an_entity_read_and_not_changed_has_nothing_to_write(events: tuple[str, Project]) -> None:
    _, project = events
    with imported(project.root, "app.entities") as entities:
        event = read_event(project, entities)
        assert event.to_row() == {}
        event.flag = True  # 2 reads as True: the same value
        event.note = "old"  # set again to what was read
        assert event.to_row() == {}


def test_a_field_changed_to_another_value_is_written_as_its_type_writes_it(events: tuple[str, Project]) -> None:
    _, project = events
    with imported(project.root, "app.entities") as entities:
        event = read_event(project, entities)
        event.flag = False
        event.created_at = event.created_at.replace(year=2030)
        event.meta["tags"].append("b")  # changed in place
        assert event.to_row() == {
            "flag": 0,
            "created_at": "2030-11-14 22:13:20",
            "meta": '{"tags": ["a", "b"]}',
        }


def test_an_entity_built_by_the_program_writes_what_it_was_given(events: tuple[str, Project]) -> None:
    model_type, project = events
    with imported(project.root, "app.entities") as entities:
        event = entities.Event(name="Ada", note="n")
        row = event.to_row()
    assert "id" not in row and "stamp" not in row
    assert row == ({"name": "Ada", "note": "n"} if model_type == "pydantic" else row)
    assert (row["name"], row["note"]) == ("Ada", "n")


def test_a_date_with_a_time_of_day_is_refused_not_cut_and_midnight_is_read(events: tuple[str, Project]) -> None:
    _, project = events
    with imported(project.root, "app.entities") as entities:
        connection = fresh_connection(project, day="2026-01-01 10:30:00")
        try:
            with pytest.raises(entities._kitgen.ColumnValueError) as refused:
                entities.Event.from_row(connection.execute("SELECT * FROM events").fetchone())
            connection.execute("UPDATE events SET day = '2026-01-01 00:00:00'")
            event = entities.Event.from_row(connection.execute("SELECT * FROM events").fetchone())
        finally:
            connection.close()
        assert event.day.isoformat() == "2026-01-01"
        assert event.to_row() == {}
    message = str(refused.value)
    assert message.startswith("Event: column 'day' of table 'events' holds '2026-01-01 10:30:00', which is not a date")


def test_a_value_longer_than_its_varchar_is_read_by_every_model_type(events: tuple[str, Project]) -> None:
    _, project = events
    with imported(project.root, "app.entities") as entities:
        event = read_event(project, entities)
        assert event.name == "waytoolong"
        event.note = "x"
        assert event.to_row() == {"note": "x"}


def test_a_pydantic_entity_checks_the_length_of_what_the_program_builds_and_assigns(
    events: tuple[str, Project],
) -> None:
    model_type, project = events
    if model_type != "pydantic":
        pytest.skip("only pydantic checks values at construction and assignment")
    from pydantic import ValidationError

    with imported(project.root, "app.entities") as entities:
        with pytest.raises(ValidationError):
            entities.Event(name="waytoolong")
        event = entities.Event(name="Ada")
        with pytest.raises(ValidationError):
            event.name = "waytoolong"
        assert event.name == "Ada"


def test_an_entity_read_equals_one_built_with_the_same_values(events: tuple[str, Project]) -> None:
    _, project = events
    with imported(project.root, "app.entities") as entities:
        event = read_event(project, entities, name="Ada")
        fields = {name: getattr(event, name) for name in entities.Event.__annotations__ if not name.startswith("_")}
        assert entities.Event(**fields) == event


def test_an_unsaved_pydantic_entity_is_dumped_without_what_the_database_fills(events: tuple[str, Project]) -> None:
    model_type, project = events
    if model_type != "pydantic":
        pytest.skip("model_dump is pydantic's")
    with imported(project.root, "app.entities") as entities:
        event = entities.Event(name="Ada")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            dumped = event.model_dump()
            text = event.model_dump_json()
    assert "id" not in dumped and "stamp" not in dumped
    assert dumped["name"] == "Ada"
    assert '"id"' not in text and '"name":"Ada"' in text


def test_json_none_is_sql_null_and_a_stored_json_null_is_left_as_it_is(events: tuple[str, Project]) -> None:
    _, project = events
    with imported(project.root, "app.entities") as entities:
        connection = fresh_connection(project, meta="null")
        try:
            event = entities.Event.from_row(connection.execute("SELECT * FROM events").fetchone())
            assert event.meta is None
            assert event.to_row() == {}  # the text 'null' stays
            event.meta = {"a": 1}
            event.meta = None  # back to what was read
            assert event.to_row() == {}
            built = entities.Event(name="Ada", meta=None)
            assert built.to_row()["meta"] is None  # SQL NULL, not the text 'null'
        finally:
            connection.close()


def test_a_copy_keeps_what_was_read_where_the_model_type_copies_it(events: tuple[str, Project]) -> None:
    model_type, project = events
    with imported(project.root, "app.entities") as entities:
        event = read_event(project, entities)
        copied = event.model_copy(update={"note": "new"}) if model_type == "pydantic" else copy.copy(event)
        if model_type != "pydantic":
            copied.note = "new"
        kept = copied.to_row()
    if model_type == "msgspec":  # a Struct's copy is a new entity: it writes every field it holds
        assert kept["note"] == "new" and kept["created_at"] == "2023-11-14 22:13:20"
    else:
        assert kept == {"note": "new"}
    assert event.note == "old"


def test_a_field_changed_back_after_a_save_is_written_again(events: tuple[str, Project]) -> None:
    _, project = events
    with imported(project.root, "app.entities") as entities:
        connection = fresh_connection(project)
        try:
            event = entities.Event.from_row(connection.execute("SELECT * FROM events").fetchone())
            event.note = "saved"
            update(connection, event)
            event.note = "old"  # back to what was read: the database holds "saved" now
            assert event.to_row() == {"note": "old"}
            update(connection, event)
            note = connection.execute("SELECT note FROM events").fetchone()[0]
            before = stored_row(connection)
            update(connection, event)  # again: what was written before is written again, nothing else
            after = stored_row(connection)
        finally:
            connection.close()
    assert note == "old"
    assert before == after


def test_a_read_entity_whose_primary_key_changed_refuses_to_give_its_row(events: tuple[str, Project]) -> None:
    _, project = events
    with imported(project.root, "app.entities") as entities:
        event = read_event(project, entities)
        event.id = 2
        event.note = "moved"
        with pytest.raises(ValueError, match=r"Event: the primary key column 'id' of table 'events' changed .*1 → 2"):
            event.to_row()
