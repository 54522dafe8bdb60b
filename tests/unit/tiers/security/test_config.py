"""``[security]`` in the project file: defaults, and every error naming the file and the key."""

from __future__ import annotations

import pytest

from stagewise.errors import ConfigError, ExitCode
from stagewise.project.loader import load_project
from tests.conftest import ProjectFactory


def test_defaults_run_every_check_with_a_high_gate(make_project: ProjectFactory) -> None:
    security = load_project(make_project({})).security
    assert security.fail_on == "high"
    assert security.checks == ("bandit", "dependencies", "fuzz", "passive", "zap")
    assert security.zap.url is None
    assert security.allowlist == ".stagewise/security-allowlist.toml"


def test_a_full_table_is_read(make_project: ProjectFactory) -> None:
    root = make_project(
        {
            "stagewise.toml": """
            [security]
            fail_on = "medium"
            checks = ["zap", "bandit"]
            [security.bandit]
            paths = ["src"]
            [security.dependencies]
            service = "osv"
            osv_url = "http://127.0.0.1:9/v1/query"
            [security.fuzz]
            max_examples = 5
            auth_env = "API_TOKEN"
            public = ["POST /login"]
            exclude = ["GET /export"]
            [security.zap]
            url = "http://127.0.0.1:8090"
            api_key_env = "ZAP_KEY"
            """
        }
    )
    security = load_project(root).security
    assert security.fail_on == "medium"
    assert security.checks == ("bandit", "zap")  # always in run order
    assert security.bandit.paths == ("src",)
    assert security.dependencies.osv_url == "http://127.0.0.1:9/v1/query"
    assert security.fuzz.max_examples == 5
    assert security.fuzz.public == ("POST /login",)
    assert security.fuzz.exclude == ("GET /export",)
    assert security.zap.url == "http://127.0.0.1:8090"


@pytest.mark.parametrize(
    ("toml", "key", "problem"),
    [
        (
            '[security]\nfail_on = "severe"\n',
            "security.fail_on",
            "must be one of critical, high, medium, low, info",
        ),
        ('[security]\nchecks = ["nmap"]\n', "security.checks", "unknown check 'nmap'"),
        ('[security]\nfial_on = "high"\n', "security.fial_on", "unknown key"),
        ('[security.fuzz]\npublic = ["/login"]\n', "security.fuzz.public", "must look like 'POST /path'"),
        ("[security.fuzz]\nmax_examples = 2.5\n", "security.fuzz.max_examples", "must be a whole number"),
        (
            '[security.fuzz]\nauth_env = "1TOKEN"\n',
            "security.fuzz.auth_env",
            "not a valid environment variable",
        ),
        ('[security.bandit]\npaths = ["../elsewhere"]\n', "security.bandit.paths", "relative path inside"),
        (
            '[security.dependencies]\nservice = "safety"\n',
            "security.dependencies.service",
            "must be one of pypi, osv",
        ),
        ('[security.zap]\nurl = "localhost:8090"\n', "security.zap.url", "is not an http(s) URL"),
        ('[security.passive]\npaths = ["admin"]\n', "security.passive.paths", "must start with '/'"),
        ("[security.passive]\ncrawl_pages = 2.5\n", "security.passive.crawl_pages", "must be a whole number"),
        ("[security.passive]\ncrawl_seconds = 0\n", "security.passive.crawl_seconds", "1"),
        ('[security.fuzz]\napp = "shop/main.py"\n', "security.fuzz.app", "must be 'module:attribute'"),
        (
            '[security.fuzz]\nopenapi = "openapi.json"\n',
            "security.fuzz.openapi",
            "must be a path on the target",
        ),
        (
            '[security.dependencies]\nadvisories = "osv"\nosv_url = "http://127.0.0.1:9/v1/query"\n',
            "security.dependencies.advisories",
            "not both",
        ),
    ],
)
def test_invalid_values_are_exit_3_naming_file_and_key(
    make_project: ProjectFactory, toml: str, key: str, problem: str
) -> None:
    root = make_project({"stagewise.toml": toml})
    with pytest.raises(ConfigError) as caught:
        load_project(root)
    assert caught.value.exit_code == ExitCode.CONFIG
    assert caught.value.path == str(root / "stagewise.toml")
    assert caught.value.key == key
    assert problem in caught.value.problem


def test_the_readme_example_is_a_valid_security_table(make_project: ProjectFactory) -> None:
    """Every key the README shows loads, with the meaning it says (the new ones included)."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[4] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Security tier") :]
    start = section.index("```toml") + len("```toml")
    block = section[start : section.index("```\n", start)]
    security = load_project(make_project({"stagewise.toml": block})).security
    assert security.fuzz.openapi == "/api/v1/openapi.json"
    assert security.fuzz.app == "shop.main:app"
    assert security.passive.paths == ("/admin/", "/account")
    assert (security.passive.crawl_pages, security.passive.crawl_seconds) == (50, 20)
    assert security.dependencies.advisories == "vendor/osv"
    assert security.zap.active_seconds == 600


def test_discovery_and_the_crawl_are_on_by_default(make_project: ProjectFactory) -> None:
    security = load_project(make_project({})).security
    assert (security.fuzz.openapi, security.fuzz.app) == (None, None)  # None: find it
    assert (security.passive.crawl_pages, security.passive.crawl_seconds) == (50, 20.0)
    assert security.dependencies.advisories is None
