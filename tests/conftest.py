"""Shared pytest setup: make helper modules in tests/ importable (``from io_corpus import ...``)."""
import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

import pytest

from _imgedit_helpers import ROOT, SHARED_DATA  # noqa: F401

# the example plugin's own tests run only after it is pip-installed (see test_third_party.py)
collect_ignore = ["example_plugin"]


@pytest.fixture
def plugin_site(tmp_path, monkeypatch):
    """A folder on sys.path for fake plugin distributions; the registry is reloaded around it."""
    from imgedit import registry

    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    registry.get_registry.cache_clear()
    yield site
    registry.get_registry.cache_clear()
    for name in list(sys.modules):
        if name.startswith("fakeplug_"):
            del sys.modules[name]


