"""The migration files against the tracking rows: what is applied, pending, changed, renamed or out of order.

One function, ``reconcile``, decides how each file relates to what the database recorded; the
commands act on its answer. A file is *changed* only when what applying it runs changed: its
comments, formatting and its ``down`` do not count (a new ``down`` is recorded, not refused).
Checksums made by an earlier scheme are re-derived from the source recorded with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from kitgen.driver import AppliedMigration
from kitgen.errors import ChangedMigrationsError, MigrationFileError, UnreachableMigrationsError
from kitgen.migrations.files import NAME, MigrationFile, decode_source
from kitgen.migrations.formats import CHECKSUM_SCHEME, NO_DOWN, format_for, raw_hash

APPLIED, PENDING, CHANGED, MISSING = "applied", "pending", "changed", "missing"
PRUNED = "pruned"  # the schema file contains it, this database never applied it, and its file is gone
RENAMED = "renamed"  # a pending file that is an applied migration renamed: recorded by the next migrate
REFUSED = "refused"  # a pending file that may be an applied migration renamed: migrate refuses it, with ways out
SAME, DOWN = "same", "down"  # applied: the same statements in other words; only the down changed
KEPT = "kept"  # applied: the down was removed from the file; the recorded one is kept, never replaced by none


@dataclass(frozen=True)
class MigrationState:
    """A migration as ``migrate:status`` reports it."""

    name: str
    state: str
    batch: int | None = None
    applied_at: str | None = None
    transactional: bool = True
    renamed_from: str | None = None
    in_schema_file: bool = False  # pending, and the schema file contains it: migrate loads it from there


@dataclass(frozen=True)
class Update:
    """A tracking row to bring up to date with its file, without running anything."""

    row: AppliedMigration
    file: MigrationFile


CLAIMED, COPY, MOVED, PREFIX = "claimed", "copy", "moved", "prefix"  # the kinds of clash (see _clashes)


@dataclass(frozen=True)
class Clash(Update):
    """A pending file that may be ``row``'s migration: ``kind`` says why; ``other``, the file that claimed it."""

    kind: str = PREFIX
    other: str | None = None


@dataclass(frozen=True)
class Moved(Update):
    """A rename whose new name sorts on the other side of applied migrations (``passed``)."""

    passed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reconciliation:
    """How the files relate to the tracking rows.

    ``renamed``: a pending file with the content of an applied migration whose file is gone.
    ``new_downs``: applied files whose ``down`` alone changed. ``upgraded``: rows to refresh without
    a word: a checksum made by an earlier scheme, or a file reworded (comments, formatting) only.
    ``out_of_order``: pending files older than the newest applied migration (``newest``).
    """

    pending: list[MigrationFile] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    renamed: list[Update] = field(default_factory=list)
    new_downs: list[Update] = field(default_factory=list)
    upgraded: list[Update] = field(default_factory=list)
    out_of_order: list[MigrationFile] = field(default_factory=list)
    newest: str | None = None
    clashes: list[Clash] = field(default_factory=list)  # a pending file that may be an applied migration
    reordered: list[Moved] = field(default_factory=list)  # a rename that moves a migration past applied ones
    pruned: list[str] = field(default_factory=list)  # in the schema file, never applied here, file gone

    @property
    def bookkeeping(self) -> list[Update]:
        """Every tracking row to update before applying anything."""
        return [*self.renamed, *self.new_downs, *self.upgraded]


def reconcile(
    files: Sequence[MigrationFile], applied: Sequence[AppliedMigration], dumped: Sequence[AppliedMigration] = ()
) -> Reconciliation:
    """Compare every file with its tracking row; pair renamed files with the rows they were applied as.

    A row without a file is missing, unless the schema file contains it (``dumped``, its rows: the file was
    pruned). A migration the schema file contains that this database never applied, under its name or
    renamed, and whose file is gone, is ``pruned``.
    """
    covered = frozenset(row.name for row in dumped)
    rows = {row.name: row for row in applied}
    on_disk = {file.name for file in files}
    result = Reconciliation(newest=max(rows, default=None))
    unmatched = [row for row in applied if row.name not in on_disk]
    for file in files:
        row = rows.get(file.name)
        if row is None:
            partner = _renamed_from(file, unmatched)
            if partner is None:
                result.pending.append(file)
            else:
                unmatched.remove(partner)
                result.renamed.append(Update(partner, file))
            continue
        verdict = _compare(file, row)
        if verdict == CHANGED:
            result.changed.append(file.name)
        elif verdict == DOWN:
            result.new_downs.append(Update(row, file))
        elif verdict == SAME or row.checksum_scheme != CHECKSUM_SCHEME:
            result.upgraded.append(Update(row, file))
    result.missing.extend(row.name for row in unmatched if row.name not in covered)
    if applied:  # a database with nothing applied loads the schema file: then nothing of it is out of reach
        result.pruned.extend(_pruned(dumped, applied, on_disk))
    result.clashes.extend(_clashes(files, result.pending, applied, result.renamed))
    result.reordered.extend(
        Moved(update.row, update.file, passed) for update in result.renamed if (passed := _passed(update, applied))
    )
    if result.renamed:  # the newest applied migration under the name it is about to be recorded with
        gone = {update.row.name for update in result.renamed}
        names = [name for name in rows if name not in gone] + [update.file.name for update in result.renamed]
        result = replace(result, newest=max(names))
    if result.newest is not None:
        result.out_of_order.extend(file for file in result.pending if file.name < result.newest)
    return result


def _pruned(dumped: Sequence[AppliedMigration], applied: Sequence[AppliedMigration], on_disk: set[str]) -> list[str]:
    """The migrations of the schema file this database never applied, under their name or another (a rename
    keeps the statements), and whose files are gone."""
    names = {row.name for row in applied}
    ran = {(row.format, up_checksum(row)) for row in applied}
    return sorted(
        row.name
        for row in dumped
        if row.name not in names and row.name not in on_disk and (row.format, up_checksum(row)) not in ran
    )


def _compare(file: MigrationFile, row: AppliedMigration) -> str:
    """``applied`` (the same bytes), ``same`` (the same statements), ``down`` (only the down changed),
    ``kept`` (the down was removed) or ``changed``."""
    data = file.read_bytes()
    if raw_hash(data) == row.raw_hash and file.suffix == f".{row.format}":
        return APPLIED
    if file.suffix != f".{row.format}":
        return CHANGED
    fmt = format_for(file.suffix)
    try:
        source = decode_source(data, file.path)
        if fmt.checksum(source) != up_checksum(row):
            return CHANGED
        if not row.source:  # loaded from the schema file, which keeps no source: the file's is recorded
            return SAME
        down = fmt.down_checksum(source)
        if down == fmt.down_checksum(row.source):
            return SAME
        return KEPT if down == NO_DOWN else DOWN
    except MigrationFileError:
        return CHANGED


def is_changed(file: MigrationFile, row: AppliedMigration) -> bool:
    """Whether applying ``file`` now would run something else than what ``row`` recorded."""
    return _compare(file, row) == CHANGED


def up_checksum(row: AppliedMigration) -> str:
    """The row's checksum under the current scheme (re-derived from its recorded source if older)."""
    if row.checksum_scheme == CHECKSUM_SCHEME:
        return row.checksum
    try:
        return format_for(f".{row.format}").checksum(row.source)
    except MigrationFileError:
        return row.checksum  # a recorded source that no longer parses matches nothing


def _renamed_from(file: MigrationFile, unmatched: Sequence[AppliedMigration]) -> AppliedMigration | None:
    """The applied migration ``file`` is a renamed copy of: same format, same statements, and the same
    timestamp prefix or the same label (a rename changes one of them). An up that runs nothing (an
    unfilled template) is never taken for a rename: any new migration starts like that."""
    candidates = [
        row
        for row in unmatched
        if f".{row.format}" == file.suffix and (_prefix(row.name) == file.prefix or _label(row.name) == file.label)
    ]
    if not candidates:
        return None
    fmt = format_for(file.suffix)
    try:
        source = file.read_text()
        if fmt.describe(source, file.path).runs_nothing:
            return None
        checksum = fmt.checksum(source)
    except MigrationFileError:
        return None
    return next((row for row in candidates if up_checksum(row) == checksum), None)


def _clashes(
    files: Sequence[MigrationFile],
    pending: Sequence[MigrationFile],
    applied: Sequence[AppliedMigration],
    renamed: Sequence[Update],
) -> list[Clash]:
    """Pending files that may be an applied migration and must not run blindly. A file whose up runs
    nothing can do no harm and never clashes; otherwise, the first that applies of:

    ``claimed``: the statements of an applied migration another file is already the rename of;
    ``copy``: the statements and the label of an applied migration whose file is here;
    ``moved``: the statements of an applied migration whose file is gone (renamed twice);
    ``prefix``: the timestamp prefix of an applied migration whose file is gone (renamed and edited).
    """
    if not applied:
        return []  # nothing to be a copy of
    on_disk = {file.name for file in files}
    claimed = {update.row.name: update.file.name for update in renamed}
    missing = {row.name for row in applied if row.name not in on_disk and row.name not in claimed}
    found = []
    for file in pending:
        checksum = _running_checksum(file)
        if checksum is None:
            continue
        for row in applied:
            same = f".{row.format}" == file.suffix and up_checksum(row) == checksum
            if same and row.name in claimed:
                found.append(Clash(row, file, CLAIMED, claimed[row.name]))
            elif same and row.name in on_disk and _label(row.name) == file.label:
                found.append(Clash(row, file, COPY))
            elif same and row.name in missing:
                found.append(Clash(row, file, MOVED))
            elif _prefix(row.name) == file.prefix and row.name in missing:
                found.append(Clash(row, file, PREFIX))
            else:
                continue
            break
    return found


def _running_checksum(file: MigrationFile) -> str | None:
    """The up checksum of a file whose up runs something; None for an unfilled template or a broken file."""
    fmt = format_for(file.suffix)
    try:
        source = file.read_text()
        if fmt.describe(source, file.path).runs_nothing:
            return None
        return fmt.checksum(source)
    except MigrationFileError:
        return None


def drops_down(update: Update) -> bool:
    """Whether ``update``'s file has no down where its row recorded one: recording the file would lose it."""
    fmt = format_for(update.file.suffix)
    try:
        return fmt.down_checksum(update.file.read_text()) == NO_DOWN != fmt.down_checksum(update.row.source)
    except MigrationFileError:
        return False


def _passed(update: Update, applied: Sequence[AppliedMigration]) -> tuple[str, ...]:
    """The applied migrations a rename moves its migration past: a fresh database would apply them in
    another order than this one did."""
    old, new = update.row.name, update.file.name
    return tuple(sorted(row.name for row in applied if row.name != old and (row.name < old) != (row.name < new)))


def _prefix(name: str) -> str:
    match = NAME.match(name)
    return match["prefix"] if match else name


def _label(name: str) -> str:
    match = NAME.match(name)
    return match["label"] if match else name


def compare(
    files: Sequence[MigrationFile],
    applied: Sequence[AppliedMigration],
    *,
    out_of_order: bool = False,
    dumped: Sequence[AppliedMigration] = (),
) -> list[MigrationState]:
    """The state of every migration, from the files and the tracking rows; a renamed file is listed under
    its new name (``renamed``: the next ``migrate`` records it), its old name not at all; a file ``migrate``
    would refuse is ``refused`` (a rename that reorders is allowed ``out_of_order``). A row whose file was
    pruned is applied when the schema file contains it (``dumped``), else missing."""
    covered = frozenset(row.name for row in dumped)
    reconciled = reconcile(files, applied, dumped)
    refused = {update.file.name for update in [*reconciled.clashes, *([] if out_of_order else reconciled.reordered)]}
    renamed = {update.file.name: update.row for update in reconciled.renamed if update.file.name not in refused}
    gone = {row.name for row in renamed.values()}
    rows = {row.name: row for row in applied if row.name not in gone}
    on_disk = {file.name: file for file in files}
    states = [MigrationState(name, PRUNED) for name in reconciled.pruned]
    for name in sorted(rows.keys() | on_disk.keys()):
        row, file = rows.get(name), on_disk.get(name)
        if name in refused:
            states.append(MigrationState(name, REFUSED))
        elif name in renamed:
            old = renamed[name]
            states.append(MigrationState(name, RENAMED, old.batch, old.applied_at, old.transactional, old.name))
        elif row is None:
            states.append(MigrationState(name, PENDING))
        else:
            if file is None:
                state = APPLIED if name in covered else MISSING
            else:
                state = CHANGED if _compare(file, row) == CHANGED else APPLIED
            states.append(MigrationState(name, state, row.batch, row.applied_at, row.transactional))
    return sorted(states, key=lambda state: state.name)


def all_applied(
    files: Sequence[MigrationFile], applied: Sequence[AppliedMigration], dumped: Sequence[AppliedMigration] = ()
) -> bool:
    """True when the files are exactly the applied migrations, byte for byte (raw hashes alone decide);
    the rows the schema file contains (``dumped``) need no file."""
    covered = {row.name for row in dumped}
    rows = {row.name: row for row in applied}
    on_disk = {file.name for file in files}
    if any(name not in on_disk and name not in covered for name in rows) or len(on_disk) > len(rows):
        return False
    if rows and any(name not in rows and name not in on_disk for name in covered):  # pruned or renamed: look closer
        return False
    return all(file.name in rows and file.raw_hash() == rows[file.name].raw_hash for file in files)


def ensure_unchanged(reconciled: Reconciliation) -> None:
    """Refuse to go on when an applied migration's statements changed, or a pending file may be one."""
    if reconciled.changed:
        raise ChangedMigrationsError(tuple(reconciled.changed))
    for clash in reconciled.clashes:
        raise _clash_error(clash)


def _clash_error(clash: Clash) -> MigrationFileError:
    old, new, path = clash.row.name, clash.file.name, clash.file.path.name
    unchanged = "nothing was applied"
    if clash.kind == CLAIMED:
        return MigrationFileError(
            f"{path} runs the same statements as {old}, an applied migration {clash.other} is already the "
            "rename of (two files claim one applied migration)",
            f"keep one file for {old} and delete the other; if both must run, give this one statements of its "
            f"own; {unchanged}",
        )
    if clash.kind == COPY:
        return MigrationFileError(
            f"{path} runs the same statements as {old}, applied, under the same label (a copy?)",
            f"delete the copy; if it must run again, give it a label of its own (kitgen make:migration); {unchanged}",
        )
    if clash.kind == MOVED:
        return MigrationFileError(
            f"{path} runs the same statements as {old}, an applied migration whose file is gone, under another "
            "timestamp prefix and label (renamed twice?)",
            f"if it is {old} renamed, give it back {old}'s prefix or label and kitgen migrate records the "
            f"rename, or record it yourself with kitgen migrate:resolve {new} --applied then kitgen "
            f"migrate:resolve {old} --rolled-back; if it must run again, forget {old} first with "
            f"kitgen migrate:resolve {old} --rolled-back; {unchanged}",
        )
    return MigrationFileError(
        f"{path} has the timestamp prefix of {old}, an applied migration whose file is gone, "
        "but runs other statements (renamed and edited?)",
        f"if it is {old} renamed, restore its statements and put the change in a new migration; if it is a "
        f"new migration, give it a prefix of its own (kitgen make:migration); if {old}'s effect is gone from "
        f"the database, forget it with kitgen migrate:resolve {old} --rolled-back; {unchanged}",
    )


def ensure_reachable(reconciled: Reconciliation, schema_file: str) -> None:
    """Refuse to go on when the schema file contains migrations this database never applied and whose files
    were pruned: nothing could apply them, and the database would silently lack them."""
    if reconciled.pruned:
        raise UnreachableMigrationsError(tuple(reconciled.pruned), schema_file)


def ensure_in_order(reconciled: Reconciliation) -> None:
    """Refuse a rename that moves a migration past applied ones (``--allow-out-of-order`` records it)."""
    for moved in reconciled.reordered:
        old, new = moved.row.name, moved.file.name
        where = "before" if new < old else "after"
        raise MigrationFileError(
            f"{moved.file.path.name} is {old} renamed, but its new name sorts {where} {', '.join(moved.passed)}, "
            "which sorted the other way before: a fresh database would apply them in another order than this one",
            f"give it a name that sorts where {old} did (keep its timestamp prefix and change the label), or put "
            "it back; if every database applied it where it is now (a rename to fix the order), pass "
            "--allow-out-of-order (out_of_order = true in [tool.kitgen]) to record the rename; nothing was applied",
        )
