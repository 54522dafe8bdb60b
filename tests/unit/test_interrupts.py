"""A second Ctrl+C during cleanup is ignored; afterwards Ctrl+C works again."""

from __future__ import annotations

import os
import signal
import time

import pytest

from stagewise.interrupts import shielded


def press_ctrl_c() -> None:
    """SIGINT to this process; Python raises KeyboardInterrupt at the next bytecode (during the sleep)."""
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.5)


def test_ctrl_c_inside_the_shield_is_ignored_and_the_handler_comes_back() -> None:
    before = signal.getsignal(signal.SIGINT)
    with shielded():
        press_ctrl_c()  # would raise KeyboardInterrupt without the shield
    assert signal.getsignal(signal.SIGINT) is before
    with pytest.raises(KeyboardInterrupt):
        press_ctrl_c()
