"""`kitgen migrate` with nothing to do: 200 applied migrations, beside `python -c pass`.

When alembic is installed (``make bench`` installs it), the same 200 revisions are also
measured with ``alembic upgrade head``.
"""

from __future__ import annotations

import compileall
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from harness import KITGEN, Timing, new_project, print_table, time_command

COUNT = 200


def build_kitgen_project(root: Path) -> None:
    migrations = new_project(root)
    for index in range(COUNT):
        name = f"2026_01_01_{index:06d}_create_table_{index}"
        if index % 2:
            (migrations / f"{name}.sql").write_text(
                f"-- migrate:up\nCREATE TABLE t{index} (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n\n"
                f"-- migrate:down\nDROP TABLE t{index};\n"
            )
        else:
            (migrations / f"{name}.py").write_text(
                "from kitgen import Database, Migration\n\n\n"
                f"class CreateTable{index}(Migration):\n"
                "    def up(self, db: Database) -> None:\n"
                f'        db.execute("CREATE TABLE t{index} (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")\n\n'
                "    def down(self, db: Database) -> None:\n"
                f'        db.execute("DROP TABLE t{index}")\n'
            )
    subprocess.run([KITGEN, "migrate"], cwd=root, check=True, capture_output=True)


def sqlite_table(index: int) -> str:
    return f"CREATE TABLE t{index} (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"


def alembic_skeleton(root: Path, url: str = "sqlite:///bench.sqlite") -> Path:
    """An alembic project on ``url`` (SQLAlchemy's form) without revisions; returns its versions folder."""
    versions = root / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text(f"[alembic]\nscript_location = .\nsqlalchemy.url = {url}\n")
    (root / "env.py").write_text(
        "from alembic import context\nfrom sqlalchemy import engine_from_config, pool\n\n"
        "config = context.config\n"
        "engine = engine_from_config(config.get_section(config.config_ini_section), prefix='sqlalchemy.',"
        " poolclass=pool.NullPool)\n"
        "with engine.connect() as connection:\n"
        "    context.configure(connection=connection, target_metadata=None)\n"
        "    with context.begin_transaction():\n"
        "        context.run_migrations()\n"
    )
    (root / "script.py.mako").write_text("")
    return versions


def build_alembic_project(
    root: Path,
    count: int = COUNT,
    *,
    upgrade: bool = True,
    url: str = "sqlite:///bench.sqlite",
    create_table: Callable[[int], str] = sqlite_table,
) -> None:
    """A linear chain of ``count`` revisions, table ``t<index>`` each; upgraded to head when asked.

    The project is byte-compiled, as alembic's own first run leaves it without PYTHONDONTWRITEBYTECODE.
    """
    versions = alembic_skeleton(root, url)
    previous = None
    for index in range(count):
        revision = f"r{index:04d}"
        (versions / f"{revision}_create_table_{index}.py").write_text(
            "from alembic import op\n\n"
            f"revision = {revision!r}\ndown_revision = {previous!r}\nbranch_labels = None\ndepends_on = None\n\n\n"
            "def upgrade() -> None:\n"
            f"    op.execute({create_table(index)!r})\n\n\n"
            "def downgrade() -> None:\n"
            f'    op.execute("DROP TABLE t{index}")\n'
        )
        previous = revision
    compileall.compile_dir(str(root), quiet=1)
    if upgrade:
        subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=root, check=True, capture_output=True)


def alembic_available() -> bool:
    try:
        import alembic  # noqa: F401
    except ImportError:
        return False
    return True


def main(runs: int = 20) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        build_kitgen_project(root / "kitgen")
        python = time_command("python -c pass", [sys.executable, "-c", "pass"], cwd=root, runs=runs)
        kitgen = time_command(
            f"kitgen migrate, {COUNT} applied + entities", [KITGEN, "migrate"], cwd=root / "kitgen", runs=runs
        )
        rows: list[tuple[Timing, Timing | None, str]] = [(python, None, ""), (kitgen, python, "≤ 4x python")]
        if alembic_available():
            build_alembic_project(root / "alembic")
            alembic = time_command(
                f"alembic upgrade head, {COUNT} applied",
                [sys.executable, "-m", "alembic", "upgrade", "head"],
                cwd=root / "alembic",
                runs=max(5, runs // 4),
            )
            rows += [(alembic, python, ""), (kitgen, alembic, "≤ 0.2x alembic")]
        print_table(f"No-op migrate ({runs} runs each)", rows)


if __name__ == "__main__":
    main()
