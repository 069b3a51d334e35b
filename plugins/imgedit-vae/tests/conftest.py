"""Fixtures of imgedit-vae's tests: a tiny labelled glyph set rendered from Pillow's bundled font
(regular and a synthetic bold: no font package needed), held-aside glyphs of other characters,
and a tiny model trained on the set."""
from __future__ import annotations

from pathlib import Path

import pytest

from vae_helpers import HELD_CHARS, render_set, tiny_args


@pytest.fixture(autouse=True)
def _one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def vae_glyphs(tmp_path_factory) -> Path:
    return render_set(tmp_path_factory.mktemp("vae-glyphs"))


@pytest.fixture(scope="session")
def vae_held(tmp_path_factory) -> Path:
    """Glyphs the tiny model is not trained on (``regular/``, ``bold/``), no labels."""
    return render_set(tmp_path_factory.mktemp("vae-held"), HELD_CHARS, labels=False)


@pytest.fixture(scope="session")
def tiny_vae(vae_glyphs, tmp_path_factory):
    """vae.tiny: 400 steps on the glyph set, exported to the (temp) user models folder with its
    bold direction and two PCA directions. Returns the run folder."""
    import torch

    from imgedit import registry
    from imgedit_vae import train

    torch.set_num_threads(1)
    run = tmp_path_factory.mktemp("vae-run") / "vae-tiny"
    assert train.main(tiny_args(vae_glyphs, run, 400, "--export", "--pca", "2", "--pca-samples", "100")) == 0
    registry.reload()
    return run

