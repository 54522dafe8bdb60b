"""``deploy ENV release | rollback | releases`` on a real one-node swarm: examples/shop, two app replicas.

The swarm is made by ``one_node_swarm`` (and left as found); the shop copy gets
its own stack name, image name and ports. Users reach the stack on the port
its ``edge`` service publishes (this machine's kernel has no IPVS, so no
routing mesh: the edge spreads connections over the app's tasks by DNS; see
examples/shop/docker-compose.swarm.yml). A client sends ~50 GET/s to that port
for the whole of each command.

v2 adds a column (so the release runs the migration gate: the v1 image, as
stack ``<stack>-gate``, smoke-tested against the rehearsed schema) and passes;
``rollback`` goes back to v1 by the proven down-migration. v3 migrates too but
its health answer breaks the smoke tests: the stack goes back together, the
schema and the rows are as they were, and the record says so.
"""

from __future__ import annotations

import http.client
import json
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import requires
from tests.helpers import SHOP, cli_env, free_port, run_cli

pytestmark = [
    pytest.mark.slow,
    pytest.mark.docker,
    pytest.mark.xdist_group("swarm"),
    requires(shutil.which("docker") is not None, "needs the docker engine"),
]

MIGRATION = '''"""v2: a nullable column (the gate lints, rehearses and proves its downgrade)."""

import sqlalchemy as sa
from alembic import op

revision = "0099"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("gift_note", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_column("orders", "gift_note")
'''
TOKEN = f"tok-{uuid.uuid4().hex}"  # the stage's write token, this run's own
RELEASE_TIMEOUT = 1500


@dataclass(frozen=True)
class Shop:
    root: Path
    env: dict[str, str]
    stack: str
    port: int
    image: str  # the image repository, this run's own


class Client:
    """A bounded loop of GETs (about 50 per second, at most 25 minutes) counting failures and gaps."""

    def __init__(self, port: int, path: str = "/health") -> None:
        self.url = f"http://127.0.0.1:{port}{path}"
        self.answers: list[str] = []
        self.failures: list[str] = []
        self.times: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        for _ in range(50 * 60 * 25):
            if self.stop.is_set():
                return
            try:
                with opener.open(self.url, timeout=10) as answer:
                    self.answers.append(answer.read().decode())
                self.times.append(time.monotonic())
            except (OSError, http.client.HTTPException) as exc:  # a reset mid-answer is HTTPException
                self.failures.append(repr(exc))
            time.sleep(0.02)

    def gap(self) -> float:
        return max((b - a for a, b in zip(self.times, self.times[1:], strict=False)), default=0.0)

    def __enter__(self) -> Client:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(15)


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def _commit(root: Path, message: str) -> None:
    _git(root, "add", "-A")
    _git(root, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", message)


def _docker(*args: str) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, check=False, timeout=120)
    return done.stdout.strip()


def _images(stack: str) -> dict[str, str]:
    """service -> the image its spec names, for every service of the stack."""
    names = _docker("service", "ls", "-q", "--filter", f"label=com.docker.stack.namespace={stack}").split()
    found = {}
    for service in names:
        out = _docker(
            "service",
            "inspect",
            "--format",
            "{{.Spec.Name}} {{.Spec.TaskTemplate.ContainerSpec.Image}}",
            service,
        )
        name, _, image = out.partition(" ")
        found[name.removeprefix(f"{stack}_")] = image
    return found


def _task_images(stack: str, service: str) -> set[str]:
    """The image ids the service's running containers run."""
    ids = _docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={stack}_{service}").split()
    return {_docker("inspect", "--format", "{{.Image}}", i) for i in ids}


def _cli(shop: Shop, *args: str, timeout: float = RELEASE_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return run_cli("deploy", "swarm", *args, cwd=shop.root, env=shop.env, timeout=timeout)


def _history(shop: Shop) -> list[dict[str, Any]]:
    done = _cli(shop, "releases", "--json", timeout=60)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["kind"] == "deploy.releases"
    releases: list[dict[str, Any]] = document["releases"]
    return releases


def _get(port: int, path: str) -> tuple[int, str]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _post_product(port: int, name: str) -> dict[str, object]:
    body = json.dumps({"name": name, "price_cents": 500, "stock": 3}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/products",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
        method="POST",
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as answer:
        assert answer.status == 201
        product: dict[str, object] = json.loads(answer.read())
        return product


def _columns(shop: Shop) -> set[str]:
    """The columns of the live ``orders`` table, read in the database service's task (socket in /tmp)."""
    container = _docker(
        "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={shop.stack}_db"
    ).split()[0]
    out = _docker(
        "exec", container, "psql", "-h", "/tmp", "-U", "shop", "-d", "shop", "-At", "-c",
        "select column_name from information_schema.columns where table_name = 'orders'",
    )  # fmt: skip
    return set(out.split())


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, one_node_swarm: None) -> Iterator[Shop]:
    """The shop's swarm stage up (2 app replicas behind the edge) and released once as v1."""
    root = tmp_path_factory.mktemp("swarm-release") / "shop"
    shutil.copytree(
        SHOP,
        root,
        ignore=shutil.ignore_patterns(
            ".stagewise", "reports", "__pycache__", "*.db", ".pytest_cache", ".wheels", "backups"
        ),
    )
    prefix = f"swr{uuid.uuid4().hex[:8]}"
    port, db_port, spare = free_port(), free_port(), free_port()
    toml = (root / "stagewise.toml").read_text()
    toml = toml.replace("[compose]\n", f'[compose]\nproject_prefix = "{prefix}"\n')
    toml = toml.replace("[data.containers]\n", '[data.containers]\nswarm = "db"\n')
    toml = toml.replace(
        "[data.urls]\n",
        '[data.urls]\nswarm = "postgresql://shop:shop-swarm-db@127.0.0.1:${SHOP_SWARM_DB_PORT}/shop"\n',
    )
    toml += (
        f'\n[stages.swarm]\ntiers = ["api"]\nbase_url = "http://127.0.0.1:{port}"\n'
        'backend = "swarm"\ncompose_file = "docker-compose.swarm.yml"\n'
        f'\n[release.swarm]\nport = {port}\nspare_port = {spare}\nverify = ["api"]\nhealth_timeout = "180s"\n'
    )
    (root / "stagewise.toml").write_text(toml)
    compose = root / "docker-compose.swarm.yml"
    compose.write_text(compose.read_text().replace("image: shop-app:swarm", f"image: {prefix}-app:swarm"))
    (root / ".gitignore").write_text(".stagewise/\nbackups/\n.wheels/\nreports/\n")
    _git(root, "init", "-q")
    _commit(root, "v1")
    env = {
        "SHOP_SWARM_PORT": str(port),
        "SHOP_SWARM_DB_PORT": str(db_port),
        "SHOP_API_TOKEN": TOKEN,
        "STAGEWISE_SWARM_TIMEOUT": "300",
    }
    stack = f"{prefix}-swarm"
    shop = Shop(root, env, stack, port, f"{prefix}-app")
    try:
        up = _cli(shop, "up", "--build")
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        # From v1 on, releases migrate (guarded) and the app no longer does at start-up: v1's
        # spec is what a failed release puts back on a newer schema, where a v1 that upgraded
        # "to head" would crash (the gate checks the serving spec, so it would refuse v2).
        compose.write_text(compose.read_text().replace('SHOP_AUTO_MIGRATE: "1"', 'SHOP_AUTO_MIGRATE: "0"'))
        _commit(root, "v1: the release migrates")
        first = _cli(shop, "release", "--version", "v1")
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
        yield shop
    finally:
        _cli(shop, "down", "--volumes", timeout=300)
        for leftover in (stack, f"{stack}-gate"):
            if _docker("service", "ls", "-q", "--filter", f"label=com.docker.stack.namespace={leftover}"):
                _docker("stack", "rm", leftover)
        if images := _docker("images", "--format", "{{.Repository}}:{{.Tag}}", shop.image).split():
            _docker("rmi", "-f", *images)


def _migrating_v2(root: Path) -> None:
    """v2 adds a column; the stage stops migrating at start-up (the release migrates, guarded).

    With ``SHOP_AUTO_MIGRATE=1`` the v1 image would try to upgrade a schema newer than it knows
    when the gate runs it against the rehearsed copy, and the gate would (rightly) refuse.
    """
    compose = root / "docker-compose.swarm.yml"
    compose.write_text(compose.read_text().replace('SHOP_AUTO_MIGRATE: "1"', 'SHOP_AUTO_MIGRATE: "0"'))
    (root / "shop" / "migrations" / "versions" / "0099_gift_note.py").write_text(MIGRATION)
    init = root / "shop" / "__init__.py"
    init.write_text(init.read_text() + "\n# v2: a new build of the package (and so of the image)\n")


def test_release_rolls_two_replicas_with_no_failed_request_then_rollback(shop: Shop) -> None:
    v1 = _images(shop.stack)
    assert v1["app"] == f"{shop.image}:swarm-v1"
    _migrating_v2(shop.root)
    _commit(shop.root, "v2")
    with Client(shop.port) as client:
        done = _cli(shop, "release", "--version", "v2")
        time.sleep(0.5)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-5000:]
    assert client.failures == [], client.failures[:5]
    assert len(client.answers) > 100
    assert "gate | the old version answers on" in out  # v1 against the rehearsed schema, as its own stack
    assert "app | update completed" in out
    after = _images(shop.stack)
    assert after["app"] == f"{shop.image}:swarm-v2"
    assert {k: v for k, v in after.items() if k != "app"} == {k: v for k, v in v1.items() if k != "app"}
    assert "gift_note" in _columns(shop)
    history = _history(shop)
    last = history[-1]
    assert last["outcome"] == "released"
    assert last["revision_before"] == "0003"
    assert last["revision_after"] == "0099"
    assert last["downgrade_proven"] is True
    assert last["image"] == f"{shop.image}:swarm-v2"
    assert _task_images(shop.stack, "app") == {last["image_digest"]}
    steps = [s["step"] for s in last["steps"]]
    assert [s for s in steps if s in ("build", "migrate", "update", "verify")] == [
        "build", "migrate", "update", "verify",
    ]  # fmt: skip
    assert {"lint", "rehearse upgrade", "old version on new schema"} <= set(steps), steps
    status = _cli(shop, "status", timeout=120)
    assert status.returncode == 0, status.stderr
    assert "replicas 2/2" in status.stdout
    assert f"stack port 127.0.0.1:{shop.port}: release {last['id']} (v2" in status.stdout
    assert not _docker(
        "service", "ls", "-q", "--filter", f"label=com.docker.stack.namespace={shop.stack}-gate"
    )

    with Client(shop.port) as client:
        done = _cli(shop, "rollback")
        time.sleep(0.5)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-5000:]
    assert client.failures == [], client.failures[:5]
    assert _images(shop.stack)["app"] == f"{shop.image}:swarm-v1"
    assert "gift_note" not in _columns(shop)  # the proven down-migration
    back = _history(shop)[-1]
    assert back["kind"] == "rollback"
    assert back["outcome"] == "released"
    assert back["version"] == "v1"
    assert back["revision_after"] == "0003"
    assert _task_images(shop.stack, "app") == {history[0]["image_digest"]}
    listing = _cli(shop, "releases", timeout=60)
    assert listing.returncode == 0
    assert "rollback" in listing.stdout
    assert "0003->0099" in listing.stdout


def test_a_release_failing_verification_puts_the_whole_stack_and_the_data_back(shop: Shop) -> None:
    before = _images(shop.stack)
    serving = _task_images(shop.stack, "app")
    kept = _post_product(shop.port, f"kept-{uuid.uuid4().hex[:6]}")
    products = json.loads(_get(shop.port, "/products?limit=500")[1])
    if not (shop.root / "shop" / "migrations" / "versions" / "0099_gift_note.py").exists():
        _migrating_v2(shop.root)
    app = shop.root / "shop" / "app.py"
    app.write_text(
        app.read_text().replace(
            'return JSONResponse({"status": "ok", "database": "ok"})',
            'return JSONResponse({"status": "ok", "database": "ok", "version": "v3"})',
        )
    )
    _commit(shop.root, "v3: health says more than the smoke test accepts")
    with Client(shop.port) as client:
        done = _cli(shop, "release", "--version", "v3")
        time.sleep(0.5)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out[-5000:]
    assert "rolled back at verify" in done.stderr, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert "putting every service of stack" in out
    assert client.failures == [], client.failures[:5]
    assert '"version":"v3"' in "".join(client.answers)  # v3 did serve before its verification failed
    # Every service back as it was, the old version's image in every task, its answer the old one.
    assert _images(shop.stack) == before
    assert _task_images(shop.stack, "app") == serving
    status, body = _get(shop.port, "/health")
    assert (status, json.loads(body)) == (200, {"status": "ok", "database": "ok"})
    # The data as it was: the schema back at 0003, the rows there.
    assert "gift_note" not in _columns(shop)
    assert json.loads(_get(shop.port, "/products?limit=500")[1]) == products
    assert _get(shop.port, f"/products/{kept['id']}")[0] == 200
    last = _history(shop)[-1]
    assert last["outcome"] == "failed"
    assert str(last["detail"]).startswith("verify")
    assert last["image"] == f"{shop.image}:swarm-v3"
    assert last["revision_before"] == "0003"
    assert last["revision_after"] == "0003"
    assert last["extra"]["undone"] == "stack put back, data put back"
    status_out = _cli(shop, "status", timeout=120).stdout
    assert "replicas 2/2" in status_out
    assert "(v1" in status_out  # the release that serves is still v1's


def test_ctrl_c_after_the_rolling_update_puts_the_stack_and_the_data_back(shop: Shop, tmp_path: Path) -> None:
    before = _images(shop.stack)
    serving = _task_images(shop.stack, "app")
    columns = _columns(shop)
    init = shop.root / "shop" / "__init__.py"
    init.write_text(init.read_text() + "\n# v4: another build\n")
    _commit(shop.root, "v4")
    marker = tmp_path / "paused"
    child = subprocess.Popen(
        [sys.executable, "-m", "stagewise", "deploy", "swarm", "release", "--version", "v4"],
        cwd=shop.root,
        env=cli_env({**shop.env, "STAGEWISE_RELEASE_PAUSE": f"update:{marker}"}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + RELEASE_TIMEOUT
    while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert marker.exists(), child.communicate(timeout=60)
    assert _images(shop.stack)["app"] == f"{shop.image}:swarm-v4"  # the engine rolled it: v4 serves
    with Client(shop.port) as client:
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=900)
    assert child.returncode == 130, out[-3000:] + err[-3000:]
    assert "interrupted at update" in err
    assert client.failures == [], client.failures[:5]
    assert _images(shop.stack) == before
    assert _task_images(shop.stack, "app") == serving
    assert _columns(shop) == columns
    last = _history(shop)[-1]
    assert last["outcome"] == "interrupted"
    assert str(last["detail"]).startswith("update")
    assert str(last["extra"]["undone"]).startswith("stack put back")
