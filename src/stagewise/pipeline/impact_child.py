"""Read which test touched which file from one tier's coverage data: runs in the PROJECT's interpreter.

stagewise never imports this module. :mod:`stagewise.pipeline.impact` runs it
as ``<project python> impact_child.py DATA_FILE OUT.json`` after a tier that
recorded dynamic contexts (pytest-cov ``--cov-context=test``), because
``coverage`` is installed in the project's venv, not necessarily in
stagewise's. It imports nothing from stagewise, uses coverage's public
``CoverageData`` API (5.0 and later) and keeps to Python 3.8 syntax.

OUT.json: ``{"coverage_version", "files": {path: {"contexts": [context, ...],
"import_lines": [line, ...]}}}``: every measured file (absolute, as coverage
recorded it), the contexts that executed any of its lines (pytest-cov names
them ``NODEID|setup``, ``NODEID|run``, ``NODEID|teardown``), and the lines run
outside every test (the empty context: imports at collection time).
"""

from __future__ import annotations

import json
import sys

import coverage


def main(data_file: str, out: str) -> int:
    data = coverage.CoverageData(basename=data_file)
    data.read()
    files = {}
    for path in sorted(data.measured_files()):
        contexts = set()
        import_lines = set()
        by_line = data.contexts_by_lineno(path)
        for line, names in by_line.items():
            for name in names:
                if name:
                    contexts.add(name)
                else:
                    import_lines.add(line)
        files[path] = {"contexts": sorted(contexts), "import_lines": sorted(import_lines)}
    with open(out, "w", encoding="utf-8") as handle:
        json.dump({"coverage_version": coverage.__version__, "files": files}, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
