"""The real CLI against real servers: OpenAPI found under /api/v1/, a linked page's stack trace found
by the crawl, a passive check with nothing to judge reported not run, low findings one line per id.

The app runs under uvicorn from a folder outside the project, so the project
scan cannot name it: the document is found by asking the target's usual places.
"""

from __future__ import annotations

import http.server
import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stagewise.tiers.security.findings import at_or_above
from tests.conftest import ProjectFactory
from tests.helpers import free_port, run_cli
from tests.integration.security.conftest import _serve

APP = """
from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse

app = FastAPI(openapi_url="/api/v1/openapi.json", docs_url=None, redoc_url=None, debug=True)


@app.get("/", response_class=HTMLResponse, include_in_schema=False)
def home() -> str:
    return "<html><body><a href='/reports/daily'>daily report</a></body></html>"


@app.get("/reports/daily", include_in_schema=False)
def daily() -> str:
    raise RuntimeError("planted: the daily report crashes, and debug=True shows the traceback")


@app.get("/api/v1/items/{item_id}")
def item(item_id: int) -> dict[str, int]:
    if item_id > 10:
        raise HTTPException(404)
    return {"id": item_id}
"""


@pytest.fixture(scope="module")
def api_v1(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("apiv1")
    (folder / "apiv1.py").write_text(APP)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "uvicorn", "apiv1:app", "--host", "127.0.0.1", "--port", str(port)]
    for _ in _serve(command, folder, os.environ, f"{url}/api/v1/openapi.json", folder / "uvicorn.log"):
        yield url


@pytest.fixture
def nothing_but_404() -> Iterator[str]:
    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_TRACE = do_GET

        def version_string(self) -> str:
            return "edge"

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _run(root: Path, target: str) -> tuple[int, str, dict[str, Any]]:
    done = run_cli("test", "--security", "--target", target, "--no-progress", cwd=root)
    document = json.loads((root / "reports" / "latest" / "security" / "findings.json").read_text())
    return done.returncode, done.stdout + done.stderr, document


def test_openapi_under_api_v1_is_fuzzed_and_the_linked_trace_is_crawled(
    make_project: ProjectFactory, api_v1: str
) -> None:
    config = '[security]\nchecks = ["fuzz", "passive"]\n\n[security.fuzz]\nmax_examples = 5\n'
    root = make_project({"stagewise.toml": config})
    code, output, document = _run(root, api_v1)
    checks = {c["name"]: c for c in document["checks"]}
    assert checks["fuzz"]["status"] != "not-run", output
    assert (
        f"OpenAPI document: {api_v1}/api/v1/openapi.json (found at /api/v1/openapi.json)"
        in checks["fuzz"]["notes"]
    )
    assert f"{api_v1}/api/v1/openapi.json" in checks["fuzz"]["command"]
    [trace] = [f for f in document["findings"] if f["id"] == "SW-STACK-TRACE" and f["check"] == "passive"]
    assert trace["location"] == f"GET {api_v1}/reports/daily"  # not in the OpenAPI: only the crawl finds it
    assert any(note.startswith("crawled ") for note in checks["passive"]["notes"])
    below = {f["id"] for f in document["findings"] if not at_or_above(f["severity"], document["fail_on"])}
    assert below, output
    for rule in below:  # below the gate: exactly one terminal line per id in the summary
        assert sum(1 for line in output.splitlines() if line.startswith(f"  {rule} ")) == 1, (rule, output)
    assert code in (0, 1), output


def test_passive_with_no_2xx_answer_is_not_run(make_project: ProjectFactory, nothing_but_404: str) -> None:
    root = make_project({"stagewise.toml": '[security]\nchecks = ["passive"]\n'})
    code, output, document = _run(root, nothing_but_404)
    [passive, _tests] = document["checks"]
    assert passive["status"] == "not-run"
    assert passive["reason"].startswith(f"no answer was 2xx (GET {nothing_but_404}/ -> 404")
    assert f"passive: not run (no answer was 2xx (GET {nothing_but_404}/ -> 404" in output
    assert "passive: passed" not in output
    assert code == 0, output  # nothing failed the gate; the verdict names what did not run
    assert "not run: passive" in output
