"""The arguments after ``--``: passed on in order, minus what would break stagewise's evidence."""

from __future__ import annotations

import pytest

from stagewise.errors import ExitCode, UsageError
from stagewise.pipeline.passthrough import PytestArgs, pytest_args


def refused(*args: str, keyword: str | None = None) -> str:
    with pytest.raises(UsageError) as caught:
        pytest_args(args, keyword)
    assert caught.value.exit_code == ExitCode.USAGE
    return str(caught.value)


def test_ordinary_arguments_pass_in_order_after_stagewise_k() -> None:
    assert pytest_args(("-x", "--tb=short", "-p", "xdist", "-n", "2"), "name") == PytestArgs(
        ("-k", "name", "-x", "--tb=short", "-p", "xdist", "-n", "2")
    )
    assert pytest_args((), None) == PytestArgs()


def test_marker_expressions_are_taken_out_and_anded() -> None:
    assert pytest_args(("-m", "slow", "-q", "-mnot db"), None) == PytestArgs(("-q",), "(slow) and (not db)")
    assert pytest_args(("-m", "slow"), None).markers == "slow"
    assert "needs a marker expression" in refused("-m")


@pytest.mark.parametrize("arg", ["--junitxml=out.xml", "--junitxml", "--junit-xml=x", "--junit-prefix=p"])
def test_junit_options_are_refused(arg: str) -> None:
    assert "stagewise writes each tier's JUnit XML itself" in refused(arg, "x")


@pytest.mark.parametrize("args", [("-p", "no:junitxml"), ("-pno:junitxml",), ("-p", "no:stagewise_record")])
def test_disabling_stagewise_evidence_plugins_is_refused(args: tuple[str, ...]) -> None:
    assert "writes the evidence stagewise reads" in refused(*args)


def test_disabling_other_plugins_is_fine() -> None:
    assert pytest_args(("-p", "no:cacheprovider"), None).args == ("-p", "no:cacheprovider")


@pytest.mark.parametrize("arg", ["--co", "--collect-only", "--fixtures", "--markers", "--setup-plan", "-h"])
def test_modes_that_run_no_test_are_refused(arg: str) -> None:
    assert refused(arg) == f"-- {arg}: pytest runs no test with it; run `python -m pytest {arg}` directly"


def test_k_given_twice_is_refused() -> None:
    assert "-k is given twice" in refused("-k", "b", keyword="a")
    assert "-k is given twice" in refused("-kb", keyword="a")
    assert pytest_args(("-k", "b"), None).args == ("-k", "b")
