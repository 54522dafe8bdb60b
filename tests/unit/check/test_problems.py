"""Reading ``path:line`` problems out of what linters and type checkers print.

The samples are the tools' real output formats (ruff 0.17 full and concise,
flake8, mypy), copied from runs on this machine.
"""

from __future__ import annotations

from stagewise.check.command import problems_in

RUFF_FULL = """\
F401 [*] `os` imported but unused
 --> app/core.py:1:8
  |
1 | import os
  |        ^^
  |
help: Remove unused import: `os`

Found 1 error.
[*] 1 fixable with the `--fix` option.
"""

RUFF_CONCISE = "app/core.py:1:8: F401 [*] `os` imported but unused\nFound 1 error.\n"
FLAKE8 = "./app/core.py:1:1: F401 'os' imported but unused\n./app/b.py:3:80: E501 line too long (90 > 79 characters)\n"
MYPY = """\
app/core.py:4: error: Incompatible return value type (got "str", expected "int")  [return-value]
app/core.py:4: note: See https://mypy.rtfd.io/en/stable/_refs.html#code-return-value
Found 1 error in 1 file (checked 2 source files)
"""


def test_ruff_full_format_takes_the_rule_line_above_the_location() -> None:
    [problem] = problems_in(RUFF_FULL.splitlines())
    assert problem.location == "app/core.py:1:8"
    assert problem.message == "F401 [*] `os` imported but unused"


def test_ruff_concise_and_flake8_name_each_file_once() -> None:
    assert [(p.location, p.message) for p in problems_in(RUFF_CONCISE.splitlines())] == [
        ("app/core.py:1:8", "F401 [*] `os` imported but unused")
    ]
    found = problems_in(FLAKE8.splitlines())
    assert [p.location for p in found] == ["app/core.py:1:1", "app/b.py:3:80"]
    assert found[1].message.startswith("E501 line too long")


def test_mypy_errors_count_and_its_notes_do_not() -> None:
    [problem] = problems_in(MYPY.splitlines())
    assert problem.location == "app/core.py:4"
    assert problem.message.startswith('Incompatible return value type (got "str"')


def test_output_without_locations_has_no_problems() -> None:
    assert problems_in(["All checks passed!", "Success: no issues found in 3 source files"]) == []
