"""A deliberately vulnerable web app: every problem here is planted for a security check to find.

Never deploy this. Each planted problem names the check that must report it:

- ``POST /notes`` writes without any authentication            -> fuzz (no-token probe)
- ``GET /notes/{note_id}`` crashes on a non-numeric id and, with
  ``debug=True``, answers 500 with a Python traceback in its body   -> passive (stack trace)
- every response sends ``Access-Control-Allow-Origin: *`` together
  with ``Access-Control-Allow-Credentials: true``                   -> passive (CORS)
- ``POST /import`` parses its body by hand and answers 500 when the
  body is malformed JSON or lacks a field                           -> fuzz (server error)
- ``ping_host`` builds a shell command from its argument and runs it
  with ``shell=True``                                               -> bandit (B602)
- ``requirements.txt`` pins ``requests==2.19.0`` (CVE-2018-18074)    -> dependency audit
"""

from __future__ import annotations

import json
import subprocess

from fastapi import FastAPI, Request, Response
from pydantic import BaseModel

# debug=True is the planted stack-trace leak: Starlette answers an unhandled error with the traceback.
app = FastAPI(title="vulnapp", version="0.0.1", debug=True)
NOTES: dict[int, str] = {}


class NoteIn(BaseModel):
    """A note to store."""

    text: str


class ImportIn(BaseModel):
    """What /import documents; the handler does not let FastAPI validate it (planted)."""

    name: str
    count: int


@app.middleware("http")
async def wildcard_cors(request: Request, call_next):  # type: ignore[no-untyped-def]
    """Planted: any origin may read responses *with* the user's cookies."""
    response: Response = await call_next(request)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Credentials"] = "true"
    return response


@app.get("/")
def index() -> dict[str, str]:
    """A harmless landing document."""
    return {"app": "vulnapp"}


@app.post("/notes", status_code=201)
def create_note(note: NoteIn) -> dict[str, object]:
    """Planted: a write that needs no token at all."""
    note_id = len(NOTES) + 1
    NOTES[note_id] = note.text
    return {"id": note_id, "text": note.text}


@app.get("/notes/{note_id}")
def get_note(note_id: str) -> dict[str, object]:
    """Planted: int() on the raw path parameter raises, and debug=True leaks the traceback."""
    number = int(note_id)
    return {"id": number, "text": NOTES.get(number, "")}


@app.post(
    "/import",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ImportIn.model_json_schema()}},
        }
    },
)
async def import_items(request: Request) -> dict[str, object]:
    """Planted: a hand-rolled parser with no error handling (500 on a malformed body)."""
    data = json.loads(await request.body())
    return {"imported": data["name"], "total": int(data["count"]) * 2}


def ping_host(host: str) -> int:
    """Planted: user input reaches a shell."""
    return subprocess.call(f"ping -c 1 {host}", shell=True)  # noqa: S602 - planted for the bandit check
