# pillow-web: `make demo` runs the dashboard on a local Azurite; `make test` runs every check.
# `make setup` only installs, and does nothing when nothing changed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint bench chaos soak screenshots browser services clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Headless Chromium for the browser tests, from Debian's packages (never a downloaded build).
browser:
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Redis and nginx for the scale-out tests, Prometheus (and promtool) for the metrics tests, from
# Debian's packages (and envsubst, which fills in deploy/nginx.conf in docker's nginx image); the
# fixtures run their own copies on free loopback ports. A policy-rc.d (unless there is one) keeps
# the packages from starting a system nginx on :80, redis on :6379 or prometheus on :9090.
services:
	@PATH="$$PATH:/usr/sbin"; command -v redis-server >/dev/null && command -v nginx >/dev/null \
	  && command -v envsubst >/dev/null && command -v prometheus >/dev/null \
	  && command -v promtool >/dev/null || { \
	  echo "installing Debian's redis-server, nginx and prometheus for the tests"; \
	  policy=/usr/sbin/policy-rc.d; own=; \
	  if [ ! -e $$policy ]; then printf '#!/bin/sh\nexit 101\n' >$$policy && chmod +x $$policy && own=1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -qq \
	    --no-install-recommends redis-server nginx gettext-base prometheus >/dev/null; \
	  status=$$?; \
	  [ -z "$$own" ] || rm -f $$policy; exit $$status; }

demo: setup
	$(BIN)/pillow-web serve --demo

lint: setup
	$(BIN)/ruff check .

test: setup browser services lint
	$(BIN)/python -m pytest

bench: setup browser services
	$(BIN)/pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	test -d bench/reference/node_modules || npm ci --prefix bench/reference --no-audit --no-fund --loglevel=error
	$(BIN)/python -m bench

# Chaos: 100 seeded faults over the whole scale-out topology (about 9 minutes; SEED=n replays
# a run), then its checker; soak: 30 minutes without faults, 500 screens. See README "Chaos".
chaos: setup browser services
	$(BIN)/pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	$(BIN)/python -m chaos $(if $(SEED),--seed $(SEED))

soak: setup services
	$(BIN)/python -m chaos.soak

screenshots: setup browser
	$(BIN)/python -m tests.screenshots

clean:
	rm -rf $(VENV) node_modules .azurite .pytest_cache .ruff_cache .hypothesis
