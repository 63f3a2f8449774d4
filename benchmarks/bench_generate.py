"""Full generation of 200 tables of ~15 columns, beside sqlacodegen and datamodel-codegen's CLI;
then one changed table in that project (files written, time)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import BIN, KITGEN, Timing, print_table, time_command
from schema200 import TABLES, build_project, equivalent_json_schema


def clear_entities(root: Path) -> None:
    entities = root / "app" / "entities"
    for path in entities.glob("*.py"):
        if path.name != "__init__.py":
            path.unlink()
    (entities / "__init__.py").write_text('"""Entities."""\n')


def change_one_table(root: Path) -> None:
    """Add a column to one table; count the entity files written and time the run."""
    entities = root / "app" / "entities"
    before = {path.name: path.stat().st_mtime_ns for path in entities.glob("*.py")}
    (root / "database" / "migrations" / "2026_02_01_000000_add_extra_to_table_7s.sql").write_text(
        "-- migrate:up\nALTER TABLE table_7s ADD COLUMN extra TEXT;\n\n-- migrate:down\n"
        "ALTER TABLE table_7s DROP COLUMN extra;\n"
    )
    time.sleep(0.01)
    started = time.perf_counter()
    subprocess.run([KITGEN, "migrate"], cwd=root, check=True, capture_output=True)
    elapsed = time.perf_counter() - started
    written = [path.name for path in entities.glob("*.py") if path.stat().st_mtime_ns != before.get(path.name)]
    print(
        f"\nChange one table of {TABLES}: `kitgen migrate` took {elapsed * 1000:.0f} ms and wrote "
        f"{len(written)} entity file(s): {', '.join(sorted(written))} (goal: 1 file)"
    )


def main(runs: int = 5) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "kitgen"
        database = build_project(root)
        kitgen = time_command(
            f"kitgen generate, {TABLES} tables from scratch",
            [KITGEN, "generate"],
            cwd=root,
            runs=runs,
            warmup=1,
            prepare=lambda: clear_entities(root),
        )
        rows: list[tuple[Timing, Timing | None, str]] = [(kitgen, None, "")]
        if shutil.which("sqlacodegen", path=str(BIN)):
            out = Path(folder) / "models.py"
            sqlacodegen = time_command(
                "sqlacodegen (most of it: importing inflect)",
                [str(BIN / "sqlacodegen"), f"sqlite:///{database}", "--outfile", str(out)],
                cwd=Path(folder),
                runs=runs,
                warmup=1,
            )
            rows += [(sqlacodegen, None, ""), (kitgen, sqlacodegen, "≤ 0.5x sqlacodegen")]
        schema = Path(folder) / "schema.json"
        equivalent_json_schema(schema)
        dmcg = time_command(
            "datamodel-codegen --formatters builtin",
            [
                str(BIN / "datamodel-codegen"),
                "--input",
                str(schema),
                "--input-file-type",
                "jsonschema",
                "--output",
                str(Path(folder) / "dm.py"),
                "--formatters",
                "builtin",
                "--output-model-type",
                "pydantic_v2.BaseModel",
                "--disable-timestamp",
            ],
            cwd=Path(folder),
            runs=runs,
            warmup=1,
        )
        rows += [(dmcg, None, ""), (kitgen, dmcg, "≤ 1.0x datamodel-codegen")]
        print_table(f"Full entity generation, {TABLES} tables x 15 columns ({runs} runs each)", rows)
        check_python = time_command("python -c pass", [sys.executable, "-c", "pass"], cwd=root, runs=20)
        check = time_command(f"kitgen check, {TABLES} tables, clean", [KITGEN, "check"], cwd=root, runs=10)
        print_table("Clean check (no database)", [(check_python, None, ""), (check, check_python, "≤ 25x python")])
        change_one_table(root)


if __name__ == "__main__":
    main()
