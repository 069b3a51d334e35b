"""Tests for imgedit.perceptual: hand-computed loss values, invariances, and the real encoder
on small (<= 64 px) inputs."""
from __future__ import annotations

import collections
import hashlib
import shutil

import pytest
import torch

from imgedit.errors import WeightsError
from imgedit.perceptual import (
    DEFAULT_CONTENT_TAPS,
    DEFAULT_STYLE_TAPS,
    EFFICIENTNET_LITE0_SHA256,
    TAP_CHANNELS,
    TAP_REDUCTIONS,
    TAPS,
    ContentLoss,
    PackageEncoder,
    PerceptualDistance,
    PerceptualEncoder,
    PerceptualLoss,
    StyleLoss,
    TotalVariation,
    build_efficientnet_lite0,
    content_loss,
    default_weights_path,
    get_encoder,
    gram_matrix,
    load_backbone_state_dict,
    perceptual_distance,
    style_grams,
    style_loss,
    total_variation,
)



@pytest.fixture(scope="module")
def encoder() -> PerceptualEncoder:
    return get_encoder("cpu")


def _img(seed: int, size: int = 32, batch: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 3, size, size, generator=g)


def _smooth(size: int = 32) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    return torch.stack([xx, yy, xx * yy]).unsqueeze(0)


# A 1x2x2x2 feature map:  channel 0 = [[1, 2], [3, 4]],  channel 1 = [[0, 1], [0, 1]]
FEAT = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [0.0, 1.0]]]])


# ---------------------------------------------------------------- hand-computed loss values


def test_gram_matrix_by_hand() -> None:
    # flattened: F0 = [1,2,3,4], F1 = [0,1,0,1]
    # F0.F0 = 1+4+9+16 = 30, F0.F1 = 2+4 = 6, F1.F1 = 2;  C*H*W = 2*2*2 = 8
    # G = [[30, 6], [6, 2]] / 8 = [[3.75, 0.75], [0.75, 0.25]]
    g = gram_matrix(FEAT)
    assert g.shape == (1, 2, 2) and g.dtype == torch.float32
    torch.testing.assert_close(g, torch.tensor([[[3.75, 0.75], [0.75, 0.25]]]))


def test_gram_matrix_float32_from_bf16_and_under_autocast() -> None:
    with torch.autocast("cpu", dtype=torch.bfloat16):
        g = gram_matrix(FEAT.to(torch.bfloat16))
    assert g.dtype == torch.float32
    torch.testing.assert_close(g, torch.tensor([[[3.75, 0.75], [0.75, 0.25]]]))


def test_gram_spatial_size_invariance() -> None:
    # constant map with v = (2, 3): G[i, j] = H*W*v_i*v_j / (C*H*W) = v_i*v_j / 2 for any H, W
    v = torch.tensor([2.0, 3.0]).view(1, 2, 1, 1)
    expected = torch.tensor([[[2.0, 3.0], [3.0, 4.5]]])
    for h, w in [(1, 1), (4, 4), (8, 16)]:
        torch.testing.assert_close(gram_matrix(v.expand(1, 2, h, w)), expected)


def test_content_loss_by_hand() -> None:
    feat = torch.tensor([1.0, 2.0, 3.0, 4.0]).view(1, 1, 2, 2)
    target = torch.tensor([1.0, 0.0, 3.0, 2.0]).view(1, 1, 2, 2)
    # differences 0, 2, 0, 2 -> squares 0, 4, 0, 4 -> MSE = 8/4 = 2
    torch.testing.assert_close(content_loss(feat, target), torch.tensor(2.0))
    # normalised: mean(target^2) = (1+0+9+4)/4 = 3.5 -> 2/3.5 = 4/7
    torch.testing.assert_close(content_loss(feat, target, normalize=True), torch.tensor(4.0 / 7.0))
    # module twin, dict form, weight 3 -> 6
    mod = ContentLoss(("block7",), weights={"block7": 3.0})
    torch.testing.assert_close(mod({"block7": feat}, {"block7": target}), torch.tensor(6.0))
    # batch-1 target broadcasts: two identical samples give the same mean
    torch.testing.assert_close(content_loss(feat.repeat(2, 1, 1, 1), target), torch.tensor(2.0))


def test_style_loss_by_hand() -> None:
    # G = [[3.75, 0.75], [0.75, 0.25]] (see above), T = identity
    # G - T = [[2.75, 0.75], [0.75, -0.75]] -> squares 7.5625 + 3*0.5625 = 9.25 -> mean 2.3125
    # normaliser mean(T^2) = 2/4 = 0.5 -> L = 4.625; with weight 2 -> 9.25
    target = {"stem": torch.eye(2).unsqueeze(0)}
    torch.testing.assert_close(style_loss({"stem": FEAT}, target), torch.tensor(4.625))
    torch.testing.assert_close(style_loss({"stem": FEAT}, target, {"stem": 2.0}), torch.tensor(9.25))
    # StyleLoss.from_grams is the module twin; a batch of 3 broadcasts against the (1,C,C) target
    mod = StyleLoss.from_grams(target)
    torch.testing.assert_close(mod({"stem": FEAT.repeat(3, 1, 1, 1)}), torch.tensor(4.625))
    # two taps sum
    two = {"stem": target["stem"], "block0": target["stem"]}
    torch.testing.assert_close(style_loss({"stem": FEAT, "block0": FEAT}, two), torch.tensor(9.25))
    with pytest.raises(ValueError):
        style_loss({"stem": FEAT}, target, {"block3": 1.0})


def test_total_variation_by_hand() -> None:
    x = torch.tensor([[0.0, 1.0], [2.0, 4.0]]).view(1, 1, 2, 2)
    # vertical |2-0|, |4-1| -> mean 2.5; horizontal |1-0|, |4-2| -> mean 1.5; TV = 4.0
    torch.testing.assert_close(total_variation(x), torch.tensor(4.0))
    batch = torch.cat([x, torch.full_like(x, 0.3)])  # constant image has TV 0
    torch.testing.assert_close(total_variation(batch, "none"), torch.tensor([4.0, 0.0]))
    torch.testing.assert_close(total_variation(batch, "sum"), torch.tensor(4.0))
    torch.testing.assert_close(TotalVariation()(batch), torch.tensor(2.0))
    # a single row has only the horizontal term: |1-0| + |4-1| -> mean 2
    torch.testing.assert_close(total_variation(torch.tensor([0.0, 1.0, 4.0]).view(1, 1, 1, 3)), torch.tensor(2.0))
    with pytest.raises(ValueError):
        total_variation(x, "max")  # type: ignore[arg-type]


# ---------------------------------------------------------------- encoder and weights


def test_weights_sha256_pinned_and_state_dict_exact(encoder: PerceptualEncoder) -> None:
    path = default_weights_path()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == EFFICIENTNET_LITE0_SHA256
    sd = load_backbone_state_dict()
    assert len(sd) == 296
    net = build_efficientnet_lite0()
    result = net.load_state_dict(sd, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    # the encoder (BatchNorms folded into the convolutions) computes what the package's network
    # computes with the file's weights, at every tap, for even and odd sizes (SAME padding)
    taps = list(TAPS)
    reference = PackageEncoder()
    for size in ((64, 64), (37, 50)):
        x = torch.rand(2, 3, *size, generator=torch.Generator().manual_seed(size[1]))
        with torch.no_grad():
            got, want = encoder(x, taps), reference(x, taps)
        for t in taps:
            err = (got[t] - want[t]).abs().max() / want[t].abs().max()
            assert err < 1e-4, (t, size, float(err))


def test_tampered_weights_raise(tmp_path) -> None:
    bad = tmp_path / "efficientnet-lite0-57934424.pth"
    shutil.copyfile(default_weights_path(), bad)
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="efficientnet-lite0-57934424.pth"):
        load_backbone_state_dict(bad)
    with pytest.raises(WeightsError, match="integrity"):
        PerceptualEncoder(bad)
    with pytest.raises(WeightsError, match="missing.pth"):
        load_backbone_state_dict(tmp_path / "missing.pth")


def test_non_tensor_pickle_refused_even_with_matching_hash(tmp_path) -> None:
    # an arbitrary-object pickle is refused by the restricted unpickler, whatever its hash
    evil = tmp_path / "evil.pth"
    torch.save({"x": collections.Counter("abc")}, evil)
    digest = hashlib.sha256(evil.read_bytes()).hexdigest()
    with pytest.raises(WeightsError, match="evil.pth"):
        load_backbone_state_dict(evil, sha256=digest)


def test_encoder_shapes_channels_and_frozen(encoder: PerceptualEncoder) -> None:
    assert TAPS == ("stem",) + tuple(f"block{i}" for i in range(16))
    assert encoder.channels == TAP_CHANNELS
    x = _img(0, 64, batch=2)
    feats = encoder(x, TAPS)
    assert list(feats) == list(TAPS)
    for tap, f in feats.items():
        r = TAP_REDUCTIONS[tap]
        assert f.shape == (2, TAP_CHANNELS[tap], 64 // r, 64 // r), tap
        assert f.abs().mean() > 1e-3, tap  # real, non-degenerate features
    assert [TAP_CHANNELS[t] for t in DEFAULT_STYLE_TAPS] == [32, 16, 24, 40, 80, 112]
    assert [TAP_CHANNELS[t] for t in DEFAULT_CONTENT_TAPS] == [80]
    # odd sizes use TF "SAME" padding: ceil(H / r)
    assert encoder(_img(1, 33)[:, :, :, :21], ["block15"])["block15"].shape == (1, 320, 2, 1)
    assert all(not p.requires_grad for p in encoder.parameters())
    encoder.train()
    assert not encoder.training and not any(m.training for m in encoder.modules())
    assert get_encoder("cpu") is encoder
    with pytest.raises(ValueError, match="unknown tap"):
        encoder(x, ["block16"])


def test_encoder_gradient_flows_to_input(encoder: PerceptualEncoder) -> None:
    x = _img(2, 32).requires_grad_(True)
    feats = encoder(x, ["stem", "block7"])
    (feats["stem"].mean() + feats["block7"].pow(2).mean()).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_encoder_bf16_autocast_close_to_fp32(encoder: PerceptualEncoder) -> None:
    x = _img(3, 64)
    taps = DEFAULT_STYLE_TAPS
    ref = encoder(x, taps)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = encoder(x, taps)
    for t in taps:
        rel = (low[t].float() - ref[t]).norm() / ref[t].norm()
        assert rel < 0.05, (t, float(rel))


def test_encoder_channels_last_same_result(encoder: PerceptualEncoder) -> None:
    x = _img(4, 64)
    ref = encoder(x, ["stem", "block7"])
    out = encoder(x.contiguous(memory_format=torch.channels_last), ["stem", "block7"])
    for t in ref:
        torch.testing.assert_close(out[t].contiguous(), ref[t], rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------- losses with the encoder


def test_style_blend_weights(encoder: PerceptualEncoder) -> None:
    a, b = _img(5, 32), _smooth(48)  # different sizes: pass as a sequence
    taps = ("stem", "block2")
    ga = style_grams(a, taps, encoder=encoder)
    gb = style_grams(b, taps, encoder=encoder)
    blend = style_grams([a, b], taps, blend_weights=[1.0, 3.0], encoder=encoder)
    for t in taps:
        assert blend[t].shape == (1, TAP_CHANNELS[t], TAP_CHANNELS[t])
        torch.testing.assert_close(blend[t], (ga[t] + 3.0 * gb[t]) / 4.0)
    # the module's targets are the blended Grams; the style image itself scores 0 against itself
    mod = StyleLoss([a, b], taps=taps, blend_weights=[1.0, 3.0], encoder=encoder)
    for t in taps:
        torch.testing.assert_close(mod.target_grams[t], blend[t])
    assert StyleLoss(a, taps=taps, encoder=encoder)(encoder(a, taps)) < 1e-10
    with pytest.raises(ValueError):
        style_grams([a, b], taps, blend_weights=[1.0], encoder=encoder)


def test_perceptual_distance_properties(encoder: PerceptualEncoder) -> None:
    a = torch.cat([_smooth(32), _img(6, 32)])
    b = torch.cat([_img(7, 32), (_smooth(32) * 0.8 + 0.1)])
    d_ab = perceptual_distance(a, b, encoder=encoder)
    assert d_ab.shape == (2,) and d_ab.dtype == torch.float32
    assert torch.all(d_ab > 0) and torch.all(d_ab <= 4)
    torch.testing.assert_close(perceptual_distance(b, a, encoder=encoder), d_ab)
    assert torch.all(perceptual_distance(a, a, encoder=encoder) == 0)
    # a small change is closer than a different image
    near = perceptual_distance(_smooth(32), (_smooth(32) + 0.03).clamp(0, 1), encoder=encoder)
    far = perceptual_distance(_smooth(32), _img(8, 32), encoder=encoder)
    assert near < far
    torch.testing.assert_close(PerceptualDistance(encoder=encoder)(a, b), d_ab)


def test_perceptual_loss_terms_and_single_pass(encoder: PerceptualEncoder) -> None:
    style, content = _img(9, 32), _smooth(32)
    calls: list[tuple[str, ...]] = []
    hook = encoder.register_forward_pre_hook(lambda _m, args: calls.append(tuple(args[1])))
    try:
        loss_fn = PerceptualLoss(style, content_weight=2.0, style_weight=3.0, tv_weight=0.5, encoder=encoder)
        targets = loss_fn.content_targets(content)
        calls.clear()
        x = content.clone().requires_grad_(True)
        out = loss_fn(x, targets)
    finally:
        hook.remove()
    assert len(calls) == 1 and set(calls[0]) == set(DEFAULT_STYLE_TAPS) | set(DEFAULT_CONTENT_TAPS)
    assert set(out) == {"content", "style", "tv", "total"}
    assert out["content"] == 0  # x equals the content image
    torch.testing.assert_close(out["total"], 2.0 * out["content"] + 3.0 * out["style"] + 0.5 * out["tv"])
    out["total"].backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    # the backbone is not part of the loss module's parameters/state
    assert not list(loss_fn.parameters())
    assert set(loss_fn.state_dict()) == {f"style.gram_{t}" for t in DEFAULT_STYLE_TAPS}
    # content given as an image (batch 1 broadcast over a batch of 2) gives the same content term
    x2 = content.repeat(2, 1, 1, 1)
    torch.testing.assert_close(loss_fn(x2, content)["content"], torch.tensor(0.0))
    # style only, no content target
    assert set(loss_fn(x2)) == {"style", "tv", "total"}
    with pytest.raises(ValueError):
        PerceptualLoss(None, encoder=encoder)(x2)


def test_gatys_steps_reduce_loss_under_bf16(encoder: PerceptualEncoder) -> None:
    style, content = _img(10, 32), _smooth(32)
    loss_fn = PerceptualLoss(style, style_weight=10.0, encoder=encoder)
    targets = loss_fn.content_targets(content)
    x = content.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=0.05)
    history = []
    for _ in range(5):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            losses = loss_fn(x, targets)
        assert losses["total"].dtype == torch.float32
        history.append(float(losses["total"].detach()))
        opt.zero_grad()
        losses["total"].backward()
        opt.step()
    assert history[-1] < history[0]


def test_building_the_shared_encoder_leaves_the_global_rng_alone(monkeypatch):
    """A training run resumed in a fresh process must not differ from one in a process that built
    the perceptual encoder first (found by the GAN's exact-resume test)."""
    from imgedit.perceptual import backbone

    monkeypatch.setattr(backbone, "_encoders", {})
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    backbone.get_encoder("cpu")
    assert torch.equal(torch.rand(3), expected)


def test_jitter_crop_cuts_every_tensor_alike_at_every_alignment():
    from imgedit.perceptual import jitter_crop

    a = torch.arange(2 * 3 * 10 * 12, dtype=torch.float32).view(2, 3, 10, 12)
    b = a * 2
    seen = set()
    g = torch.Generator().manual_seed(0)
    for _ in range(64):
        ca, cb = jitter_crop((a, b), 4, generator=g)
        assert ca.shape == cb.shape == (2, 3, 7, 9) and torch.equal(cb, ca * 2)
        dy, dx = int(ca[0, 0, 0, 0]) // 12, int(ca[0, 0, 0, 0]) % 12
        assert torch.equal(ca, a[..., dy:dy + 7, dx:dx + 9])
        seen.add((dy, dx))
    assert seen == {(y, x) for y in range(4) for x in range(4)}
    assert jitter_crop((a,), 1)[0] is a
