"""The shipped JSON Schema of stagewise.toml says what the loader says.

Three ways: every project file the loader accepts is valid against the schema
(the README's examples, examples/shop, ``stagewise init --print`` on the
scaffold shapes, and every TOML text in the tests that is a project file);
at every table whose keys the schema closes, the keys it allows are the ones
the loader allows (read from the loader's own "unknown key (allowed here: ...)"
error); and a few wrong files are refused by both.
"""

from __future__ import annotations

import ast
import copy
import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from stagewise.cli import main
from stagewise.errors import ConfigError
from stagewise.project.loader import load_project
from stagewise.schemas import SCHEMAS, schema_path
from tests.helpers import REPO
from tests.unit.scaffold import shapes

TOML_SCHEMA = json.loads(schema_path("toml").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(TOML_SCHEMA)
SECTIONS = set(TOML_SCHEMA["properties"])


@pytest.mark.parametrize("which", list(SCHEMAS))
def test_the_schemas_are_valid_draft_2020_12(which: str) -> None:
    schema = json.loads(schema_path(which).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)


def _readme_blocks() -> Iterator[tuple[str, str]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    for match in re.finditer(r"^```toml\n(.*?)^```", text, re.S | re.M):
        line = text[: match.start()].count("\n") + 1
        yield f"README.md:{line}", match.group(1)


def _test_texts() -> Iterator[tuple[str, str]]:
    """Every string in the tests that parses as TOML with project-file sections only."""
    for path in sorted((REPO / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "[" in node.value:
                yield f"{path.relative_to(REPO)}:{node.lineno}", node.value
    for path in sorted((REPO / "tests").rglob("stagewise.toml")):
        yield str(path.relative_to(REPO)), path.read_text(encoding="utf-8")


def _project_document(text: str) -> dict[str, Any] | None:
    """The project-file table of ``text``, or ``None`` if it is not a project file."""
    import textwrap

    try:
        document = tomllib.loads(textwrap.dedent(text))
    except tomllib.TOMLDecodeError:
        return None
    tool = document.get("tool", {})
    if isinstance(tool, dict) and isinstance(tool.get("stagewise"), dict):
        return tool["stagewise"]  # type: ignore[no-any-return]
    if document and set(document) <= SECTIONS and any(isinstance(v, dict) for v in document.values()):
        return document
    return None


def _accepts(document: dict[str, Any], tmp_path: Path) -> ConfigError | None:
    from stagewise.project.loader import _build

    try:
        _build(tmp_path, tmp_path / "stagewise.toml", document)
    except ConfigError as exc:
        return exc
    return None


def _errors(document: dict[str, Any]) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(document)]


def test_every_readme_example_is_valid_against_the_schema_and_loads(tmp_path: Path) -> None:
    checked = 0
    for where, text in _readme_blocks():
        document = _project_document(text)
        if document is None:  # the security allowlist file ([[accept]]) is not a project file
            assert "[[accept]]" in text, f"{where}: a ```toml block that is no project file"
            continue
        assert _errors(document) == [], where
        assert _accepts(document, tmp_path) is None, where
        checked += 1
    assert checked >= 10


def test_the_shop_example_and_the_tests_project_files_are_valid(tmp_path: Path) -> None:
    shop = tomllib.loads((REPO / "examples" / "shop" / "stagewise.toml").read_text(encoding="utf-8"))
    assert _errors(shop) == []
    load_project(REPO / "examples" / "shop")
    accepted = 0
    for where, text in _test_texts():
        document = _project_document(text)
        if document is None or _accepts(document, tmp_path) is not None:
            continue  # not a project file, or one the tests mean to be wrong
        assert _errors(document) == [], f"{where}: the loader accepts it, the schema does not"
        accepted += 1
    assert accepted >= 30, accepted


@pytest.mark.parametrize("shape", [shapes.library, shapes.fastapi_template, shapes.older_app])
def test_what_init_writes_is_valid(shape: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = shape(tmp_path / "project")
    assert main(["init", "--print", "--project", str(root)]) == 0
    document = tomllib.loads(capsys.readouterr().out)
    assert document
    assert _errors(document) == []


# Where the schema closes a table's keys, a document that reaches that table (a named
# table gets a sample name; some keys are read only when another is set: more than one).
_REMOTE = {
    "topology": "remote",
    "entry_url": "https://a.example.com",
    "regions": {
        "a": {"url": "https://a.example.com", "dsn": "postgresql://p@h/d", "role": "primary"},
        "b": {"url": "https://b.example.com", "dsn": "postgresql://p@h/d"},
    },
}
PROBES: dict[str, list[tuple[dict[str, Any], tuple[str, ...]]]] = {
    "": [({}, ())],
    "project": [({}, ("project",))],
    "tiers.*": [({}, ("tiers", "unit"))],
    "stages.*": [({}, ("stages", "test"))],
    "profiles.*": [({}, ("profiles", "pr"))],
    "check": [({}, ("check",))],
    "coverage": [({}, ("coverage",))],
    "browser": [({}, ("browser",))],
    "release.*": [({"release": {"test": {"port": 8100}}}, ("release", "test"))],
    "services.*": [({"services": {"web": {"command": ["x"]}}}, ("services", "web"))],
    "services.*.health": [
        (
            {"services": {"web": {"command": ["x"], "health": {"http": "http://127.0.0.1:1/"}}}},
            ("services", "web", "health"),
        ),
        ({"services": {"web": {"command": ["x"], "health": {"tcp": 1}}}}, ("services", "web", "health")),
        (
            {"services": {"web": {"command": ["x"], "health": {"command": ["y"]}}}},
            ("services", "web", "health"),
        ),
    ],
    "services.*.prestart[]": [
        (
            {"services": {"web": {"command": ["x"], "prestart": [{"command": ["y"]}]}}},
            ("services", "web", "prestart", 0),
        )
    ],
    "services.*.build[]": [
        (
            {"services": {"web": {"command": ["x"], "build": [{"command": ["y"]}]}}},
            ("services", "web", "build", 0),
        )
    ],
    "compose": [({}, ("compose",))],
    "data": [({}, ("data",))],
    "data.gate": [({}, ("data", "gate"))],
    "performance": [({}, ("performance",))],
    "performance.gates": [({}, ("performance", "gates"))],
    "performance.gates.endpoints.*": [({}, ("performance", "gates", "endpoints", "GET /x"))],
    "performance.tolerance": [({}, ("performance", "tolerance"))],
    "performance.scenarios.*": [
        ({}, ("performance", "scenarios", "x")),
        # stages (a shape scenario's steps) are read only when present
        (
            {"performance": {"scenarios": {"spike": {"stages": [{"users": 1, "duration": 5}]}}}},
            ("performance", "scenarios", "spike"),
        ),
    ],
    "performance.scenarios.*.gates": [({}, ("performance", "scenarios", "x", "gates"))],
    "performance.scenarios.*.gates.endpoints.*": [
        ({}, ("performance", "scenarios", "x", "gates", "endpoints", "GET /x"))
    ],
    "performance.scenarios.*.stages[]": [
        (
            {"performance": {"scenarios": {"spike": {"stages": [{"users": 1, "duration": 5}]}}}},
            ("performance", "scenarios", "spike", "stages", 0),
        )
    ],
    "security": [({}, ("security",))],
    "security.bandit": [({}, ("security", "bandit"))],
    "security.dependencies": [({}, ("security", "dependencies"))],
    "security.fuzz": [({}, ("security", "fuzz"))],
    "security.passive": [({}, ("security", "passive"))],
    "security.zap": [({}, ("security", "zap"))],
    "resilience": [({}, ("resilience",)), ({"resilience": _REMOTE}, ("resilience",))],
    "resilience.faults.*": [
        ({"resilience": {"faults": {"f": {"apply": ["x"], "revert": ["y"]}}}}, ("resilience", "faults", "f"))
    ],
    "resilience.regions.*": [({"resilience": _REMOTE}, ("resilience", "regions", "a"))],
    "resilience.gates": [({}, ("resilience", "gates"))],
    "resilience.local": [({}, ("resilience", "local"))],
    "resilience.local.service": [
        ({"resilience": {"local": {"service": {"command": ["x"]}}}}, ("resilience", "local", "service"))
    ],
    "resilience.scenarios.*": [({}, ("resilience", "scenarios", "x"))],
    "resilience.scenarios.*.gates": [({}, ("resilience", "scenarios", "x", "gates"))],
}


def _closed_tables(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object schema with ``additionalProperties: false``, by its key path."""
    if schema.get("additionalProperties") is False:
        yield path, schema
    for name, sub in schema.get("properties", {}).items():
        yield from _closed_tables(sub, f"{path}.{name}" if path else name)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _closed_tables(schema["additionalProperties"], f"{path}.*" if path else "*")
    if isinstance(schema.get("items"), dict):
        yield from _closed_tables(schema["items"], f"{path}[]")
    for sub in schema.get("anyOf", []) + schema.get("oneOf", []):
        yield from _closed_tables(sub, path)


def _loader_allows(base: dict[str, Any], at: tuple[str | int, ...], tmp_path: Path) -> set[str]:
    document = copy.deepcopy(base)
    table: Any = document
    for key in at:
        table = table[key] if isinstance(key, int) else table.setdefault(key, {})
    table["zz_not_a_key"] = 1
    error = _accepts(document, tmp_path)
    assert error is not None, f"{at}: the loader took an unknown key"
    allowed = re.search(r"unknown key \(allowed here: (.*)\)", str(error))
    assert allowed, f"{at}: {error}"
    return set(allowed.group(1).split(", "))


def test_every_closed_table_of_the_schema_allows_the_loaders_keys(tmp_path: Path) -> None:
    closed = dict(_closed_tables(TOML_SCHEMA))
    assert set(closed) == set(PROBES), "a closed table without a probe here, or a probe without one"
    for path, schema in closed.items():
        allowed: set[str] = set()
        for base, at in PROBES[path]:
            allowed |= _loader_allows(base, at, tmp_path)
        assert set(schema["properties"]) == allowed, path


#: keys whose values the schema lists: a document with a wrong value there, and the key's path
CHOICES: list[tuple[dict[str, Any], tuple[str, ...]]] = [
    ({"security": {"fail_on": "zz"}}, ("security", "fail_on")),
    ({"security": {"checks": ["zz"]}}, ("security", "checks")),
    ({"security": {"dependencies": {"service": "zz"}}}, ("security", "dependencies", "service")),
    ({"stages": {"test": {"backend": "zz"}}}, ("stages", "*", "backend")),
    ({"performance": {"scenarios": {"x": {"kind": "zz"}}}}, ("performance", "scenarios", "*", "kind")),
    ({"resilience": {"topology": "zz"}}, ("resilience", "topology")),
    *(
        ({"resilience": {"local": {key: "zz"}}}, ("resilience", "local", key))
        for key in ("failover", "replication", "router", "network")
    ),
    ({"resilience": {"scenarios": {"x": {"fault": "zz"}}}}, ("resilience", "scenarios", "*", "fault")),
    ({"resilience": {"scenarios": {"x": {"probes": ["zz"]}}}}, ("resilience", "scenarios", "*", "probes")),
    (
        {
            "resilience": {
                **_REMOTE,
                "regions": {**_REMOTE["regions"], "a": {**_REMOTE["regions"]["a"], "role": "zz"}},
            }
        },
        ("resilience", "regions", "*", "role"),
    ),
]


def _schema_at(path: tuple[str, ...]) -> dict[str, Any]:
    schema: dict[str, Any] = TOML_SCHEMA
    for key in path:
        schema = schema["additionalProperties"] if key == "*" else schema["properties"][key]
    return schema


def _enum(schema: dict[str, Any]) -> list[str]:
    if "enum" in schema:
        return list(schema["enum"])
    return _enum(schema["anyOf"][0])


@pytest.mark.parametrize(
    ("document", "path"), CHOICES, ids=lambda v: ".".join(v) if isinstance(v, tuple) else ""
)
def test_every_listed_value_is_the_loaders_list(
    document: dict[str, Any], path: tuple[str, ...], tmp_path: Path
) -> None:
    error = _accepts(document, tmp_path)
    assert error is not None
    listed = re.search(r"must be one of (.*)$|\((?:checks|probes): (.*)\)$", str(error))
    assert listed, str(error)
    assert _enum(_schema_at(path)) == (listed.group(1) or listed.group(2)).split(", ")
    assert _errors(document) != []


#: wrong files: a misspelt key, a wrong type, an unknown tier; both must refuse each
WRONG = [
    {"project": {"nmae": "x"}},
    {"tiers": {"unit": {"path": ["tests"]}}},
    {"tiers": {"smoke": {"paths": ["tests"]}}},
    {"stages": {"test": {"protected": "yes"}}},
    {"stages": {"staging": {"base_url": "staging.example.com"}}},
    {"coverage": {"fail_under": 120}},
    {"security": {"fuzz": {"max_example": 3}}},
    {"services": {"web": {"command": 42}}},
    {"performance": {"scenarios": {"x": {"users": "many"}}}},
    {"resilience": {"faults": {"f": {"apply": ["x"]}}}},
    {"reports": {}},
]


@pytest.mark.parametrize("document", WRONG, ids=json.dumps)
def test_a_file_the_schema_refuses_the_loader_refuses(document: dict[str, Any], tmp_path: Path) -> None:
    assert _errors(document) != []
    assert _accepts(document, tmp_path) is not None


def test_the_schemas_tier_names_are_the_registrys() -> None:
    from stagewise.plugins.tiers import TIERS

    names = [tier.name for tier in TIERS]
    assert TOML_SCHEMA["properties"]["tiers"]["propertyNames"]["enum"] == names
    assert TOML_SCHEMA["properties"]["coverage"]["properties"]["tiers"]["propertyNames"]["enum"] == names


@pytest.mark.parametrize("which", list(SCHEMAS))
def test_the_schema_command_prints_the_shipped_file(which: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", which]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(schema_path(which).read_text(encoding="utf-8"))
    assert main(["schema", which, "--path"]) == 0
    printed = Path(capsys.readouterr().out.strip())
    assert printed.is_file()
    assert printed.name == SCHEMAS[which]


def test_the_schemas_are_package_data() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    data = pyproject["tool"]["setuptools"]["package-data"]["stagewise"]
    assert "schemas/*.json" in data
    assert all(schema_path(w).parent.name == "schemas" for w in SCHEMAS)
