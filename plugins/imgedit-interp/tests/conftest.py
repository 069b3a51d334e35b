"""Test setup for imgedit-interp: make the core's test helpers (``tests/io_corpus.py``) importable."""
import sys
from pathlib import Path

_CORE_TESTS = Path(__file__).resolve().parents[3] / "tests"
if _CORE_TESTS.is_dir() and str(_CORE_TESTS) not in sys.path:
    sys.path.insert(0, str(_CORE_TESTS))
