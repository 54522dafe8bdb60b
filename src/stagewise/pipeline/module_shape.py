"""What a Python file does when it is imported, as opposed to what its functions do when called.

``--changed`` attributes a file to the tests whose code executed its lines.
That is exact for a function's body: only a test that calls the function can
see the change. It is not for the rest of a module (constants, imports,
decorators, defaults, class bodies): those run once, at import, before any
test, and their values reach tests that never execute a line of the file. So
a file's *shape* is its AST with every function body left out; two versions
with the same shape differ only inside function bodies. When the shape
changes, the tests of every file that imports the module (transitively) are
affected, which :func:`imported_names` lets the caller work out.
"""

from __future__ import annotations

import ast
import copy
import hashlib

__all__ = ["function_bodies", "function_body_lines", "imported_names", "module_name", "shape"]


class _StripBodies(ast.NodeTransformer):
    def _strip(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
        node.body = [ast.Pass()]
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        self.generic_visit(node)  # decorators, defaults and annotations stay (they run at import)
        return self._strip(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        self.generic_visit(node)
        return self._strip(node)


def shape(source: str) -> str | None:
    """A digest of the module with function bodies left out; ``None`` when it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    stripped = _StripBodies().visit(tree)
    return hashlib.sha256(ast.dump(stripped, include_attributes=False).encode()).hexdigest()


def function_bodies(source: str) -> dict[str, tuple[str, frozenset[int]]] | None:
    """Each function (``Class.method#0``, ``outer.inner#0``) -> (a digest of its body, its own lines).

    A function's lines are those of its body outside any function nested in
    it (a line belongs to the innermost function holding it); its digest
    leaves nested bodies out too, so changing an inner function changes only
    the inner one's digest. ``None`` when the source does not parse.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    found: dict[str, tuple[str, frozenset[int]]] = {}
    seen: dict[str, int] = {}

    def body_range(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[int]:
        last = max(getattr(n, "end_lineno", None) or n.lineno for n in node.body)
        return set(range(node.body[0].lineno, last + 1))

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                qualname = f"{prefix}{child.name}"
                count = seen.get(qualname, 0)
                seen[qualname] = count + 1
                own = body_range(child)
                for inner in ast.walk(child):
                    if inner is not child and isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef):
                        own -= body_range(inner)
                body = ast.Module(
                    body=[_StripBodies().visit(copy.deepcopy(s)) for s in child.body], type_ignores=[]
                )
                digest = hashlib.sha256(ast.dump(body, include_attributes=False).encode()).hexdigest()
                found[f"{qualname}#{count}"] = (digest, frozenset(own))
                visit(child, f"{qualname}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def function_body_lines(source: str) -> set[int]:
    """The line numbers inside function bodies (a line executed there at import means a call at import)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0].lineno
            last = max(getattr(n, "end_lineno", None) or n.lineno for n in node.body)
            lines.update(range(first, last + 1))
    return lines


def module_name(path: str) -> str:
    """``shop/api/orders.py`` -> ``shop.api.orders``; ``shop/__init__.py`` -> ``shop``."""
    parts = path.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_names(source: str, path: str) -> set[str] | None:
    """Every module name the file may import (anywhere in it), relative imports resolved; ``None``: unparsable.

    ``from a.b import c`` yields ``a``, ``a.b`` and ``a.b.c`` (``c`` may be a
    submodule); each import also names its parent packages, which Python
    imports first.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    package = module_name(path).split(".")
    if not path.endswith("__init__.py"):
        package = package[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1] if node.level <= len(package) + 1 else []
                stem = ".".join([*base, *(node.module.split(".") if node.module else [])])
            else:
                stem = node.module or ""
            if stem:
                names.add(stem)
            names.update(f"{stem}.{alias.name}" if stem else alias.name for alias in node.names)
    with_parents: set[str] = set()
    for name in names:
        parts = name.split(".")
        with_parents.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return with_parents
