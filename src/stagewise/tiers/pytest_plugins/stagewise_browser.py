"""pytest plugin loaded into e2e runs: point pytest-playwright at the system browser.

It is a standalone module (it imports nothing from stagewise) so that any
test interpreter can load it from ``PYTHONPATH``. It registers its fixture at
configure time, after pytest-playwright, so its ``browser_type_launch_args``
is the one pytest resolves; a project's own conftest can still override it.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest


class _SystemBrowser:
    @pytest.fixture(scope="session")
    def browser_type_launch_args(self, pytestconfig: pytest.Config) -> dict[str, Any]:
        args: dict[str, Any] = {
            "executable_path": os.environ["STAGEWISE_BROWSER_EXECUTABLE"],
            "args": json.loads(os.environ.get("STAGEWISE_BROWSER_ARGS", "[]")),
            "headless": os.environ.get("STAGEWISE_HEADLESS", "1") == "1",
        }
        slowmo = pytestconfig.getoption("--slowmo", default=None)
        if slowmo:
            args["slow_mo"] = slowmo
        return args


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("STAGEWISE_BROWSER_EXECUTABLE"):
        config.pluginmanager.register(_SystemBrowser(), "stagewise-system-browser")
