"""Discovery, isolation of broken plugins, name clashes, IMGEDIT_PLUGINS, lazy loading."""
import json
import sys

import pytest

from _imgedit_helpers import make_plugin_dist, run_cli
from imgedit.errors import ModelNotFoundError, PluginError

GOOD = '''
from imgedit.api import Capability, ModelSpec, Option, hookimpl

@hookimpl
def imgedit_register_models(register):
    register(ModelSpec(name="{name}", summary="test", factory="fakeplug_impl:Invert",
                       capabilities=(Capability.EDIT,)))
'''

IMPL = '''
from imgedit.api import ImageModel

class Invert(ImageModel):
    def edit(self, images):
        return 1 - images
'''


def _reg():
    from imgedit.registry import get_registry
    return get_registry()


def test_builtin_plugin_found_through_entry_point():
    from imgedit.registry import reload
    reg = reload()
    rec = next(p for p in reg.plugins if p.name == "classic")
    assert rec.status == "ok" and rec.package == "imgedit"
    assert "classic.adjust" in reg.models and reg.models["classic.adjust"].plugin == "imgedit"


def test_good_plugin_is_discovered(plugin_site):
    make_plugin_dist(plugin_site, "fake-good", "fake", "fakeplug_good", GOOD.format(name="fake.invert"))
    (plugin_site / "fakeplug_impl.py").write_text(IMPL)
    reg = _reg()
    assert reg.get("fake.invert").plugin == "fake-good"
    assert "fakeplug_impl" not in sys.modules  # listing does not import the model module


def test_import_error_isolated(plugin_site):
    make_plugin_dist(plugin_site, "fake-broken", "broken", "fakeplug_broken", "import does_not_exist_xyz\n")
    make_plugin_dist(plugin_site, "fake-good", "fake", "fakeplug_good", GOOD.format(name="fake.invert"))
    reg = _reg()
    rec = next(p for p in reg.plugins if p.name == "broken")
    assert rec.status == "broken" and "does_not_exist_xyz" in rec.error
    assert "fake.invert" in reg.models and "classic.adjust" in reg.models


def test_raising_hook_isolated_and_half_registration_removed(plugin_site):
    code = GOOD.format(name="raiser.first") + '''
@hookimpl
def imgedit_register_trainers(register):
    raise RuntimeError("boom in trainers")
'''
    make_plugin_dist(plugin_site, "fake-raise", "raiser", "fakeplug_raise", code)
    reg = _reg()
    rec = next(p for p in reg.plugins if p.name == "raiser")
    assert rec.status == "broken" and "boom in trainers" in rec.error
    assert "raiser.first" not in reg.models


def test_bad_hook_signature_isolated(plugin_site):
    code = '''
from imgedit.api import hookimpl

@hookimpl
def imgedit_register_models(register, unexpected_argument):
    pass
'''
    make_plugin_dist(plugin_site, "fake-sig", "badsig", "fakeplug_sig", code)
    reg = _reg()
    rec = next(p for p in reg.plugins if p.name == "badsig")
    assert rec.status == "broken" and "invalid hooks" in rec.error


def test_invalid_spec_isolated(plugin_site):
    code = '''
from imgedit.api import ModelSpec, hookimpl

@hookimpl
def imgedit_register_models(register):
    register(ModelSpec(name="Bad Name", summary="", factory="x:y", capabilities=("edit",)))
'''
    make_plugin_dist(plugin_site, "fake-spec", "badspec", "fakeplug_spec", code)
    rec = next(p for p in _reg().plugins if p.name == "badspec")
    assert rec.status == "broken" and "lowercase" in rec.error


def test_model_names_start_with_the_plugin_name(plugin_site):
    """A model is named PLUGIN or PLUGIN.MODEL (its entry point's name): anything else breaks the
    plugin with a message that shows the right form; everything else still loads."""
    make_plugin_dist(plugin_site, "fake-bare", "posterise", "fakeplug_bare", GOOD.format(name="invert"))
    make_plugin_dist(plugin_site, "fake-other", "mine", "fakeplug_other", GOOD.format(name="theirs.invert"))
    make_plugin_dist(plugin_site, "fake-ok", "okplug", "fakeplug_ok", GOOD.format(name="okplug"))
    reg = _reg()
    bare = next(p for p in reg.plugins if p.name == "posterise")
    assert bare.status == "broken"
    assert "model name 'invert': the models of plugin 'posterise' are named 'posterise' or posterise.MODEL " \
           "(e.g. posterise.invert)" in bare.error
    other = next(p for p in reg.plugins if p.name == "mine")
    assert other.status == "broken" and "e.g. mine.invert" in other.error
    assert "invert" not in reg.models and "theirs.invert" not in reg.models
    assert "okplug" in reg.models and "classic.adjust" in reg.models


def test_name_clash_names_both_packages(plugin_site):
    make_plugin_dist(plugin_site, "fake-one", "dup", "fakeplug_one", GOOD.format(name="dup.model"))
    make_plugin_dist(plugin_site, "fake-two", "dup", "fakeplug_two", GOOD.format(name="dup.model"))
    reg = _reg()
    with pytest.raises(PluginError) as info:
        reg.get("dup.model")
    assert "fake-one" in str(info.value) and "fake-two" in str(info.value)
    assert "classic.adjust" in reg.models  # everything else still works


def test_restrict_with_env(plugin_site, monkeypatch):
    make_plugin_dist(plugin_site, "fake-good", "fake", "fakeplug_good", GOOD.format(name="fake.invert"))
    monkeypatch.setenv("IMGEDIT_PLUGINS", "fake")
    reg = _reg()
    assert set(reg.models) == {"fake.invert"}
    assert next(p for p in reg.plugins if p.name == "classic").status == "disabled"


def test_task_without_provider_is_clear(plugin_site, monkeypatch):
    monkeypatch.setenv("IMGEDIT_PLUGINS", "classic")
    with pytest.raises(ModelNotFoundError) as info:
        _reg().resolve("stylize", None, "edit")
    assert "no installed plugin provides `stylize`" in str(info.value)


def test_unknown_model_suggests(plugin_site):
    with pytest.raises(ModelNotFoundError) as info:
        _reg().get("adjust")
    assert "classic.adjust" in str(info.value)


def test_cli_plugins_shows_broken_and_json(tmp_path):
    site = tmp_path / "site"
    make_plugin_dist(site, "fake-broken", "broken", "fakeplug_broken", "raise ImportError('no deps here')\n")
    res = run_cli("plugins", env={"PYTHONPATH": str(site)})
    assert res.returncode == 1
    assert "broken" in res.stdout and "no deps here" in res.stdout and "classic" in res.stdout
    res = run_cli("plugins", "--json", env={"PYTHONPATH": str(site)})
    data = {p["name"]: p for p in json.loads(res.stdout)}
    assert data["broken"]["status"] == "broken" and data["classic"]["status"] == "ok"
    # other plugins keep working while one is broken
    res = run_cli("models", "--json", env={"PYTHONPATH": str(site)})
    assert res.returncode == 0 and "classic.adjust" in [m["name"] for m in json.loads(res.stdout)]
