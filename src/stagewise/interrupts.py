"""Cleanup that a second Ctrl+C cannot cut short.

Users press Ctrl+C twice. The first one starts the cleanup (faults reverted,
namespaces, rules and processes removed); a second one arriving then would
abort it half-way and leave the machine worse than either.

Ignoring SIGINT from inside the ``except KeyboardInterrupt`` block is too late:
a second press that lands between the first exception and that line (a busy
machine makes the gap long; a CI run showed it) escapes the cleanup entirely.
So :func:`interrupt_once` ignores further signals *in the handler that raises
the first KeyboardInterrupt*: from the first press on, no later one is
delivered, whatever the cleanup code is doing. Outside the main thread (where
Python cannot change signal handlers) it does nothing.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

#: Ctrl+C, and what a supervisor or ``kill`` sends; the CLI treats both as an interrupt.
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def interrupt_once() -> Iterator[None]:
    """The first SIGINT or SIGTERM raises KeyboardInterrupt in the block and ignores every later one.

    When the block ends that way (here or in a guard nested inside it) the
    signals stay ignored: the run is ending with exit 130, and its report must
    still be written. When it ends any other way the previous handlers come back.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def first_and_only(signum: int, frame: FrameType | None) -> None:
        for stop in _STOP_SIGNALS:
            signal.signal(stop, signal.SIG_IGN)
        raise KeyboardInterrupt

    previous = {stop: signal.signal(stop, first_and_only) for stop in _STOP_SIGNALS}
    try:
        yield
    finally:
        # Still ours means no interrupt came, here or in a guard nested inside this one
        # (that one's handler would have switched the signals to ignored).
        if signal.getsignal(signal.SIGINT) is first_and_only:
            for stop, handler in previous.items():
                signal.signal(stop, handler)


def ignore_from_now_on() -> None:
    """The run is over and exits with 130: a late Ctrl+C must not turn that into a signal death."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


__all__ = ["ignore_from_now_on", "interrupt_once"]
