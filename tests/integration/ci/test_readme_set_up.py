"""The README's two-command CI set-up is what the commands print and write.

A copy of examples/shop without its stagewise.toml gets ``stagewise init``
then ``stagewise ci github --write``; their output is the README's (the
project's path aside), and every line of the README's abridged workflow is a
line of the written file, in the same order.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.helpers import run_cli
from tests.integration.ci.linters import schema_errors

ROOT = Path(__file__).resolve().parents[3]
SKIP = shutil.ignore_patterns(
    "stagewise.toml", ".venv", "reports", ".stagewise", "backups", "__pycache__", "*.db", "*.egg-info"
)


def _readme_block(after: str, fence: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(fence, text.index(after)) + len(fence) + 1
    return text[start : text.index("```", start)]


def test_init_then_ci_write_print_and_write_what_the_readme_shows(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(ROOT / "examples" / "shop", shop, ignore=SKIP)
    session = _readme_block("A team's whole CI set-up is two commands", "```console").splitlines()
    init = run_cli("init", cwd=shop)
    assert init.returncode == 0, init.stderr
    shown = session[1 : session.index("$ stagewise ci github --write")]
    printed = init.stdout.replace(str(shop), "/home/me/shop").splitlines()
    assert printed == shown
    write = run_cli("ci", "github", "--write", cwd=shop)
    assert write.returncode == 0, write.stderr
    assert write.stdout.splitlines() == session[session.index("$ stagewise ci github --write") + 1 :]
    written = shop / ".github" / "workflows" / "stagewise.yml"
    lines = written.read_text(encoding="utf-8").splitlines()
    heading = re.search(
        r"`\.github/workflows/stagewise\.yml` \((\d+) lines", (ROOT / "README.md").read_text()
    )
    assert heading is not None
    assert len(lines) == int(heading.group(1))
    position = 0
    for line in _readme_block("`.github/workflows/stagewise.yml` (", "```yaml").splitlines():
        if line.strip().startswith("# ..."):
            continue
        assert line in lines[position:], f"README line not in the written workflow (in order): {line}"
        position = lines.index(line, position) + 1
    assert schema_errors(written, "github") == ""
