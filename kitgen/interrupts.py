"""Ctrl-C and SIGTERM while the database changes: stop the migration in flight, nothing else.

Inside ``interruptible()`` the first SIGINT or SIGTERM raises ``Interrupted`` in the main thread,
so the migration running then is rolled back by its transaction and the ones committed before it
stay. A statement running inside the database engine does not return to Python until it ends;
the engines' own cancel (``stop_statements``) is called from a thread woken by the signal, so a
long statement stops too. Later signals are ignored until the block ends: cleaning up (rolling
back, writing the entities of what was committed) is short and must not itself be cut.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_cancellers: list[Callable[[], None]] = []
_received: list[int] = []
_deciding = threading.Lock()  # the handler and the waker agree on who stops the run
_handled = threading.Event()  # the handler ran: the main thread was in Python, not inside a statement
HANDLER_GRACE = 0.2  # seconds the waker leaves the handler before cancelling a statement


class Interrupted(BaseException):
    """A SIGINT or SIGTERM arrived; ``exit_code`` is the shell's 128 + signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def received() -> int | None:
    """The signal received inside the current ``interruptible()`` block, if any."""
    return _received[0] if _received else None


@contextmanager
def stop_statements(cancel: Callable[[], None]) -> Iterator[None]:
    """While the block runs, a signal also calls ``cancel`` (from another thread) to end a running statement."""
    _cancellers.append(cancel)
    try:
        yield
    finally:
        _cancellers.remove(cancel)


@contextmanager
def interruptible() -> Iterator[None]:
    """SIGINT and SIGTERM raise ``Interrupted`` once in the block; outside the main thread, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    waker = threading.Thread(target=_cancel_on_wake, args=(read_end,), daemon=True, name="kitgen-interrupt")
    waker.start()
    previous = {signum: signal.signal(signum, _handler) for signum in SIGNALS}
    previous_fd = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    _received.clear()
    _handled.clear()
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous_fd)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        os.close(write_end)  # ends the waker's read
        waker.join(timeout=1)
        os.close(read_end)
        _received.clear()
        _handled.clear()


def _handler(signum: int, frame: FrameType | None) -> None:
    with _deciding:
        if _received:
            return  # already stopping
        _received.append(signum)
    _handled.set()
    raise Interrupted(signum)


def _cancel_on_wake(read_end: int) -> None:
    """On the first signal only, cancel what runs, unless the handler raises ``Interrupted`` meanwhile.

    The handler runs only when the main thread is back in Python, so not inside a statement; the
    rollback and the other statements it then runs to clean up must not be cancelled (a cancel
    reaches statements started later while a migration's cursor is left open). A main thread
    inside a long statement cannot run the handler: after ``HANDLER_GRACE``, the statement is cancelled.
    """
    data = b""
    while not any(number in SIGNALS for number in data):  # the numbers of the signals caught
        try:
            data = os.read(read_end, 64)
        except OSError:
            return
        if not data:
            return
    if _handled.wait(HANDLER_GRACE):
        return
    with _deciding:
        if _received:
            return
        for cancel in list(_cancellers):
            try:
                cancel()
            except Exception:
                continue
