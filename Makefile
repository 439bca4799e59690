# make demo: fresh .venv, then the whole DAG offline on the fixture stock site -> report/index.html
# make test: fresh .venv with test deps, then the full test suite (slow tests included)
# make lock: regenerate requirements/lock.txt (the exact versions .venv gets), then run make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
LOCK   := requirements/lock.txt
EXTRAS := dev,s3,cluster

export DVC_NO_ANALYTICS := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 90
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: venv demo test lint fmt clean chromium services lock

venv: $(STAMP)

# The venv is exactly the lock: made anew whenever the lock or pyproject.toml changes (a package an
# upgrade dropped must not linger), the project itself installed without resolving anything more.
$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "AdGen needs Python 3.11 (set PYTHON=python3.11)"'
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip<26"
	$(BIN)/pip install --quiet -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e '.[$(EXTRAS)]'
	$(BIN)/pip check
	touch $(STAMP)

# Adding a dependency: add it to pyproject.toml, `make lock` (keeps every other pin), `make test`,
# commit both. Upgrading: `make lock UPGRADE=1` (the newest each range allows), `make test`, commit.
lock:
	test -x .venv-lock/bin/pip-compile || ($(PYTHON) -m venv .venv-lock && .venv-lock/bin/pip install --quiet "pip-tools>=7.7")
	.venv-lock/bin/pip-compile --quiet $(if $(UPGRADE),--upgrade) --allow-unsafe --strip-extras --no-emit-index-url \
		--no-emit-find-links $(foreach e,$(subst $(comma), ,$(EXTRAS)),--extra $(e)) --output-file $(LOCK) pyproject.toml
	sed -i 's/^torch==2.13.0+cpu$$/torch==2.13.0/' $(LOCK)   # the same pin on a machine without the CPU wheel

comma := ,

# Debian packages the tests run for real: chromium (the report in a browser), redis-server (the
# distributed crawl's frontier), postgresql (a Prefect server for several workers). Installed when
# missing and we may (root); elsewhere the tests that need them skip with this hint.
DEBS := chromium redis-server postgresql postgresql-contrib
services:
	@missing=""; command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql postgresql-contrib"; \
	if [ -n "$$missing" ]; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
		|| echo "not installed:$$missing (apt-get install -y $(DEBS) as root): the tests that need them will be skipped"; \
	fi

chromium: services

demo: $(STAMP)
	$(BIN)/python -m adgen.demo

test: $(STAMP) services
	PREFECT_HOME=$$(mktemp -d) $(BIN)/python -m pytest -n 2 --dist loadgroup -p no:cacheprovider --durations=25 tests

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .venv-lock .pytest_cache .ruff_cache report
