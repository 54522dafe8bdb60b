"""The tool probe's answer is remembered until the interpreter's packages change (issue 20).

The interpreter is real: a wrapper script that counts its starts and runs this
Python, so each test sees whether the probe started it or reused its answer.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from stagewise.report.run_info import tool_versions
from stagewise.tiers import probe_cache
from stagewise.tiers.tools import PYTEST, Tool, probe

FAKE = Tool("swfake_tool", "swfake-tool", "a test")


@pytest.fixture
def counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path, Path]:
    """(an interpreter that counts its starts, its start log, a folder on its sys.path)."""
    starts = tmp_path / "starts"
    wrapper = tmp_path / "bin" / "python"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\necho start >> "{starts}"\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    extra = tmp_path / "extra"
    extra.mkdir()
    monkeypatch.setenv("PYTHONPATH", str(extra))
    monkeypatch.setenv("STAGEWISE_PROBE_CACHE", str(tmp_path / "cache"))
    return str(wrapper), starts, extra


def _starts(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def _install_fake(folder: Path, version: str) -> None:
    """What pip leaves: the module and its dist-info (the folder's mtime changes with it)."""
    (folder / "swfake_tool.py").write_text("")
    for old in folder.glob("swfake_tool-*.dist-info"):
        for item in old.iterdir():
            item.unlink()
        old.rmdir()
    info = folder / f"swfake_tool-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: swfake-tool\nVersion: {version}\n")


def test_a_second_probe_reuses_the_answer(counted: tuple[str, Path, Path]) -> None:
    python, starts, _ = counted
    first = probe(python, [PYTEST, FAKE], pins=False)
    second = probe(python, [PYTEST, FAKE], pins=False)
    assert _starts(starts) == 1
    assert second == first
    assert first.versions["pytest"]
    assert first.versions["swfake_tool"] is None


def test_an_install_or_upgrade_there_asks_again(counted: tuple[str, Path, Path]) -> None:
    python, starts, extra = counted
    assert probe(python, [FAKE], pins=False).versions["swfake_tool"] is None
    _install_fake(extra, "1.0")
    assert probe(python, [FAKE], pins=False).versions["swfake_tool"] == "1.0"
    _install_fake(extra, "2.0")
    assert probe(python, [FAKE], pins=False).versions["swfake_tool"] == "2.0"
    assert probe(python, [FAKE], pins=False).versions["swfake_tool"] == "2.0"
    assert _starts(starts) == 3


def test_another_question_or_sys_path_is_asked_anew(
    counted: tuple[str, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python, starts, _ = counted
    probe(python, [PYTEST], pins=False)
    probe(python, [PYTEST], pins=True)  # the pins are another answer
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv("PYTHONPATH", str(other))
    probe(python, [PYTEST], pins=False)
    assert _starts(starts) == 3


def test_off_or_unreadable_cache_only_probes(
    counted: tuple[str, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python, starts, _ = counted
    probe(python, [PYTEST], pins=False)
    for entry in (tmp_path / "cache").iterdir():
        entry.write_text("{not json")
    assert probe(python, [PYTEST], pins=False).versions["pytest"]
    monkeypatch.setenv("STAGEWISE_PROBE_CACHE", "off")
    probe(python, [PYTEST], pins=False)
    probe(python, [PYTEST], pins=False)
    assert _starts(starts) == 4


def test_an_unwritable_cache_is_not_an_error(
    counted: tuple[str, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python, starts, _ = counted
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("STAGEWISE_PROBE_CACHE", str(blocker / "cache"))
    assert probe(python, [PYTEST], pins=False).versions["pytest"]
    assert probe(python, [PYTEST], pins=False).versions["pytest"]
    assert _starts(starts) == 2


def test_the_report_versions_come_from_the_same_answer(counted: tuple[str, Path, Path]) -> None:
    python, starts, _ = counted
    first = tool_versions(python)
    assert first["python"] == ".".join(map(str, sys.version_info[:3]))
    assert first["pytest"] == PYTEST_VERSION
    assert tool_versions(python) == first
    assert _starts(starts) == 1


def test_the_cache_defaults_under_xdg_cache_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("STAGEWISE_PROBE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert probe_cache.cache_dir() == tmp_path / "stagewise" / "probes"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert probe_cache.cache_dir() == Path(os.path.expanduser("~")) / ".cache" / "stagewise" / "probes"


PYTEST_VERSION = pytest.__version__


def test_stagewise_own_interpreter_is_answered_from_the_cache_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No child there, but the metadata scan is skipped the same way (the entry is what is read)."""
    monkeypatch.setenv("STAGEWISE_PROBE_CACHE", str(tmp_path / "cache"))
    first = probe(sys.executable, [PYTEST, FAKE], pins=False)
    assert first.versions["pytest"] == PYTEST_VERSION
    (entry,) = (tmp_path / "cache").iterdir()
    kept = json.loads(entry.read_text())
    kept["answer"]["tools"]["pytest"] = "0.0-from-the-cache"
    entry.write_text(json.dumps(kept))
    assert probe(sys.executable, [PYTEST, FAKE], pins=False).versions["pytest"] == "0.0-from-the-cache"
    kept["stamps"][0][1] = 1  # the interpreter file "changed": asked again
    entry.write_text(json.dumps(kept))
    assert probe(sys.executable, [PYTEST, FAKE], pins=False).versions["pytest"] == PYTEST_VERSION
