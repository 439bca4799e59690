# make demo: fresh .venv, then the whole DAG offline on the fixture stock site -> report/index.html
# make test: fresh .venv with test deps, then the full test suite (slow tests included)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

export DVC_NO_ANALYTICS := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 90
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: venv demo test lint fmt clean chromium

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "AdGen needs Python 3.11 (set PYTHON=python3.11)"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip<26"
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The report's browser test opens the report in Debian's chromium; without it that test is skipped.
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
		|| echo "chromium not installed (apt-get install -y chromium as root): the browser test will be skipped"

demo: $(STAMP)
	$(BIN)/python -m adgen.demo

test: $(STAMP) chromium
	PREFECT_HOME=$$(mktemp -d) $(BIN)/python -m pytest -n 2 --dist loadgroup -p no:cacheprovider tests

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache report
