"""HAProxy (Debian's ``haproxy``) as the local topology's global router.

:func:`render_config` turns the deployment's regions into an ``haproxy.cfg``
that does what the issue asks of the router, and what stagewise's builtin
router (:mod:`~stagewise.tiers.resilience.router`) does when HAProxy is not
installed:

- one frontend on ``127.0.0.1:PORT`` (the entry URL);
- ``regions``: a ``roundrobin`` backend over every region, its weights scaled
  to HAProxy's integers (0-256) and reduced, so 80/20 becomes 4/1 and the
  share is exact over every five requests;
- with ``health_check`` on, ``option httpchk GET /health`` and ``check inter
  250ms fall 2 rise 2`` on each server (the per-location backends ``track``
  those checks); without it no check at all, so a dead region keeps its share
  (the planted misconfiguration the health-routing gate catches);
- routing by ``X-Client-Region``: each client location is mapped, when the
  config is written, to the regions at that location (the nearest); a request
  carrying it goes to that location's backend while it has a live server
  (``nbsrv``), otherwise to the weighted ``regions`` backend;
- a refused connection is retried on another region (``option redispatch
  1``): the request never reached anyone; a connection that hangs outlasts
  the client (``timeout connect 5s``), so only health checks protect users
  from a blackholed region;
- ``GET /__router`` is HAProxy's stats page (``/__router;csv`` for the
  servers' states, as the builtin router's ``/__router`` answers JSON);
- every answer carries ``X-Router: haproxy`` and, when a region served it,
  ``X-Routed-To: REGION`` (what the routing probe reads).

HAProxy runs in the foreground (``haproxy -db -f CFG``) as a child the
journal records, so a crash leaves nothing the next run does not remove.
"""

from __future__ import annotations

import http.client
import math
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import reduce
from urllib.parse import urlsplit

from stagewise.tiers.resilience.journal import run_quiet

#: The largest weight HAProxy accepts on a server.
MAX_WEIGHT = 256
#: What a name or a location must look like to be written into the config unquoted.
_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,62}$")


@dataclass(frozen=True)
class Server:
    """One region behind HAProxy."""

    name: str
    url: str
    weight: float
    location: str

    @property
    def address(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.hostname or '127.0.0.1'}:{parts.port or 80}"


def haproxy_binary() -> str | None:
    """The ``haproxy`` executable, or None when it is not installed."""
    return shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if shutil.which(p)), None
    )


def scale_weights(weights: Mapping[str, float]) -> dict[str, int]:
    """Configured weights as HAProxy's integers 0-256 with the same ratios, reduced by their GCD.

    The largest weight maps to 256 and the others in proportion (a non-zero
    weight never rounds down to 0); then all are divided by their greatest
    common divisor, so 80/20 is 4/1 and 50/50 is 1/1: roundrobin then repeats
    after few requests and any whole number of cycles is exactly on weight.
    """
    top = max(weights.values(), default=0.0)
    if top <= 0:
        return dict.fromkeys(weights, 1)
    scaled = {
        name: 0 if weight <= 0 else max(1, round(weight * MAX_WEIGHT / top))
        for name, weight in weights.items()
    }
    divisor = reduce(math.gcd, (w for w in scaled.values() if w > 0), 0) or 1
    return {name: weight // divisor for name, weight in scaled.items()}


def render_config(
    port: int,
    servers: Sequence[Server],
    *,
    health_check: bool = True,
    geo: bool = True,
    interval_ms: int = 250,
    fall: int = 2,
    rise: int = 2,
) -> str:
    """The ``haproxy.cfg`` text for a router on ``127.0.0.1:port`` in front of ``servers``.

    ``geo=False`` leaves out the ``X-Client-Region`` rules (a router that
    ignores client locations: a planted fault for the accuracy gate).
    Raises ValueError for a name or location that cannot be written safely.
    """
    for server in servers:
        for value in (server.name, server.location):
            if not _TOKEN.match(value):
                raise ValueError(f"{value!r} cannot be used in an HAProxy configuration")
    check = f" check inter {interval_ms}ms fall {fall} rise {rise}" if health_check else ""
    lines = [
        "# Written by stagewise for one resilience run; regenerated on every start.",
        "global",
        "    nbthread 1",
        "",
        "defaults",
        "    mode http",
        # Longer than a client waits (the probes give up after 3 s): a connection that
        # hangs (a blackholed region) is not quietly retried elsewhere; only the health
        # checks take such a region out, which is what the health-routing gate measures.
        # A refused connection fails at once and is redispatched to another region.
        "    timeout connect 5s",
        "    timeout client 10s",
        "    timeout server 2s",
        "    timeout check 500ms",
        "    retries 2",
        "    option redispatch 1",
        # As the builtin router does: the region sees who the client was.
        "    option forwardfor",
        "",
        "frontend entry",
        f"    bind 127.0.0.1:{port}",
        "    stats enable",
        "    stats uri /__router",
        "    http-after-response set-header X-Router haproxy",
        "    http-after-response set-header X-Routed-To %[srv_name] if { srv_name -m found }",
    ]
    locations: dict[str, list[Server]] = {}
    for server in servers:
        locations.setdefault(server.location, []).append(server)
    near: dict[str, str] = {}
    if geo:
        for index, location in enumerate(locations, start=1):
            backend = near[location] = f"near-{index}"
            lines += [
                f"    acl from-{index} req.hdr(X-Client-Region) -m str {location}",
                f"    use_backend {backend} if from-{index} {{ nbsrv({backend}) gt 0 }}",
            ]
    lines += ["    default_backend regions", "", "backend regions", "    balance roundrobin"]
    if health_check:
        lines.append("    option httpchk GET /health")
    lines += _servers(servers, lambda _s: check)
    for location, backend in near.items():
        lines += ["", f"backend {backend}", f"    # clients in {location}", "    balance roundrobin"]
        lines += _servers(locations[location], lambda s: f" track regions/{s.name}" if health_check else "")
    return "\n".join(lines) + "\n"


def _servers(servers: Sequence[Server], suffix: Callable[[Server], str]) -> list[str]:
    """``server`` lines; a weight-0 region is a ``backup`` (used only when no weighted one is up)."""
    weights = scale_weights({s.name: s.weight for s in servers})
    if not any(weights.values()):
        weights = dict.fromkeys(weights, 1)
    return [
        f"    server {s.name} {s.address} weight {weights[s.name] or 1}"
        + (" backup" if weights[s.name] == 0 else "")
        + suffix(s)
        for s in servers
    ]


def fetch_states(url: str, timeout: float = 1.0) -> dict[str, str]:
    """The ``regions`` servers' states from the HAProxy at ``url`` (``/__router;csv``); OSError if unreachable."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        connection.request("GET", "/__router;csv")
        return server_states(connection.getresponse().read().decode(errors="replace"))
    except http.client.HTTPException as exc:
        raise OSError(str(exc)) from exc
    finally:
        connection.close()


def server_states(csv_text: str, backend: str = "regions") -> dict[str, str]:
    """Each server's status (``UP``, ``DOWN``, ``no check``, ...) in ``backend`` from the stats CSV."""
    rows = [line.split(",") for line in csv_text.splitlines() if line and not line.startswith("#")]
    header = csv_text.splitlines()[0].lstrip("# ").split(",") if csv_text.startswith("#") else []
    column = header.index("status") if "status" in header else 17
    return {
        row[1]: row[column]
        for row in rows
        if len(row) > column and row[0] == backend and row[1] not in ("FRONTEND", "BACKEND")
    }


def check_config(binary: str, path: str) -> str | None:
    """``haproxy -c -f PATH``: None when valid, else HAProxy's complaint."""
    done = run_quiet([binary, "-c", "-q", "-f", path], timeout=15)
    if done.returncode == 0:
        return None
    return (done.stderr or done.stdout).strip()[-600:] or f"haproxy -c exited {done.returncode}"


__all__ = [
    "MAX_WEIGHT",
    "Server",
    "check_config",
    "fetch_states",
    "haproxy_binary",
    "render_config",
    "scale_weights",
    "server_states",
]
