"""pytest plugin loaded into e2e runs: point pytest-playwright at the system browser.

Standalone (it imports nothing from stagewise) so that any test interpreter
can load it from ``PYTHONPATH``. pytest resolves a fixture to the plugin
registered last, and ``-p`` plugins load before installed ones, so the
fixtures live in a second module registered here at configure time, after
pytest-playwright. A project's own conftest can still override them.
"""

from __future__ import annotations

import importlib
import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("STAGEWISE_BROWSER_EXECUTABLE"):
        fixtures = importlib.import_module("stagewise_browser_fixtures")
        config.pluginmanager.register(fixtures, "stagewise-system-browser")
