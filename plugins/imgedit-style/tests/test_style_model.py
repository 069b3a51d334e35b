"""Behaviour of the ``style`` model: options, strength, colour, blending, tiling, methods."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from imgedit.api import ImageArg, ModelContext, OptionError, WeightFile
from imgedit_style import color, plugin
from imgedit_style.arbitrary import Decoder, feature_stats, wct
from imgedit_style.model import StyleModel
from imgedit_style.transformer import EDGE_MARGIN, TransformerNet, for_inference, run_fast, run_tiled, upsample2_reflect_pad1

FAST = {"method": "optimize", "steps": 8, "scales": 1, "optimizer": "adam"}  # mechanics tests: 8 Adam steps


@pytest.fixture(scope="module")
def model():
    import imgedit

    return imgedit.load_model("style", device="cpu", precision="fp32")


def photo(h=32, w=40, seed=0) -> torch.Tensor:
    """A smooth, colourful test picture (B=1) with some structure."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand((1, 3, 5, 6), generator=g)
    x = torch.nn.functional.interpolate(low, size=(h, w), mode="bicubic", align_corners=False)
    return x.clamp(0.05, 0.95)


def random_state(module: torch.nn.Module, seed: int = 0) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    for m in module.modules():  # give the norms non-trivial affine parameters
        if m.__class__.__name__ == "StatsNorm":
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.normal_(0, 0.3)
    return {k: v.clone() for k, v in module.state_dict().items()}


def model_with(extra: dict[str, dict[str, torch.Tensor]], tile_pixels: int = 1 << 22) -> StyleModel:
    """A StyleModel that declares the references plus exactly ``extra`` (random nets for
    fast/arbitrary), whatever trained weights the plugin ships."""
    from imgedit import weights as weights_mod

    base = plugin.spec()
    decl = tuple(WeightFile(name, f"{name}.safetensors", "0" * 64) for name in extra)
    spec = dataclasses.replace(base, weights=tuple(w for w in base.weights if w.name == "references") + decl)
    refs = weights_mod.load(base, "references")
    ctx = ModelContext(spec, device=torch.device("cpu"), precision="fp32", dtype=None, tile_pixels=tile_pixels,
                       load_weights=lambda n: refs if n == "references" else extra[n])
    return StyleModel(ctx)


def test_references_are_the_five_paintings(model):
    refs = model.model.references
    assert set(refs) == set(plugin.SHIPPED_STYLES)
    for img in refs.values():
        assert img.shape[0] == 1 and img.shape[1] == 3 and max(img.shape[-2:]) == 512
        assert 0.05 < img.mean() < 0.95 and img.std() > 0.05  # real pictures, not blank


def test_strength_zero_returns_the_photo(model):
    x = photo()
    out = model.edit(x, strength=0.0, **FAST)
    assert torch.equal(out, x)


def test_optimize_changes_the_photo_and_keeps_size(model):
    x = photo(36, 52)
    for optimizer, least in (("adam", 0.02), ("lbfgs", 0.01)):  # 8 L-BFGS evaluations: measured 0.017
        out = model.edit(x, **{**FAST, "optimizer": optimizer})
        assert out.shape == x.shape
        assert (out - x).abs().mean() > least, optimizer


def test_strength_cross_fades_optimize(model):
    x = photo(seed=3)
    full = model.edit(x, **FAST)
    weak = model.edit(x, strength=0.2, **FAST)
    assert torch.allclose(weak, 0.2 * full + 0.8 * x, atol=1e-5)


def test_chroma_tv_removes_colour_speckle(model):
    """The optimisation's extra chroma smoothness (issue 18) lowers the fine-scale colour noise
    the style loss paints, and leaves the luma texture to the style."""
    x = photo(48, 64, seed=2)

    def fine(y: torch.Tensor) -> torch.Tensor:  # mean |channel - its 3x3 mean|, per YCbCr channel
        c = color.rgb_to_ycbcr(y)
        return (c - torch.nn.functional.avg_pool2d(c, 3, 1, 1, count_include_pad=False)).abs().mean((0, 2, 3))

    off = fine(model.edit(x, **{**FAST, "steps": 30, "optimizer": "lbfgs", "chroma_tv": 0.0}))
    on = fine(model.edit(x, **{**FAST, "steps": 30, "optimizer": "lbfgs", "chroma_tv": 8.0}))
    assert on[1:].mean() < 0.75 * off[1:].mean(), (on, off)
    assert on[0] > 0.6 * off[0], (on, off)


def test_preserve_color_keeps_chroma(model):
    x = photo(seed=1)
    out = model.edit(x, preserve_color=True, **FAST)
    yo, yx = color.rgb_to_ycbcr(out), color.rgb_to_ycbcr(x)
    inside = ((out > 0.002) & (out < 0.998)).all(dim=1, keepdim=True).expand(-1, 2, -1, -1)
    assert inside.float().mean() > 0.5
    chroma_err = (yo[:, 1:] - yx[:, 1:]).abs()
    assert chroma_err[inside].max() < 1e-4  # chroma kept exactly where RGB did not clip
    assert chroma_err.mean() < 0.01
    assert (yo[:, :1] - yx[:, :1]).abs().mean() > 0.01  # but the luma was stylised
    plain = model.edit(x, **FAST)
    assert (color.rgb_to_ycbcr(plain)[:, 1:] - yx[:, 1:]).abs().mean() > 0.02  # without it chroma moves


def test_ycbcr_round_trip():
    x = torch.rand(2, 3, 8, 9)
    assert torch.allclose(color.ycbcr_to_rgb(color.rgb_to_ycbcr(x)), x, atol=1e-5)
    y = color.rgb_to_ycbcr(torch.tensor([1.0, 1.0, 1.0]).view(1, 3, 1, 1))
    assert torch.allclose(y.flatten(), torch.tensor([1.0, 0.5, 0.5]), atol=1e-5)


def test_max_size_result_keeps_input_size(model):
    x = photo(60, 90)
    out = model.edit(x, max_size=30, **FAST)
    assert out.shape == x.shape


def test_style_image_and_blending(model, monkeypatch):
    """Shipped names and image tensors mix; their weights reach the Gram blend of the optimiser."""
    from imgedit_style import optimize

    seen = {}
    real = optimize.stylize

    def spy(content, styles, weights, cfg, encoder, **kw):
        seen["styles"], seen["weights"] = styles, weights
        return real(content, styles, weights, cfg, encoder, **kw)

    monkeypatch.setattr(optimize, "stylize", spy)
    x = photo(seed=2)
    noise = torch.rand(1, 3, 64, 64)
    blend = model.edit(x, style=(ImageArg("wave", None, 0.7), ImageArg("noise.png", noise, 0.3)), **FAST)
    assert seen["weights"] == [0.7, 0.3]
    assert torch.equal(seen["styles"][0], model.model.references["wave"])
    assert torch.equal(seen["styles"][1], noise)
    only_wave = model.edit(x, style=("wave",), **FAST)
    assert (blend - only_wave).abs().mean() > 0.005


def test_gram_blend_targets_are_weighted_means():
    from imgedit.perceptual import get_encoder
    from imgedit_style.optimize import OptimizeConfig, level_grams

    enc = get_encoder("cpu")
    a, b = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32) * 0.5
    cfg = OptimizeConfig()
    ga = level_grams([a], [1.0], (32, 32), cfg, enc)
    gb = level_grams([b], [1.0], (32, 32), cfg, enc)
    gab = level_grams([a, b], [0.7, 0.3], (32, 32), cfg, enc)
    for t in ga:
        assert torch.allclose(gab[t], 0.7 * ga[t] + 0.3 * gb[t], rtol=1e-4, atol=1e-7)


def test_style_string_weights_and_errors(model):
    m = model.model
    assert m.resolve_styles(("wave:0.25", "udnie")) == [("wave", None, 0.25), ("udnie", None, 1.0)]
    with pytest.raises(OptionError, match="neither an image file nor a shipped style"):
        m.resolve_styles(("no_such_painting",))
    assert m.resolve_styles(("Wave",)) == [("wave", None, 1.0)]  # names ignore case
    with pytest.raises(OptionError, match="did you mean 'starry_night'"):
        m.resolve_styles(("starry",))
    with pytest.raises(OptionError, match="style image 'missing.jpg': file not found"):
        m.resolve_styles(("missing.jpg",))
    with pytest.raises(OptionError, match="repeat --style for a blend"):
        m.resolve_styles(("wave:0.5,udnie",))
    with pytest.raises(OptionError, match="not all be 0"):
        m.resolve_styles(("wave:0",))


def test_method_choice_without_trained_weights(model):
    m = model.model
    styles = m.resolve_styles(("starry_night",))
    expected = "fast" if m.has_fast("starry_night") else ("arbitrary" if m.has_decoder else "optimize")
    assert m.pick_method("auto", styles) == expected
    img_style = [("x.png", torch.rand(1, 3, 8, 8), 1.0)]
    with pytest.raises(OptionError, match="method fast needs a shipped style"):
        m.pick_method("fast", img_style)


def test_fast_method_auto_strength_and_tiling():
    net = TransformerNet(8, 1)
    m = model_with({"fast-wave": random_state(net)}, tile_pixels=48 * 48)
    styles = m.resolve_styles(("wave",))
    assert m.pick_method("auto", styles) == "fast"
    x = photo(80, 112)  # 8960 px > 2304: tiled
    with torch.inference_mode():
        full = m.edit(x, style=("wave",))
        half = m.edit(x, style=("wave",), strength=0.5)
    assert full.shape == x.shape
    assert torch.allclose(half, 0.5 * full + 0.5 * x, atol=1e-5)  # fast: output-space strength
    with pytest.raises(OptionError):
        m.edit(x, style=("udnie",), method="fast")  # no fast weights for udnie


def test_tiled_matches_untiled():
    net = TransformerNet(16, 2)
    net.load_state_dict(random_state(net, seed=1))
    net.eval().requires_grad_(False)
    x = photo(192, 256, seed=4)
    with torch.no_grad():
        ref = net(x)
        out = run_tiled(net, x, tile_pixels=128 * 128, stats_pixels=192 * 256, overlap=48)
        untouched = run_tiled(net, x, tile_pixels=192 * 256)
    assert torch.equal(untouched, ref)  # below the budget: one pass
    err = (out - ref).abs()
    assert err.mean() < 0.006 and err.max() < 0.08, (err.mean(), err.max())
    naive = torch.cat([net(x[..., :128]), net(x[..., 128:])], dim=-1)  # per-tile statistics
    assert (naive - ref).abs().mean() > 2 * err.mean()
    # the plugin's inference path: bf16 weights, channels-last, tiled with recorded statistics
    fast = for_inference(TransformerNet.from_state_dict(net.state_dict()), "cpu", torch.bfloat16)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        low = run_fast(fast, x, tile_pixels=128 * 128, dtype=torch.bfloat16)
    assert low.dtype == torch.float32 and low.shape == ref.shape
    m = EDGE_MARGIN  # run_fast: the network on the image with a reflected margin, cropped back
    with torch.no_grad():
        ref_margin = net(torch.nn.functional.pad(x, (m, m, m, m), mode="reflect"))[..., m:-m, m:-m]
    assert (low - ref_margin).abs().mean() < 0.02, (low - ref_margin).abs().mean()


@pytest.mark.parametrize("shape", [(1, 5, 7, 9), (2, 16, 3, 2)])
def test_fused_upsample_pad_matches_torch(shape):
    x = torch.rand(shape).to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    ref = torch.nn.functional.pad(torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest"),
                                  (1, 1, 1, 1), mode="reflect")
    out = upsample2_reflect_pad1(x)
    assert torch.equal(out, ref) and out.is_contiguous(memory_format=torch.channels_last)


def test_fast_path_stays_in_bf16_under_autocast():
    """Under the runner's bf16 autocast, the fast network must not fall back to float32 between
    layers (autocast computes reflection padding in float32: two extra copies per layer)."""
    net = TransformerNet(8, 1)
    net.load_state_dict(random_state(net, seed=2))
    fast = for_inference(TransformerNet.from_state_dict(net.state_dict()), "cpu", torch.bfloat16)
    seen = []
    hooks = [m.register_forward_hook(lambda mod, inp, out: seen.append(inp[0].dtype))
             for m in fast.modules() if isinstance(m, torch.nn.Conv2d)]
    x = photo(36, 44, seed=3)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = run_fast(fast, x, tile_pixels=1 << 20, dtype=torch.bfloat16)
    for h in hooks:
        h.remove()
    assert seen and set(seen) == {torch.bfloat16}
    m = EDGE_MARGIN
    with torch.no_grad():
        ref = net(torch.nn.functional.pad(x, (m, m, m, m), mode="reflect"))[..., m:-m, m:-m]
    assert out.dtype == torch.float32 and (out - ref).abs().mean() < 0.02


def test_wct_matches_style_statistics():
    torch.manual_seed(0)
    fc = torch.randn(1, 6, 10, 12)
    fs = torch.randn(1, 6, 9, 9) @ torch.eye(9) * 2 + 1
    ms, cs = feature_stats(fs)
    out = wct(fc, ms, cs)
    mo, co = feature_stats(out)
    assert torch.allclose(mo, ms, atol=1e-4) and torch.allclose(co, cs, atol=1e-3)
    assert torch.allclose(wct(fc, ms, cs, strength=0.0), fc, atol=1e-6)


def test_arbitrary_method_with_a_decoder():
    dec = Decoder("block4", width=32, blocks=1)
    torch.manual_seed(0)
    m = model_with({"decoder": {k: v.clone() for k, v in dec.state_dict().items()}}, tile_pixels=64 * 64)
    styles = m.resolve_styles(("wave",))
    assert m.pick_method("auto", styles) == "arbitrary"
    x = photo(96, 100)
    with torch.inference_mode():
        out = m.edit(x, style=("wave", ImageArg("n.png", torch.rand(1, 3, 40, 40), 0.5)))
        tiled_out = m.edit(x, style=("wave",), max_size=60)
    assert out.shape == x.shape and tiled_out.shape == x.shape
    assert torch.isfinite(out).all()
    seen = []  # the decoder works on the picture with a reflected margin, cropped off again
    decode = m.decoder.decode
    m.decoder.decode = lambda f, size: seen.append(size) or decode(f, size=size)
    with torch.inference_mode():
        m.edit(photo(48, 56), style=("wave",))
    assert seen == [(48 + 2 * EDGE_MARGIN, 56 + 2 * EDGE_MARGIN)]


def test_multi_level_decoder_reads_every_level_and_round_trips_its_weights():
    dec = Decoder("block7", width=32, blocks=1, skips=("block4", "block2"), upsample="bilinear")
    assert dec.taps == ("block7", "block4", "block2")
    x = photo(70, 90)
    from imgedit.perceptual import get_encoder

    with torch.inference_mode():
        feats = get_encoder("cpu")(x, list(dec.taps))
        y = dec.decode(feats, size=(70, 90))
        assert y.shape == (1, 3, 70, 90)
        moved = dict(feats, block2=feats["block2"] + 1.0)  # a skip level changes the picture
        assert (dec.decode(moved, size=(70, 90)) - y).abs().mean() > 1e-5  # (untrained: outputs near 0.5)
        back = Decoder.from_state_dict({k: v.clone() for k, v in dec.state_dict().items()})
        assert back.taps == dec.taps and back.upsample == "bilinear"
        assert torch.allclose(back.decode(feats, size=(70, 90)), y, atol=1e-6)
    with pytest.raises(ValueError, match="needs the 'block4' features"):
        dec(feats["block7"], size=(70, 90))
    with pytest.raises(ValueError, match="not finer"):
        Decoder("block4", skips=("block7",))
    # the arbitrary method whitens/colours every level the decoder reads (whole and tiled)
    m = model_with({"decoder": {k: v.clone() for k, v in dec.state_dict().items()}}, tile_pixels=64 * 64)
    with torch.inference_mode():
        out = m.edit(photo(96, 100), style=("wave",))
        tiled_out = m.edit(photo(96, 100), style=("udnie",), max_size=90)
    assert out.shape == (1, 3, 96, 100) and tiled_out.shape == (1, 3, 96, 100) and torch.isfinite(out).all()


def test_row_split_conv_matches_the_convolution():
    from imgedit_style.transformer import RowSplitConv

    torch.manual_seed(5)
    conv = torch.nn.Conv2d(6, 3, 9)
    x = torch.randn(2, 6, 20, 23)
    with torch.no_grad():
        assert torch.allclose(RowSplitConv(conv)(x), conv(x), atol=1e-4)


def test_degrid_removes_a_4px_grid_and_keeps_the_picture():
    """A 4 px repeating pattern on a smooth picture (stronger on the left, as a network's grid is
    on flat areas) is removed; a picture without one is left almost as it is."""
    from imgedit_style.degrid import degrid

    x = photo(96, 160, seed=3)
    tile = torch.tensor([[1.0, -1.0, 0.5, -0.5], [-1.0, 1.0, -0.5, 0.5], [0.3, 0.2, -0.4, -0.1], [0.0, -0.6, 0.6, 0.0]])
    grid = tile.repeat(24, 40)[None, None] * torch.linspace(0.06, 0.02, 160)  # fades to the right
    noisy = x + grid * torch.tensor([1.0, 0.6, -0.8])[:, None, None]
    out = degrid(noisy)
    assert out.shape == x.shape
    before, after = (noisy - x).pow(2).mean(), (out - x).pow(2).mean()
    assert after < 0.02 * before, (before, after)
    clean = degrid(x)
    assert 10 * torch.log10(1 / (clean - x).pow(2).mean()) > 45  # PSNR of the untouched picture
    assert torch.equal(degrid(x[..., :6, :6]), x[..., :6, :6])  # too small to hold a grid


def test_degrid_option_acts_on_the_output():
    from imgedit_style.degrid import degrid

    net = TransformerNet(8, 1)
    m = model_with({"fast-wave": random_state(net, seed=2)})
    x = photo(64, 80, seed=5)
    with torch.inference_mode():
        raw = m.edit(x, style=("wave",), degrid=False)
        out = m.edit(x, style=("wave",))
    assert not torch.equal(raw, out)
    assert torch.allclose(out, degrid(raw).clamp(0, 1), atol=1e-5)
