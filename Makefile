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
	$(VENV)/bin/imgedit generate -m gan.glyphs $(DEMO_OUT)/gan/glyphs -c 16 --seed 1 --save-latents
	$(VENV)/bin/imgedit encode -m gan.glyphs samples/glyphs $(DEMO_OUT)/gan/glyph-latents -v
	$(VENV)/bin/imgedit edit -m gan.glyphs samples/glyphs $(DEMO_OUT)/gan/bold --direction bold:1.5 -v
	$(VENV)/bin/imgedit edit -m gan.glyphs samples/glyphs $(DEMO_OUT)/gan/italic --direction italic:1.5 -v
	$(VENV)/bin/imgedit morph -m gan.glyphs samples/glyphs/A.png samples/glyphs/R.png samples/glyphs/5.png \
		$(DEMO_OUT)/gan/glyph-morph.mp4 -c 12 --size 256
	$(VENV)/bin/imgedit encode -m vae.glyphs samples/glyphs $(DEMO_OUT)/vae/glyph-latents -v
	$(VENV)/bin/imgedit edit -m vae.glyphs samples/glyphs $(DEMO_OUT)/vae/bold --direction bold:1.5 -v
	$(VENV)/bin/imgedit generate -m vae.glyphs $(DEMO_OUT)/vae/samples -c 8 --seed 1
	$(VENV)/bin/imgedit generate -m vae.faces $(DEMO_OUT)/vae/faces -c 8 --seed 1
	$(VENV)/bin/imgedit edit -m vae.faces $(DEMO_OUT)/vae/faces $(DEMO_OUT)/vae/faces-pc0 --direction pc0:2 -v
	$(VENV)/bin/imgedit generate -m gan.faces $(DEMO_OUT)/gan/faces -c 8 -o truncation=0.8
	$(VENV)/bin/imgedit edit -m gan.faces $(DEMO_OUT)/gan/faces $(DEMO_OUT)/gan/faces-pc0 --direction pc0:2 -v
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
