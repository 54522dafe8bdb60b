"""The pytest arguments given after ``--`` (and ``-k``): checked, and ``-m`` folded into the filter.

They reach each pytest tier's command after stagewise's own, so pytest's
"the last one wins" would let some of them quietly take stagewise's evidence
or a stage's rule away. Those are refused (exit 2, one line saying why):

- ``--junitxml``/``--junit-xml``/``--junit-prefix``: the tier's verdict is read
  from the JUnit XML stagewise writes, under the names pytest gives;
- ``-p no:junitxml``, ``-p no:stagewise...``: the plug-ins that write that evidence;
- ``--collect-only``/``--co``, ``--setup-only``, ``--setup-plan``, ``--fixtures``,
  ``--fixtures-per-test``, ``--markers``, ``--version``, ``-h``: pytest runs no
  test, so the tier would read as "no tests" (exit 5); run pytest itself for those.

``-m EXPR`` is not passed on raw (a later ``-m`` would replace a protected
stage's ``smoke`` filter): it is ANDed into the tier's marker filter like the
tier's and the stage's own. ``-k`` given both as stagewise's option and after
``--`` is ambiguous (pytest keeps only the last) and refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stagewise.errors import UsageError
from stagewise.project.policy import combine_markers

_EVIDENCE = ("--junitxml", "--junit-xml", "--junit-prefix")
_NO_RUN = (
    "--collect-only",
    "--collectonly",
    "--co",
    "--setup-only",
    "--setup-plan",
    "--fixtures",
    "--funcargs",
    "--fixtures-per-test",
    "--markers",
    "--version",
    "-V",
    "--help",
    "-h",
)
_OWN_PLUGINS = ("junitxml", "stagewise")


@dataclass(frozen=True)
class PytestArgs:
    """The arguments every pytest tier gets after stagewise's, and the ``-m`` taken out of them."""

    args: tuple[str, ...] = ()
    markers: str | None = None


def pytest_args(passthrough: Sequence[str], keyword: str | None) -> PytestArgs:
    """Check the passthrough arguments; ``keyword`` is stagewise's own ``-k``."""
    args: list[str] = []
    markers: list[str] = []
    rest = list(passthrough)
    while rest:
        arg = rest.pop(0)
        name = arg.split("=", 1)[0]
        if name in _EVIDENCE:
            raise UsageError(
                f"-- {name}: stagewise writes each tier's JUnit XML itself (junit-TIER.xml in the run's "
                "report folder) and reads its verdict from it; leave it out"
            )
        if name in _NO_RUN:
            raise UsageError(
                f"-- {name}: pytest runs no test with it; run `python -m pytest {name}` directly"
            )
        if name == "-p" or (arg.startswith("-p") and not arg.startswith("--")):
            plugin = (arg[2:].lstrip("=") or (rest[0] if rest else "")).strip()
            if plugin.startswith("no:") and plugin[3:].startswith(_OWN_PLUGINS):
                raise UsageError(
                    f"-- -p {plugin}: that plug-in writes the evidence stagewise reads; leave it out"
                )
        if name == "-m" or (arg.startswith("-m") and not arg.startswith("--")):
            value = arg[2:].lstrip("=") if len(arg) > 2 else (rest.pop(0) if rest else "")
            if not value:
                raise UsageError("-- -m needs a marker expression, e.g. -- -m 'not slow'")
            markers.append(value)
            continue
        if keyword is not None and arg.startswith("-k"):
            raise UsageError(
                "-k is given twice (as stagewise's -k and after --): pytest keeps only one; give one"
            )
        args.append(arg)
    if keyword is not None:
        args[:0] = ["-k", keyword]
    return PytestArgs(tuple(args), combine_markers(*markers))


__all__ = ["PytestArgs", "pytest_args"]
