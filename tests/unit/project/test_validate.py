"""The shared checks of the project file (stagewise.project.validate) and the one table reader."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from stagewise.errors import ConfigError
from stagewise.plugins.backends import BACKENDS
from stagewise.plugins.security_checks import SECURITY_CHECKS
from stagewise.project import validate
from stagewise.project.table import ConfigTable, echo
from stagewise.registry import Registry


def table(data: Mapping[str, object], path: str = "sec") -> ConfigTable:
    return ConfigTable("stagewise.toml", path, data)


def message(call: Callable[[], object]) -> str:
    with pytest.raises(ConfigError) as caught:
        call()
    return str(caught.value)


def test_url_accepts_http_and_https_and_echoes_anything_else() -> None:
    assert validate.url(table({"u": "https://example.com/x"}), "u") == "https://example.com/x"
    assert validate.url(table({}), "u", "http://localhost:8000") == "http://localhost:8000"
    assert validate.url(table({}), "u") is None
    assert (
        message(lambda: validate.url(table({"u": "ftp://x"}), "u"))
        == "stagewise.toml: sec.u: 'ftp://x' is not an http(s) URL"
    )


def test_env_name_and_env_names() -> None:
    assert validate.env_name(table({"e": "API_TOKEN"}), "e") == "API_TOKEN"
    assert validate.env_name(table({}), "e") is None
    assert (
        message(lambda: validate.env_name(table({"e": "MY TOKEN"}), "e"))
        == "stagewise.toml: sec.e: 'MY TOKEN' is not a valid environment variable name"
    )
    assert (
        message(lambda: validate.env_name(table({"e": "1X"}), "e", noun="an environment variable name"))
        == "stagewise.toml: sec.e: '1X' is not an environment variable name"
    )
    assert validate.env_names(table({"e": ["A", "_B1"]}), "e") == ("A", "_B1")
    assert validate.env_names(table({}), "e") == ()
    assert "'B-2' is not a valid environment variable name" in message(
        lambda: validate.env_names(table({"e": ["A", "B-2"]}), "e")
    )


def test_one_of_reads_a_registry_or_a_sequence() -> None:
    assert validate.one_of(table({"b": "compose"}), "b", BACKENDS) == "compose"
    assert validate.one_of(table({}), "b", BACKENDS, "local") == "local"
    assert message(lambda: validate.one_of(table({"b": "k8s"}), "b", BACKENDS)) == (
        f"stagewise.toml: sec.b: must be one of {BACKENDS.one_of()}"
    )
    assert message(lambda: validate.one_of(table({"s": "x"}), "s", ("pypi", "osv"))) == (
        "stagewise.toml: sec.s: must be one of pypi, osv"
    )


def test_names_in_checks_every_name_of_a_list() -> None:
    checks = table({"checks": ["zap", "bandit"]})
    kwargs = {"what": "check", "plural": "checks"}
    assert validate.names_in(checks, "checks", SECURITY_CHECKS, (), **kwargs) == ("zap", "bandit")
    assert validate.names_in(table({}), "checks", SECURITY_CHECKS, ("fuzz",), **kwargs) == ("fuzz",)
    assert message(
        lambda: validate.names_in(
            table({"checks": ["bandit", "nmap"]}), "checks", SECURITY_CHECKS, (), **kwargs
        )
    ) == (f"stagewise.toml: sec.checks: unknown check 'nmap' (checks: {SECURITY_CHECKS.one_of()})")


def test_a_toy_registry_entry_is_accepted_without_touching_the_reader() -> None:
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Toy:
        name: str

    toys: Registry[Toy] = Registry("toy")
    toys.register(Toy("a"))
    assert validate.one_of(table({"t": "a"}), "t", toys) == "a"
    toys.register(Toy("b"))
    assert validate.one_of(table({"t": "b"}), "t", toys) == "b"
    assert validate.names_of(toys) == ("a", "b")


def test_the_name_patterns() -> None:
    assert validate.NAME.match("staging-2.eu_x")
    assert not validate.NAME.match("-x")
    assert not validate.NAME.match("a" * 64)
    assert validate.LOWER_NAME.match("us-east")
    assert not validate.LOWER_NAME.match("US")
    assert not validate.LOWER_NAME.match("a" * 32)
    assert validate.ENV_NAME.match("_A1")
    assert not validate.ENV_NAME.match("1A")


@pytest.mark.parametrize(
    ("path", "inside"),
    [("a/b", True), (".", True), ("a/../b", False), ("..", False), ("/etc", False), ("a/..", False)],
)
def test_inside_project(path: str, inside: bool) -> None:
    assert validate.inside_project(path) is inside


def test_named_tables_checks_each_name_then_yields_it_in_file_order() -> None:
    parent = table({"b": {"x": 1}, "a": {}})
    check = validate.matching(validate.LOWER_NAME, "bad name")
    got = [(name, sub.path, dict(sub.data)) for name, sub in validate.named_tables(parent, check)]
    assert got == [("b", "sec.b", {"x": 1}), ("a", "sec.a", {})]


def test_named_tables_reports_a_bad_name_and_a_value_that_is_no_table() -> None:
    check = validate.matching(validate.LOWER_NAME, "names are lower-case")
    assert message(lambda: list(validate.named_tables(table({"Bad": {}}), check))) == (
        "stagewise.toml: sec.Bad: names are lower-case"
    )
    assert message(lambda: list(validate.named_tables(table({"ok": 3}), check))) == (
        "stagewise.toml: sec.ok: must be a table"
    )
    member = validate.member(("unit", "api"), "unknown tier")
    assert message(lambda: list(validate.named_tables(table({"e2e": {}}), member))) == (
        "stagewise.toml: sec.e2e: unknown tier"
    )


def test_named_tables_builds_each_entry_before_checking_the_next_name() -> None:
    built: list[str] = []
    check = validate.matching(validate.LOWER_NAME, "bad")

    def build_all() -> None:
        for name, _sub in validate.named_tables(table({"a": {}, "B": {}}), check):
            built.append(name)

    with pytest.raises(ConfigError):
        build_all()
    assert built == ["a"]


def test_stage_keys_rejects_unknown_stages_and_unknown_keys() -> None:
    urls = table({"dev": "sqlite:///x"}, "data.urls")
    assert [(stage, urls.string(stage)) for stage in validate.stage_keys(urls, {"dev": 1})] == [
        ("dev", "sqlite:///x")
    ]
    assert message(lambda: list(validate.stage_keys(table({"qa": "x"}, "data.urls"), {"dev": 1}))) == (
        "stagewise.toml: data.urls.qa: unknown stage (stages: dev)"
    )


def test_section_is_an_empty_table_at_its_path_when_absent() -> None:
    top = table({}, "")
    section = top.section("security")
    assert section.path == "security"
    assert dict(section.data) == {}
    top.check_unknown()


@pytest.mark.parametrize(
    ("value", "shown"),
    [(120, ", got 120"), (-1, ", got -1"), (2.5, ", got 2.5"), (True, ""), ("fast", ""), (None, "")],
)
def test_echo_shows_numbers_only(value: object, shown: str) -> None:
    assert echo(value) == shown


def test_every_range_read_echoes_a_bad_number_the_same_way() -> None:
    data = {"n": 120, "w": 2.5, "s": 0, "x": "fast"}
    assert message(lambda: table(data).number("n", 0, 100)) == (
        "stagewise.toml: sec.n: must be a number from 0 to 100, got 120"
    )
    assert message(lambda: table(data).whole("w", 1, 10)) == (
        "stagewise.toml: sec.w: must be a whole number from 1 to 10, got 2.5"
    )
    assert message(lambda: table(data).seconds("s")) == (
        "stagewise.toml: sec.s: must be seconds (a number) or a duration like '90s', '5m', '2h', got 0"
    )
    assert message(lambda: table(data).number("x", 0, 100)) == (
        "stagewise.toml: sec.x: must be a number from 0 to 100"
    )
