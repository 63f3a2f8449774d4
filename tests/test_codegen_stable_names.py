"""Entity names never move: once a table has its module and class, other tables cannot take them.

End to end through the installed ``kitgen`` script, on real projects in ``tmp_path``.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Project, assert_one_error

from kitgen.codegen import headers

PEOPLE = "2026_01_01_000001_create_people"
PERSON = "2026_01_01_000002_create_person"
THING = "2026_01_01_000003_create_z_table"


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    return result


def entities(project: Project) -> dict[str, tuple[str, list[str]]]:
    """Module → (the table its header names, its classes), for every generated entity."""
    found = {}
    for path in sorted(project.entities.glob("*.py")):
        header = headers.parse(path.read_text(encoding="utf-8"))
        if header is not None and header.kind in {"table", "view"}:
            tree = ast.parse(path.read_text(encoding="utf-8"))
            found[path.stem] = (header.source, [node.name for node in tree.body if isinstance(node, ast.ClassDef)])
    return found


def exports(project: Project) -> list[tuple[str, str]]:
    tree = ast.parse((project.entities / "__init__.py").read_text(encoding="utf-8"))
    return [
        (node.module or "", alias.name)
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.level == 1
        for alias in node.names
    ]


def files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}


def table_of(project: Project, name: str) -> str:
    """The table the class ``name`` exported by the entities package maps."""
    code = f"from app.entities import {name}; print({name}.__tablename__)"
    environ = {key: value for key, value in os.environ.items() if not key.startswith("KITGEN_")}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=project.root, env=environ, capture_output=True, text=True, timeout=120
    )
    return ok(result).stdout.strip()


def create(project: Project, name: str, table: str) -> None:
    project.create_table(name, table, "id INTEGER PRIMARY KEY, label TEXT")


def model_migration(project: Project, fmt: str, model: str) -> None:
    """``create_z_table`` asking for the class name ``model``, as a .py or a .sql migration."""
    if fmt == "py":
        project.python(
            THING,
            'db.execute("CREATE TABLE z (id INTEGER PRIMARY KEY)")',
            'db.execute("DROP TABLE z")',
            extra=f'model = "{model}"\n',
        )
    else:
        project.write(
            f"{THING}.sql",
            f"-- kitgen:model {model}\n-- migrate:up\nCREATE TABLE z (id INTEGER PRIMARY KEY);\n\n"
            "-- migrate:down\nDROP TABLE z;\n",
        )


# --- adding a table -------------------------------------------------------------------------------


def test_person_added_after_people_leaves_people_its_names(project: Project) -> None:
    create(project, PEOPLE, "people")
    ok(project.run("migrate"))
    assert entities(project) == {"person": ("people", ["Person"])}

    create(project, PERSON, "person")
    ok(project.run("migrate"))

    assert entities(project) == {"person": ("people", ["Person"]), "person_2": ("person", ["Person2"])}
    assert exports(project) == [("person", "Person"), ("person_2", "Person2")]
    assert table_of(project, "Person") == "people"
    ok(project.run("check"))


def test_people_added_after_person_leaves_person_its_names(project: Project) -> None:
    create(project, PEOPLE, "person")
    ok(project.run("migrate"))
    assert entities(project) == {"person": ("person", ["Person"])}

    create(project, PERSON, "people")
    ok(project.run("migrate"))

    assert entities(project) == {"person": ("person", ["Person"]), "person_2": ("people", ["Person2"])}
    assert table_of(project, "Person") == "person"
    ok(project.run("check"))


def test_a_run_after_a_newcomer_has_nothing_to_do(project: Project) -> None:
    create(project, PEOPLE, "people")
    ok(project.run("migrate"))
    create(project, PERSON, "person")
    ok(project.run("migrate"))
    before = files(project.entities)

    again = ok(project.run("migrate"))
    generated = ok(project.run("generate"))

    assert "Wrote" not in again.stdout + generated.stdout
    assert files(project.entities) == before


def test_fresh_and_refresh_keep_the_names_a_project_grew(project: Project) -> None:
    create(project, PEOPLE, "people")
    ok(project.run("migrate"))
    create(project, PERSON, "person")
    ok(project.run("migrate"))
    grown = files(project.entities)

    ok(project.run("migrate:refresh", "--force"))
    assert files(project.entities) == grown
    ok(project.run("migrate:fresh", "--force"))
    assert files(project.entities) == grown


def test_a_copy_of_an_entity_file_is_an_orphan_and_takes_nothing(project: Project) -> None:
    create(project, PEOPLE, "people")
    ok(project.run("migrate"))
    entity = project.entities / "person.py"
    (project.entities / "aaa.py").write_bytes(entity.read_bytes())
    create(project, PERSON, "person")

    result = ok(project.run("migrate"))

    assert "Deleted app/entities/aaa.py" in result.stdout
    assert entities(project) == {"person": ("people", ["Person"]), "person_2": ("person", ["Person2"])}


# --- removing and renaming tables -----------------------------------------------------------------


def test_removing_a_table_leaves_the_others_their_names(project: Project) -> None:
    create(project, PEOPLE, "people")
    create(project, PERSON, "person")
    ok(project.run("migrate"))  # one clean generation: person.py is person's, person_2.py people's
    assert entities(project) == {"person": ("person", ["Person2"]), "person_2": ("people", ["Person"])}

    project.sql("2026_01_01_000003_drop_person", "DROP TABLE person;")
    ok(project.run("migrate"))

    assert entities(project) == {"person_2": ("people", ["Person"])}
    assert exports(project) == [("person_2", "Person")]
    assert not (project.entities / "person.py").exists()
    ok(project.run("check"))


def test_dropping_the_first_of_two_colliding_tables_moves_nothing(project: Project) -> None:
    create(project, PEOPLE, "user")
    create(project, PERSON, "users")
    ok(project.run("migrate"))
    assert entities(project) == {"user": ("user", ["User"]), "user_2": ("users", ["User2"])}

    project.sql("2026_01_01_000003_drop_user", "DROP TABLE user;")
    ok(project.run("migrate"))

    assert entities(project) == {"user_2": ("users", ["User2"])}
    assert table_of(project, "User2") == "users"


def test_a_renamed_table_gets_new_names_and_no_other_table_moves(project: Project) -> None:
    create(project, PEOPLE, "people")
    ok(project.run("migrate"))
    create(project, PERSON, "person")
    ok(project.run("migrate"))
    person = (project.entities / "person_2.py").read_bytes()

    project.sql("2026_01_01_000003_rename_people", "ALTER TABLE people RENAME TO humans;")
    result = ok(project.run("migrate"))

    assert entities(project) == {"human": ("humans", ["Human"]), "person_2": ("person", ["Person2"])}
    assert (project.entities / "person_2.py").read_bytes() == person
    assert "Deleted app/entities/person.py" in result.stdout
    assert exports(project) == [("human", "Human"), ("person_2", "Person2")]
    ok(project.run("check"))


# --- asking for a class name another table has ----------------------------------------------------


def test_make_migration_refuses_a_model_another_table_has(project: Project) -> None:
    create(project, PEOPLE, "people")
    ok(project.run("migrate"))
    before = files(project.entities)

    result = project.run("make:migration", "create_z_table", "--model", "Person")

    assert_one_error(result, "Person", '"people"', "app/entities/person.py")
    assert sorted(path.name for path in project.migrations.iterdir()) == [f"{PEOPLE}.sql"]
    assert files(project.entities) == before


def test_make_migration_takes_a_free_model(project: Project) -> None:
    create(project, PEOPLE, "people")
    ok(project.run("migrate"))

    ok(project.run("make:migration", "create_z_table", "--model", "Thing"))
    ok(project.run("make:migration", "create_w_table", "--model", "Person", "--entities", "elsewhere"))

    assert len(list(project.migrations.iterdir())) == 3


@pytest.mark.parametrize("fmt", ["py", "sql"])
def test_a_migration_model_another_table_has_is_refused_when_entities_are_generated(project: Project, fmt: str) -> None:
    create(project, PEOPLE, "people")
    ok(project.run("migrate"))
    before = files(project.entities)
    model_migration(project, fmt, "Person")

    result = project.run("migrate")

    assert_one_error(result, THING, "was applied", "Person", '"people"', "app/entities/person.py", "rollback", code=3)
    assert f"Applying {THING}" in result.stdout
    assert [name for name, _ in project.applied()] == [PEOPLE, THING]  # committed, not half done
    assert "z" in project.tables()
    assert files(project.entities) == before  # nothing written, the old class kept
    assert_one_error(project.run("generate"), THING, "Person", "app/entities/person.py")
    assert files(project.entities) == before

    ok(project.run("migrate:rollback", "--force"))
    (project.migrations / f"{THING}.{fmt}").unlink()
    model_migration(project, fmt, "Thing")
    ok(project.run("migrate"))
    assert entities(project) == {"person": ("people", ["Person"]), "z": ("z", ["Thing"])}


def test_migrate_pretend_shows_the_migration_then_the_refusal(project: Project) -> None:
    create(project, PEOPLE, "people")
    ok(project.run("migrate"))
    model_migration(project, "sql", "Person")
    before = (project.dump(), files(project.entities))

    result = project.run("migrate", "--pretend")

    assert_one_error(
        result, THING, "Person", "app/entities/person.py", "pretended: the database itself was not changed"
    )
    assert "CREATE TABLE z" in result.stdout
    assert f"{THING} would stay applied." in result.stdout
    assert (project.dump(), files(project.entities)) == before


def test_check_reports_a_model_another_table_has(project: Project) -> None:
    create(project, PEOPLE, "people")
    ok(project.run("migrate"))
    model_migration(project, "sql", "Person")

    result = project.run("check")

    assert_one_error(result, THING, "Person", '"people"', "app/entities/person.py", code=2)


def test_a_model_is_free_once_its_table_is_dropped_in_the_same_run(project: Project) -> None:
    create(project, PEOPLE, "people")
    ok(project.run("migrate"))
    project.sql("2026_01_01_000002_drop_people", "DROP TABLE people;")
    model_migration(project, "sql", "Person")

    ok(project.run("migrate"))

    assert entities(project) == {"z": ("z", ["Person"])}


# --- clean generations ----------------------------------------------------------------------------


def colliding_schema(project: Project) -> None:
    for number, table in enumerate(["people", "user", "users", "person", "categories", "category"], 1):
        create(project, f"2026_01_01_00001{number}_create_{table}", table)
    model_migration(project, "sql", "User")


def test_two_clean_generations_give_identical_bytes(project: Project, tmp_path: Path) -> None:
    colliding_schema(project)
    ok(project.run("migrate"))
    first = files(project.entities)
    for path in project.entities.glob("*.py"):
        path.unlink()
    (project.entities / "__init__.py").write_text('"""Entities."""\n', encoding="utf-8")

    ok(project.run("generate"))

    assert files(project.entities) == first
    other = Project(tmp_path / "other")
    colliding_schema(other)
    ok(other.run("migrate", "--step"))
    assert files(other.entities) == first
    assert entities(project)["user"] == ("user", ["User2"])  # the model comes first, as on every clean run
    assert entities(project)["z"] == ("z", ["User"])
