"""imgedit's plugin contract suite, run on interp.gru."""
from imgedit.testing import PluginContract


class TestInterpContract(PluginContract):
    plugin = "interp"
    image_size = 48
    sequence_length = 5
    example_options = {"interp.gru": {"factor": "2", "iters": "2"}}
