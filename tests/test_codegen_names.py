"""Python names for tables and columns: readable, valid, collision-free and deterministic."""

from __future__ import annotations

import ast
import keyword
import random
from pathlib import Path

import pytest
from entity_helpers import generate_package, render_files
from hypothesis import given
from hypothesis import strategies as st

from kitgen.codegen import files
from kitgen.codegen.names import (
    RESERVED_FIELDS,
    EntityNames,
    class_base,
    class_names,
    field_base,
    field_names,
    kept_names,
    model_owner,
    module_base,
    module_names,
)
from kitgen.codegen.plan import MODEL_TYPES, SUPPORT_MODULE, EntitySpec, plan_entities
from kitgen.errors import ModelNameTaken
from kitgen.schema.model import Column, Schema, Table

TRICKY_TABLES = [
    "users",
    "user",
    "User",
    "USERS",
    "people",
    "person",
    "categories",
    "user_profiles",
    "UserProfiles",
    "table/with/slashes.csv",
    "../x",
    "x",
    "../../etc/passwd",
    "/abs/path",
    "C:\\x\\y",
    "..",
    ".",
    "",
    "_",
    "__init__",
    "__main__",
    "__init__.py",
    "_kitgen",
    "kitgen_runtime",
    "select",
    "class",
    "import",
    "None",
    "True",
    "match",
    "case",
    "123",
    "1abc",
    "café",
    "日本",
    "Ελληνικά",
    "naïve table",
    "a\nb",
    "x\x00y",
    "fields",
    "Field",
    "json",
    "rows",
]


# --- modules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "module"),
    [
        ("people", "person"),
        ("categories", "category"),
        ("user_profiles", "user_profile"),
        ("users", "user"),
        ("user", "user"),
        ("UserProfiles", "user_profile"),
        ("User Profiles", "user_profile"),
        ("HTTPRequests", "http_request"),
        ("analyses", "analysis"),
        ("table/with/slashes.csv", "table_with_slashes_csv"),
        ("../x", "x"),
        ("../../etc/passwd", "etc_passwd"),
        ("/abs/path", "abs_path"),
        ("a.b.c", "a_b_c"),
        ("select", "select"),  # SQL keyword, not a Python one
        ("class", "class_"),
        ("import", "import_"),
        ("match", "match"),  # soft keywords are valid names, and differ between Python versions
        ("case", "case"),
        ("", "table"),
        ("..", "table"),
        ("日本", "table"),
        ("123", "table_123"),
        ("1abc", "table_1abc"),
        ("café", "cafe"),
        ("__init__", "init"),
        ("__main__", "main"),
        ("kitgen_runtime", "kitgen_runtime_"),
    ],
)
def test_module_base(table: str, module: str) -> None:
    assert module_base(table) == module


def test_user_and_users_the_table_named_like_the_module_keeps_it() -> None:
    assert module_names(["users", "user"]) == {"user": "user", "users": "user_2"}
    assert module_names(["user", "users"]) == {"user": "user", "users": "user_2"}
    assert module_names(["people", "person"]) == {"person": "person", "people": "person_2"}


@pytest.mark.parametrize(("exact", "other"), [("x", "../x"), ("user", "User"), ("user", "USERS"), ("x", "X")])
def test_a_table_named_exactly_like_the_module_keeps_it(exact: str, other: str) -> None:
    # "A table whose own name is the singular keeps it on a collision": the table literally named
    # ``x`` is that table, not ``../x`` (nor ``X``) which only normalise to it.
    assert module_names([other, exact])[exact] == exact
    assert module_names([exact, other])[exact] == exact


def test_module_collisions_are_deterministic_and_unique() -> None:
    expected = module_names(TRICKY_TABLES)
    shuffler = random.Random(7)
    for _ in range(20):
        shuffled = TRICKY_TABLES[:]
        shuffler.shuffle(shuffled)
        assert module_names(shuffled) == expected
    assert len(set(expected.values())) == len(TRICKY_TABLES)


def test_module_names_are_safe_file_names(tmp_path: Path) -> None:
    folder = tmp_path / "entities"
    folder.mkdir()
    for table, module in module_names(TRICKY_TABLES).items():
        assert module.isidentifier() and module.isascii(), (table, module)
        assert not keyword.iskeyword(module), (table, module)
        assert module not in {"__init__", "__main__", SUPPORT_MODULE}, (table, module)
        assert not module.startswith("_"), (table, module)  # private support modules stay kitgen's
        path = folder / f"{module}.py"
        assert path.resolve().parent == folder.resolve(), (table, module)
        assert "/" not in module and "\\" not in module and "." not in module


# --- classes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "model", "name"),
    [
        ("people", None, "Person"),
        ("user_profiles", None, "UserProfile"),
        ("categories", None, "Category"),
        ("table/with/slashes.csv", None, "TableWithSlashesCsv"),
        ("", None, "Table"),
        ("日本", None, "Table"),
        ("class", None, "Class"),
        ("None", None, "NoneEntity"),  # keyword as a class name
        ("True", None, "TrueEntity"),
        ("users", "Member", "Member"),  # the migration's model
        ("users", "member", "member"),
        ("users", "class", "User"),  # not usable: falls back to the table
        ("users", "my model", "User"),
        ("users", "1st", "User"),
        ("users", "", "User"),
        ("fields", None, "FieldEntity"),  # would shadow pydantic's Field
        ("users", "Field", "FieldEntity"),
        ("users", "BaseModel", "BaseModelEntity"),
        ("any", None, "AnyEntity"),
        ("class_vars", None, "ClassVarEntity"),
        ("config_dicts", None, "ConfigDictEntity"),
    ],
)
def test_class_base(table: str, model: str | None, name: str) -> None:
    assert class_base(table, model) == name


def imported_names() -> set[str]:
    """Every name the generated modules import, read from real generated modules."""
    kinds = [("DATETIME", "datetime"), ("DECIMAL", "decimal"), ("UUID", "uuid"), ("JSON", "json"), ("TEXT", "str")]
    columns = (
        *(Column(f"c{i}", declared, kind, nullable=True) for i, (declared, kind) in enumerate(kinds)),
        Column("with space", "TEXT", "str", nullable=True),
    )
    schema = Schema((Table("t", "table", columns),))
    names: set[str] = set()
    for model_type in MODEL_TYPES:
        for text in render_files(schema, model_type).values():
            for node in ast.parse(text).body:
                if isinstance(node, ast.Import | ast.ImportFrom) and not (
                    isinstance(node, ast.ImportFrom) and node.module == "__future__"
                ):
                    names |= {alias.asname or alias.name.split(".")[0] for alias in node.names}
    return names


IMPORTED = sorted(imported_names())


def test_imported_names_are_what_the_modules_use() -> None:
    assert {"Any", "ClassVar", "Self", "BaseModel", "Field", "dataclass", "Struct", "field", "uuid", "_kitgen"} <= set(
        IMPORTED
    )


@pytest.mark.parametrize("imported", IMPORTED)
def test_a_class_never_shadows_a_name_its_module_imports(imported: str) -> None:
    assert class_names([("t", imported)])["t"] != imported  # asked for by a migration
    table = inflection_plural(imported)
    assert class_names([(table, None)])[table] != imported  # or derived from the table name


def inflection_plural(name: str) -> str:
    import inflection

    return inflection.pluralize(inflection.underscore(name))


def test_rows_table_does_not_shadow_the_row_type() -> None:
    # The generated modules do ``from ._kitgen import Row, read_row, write_row``.
    assert class_names([("rows", None)])["rows"] != "Row"


def test_class_collisions_models_first_then_table_names() -> None:
    assert class_names([("users", None), ("user", None)]) == {"user": "User", "users": "User2"}
    assert class_names([("accounts", None), ("users", "Account")]) == {"users": "Account", "accounts": "Account2"}
    assert class_names([("b", "Thing"), ("a", "Thing")]) == {"a": "Thing", "b": "Thing2"}
    assert class_names([("fields", None), ("x", "Field")]) == {"x": "FieldEntity", "fields": "FieldEntity2"}


def test_class_names_are_deterministic_unique_and_valid() -> None:
    items = [(table, None) for table in TRICKY_TABLES] + [("extra_a", "User"), ("extra_b", "Field")]
    expected = class_names(items)
    shuffler = random.Random(11)
    for _ in range(20):
        shuffled = items[:]
        shuffler.shuffle(shuffled)
        assert class_names(shuffled) == expected
    assert len(set(expected.values())) == len(items)
    for name in expected.values():
        assert name.isidentifier() and not keyword.iskeyword(name), name


# --- fields ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "field"),
    [
        ("id", "id"),
        ("created_at", "created_at"),
        ("CreatedAt", "created_at"),
        ("HTTPCode", "http_code"),
        ("my column", "my_column"),
        ("a-b", "a_b"),
        ("a.b", "a_b"),
        ("a\nb", "a_b"),
        ('"quoted"', "quoted"),
        ("class", "class_"),
        ("from", "from_"),
        ("import", "import_"),
        ("None", "none"),  # snake case is no keyword any more
        ("match", "match"),  # soft keywords are valid names, and differ between Python versions
        ("case", "case"),
        ("_", "column_"),
        ("", "column"),
        ("日本", "column"),
        ("1st", "field_1st"),
        ("naïve", "naive"),
        ("café", "cafe"),
        ("_private", "private_"),  # pydantic would make a leading underscore private
        ("__dunder__", "dunder_"),
        ("json", "json_"),  # BaseModel attributes
        ("schema", "schema_"),
        ("model_config", "model_config_"),
        ("model_fields", "model_fields_"),
        ("model_dump", "model_dump_"),
        ("copy", "copy_"),
        ("dict", "dict_"),
        ("validate", "validate_"),
        ("from_row", "from_row_"),  # the entity's own methods
        ("to_row", "to_row_"),
        ("self", "self_"),
        ("cls", "cls_"),
        ("date", "date"),
        ("type", "type"),
    ],
)
def test_field_base(column: str, field: str) -> None:
    assert field_base(column) == field


def test_a_column_named_as_its_field_keeps_it_and_clashes_do_not_depend_on_column_order() -> None:
    assert field_names(["my col", "my_col", "MyCol"]) == ["my_col_3", "my_col", "my_col_2"]
    assert field_names(["MyCol", "my col", "my_col"]) == ["my_col_2", "my_col_3", "my_col"]
    assert field_names(["userId", "user_id"]) == ["user_id_2", "user_id"]
    assert field_names(["user_id", "userId"]) == ["user_id", "user_id_2"]
    assert field_names(["a", "a_2", "A"]) == ["a", "a_2", "a_3"]  # a suffix never reuses a taken name
    assert field_names(["", "", "日本"]) == ["column", "column_2", "column_3"]
    assert field_names(["json", "json_"]) == ["json__2", "json_"]  # "json_" is its own field name


@given(st.lists(st.sampled_from(["user_id", "userId", "UserId", "user id", "user_id_2", "USER_ID", "x"]), unique=True))
def test_each_column_gets_the_same_field_in_any_column_order(columns: list[str]) -> None:
    by_column = dict(zip(columns, field_names(columns), strict=True))
    reordered = list(reversed(columns))
    assert dict(zip(reordered, field_names(reordered), strict=True)) == by_column


def test_field_names_are_valid_unique_and_never_reserved() -> None:
    columns = [*TRICKY_TABLES, *sorted(RESERVED_FIELDS), *keyword.kwlist, *keyword.softkwlist]
    fields = field_names(columns)
    assert len(fields) == len(columns)
    assert len(set(fields)) == len(fields)
    for column, field in zip(columns, fields, strict=True):
        assert field.isidentifier() and field.isascii(), (column, field)
        assert not keyword.iskeyword(field), (column, field)
        assert field not in RESERVED_FIELDS, (column, field)
        assert not field.startswith("_"), (column, field)
    assert field_names(columns) == fields


def test_plan_is_the_same_whatever_the_table_order() -> None:
    tables = [
        Table(name, "table", (Column("id", "INTEGER", "int", False, True, primary_key=1),)) for name in TRICKY_TABLES
    ]
    expected = plan_entities(Schema(tuple(tables)), "pydantic")
    assert [spec.module for spec in expected] == sorted(spec.module for spec in expected)
    shuffler = random.Random(3)
    for _ in range(5):
        shuffler.shuffle(tables)
        assert plan_entities(Schema(tuple(tables)), "pydantic") == expected


# --- names that never move -------------------------------------------------------------------


def test_kept_names_stay_and_a_colliding_newcomer_takes_the_suffix() -> None:
    assert module_names(["people", "person"], {"people": "person"}) == {"people": "person", "person": "person_2"}
    assert module_names(["person", "people"], {"person": "person"}) == {"person": "person", "people": "person_2"}
    tables: list[tuple[str, str | None]] = [("people", None), ("person", None)]
    assert class_names(tables, {"people": "Person"}) == {"people": "Person", "person": "Person2"}
    assert class_names(tables, {"person": "Person"}) == {"person": "Person", "people": "Person2"}
    assert class_names([("users", None), ("x", "User")], {"users": "User"}) == {"users": "User", "x": "User2"}


def test_names_kept_for_a_table_that_is_gone_are_free_again() -> None:
    assert module_names(["person"], {"people": "person"}) == {"person": "person"}
    assert class_names([("person", None)], {"people": "Person"}) == {"person": "Person"}


def test_a_kept_class_stays_whatever_model_its_table_asks_for() -> None:
    assert class_names([("users", "Member")], {"users": "User"}) == {"users": "User"}


def test_without_kept_names_collisions_settle_as_on_every_clean_run() -> None:
    tables: list[tuple[str, str | None]] = [(table, None) for table in TRICKY_TABLES]
    assert module_names(TRICKY_TABLES, {}) == module_names(TRICKY_TABLES)
    assert class_names(tables, {}) == class_names(tables)


def test_kept_names_are_valid_and_unique_the_first_table_keeps_a_shared_one() -> None:
    existing = {
        "a": EntityNames("x", "X"),
        "b": EntityNames("x", "Y"),  # module of a
        "c": EntityNames("c", "X"),  # class of a
        "d": EntityNames("class", "D"),
        "e": EntityNames("_kitgen", "E"),
        "f": EntityNames("f", "Row"),  # shadows what the module imports
        "g": EntityNames("g", "not valid"),
        "gone": EntityNames("gone", "Gone"),
        "h": EntityNames("h", "H"),
    }
    assert kept_names(existing, ["h", "g", "f", "e", "d", "c", "b", "a"]) == {"a": existing["a"], "h": existing["h"]}


def test_the_owner_of_a_model_is_the_other_table_whose_entity_has_that_class() -> None:
    kept = {"people": "Person", "rows": "RowEntity"}
    assert model_owner("z", "Person", kept) == "people"
    assert model_owner("people", "Person", kept) is None  # its own
    assert model_owner("z", "Row", kept) == "rows"  # Row becomes RowEntity
    assert model_owner("z", "Thing", kept) is None


def id_table(name: str, model: str | None = None, created_by: str | None = None) -> Table:
    column = Column("id", "INTEGER", "int", False, True, primary_key=1)
    return Table(name, "table", (column,), created_by=created_by, model=model)


def names_of(specs: list[EntitySpec]) -> dict[str, EntityNames]:
    return {spec.table.name: EntityNames(spec.module, spec.class_name) for spec in specs}


def test_the_plan_keeps_every_name_through_random_additions_and_removals() -> None:
    pool = [table for table in TRICKY_TABLES if table] + ["person", "people", "users", "user"]
    shuffler = random.Random(5)
    present: list[str] = []
    existing: dict[str, EntityNames] = {}
    for _ in range(60):
        if present and shuffler.random() < 0.4:
            present.remove(shuffler.choice(present))
        else:
            present.append(shuffler.choice(sorted(set(pool) - set(present))))
        specs = plan_entities(Schema(tuple(id_table(name) for name in sorted(present))), "pydantic", existing)
        names = names_of(specs)
        for table, before in existing.items():
            if table in names:
                assert names[table] == before, table
        assert len({n.module for n in names.values()}) == len({n.class_name for n in names.values()}) == len(names)
        existing = names


def test_the_plan_refuses_a_new_table_whose_model_another_entity_has() -> None:
    existing = {"people": EntityNames("person", "Person", "app/entities/person.py")}
    schema = Schema((id_table("people"), id_table("z", "Person", "2026_01_01_000003_create_z_table")))

    with pytest.raises(ModelNameTaken) as raised:
        plan_entities(schema, "pydantic", existing)

    assert str(raised.value).startswith(
        'migration 2026_01_01_000003_create_z_table gives table "z" the class name Person, which the entity of '
        'table "people" already has (app/entities/person.py); no entity was written — '
    )
    assert "was applied" in str(raised.value.applied())


def test_the_plan_lets_a_model_take_the_name_of_a_table_that_is_gone() -> None:
    existing = {"people": EntityNames("person", "Person")}
    specs = plan_entities(Schema((id_table("z", "Person"),)), "pydantic", existing)
    assert names_of(specs) == {"z": EntityNames("z", "Person")}


def test_a_table_with_an_entity_keeps_it_when_its_model_is_another_table_s_class() -> None:
    existing = {"a": EntityNames("a", "Thing"), "b": EntityNames("b", "Thing2")}  # both asked for Thing once
    schema = Schema((id_table("a", "Thing"), id_table("b", "Thing")))
    assert names_of(plan_entities(schema, "pydantic", existing)) == existing


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_the_names_on_disk_are_read_back_from_each_entity(tmp_path: Path, model_type: str) -> None:
    schema = Schema((id_table("people"), id_table("person"), id_table("z", "Thing")))
    folder, _ = generate_package(tmp_path, schema, model_type)
    (folder / "mine.py").write_text("class Mine:\n    pass\n", encoding="utf-8")  # not kitgen's: no names

    found = files.existing_names(folder)

    expected = names_of(plan_entities(schema, model_type))
    assert found == {
        t: EntityNames(n.module, n.class_name, str(folder / f"{n.module}.py")) for t, n in expected.items()
    }


def test_a_class_line_far_down_the_file_is_found(tmp_path: Path) -> None:
    folder, _ = generate_package(tmp_path, Schema((id_table("people"),)), "pydantic")
    path = folder / "person.py"
    header, body = path.read_text(encoding="utf-8").split("\n\n", 1)
    path.write_text(header + "\n" + "# padding\n" * 1000 + "\n" + body, encoding="utf-8")

    assert files.existing_names(folder, lambda found: found.name) == {
        "people": EntityNames("person", "Person", "person.py")
    }


def test_a_copy_of_an_entity_file_does_not_take_its_names(tmp_path: Path) -> None:
    folder, _ = generate_package(tmp_path, Schema((id_table("people"),)), "pydantic")
    text = (folder / "person.py").read_text(encoding="utf-8")
    for copy in ("aaa.py", "person_3.py"):
        (folder / copy).write_text(text, encoding="utf-8")

    assert files.existing_names(folder) == {"people": EntityNames("person", "Person", str(folder / "person.py"))}


def test_a_file_whose_first_line_is_damaged_names_no_table(tmp_path: Path) -> None:
    folder, _ = generate_package(tmp_path, Schema((id_table("people"),)), "pydantic")
    path = folder / "person.py"
    path.write_text(path.read_text(encoding="utf-8").replace("from table", "from tabel", 1), encoding="utf-8")

    assert files.existing_names(folder) == {}
