"""``kitgen init --from-database``: adopt a database kitgen never saw, its schema as the first migration.

The database's schema (``Driver.dump_schema``) becomes the up of one ``.sql`` migration, the script
that drops it (``Driver.drop_script``) its down. Before anything is written, the migration is
applied to an empty scratch database, which must end with the same schema, byte for byte: the file
never claims a schema it does not build. Then ``init`` sets the project up, the migration is
recorded as applied on the database (nothing of it runs there), and the entities are generated.

The file and its tracking row appear together: the file is linked into the migrations folder inside
the transaction that records it, and removed again if that transaction does not commit (an error, a
Ctrl-C). Only a kill between the link and the COMMIT can leave the file unrecorded; then
``kitgen migrate`` stops at it ("already exists") and says to record it with
``kitgen migrate:resolve … --applied``.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kitgen.codegen import files as entity_files
from kitgen.codegen.generate import GenerateResult
from kitgen.commands.scaffolding import InitResult, init_project
from kitgen.commands.session import OnWait, connected, ignore, regenerate
from kitgen.config import Config
from kitgen.driver import Driver, scratch_driver
from kitgen.errors import ENTITIES_LEFT, DatabaseError, KitgenError, MigrationFailed, MigrationFileError
from kitgen.migrations import files, runner, templates
from kitgen.migrations.files import MigrationFile

FIRST_BATCH = 1


@dataclass(frozen=True)
class AdoptResult:
    """What ``init --from-database`` did: set the project up, wrote and recorded the migration, the entities."""

    init: InitResult
    migration: Path
    relations: tuple[str, ...]  # the tables and views the migration creates
    entities: GenerateResult


def adopt_database(config: Config, *, now: datetime | None = None, on_wait: OnWait = ignore) -> AdoptResult:
    """Set the project up (``init``), then adopt the configured database, as the module docstring says.

    Refused, with nothing written or recorded, when the database does not exist or has no table or
    view, when it has kitgen migrations applied, or when the project has migrations already.
    """
    with connected(config) as driver:
        if not driver.exists:  # before the lock: a server driver would create the database
            raise DatabaseError(
                f"the database {config.database} does not exist, so there is nothing to adopt",
                "point --database at the existing database (a SQLite file or a postgresql:// URL); nothing was written",
            )
        with driver.lock("kitgen init --from-database", on_wait):
            ensure_adoptable(config, driver)
            up = driver.dump_schema()
            text = templates.render_adoption(up, driver.drop_script())
            with tempfile.TemporaryDirectory(prefix="kitgen-adopt-") as folder:
                draft = _draft(Path(folder), text, now or datetime.now(UTC))
                created = rehearse(config, draft, up)
                init = init_project(config)
                entity_files.ensure_writable(config.entities)  # checked before the database changes
                migration = record_and_place(config, driver, draft, created)
            entities = _entities(config, driver)
    return AdoptResult(init, migration, created, entities)


def ensure_adoptable(config: Config, driver: Driver) -> None:
    """Adoption is the first migration of a database kitgen never migrated, and there must be something to adopt."""
    applied = driver.applied_migrations()
    if applied:
        count = f"{len(applied)} kitgen migration{'s' if len(applied) != 1 else ''}"
        raise KitgenError(
            f"the database {config.database} already has {count} applied, so kitgen already manages it",
            "adopt only a database kitgen never migrated; for this one, run kitgen migrate:status and add "
            "migrations with kitgen make:migration; nothing was written",
        )
    _ensure_no_migrations(config)
    if not driver.read_schema().relations:
        raise DatabaseError(
            f"the database {config.database} has no table or view to adopt",
            "point --database at the database to adopt, or start from an empty one with kitgen init and "
            "kitgen make:migration; nothing was written",
        )


def _ensure_no_migrations(config: Config) -> None:
    found = files.discover(config.migrations) if config.migrations.is_dir() else []
    if found:
        count = f"{len(found)} migration file{'s' if len(found) != 1 else ''}"
        raise MigrationFileError(
            f"the migrations folder {config.display(config.migrations)} already has {count} "
            f"({found[0].path.name}…), and the adopted schema must be the first migration",
            "adopt into a project without migrations; if an interrupted kitgen init --from-database left "
            f"the {templates.ADOPTION_LABEL} file there, record it instead with kitgen migrate:resolve "
            f"{found[0].name} --applied; nothing was written",
        )
    if config.schema_file.exists():
        raise MigrationFileError(
            f"the schema file {config.display(config.schema_file)} exists, so the project has migrations already",
            "adopt into a project without migrations or schema file; nothing was written",
        )


def _draft(folder: Path, text: str, now: datetime) -> MigrationFile:
    """The migration written in a scratch folder, named as make:migration would name it."""
    prefix = now.replace(tzinfo=None).strftime(templates.PREFIX_FORMAT)
    name = f"{prefix}_{templates.ADOPTION_LABEL}"
    path = folder / f"{name}.sql"
    path.write_bytes(text.encode("utf-8"))
    return MigrationFile(name=name, path=path, prefix=prefix, label=templates.ADOPTION_LABEL)


def rehearse(config: Config, draft: MigrationFile, schema: str) -> tuple[str, ...]:
    """Apply the draft to an empty scratch database as ``migrate`` would; its schema must then be ``schema``.

    Returns the relations the migration created there: what a real run records, and what the entities'
    headers name as created by it.
    """
    pending = runner.load_files([draft], [draft])
    scratch = scratch_driver(config.database, shadow=config.shadow_database, schemas=config.schemas, committed=True)
    with scratch as replay:
        replay.ensure_tracking_table()
        try:
            runner.apply_all(replay, pending, first_batch=FIRST_BATCH, step=False)
        except MigrationFailed as failure:
            raise DatabaseError(
                f"the schema of {config.database} does not build an empty database from its own dump: {failure.what}",
                "report it with the statement named; nothing was written",
            ) from failure
        rebuilt = replay.dump_schema()
        created = replay.applied_migrations()[0].created
    if rebuilt != schema:
        raise DatabaseError(
            f"the schema of {config.database}, built from its dump in an empty database, differs from the "
            f"original: {first_difference(schema, rebuilt)}",
            "report it with that line; nothing was written",
        )
    return created


def first_difference(expected: str, actual: str) -> str:
    """The first line where two scripts differ, as ``line N: 'expected' became 'actual'``."""
    wanted, got = expected.splitlines(), actual.splitlines()
    for number, (left, right) in enumerate(zip(wanted, got, strict=False), start=1):
        if left != right:
            return f"line {number}: {left[:120]!r} became {right[:120]!r}"
    number = min(len(wanted), len(got)) + 1
    return f"line {number}: the {'original' if len(wanted) > len(got) else 'rebuilt'} schema goes on"


def record_and_place(config: Config, driver: Driver, draft: MigrationFile, created: tuple[str, ...]) -> Path:
    """Record the draft as applied without running it, and link it into the migrations folder in the same
    transaction; if the transaction does not commit, the file goes again."""
    row = runner.recorded_without_running(draft, FIRST_BATCH, created)
    driver.ensure_tracking_table()
    placed: Path | None = None
    try:
        with driver.transaction() as db:
            driver.record_applied(db, row)
            placed = templates.write_new_file(config.migrations, draft.path.name, draft.read_bytes())
    except BaseException:
        if placed is not None and not _recorded(driver, draft.name):
            placed.unlink(missing_ok=True)
        raise
    assert placed is not None
    return placed


def _recorded(driver: Driver, name: str) -> bool:
    """Whether the tracking row of ``name`` committed; when that cannot be read, the file is kept (True): a
    file without its row is the state ``migrate`` explains, a row without its file would hide the schema."""
    try:
        driver.reset_session()
        return any(row.name == name for row in driver.applied_migrations())
    except Exception:
        return True


def _entities(config: Config, driver: Driver) -> GenerateResult:
    """Generate the entities; a failure now leaves the adoption done, and says so."""
    try:
        return regenerate(config, driver, asked=True)
    except KitgenError as error:
        adopted = "the database was adopted (migration written and recorded)"
        error.what = f"{adopted}, but no entity was written: {error.what}"
        error.exit_code = ENTITIES_LEFT
        raise
