"""The command line: parse options, call a command function, show its result, map errors to exit codes.

This module and ``kitgen.output`` (how results are shown) are the only places that print or exit.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from kitgen import __version__, commands, interrupts
from kitgen.codegen.files import EntitiesFolderError
from kitgen.commands import Confirm
from kitgen.config import Config, load_config
from kitgen.errors import DatabaseError, KitgenError, MigrationInterrupted, UsageError
from kitgen.output import (
    ENTITIES_KEPT,
    LiveProgress,
    check_entries,
    echo,
    fail,
    interrupted,
    print_check,
    print_diagram,
    print_entities,
    print_event,
    print_loaded,
    print_pretend,
    print_ran,
    print_rebuild,
    print_status,
    report_wait,
    reporting_partial,
    status_document,
    warn,
)

F = TypeVar("F", bound=Callable[..., Any])
SHOW_TRACEBACK = {"on": False}


def project_options(function: F) -> F:
    """--database, --migrations, --entities, --model-type and --lock-timeout, shared by every command."""
    options = [
        click.option("--database", help="SQLite file, or a URL: sqlite:///path, postgresql://user@host/db."),
        click.option("--migrations", type=click.Path(path_type=Path), help="Migrations folder."),
        click.option("--entities", type=click.Path(path_type=Path), help="Entities folder (a Python package)."),
        click.option("--model-type", help="pydantic (default), dataclass or msgspec."),
        click.option("--lock-timeout", type=click.FloatRange(min=0), help="Seconds to wait for a lock (30)."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def force_option(function: F) -> F:
    return click.option("--force", is_flag=True, help="Do not ask for confirmation.")(function)


def config_from(**options: object) -> Config:
    return load_config(options=options)


def terminal_confirm() -> Confirm | None:
    """A yes/no question on the terminal, or None when there is no terminal to ask."""
    if not sys.stdin.isatty():
        return None
    return lambda question: click.confirm(question, default=False, err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="kitgen")
@click.option("--traceback", is_flag=True, help="Show the Python traceback of an error.")
def cli(traceback: bool) -> None:
    """Migrations for SQLite and PostgreSQL, and typed entities that always match the schema."""
    SHOW_TRACEBACK["on"] = traceback


@cli.command("init")
@click.option(
    "--from-database",
    "from_database",
    is_flag=True,
    help="Adopt the existing --database: its schema becomes the first migration, recorded as applied there.",
)
@project_options
def init_command(from_database: bool, **project: Any) -> None:
    """Create the project's folders, packages and .gitignore line (never overwrites)."""
    config = load_config(options=project, new_project=True)
    if from_database:
        from kitgen.commands.adopting import adopt_database

        adopted = adopt_database(config, on_wait=report_wait)
        print_created(config, adopted.init)
        schema = f"the schema of {config.database}, tables and views: {len(adopted.relations)}"
        echo(f"Wrote {config.display(adopted.migration)} ({schema})")
        echo(f"Recorded it as applied on {config.database}, without running it")
        print_entities(config, adopted.entities, quiet=False, code=ENTITIES_KEPT)
        return
    result = commands.init_project(config)
    print_created(config, result)
    if not result.created:
        echo("Nothing to create: the project is already set up.")


def print_created(config: Config, result: commands.InitResult) -> None:
    echo(f"Project root: {config.root}")
    for created in result.created:
        echo(f"Created {created}")


@cli.command("make:migration")
@click.argument("name")
@click.option("--model", help="Entity class name for the table it creates, e.g. User.")
@click.option("--sql", is_flag=True, help="Write a .sql migration instead of a .py one.")
@project_options
def make_migration_command(name: str, model: str | None, sql: bool, **project: Any) -> None:
    """Create a migration file NAME (e.g. create_users_table, add_bio_to_users)."""
    config = config_from(**project)
    path = commands.make_migration(config, name, model=model, sql=sql)
    echo(f"Created {config.display(path)}")


@contextmanager
def terminated_cleanly() -> Iterator[None]:
    """SIGTERM ends the block like Ctrl-C, so that temporary files (a pretend's copy) are removed."""
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def pretend_option(function: F) -> F:
    return click.option(
        "--pretend", is_flag=True, help="Run on a copy of the database; print the statements and entity diffs."
    )(function)


@contextmanager
def changing_database(config: Config) -> Iterator[LiveProgress]:
    """Around a command that runs migrations: each shown as it runs, Ctrl-C or SIGTERM stopping only the
    one in flight, and the entities of what completed shown if it stops."""
    with interrupts.interruptible(), reporting_partial(config):
        yield LiveProgress()


@cli.command("migrate")
@click.option("--step", is_flag=True, help="Give each migration its own batch.")
@click.option(
    "--allow-out-of-order",
    "out_of_order",
    is_flag=True,
    default=None,
    help="Apply pending migrations older than the newest applied one (a merged branch).",
)
@click.option(
    "--no-generate", "generate", flag_value=False, default=None, help="Apply migrations only; touch no entity."
)
@pretend_option
@project_options
def migrate_command(step: bool, pretend: bool, **project: Any) -> None:
    """Apply every pending migration."""
    config = config_from(**project)
    if pretend:
        from kitgen.commands.pretending import pretend_migrate

        with terminated_cleanly():
            print_pretend(config, "apply", pretend_migrate(config, step=step, on_wait=report_wait))
        return
    with changing_database(config) as progress:
        result = commands.migrate(config, step=step, on_wait=report_wait, progress=progress)
    for old, new in result.renamed:
        echo(f"Renamed {old} → {new} (same content)")
    for name in result.new_downs:
        echo(f"Recorded the new down of {name} (rollback runs it)")
    print_loaded(config, result.loaded)
    print_ran("Applied", result.applied, nothing="" if result.loaded else "Nothing to migrate.")
    for name in result.missing:
        warn(f"applied migration {name} has no file (restore it to be able to review it; rollback still works)")
    print_entities(config, result.entities, code=ENTITIES_KEPT)


@cli.command("migrate:resolve")
@click.argument("name")
@click.option("--applied", is_flag=True, help="Record NAME as applied, without running it.")
@click.option("--rolled-back", is_flag=True, help="Forget NAME's record, without running its down.")
@click.option("--accept-changes", is_flag=True, help="Record NAME's file as it is now as applied.")
@project_options
def resolve_command(name: str, applied: bool, rolled_back: bool, accept_changes: bool, **project: Any) -> None:
    """Change one migration's record only: nothing runs, no entity changes."""
    given = {"applied": applied, "rolled-back": rolled_back, "accept-changes": accept_changes}
    chosen = [action for action, on in given.items() if on]
    if len(chosen) != 1:
        flags = "--applied, --rolled-back or --accept-changes"
        if not chosen:
            raise UsageError(f"migrate:resolve needs one of {flags}", f"e.g. kitgen migrate:resolve {name} --applied")
        raise UsageError(
            f"migrate:resolve takes only one of {flags}, got {' and '.join('--' + a for a in chosen)}",
            f"pass the one that says what to record for {name}",
        )
    config = config_from(**project)
    result = commands.resolve(config, name, chosen[0], on_wait=report_wait)
    done = {
        "applied": f"Recorded {result.name} as applied in batch {result.batch}, without running it.",
        "rolled-back": f"Forgot {result.name} (batch {result.batch}), without running its down.",
        "accept-changes": f"Recorded the current content of {result.name} as applied, without running it.",
    }
    echo(done[result.action])


@cli.command("generate")
@click.option("--force", is_flag=True, help="Overwrite generated files that were edited by hand.")
@project_options
def generate_command(force: bool, **project: Any) -> None:
    """Write the entities for the database's tables and views."""
    config = config_from(**project)
    result = commands.generate(config, force=force, on_wait=report_wait)
    print_entities(config, result, quiet=False)


@cli.command("watch")
@click.option(
    "--debounce",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Milliseconds of quiet before acting on changes.",
)
@click.option("--redo", is_flag=True, help="Roll back and reapply an edited migration of the last batch.")
@project_options
def watch_command(debounce: int, redo: bool, **project: Any) -> None:
    """Migrate and regenerate entities whenever migration files change (Ctrl-C to stop)."""
    from kitgen import watch

    config = config_from(**project)
    if redo and config.destructive_prohibited:
        commands.authorize(config, "watch --redo", force=True, confirm=None, question="")
    watch.check_folders(config)
    first = watch.first_run(config)
    if isinstance(first.error, (DatabaseError, EntitiesFolderError)):
        raise first.error  # nothing to watch for until the setup is fixed
    print_event(config, first, first=True)
    for event in watch.watch_project(config, debounce_ms=debounce, redo=redo, first=first):
        print_event(config, event)
        if event.ready:
            echo(f"Watching {config.display(config.migrations)} and {config.display(config.entities)}…")
    echo("Stopped watching.")


@cli.command("migrate:status")
@click.option("--exit-code", is_flag=True, help="Exit 1 when anything is pending, changed or missing.")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@project_options
def status_command(exit_code: bool, output: str, **project: Any) -> None:
    """Show every migration and its state."""
    config = config_from(**project)
    result = commands.status(config)
    if output == "json":
        import json

        echo(json.dumps(status_document(config, result), indent=2))
    else:
        print_status(config, result.migrations)
    if exit_code and not result.clean:
        sys.exit(1)


@cli.command("check")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--diff", is_flag=True, help="Show what kitgen would write for each stale or edited file.")
@project_options
def check_command(output: str, diff: bool, **project: Any) -> None:
    """Check the entities against the migrations, without a database (exit 1 on any problem)."""
    try:
        config = config_from(**project)
        with terminated_cleanly():  # a scratch database on a server is dropped whatever ends the check
            result = commands.check(config, diff=diff, with_database=project.get("database") is not None)
    except KitgenError as exc:
        exc.exit_code = 2  # the check itself could not run
        raise
    entries = check_entries(config, result)
    if output == "json":
        import json

        summary = {
            state: sum(1 for e in entries if e["state"] == state) for state in sorted({e["state"] for e in entries})
        }
        echo(json.dumps({"clean": result.clean, "entries": entries, "summary": summary}, indent=2))
    else:
        print_check(entries)
    if result.unverified is not None:  # edited files are listed above; staleness needs the server
        unverified = result.unverified
        unverified.what = f"could not check whether the entities are stale: {unverified.what}"
        unverified.exit_code = 2
        raise unverified
    if not result.clean:
        sys.exit(1)


@cli.command("migrate:rollback")
@click.option("--step", "steps", type=int, help="Roll back the last N migrations instead of the last batch.")
@force_option
@pretend_option
@project_options
def rollback_command(steps: int | None, force: bool, pretend: bool, **project: Any) -> None:
    """Roll back the last batch of migrations."""
    config = config_from(**project)
    if pretend:
        from kitgen.commands.pretending import pretend_rollback

        with terminated_cleanly():
            pretended = pretend_rollback(config, steps=steps, on_wait=report_wait)
            print_pretend(config, "roll back", pretended)
        return
    with changing_database(config) as progress:
        result = commands.rollback(
            config, steps=steps, force=force, confirm=terminal_confirm(), on_wait=report_wait, progress=progress
        )
    print_ran("Rolled back", result.rolled_back, nothing="Nothing to roll back.")
    print_entities(config, result.entities, code=ENTITIES_KEPT)


@cli.command("migrate:reset")
@force_option
@project_options
def reset_command(force: bool, **project: Any) -> None:
    """Roll back every migration."""
    config = config_from(**project)
    with changing_database(config) as progress:
        result = commands.reset(config, force=force, confirm=terminal_confirm(), on_wait=report_wait, progress=progress)
    print_ran("Rolled back", result.rolled_back, nothing="Nothing to roll back.")
    print_entities(config, result.entities, code=ENTITIES_KEPT)


@cli.command("migrate:refresh")
@click.option("--step", is_flag=True, help="Give each migration its own batch.")
@force_option
@project_options
def refresh_command(step: bool, force: bool, **project: Any) -> None:
    """Roll back every migration, then migrate again."""
    config = config_from(**project)
    with changing_database(config) as progress:
        result = commands.refresh(
            config, step=step, force=force, confirm=terminal_confirm(), on_wait=report_wait, progress=progress
        )
    print_rebuild(config, result)
    print_entities(config, result.entities, code=ENTITIES_KEPT)


@cli.command("migrate:fresh")
@click.option("--step", is_flag=True, help="Give each migration its own batch.")
@force_option
@project_options
def fresh_command(step: bool, force: bool, **project: Any) -> None:
    """Drop every table, view, trigger and index, then migrate."""
    config = config_from(**project)
    with changing_database(config) as progress:
        result = commands.fresh(
            config, step=step, force=force, confirm=terminal_confirm(), on_wait=report_wait, progress=progress
        )
    print_rebuild(config, result)
    print_entities(config, result.entities, code=ENTITIES_KEPT)


@cli.command("schema:dump")
@click.option("--prune", is_flag=True, help="Then delete the migration files the dump contains (asks first).")
@force_option
@project_options
def dump_command(prune: bool, force: bool, **project: Any) -> None:
    """Write the database's schema and its applied migrations to database/schema.sql."""
    config = config_from(**project)
    result = commands.dump_schema(config, prune=prune, force=force, confirm=terminal_confirm(), on_wait=report_wait)
    count = f"{result.migrations} migration{'s' if result.migrations != 1 else ''}"
    where = config.display(result.path)
    echo(f"{'Wrote' if result.written else 'Unchanged:'} {where} ({count}).")
    if result.pending:
        listed = ", ".join(result.pending)
        warn(f"not in the dump, as they are not applied to {config.database}: {listed}")
    if result.pruned:
        echo(f"Deleted {len(result.pruned)} migration file{'s' if len(result.pruned) != 1 else ''} {where} contains.")


@cli.command("schema:diagram")
@click.option(
    "--format",
    "diagram_format",
    type=click.Choice(["mermaid", "dot"]),
    help="mermaid: a Markdown document with an erDiagram (the default); dot: Graphviz "
    "(the default for an --output ending .dot or .gv).",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the diagram to this file (left as it is when unchanged) instead of printing it.",
)
@project_options
def diagram_command(diagram_format: str | None, output: Path | None, **project: Any) -> None:
    """Draw the tables, views and foreign keys: from the database, or without one from the migrations."""
    from kitgen.commands.diagramming import diagram

    config = config_from(**project)
    with terminated_cleanly():  # a scratch database on a server is dropped whatever ends the replay
        result = diagram(config, format=diagram_format, output=output)
    print_diagram(config, result)


def usage_message(exc: click.UsageError) -> str:
    """Click's own usage errors as kitgen's: ``<what> — <how to fix>``, closest suggestion first."""
    possibilities = getattr(exc, "possibilities", None)  # NoSuchOption, NoSuchCommand: closest first
    # Click's message alone lacks what a missing or bad parameter is; its full form adds the suggestions.
    what = (exc.message if possibilities else exc.format_message()).rstrip(".")
    what = what[:1].lower() + what[1:]
    if possibilities:
        hint = f"did you mean {' or '.join(possibilities)}?"
    else:
        command = exc.ctx.command_path if exc.ctx is not None else "kitgen"
        hint = f"see {command} --help"
    return f"{what} — {hint}"


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; expected errors become one ``Error: …`` line and an exit code."""
    import traceback

    try:
        cli.main(args=argv, prog_name="kitgen", standalone_mode=False)
    except click.exceptions.Abort:
        fail("cancelled — nothing was changed", 1)
    except click.UsageError as exc:
        fail(usage_message(exc), exc.exit_code)
    except click.ClickException as exc:
        fail(exc.format_message(), exc.exit_code)
    except MigrationInterrupted as exc:
        if SHOW_TRACEBACK["on"]:
            traceback.print_exc()
        interrupted(exc)
    except KitgenError as exc:
        if SHOW_TRACEBACK["on"]:
            traceback.print_exc()
        fail(str(exc), exc.exit_code)
    except interrupts.Interrupted as exc:  # before, between or after the migrations, none in flight
        hint = "the migrations shown done above stay; kitgen migrate:status shows where the database is"
        interrupted(MigrationInterrupted("interrupted while no migration was running", hint, (), exc.signum))
    except KeyboardInterrupt:
        fail("interrupted — nothing was left half-done; kitgen migrate:status shows where the database is", 130)
    except Exception as exc:
        if SHOW_TRACEBACK["on"]:
            traceback.print_exc()
        fail(f"unexpected {type(exc).__name__}: {exc} — rerun with --traceback and report it", 1)
