"""The migration lock on PostgreSQL: a session-level advisory lock, taken by polling.

It is asked for with ``pg_try_advisory_lock`` on a connection of its own, in autocommit, every
100 ms until the timeout: a blocking ``pg_advisory_lock`` would wait inside the server, where a
``CREATE INDEX CONCURRENTLY`` run by the holder waits in turn for every open transaction (the
waiter's included) — a deadlock. Nothing else runs on the lock's connection, so no transaction
is open while waiting. The lock goes with the session: a killed migrator never leaves it behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from kitgen.errors import LockTimeout

if TYPE_CHECKING:
    import psycopg

POLL = 0.1  # seconds between two tries

HOLDER = """
SELECT a.pid, coalesce(nullif(a.application_name, ''), 'an unnamed client'), a.usename, a.client_addr::text,
       to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = %s AND l.objid = %s AND l.objsubid = 1
"""


def lock_key(qualified_table: str) -> int:
    """A stable signed 64-bit key for the lock of one tracking table (its qualified name)."""
    digest = hashlib.sha256(f"kitgen:{qualified_table}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def holder(connection: psycopg.Connection[Any], key: int) -> str:
    """Who holds the lock: pid, application, user, address and since when (or that it is gone)."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    row = connection.execute(HOLDER, (unsigned >> 32, unsigned & 0xFFFFFFFF)).fetchone()
    if row is None:
        return "another session (no longer visible)"
    pid, application, user, address, since = row
    where = f" from {address}" if address else ""
    return f"{application} (server pid {pid}, user {user}{where}, connected since {since} UTC)"


@contextmanager
def advisory_lock(
    connect: Callable[[], psycopg.Connection[Any]],
    key: int,
    *,
    timeout: float,
    on_wait: Callable[[str], None],
    what: str,
) -> Iterator[None]:
    """Hold the advisory lock ``key`` for the block; tell ``on_wait`` once who holds it while waiting."""
    connection = connect()
    try:
        _take(connection, key, timeout, on_wait, what)
        try:
            yield
        finally:
            # A lost session has lost its lock too; its error must not hide the one that ended the block.
            with contextlib.suppress(Exception):
                connection.execute("SELECT pg_advisory_unlock(%s)", (key,))
    finally:
        connection.close()


def _take(
    connection: psycopg.Connection[Any], key: int, timeout: float, on_wait: Callable[[str], None], what: str
) -> None:
    deadline = time.monotonic() + timeout
    told = False
    while True:
        row = connection.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
        if row is not None and row[0]:
            return
        who = holder(connection, key)
        if time.monotonic() >= deadline:
            raise LockTimeout(
                f"{who} held the migration lock ({what}) for more than {timeout:g} s",
                "wait for it to finish, or raise --lock-timeout",
            )
        if not told:
            on_wait(who)
            told = True
        time.sleep(min(POLL, max(0.0, deadline - time.monotonic())))
