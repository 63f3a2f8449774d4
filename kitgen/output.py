"""How the command line shows results: one line per thing done, errors as ``Error: <what> — <hint>``.

The printing half of the CLI (``kitgen.cli`` parses and dispatches): with it, the only code that
prints or exits.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import click

from kitgen import commands
from kitgen.codegen.generate import GenerateResult
from kitgen.commands import RebuildResult
from kitgen.commands.session import Loaded
from kitgen.config import Config
from kitgen.errors import ENTITIES_LEFT, KitgenError, MigrationFailed, MigrationInterrupted
from kitgen.migrations.history import MigrationState
from kitgen.migrations.runner import Ran

if TYPE_CHECKING:
    from kitgen.commands.diagramming import DiagramResult
    from kitgen.commands.pretending import PretendResult


def _color() -> bool | None:
    return False if os.environ.get("NO_COLOR") else None


def echo(message: str = "", *, err: bool = False, nl: bool = True) -> None:
    click.echo(message, err=err, nl=nl, color=_color())


def style(text: str, **styles: Any) -> str:
    return text if os.environ.get("NO_COLOR") else click.style(text, **styles)


def warn(message: str) -> None:
    echo(style("Warning: ", fg="yellow") + message, err=True)


def report_wait(holder: str) -> None:
    echo(style(f"Waiting for the migration lock, held by {holder}…", fg="yellow"), err=True)


def print_event(config: Config, event: Any, *, first: bool = False) -> None:
    """One line per event: what happened and how long it took; errors as the commands print them."""
    for path in event.edited:
        echo(
            style(f"{config.display(path)}: edited", fg="red") + " — generated code was changed by hand; it will "
            "not be overwritten (move the change out, or kitgen generate --force)",
            err=True,
        )
    if event.error is not None:
        if event.redone:  # rolled back, then the new version failed: say so
            echo(", ".join(f"rolled back {item.name}" for item in event.redone) + f", {event.milliseconds:.0f} ms")
        echo(style("Error: ", fg="red", bold=True) + str(event.error), err=True)
        for message in _generated_before_failing(event.error).warnings:
            warn(message)
        return
    if event.result is None:
        return
    parts = [f"rolled back {item.name}" for item in event.redone]
    parts += [f"renamed {old} → {new} (same content)" for old, new in event.result.renamed]
    parts += [f"recorded the new down of {name}" for name in event.result.new_downs]
    parts += [f"applied {item.name} ({item.milliseconds:.0f} ms)" for item in event.result.applied]
    parts += [f"wrote {path.name}" for path in event.result.entities.written]
    parts += [f"deleted {path.name}" for path in event.result.entities.deleted]
    if parts or first:
        echo(", ".join(parts or ["up to date"]) + f", {event.milliseconds:.0f} ms")
    for message in event.result.entities.warnings:
        warn(message)


def _generated_before_failing(error: KitgenError) -> GenerateResult:
    """The entities a failed migration run still brought up to date with what it applied."""
    if isinstance(error, MigrationFailed) and isinstance(error.entities, GenerateResult):
        return error.entities
    return GenerateResult()


MIGRATION_HINTS = {
    "pending": "not applied yet; run kitgen migrate",
    "changed": "applied, but the file changed since; restore it, or put the change in a new migration",
    "missing": "applied, but the file is gone; restore it (from version control, or the branch it came from), "
    "or roll it back (rollback works without its file)",
    "renamed": "an applied migration renamed; kitgen migrate records its new name",
    "refused": "kitgen migrate refuses it; it says why and the ways out",
    "pruned": "the schema file contains it, but this database never applied it and its file is gone; restore "
    "the file from version control and run kitgen migrate, or rebuild the database with kitgen migrate:fresh",
}


def check_entries(config: Config, result: commands.CheckResult) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = [
        {"file": config.display(e.path), "table": e.table, "state": e.state, "message": e.message, "diff": e.diff}
        for e in result.entities
    ]
    for state in result.migrations:
        path = config.display(config.migrations / state.name)
        entries.append(
            {"file": path, "table": None, "state": state.state, "message": MIGRATION_HINTS[state.state], "diff": ""}
        )
    return entries


def print_check(entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        if entry["state"] != "ok":
            echo(f"{entry['file']}: {style(entry['state'], fg='red')} — {entry['message']}")
            if entry["diff"]:
                echo(entry["diff"].rstrip("\n"))
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry["state"]] = counts.get(entry["state"], 0) + 1
    echo(
        ", ".join(f"{count} {state}" for state, count in sorted(counts.items())) + "."
        if counts
        else "Nothing to check."
    )


class reporting_partial:
    """On a failed or interrupted run, the entities written for the migrations that completed (each of
    which ``LiveProgress`` already showed)."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: object, tb: object) -> None:
        if isinstance(error, MigrationFailed) and isinstance(error.entities, GenerateResult):
            print_entities(self.config, error.entities, exit_on_flagged=False)


VERBS = {"up": "Applying", "down": "Rolling back", "load": "Loading"}


class LiveProgress:
    """One line per migration, begun when it starts and completed when it ends.

    ``Applying NAME …`` then `` done (batch 1, 12 ms)``, `` failed`` or `` interrupted``; on a terminal,
    a migration running for more than a second shows its elapsed time, redrawn every second.
    Piped output gets the plain line only.
    """

    def __init__(self) -> None:
        self.live = sys.stdout.isatty()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.timer: threading.Thread | None = None
        self.head = ""
        self.shown = False  # whether the head is on screen (a signal can stop ``started`` before it writes)

    def started(self, name: str, direction: str) -> None:
        self.head, self.shown = f"{VERBS[direction]} {style(name, fg='green')} …", False
        self._write(self.head)
        self.shown = True
        if self.live:
            self.stop.clear()
            self.timer = threading.Thread(target=self._tick, args=(time.monotonic(),), daemon=True)
            self.timer.start()

    def ended(self, name: str, outcome: Ran | str) -> None:
        if self.timer is not None:
            self.stop.set()
            self.timer.join()
            self.timer = None
        if isinstance(outcome, Ran):
            tail = f"done (batch {outcome.batch}, {_duration(outcome.milliseconds)})"
        else:
            tail = style(outcome, fg="red")
        again = "\r\x1b[K" + self.head if self.live else ("" if self.shown else self.head)
        self._write(f"{again} {tail}\n")

    def _tick(self, began: float) -> None:
        while not self.stop.wait(1.0):
            self._write(f"\r\x1b[K{self.head} {time.monotonic() - began:.0f} s")

    def _write(self, text: str) -> None:
        with self.lock:
            click.echo(text, nl=False, color=_color())
            sys.stdout.flush()


def _duration(milliseconds: float) -> str:
    return f"{milliseconds:.0f} ms" if milliseconds < 10_000 else f"{milliseconds / 1000:.1f} s"


ENTITIES_KEPT = ENTITIES_LEFT  # the database changed as asked, but generated files were left as they are


def print_entities(
    config: Config, result: GenerateResult, *, quiet: bool = True, exit_on_flagged: bool = True, code: int = 1
) -> None:
    """What generation wrote and deleted; then each flagged file with its diff, and exit ``code`` if any.

    Commands that changed the database pass ``ENTITIES_KEPT``: their own work succeeded.
    """
    for path in result.written:
        echo(f"Wrote {config.display(path)}")
    for path in result.deleted:
        echo(f"Deleted {config.display(path)}")
    for message in result.warnings:
        warn(message)
    if not quiet and not result.written and not result.deleted and not result.flagged:
        echo(f"Entities are up to date ({result.unchanged} unchanged).")
    for flagged in result.flagged:
        echo(style(f"{config.display(flagged.path)}: {flagged.reason}", fg="red"), err=True)
        if flagged.diff:
            echo(flagged.diff.rstrip("\n"), err=True)
    if result.flagged and exit_on_flagged:
        fail(flagged_message([flagged.reason for flagged in result.flagged]), code)


def flagged_message(reasons: list[str], *, suffix: str = "") -> str:
    """The error of a run that left generated files as they are (edited by hand, or not kitgen's)."""
    hint = "move your code out of them, then run kitgen generate --force to overwrite them"
    if any(reason != "edited" for reason in reasons):
        hint = "move or rename the files kitgen did not generate; " + hint
    return f"{len(reasons)} entity file(s) {suffix}left as they are (listed above) — {hint}"


def print_ran(verb: str, ran: list[Ran], *, nothing: str) -> None:
    """The total of a run whose migrations ``LiveProgress`` showed one by one."""
    if not ran:
        if nothing:
            echo(nothing)
        return
    total = sum(item.milliseconds for item in ran)
    echo(f"{verb} {len(ran)} migration{'s' if len(ran) != 1 else ''} in {total:.0f} ms.")


PRETENDED = "pretended: the database itself was not changed"


def print_pretend(config: Config, verb: str, result: PretendResult) -> None:
    """The tracking rows it would bring up to date, each migration's statements (verbatim), then each entity
    diff; the real run's error, if it would fail."""
    for old, new in result.renamed:
        echo(f"Would record the rename {old} → {new} (same content)")
    for name in result.new_downs:
        echo(f"Would record the new down of {name} (rollback runs it)")
    for index, migration in enumerate(result.migrations):
        loading = index == 0 and result.loaded is not None  # the schema file comes first
        echo(style(f"Would {'load' if loading else verb} {migration.name}:", bold=True))
        for statement in migration.statements:
            echo(statement.strip().rstrip(";") + ";")
    for change in result.entities:
        where = config.display(change.path)
        headline = (
            f"Would leave {where} as it is ({change.reason})"
            if change.action == "keep"
            else f"Would {change.action} {where}"
        )
        echo(style(headline + ":", bold=True))
        echo(change.diff.rstrip("\n"))
    for message in result.warnings:
        warn(message)
    if result.failure is not None:
        for name in result.failure.done:
            echo(f"{name} would stay {'applied' if verb == 'apply' else 'rolled back'}.")
        fail(f"{result.failure} ({PRETENDED})", result.failure.exit_code)
    kept = [change.reason for change in result.entities if change.action == "keep"]
    if kept:
        fail(flagged_message(kept, suffix="would be ") + f" ({PRETENDED})", ENTITIES_KEPT)
    count = len(result.ran)
    noun = "migration" if count == 1 else "migrations"
    done = f"Would {verb} {count} {noun}" if count else f"Nothing to {verb}"
    if not count and (result.renamed or result.new_downs):
        done = "Would run nothing"
    if result.loaded is not None:
        contained = f"{result.loaded.migrations} migration{'s' if result.loaded.migrations != 1 else ''}"
        then = f" and {verb} {count} {noun}" if count else ""
        done = f"Would load {config.display(result.loaded.path)} ({contained}){then}"
    echo(f"{done}; pretending: the database and the entities were not changed.")


def print_diagram(config: Config, result: DiagramResult) -> None:
    """The diagram itself; or, written to a file, one line saying where and from what."""
    if result.output is None:
        echo(result.text, nl=False)
        return
    where = config.display(result.output.resolve())
    if not result.written:
        echo(f"{where} is up to date (unchanged).")
        return
    source = f"the database {config.display(config.database)}" if result.source == "database" else "the migrations"
    echo(f"Wrote {where} ({result.format} diagram, from {source}).")


def print_rebuild(config: Config, result: RebuildResult) -> None:
    if result.dropped:
        echo(f"Dropped {len(result.dropped)} objects: {', '.join(result.dropped)}")
    if result.rolled_back:
        print_ran("Rolled back", result.rolled_back, nothing="")
    print_loaded(config, result.loaded)
    print_ran("Applied", result.applied, nothing="" if result.loaded else "Nothing to migrate.")


def print_loaded(config: Config, loaded: Loaded | None) -> None:
    """The schema file a command loaded before applying the migrations it does not contain."""
    if loaded is not None:
        count = f"{loaded.migrations} migration{'s' if loaded.migrations != 1 else ''}"
        echo(f"Loaded {config.display(loaded.path)} ({count}) in {loaded.milliseconds:.0f} ms.")


STATE_COLORS = {
    "applied": "green",
    "renamed": "yellow",
    "pending": "yellow",
    "refused": "red",
    "changed": "red",
    "missing": "red",
    "pruned": "red",
}


def state_label(state: MigrationState) -> str:
    label = f"{state.state} (batch {state.batch})" if state.state == "applied" else state.state
    if state.in_schema_file:
        label = f"{label} (in the schema file: migrate loads it)"
    if state.state == "refused":
        label = "refused (kitgen migrate says why and the ways out)"
    if state.state == "pruned":
        label = "pruned (in the schema file, never applied here; kitgen migrate says the ways out)"
    if state.renamed_from:
        label = f"renamed from {state.renamed_from} (batch {state.batch}; kitgen migrate records it)"
    return label if state.transactional else f"{label}, no transaction"


def print_status(config: Config, states: list[MigrationState]) -> None:
    echo(f"Database: {config.display(config.database)}")
    if not states:
        echo("No migrations yet: create one with kitgen make:migration NAME.")
        return
    width = max(len(state.name) for state in states)
    echo(f"{'Migration'.ljust(width)}  State")
    for state in states:
        echo(f"{state.name.ljust(width)}  {style(state_label(state), fg=STATE_COLORS[state.state])}")
    echo(summary_line(states))


def summary_line(states: list[MigrationState]) -> str:
    counts = {name: sum(1 for s in states if s.state == name) for name in STATE_COLORS}
    return ", ".join(f"{count} {name}" for name, count in counts.items() if count) + "."


def status_document(config: Config, result: commands.StatusResult) -> dict[str, Any]:
    entries = [
        {
            "name": state.name,
            "state": state.state,
            "renamed_from": state.renamed_from,
            "batch": state.batch,
            "applied_at": state.applied_at,
            "transaction": state.transactional,
            "in_schema_file": state.in_schema_file,
        }
        for state in result.migrations
    ]
    summary = {name: sum(1 for s in result.migrations if s.state == name) for name in STATE_COLORS}
    return {"database": config.display(config.database), "migrations": entries, "summary": summary}


def interrupted(error: MigrationInterrupted) -> None:
    """A run stopped by Ctrl-C or SIGTERM: not a failure of kitgen's, said as what happened."""
    what = error.what[:1].upper() + error.what[1:]
    echo(f"{what} — {error.hint}" if error.hint else what, err=True)
    sys.exit(error.exit_code)


def fail(message: str, code: int) -> None:
    echo(style("Error: ", fg="red", bold=True) + message, err=True)
    sys.exit(code)
