"""A module's shape (what importing it does) against its function bodies (what calling them does)."""

from __future__ import annotations

from stagewise.pipeline.module_shape import function_bodies, imported_names, module_name, shape

SOURCE = '''
import os
RATE = 2


def price(x, y=RATE):
    """Docstring."""
    return x * y


class Cart:
    size = 3

    def total(self):
        def inner():
            return 1
        return inner() + 1
'''


def test_a_change_inside_a_function_body_keeps_the_shape() -> None:
    assert shape(SOURCE) == shape(SOURCE.replace("return x * y", "return y * x"))
    assert shape(SOURCE) == shape(SOURCE.replace("return 1", "return 2"))


def test_a_change_outside_function_bodies_changes_the_shape() -> None:
    for old, new in [
        ("RATE = 2", "RATE = 3"),
        ("y=RATE", "y=1"),
        ("size = 3", "size = 4"),
        ("import os", ""),
    ]:
        assert shape(SOURCE) != shape(SOURCE.replace(old, new)), old


def test_unparsable_source_has_no_shape() -> None:
    assert shape("def broken(:\n") is None
    assert function_bodies("def broken(:\n") is None


def test_each_function_has_its_own_lines_and_digest() -> None:
    bodies = function_bodies(SOURCE)
    assert bodies is not None
    assert set(bodies) == {"price#0", "Cart.total#0", "Cart.total.inner#0"}
    lines = SOURCE.splitlines()
    inner_line = next(i for i, line in enumerate(lines, 1) if "return 1" in line)
    assert inner_line in bodies["Cart.total.inner#0"][1]
    assert inner_line not in bodies["Cart.total#0"][1]  # the innermost function owns a line
    changed = function_bodies(SOURCE.replace("return 1", "return 2"))
    assert changed is not None
    assert changed["Cart.total.inner#0"][0] != bodies["Cart.total.inner#0"][0]
    assert changed["Cart.total#0"][0] == bodies["Cart.total#0"][0]
    assert changed["price#0"] == bodies["price#0"]


def test_imported_names_resolve_relative_imports_and_name_parents() -> None:
    source = "from . import a\nfrom ..b import c\nimport x.y\n\ndef f():\n    import lazy\n"
    names = imported_names(source, "pkg/sub/mod.py")
    assert names is not None
    assert {"pkg.sub", "pkg.sub.a", "pkg.b", "pkg.b.c", "pkg", "x", "x.y", "lazy"} <= names
    assert module_name("pkg/sub/__init__.py") == "pkg.sub"
    assert module_name("pkg/sub/mod.py") == "pkg.sub.mod"
