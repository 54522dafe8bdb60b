"""pytest plugin half of ``stagewise test --changed``: keep the affected tests, and note spawning tests.

Standalone (it imports nothing from stagewise) so any test interpreter can
load it; ``stagewise_record`` registers it.

- ``STAGEWISE_CHANGED`` names a JSON file ``{"keep": [nodeid...], "files":
  [test file...], "known": [nodeid...]}``: a collected test stays when it is
  in ``keep``, lives in one of ``files`` (a changed test file runs whole), or
  is not in ``known`` (the impact data has never seen it, so it cannot judge
  it: it runs). The rest are deselected, the way ``-k`` would.
- ``STAGEWISE_IMPACT=1`` (a run that records impact data): a ``spawn`` event
  for each test that starts another process (subprocess, fork, os.system,
  multiprocessing), with the phase it started in. Coverage does not follow
  the code such a test runs in its child, so the impact data marks the test
  (and, for a start in a wider fixture's setup, every test sharing it) to run
  on every code change.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest

CHANGED_ENV = "STAGEWISE_CHANGED"
IMPACT_ENV = "STAGEWISE_IMPACT"


def install(config: pytest.Config, emit: Callable[[dict[str, Any]], None]) -> None:
    """Register what the environment asks for."""
    path = os.environ.get(CHANGED_ENV)
    if path:
        config.pluginmanager.register(_keep_class()(path, emit), "stagewise_changed_keep")
    if os.environ.get(IMPACT_ENV) == "1":
        config.pluginmanager.register(_spawn_class()(emit), "stagewise_changed_spawn")


def _keep_class() -> type[Any]:
    import pytest

    class KeepAffected:
        def __init__(self, path: str, emit: Callable[[dict[str, Any]], None]) -> None:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
            self.keep = set(data.get("keep") or ())
            self.files = set(data.get("files") or ())
            self.known = set(data.get("known") or ())
            self.emit = emit

        @pytest.hookimpl(trylast=True)
        def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
            def kept(item: pytest.Item) -> bool:
                nodeid = item.nodeid
                return (
                    nodeid in self.keep or nodeid.split("::", 1)[0] in self.files or nodeid not in self.known
                )

            dropped = [item for item in items if not kept(item)]
            self.emit({"event": "changed", "selected": len(items) - len(dropped), "total": len(items)})
            if dropped:
                items[:] = [item for item in items if kept(item)]
                config.hook.pytest_deselected(items=dropped)

    return KeepAffected


def _spawn_class() -> type[Any]:
    import pytest

    class SpawnWatch:
        """Wraps the ways a test starts a process; the first start per test is one event."""

        def __init__(self, emit: Callable[[dict[str, Any]], None]) -> None:
            self.emit = emit
            self.current = ""
            self.phase = ""
            self.noted: set[tuple[str, str]] = set()
            self._wrap_all()

        def _note(self) -> None:
            if self.current and (self.current, self.phase) not in self.noted:
                self.noted.add((self.current, self.phase))
                self.emit({"event": "spawn", "nodeid": self.current, "when": self.phase})

        def _wrap(self, owner: Any, name: str) -> None:
            original = getattr(owner, name, None)
            if original is None or getattr(original, "_stagewise_wrapped", False):
                return
            note = self._note

            def wrapper(*args: Any, **kwargs: Any) -> Any:
                note()
                return original(*args, **kwargs)

            wrapper._stagewise_wrapped = True  # type: ignore[attr-defined]
            setattr(owner, name, wrapper)

        def _wrap_all(self) -> None:
            import subprocess

            original_init = subprocess.Popen.__init__
            note = self._note

            def popen_init(popen: Any, *args: Any, **kwargs: Any) -> None:
                note()
                original_init(popen, *args, **kwargs)

            subprocess.Popen.__init__ = popen_init  # type: ignore[method-assign,assignment]
            for name in ("system", "fork", "forkpty", "posix_spawn", "posix_spawnp", "spawnv", "spawnve"):
                self._wrap(os, name)
            try:
                import multiprocessing.util as mp_util
            except ImportError:  # pragma: no cover - every CPython has it
                return
            self._wrap(mp_util, "spawnv_passfds")

        @pytest.hookimpl(tryfirst=True)
        def pytest_runtest_setup(self, item: pytest.Item) -> None:
            self.current, self.phase = item.nodeid, "setup"

        @pytest.hookimpl(tryfirst=True)
        def pytest_runtest_call(self, item: pytest.Item) -> None:
            self.current, self.phase = item.nodeid, "call"

        @pytest.hookimpl(tryfirst=True)
        def pytest_runtest_teardown(self, item: pytest.Item) -> None:
            self.current, self.phase = item.nodeid, "teardown"

        @pytest.hookimpl(trylast=True)
        def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
            self.current = ""

    return SpawnWatch
