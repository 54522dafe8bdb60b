"""Read the target's OpenAPI document and make simple, valid-looking requests from it.

The probes (a write without a token, a malformed body, the GET routes the
passive checks look at) need one plausible request per operation, the same
every run: a value from ``example``/``default``/``enum`` when the schema has
one, else the simplest value of the right type. Randomised inputs are
schemathesis's job; these requests exist to ask one precise question each.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from stagewise.tiers.security.http import Unreachable, request

WRITE_METHODS = ("post", "put", "patch", "delete")
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_MAX_DEPTH = 8


@dataclass(frozen=True)
class Operation:
    """One method on one path, with its parameters and request body schema."""

    method: str
    path: str
    spec: Mapping[str, Any]
    parameters: tuple[Mapping[str, Any], ...]

    @property
    def name(self) -> str:
        """``POST /notes`` — the way schemathesis and the allow-list name it."""
        return f"{self.method.upper()} {self.path}"

    def json_body_schema(self) -> Mapping[str, Any] | None:
        body = self.spec.get("requestBody")
        if not isinstance(body, Mapping):
            return None
        content = body.get("content")
        if not isinstance(content, Mapping):
            return None
        for media_type, entry in content.items():
            if "json" in str(media_type) and isinstance(entry, Mapping):
                schema = entry.get("schema")
                return schema if isinstance(schema, Mapping) else {}
        return None

    def is_stream(self) -> bool:
        """Whether a success answers with a stream (server-sent events) that never ends."""
        responses = self.spec.get("responses")
        if not isinstance(responses, Mapping):
            return False
        for code, response in responses.items():
            content = response.get("content") if isinstance(response, Mapping) else None
            if (
                str(code).startswith("2")
                and isinstance(content, Mapping)
                and any("event-stream" in str(media) for media in content)
            ):
                return True
        return False

    def declares_security(self, document: Mapping[str, Any]) -> bool:
        """Whether the document says this operation needs credentials (own or global ``security``)."""
        own = self.spec.get("security")
        if own is not None:
            return bool(own) and any(bool(r) for r in own if isinstance(r, Mapping))
        top = document.get("security")
        return isinstance(top, list) and any(bool(r) for r in top if isinstance(r, Mapping))

    def documents_auth_errors(self) -> bool:
        responses = self.spec.get("responses")
        return isinstance(responses, Mapping) and any(str(c) in ("401", "403") for c in responses)


def load_document(url: str, timeout: float = 10.0) -> tuple[dict[str, Any] | None, str]:
    """The parsed document, or ``None`` and why not (the fuzz check reports that as not run)."""
    try:
        answer = request("GET", url, headers={"Accept": "application/json"}, timeout=timeout)
    except Unreachable as exc:
        return None, f"the OpenAPI document could not be fetched: {exc}"
    if answer.status != 200:
        return None, f"no OpenAPI document at {url} (HTTP {answer.status}); set security.fuzz.openapi"
    try:
        document = json.loads(answer.body)
    except ValueError:
        return None, f"{url} is not JSON; set security.fuzz.openapi to the service's OpenAPI JSON"
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        return None, f"{url} is not an OpenAPI document (no 'paths')"
    return document, ""


def operations(document: Mapping[str, Any]) -> Iterator[Operation]:
    """Every operation in document order."""
    paths = document.get("paths")
    if not isinstance(paths, Mapping):
        return
    for path, item in paths.items():
        if not isinstance(item, Mapping):
            continue
        shared = tuple(p for p in item.get("parameters") or () if isinstance(p, Mapping))
        for method in _METHODS:
            spec = item.get(method)
            if isinstance(spec, Mapping):
                own = tuple(p for p in spec.get("parameters") or () if isinstance(p, Mapping))
                yield Operation(method, str(path), spec, shared + own)


def resolve(document: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow local ``$ref`` pointers (``#/components/schemas/X``)."""
    seen = 0
    while "$ref" in schema and seen < _MAX_DEPTH:
        ref = str(schema["$ref"])
        if not ref.startswith("#/"):
            return {}
        node: Any = document
        for part in ref[2:].split("/"):
            node = node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, Mapping) else None
        schema = node if isinstance(node, Mapping) else {}
        seen += 1
    return schema


def sample(  # noqa: PLR0911, PLR0912 - one branch per JSON Schema keyword reads as the spec does
    document: Mapping[str, Any], schema: Mapping[str, Any], depth: int = 0
) -> Any:
    """A simple value that satisfies ``schema`` as far as a probe needs."""
    schema = resolve(document, schema)
    for key in ("example", "default"):
        if key in schema:
            return schema[key]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("allOf", "anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options and isinstance(options[0], Mapping):
            if key == "allOf":
                merged: dict[str, Any] = {}
                for part in options:
                    value = sample(document, part, depth + 1) if isinstance(part, Mapping) else None
                    if isinstance(value, dict):
                        merged.update(value)
                return merged
            return sample(document, options[0], depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or (kind is None and "properties" in schema):
        return _object(document, schema, depth)
    if kind == "array":
        items = schema.get("items")
        count = int(schema.get("minItems", 1) or 1)
        return [sample(document, items, depth + 1) if isinstance(items, Mapping) else 1] * count
    if kind == "integer":
        return int(schema.get("minimum", 1) or 1)
    if kind == "number":
        return float(schema.get("minimum", 1) or 1)
    if kind == "boolean":
        return True
    return _string(schema)


def _object(document: Mapping[str, Any], schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
    if depth >= _MAX_DEPTH:
        return {}
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return {}
    required = schema.get("required")
    names = [n for n in properties if not isinstance(required, list) or n in required]
    return {
        name: sample(document, properties[name], depth + 1)
        for name in names
        if isinstance(properties[name], Mapping)
    }


def _string(schema: Mapping[str, Any]) -> str:
    formats = {
        "email": "probe@example.com",
        "date-time": "2024-01-01T00:00:00Z",
        "date": "2024-01-01",
        "uuid": "00000000-0000-4000-8000-000000000000",
        "uri": "https://example.com/",
    }
    value = formats.get(str(schema.get("format")), "probe")
    minimum = int(schema.get("minLength", 0) or 0)
    return value + "x" * max(minimum - len(value), 0)


def path_for(document: Mapping[str, Any], operation: Operation, override: str | None = None) -> str:
    """The operation's path with each ``{param}`` filled (``override`` for every one, when given)."""
    path = operation.path
    for raw in operation.parameters:
        parameter = resolve(document, raw)
        if parameter.get("in") != "path":
            continue
        name = str(parameter.get("name"))
        schema = parameter.get("schema")
        value = (
            override
            if override is not None
            else sample(document, schema if isinstance(schema, Mapping) else {"type": "string"})
        )
        path = path.replace("{" + name + "}", str(value))
    return path


__all__ = ["WRITE_METHODS", "Operation", "load_document", "operations", "path_for", "resolve", "sample"]
