"""API fuzzing from the service's OpenAPI document: schemathesis plus two precise probes.

Three questions, each answered with evidence:

- **Does an endpoint that should need a token answer without one?** An
  operation should need one when the document declares ``security`` for it,
  documents a 401/403 answer, or is a write (POST, PUT, PATCH, DELETE) not
  listed in ``security.fuzz.public``. The probe sends one schema-valid
  request with no credentials; a 2xx answer is a finding (``SW-AUTH-MISSING``).
- **Does a malformed body crash the server?** One truncated JSON body to
  every operation that takes JSON; a 5xx is a finding (``SW-MALFORMED-BODY``).
- **Server errors and answers that break the schema under generated input:**
  schemathesis (``run`` with the examples, coverage and fuzzing phases, a
  fixed seed so a finding reproduces). It runs as a child of stagewise's
  interpreter, writing JUnit (per-operation failure text: status, body,
  a curl line to reproduce) and its JSON run report (failure codes and titles).
  Its Python API is large and changes between majors; its CLI and reports
  are its documented interface. A bearer token (``security.fuzz.auth_env``)
  reaches schemathesis through a config file that names the environment
  variable, so the secret is never on a command line or on disk.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stagewise.tiers.security.checks.base import CheckContext
from stagewise.tiers.security.evidence import excerpt, stack_trace_finding
from stagewise.tiers.security.findings import CheckOutcome, CheckStatus, Finding, outcome_from
from stagewise.tiers.security.http import Unreachable, request
from stagewise.tiers.security.openapi import WRITE_METHODS, Operation, operations, path_for, sample

#: schemathesis checks this tier runs, and how severe each failure code is.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "ignored_auth",
)
_SEVERITY = {
    "ST101": "medium",  # server error
    "ST102": "medium",  # server error with a bad content type
    "ST108": "medium",  # response does not match its schema
    "ST109": "medium",  # malformed JSON in a response
    "ST110": "medium",
    "ST301": "medium",
    "ST302": "medium",
    "ST401": "high",  # declared auth is not enforced
    "ST402": "high",  # object-level authorization broken
}
_FIX = {
    "ST101": "handle the input that caused it (validate and answer 4xx); a 5xx on client input is a bug",
    "ST102": "handle the input that caused it (validate and answer 4xx); a 5xx on client input is a bug",
    "ST103": "document the status code in the OpenAPI responses, or stop returning it",
    "ST104": "send a Content-Type header with every body",
    "ST105": "document the content type, or return the documented one",
    "ST108": "make the response match its documented schema (or fix the schema)",
    "ST109": "return well-formed JSON",
    "ST401": "enforce the security scheme the document declares on this operation",
}
TOKEN_VARIABLE = "STAGEWISE_FUZZ_TOKEN"  # noqa: S105 - the name of a variable, not a secret
MALFORMED_BODY = b'{"stagewise-probe": '
_CODE_LINE = re.compile(r"^- (ST\d{3}) (.+)$")
_STATUS_LINE = re.compile(r"^\[(\d{3})\] ([^:]*):?$")


def should_need_token(document: Mapping[str, Any], operation: Operation, public: tuple[str, ...]) -> bool:
    """Whether an answer without credentials would be a finding for ``operation``."""
    if operation.name in public:
        return False
    return (
        operation.declares_security(document)
        or operation.documents_auth_errors()
        or operation.method in WRITE_METHODS
    )


def _body_for(document: Mapping[str, Any], operation: Operation) -> bytes | None:
    schema = operation.json_body_schema()
    return None if schema is None else json.dumps(sample(document, schema)).encode()


def probe_without_token(
    context: CheckContext, document: Mapping[str, Any], operation: Operation
) -> Finding | None:
    """``SW-AUTH-MISSING`` when ``operation`` answers 2xx to a request with no credentials."""
    body = _body_for(document, operation)
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    url = context.url(path_for(document, operation))
    answer = request(operation.method.upper(), url, headers=headers, body=body)
    if not 200 <= answer.status < 300:
        return None
    sent = excerpt(body.decode(), 120) if body is not None else "no body"
    return Finding(
        id="SW-AUTH-MISSING",
        title=f"{operation.name} answers {answer.status} without a token",
        severity="high",
        check="fuzz",
        location=operation.name,
        evidence=f"{answer.where()} with no Authorization header ({sent}) -> {answer.status}: "
        f"{excerpt(answer.text, 160)}",
        fix="require authentication on this operation (e.g. a dependency that checks the bearer "
        "token and answers 401), or list it in security.fuzz.public if it is meant to be open",
    )


def probe_malformed_body(
    context: CheckContext, document: Mapping[str, Any], operation: Operation, token: str | None
) -> list[Finding]:
    """``SW-MALFORMED-BODY`` (and ``SW-STACK-TRACE``) when truncated JSON gets a 5xx."""
    if operation.json_body_schema() is None:
        return []
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    url = context.url(path_for(document, operation))
    answer = request(operation.method.upper(), url, headers=headers, body=MALFORMED_BODY)
    if answer.status < 500:
        return []
    found = [
        Finding(
            id="SW-MALFORMED-BODY",
            title=f"{operation.name} answers {answer.status} to a malformed JSON body",
            severity="medium",
            check="fuzz",
            location=operation.name,
            evidence=f"{answer.where()} with body {MALFORMED_BODY.decode()!r} -> {answer.status}: "
            f"{excerpt(answer.text, 160)}",
            fix="parse and validate the body before using it (declare it as a model, or catch the "
            "decode error) and answer 400/422",
        )
    ]
    trace = stack_trace_finding(answer, "fuzz", operation.name)
    return [*found, trace] if trace is not None else found


def skipped_operations(context: CheckContext, document: Mapping[str, Any]) -> list[str]:
    """Operations left out: ``security.fuzz.exclude`` plus event streams (they never finish)."""
    streams = [op.name for op in operations(document) if op.is_stream()]
    return list(dict.fromkeys((*context.config.fuzz.exclude, *streams)))


def build_command(
    context: CheckContext, schema_url: str, out: Path, config_file: Path | None, skipped: list[str]
) -> list[str]:
    """The schemathesis argument list (never a shell string)."""
    settings = context.config.fuzz
    command = [context.tool_python, "-m", "schemathesis.cli"]
    if config_file is not None:
        command += ["--config-file", str(config_file)]
    command += ["--no-color", "run", schema_url, "--url", context.target]
    command += ["--checks", ",".join(CHECKS), "--phases", "examples,coverage,fuzzing"]
    command += ["--max-examples", str(settings.max_examples), "--seed", str(settings.seed)]
    command += ["--workers", "1", "--request-timeout", "10", "--suppress-health-check", "all"]
    for name in skipped:
        command += ["--exclude-name", name]
    command += ["--report", "junit,json", "--report-dir", str(out)]
    command += ["--report-junit-path", str(out / "junit.xml"), "--report-json-path", str(out / "run.json")]
    return command


def parse_junit(path: Path) -> list[dict[str, str]]:
    """Per (operation, failure code): the first occurrence's status, body excerpt and curl line."""
    try:
        root = ET.parse(path).getroot()  # noqa: S314 - schemathesis's own report, written just now
    except (OSError, ET.ParseError):
        return []
    found: dict[tuple[str, str], dict[str, str]] = {}
    for case in root.iter("testcase"):
        operation = case.get("name", "")
        for failure in case:
            if failure.tag not in ("failure", "error"):
                continue
            for section in re.split(r"\n(?=\d+\. Test Case ID)", failure.text or ""):
                for entry in _parse_section(section):
                    found.setdefault((operation, entry["code"]), {"operation": operation, **entry})
    return list(found.values())


def _parse_section(section: str) -> list[dict[str, str]]:
    lines = section.splitlines()
    codes: list[tuple[str, str]] = []
    status = body = curl = ""
    for index, line in enumerate(lines):
        stripped = line.strip()
        match = _CODE_LINE.match(stripped)
        if match:
            codes.append((match.group(1), match.group(2)))
            continue
        status_match = _STATUS_LINE.match(stripped)
        if status_match and not status:
            status = f"{status_match.group(1)} {status_match.group(2)}".strip()
            following = [t.strip().strip("`") for t in lines[index + 1 : index + 4] if t.strip()]
            body = following[0] if following else ""
        if stripped.startswith("curl ") and not curl:
            curl = stripped
    return [{"code": c, "title": t, "status": status, "body": body, "curl": curl} for c, t in codes]


def to_finding(entry: Mapping[str, str]) -> Finding:
    """One schemathesis failure (code on an operation) as a finding."""
    code = entry["code"]
    parts = [f"[{entry['status']}]" if entry.get("status") else "", excerpt(entry.get("body", ""), 160)]
    if entry.get("curl"):
        parts.append(f"reproduce: {entry['curl'][:300]}")
    return Finding(
        id=f"SCHEMATHESIS-{code}",
        title=f"{entry['title']} on {entry['operation']}",
        severity=_SEVERITY.get(code, "low"),
        check="fuzz",
        tool="schemathesis",
        location=entry["operation"],
        evidence=" ".join(p for p in parts if p),
        fix=_FIX.get(code, f"see `schemathesis explain {code}`"),
    )


class FuzzCheck:
    """The ``fuzz`` check (schemathesis and the no-token and malformed-body probes)."""

    name = "fuzz"

    def run(self, context: CheckContext) -> CheckOutcome:
        document = context.openapi
        if document is None:
            return CheckOutcome(self.name, CheckStatus.NOT_RUN, reason=context.openapi_problem)
        settings = context.config.fuzz
        token = context.env.get(settings.auth_env) if settings.auth_env else None
        notes = []
        if settings.auth_env and not token:
            notes.append(f"{settings.auth_env} is not set: fuzzed without a token (writes stop at auth)")
        findings: list[Finding] = []
        skipped = skipped_operations(context, document)
        if skipped:
            notes.append(f"not fuzzed: {', '.join(skipped)}")
        try:
            for operation in operations(document):
                if operation.name in skipped:
                    continue
                if should_need_token(document, operation, settings.public):
                    missing = probe_without_token(context, document, operation)
                    if missing is not None:
                        findings.append(missing)
                findings += probe_malformed_body(context, document, operation, token)
        except Unreachable as exc:
            return CheckOutcome(
                self.name, CheckStatus.ERROR, findings, reason=f"the target stopped answering: {exc}"
            )
        context.log(f"fuzz: probes done ({len(findings)} finding(s)); running schemathesis")
        out = context.out_dir / "schemathesis"
        out.mkdir(parents=True, exist_ok=True)
        env = dict(context.env)
        config_file: Path | None = None
        if token:
            config_file = out / "schemathesis.toml"
            config_file.write_text(
                f'[headers]\nAuthorization = "Bearer ${{{TOKEN_VARIABLE}}}"\n', encoding="utf-8"
            )
            env[TOKEN_VARIABLE] = token
        schema_url = context.openapi_url
        notes.append(f"OpenAPI document: {schema_url} ({context.openapi_source})")
        command = build_command(context, schema_url, out, config_file, skipped)
        from stagewise.tiers.process import run_streaming

        # In the tier folder: schemathesis and hypothesis leave their caches in the working directory.
        code = run_streaming(command, out, env, context.log, what="schemathesis (security tier)")
        outcome = self._judge(out, code, findings)
        outcome.command = tuple(command)
        outcome.notes += notes
        return outcome

    def _judge(self, out: Path, code: int, findings: list[Finding]) -> CheckOutcome:
        try:
            report = json.loads((out / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            reason = f"schemathesis exited {code} without its report (see security.log)"
            return CheckOutcome(self.name, CheckStatus.ERROR, findings, reason=reason)
        errors = [e for e in report.get("errors") or () if isinstance(e, dict)]
        entries = parse_junit(out / "junit.xml")
        findings = findings + [to_finding(e) for e in entries]
        if not report.get("complete", False) or (errors and not entries):
            titles = ", ".join(str(e.get("title")) for e in errors) or str(report.get("stop_reason"))
            return CheckOutcome(self.name, CheckStatus.ERROR, findings, reason=f"schemathesis: {titles}")
        operations_seen = report.get("operations") or {}
        tested = operations_seen.get("tested", 0) if isinstance(operations_seen, dict) else 0
        if not tested:
            return CheckOutcome(
                self.name, CheckStatus.NOT_RUN, findings, reason="schemathesis tested no operation"
            )
        if errors:
            titles = ", ".join(f"{e.get('title')} x{e.get('count')}" for e in errors)
            return outcome_from(self.name, findings, f"schemathesis errors: {titles}", partial=True)
        return outcome_from(self.name, findings)


__all__ = [
    "CHECKS",
    "FuzzCheck",
    "build_command",
    "parse_junit",
    "probe_malformed_body",
    "probe_without_token",
    "should_need_token",
    "to_finding",
]
