"""Combine a run's coverage data and write its reports: runs in the PROJECT's interpreter.

stagewise never imports this module. :mod:`stagewise.pipeline.coverage_gate`
runs it as ``<project python> coverage_child.py SPEC.json`` once per run,
after the coverage tiers, because ``coverage`` (pytest-cov's dependency) is
installed in the project's venv and not necessarily in stagewise's. So it
imports nothing from stagewise, uses only coverage's public API as old as
coverage 5.2 (pytest-cov 4.0's minimum), and keeps to Python 3.8 syntax.

SPEC.json: ``{"tiers": [[name, data_file], ...], "groups": {name: [tier, ...]},
"sources": [...], "data_file", "json", "html", "text", "result"}``. It
writes ``result``: ``{"coverage_version", "fail_under", "include",
"unresolved", "report_error", "groups": {name: {"totals", "files"} |
{"error"}}}``, where every number is over the files under ``sources`` only
(the project's own ``--cov=tests`` may add data; it never adds to a number).
The project's coverage configuration (``.coveragerc``, ``[tool.coverage]``)
is read as pytest-cov reads it, so its ``omit`` and ``exclude_lines`` apply.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import tempfile

import coverage


def _include(sources: list[str]) -> tuple[list[str] | None, list[str]]:
    """coverage ``include`` patterns for the sources (directories, files or module names).

    A module name is found the way coverage finds ``--cov=NAME`` (``find_spec``),
    so a src layout or an installed package resolves too. ``None``: no sources
    configured, every measured file counts.
    """
    if not sources:
        return None, []
    patterns: list[str] = []
    unresolved: list[str] = []
    for source in sources:
        path = os.path.abspath(source)
        if os.path.isdir(path):
            patterns.append(os.path.join(path, "*"))
            continue
        if os.path.isfile(path):
            patterns.append(path)
            continue
        try:
            spec = importlib.util.find_spec(source)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            patterns += [os.path.join(os.path.abspath(p), "*") for p in spec.submodule_search_locations]
        elif spec is not None and spec.origin and os.path.isfile(spec.origin):
            patterns.append(os.path.abspath(spec.origin))
        else:
            unresolved.append(source)
    return patterns, unresolved


#: The project's ``--cov-config`` file when its addopts name one, else coverage's own search.
CONFIG: str | bool = True


def _combined(files: list[str], data_file: str, scratch: str) -> coverage.Coverage:
    """One Coverage over ``files`` combined into ``data_file``; the tier files stay untouched."""
    copies = []
    for index, file in enumerate(files):
        copy = os.path.join(scratch, f"in-{index}-{os.path.basename(file)}")
        shutil.copyfile(file, copy)
        copies.append(copy)
    if os.path.exists(data_file):
        os.remove(data_file)
    cov = coverage.Coverage(data_file=data_file, config_file=CONFIG)
    cov.combine(data_paths=copies)
    cov.save()
    return cov


def _measure(cov: coverage.Coverage, include: list[str] | None, scratch: str, name: str) -> dict[str, object]:
    out = os.path.join(scratch, f"group-{name}.json")
    try:
        cov.json_report(outfile=out, include=include)
        with open(out, encoding="utf-8") as handle:
            data = json.load(handle)
    except coverage.CoverageException as exc:
        return {"error": str(exc)}
    files = {path: info.get("summary", {}) for path, info in data.get("files", {}).items()}
    return {"totals": data.get("totals", {}), "files": files}


def main(spec_path: str) -> int:
    # Run as a script, sys.path[0] is stagewise's own folder: a source named like one of its
    # modules must resolve in the project (the working directory), as ``python -m pytest`` sees it.
    sys.path[0] = os.getcwd()
    global CONFIG  # noqa: PLW0603 - one setting for the whole (short-lived) script
    with open(spec_path, encoding="utf-8") as handle:
        spec = json.load(handle)
    CONFIG = spec.get("config_file") or True
    tiers = {name: path for name, path in spec["tiers"] if os.path.isfile(path)}
    include, unresolved = _include(list(spec["sources"]))
    result: dict[str, object] = {
        "coverage_version": coverage.__version__,
        "fail_under": None,
        "include": include,
        "unresolved": unresolved,
        "report_error": None,
        "groups": {},
    }
    groups: dict[str, object] = {}
    scratch = tempfile.mkdtemp(prefix="stagewise-coverage-")
    try:
        config_cov = coverage.Coverage(config_file=CONFIG)
        result["fail_under"] = getattr(config_cov.config, "fail_under", None) or None
        for name, members in spec["groups"].items():
            absent = [m for m in members if m not in tiers]
            if absent or not members:  # a figure over fewer tiers than asked would lie
                groups[name] = {
                    "error": "no coverage data was written by " + (", ".join(absent) or "any tier")
                }
                continue
            files = [tiers[m] for m in members]
            if include == []:  # sources named, none found: an empty include would mean "everything"
                groups[name] = {"error": "No data to report."}
                continue
            try:
                cov = _combined(files, os.path.join(scratch, f"data-{name}"), scratch)
            except coverage.CoverageException as exc:
                groups[name] = {"error": str(exc)}
                continue
            groups[name] = _measure(cov, include, scratch, name)
        if tiers and include != []:
            result["report_error"] = _reports(list(tiers.values()), include, spec, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result["groups"] = groups
    with open(spec["result"], "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0


def _reports(files: list[str], include: list[str] | None, spec: dict[str, str], scratch: str) -> str | None:
    """The run's reports, each written once, from all the coverage tiers' data combined."""
    try:
        cov = _combined(files, spec["data_file"], scratch)
        cov.json_report(outfile=spec["json"], include=include)
        cov.html_report(directory=spec["html"], include=include)
        with open(spec["text"], "w", encoding="utf-8") as text:
            cov.report(file=text, include=include)
    except coverage.CoverageException as exc:
        return str(exc)
    return None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
