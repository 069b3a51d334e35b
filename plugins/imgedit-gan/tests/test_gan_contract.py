"""imgedit's plugin contract suite, run on the shipped GAN models."""
from imgedit.testing import PluginContract


class TestGanContract(PluginContract):
    plugin = "gan"
    image_size = 48
    example_options = {"gan.glyphs": {"steps": "2", "residual": "false"}, "gan.faces": {"steps": "2", "residual": "false"}}
