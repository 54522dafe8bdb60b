"""The shape issue 13 asked for, held: no import cycles, small modules, rules in one place.

These read the source tree (``scripts/code_shape.py`` counts every import,
inside functions and under ``TYPE_CHECKING`` too), so a later change that
brings a cycle, a 600-line module or a tier name back into the pipeline fails
here with the offender named.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
PACKAGE = SRC / "stagewise"
TIER_NAMES = {"unit", "integration", "api", "e2e", "performance", "security", "resilience"}
MAX_LINES = 500


def _code_shape() -> ModuleType:
    spec = importlib.util.spec_from_file_location("code_shape", ROOT / "scripts" / "code_shape.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("code_shape", module)
    spec.loader.exec_module(module)
    return module


def test_no_import_cycles() -> None:
    shape = _code_shape()
    assert shape.cycles(shape.import_graph(SRC)) == []


def test_the_cycle_finder_finds_a_cycle(tmp_path: Path) -> None:
    """The checker itself can fail: two modules importing each other (one inside a function)."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg import b\n")
    (pkg / "b.py").write_text("def f():\n    from pkg.a import x\n")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.a\n")
    shape = _code_shape()
    assert shape.cycles(shape.import_graph(tmp_path)) == [["pkg.a", "pkg.b"]]


def test_no_module_over_the_limit() -> None:
    sizes = _code_shape().sizes(SRC)
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_no_tier_name_as_a_string_in_the_pipeline() -> None:
    found = []
    for path in sorted((PACKAGE / "pipeline").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in TIER_NAMES:
                found.append(f"{path.name}:{node.lineno} {node.value!r}")
    assert found == []


def test_every_stagewise_error_is_defined_in_errors_py() -> None:
    errors_tree = ast.parse((PACKAGE / "errors.py").read_text(encoding="utf-8"))
    error_names = {n.name for n in errors_tree.body if isinstance(n, ast.ClassDef)} - {"ExitCode"}
    assert "StagewiseError" in error_names
    outside = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "errors.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
                if bases & error_names:
                    outside.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name}")
    assert outside == []
