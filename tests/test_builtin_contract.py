"""imgedit's own built-in plugin passes the same contract suite as any third-party plugin."""
from imgedit.testing import PluginContract


class TestClassicPlugin(PluginContract):
    plugin = "classic"
    example_options = {"classic.resize": {"scale": "0.5"}, "classic.blend": {"factor": "4"}}
