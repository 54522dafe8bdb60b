"""``[release.STAGE]``: the stage's front door and how a release is verified.

```toml
[release.dev]
port = 8100            # the front door: HAProxy on 127.0.0.1:8100, what users reach
service = "app"        # the service released (default: the only one)
spare_port = 8005      # where the new version starts beside the old (default: its port + 1)
verify = ["api"]       # tiers run against the new version before the old one stops; false: none
markers = "smoke"      # their marker expression (default: smoke)
drain = "10s"          # how long requests in flight may take on the old version
health_timeout = "60s" # how long the new version may take to get healthy
```

A stage with a ``[release.STAGE]`` table and no ``verify`` fails closed:
``release`` refuses before it builds anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from stagewise.project.table import ConfigTable


@dataclass(frozen=True)
class ReleaseConfig:
    """One stage's release settings; ``verify`` None means "not configured" (release refuses)."""

    stage: str
    port: int
    service: str | None = None
    spare_port: int | None = None
    verify: tuple[str, ...] | None = None
    verify_disabled: bool = False
    markers: str = "smoke"
    drain: float = 10.0
    health_timeout: float = 60.0


def read_release(table: ConfigTable, stages: Mapping[str, object]) -> dict[str, ReleaseConfig]:
    """Validate ``[release]``: one sub-table per stage."""
    releases: dict[str, ReleaseConfig] = {}
    for name in list(table.data):
        if name not in stages:
            raise table.error(name, f"unknown stage (stages: {', '.join(stages)})")
        sub = table.section(name)
        port = sub.whole("port", 1, 65535)
        if port is None:
            raise sub.error("port", "is required: the front door's public port")
        raw_verify = sub.raw("verify")
        verify: tuple[str, ...] | None
        disabled = False
        if raw_verify is False:
            verify, disabled = (), True
        elif raw_verify is None:
            verify = None
        else:
            verify = sub.strings("verify", ())
            if not verify:
                raise sub.error("verify", "must list tiers to run against the new version, or be false")
        releases[name] = ReleaseConfig(
            stage=name,
            port=port,
            service=sub.string("service"),
            spare_port=sub.whole("spare_port", 1, 65535),
            verify=verify,
            verify_disabled=disabled,
            markers=sub.string("markers", "smoke") or "smoke",
            drain=sub.seconds("drain") or 10.0,
            health_timeout=sub.seconds("health_timeout") or 60.0,
        )
        sub.check_unknown()
    return releases


__all__ = ["ReleaseConfig", "read_release"]
