"""Runs imgedit's plugin contract suite against this plugin: that is all a plugin needs."""
import torch

from imgedit.testing import PluginContract


class TestPosterize(PluginContract):
    plugin = "posterize"
    example_options = {"posterize": {"levels": "3", "dither": "false"}}


def test_levels_without_dither():
    from imgedit_posterize.model import Posterize

    x = torch.linspace(0, 1, 11).view(1, 1, 1, 11).expand(1, 3, 1, 11)
    out = Posterize.edit(None, x, levels=2, dither=False)
    assert set(out.unique().tolist()) == {0.0, 1.0}
