# pillow-web: `make demo` runs the dashboard on a local Azurite; `make test` runs every check.
# `make setup` only installs, and does nothing when nothing changed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint bench screenshots browser clean

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

demo: setup
	$(BIN)/pillow-web serve --demo

lint: setup
	$(BIN)/ruff check .

test: setup browser lint
	$(BIN)/python -m pytest

bench: setup browser
	$(BIN)/pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	test -d bench/reference/node_modules || npm ci --prefix bench/reference --no-audit --no-fund --loglevel=error
	$(BIN)/python -m bench

screenshots: setup browser
	$(BIN)/python -m tests.screenshots

clean:
	rm -rf $(VENV) node_modules .azurite .pytest_cache .ruff_cache .hypothesis
