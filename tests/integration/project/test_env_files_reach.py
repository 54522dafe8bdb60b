"""A test process run by ``stagewise test`` sees the env files' values as python-dotenv reads them.

Real pytest in a subprocess: ``${VAR}`` expanded across ``.env``,
``.env.local``, ``.env.<stage>`` and ``.env.<stage>.local``, quotes, escapes
and a multi-line value, with the shell's value winning in the expansion too.
"""

from __future__ import annotations

from tests.conftest import ProjectFactory
from tests.helpers import run_cli

SEES = """
import os

def test_the_expanded_values():
    assert os.environ["API_URL"] == "http://shell-host:8080/v1"
    assert os.environ["GREETING"] == "hello\\tthere"
    assert os.environ["CERT"] == "-----BEGIN-----\\nabc\\n-----END-----"
    assert os.environ["WHO"] == "dev-local"
"""


def test_a_test_process_sees_the_expanded_values(make_project: ProjectFactory) -> None:
    root = make_project({"tests/unit/test_sees.py": SEES})
    (root / ".env").write_text('API_HOST=file-host\nGREETING="hello\\tthere" # comment\n', encoding="utf-8")
    (root / ".env.local").write_text("API_PORT=8080\nWHO=local\n", encoding="utf-8")
    (root / ".env.dev").write_text(
        'export API_URL=http://${API_HOST}:${API_PORT:-80}/${API_VERSION:-v1}\nCERT="-----BEGIN-----\nabc\n-----END-----"\n',
        encoding="utf-8",
    )
    (root / ".env.dev.local").write_text("WHO=dev-local\n", encoding="utf-8")
    tested = run_cli("test", "--stage", "dev", "--unit", "-v", cwd=root, env={"API_HOST": "shell-host"})
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "test_the_expanded_values PASSED" in tested.stdout
