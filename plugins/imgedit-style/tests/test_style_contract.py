"""imgedit's plugin contract suite, run against the style plugin."""
from imgedit.testing import PluginContract


class TestStylePlugin(PluginContract):
    plugin = "style"
    # optimize works without trained weights; 2 steps at one scale keep the run short
    example_options = {"style": {"method": "optimize", "steps": "2", "scales": "1"}}
