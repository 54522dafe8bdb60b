"""Which compose ran, and what its output says went wrong.

Two programs answer to "compose": the v2 plugin (``docker compose``) and the
standalone binary (``docker-compose``: v1 on older machines such as Debian
12's 1.29, or a v2 build). Their flags, output and bugs differ, so every
compose error names the one that ran and its version; a report that says only
"compose failed" cannot be reproduced.

Compose's output also buries the cause: v1 ends with "Encountered errors while
bringing up the project.", progress lines end in "... error", and a pull that
cannot reach a registry (this project's machines have none) is a Go
``dial tcp`` line. :func:`compose_cause` picks the line that names the cause
(through :func:`stagewise.cause.cause_line`) and :func:`pull_failure` turns an
unreachable registry into a message pointing at ``stagewise images build``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache

from stagewise.cause import cause_line
from stagewise.errors import MissingError

_VERSION = re.compile(r"\bv?(\d+\.\d+\.\d+[^\s,]*)")


@dataclass(frozen=True)
class ComposeBinary:
    """The compose program that runs: its argument-list prefix, the name users type, its version."""

    argv: tuple[str, ...]
    name: str
    version: str | None

    @property
    def major(self) -> int | None:
        """1 or 2 (from the version, not the name: a standalone ``docker-compose`` may be v2)."""
        if self.version is None:
            return None
        head = self.version.split(".", 1)[0]
        return int(head) if head.isdigit() else None

    def describe(self) -> str:
        """``docker-compose 1.29.2 (Compose v1)`` — what every compose error names."""
        kind = {1: "Compose v1", 2: "Compose v2"}.get(self.major or 0, "Compose, version not known")
        if self.argv[-1] == "compose" and self.major == 2:
            kind = "Compose v2 plugin"
        return f"{self.name} {self.version or '?'} ({kind})"


def parse_version(output: str) -> str | None:
    """The version in the first line of ``compose version`` output.

    ``docker-compose version 1.29.2, build unknown`` (v1; later lines name
    docker-py and CPython), ``Docker Compose version v2.24.5`` (v2).
    """
    first = next((line for line in output.splitlines() if line.strip()), "")
    match = _VERSION.search(first)
    return match.group(1) if match else None


def detect(search_path: str | None = None) -> ComposeBinary:
    """``docker compose`` when the v2 plugin answers, else ``docker-compose``; :class:`MissingError` if neither.

    ``search_path`` is a ``PATH``-style list (default: ``$PATH``); the answer is
    cached per list. The plugin's version comes with the answer; a standalone
    binary's is left for :func:`describe` to ask when an error needs it.
    """
    return _detect(search_path if search_path is not None else os.environ.get("PATH", os.defpath))


@lru_cache(maxsize=8)
def _detect(search_path: str) -> ComposeBinary:
    docker = shutil.which("docker", path=search_path)
    if docker is not None:
        answered = _version_of([docker, "compose"])
        if answered is not None:
            return ComposeBinary((docker, "compose"), "docker compose", answered)
    legacy = shutil.which("docker-compose", path=search_path)
    if legacy is not None:
        # Its version is asked only when an error names it (v1 is Python: each call costs ~1 s).
        return ComposeBinary((legacy,), "docker-compose", None)
    raise MissingError(
        "neither `docker compose` nor `docker-compose` is installed: apt-get install docker-compose "
        "(or the docker-compose-plugin)"
    )


def describe(binary: ComposeBinary) -> str:
    """:meth:`ComposeBinary.describe` after asking the program its version if not yet known."""
    if binary.version is None:
        binary = ComposeBinary(binary.argv, binary.name, _cached_version(binary.argv))
    return binary.describe()


@lru_cache(maxsize=8)
def _cached_version(argv: tuple[str, ...]) -> str | None:
    try:
        return _version_of(list(argv))
    except MissingError:
        return None


def _version_of(prefix: list[str]) -> str | None:
    """The version ``prefix version`` prints; None when it does not answer (no v2 plugin)."""
    try:
        done = subprocess.run([*prefix, "version"], capture_output=True, text=True, check=False, timeout=30)
    except subprocess.TimeoutExpired as exc:
        raise MissingError(f"`{' '.join(prefix)} version` did not answer within 30 s") from exc
    except OSError:
        return None
    if done.returncode != 0:
        return None
    return parse_version(done.stdout) or "?"


#: Lines compose prints that never name the cause (summaries, progress, the legacy-builder notice).
_COMPOSE_NOISE = (
    re.compile(r"Encountered errors while bringing up the project", re.IGNORECASE),
    re.compile(r"\.\.\.\s*(error|done)?\s*$", re.IGNORECASE),
    re.compile(r"failed to build\s*:\s*Build failed\s*$"),
    re.compile(r"^\s*DEPRECATED: The legacy builder is deprecated"),
    re.compile(r"^\s*Install the buildx component"),
    re.compile(r"^\s*https://docs\.docker\.com/go/buildx/?\s*$"),
    re.compile(r"^\s*(Creating|Starting|Recreating|Stopping|Removing|Pulling|Building)\b.*$"),
    re.compile(r"^\s*Sending build context to Docker daemon"),
)
_SERVICE_PREFIX = re.compile(r"^\s*ERROR: for \S+\s+")


def compose_cause(output: str) -> str:
    """The line of compose's output that names why it failed, without compose's own wrapping."""
    kept = [
        _SERVICE_PREFIX.sub("", line)
        for line in output.splitlines()
        if not any(noise.search(line) for noise in _COMPOSE_NOISE)
    ]
    return cause_line("\n".join(kept))


_UNREACHABLE = re.compile(
    r"dial tcp|no such host|network is unreachable|connection refused|i/o timeout|"
    r"TLS handshake timeout|Temporary failure in name resolution|request canceled while waiting|"
    r"no route to host",
    re.IGNORECASE,
)
_NOT_THERE = re.compile(
    r"pull access denied|manifest unknown|repository does not exist|not found: manifest", re.IGNORECASE
)
_PULLING = re.compile(r"Pulling (?P<service>\S+) \((?P<image>[^)]+)\)")
_FROM = re.compile(r"Step \d+/\d+ : FROM (?P<image>\S+)", re.IGNORECASE)
_FAILED_BUILD = re.compile(r"Service '(?P<service>[^']+)' failed to build")
_REGISTRY_URL = re.compile(r"https://[^\s\"/]+/v2/|registry|docker\.io|pull", re.IGNORECASE)
IMAGES_HINT = (
    "stagewise pulls nothing: build the base images with `stagewise images build` and build "
    "the app's images FROM them (a `build:` section), or load the image with `docker load`"
)


def pull_failure(output: str) -> str | None:
    """A message for a pull that could not get its image (no registry, or no such image); else None.

    Names the image (and the service, or the Dockerfile ``FROM`` that wanted
    it) when compose's output says which, and the way to get images without a
    registry.
    """
    lines = output.splitlines()
    unreachable = next(
        (line for line in lines if _UNREACHABLE.search(line) and _REGISTRY_URL.search(line)), None
    )
    missing = next((line for line in lines if _NOT_THERE.search(line)), None)
    cause = unreachable or missing
    if cause is None:
        return None
    pulling = next((m for m in map(_PULLING.search, lines) if m), None)
    base = next((m for m in map(_FROM.search, lines) if m), None)
    failed_build = next((m for m in map(_FAILED_BUILD.search, lines) if m), None)
    if pulling is not None:
        what = f"image {pulling['image']} of service {pulling['service']}"
    elif base is not None:
        owner = f" of service {failed_build['service']}" if failed_build else ""
        what = f"image {base['image']} (the Dockerfile's FROM{owner})"
    else:
        what = "an image"
    why = "no registry is reachable" if unreachable else "the registry has no such image"
    return f"could not pull {what}: {why} ({_SERVICE_PREFIX.sub('', cause).strip()}); {IMAGES_HINT}"
