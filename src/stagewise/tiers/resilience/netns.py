"""Regions as Linux network namespaces on one bridge, so network faults are real kernel faults.

Each region gets a namespace with a veth pair: ``eth0`` inside (address
``10.231.N.i/24``), the other end on a bridge that holds ``10.231.N.254``
(the host's side: the router, the probes, etcd and the replication link proxies).
The namespaces have only that /24 route and no default route, and the bridge
has no uplink, so no packet can leave the machine. Docker sets the FORWARD
policy to DROP and bridged packets traverse it (br_netfilter), so traffic
inside the bridge is allowed explicitly. Before the first packet, ``ip route
get`` must name our bridge for every region address; otherwise the subnet is
taken and the run stops (exit 4).

Faults on this network:

- ``partition``: iptables DROP inside both namespaces between two regions
  (and both regions' paths to the link proxies), reverted rule by rule;
- ``bandwidth``: ``tc qdisc ... tbf`` on the region's bridge port (traffic
  into the region), reverted with ``tc qdisc del``.

Every interface, namespace, rule and qdisc is journalled before it exists;
deleting a namespace removes its rules and its end of the veth with it.
"""

from __future__ import annotations

import os
import random
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from stagewise.errors import MissingError
from stagewise.tiers.resilience.journal import Journal, run_quiet

SUBNET_FIRST = 231


def require_netns() -> tuple[str, str, str]:
    """The ``ip``, ``iptables`` and ``tc`` binaries, or exit 4 naming what is missing."""
    missing = [tool for tool in ("ip", "iptables", "tc") if shutil.which(tool) is None]
    opt_out = '; or set [resilience.local] network = "loopback" to run every region on 127.0.0.1'
    if os.geteuid() != 0:
        raise MissingError(
            "the local topology puts each region in a network namespace, which needs root "
            "(namespaces, veth, iptables, tc)" + opt_out
        )
    if missing:
        raise MissingError(
            f"the local topology's network namespaces need {', '.join(missing)}: "
            "apt-get install iproute2 iptables" + opt_out
        )
    return str(shutil.which("ip")), str(shutil.which("iptables")), str(shutil.which("tc"))


@dataclass
class Netns:
    """One run's bridge and namespaces."""

    journal: Journal
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    subnet: str = ""
    bridge: str = ""
    namespaces: dict[str, str] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)
    ports: dict[str, str] = field(default_factory=dict)
    tools: tuple[str, str, str] = ("ip", "iptables", "tc")

    @property
    def host_address(self) -> str:
        return f"{self.subnet}.254"

    def prefix(self, region: str) -> list[str]:
        """The argument-list prefix that runs a command inside ``region``'s namespace."""
        return [self.tools[0], "netns", "exec", self.namespaces[region]]

    def _run(self, argv: Sequence[str], what: str) -> None:
        done = run_quiet(list(argv))
        if done.returncode != 0:
            raise MissingError(f"{what} failed: {' '.join(argv)}: {done.stderr.strip()}")

    def _step(self, what: str, apply: Sequence[str], undo: Sequence[str]) -> None:
        self.journal.record("argv", what, argv=list(undo))
        self._run(apply, what)

    def build(self, regions: Sequence[str]) -> None:
        """Create the bridge, a namespace per region, and check the routes before any packet."""
        self.tools = require_netns()
        ip, iptables, _tc = self.tools
        self.subnet = _free_subnet(ip)
        self.bridge = f"swbr-{self.tag}"
        self._step(
            f"bridge {self.bridge}",
            [ip, "link", "add", self.bridge, "type", "bridge"],
            [ip, "link", "del", self.bridge],
        )
        self._run([ip, "addr", "add", f"{self.host_address}/24", "dev", self.bridge], "bridge address")
        self._run([ip, "link", "set", self.bridge, "up"], "bridge up")
        rule = [
            "FORWARD",
            "-i",
            self.bridge,
            "-o",
            self.bridge,
            "-m",
            "comment",
            "--comment",
            f"stagewise-resilience-{self.tag}",
            "-j",
            "ACCEPT",
        ]
        self._step(
            "allow traffic inside the bridge",
            [iptables, "-w", "5", "-I", *rule],
            [iptables, "-w", "5", "-D", *rule],
        )
        for index, region in enumerate(regions, start=1):
            namespace = f"stagewise-{self.tag}-{region}"
            host_end, inside = f"swv-{self.tag}-{index}", f"swp-{self.tag}-{index}"
            address = f"{self.subnet}.{index}"
            self._step(
                f"namespace {namespace}", [ip, "netns", "add", namespace], [ip, "netns", "del", namespace]
            )
            self._step(
                f"veth {host_end}",
                [ip, "link", "add", host_end, "type", "veth", "peer", "name", inside],
                [ip, "link", "del", host_end],
            )
            self._run([ip, "link", "set", host_end, "master", self.bridge, "up"], "veth on the bridge")
            self._run([ip, "link", "set", inside, "netns", namespace], "veth into the namespace")
            inside_ns = [ip, "-n", namespace]
            self._run([*inside_ns, "link", "set", inside, "name", "eth0"], "rename veth")
            self._run([*inside_ns, "addr", "add", f"{address}/24", "dev", "eth0"], "namespace address")
            self._run([*inside_ns, "link", "set", "eth0", "up"], "namespace eth0 up")
            self._run([*inside_ns, "link", "set", "lo", "up"], "namespace lo up")
            self.namespaces[region] = namespace
            self.addresses[region] = address
            self.ports[region] = host_end
        for region, address in self.addresses.items():
            route = run_quiet([ip, "route", "get", address]).stdout
            if f"dev {self.bridge}" not in route:
                raise MissingError(f"{address} ({region}) would not go over {self.bridge}: {route.strip()}")

    def partition(self, a: str, b: str, links: Sequence[tuple[str, int]]) -> list[int]:
        """DROP everything between regions ``a`` and ``b``, and their paths to the link proxies; journal ids."""
        iptables = self.tools[1]
        entries = []
        rules: list[tuple[str, list[str]]] = []
        for here, there in ((a, b), (b, a)):
            rules.append((here, ["INPUT", "-s", self.addresses[there], "-j", "DROP"]))
            rules.append((here, ["OUTPUT", "-d", self.addresses[there], "-j", "DROP"]))
        # Replication crosses the host's link proxies: neither side may reach them while cut apart.
        for host, port in links:
            for region in (a, b):
                rules.append(
                    (region, ["OUTPUT", "-d", host, "-p", "tcp", "--dport", str(port), "-j", "DROP"])
                )
                rules.append((region, ["INPUT", "-s", host, "-p", "tcp", "--sport", str(port), "-j", "DROP"]))
        for region, rule in rules:
            tagged = [
                *rule[:-2],
                "-m",
                "comment",
                "--comment",
                f"stagewise-resilience-{self.tag}",
                *rule[-2:],
            ]
            entries.append(
                self.journal.record(
                    "argv",
                    f"partition rule in {region}: {' '.join(rule)}",
                    argv=[*self.prefix(region), iptables, "-w", "5", "-D", *tagged],
                )
            )
            self._run([*self.prefix(region), iptables, "-w", "5", "-I", *tagged], "partition rule")
        return entries

    def limit_bandwidth(self, region: str, rate_kbit: int) -> int:
        """``tc tbf`` on ``region``'s bridge port: traffic into the region at most ``rate_kbit``."""
        tc, port = self.tools[2], self.ports[region]
        entry = self.journal.record(
            "argv", f"tbf {rate_kbit} kbit into {region}", argv=[tc, "qdisc", "del", "dev", port, "root"]
        )
        burst = max(rate_kbit * 1000 // 8 // 10, 1600)  # a tenth of a second of traffic, at least a packet
        self._run(
            [
                tc,
                "qdisc",
                "add",
                "dev",
                port,
                "root",
                "tbf",
                "rate",
                f"{rate_kbit}kbit",
                "burst",
                str(burst),
                "latency",
                "2s",
            ],
            "tc tbf",
        )
        return entry


def _free_subnet(ip: str) -> str:
    """A 10.231.N.0/24 that no route on this host already covers."""
    routes = run_quiet([ip, "-4", "route", "show", "table", "all"]).stdout
    choices = list(range(256))
    random.shuffle(choices)
    for third in choices:
        subnet = f"10.{SUBNET_FIRST}.{third}"
        if f"{subnet}." not in routes and "10.0.0.0/8" not in routes:
            return subnet
    raise MissingError("no free 10.231.N.0/24 subnet for the netns network")


__all__ = ["Netns", "require_netns"]
