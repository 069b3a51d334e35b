"""imgedit's plugin contract suite, run on a VAE trained by the tests (no VAE weights ship yet)."""
import pytest

from imgedit.testing import PluginContract


class TestVaeContract(PluginContract):
    plugin = "vae"
    image_size = 48
    trained_models = ("vae.tiny",)
    example_options = {"vae.tiny": {"residual": "false", "truncation": "0.8"}}

    @pytest.fixture(autouse=True)
    def _trained(self, tiny_vae):
        yield
