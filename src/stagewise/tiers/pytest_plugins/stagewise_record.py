"""pytest plugin loaded into every pytest tier: record each test attempt as one JSON line.

Why a plugin and not pytest's JUnit XML: the JUnit dialect changes under the
tier's feet (pytest 7.4 with pytest-rerunfailures 14 folds a rerun into the
final testcase, pytest 9 writes it as its own), xfail hides inside
``<skipped>``, deselection is not in it at all, and a project's own
``--junitxml`` in ``addopts`` would be overridden by ours. Public hooks, by
contrast, have said the same thing from pytest 7 to 9.

Standalone (it imports nothing from stagewise) so that any test interpreter
can load it from ``PYTHONPATH`` with ``-p stagewise_record``. It writes to the
file named by ``STAGEWISE_RECORD_FILE`` (nothing without it) and registers the
marker names in ``STAGEWISE_MARKERS`` (a JSON list) so ``--strict-markers``
projects accept the markers stagewise selects on.

pytest-xdist: test reports reach the controller through
``pytest_runtest_logreport``, so reports are recorded there only; collection
and deselection happen on the workers, so those facts are recorded by every
worker with its id and the reader deduplicates them. Lines are appended with
one ``write`` each, which concurrent processes do not interleave.
"""

from __future__ import annotations

import json
import os
import re
from typing import IO, Any

import pytest

RECORD_ENV = "STAGEWISE_RECORD_FILE"
MARKERS_ENV = "STAGEWISE_MARKERS"
MAX_TEXT = 20_000
MAX_MESSAGE = 2_000

#: The line xdist puts ahead of a worker's failure text (``[gw0] linux -- Python 3.12 /venv/bin/python``).
_XDIST_HEADER = re.compile(r"^\[gw\d+\] \S+ -- Python ")

_out: list[IO[str]] = []
_worker: list[str | None] = [None]


def _emit(record: dict[str, Any]) -> None:
    if not _out:
        return
    record["worker"] = _worker[0]
    _out[0].write(json.dumps(record, default=str) + "\n")
    _out[0].flush()


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    _register_markers(config)
    path = os.environ.get(RECORD_ENV)
    if not path or _out:
        return
    if _is_worker(config):
        _worker[0] = str(getattr(config, "workerinput", {}).get("workerid", "worker"))
    _out.append(open(path, "a", encoding="utf-8"))  # noqa: SIM115 - open for the whole session
    if not _is_worker(config):
        _emit({"event": "start", "pytest": pytest.__version__, "pid": os.getpid()})
    import importlib

    shard = importlib.import_module("stagewise_shard")  # the module beside this one
    shard.install_fixture_times(config, _emit)  # every run: the times a later --shard splits by
    if os.environ.get("STAGEWISE_SHARD"):  # stagewise test --shard K/N
        shard.install(config, _emit)
    if os.environ.get("STAGEWISE_CHANGED") or os.environ.get("STAGEWISE_IMPACT"):  # --changed, impact data
        importlib.import_module("stagewise_changed").install(config, _emit)


def _register_markers(config: pytest.Config) -> None:
    """Register each marker stagewise selects on, unless the project already does."""
    try:
        wanted = json.loads(os.environ.get(MARKERS_ENV, "[]"))
    except ValueError:
        return
    known = {str(line).split(":", 1)[0].split("(", 1)[0].strip() for line in config.getini("markers")}
    for name in wanted if isinstance(wanted, list) else ():
        if isinstance(name, str) and name and name not in known:
            config.addinivalue_line("markers", f"{name}: selected by stagewise (-m)")
            known.add(name)


def pytest_deselected(items: list[pytest.Item]) -> None:
    _emit({"event": "deselected", "count": len(items)})


def pytest_collection_finish(session: pytest.Session) -> None:
    _emit({"event": "collected", "count": len(session.items)})


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _emit(_collect_error(report))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _worker[0] is not None:
        return  # the controller records it when xdist forwards it
    if getattr(report, "when", None) == "collect" or not hasattr(report, "duration"):
        if report.failed:  # xdist forwards a worker's collection error as a log report
            _emit(_collect_error(report))
        return
    xfail = getattr(report, "wasxfail", None)
    _emit(
        {
            "event": "report",
            "subtest": _subtest(report),
            "nodeid": report.nodeid,
            "when": report.when,
            "outcome": report.outcome,
            "wasxfail": None if xfail is None else str(xfail),
            "duration": float(getattr(report, "duration", 0.0) or 0.0),
            "message": _message(report),
            "text": _text(report),
            "location": list(report.location) if getattr(report, "location", None) else None,
        }
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _worker[0] is None:
        _emit({"event": "end", "exitstatus": int(exitstatus), "testsfailed": int(session.testsfailed)})


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    while _out:
        _out.pop().close()


def _subtest(report: Any) -> str | None:
    """A subtest's label (``[msg] (k=v)``), or ``None`` for the test's own report.

    pytest 9's built-in subtests and pytest-subtests both report each subtest
    as one more ``call`` report of the same node id, with a ``context``
    holding its ``msg`` and ``kwargs``; without this mark they would read as
    reruns.
    """
    context = getattr(report, "context", None)
    if context is None or not hasattr(context, "kwargs"):
        return None
    msg = getattr(context, "msg", None)
    kwargs = getattr(context, "kwargs", None) or {}
    label = f"[{msg}]" if msg is not None else ""
    # under xdist the values arrive already rendered as strings
    params = ", ".join(
        f"{key}={value if isinstance(value, str) else repr(value)}" for key, value in dict(kwargs).items()
    )
    return " ".join(part for part in (label, f"({params})" if params else "") if part) or "(subtest)"


def _collect_error(report: Any) -> dict[str, Any]:
    return {
        "event": "collect_error",
        "nodeid": report.nodeid,
        "message": _message(report),
        "text": _text(report),
    }


def _message(report: Any) -> str:
    """The one-line reason, as pytest's own summary would show it."""
    longrepr = report.longrepr
    if longrepr is None:
        return ""
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])[:MAX_MESSAGE]  # a skip: (path, line, reason)
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        return str(crash.message).strip()[:MAX_MESSAGE]
    lines = [line for line in _text(report).splitlines() if line.strip() and not _XDIST_HEADER.match(line)]
    errors = [line[1:] for line in lines if line.startswith("E ")]
    return (errors[-1] if errors else lines[0] if lines else "").strip()[:MAX_MESSAGE]


def _text(report: Any) -> str:
    if report.longrepr is None:
        return ""
    try:
        text = str(report.longreprtext)
    except Exception:  # a report we cannot render still counts
        text = str(report.longrepr)
    return text[:MAX_TEXT]
