"""``kitgen check``: every state, JSON output, diffs, no database needed, and the real pre-commit hook."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Project, assert_one_error

REPOSITORY = Path(__file__).resolve().parent.parent
USERS = "2026_01_01_000001_create_users_table"
POSTS = "2026_01_01_000002_create_posts_table"


def migrated(project: Project) -> Project:
    project.create_table(USERS, "users", "id INTEGER PRIMARY KEY, email TEXT NOT NULL")
    project.create_table(POSTS, "posts", "id INTEGER PRIMARY KEY, title TEXT")
    result = project.run("migrate")
    assert result.returncode == 0, result.stderr
    return project


def check(project: Project, *args: str) -> tuple[int, dict[str, object]]:
    result = project.run("check", "--format", "json", *args)
    return result.returncode, json.loads(result.stdout)


def states(document: dict[str, object]) -> dict[tuple[str, str], str]:
    entries = document["entries"]
    assert isinstance(entries, list)
    return {(entry["file"], entry["state"]): entry["message"] for entry in entries}


def test_clean_project_is_ok_without_touching_the_database(project: Project) -> None:
    migrated(project)
    project.database.unlink()  # check needs no database

    result = project.run("check")

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "4 ok."
    assert not project.database.exists()


def test_json_document_lists_every_file_with_its_state(engine_project: Project) -> None:
    project = engine_project
    migrated(project)
    code, document = check(project)
    assert code == 0
    assert document["clean"] is True
    assert sorted(states(document)) == [
        ("app/entities/__init__.py", "ok"),
        ("app/entities/_kitgen.py", "ok"),
        ("app/entities/post.py", "ok"),
        ("app/entities/user.py", "ok"),
    ]
    assert document["summary"] == {"ok": len(document["entries"])}  # type: ignore[arg-type]
    for entry in document["entries"]:  # type: ignore[union-attr]
        assert set(entry) == {"file", "table", "state", "message", "diff"}


def test_edited_file_is_reported_with_what_to_do_and_a_diff(engine_project: Project) -> None:
    project = engine_project
    migrated(project)
    user = project.entities / "user.py"
    user.write_text(user.read_text() + "\ndef helper() -> int:\n    return 1\n")

    result = project.run("check", "--diff")

    assert result.returncode == 1
    assert "app/entities/user.py: edited — generated code was changed by hand" in result.stdout
    assert "+++ user.py (kitgen)" in result.stdout and "-def helper() -> int:" in result.stdout
    assert result.stdout.strip().endswith("1 edited, 3 ok.")


def test_new_migration_without_regeneration_is_stale_and_missing(engine_project: Project) -> None:
    project = engine_project
    migrated(project)
    project.sql("2026_01_01_000003_add_name_to_users", "ALTER TABLE users ADD COLUMN name TEXT;")
    project.create_table("2026_01_01_000004_create_tags_table", "tags")

    code, document = check(project)

    assert code == 1
    found = states(document)
    assert "run kitgen generate" in found[("app/entities/user.py", "stale")]
    assert "run kitgen generate" in found[("app/entities/tag.py", "missing")]
    assert ("app/entities/__init__.py", "stale") in found  # the exports lack Tag
    assert found[("app/entities/post.py", "ok")] == ""


def test_file_both_edited_and_stale_is_reported_as_both(engine_project: Project) -> None:
    project = engine_project
    migrated(project)
    user = project.entities / "user.py"
    text = user.read_text()
    user.write_text(
        text.replace('"""TEXT, not null."""', '"""The e-mail."""').replace('"""text, not null."""', '"""The e-mail."""')
    )
    project.sql("2026_01_01_000003_add_name_to_users", "ALTER TABLE users ADD COLUMN name TEXT;")

    code, document = check(project)

    assert code == 1
    assert {("app/entities/user.py", "edited"), ("app/entities/user.py", "stale")} <= set(states(document))


def test_orphan_of_a_dropped_table_is_reported(engine_project: Project) -> None:
    project = engine_project
    migrated(project)
    (project.migrations / f"{POSTS}.sql").unlink()

    code, document = check(project)

    assert code == 1
    assert "no longer exists" in states(document)[("app/entities/post.py", "orphan")]


def test_with_a_database_migrations_out_of_step_are_reported(project: Project) -> None:
    migrated(project)
    users = project.migrations / f"{USERS}.sql"
    users.write_text(users.read_text().replace("email TEXT NOT NULL", "email TEXT"))
    project.create_table("2026_01_01_000003_create_tags_table", "tags")
    project.run("generate")  # entities follow the files: only the migration states are left

    code, document = check(project, "--database", str(project.database))

    assert code == 1
    found = states(document)
    assert "restore it" in found[(f"database/migrations/{USERS}", "changed")]
    assert "run kitgen migrate" in found[("database/migrations/2026_01_01_000003_create_tags_table", "pending")]


def test_a_migration_that_fails_to_replay_is_an_error_naming_it(project: Project) -> None:
    migrated(project)
    project.sql("2026_01_01_000003_broken", "INSERT INTO nowhere VALUES (1);")

    result = project.run("check")

    assert_one_error(result, "2026_01_01_000003_broken", "no such table: nowhere", code=2)


def test_clean_check_loads_no_renderer(project: Project) -> None:
    migrated(project)
    script = (
        "import sys\nfrom kitgen.entry import main\nsys.argv = ['kitgen', 'check']\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    assert not exit.code, exit.code\n"
        "print(sorted(m for m in ('libcst', 'datamodel_code_generator', 'pydantic') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=project.root, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


# --- the real pre-commit framework ----------------------------------------------------------


def git(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True)


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (REPOSITORY / ".git").exists() or shutil.which("git") is None:
        pytest.skip("needs this repository as a git checkout")
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.mark.slow
def test_pre_commit_hook_rejects_edited_and_stale_entities(project: Project, pre_commit_home: Path) -> None:
    migrated(project)
    (project.root / ".gitignore").write_text("/database/database.sqlite*\n")
    revision = git(REPOSITORY, "rev-parse", "HEAD").stdout.strip()
    (project.root / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {REPOSITORY}\n    rev: {revision}\n    hooks:\n      - id: kitgen-check\n"
    )
    environ = {
        **os.environ,
        "PRE_COMMIT_HOME": str(pre_commit_home),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    environ = {key: value for key, value in environ.items() if not key.startswith("KITGEN_")}
    pre_commit = str(Path(sys.executable).parent / "pre-commit")

    def commit(message: str) -> subprocess.CompletedProcess[str]:
        subprocess.run(["git", "add", "-A"], cwd=project.root, check=True, env=environ)
        return subprocess.run(
            ["git", "commit", "-m", message], cwd=project.root, capture_output=True, text=True, env=environ
        )

    subprocess.run(["git", "init", "-q"], cwd=project.root, check=True)
    subprocess.run([pre_commit, "install"], cwd=project.root, check=True, capture_output=True, env=environ)

    clean = commit("a clean project")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "kitgen check" in clean.stderr + clean.stdout and "Passed" in clean.stderr + clean.stdout

    user = project.entities / "user.py"
    original = user.read_text()
    user.write_text(original + "# a hand edit\n")
    edited = commit("edit generated code")
    assert edited.returncode != 0
    assert "app/entities/user.py: edited" in edited.stdout + edited.stderr
    user.write_text(original)

    project.sql("2026_01_01_000003_add_name_to_users", "ALTER TABLE users ADD COLUMN name TEXT;")
    stale = commit("a migration without its entities")
    assert stale.returncode != 0
    assert "app/entities/user.py: stale" in stale.stdout + stale.stderr

    assert project.run("migrate").returncode == 0
    regenerated = commit("the migration with its entities")
    assert regenerated.returncode == 0, regenerated.stdout + regenerated.stderr


# --- the model type is the project's --------------------------------------------------------------


def set_model_type(project: Project, model_type: str) -> None:
    pyproject = project.root / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8").split("\n[tool.kitgen]\n")[0]
    pyproject.write_text(f'{text}\n[tool.kitgen]\nmodel_type = "{model_type}"\n', encoding="utf-8")


def test_entities_generated_with_another_model_type_are_named_as_such(project: Project) -> None:
    migrated(project)

    result = project.run("generate", "--model-type", "dataclass")

    assert result.returncode == 0, result.stderr
    assert "Warning: post.py, user.py were generated as pydantic, now as dataclass (--model-type)" in result.stderr
    code, document = check(project)
    assert code == 1
    expected = (
        "generated as dataclass, the project uses pydantic (the default); run kitgen generate to write it as "
        'pydantic, or set model_type = "dataclass" in [tool.kitgen] to keep dataclass'
    )
    assert states(document) == {
        ("app/entities/__init__.py", "ok"): "",
        ("app/entities/_kitgen.py", "ok"): "",
        ("app/entities/post.py", "stale"): expected,
        ("app/entities/user.py", "stale"): expected,
    }
    text = project.run("check").stdout
    assert f"app/entities/user.py: stale — {expected}\n" in text
    assert "schema changed" not in text


def test_changing_the_model_type_is_a_config_edit_and_one_generate(project: Project) -> None:
    migrated(project)
    set_model_type(project, "dataclass")

    code, document = check(project)
    assert code == 1
    assert states(document)[("app/entities/user.py", "stale")].startswith(
        "generated as pydantic, the project uses dataclass (model_type in [tool.kitgen]);"
    )
    result = project.run("generate")
    assert result.returncode == 0, result.stderr
    assert "generated as pydantic, now as dataclass (model_type in [tool.kitgen])" in result.stderr

    assert check(project)[0] == 0
    assert "@dataclass" in (project.entities / "user.py").read_text(encoding="utf-8")
    assert "Nothing to migrate." in project.run("migrate").stdout
    assert "@dataclass" in (project.entities / "user.py").read_text(encoding="utf-8")


def test_a_one_off_model_type_is_undone_by_the_next_migrate_out_loud(project: Project) -> None:
    migrated(project)
    assert project.run("generate", "--model-type", "msgspec").returncode == 0
    project.create_table("2026_01_01_000003_create_tags_table", "tags", "id INTEGER PRIMARY KEY")

    result = project.run("migrate")

    assert result.returncode == 0, result.stderr
    assert "Warning: post.py, user.py were generated as msgspec, now as pydantic (the default)" in result.stderr
    assert check(project)[0] == 0


def test_a_changed_schema_is_reported_as_such_whatever_the_model_type(project: Project) -> None:
    migrated(project)
    assert project.run("generate", "--model-type", "dataclass").returncode == 0
    project.create_table("2026_01_01_000003_add_x", "extra", "id INTEGER PRIMARY KEY")
    project.sql("2026_01_01_000004_add_bio", "ALTER TABLE users ADD COLUMN bio TEXT;")

    _, document = check(project)

    assert states(document)[("app/entities/user.py", "stale")] == (
        "the schema changed since it was generated; run kitgen generate"
    )
    assert states(document)[("app/entities/post.py", "stale")].startswith("generated as dataclass")


def test_without_a_reachable_server_edited_files_are_reported_and_staleness_is_not_guessed(project: Project) -> None:
    migrated(project)
    user = project.entities / "user.py"
    user.write_text(user.read_text() + "\ndef helper() -> int:\n    return 1\n")
    (project.migrations / f"{POSTS}.sql").write_text(
        "-- migrate:up\nCREATE TABLE posts (id INTEGER PRIMARY KEY, body TEXT);\n"
    )

    result = project.run("check", "--database", "postgresql://app:hunter2@127.0.0.1:1/shop")

    assert "app/entities/user.py: edited — generated code was changed by hand" in result.stdout
    assert "post.py" not in result.stdout  # stale or not: only the replay on a server can tell
    assert_one_error(result, "could not check whether the entities are stale", "app@127.0.0.1:1/shop", code=2)
    assert "hunter2" not in result.stdout + result.stderr
