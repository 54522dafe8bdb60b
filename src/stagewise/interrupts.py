"""Cleanup that a second Ctrl+C cannot cut short.

Users press Ctrl+C twice. The first one starts the cleanup (faults reverted,
namespaces, rules and processes removed); a second one arriving then would
abort it half-way and leave the machine worse than either. While
:func:`shielded` is active, SIGINT is ignored; outside the main thread (where
Python cannot change signal handlers) it does nothing.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def shielded() -> Iterator[None]:
    """Ignore SIGINT for the duration of the block, then restore the previous handler."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def ignore_from_now_on() -> None:
    """The run is over and exits with 130: a late Ctrl+C must not turn that into a signal death."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


__all__ = ["ignore_from_now_on", "shielded"]
