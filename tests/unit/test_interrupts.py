"""A second Ctrl+C during cleanup is ignored; afterwards Ctrl+C works again."""

from __future__ import annotations

import os
import signal
import time

import pytest

from stagewise.interrupts import shielded


def test_ctrl_c_inside_the_shield_is_ignored_and_the_handler_comes_back() -> None:
    before = signal.getsignal(signal.SIGINT)
    with shielded():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # a KeyboardInterrupt would be raised here without the shield
    assert signal.getsignal(signal.SIGINT) is before
    os.kill(os.getpid(), signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        time.sleep(1)  # the pending Ctrl+C is raised here, as it should be
