"""Fixtures shared by every test: throwaway projects in temporary directories."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

ProjectFactory = Callable[[Mapping[str, str]], Path]


@pytest.fixture
def make_project(tmp_path: Path) -> ProjectFactory:
    """Write a throwaway project from ``{relative path: text}`` and return its root."""

    def make(files: Mapping[str, str]) -> Path:
        root = tmp_path / "project"
        root.mkdir(exist_ok=True)
        for relative, text in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        return root

    return make


@pytest.fixture
def static_site(tmp_path: Path) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving one small page; yields its URL."""
    import functools
    import http.server
    import threading

    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(
        "<!doctype html><title>Static Shop</title><h1 id='hello'>Hello from the shop</h1>", encoding="utf-8"
    )

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return None

    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def running_in_ci() -> bool:
    """``CI=true`` (or 1/yes), as CI systems set it."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def requires(available: bool, reason: str) -> pytest.MarkDecorator:
    """Mark a test that needs something the machine may lack (a binary, root, a service).

    Off CI it skips with ``reason``; with ``CI=true`` it fails instead, because
    CI installs everything the suite needs and a silent skip there would hide
    a broken set-up (scripts/test-machine.sh).
    """
    return pytest.mark.requires(available=available, reason=reason)


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("requires"):
        if mark.kwargs["available"]:
            continue
        reason = mark.kwargs["reason"]
        if running_in_ci():
            pytest.fail(
                f"{reason}; CI=true, where it must be present: failing instead of skipping", pytrace=False
            )
        pytest.skip(reason)
