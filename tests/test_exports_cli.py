"""The entities ``__init__.py`` through the real ``kitgen`` script: ``generate`` and ``check`` agree on it
whatever shape the user gave it, the user's lines survive byte for byte, and what kitgen writes is
what ``ruff format`` and ``black`` would write.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import Project

USERS = "2026_01_01_000001_create_users_table"
POSTS = "2026_01_01_000002_create_posts_table"
LONG_TABLE = "quarterly_compliance_review_entries_for_regional_offices"
LONG = "2026_01_01_000003_create_long_table"
BIN = Path(sys.executable).parent
HELPERS = 'HELPERS = ["slug"]\n\n\ndef slug(text: str) -> str:\n    return text.lower()\n'


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    return result


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def init_text(project: Project) -> str:
    return (project.entities / "__init__.py").read_text(encoding="utf-8")


def init_state(project: Project) -> str:
    """What ``kitgen check`` says about __init__.py."""
    result = project.run("check", "--format", "json")
    document = json.loads(result.stdout)
    [state] = [entry["state"] for entry in document["entries"] if entry["file"].endswith("__init__.py")]
    return str(state)


def generate_writes_init(project: Project) -> bool:
    result = ok(project.run("generate"))
    return "Wrote app/entities/__init__.py" in result.stdout


def public_names(project: Project) -> list[str]:
    code = "import app.entities as e; print(sorted(e.__all__)); [getattr(e, name) for name in e.__all__]"
    environ = {key: value for key, value in os.environ.items() if not key.startswith("KITGEN_")}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=project.root, env=environ, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout.replace("'", '"')))


# --- five shapes of a user-written __init__.py ----------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """A user's __init__.py exporting User, and the same file once kitgen added Post."""

    before: str
    after: str
    names: tuple[str, ...]  # __all__ at run time, with Post


SHAPES = {
    "sum of lists": Shape(
        dedent(
            '''
            """My entities, and helpers of mine."""

            from .helpers import HELPERS, slug  # helpers of mine
            from .user import User

            # HELPERS first, then the entities
            __all__ = HELPERS + ["User"]
            '''
        ),
        dedent(
            '''
            """My entities, and helpers of mine."""

            from .helpers import HELPERS, slug  # helpers of mine
            from .post import Post
            from .user import User

            # HELPERS first, then the entities
            __all__ = HELPERS + [
                "Post",
                "User",
            ]
            '''
        ),
        ("Post", "User", "slug"),
    ),
    "starred list": Shape(
        dedent(
            """
            from . import helpers
            from .user import User

            BASE = ["helpers"]
            __all__ = [*BASE, "User"]
            """
        ),
        dedent(
            """
            from . import helpers
            from .post import Post
            from .user import User

            BASE = ["helpers"]
            __all__ = [
                *BASE,
                "Post",
                "User",
            ]
            """
        ),
        ("Post", "User", "helpers"),
    ),
    "tuple": Shape(
        dedent(
            '''
            """Entities."""

            from .user import User

            __all__ = ("User",)


            def describe(user: User) -> str:
                return f"User {user.id}"
            '''
        ),
        dedent(
            '''
            """Entities."""

            from .post import Post
            from .user import User

            __all__ = (
                "Post",
                "User",
            )


            def describe(user: User) -> str:
                return f"User {user.id}"
            '''
        ),
        ("Post", "User"),
    ),
    "augmented": Shape(
        dedent(
            """
            from .helpers import slug
            from .user import User

            __all__ = ["slug"]
            __all__ += ["User"]  # the entities
            """
        ),
        dedent(
            """
            from .helpers import slug
            from .post import Post
            from .user import User

            __all__ = ["slug"]
            __all__ += [
                "Post",
                "User",
            ]  # the entities
            """
        ),
        ("Post", "User", "slug"),
    ),
    "type checking block": Shape(
        dedent(
            '''
            """Entities, with imports only type checkers see."""

            from __future__ import annotations

            import os
            from typing import TYPE_CHECKING

            from .user import User

            if TYPE_CHECKING:
                from collections.abc import Sequence

                from .helpers import slug

            DEBUG = os.environ.get("DEBUG") == "1"


            def names(users: Sequence[User]) -> list[str]:
                """A helper of mine."""
                return [str(user.id) for user in users]


            __all__ = [
                "User",
                "names",
            ]
            # the end
            '''
        ),
        dedent(
            '''
            """Entities, with imports only type checkers see."""

            from __future__ import annotations

            import os
            from typing import TYPE_CHECKING

            from .post import Post
            from .user import User

            if TYPE_CHECKING:
                from collections.abc import Sequence

                from .helpers import slug

            DEBUG = os.environ.get("DEBUG") == "1"


            def names(users: Sequence[User]) -> list[str]:
                """A helper of mine."""
                return [str(user.id) for user in users]


            __all__ = [
                "Post",
                "User",
                "names",
            ]
            # the end
            '''
        ),
        ("Post", "User", "names"),
    ),
    "a call, then +=": Shape(
        dedent(
            """
            from .helpers import HELPERS, slug
            from .user import User

            __all__ = list(HELPERS)
            __all__ += ["User"]
            """
        ),
        dedent(
            """
            from .helpers import HELPERS, slug
            from .post import Post
            from .user import User

            __all__ = list(HELPERS)
            __all__ += [
                "Post",
                "User",
            ]
            """
        ),
        ("Post", "User", "slug"),
    ),
}


def users_project(project: Project, init: str) -> Project:
    project.create_table(USERS, "users", "id INTEGER PRIMARY KEY, name TEXT NOT NULL")
    ok(project.run("migrate", "--no-generate"))
    (project.entities / "helpers.py").write_text(HELPERS, encoding="utf-8")
    (project.entities / "__init__.py").write_text(init, encoding="utf-8")
    return project


@pytest.mark.parametrize("shape", list(SHAPES.values()), ids=list(SHAPES))
def test_generate_and_check_agree_on_a_users_init_and_keep_its_lines(project: Project, shape: Shape) -> None:
    users_project(project, shape.before)

    assert not generate_writes_init(project)  # the file exports User already: generate leaves it
    assert init_text(project) == shape.before
    assert init_state(project) == "ok"
    assert ok(project.run("check")).returncode == 0

    project.create_table(POSTS, "posts", "id INTEGER PRIMARY KEY, title TEXT")
    ok(project.run("migrate", "--no-generate"))
    assert init_state(project) == "stale"  # check says stale, and generate acts on it
    assert generate_writes_init(project)

    assert init_text(project) == shape.after
    assert init_state(project) == "ok"
    assert not generate_writes_init(project)
    assert ok(project.run("check")).returncode == 0
    assert public_names(project) == sorted(shape.names)

    ok(project.run("migrate:rollback", "--force"))  # and back: Post goes, the user's lines stay
    (project.migrations / f"{POSTS}.sql").unlink()
    assert init_state(project) == "ok"
    assert "Post" not in public_names(project)
    assert ok(project.run("check")).returncode == 0


@pytest.mark.parametrize("shape", list(SHAPES.values()), ids=list(SHAPES))
def test_a_formatted_users_init_stays_formatted(project: Project, shape: Shape) -> None:
    users_project(project, shape.before)
    project.create_table(POSTS, "posts", "id INTEGER PRIMARY KEY, title TEXT")
    project.create_table(LONG, LONG_TABLE, "id INTEGER PRIMARY KEY")
    assert formatters_accept(project.root, shape.before) == []

    ok(project.run("migrate"))

    assert formatters_accept(project.root, init_text(project)) == []


def test_a_dropped_tables_export_goes_from_a_sum_of_lists(project: Project) -> None:
    shape = SHAPES["sum of lists"]
    users_project(project, shape.before)
    project.create_table(POSTS, "posts", "id INTEGER PRIMARY KEY, title TEXT")
    ok(project.run("migrate"))

    ok(project.run("migrate:rollback", "--force"))
    (project.migrations / f"{POSTS}.sql").unlink()

    assert init_text(project) == shape.after.replace("from .post import Post\n", "").replace('    "Post",\n', "")
    assert init_state(project) == "ok"


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("HELPERS + []", '__all__ = HELPERS + [\n    "User",\n]\n'),
        ("list(HELPERS)", '__all__ = list(HELPERS)\n__all__ += [\n    "User",\n]\n'),
    ],
)
def test_check_and_generate_agree_when_an_entity_is_missing_from_an_expression(
    project: Project, value: str, written: str
) -> None:
    """The pre-commit hook that could never pass: __all__ an expression without an entity's name."""
    users_project(project, f"from .helpers import HELPERS\nfrom .user import User\n\n__all__ = {value}\n")

    assert init_state(project) == "stale"
    assert generate_writes_init(project)
    assert init_state(project) == "ok"
    assert not generate_writes_init(project)
    assert init_text(project) == f"from .helpers import HELPERS\nfrom .user import User\n\n{written}"


# --- formatter-proof ------------------------------------------------------------------------------


def formatters_accept(folder: Path, text: str) -> list[str]:
    """What ``ruff format`` and ``black`` (default settings) would change in ``text``: nothing, or their names."""
    scratch = folder / "formatting"
    scratch.mkdir(exist_ok=True)
    path = scratch / "__init__.py"
    path.write_text(text, encoding="utf-8")
    commands = {
        "ruff format": [str(BIN / "ruff"), "format", "--isolated", "--check", str(path)],
        "black": [str(BIN / "black"), "--check", "--quiet", str(path)],
    }
    return [name for name, command in commands.items() if subprocess.run(command, cwd=scratch).returncode != 0]


def test_the_init_kitgen_writes_is_left_as_it_is_by_ruff_and_black(project: Project) -> None:
    project.create_table(USERS, "users", "id INTEGER PRIMARY KEY")
    project.create_table(POSTS, "posts", "id INTEGER PRIMARY KEY")
    project.create_table(LONG, LONG_TABLE, "id INTEGER PRIMARY KEY")
    (project.entities / "__init__.py").unlink()

    ok(project.run("migrate"))

    text = init_text(project)
    assert max(len(line) for line in text.splitlines()) <= 88
    assert "from .quarterly_compliance_review_entries_for_regional_office import (\n" in text
    assert formatters_accept(project.root, text) == []
    lint = subprocess.run(
        [str(BIN / "ruff"), "check", "--isolated", "--no-cache", str(project.entities / "__init__.py")],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout
    assert init_state(project) == "ok"


def test_an_init_reformatted_by_a_formatter_is_still_current(project: Project) -> None:
    project.create_table(USERS, "users", "id INTEGER PRIMARY KEY")
    project.create_table(LONG, LONG_TABLE, "id INTEGER PRIMARY KEY")
    ok(project.run("migrate"))
    path = project.entities / "__init__.py"
    before = path.read_text(encoding="utf-8")
    black = [str(BIN / "black"), "--quiet", "--line-length", "120", "--skip-magic-trailing-comma", str(path)]
    subprocess.run(black, check=True)
    assert path.read_text(encoding="utf-8") != before  # one line each: the long import, __all__
    path.write_text(before, encoding="utf-8")
    assert init_state(project) == "ok"
    ruff = [str(BIN / "ruff"), "format", "--isolated", "--line-length", "120", str(path)]
    subprocess.run([*ruff, "--config", "format.skip-magic-trailing-comma = true"], check=True)
    assert path.read_text(encoding="utf-8") != before

    assert init_state(project) == "ok"
    assert not generate_writes_init(project)


@pytest.mark.parametrize("count", [1, 3])
def test_every_number_of_entities_gives_a_formatted_init(project: Project, count: int) -> None:
    for number in range(count):
        project.create_table(f"2026_01_01_00000{number}_t{number}", f"things_{number}", "id INTEGER PRIMARY KEY")
    (project.entities / "__init__.py").unlink()
    ok(project.run("migrate"))

    assert formatters_accept(project.root, init_text(project)) == []
