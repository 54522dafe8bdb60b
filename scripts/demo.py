"""``make demo``: the whole staged pipeline on examples/shop, with embedded defaults.

It migrates and seeds a throwaway SQLite database, starts the service on
127.0.0.1 (a plain subprocess until the deploy backends exist), runs
``stagewise test --all --coverage`` against it (unit -> integration -> api ->
e2e), stops the service whatever happens, and exits with stagewise's verdict.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHOP = REPO / "examples" / "shop"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_healthy(url: str, server: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the shop exited with code {server.returncode} before it was healthy")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as response:  # noqa: S310 - loopback URL we built
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise RuntimeError(f"the shop did not become healthy at {url} within {timeout:.0f}s")


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="stagewise-demo-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env.update({"DATABASE_URL": f"sqlite:///{work / 'shop.db'}", "SHOP_API_TOKEN": secrets.token_hex(16)})
    python = sys.executable
    print(f"demo: preparing examples/shop (database in {work})", flush=True)
    for module in ("shop.migrate", "shop.seed"):
        subprocess.run([python, "-m", module], cwd=SHOP, env=env, check=True)
    log = (work / "shop.log").open("wb")
    server = subprocess.Popen(
        [python, "-m", "shop", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=SHOP,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_healthy(url, server)
        print(f"demo: shop is healthy at {url}; running the pipeline", flush=True)
        command = [python, "-m", "stagewise", "test", "--all", "--coverage", "--host", url]
        command += ["--project", str(SHOP), "--reports-dir", str(REPO / "reports")]
        code = subprocess.call(command, env=env)
    except KeyboardInterrupt:
        code = 130
    except RuntimeError as exc:
        print(f"demo: {exc}; log: {work / 'shop.log'}", file=sys.stderr)
        code = 4
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    print(f"demo: shop stopped; exit {code}; report: {REPO / 'reports' / 'latest' / 'summary.json'}")
    return code


if __name__ == "__main__":
    sys.exit(main())
