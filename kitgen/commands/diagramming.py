"""``kitgen schema:diagram``: the schema as a Mermaid or Graphviz diagram, printed or written to a file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kitgen.codegen import files
from kitgen.commands.checking import replay_schema
from kitgen.commands.session import connected
from kitgen.config import Config
from kitgen.driver import may_exist
from kitgen.errors import KitgenError, UsageError
from kitgen.schema.diagram import RENDERERS
from kitgen.schema.introspect import introspect_schema
from kitgen.schema.model import Schema

DOT_SUFFIXES = (".dot", ".gv")
FROM_DATABASE = "database"
FROM_MIGRATIONS = "migrations"


@dataclass(frozen=True)
class DiagramResult:
    """The diagram's text, what it was drawn from, and what became of ``--output``."""

    text: str
    format: str  # "mermaid" or "dot"
    source: str  # FROM_DATABASE or FROM_MIGRATIONS
    output: Path | None = None
    written: bool = False  # False with an output: the file already held this text


def diagram(config: Config, *, format: str | None = None, output: Path | None = None) -> DiagramResult:
    """Draw the schema; with ``output``, write it there unless the file already holds it.

    The schema is the configured database's when migrations were applied to it (read only), else the
    one the migrations build, replayed in a scratch database (a fresh clone, CI, a server database
    created but not migrated yet).
    """
    chosen = diagram_format(format, output)
    schema, source = diagram_schema(config)
    if not schema.tables:
        raise _nothing_to_draw(config, source)
    text = RENDERERS[chosen](schema)
    if output is None:
        return DiagramResult(text, chosen, source)
    try:
        written = files.write_if_changed(output, text, hint="create the folder, or pass another --output")
    except OSError as exc:
        raise KitgenError(f"cannot write {output}: {exc.strerror}", "pass another --output") from exc
    return DiagramResult(text, chosen, source, output, written=written)


def diagram_format(requested: str | None, output: Path | None) -> str:
    """The format asked for; else ``dot`` for an output named ``.dot`` or ``.gv``; else ``mermaid``."""
    if requested is None:
        return "dot" if output is not None and output.suffix.lower() in DOT_SUFFIXES else "mermaid"
    if requested not in RENDERERS:
        raise UsageError(f"unknown diagram format {requested!r}", f"use one of {', '.join(sorted(RENDERERS))}")
    return requested


def diagram_schema(config: Config) -> tuple[Schema, str]:
    """The configured database's schema when it exists and has migrations applied, else the migrations'."""
    if may_exist(config.database):
        with connected(config, readonly=True) as driver:
            if driver.exists and driver.applied_migrations():
                return introspect_schema(driver, config.types), FROM_DATABASE
    return replay_schema(config), FROM_MIGRATIONS


def _nothing_to_draw(config: Config, source: str) -> KitgenError:
    if source == FROM_DATABASE:
        return KitgenError(
            f"the database {config.display(config.database)} has no tables or views to draw",
            "add a migration that creates one (kitgen make:migration create_users_table), then run kitgen migrate",
        )
    return KitgenError(
        f"the migrations in {config.display(config.migrations)} create no tables or views to draw",
        "create one with kitgen make:migration create_users_table",
    )
