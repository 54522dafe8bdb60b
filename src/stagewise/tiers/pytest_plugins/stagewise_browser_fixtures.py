"""The launch arguments for the system Chromium (see ``stagewise_browser``)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest


@pytest.fixture(scope="session")
def browser_type_launch_args(pytestconfig: pytest.Config) -> dict[str, Any]:
    """Launch Debian's Chromium with the flags a closed network needs."""
    args: dict[str, Any] = {
        "executable_path": os.environ["STAGEWISE_BROWSER_EXECUTABLE"],
        "args": json.loads(os.environ.get("STAGEWISE_BROWSER_ARGS", "[]")),
        "headless": os.environ.get("STAGEWISE_HEADLESS", "1") == "1",
    }
    slowmo = pytestconfig.getoption("--slowmo", default=None)
    if slowmo:
        args["slow_mo"] = slowmo
    return args
