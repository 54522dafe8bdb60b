"""Read which test touched which file from one tier's coverage data: runs in the PROJECT's interpreter.

stagewise never imports this module. :mod:`stagewise.pipeline.impact` runs it
as ``<project python> impact_child.py DATA_FILE OUT.json`` after a tier that
recorded dynamic contexts (pytest-cov ``--cov-context=test``), because
``coverage`` is installed in the project's venv, not necessarily in
stagewise's. It imports nothing from stagewise, uses coverage's public
``CoverageData`` API (5.0 and later) and keeps to Python 3.8 syntax.

OUT.json: ``{"coverage_version", "contexts": [name, ...], "files": {path:
{line: [context index, ...]}}}``: every measured file (absolute, as coverage
recorded it) and, for each executed line, the contexts that executed it
(pytest-cov names them ``NODEID|setup``, ``NODEID|run``, ``NODEID|teardown``;
the empty name is code run outside every test: imports at collection time).
"""

from __future__ import annotations

import json
import sys

import coverage


def main(data_file: str, out: str) -> int:
    data = coverage.CoverageData(basename=data_file)
    data.read()
    index: dict[str, int] = {}
    files: dict[str, dict[str, list[int]]] = {}
    for path in sorted(data.measured_files()):
        lines: dict[str, list[int]] = {}
        for line, names in data.contexts_by_lineno(path).items():
            lines[str(line)] = sorted(index.setdefault(name, len(index)) for name in set(names))
        files[path] = lines
    contexts = sorted(index, key=index.__getitem__)
    with open(out, "w", encoding="utf-8") as handle:
        json.dump({"coverage_version": coverage.__version__, "contexts": contexts, "files": files}, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
