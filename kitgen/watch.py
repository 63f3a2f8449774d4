"""``kitgen watch``: migrate and regenerate as migration files change, and survive bad input.

The loop keeps its imports warm, so an event costs only its own work. Each batch of file
changes (editors' temporary files, swap files and backups filtered out, bursts of writes
coalesced) becomes one event; an event never raises: its outcome, error included, is
reported to the caller, which prints it. SIGINT and SIGTERM end the loop between events.

Editing the newest migration this watch applied itself re-applies it (its recorded ``down``,
then the new version): the edit-save-see loop of a new migration. Any other changed migration
is refused as ``migrate`` refuses it, unless ``--redo`` rolls the last batch back.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from kitgen import commands
from kitgen.codegen import files as entity_files
from kitgen.codegen import headers
from kitgen.config import Config
from kitgen.errors import ChangedMigrationsError, KitgenError, MigrationFileError, ProtectedError
from kitgen.migrations.files import is_candidate
from kitgen.migrations.runner import Ran


@dataclass(frozen=True)
class Event:
    """What one batch of changes led to."""

    milliseconds: float
    result: commands.MigrateResult | None = None
    redone: list[Ran] = field(default_factory=list)
    error: KitgenError | None = None
    edited: list[Path] = field(default_factory=list)  # generated files found edited by hand
    ready: bool = False  # the watcher is running: changes from now on will be seen


def watch_filter(config: Config) -> Callable[[object, str], bool]:
    """Migration files and generated-looking entity modules; never temporary, swap or backup files."""
    migrations, entities = str(config.migrations), str(config.entities)

    def wanted(change: object, path: str) -> bool:
        folder, name = os.path.split(path)
        if folder == migrations:
            return is_candidate(name)
        return folder == entities and name.endswith(".py") and not name.startswith((".", "#", "~"))

    return wanted


def check_folders(config: Config) -> None:
    """Both watched folders must exist before watching starts."""
    if not config.migrations.is_dir():
        raise MigrationFileError(
            f"the migrations folder {config.migrations} does not exist", "run kitgen init, or set migrations"
        )
    entity_files.scan(config.entities)


def first_run(config: Config) -> Event:
    """The full migrate that starts watching."""
    return _migrate_event(config, redo=False, started=time.perf_counter())


def watch_project(
    config: Config,
    *,
    debounce_ms: int = 30,
    redo: bool = False,
    stop: threading.Event | None = None,
    first: Event | None = None,
) -> Iterator[Event]:
    """One event per batch of relevant changes, until ``stop`` is set (SIGINT/SIGTERM set it).

    ``first``: the ``first_run`` that started this watch; what it applied, the watch applied.
    """
    import watchfiles

    if redo and config.destructive_prohibited:
        raise ProtectedError("watch --redo rolls migrations back and is refused here", "run watch without --redo")
    stop = stop or threading.Event()
    warm_up(config)
    with _stopping_on_signals(stop):
        changes = watchfiles.watch(
            config.migrations,
            config.entities,
            watch_filter=watch_filter(config),
            debounce=max(1000, debounce_ms * 20),
            step=debounce_ms,
            stop_event=stop,
            rust_timeout=200,
            yield_on_timeout=True,
            raise_interrupt=False,
            recursive=False,
        )
        ready = False
        applied_here: set[str] = set()  # what this watch applied, and has not rolled back since
        if first is not None:
            track_applied(applied_here, first)
        for batch in changes:
            if stop.is_set():
                return
            if not ready:
                ready = True  # the first (empty) batch: anything saved before now is caught up here
                catch_up = _migrate_event(config, redo=redo, started=time.perf_counter(), applied_here=applied_here)
                track_applied(applied_here, catch_up)
                yield Event(catch_up.milliseconds, catch_up.result, catch_up.redone, catch_up.error, ready=True)
            if batch:
                event = handle_batch(config, {Path(path) for _, path in batch}, redo=redo, applied_here=applied_here)
                track_applied(applied_here, event)
                yield event


def warm_up(config: Config) -> None:
    """Load and exercise the renderer once, so that the first change is as fast as the others."""
    from kitgen.codegen.plan import plan_entities
    from kitgen.codegen.render import render_entities
    from kitgen.schema.model import Column, Schema, Table

    columns = (
        Column("id", "INTEGER", "int", nullable=False, not_null=True, primary_key=1, rowid=True),
        Column("n", "INTEGER", "int", nullable=False, not_null=True, default="0"),  # defaults and CHECKs: sqlglot
    )
    sql = "CREATE TABLE warm_up (id INTEGER PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0 CHECK (n >= 0))"
    render_entities(plan_entities(Schema((Table("warm_up", "table", columns, sql=sql),)), config.model_type))


def handle_batch(config: Config, paths: set[Path], *, redo: bool, applied_here: Collection[str] = ()) -> Event:
    """Migrate when a migration changed; report generated files edited by hand.

    ``applied_here``: the migrations this watch applied; the newest of them, edited, is re-applied.
    """
    started = time.perf_counter()
    edited = sorted(path for path in paths if path.parent == config.entities and _edited(path))
    if not any(path.parent == config.migrations for path in paths):
        return Event(_elapsed(started), edited=edited)
    event = _migrate_event(config, redo=redo, started=started, applied_here=applied_here)
    return Event(event.milliseconds, event.result, event.redone, event.error, sorted({*edited, *_flagged(event)}))


def track_applied(applied_here: set[str], event: Event) -> None:
    """Keep ``applied_here`` to the migrations this watch applied and did not roll back since (under
    their new names when renamed)."""
    applied_here.difference_update(item.name for item in event.redone)
    if event.result is not None:
        for old, new in event.result.renamed:
            if old in applied_here:
                applied_here.discard(old)
                applied_here.add(new)
        applied_here.update(item.name for item in event.result.applied)


def _migrate_event(config: Config, *, redo: bool, started: float, applied_here: Collection[str] = ()) -> Event:
    redone: list[Ran] = []
    try:
        try:
            result = commands.migrate(config)
        except ChangedMigrationsError as changed:
            redone = _roll_back_changed(config, changed, redo=redo, applied_here=applied_here)
            result = commands.migrate(config)
    except KitgenError as error:
        return Event(_elapsed(started), redone=redone, error=error)
    return Event(_elapsed(started), result=result, redone=redone)


def _roll_back_changed(
    config: Config, changed: ChangedMigrationsError, *, redo: bool, applied_here: Collection[str]
) -> list[Ran]:
    """``--redo``: the last batch; otherwise the one changed migration, if this watch applied it."""
    if redo:
        return commands.redo_last_batch(config, changed.names)
    if len(changed.names) == 1 and changed.names[0] in applied_here:
        return commands.redo_newest_migration(config, changed.names[0])
    raise changed


def _flagged(event: Event) -> list[Path]:
    if event.result is None:
        return []
    return [flagged.path for flagged in event.result.entities.flagged if flagged.reason == "edited"]


def _edited(path: Path) -> bool:
    """Whether the changed entity file was edited by hand; a file removed meanwhile (a checkout) was not."""
    try:
        return headers.is_edited(entity_files.read_text(path))
    except entity_files.EntitiesFolderError:
        if path.exists():
            raise
        return False


def _elapsed(started: float) -> float:
    return (time.perf_counter() - started) * 1000


class _stopping_on_signals:
    """SIGINT and SIGTERM set the stop event instead of interrupting whatever is being written."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.previous: dict[int, object] = {}

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        self.stop.set()

    def __enter__(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self.previous[signum] = signal.signal(signum, self._handler)

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
