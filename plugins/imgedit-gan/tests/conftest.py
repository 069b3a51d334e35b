"""Fixtures of imgedit-gan's tests: a tiny labelled glyph set rendered from Pillow's bundled font
(synthetic bold and italic variants: no font package needed) and a tiny model trained on it."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gan_helpers import render_set, tiny_args

_CORE_TESTS = Path(__file__).resolve().parents[3] / "tests"
if _CORE_TESTS.is_dir() and str(_CORE_TESTS) not in sys.path:
    sys.path.insert(0, str(_CORE_TESTS))


@pytest.fixture(autouse=True)
def _one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def glyph_set(tmp_path_factory) -> Path:
    return render_set(tmp_path_factory.mktemp("glyphs"))


@pytest.fixture(scope="session")
def tiny_model(glyph_set, tmp_path_factory):
    """gan.tiny: 150 GAN + 150 encoder steps on the glyph set, exported to the (temp) user models
    folder with its bold/italic directions. Returns the run folder."""
    import torch

    from imgedit import registry
    from imgedit_gan import train

    torch.set_num_threads(1)
    run = tmp_path_factory.mktemp("run") / "gan-tiny"
    assert train.main(tiny_args(glyph_set, run, 150, 150, "--export", "--pca", "2")) == 0
    registry.reload()
    return run
