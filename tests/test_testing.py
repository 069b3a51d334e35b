"""The contract suite must catch broken plugins, not only pass good ones."""
import pytest

from _imgedit_helpers import make_plugin_dist
from imgedit.testing import FileIOForbidden, PluginContract

REG = '''
from imgedit.api import Capability, ModelSpec, Option, hookimpl
import {extra}

@hookimpl
def imgedit_register_models(register):
    register(ModelSpec(name="bad.model", summary="misbehaves", factory="fakeplug_bad_impl:Bad",
                       capabilities=(Capability.{cap},), options=(Option("k", "int", 1, min=0, max=3),),
                       latent_shape={latent}, min_size={min_size}))
'''


def _contract(plugin_site, impl, cap="EDIT", extra="os", latent=None, min_size=0, example_options=None):
    make_plugin_dist(plugin_site, "fake-bad", "bad", "fakeplug_bad",
                     REG.format(extra=extra, cap=cap, latent=latent, min_size=min_size))
    (plugin_site / "fakeplug_bad_impl.py").write_text(impl)

    class T(PluginContract):
        plugin = "bad"
    T.example_options = example_options or {}
    return T()


def test_0_255_output_is_caught_before_the_clamp(plugin_site):
    """The engine clamps to [0,1], so the suite must look at what the model itself returns."""
    t = _contract(plugin_site, '''
from imgedit.api import ImageModel
class Bad(ImageModel):
    def edit(self, images, k=1):
        return images * 255
''')
    with pytest.raises(AssertionError, match=r"bad.model.edit: returned values in \[.*\]; images must be in \[0,1\] \(a 0-255 result"):
        t.test_capabilities_run_without_file_io()


def test_wrong_dtype_fails(plugin_site):
    t = _contract(plugin_site, '''
import torch
from imgedit.api import ImageModel
class Bad(ImageModel):
    def edit(self, images, k=1):
        return (images * 1.01).double()
''')
    with pytest.raises(AssertionError, match="returned dtype torch.float64, the input's is torch.float32"):
        t.test_capabilities_run_without_file_io()


def test_small_overshoot_passes(plugin_site):
    t = _contract(plugin_site, '''
from imgedit.api import ImageModel
class Bad(ImageModel):
    def edit(self, images, k=1):
        return images * 1.01 - 0.005   # resampling-like overshoot: within the tolerance
''')
    t.test_capabilities_run_without_file_io()


def test_example_options_for_an_unknown_model_fail(plugin_site):
    t = _contract(plugin_site, '''
from imgedit.api import ImageModel
class Bad(ImageModel):
    def edit(self, images, k=1):
        return images
''', example_options={"bad.modle": {"k": "2"}})
    with pytest.raises(AssertionError, match=r"example_options names 'bad.modle', not a model of plugin 'bad' \(its models: bad.model\)"):
        t.test_options_validate()


_NEEDS_48 = '''
from imgedit.api import ImageModel
class Bad(ImageModel):
    def edit(self, images, k=1):
        assert min(images.shape[-2:]) >= 48, images.shape   # would crash below its minimum
        return images
'''


def test_min_size_is_used_and_enforced(plugin_site):
    """A model declaring min_size gets test images of that size, and a smaller one never reaches it."""
    t = _contract(plugin_site, _NEEDS_48, min_size=48)
    t.test_capabilities_run_without_file_io()
    t.test_min_size_is_enforced()


def test_without_min_size_the_small_images_reach_the_model(plugin_site):
    t = _contract(plugin_site, _NEEDS_48)   # the suite's 32 px images crash it
    with pytest.raises(AssertionError, match="32"):
        t.test_capabilities_run_without_file_io()


def test_file_io_is_caught(plugin_site, tmp_path):
    t = _contract(plugin_site, f'''
from imgedit.api import ImageModel
class Bad(ImageModel):
    def edit(self, images, k=1):
        open({str(tmp_path / "x.txt")!r}, "w").write("side effect")
        return images
''')
    with pytest.raises(FileIOForbidden):
        t.test_capabilities_run_without_file_io()
    assert not (tmp_path / "x.txt").exists()


def test_wrong_range_and_shape_are_caught(plugin_site):
    t = _contract(plugin_site, '''
from imgedit.api import ImageModel
class Bad(ImageModel):
    def edit(self, images, k=1):
        return images[:, :1] * 3
''')
    with pytest.raises(AssertionError, match=r"is not \(B,3,H,W\)"):
        t.test_capabilities_run_without_file_io()


def test_missing_method_and_heavy_registration_are_caught(plugin_site):
    t = _contract(plugin_site, '''
from imgedit.api import ImageModel
class Bad(ImageModel):
    pass
''', cap="ENCODE", extra="torch", latent=(4,))
    with pytest.raises(AssertionError, match="does not override encode"):
        t.test_models_are_valid()
    with pytest.raises(AssertionError, match="imported: torch"):
        t.test_registration_is_light()


def test_nondeterministic_sampling_is_caught(plugin_site):
    t = _contract(plugin_site, '''
import torch
from imgedit.api import ImageModel
class Bad(ImageModel):
    def sample_latents(self, n, generator, k=1):
        return torch.rand(n, 4)  # ignores the generator
    def generate(self, latents, k=1):
        return torch.zeros(latents.shape[0], 3, 8, 8)
''', cap="GENERATE", latent=(4,))
    with pytest.raises(AssertionError, match="not deterministic"):
        t.test_capabilities_run_without_file_io()
