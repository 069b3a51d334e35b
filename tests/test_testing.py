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
                       latent_shape={latent}))
'''


def _contract(plugin_site, impl, cap="EDIT", extra="os", latent=None):
    make_plugin_dist(plugin_site, "fake-bad", "bad", "fakeplug_bad", REG.format(extra=extra, cap=cap, latent=latent))
    (plugin_site / "fakeplug_bad_impl.py").write_text(impl)

    class T(PluginContract):
        plugin = "bad"
    return T()


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
