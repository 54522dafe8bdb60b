"""Find the system Chromium and check a display for headed runs.

stagewise never downloads a browser: it drives the one the system package
manager installed, through Playwright's ``executable_path``.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from stagewise.errors import MissingError

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/snap/bin/chromium")
_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


@dataclass(frozen=True)
class BrowserRun:
    """How the e2e tier launches the system browser."""

    executable: str
    args: tuple[str, ...]
    headless: bool


def find_browser(configured: str | None) -> str:
    """The Chromium executable to use, or :class:`MissingError` saying how to get one."""
    if configured:
        found = shutil.which(configured) or (configured if Path(configured).is_file() else None)
        if found is None:
            raise MissingError(
                f"browser.executable {configured!r} does not exist: install Chromium "
                "(`apt-get install chromium`) or fix browser.executable in stagewise.toml"
            )
        return found
    for candidate in CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise MissingError(
        "no Chromium found for the e2e tier: install it with `apt-get install chromium` "
        "or set browser.executable in stagewise.toml"
    )


def require_display(env: Mapping[str, str]) -> None:
    """Headed browsers need a display; say how to get one when there is none."""
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return
    raise MissingError(
        "--no-headless needs a display but DISPLAY is not set: run it under "
        "`xvfb-run stagewise test --e2e --no-headless`, or drop --no-headless"
    )
