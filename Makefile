# imgedit — the two commands of the README: `make demo` and `make test`.
# Each creates .venv if missing and installs the core and every plugin under plugins/ (editable).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PLUGIN_DIRS := $(patsubst %/pyproject.toml,%,$(wildcard plugins/*/pyproject.toml))
STAMP := $(VENV)/.imgedit-installed
DEMO_OUT ?= demo-out

.PHONY: demo test test-slow bench install clean

install: $(STAMP)

$(STAMP): pyproject.toml $(addsuffix /pyproject.toml,$(PLUGIN_DIRS))
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]' $(addprefix -e ,$(PLUGIN_DIRS))
	@touch $@

demo: $(STAMP)
	@rm -rf $(DEMO_OUT)
	$(VENV)/bin/imgedit plugins
	$(VENV)/bin/imgedit stylize samples/photos $(DEMO_OUT)/stylized
	$(VENV)/bin/imgedit stylize samples/video/bigbuckbunny_320.mp4 $(DEMO_OUT)/stylized/bigbuckbunny_320.mp4
	$(VENV)/bin/imgedit stylize samples/photos/chelsea.jpg $(DEMO_OUT)/optimized --style wave \
		--method optimize -o steps=100 -o scales=2
	$(VENV)/bin/imgedit interpolate samples/video/bigbuckbunny_320.mp4 $(DEMO_OUT)/bigbuckbunny_320.2x.mp4
	$(VENV)/bin/imgedit edit -m classic.adjust samples/photos $(DEMO_OUT)/vivid -o saturation=1.6 -o contrast=1.15
	$(VENV)/bin/imgedit encode -m classic.colorgrid samples/photos $(DEMO_OUT)/latents
	$(VENV)/bin/imgedit generate -m classic.colorgrid --latents $(DEMO_OUT)/latents $(DEMO_OUT)/decoded
	@echo
	@echo "Demo outputs are in $(abspath $(DEMO_OUT)):"
	@find $(DEMO_OUT) -type f | sort | sed 's/^/  /'

test: $(STAMP)
	$(PY) -m pytest -q

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

bench: $(STAMP)
	$(PY) benchmarks/startup.py

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache
