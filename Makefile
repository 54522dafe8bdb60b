# stagewise — two commands set everything up on a fresh machine:
#   make demo   the staged pipeline on examples/shop (unit -> integration -> api -> e2e)
#   make test   stagewise's own test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install system-deps bench-deps test-machine demo test lint typecheck bench clean

$(STAMP): pyproject.toml examples/shop/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e examples/shop
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium for the e2e tier (no browser download is possible here) and Xvfb for
# headed runs; PostgreSQL's server binaries, Patroni, etcd, HAProxy, iproute2 and iptables for
# the resilience tier's local topology. Installed only when missing, and only where apt-get
# runs as root.
SYSTEM_PACKAGES = chromium xvfb postgresql patroni etcd-server haproxy iproute2 iptables
system-deps:
	@if [ ! -x /usr/bin/chromium ] || ! command -v xvfb-run >/dev/null || ! command -v patroni >/dev/null \
	    || ! command -v etcd >/dev/null || ! { command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ]; } \
	    || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v ip >/dev/null \
	    || ! command -v iptables >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	  else \
	    echo "install the system packages first: sudo apt-get install $(SYSTEM_PACKAGES)" >&2; exit 4; \
	  fi; \
	fi

demo: install system-deps
	$(BIN)/python scripts/demo.py

# Everything the suite needs (PostgreSQL up, Chromium, Docker engine + base images), then the suite.
test-machine: install
	scripts/test-machine.sh

# The suite starts some thousand Python processes (stagewise, pytest, the projects' apps). A
# machine that sets PYTHONDONTWRITEBYTECODE=1 makes each compile every module it imports
# again (0.46 s -> 0.32 s for one `stagewise deploy ENV status`); the bytecode goes to one
# cache folder instead, never beside a throwaway project's sources (a release's git tree
# stays clean).
test: install test-machine
	env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX=$(CURDIR)/.cache/pycache \
	  $(BIN)/python -m pytest -n 2 --dist loadgroup tests

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# wrk, the C load generator bench/bench_load.py measures stagewise's load tier against.
bench-deps:
	@if ! command -v wrk >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	  else \
	    echo "install wrk first: sudo apt-get install wrk" >&2; exit 4; \
	  fi; \
	fi

bench: install system-deps bench-deps
	$(BIN)/python bench/bench_cli.py
	$(BIN)/python bench/bench_deploy.py
	$(BIN)/python bench/bench_load.py
	$(BIN)/python bench/bench_backup.py
	$(BIN)/python bench/bench_security.py
	$(BIN)/python bench/bench_resilience.py

clean:
	rm -rf $(VENV) reports examples/shop/reports .pytest_cache
