"""The ``[security]`` table of the project file: which checks run, the gate, and each check's options.

Validated once by the loader (every error is a :class:`~stagewise.errors.ConfigError`
naming the file and the key path, exit 3). Nothing here imports bandit,
pip-audit, schemathesis or the ZAP client: the project model must load in
milliseconds for ``stagewise --help``.

Example::

    [security]
    fail_on = "high"                      # critical, high, medium, low or info
    allowlist = ".stagewise/security-allowlist.toml"
    checks = ["bandit", "dependencies", "fuzz", "passive", "zap"]

    [security.bandit]
    paths = ["shop"]                      # default: project.source, else the project root

    [security.dependencies]
    requirements = ["requirements.txt"]   # default: requirements*.txt at the root, else the
                                          # packages installed in the project's interpreter
    service = "pypi"                      # or "osv"; osv_url = "http://mirror/v1/query"
    advisories = "vendor/osv"             # a local copy of OSV advisories (a folder of OSV JSON
                                          # files, or one JSON list), served to pip-audit on 127.0.0.1

    [security.fuzz]
    openapi = "/openapi.json"             # default: the app's openapi_url, else the usual places
    app = "shop.main:app"                 # the ASGI app whose openapi_url names the document
    max_examples = 25
    auth_env = "SHOP_API_TOKEN"           # a bearer token for fuzzing behind the login
    public = ["POST /login"]              # writes that are meant to need no token
    exclude = ["GET /export"]             # operations never fuzzed (event streams are left out anyway)

    [security.passive]
    paths = ["/admin/"]                   # looked at besides the root and the API's GET routes
    crawl_pages = 50                      # same-origin pages crawled from those (0: no crawl)
    crawl_seconds = 20

    [security.zap]
    url = "http://127.0.0.1:8090"         # a running ZAP daemon; no url, no ZAP
    api_key_env = "ZAP_API_KEY"
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from stagewise.plugins.security_checks import SECURITY_CHECKS
from stagewise.project.table import ConfigTable
from stagewise.project.validate import URL, env_name, inside_project, names_in, one_of, url

#: Most severe first; a gate fails on findings at or above its level.
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low", "info")
#: The checks in the order they run: offline ones first, so a dead target still yields their findings.
#: The security check registry (:mod:`stagewise.plugins.security_checks`) is the one list.
CHECK_NAMES: tuple[str, ...] = SECURITY_CHECKS.names()
DEFAULT_ALLOWLIST = ".stagewise/security-allowlist.toml"
_ENDPOINT = re.compile(r"^[A-Z]+ /\S*$")
_APP_REF = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*$")


@dataclass(frozen=True)
class BanditConfig:
    """Static analysis: what to scan (relative paths) and what to leave out."""

    paths: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ("tests", ".venv", "venv", "node_modules", "build", "dist", ".git")


@dataclass(frozen=True)
class DependencyConfig:
    """The dependency audit: which requirement files, which vulnerability service."""

    requirements: tuple[str, ...] = ()
    service: str = "pypi"
    osv_url: str | None = None
    timeout: float = 15.0
    #: A local OSV advisory copy (relative to the project root, or absolute): served on 127.0.0.1.
    advisories: str | None = None


@dataclass(frozen=True)
class FuzzConfig:
    """API fuzzing from the service's OpenAPI document.

    ``openapi=None`` means "find it": the app's own ``openapi_url`` (``app``,
    or the app the project scan finds), then the usual places on the target.
    """

    openapi: str | None = None
    app: str | None = None
    max_examples: int = 25
    seed: int = 20240601
    auth_env: str | None = None
    public: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class PassiveConfig:
    """Extra paths the passive HTTP checks look at besides the root and the API's GET routes,
    and the bounds of the same-origin crawl that starts from them."""

    paths: tuple[str, ...] = ()
    crawl_pages: int = 50
    crawl_seconds: float = 20.0


@dataclass(frozen=True)
class ZapConfig:
    """A running OWASP ZAP daemon (never started by stagewise); ``url=None`` means "no ZAP"."""

    url: str | None = None
    api_key_env: str | None = None
    spider_seconds: float = 120.0
    active_seconds: float = 600.0


@dataclass(frozen=True)
class SecurityConfig:
    """Everything the security tier reads from the project file."""

    fail_on: str = "high"
    allowlist: str = DEFAULT_ALLOWLIST
    checks: tuple[str, ...] = CHECK_NAMES
    bandit: BanditConfig = BanditConfig()
    dependencies: DependencyConfig = DependencyConfig()
    fuzz: FuzzConfig = FuzzConfig()
    passive: PassiveConfig = PassiveConfig()
    zap: ZapConfig = field(default_factory=ZapConfig)


def _relative(table: ConfigTable, key: str, values: tuple[str, ...]) -> tuple[str, ...]:
    for value in values:
        if not inside_project(value):
            raise table.error(key, f"{value!r} must be a relative path inside the project")
    return values


def _whole(table: ConfigTable, key: str, low: int, high: int, default: int) -> int:
    """A whole number; ``25.0`` is accepted as 25 (``TOML`` floats that are whole)."""
    value = table.number(key, low, high)
    if value is None:
        return default
    if value != int(value):
        raise table.out_of_range(key, value, f"must be a whole number from {low} to {high}")
    return int(value)


def read_security(table: ConfigTable) -> SecurityConfig:
    """Validate ``[security]`` (absent: every default)."""
    base = SecurityConfig()
    fail_on = one_of(table, "fail_on", SEVERITIES, base.fail_on) or base.fail_on
    allowlist = table.string("allowlist", base.allowlist) or base.allowlist
    _relative(table, "allowlist", (allowlist,))
    checks = names_in(table, "checks", SECURITY_CHECKS, base.checks, what="check", plural="checks")
    config = SecurityConfig(
        fail_on=fail_on,
        allowlist=allowlist,
        checks=tuple(c for c in SECURITY_CHECKS.names() if c in checks),
        bandit=_bandit(table.table("bandit")),
        dependencies=_dependencies(table.table("dependencies")),
        fuzz=_fuzz(table.table("fuzz")),
        passive=_passive(table.table("passive")),
        zap=_zap(table.table("zap")),
    )
    table.check_unknown()
    return config


def _bandit(table: ConfigTable | None) -> BanditConfig:
    base = BanditConfig()
    if table is None:
        return base
    config = BanditConfig(
        paths=_relative(table, "paths", table.strings("paths", base.paths)),
        exclude=_relative(table, "exclude", table.strings("exclude", base.exclude)),
    )
    table.check_unknown()
    return config


def _dependencies(table: ConfigTable | None) -> DependencyConfig:
    base = DependencyConfig()
    if table is None:
        return base
    service = one_of(table, "service", ("pypi", "osv"), base.service) or base.service
    osv_url = url(table, "osv_url")
    timeout = table.number("timeout", 1, 600)
    advisories = table.string("advisories")
    if advisories is not None and osv_url is not None:
        raise table.error("advisories", "set advisories (a local copy) or osv_url (a feed), not both")
    if advisories is not None and not advisories.strip():
        raise table.error("advisories", "must be a path to a folder of OSV JSON files or one JSON file")
    config = DependencyConfig(
        requirements=_relative(table, "requirements", table.strings("requirements", base.requirements)),
        service=service,
        osv_url=osv_url,
        timeout=base.timeout if timeout is None else timeout,
        advisories=advisories,
    )
    table.check_unknown()
    return config


def _fuzz(table: ConfigTable | None) -> FuzzConfig:
    base = FuzzConfig()
    if table is None:
        return base
    openapi = table.string("openapi")
    if openapi is not None and not openapi.startswith("/") and not URL.match(openapi):
        raise table.error("openapi", "must be a path on the target ('/openapi.json') or an http(s) URL")
    app = table.string("app")
    if app is not None and not _APP_REF.match(app):
        raise table.error("app", f"{app!r} must be 'module:attribute' (e.g. 'shop.main:app')")
    public = table.strings("public", base.public)
    exclude = table.strings("exclude", base.exclude)
    for key, endpoints in (("public", public), ("exclude", exclude)):
        for endpoint in endpoints:
            if not _ENDPOINT.match(endpoint):
                raise table.error(key, f"{endpoint!r} must look like 'POST /path' (as in the OpenAPI)")
    config = FuzzConfig(
        openapi=openapi,
        app=app,
        max_examples=_whole(table, "max_examples", 1, 100_000, base.max_examples),
        seed=_whole(table, "seed", 0, 2**31 - 1, base.seed),
        auth_env=env_name(table, "auth_env"),
        public=public,
        exclude=exclude,
    )
    table.check_unknown()
    return config


def _passive(table: ConfigTable | None) -> PassiveConfig:
    base = PassiveConfig()
    if table is None:
        return base
    paths = table.strings("paths", ())
    for path in paths:
        if not path.startswith("/"):
            raise table.error("paths", f"{path!r} must start with '/'")
    seconds = table.number("crawl_seconds", 1, 3600)
    config = PassiveConfig(
        paths=paths,
        crawl_pages=_whole(table, "crawl_pages", 0, 10_000, base.crawl_pages),
        crawl_seconds=base.crawl_seconds if seconds is None else seconds,
    )
    table.check_unknown()
    return config


def _zap(table: ConfigTable | None) -> ZapConfig:
    base = ZapConfig()
    if table is None:
        return base
    zap_url = url(table, "url")
    spider = table.number("spider_seconds", 1, 24 * 3600)
    active = table.number("active_seconds", 1, 7 * 24 * 3600)
    config = ZapConfig(
        url=zap_url,
        api_key_env=env_name(table, "api_key_env"),
        spider_seconds=base.spider_seconds if spider is None else spider,
        active_seconds=base.active_seconds if active is None else active,
    )
    table.check_unknown()
    return config


__all__ = [
    "CHECK_NAMES",
    "DEFAULT_ALLOWLIST",
    "SEVERITIES",
    "BanditConfig",
    "DependencyConfig",
    "FuzzConfig",
    "PassiveConfig",
    "SecurityConfig",
    "ZapConfig",
    "read_security",
]
