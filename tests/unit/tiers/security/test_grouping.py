"""Below the gate the terminal shows one line per finding id with a count; at or above it, everything."""

from __future__ import annotations

from stagewise.tiers.security.findings import CheckOutcome, CheckStatus, Finding
from stagewise.tiers.security.writers import summary_lines


def _undocumented(path: str) -> Finding:
    return Finding(
        "SCHEMATHESIS-ST103",
        f"Undocumented HTTP status code on GET {path}",
        "low",
        "fuzz",
        f"GET {path}",
        "[404 Not Found]",
        "document the status code in the OpenAPI responses, or stop returning it",
        "schemathesis",
    )


UNDOCUMENTED = [_undocumented(f"/items/{i}") for i in range(21)]
SHELL = Finding(
    "B602", "shell=True", "high", "bandit", "app/run.py:12", "call(cmd, shell=True)", "use a list"
)
NOSNIFF = Finding(
    "SW-HEADER-NOSNIFF", "nosniff missing", "low", "passive", "GET http://x/", "none", "send it"
)


def test_21_low_findings_of_one_id_are_one_line() -> None:
    outcomes = [CheckOutcome("fuzz", CheckStatus.FINDINGS, [*UNDOCUMENTED, SHELL, NOSNIFF])]
    lines = summary_lines(outcomes, [*UNDOCUMENTED, SHELL, NOSNIFF], "high", [])
    low = lines.index("LOW (22):")
    assert lines[low + 1 :] == [
        "  SCHEMATHESIS-ST103 x21: Undocumented HTTP status code on GET /items/0 at GET /items/0 "
        "(+20 more, all in findings.json)",
        "  SW-HEADER-NOSNIFF nosniff missing at GET http://x/",
    ]
    high = lines.index("HIGH (1) (fails the gate):")
    assert lines[high + 1 : high + 4] == [  # at the gate: evidence and fix, as before
        "  B602 shell=True at app/run.py:12",
        "      evidence: call(cmd, shell=True)",
        "      fix: use a list",
    ]


def test_a_lower_gate_shows_the_same_findings_in_full() -> None:
    lines = summary_lines([], UNDOCUMENTED[:2], "low", [])
    assert lines[lines.index("LOW (2) (fails the gate):") + 1 :] == [
        "  SCHEMATHESIS-ST103 Undocumented HTTP status code on GET /items/0 at GET /items/0",
        "      evidence: [404 Not Found]",
        "      fix: document the status code in the OpenAPI responses, or stop returning it",
        "  SCHEMATHESIS-ST103 Undocumented HTTP status code on GET /items/1 at GET /items/1",
        "      evidence: [404 Not Found]",
        "      fix: document the status code in the OpenAPI responses, or stop returning it",
    ]


def test_accepted_findings_in_a_group_are_counted() -> None:
    accepted = Finding(*(getattr(UNDOCUMENTED[1], f) for f in ("id", "title", "severity", "check", "location")),
                       "e", "f", suppressed_by="allow.toml:accept[0]")  # fmt: skip
    lines = summary_lines([], [UNDOCUMENTED[0], accepted], "high", [])
    assert lines[-1] == (
        "  SCHEMATHESIS-ST103 x2, 1 accepted: Undocumented HTTP status code on GET /items/0 at GET /items/0 "
        "(+1 more, all in findings.json)"
    )
