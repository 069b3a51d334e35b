"""Test setup for imgedit-style: the repo's tests/ helpers (io_corpus) become importable."""
import sys
from pathlib import Path

_REPO_TESTS = Path(__file__).resolve().parents[3] / "tests"
if _REPO_TESTS.is_dir() and str(_REPO_TESTS) not in sys.path:
    sys.path.insert(0, str(_REPO_TESTS))


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny tensors gain nothing from several threads, and on a shared 2-core machine two OpenMP
    threads competing with another process ran the encoder ~100x slower (1.7 s vs 0.016 s per
    step, measured); restored after each test."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
