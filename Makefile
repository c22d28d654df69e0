# Two commands do everything on a fresh machine (see README.md):
#   make run [DEMO=1]   set up and run the whole system
#   make test           set up and run the whole test suite
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
SYSTEM_DEPS := .var/.system-deps-$(shell sha256sum scripts/install-system-deps.sh | cut -c1-16)

.PHONY: run test bench lint format install system-deps

$(INSTALLED): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

$(SYSTEM_DEPS): scripts/install-system-deps.sh
	bash scripts/install-system-deps.sh
	mkdir -p .var && rm -f .var/.system-deps-* && touch $@

install: $(INSTALLED)

system-deps: $(SYSTEM_DEPS)

run: $(INSTALLED) $(SYSTEM_DEPS)
	$(PY) scripts/devstack.py run $(if $(DEMO),--demo)

test: $(INSTALLED) $(SYSTEM_DEPS)
	$(PY) scripts/devstack.py test -- $(ARGS)

bench: $(INSTALLED) $(SYSTEM_DEPS)
	$(PY) scripts/devstack.py bench bench/tenant_context.py

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(INSTALLED)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
