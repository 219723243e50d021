# The two README commands: `make serve` and `make test`. Everything installs from nothing.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install build serve check test browser clean

$(STAMP): pyproject.toml package.json package-lock.json
	python3 -m venv $(VENV)
	npm ci --no-audit --no-fund --loglevel=error
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,site]'
	@# bytecode for the editable sources, as a wheel install has it (saves ~50 ms a run where
	@# PYTHONDONTWRITEBYTECODE is set); Python ignores a stale .pyc
	$(PY) -m compileall -q src
	touch $(STAMP)

install: $(STAMP)

build: install
	$(VENV)/bin/neuralpath build

serve: install
	$(VENV)/bin/neuralpath serve

check: install
	$(VENV)/bin/neuralpath check

browser:
	bash scripts/install-chromium.sh

# pytest exits 5 when it collected no tests: that is a broken suite, not a pass.
test: install browser
	@$(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing on purpose" >&2; exit 1; fi; \
	exit $$rc

clean:
	rm -rf public .neuralpath
