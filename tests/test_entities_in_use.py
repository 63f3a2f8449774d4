"""Entities as a program uses them: insert what only the required fields give, read the database's defaults
back, construct every entity by field names under mypy --strict and pyright (no plugin), leave formatters
nothing to change, and name the column of a value that cannot be read."""

from __future__ import annotations

import datetime
import sqlite3
import sys
from pathlib import Path

import pytest
from conftest import Project
from entity_helpers import imported, mypy_strict, run_tool

from kitgen.codegen.plan import MODEL_TYPES

BIN = Path(sys.executable).parent

# Every kind of default and constraint the entities state, and aliased columns.
SCHEMA = """
CREATE TABLE authors (
    id INTEGER PRIMARY KEY,
    "first name" VARCHAR(20) NOT NULL,
    "class" TEXT,
    "userId" INTEGER NOT NULL DEFAULT 7,
    status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
    score INTEGER NOT NULL DEFAULT 0 CHECK (score >= 0 AND score <= 100),
    ratio REAL DEFAULT 0.5 CHECK (ratio BETWEEN 0 AND 1),
    rank INTEGER CHECK (rank > 0) CHECK (rank < 10),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    code CHAR(3),
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    slug TEXT NOT NULL DEFAULT (lower('Untitled')),
    nick TEXT CHECK (length(nick) > 1),
    shout TEXT GENERATED ALWAYS AS (upper("first name")) VIRTUAL
);
"""
LONG = (
    "CREATE TABLE a_table_with_a_rather_long_name_that_keeps_going_and_going_and_going_on_and_on ("
    " id INTEGER PRIMARY KEY,"
    " a_column_with_a_name_so_long_that_no_line_holding_it_could_ever_fit_in_eighty_eight TEXT"
    " DEFAULT 'a default value that is long enough to push the line past any limit at all',"
    ' "a column named with spaces and it is also far longer than one line of code allows" INTEGER'
    ' NOT NULL CHECK ("a column named with spaces and it is also far longer than one line of code allows"'
    " IN (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25)));"
)


def migrated(project: Project, model_type: str) -> Project:
    project.sql("2026_01_01_000001_create_authors_table", SCHEMA, "DROP TABLE authors;")
    project.sql("2026_01_01_000002_create_long_table", LONG, "")
    result = project.run("migrate", "--model-type", model_type)
    assert result.returncode == 0, result.stdout + result.stderr
    return project


@pytest.fixture(scope="module", params=MODEL_TYPES)
def used(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Project]:
    return request.param, migrated(Project(tmp_path_factory.mktemp(request.param) / "project"), request.param)


def test_an_entity_of_only_its_required_fields_is_inserted_and_read_back_with_the_database_defaults(
    used: tuple[str, Project],
) -> None:
    model_type, project = used
    with imported(project.root, "app.entities") as entities:
        author = entities.Author(first_name="Ada")
        row = author.to_row()
        assert row == ({"first name": "Ada"} if model_type == "pydantic" else row)
        assert "id" not in row and "created_at" not in row and "slug" not in row and "shout" not in row
        connection = project.connect()
        connection.row_factory = sqlite3.Row
        try:
            cursor = connection.execute(
                f"INSERT INTO authors ({', '.join(map(quote, row))}) VALUES ({', '.join('?' * len(row))})",
                list(row.values()),
            )
            stored = entities.Author.from_row(
                connection.execute("SELECT * FROM authors WHERE id = ?", (cursor.lastrowid,)).fetchone()
            )
        finally:
            connection.close()
    assert stored.id == 1
    assert (stored.first_name, stored.class_, stored.user_id, stored.status) == ("Ada", None, 7, "draft")
    assert (stored.score, stored.ratio, stored.rank, stored.active, stored.code) == (0, 0.5, None, True, None)
    assert isinstance(stored.created_at, datetime.datetime)
    assert (stored.slug, stored.nick, stored.shout) == ("untitled", None, "ADA")
    # read back: nothing changed, nothing to write; a change writes its column alone, for an UPDATE
    assert stored.to_row() == {}
    stored.class_ = "c"
    assert stored.to_row() == {"class": "c"}


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def entities_columns(entity: object) -> list[str]:
    columns: dict[str, str] = getattr(type(entity), "__columns__", {})
    names = [name for name in type(entity).__annotations__ if not name.startswith("__")]
    return [columns.get(name, name) for name in names]


def test_a_value_that_cannot_be_read_names_the_entity_the_column_and_the_value(used: tuple[str, Project]) -> None:
    _, project = used
    with imported(project.root, "app.entities") as entities:
        row = {name: None for name in entities_columns(entities.Author(first_name="x"))}
        row.update({"id": 1, "first name": "Ada", "userId": 7, "status": "draft", "score": 0, "active": 1})
        row.update({"created_at": "not a time", "slug": "s"})
        with pytest.raises(ValueError) as refused:
            entities.Author.from_row(row)
    message = str(refused.value)
    assert message.startswith("Author: column 'created_at' of table 'authors' holds 'not a time', which is not"), (
        message
    )


CONSTRUCT = """
from __future__ import annotations

from app.entities import ATableWithARatherLongNameThatKeepsGoingAndGoingAndGoingOnAndOn as Long
from app.entities import Author


def build() -> list[object]:
    return [
        Author(first_name="Ada"),
        Author(
            id=1,
            first_name="Ada",
            class_="x",
            user_id=3,
            status="published",
            score=5,
            ratio=0.5,
            rank=2,
            active=False,
            code="abc",
            slug="s",
            nick="ad",
        ),
        Long(a_column_named_with_spaces_and_it_is_also_far_longer_than_one_line_of_code_allows=3),
    ]
"""


def test_every_entity_is_constructed_by_its_field_names_under_mypy_and_pyright(
    used: tuple[str, Project], tmp_path: Path
) -> None:
    _, project = used
    (project.root / "construct.py").write_text(CONSTRUCT, encoding="utf-8")
    mypy = mypy_strict(project.root, "construct.py", "app", cache_dir=tmp_path / "mypy")
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
    pyright = run_tool(
        str(BIN / "pyright"), "--pythonpath", sys.executable, "construct.py", "app/entities", cwd=project.root
    )
    assert pyright.returncode == 0, pyright.stdout + pyright.stderr


@pytest.mark.parametrize("tool", ["ruff format", "black", "ruff check"])
def test_generated_files_are_left_as_they_are_by_formatters_and_pass_ruff(used: tuple[str, Project], tool: str) -> None:
    _, project = used
    folder = project.entities
    files = sorted(str(path) for path in folder.glob("*.py") if path.name != "__init__.py")
    command = {
        "ruff format": [str(BIN / "ruff"), "format", "--isolated", "--no-cache", "--check", *files],
        "black": [str(BIN / "black"), "--check", "--quiet", *files],
        "ruff check": [str(BIN / "ruff"), "check", "--isolated", "--no-cache", *files],
    }[tool]
    result = run_tool(*command, cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr


FORMATTERS_SET_OTHERWISE = {
    "ruff format": ["ruff", "format", "--no-cache", "--line-length", "60", "--config", "format.quote-style='single'"],
    "black": ["black", "--quiet", "--line-length", "60", "--skip-string-normalization", "--skip-magic-trailing-comma"],
}


@pytest.mark.parametrize("tool", list(FORMATTERS_SET_OTHERWISE))
@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_a_formatter_set_otherwise_is_not_taken_for_a_hand_edit(tmp_path: Path, tool: str, model_type: str) -> None:
    project = migrated(Project(tmp_path / "project"), model_type)
    [program, *options] = FORMATTERS_SET_OTHERWISE[tool]
    before = {path.name: path.read_text() for path in project.entities.glob("*.py")}
    formatted = run_tool(str(BIN / program), *options, str(project.entities), cwd=project.root)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    after = {path.name: path.read_text() for path in project.entities.glob("*.py")}
    assert after["_kitgen.py"] != before["_kitgen.py"] and after != before  # the formatter did change files

    same_type = {"KITGEN_MODEL_TYPE": model_type}
    checked = project.run("check", env=same_type)
    generated = project.run("generate", env=same_type)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert generated.returncode == 0 and "Wrote" not in generated.stdout, generated.stdout
    assert {path.name: path.read_text() for path in project.entities.glob("*.py")} == after
    author = project.entities / "author.py"
    author.write_text(author.read_text().replace("class Author", "class Writer"))  # a real edit
    assert project.run("check", env=same_type).returncode != 0


EDGES = """
CREATE TABLE edges (
    id INTEGER PRIMARY KEY,
    st TEXT NOT NULL COLLATE NOCASE CHECK (st IN ('on', 'off')),
    half INTEGER NOT NULL CHECK (half >= 0.5),
    below INTEGER NOT NULL CHECK (below < 2.5)
);
"""


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_every_row_the_database_accepts_is_read_and_bounds_fit_the_column_type(tmp_path: Path, model_type: str) -> None:
    project = Project(tmp_path / "project")
    project.sql("2026_01_01_000001_create_edges_table", EDGES, "DROP TABLE edges;")
    assert project.run("migrate", "--model-type", model_type).returncode == 0
    with project.connect() as connection:
        connection.execute("INSERT INTO edges (st, half, below) VALUES ('ON', 1, 2)")  # the database accepts it
        connection.row_factory = sqlite3.Row
        row = connection.execute("SELECT * FROM edges").fetchone()

    with imported(project.root, "app.entities") as entities:  # a fractional bound on an int imports
        edge = entities.Edge.from_row(row)
        source = (project.entities / "edge.py").read_text()

    assert (edge.st, edge.half, edge.below) == ("ON", 1, 2)
    assert "Literal" not in source  # choices compared without case are left to the database
    if model_type == "pydantic":
        assert "ge=1" in source and "le=2" in source


def test_a_pydantic_entity_dumped_by_column_names_validates_back(tmp_path: Path) -> None:
    project = migrated(Project(tmp_path / "project"), "pydantic")
    with imported(project.root, "app.entities") as entities:
        author = entities.Author(first_name="Ada", user_id=3)
        dumped = author.model_dump(by_alias=True)
        again = entities.Author.model_validate(dumped)
    assert dumped["first name"] == "Ada" and dumped["userId"] == 3
    assert (again.first_name, again.user_id) == ("Ada", 3)
