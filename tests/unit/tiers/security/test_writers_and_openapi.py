"""findings.json, the summary grouped by severity, and the OpenAPI request samples."""

from __future__ import annotations

from stagewise.tiers.security.checks.fuzz import should_need_token
from stagewise.tiers.security.findings import CheckOutcome, CheckStatus, Finding, at_or_above
from stagewise.tiers.security.openapi import Operation, operations, path_for, sample
from stagewise.tiers.security.writers import counts, summary_lines

SHELL = Finding(
    "B602", "shell=True", "high", "bandit", "app/run.py:12", "call(cmd, shell=True)", "use a list"
)
CORS = Finding(
    "SW-CORS-CREDENTIALS",
    "wildcard",
    "high",
    "passive",
    "GET http://x/",
    "*",
    "fix",
    "",
    "allow.toml:accept[0]",
)
NOSNIFF = Finding("SW-HEADER-NOSNIFF", "nosniff", "low", "passive", "GET http://x/", "none", "send it")


def test_severity_order() -> None:
    assert at_or_above("critical", "high")
    assert at_or_above("high", "high")
    assert not at_or_above("medium", "high")
    assert at_or_above("info", "info")


def test_counts_leave_accepted_findings_out() -> None:
    assert counts([SHELL, CORS, NOSNIFF]) == {"critical": 0, "high": 1, "medium": 0, "low": 1, "info": 0}


def test_the_summary_groups_by_severity_and_says_what_did_not_run() -> None:
    outcomes = [
        CheckOutcome("bandit", CheckStatus.FINDINGS, [SHELL], duration=0.4),
        CheckOutcome("zap", CheckStatus.NOT_RUN, reason="no ZAP daemon configured (set security.zap.url)"),
    ]
    lines = summary_lines(outcomes, [NOSNIFF, SHELL, CORS], "high", ["an entry expired"])
    assert lines[:3] == [
        "checks:",
        "  bandit: 1 finding in 0.4s",
        "  zap: not run (no ZAP daemon configured (set security.zap.url))",
    ]
    high = lines.index("HIGH (1, 1 accepted) (fails the gate):")
    low = lines.index("LOW (1):")
    assert high < low
    assert "  SW-CORS-CREDENTIALS wildcard at GET http://x/ [accepted]" in lines
    assert lines[-1] == "note: an entry expired"


DOCUMENT = {
    "openapi": "3.1.0",
    "paths": {
        "/items/{item_id}": {
            "get": {
                "parameters": [{"name": "item_id", "in": "path", "schema": {"type": "integer"}}],
                "responses": {},
            },
            "delete": {
                "parameters": [{"name": "item_id", "in": "path", "schema": {"type": "integer"}}],
                "responses": {},
            },
        },
        "/items": {
            "post": {
                "requestBody": {
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}
                },
                "responses": {"201": {}},
            },
            "get": {"responses": {"200": {}, "401": {}}},
        },
        "/login": {"post": {"responses": {"200": {}}}},
        "/events": {"get": {"responses": {"200": {"content": {"text/event-stream": {}}}}}},
    },
    "components": {
        "schemas": {
            "Item": {
                "type": "object",
                "required": ["name", "price", "tags", "kind"],
                "properties": {
                    "name": {"type": "string", "minLength": 8},
                    "price": {"type": "integer", "minimum": 5},
                    "email": {"type": "string", "format": "email"},
                    "tags": {"type": "array", "items": {"type": "string", "format": "email"}},
                    "kind": {"enum": ["book", "toy"]},
                },
            }
        }
    },
}


def _op(name: str) -> Operation:
    return next(o for o in operations(DOCUMENT) if o.name == name)


def test_samples_follow_the_schema() -> None:
    schema = _op("POST /items").json_body_schema()
    assert schema is not None
    assert sample(DOCUMENT, schema) == {
        "name": "probexxx",
        "price": 5,
        "tags": ["probe@example.com"],
        "kind": "book",
    }
    assert path_for(DOCUMENT, _op("GET /items/{item_id}")) == "/items/1"
    assert path_for(DOCUMENT, _op("GET /items/{item_id}"), "x") == "/items/x"


def test_which_operations_should_need_a_token() -> None:
    public = ("POST /login",)
    assert should_need_token(DOCUMENT, _op("POST /items"), public)  # a write
    assert should_need_token(DOCUMENT, _op("DELETE /items/{item_id}"), public)
    assert should_need_token(DOCUMENT, _op("GET /items"), public)  # documents 401
    assert not should_need_token(DOCUMENT, _op("GET /items/{item_id}"), public)
    assert not should_need_token(DOCUMENT, _op("POST /login"), public)  # declared public


def test_event_streams_are_recognised() -> None:
    assert _op("GET /events").is_stream()
    assert not _op("GET /items").is_stream()
