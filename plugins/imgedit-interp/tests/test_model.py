"""interp.gru with the shipped weights: motion recovery, pair cache, warm start and cut resets."""
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from imgedit.api import Frame
from imgedit.engine import load_model


@pytest.fixture(scope="module")
def loaded():
    return load_model("interp.gru", device="cpu", precision="fp32")


@pytest.fixture(scope="module")
def dis_start():
    """interp.gru running a network of the DIS-start layout (weights v1-v3, still loadable as
    user models), randomly initialised: what is checked with it (which pairs start warm or
    cold, resets) does not depend on training."""
    from imgedit_interp.net import InterpNet

    m = load_model("interp.gru", device="cpu", precision="fp32")
    torch.manual_seed(0)
    m.model.net = InterpNet().eval()
    return m


def _texture(h: int, w: int, seed: int = 0) -> torch.Tensor:
    """A smooth random colour texture (sum of blurred noise octaves), (1,3,h,w) in [0,1]."""
    g = torch.Generator().manual_seed(seed)
    out = torch.zeros(1, 3, h, w)
    for cell in (4, 8, 16):
        noise = torch.rand(1, 3, h // cell + 2, w // cell + 2, generator=g)
        out += torch.nn.functional.interpolate(noise, size=(h, w), mode="bicubic", align_corners=False)
    out -= out.amin((2, 3), keepdim=True)
    return (out / out.amax((2, 3), keepdim=True)).clamp(0, 1)


def _psnr(a, b) -> float:
    return float(10 * torch.log10(1 / ((a - b) ** 2).mean()))


def _frames(images, cuts=(), rate=Fraction(24)):
    return [Frame(im, Fraction(i) / rate, i, i == 0 or i in cuts, rate) for i, im in enumerate(images)]


def test_recovers_a_translation_far_better_than_blending(loaded):
    big = _texture(160, 224, seed=3)
    dx, dy = 6, -4  # full motion between frame 0 and frame 1; the middle frame moved half of it
    crop = lambda ox, oy: big[..., 32 + oy:32 + oy + 96, 32 + ox:32 + ox + 160]  # noqa: E731
    a, mid, b = crop(0, 0), crop(dx // 2, dy // 2), crop(dx, dy)
    fa, fb = _frames([a, b])
    m = loaded.model
    m.reset()
    with torch.inference_mode():
        out = m.interpolate(fa, fb, 0.5, iters=4)
    inner = (..., slice(8, -8), slice(8, -8))
    ours, blend = _psnr(out[inner], mid[inner]), _psnr(((a + b) / 2)[inner], mid[inner])
    assert ours > blend + 8, f"interp.gru {ours:.2f} dB vs blending {blend:.2f} dB"
    assert ours > 32


def test_flow_once_per_pair_and_nothing_blended_across_a_cut(loaded):
    imgs = [torch.roll(_texture(48, 64, seed=s), shifts=i, dims=3) for i, s in enumerate((1, 1, 1, 7, 7, 7))]
    outs = list(loaded.edit_sequence(_frames(imgs, cuts=(3,)), {"factor": 4, "iters": 2}))
    assert len(outs) == 24
    st = loaded.model.stats
    assert st["pairs"] == 4, st  # x4 asks 3 times per pair, the look-ahead once more: estimated once
    assert st["resets"] == 2, st  # start of the sequence + the cut
    for k in (8, 9, 10, 11, 12):  # frames 9..11 repeat frame 2 or frame 3 exactly
        img = outs[k].image
        assert torch.equal(img, imgs[2].clamp(0, 1)) or torch.equal(img, imgs[3].clamp(0, 1)), k


def test_flow_once_per_pair_warm_start_and_reset_at_cut(dis_start):
    # 6 frames, cut before frame 3, warm starts on: pairs (0,1) cold, (1,2) warm, (3,4) cold, (4,5) warm
    loaded = dis_start
    imgs = [_texture(48, 64, seed=s) for s in (1, 1, 1, 7, 7, 7)]
    imgs = [torch.roll(im, shifts=i, dims=3) for i, im in enumerate(imgs)]
    outs = list(loaded.edit_sequence(_frames(imgs, cuts=(3,)), {"factor": 4, "iters": 2, "init": "zero", "warm": True}))
    assert len(outs) == 24
    st = loaded.model.stats
    assert st["pairs"] == 4, st  # x4 asks 3 times per pair: the flow is estimated once
    assert (st["cold"], st["warm"]) == (2, 2), st
    assert st["resets"] == 2, st  # start of the sequence + the cut
    list(loaded.edit_sequence(_frames(imgs, cuts=(3,)), {"iters": 2}))
    st = loaded.model.stats
    assert (st["pairs"], st["cold"], st["warm"]) == (4, 4, 0), st  # default: every pair from its DIS flow
    # across the cut nothing is blended: frames 9..11 repeat frame 2 or frame 3 exactly
    for k in (8, 9, 10, 11, 12):
        img = outs[k].image
        assert torch.equal(img, imgs[2].clamp(0, 1)) or torch.equal(img, imgs[3].clamp(0, 1)), k


def test_state_reset_drops_the_carried_flow(loaded):
    imgs = [torch.roll(_texture(48, 64, seed=2), shifts=2 * i, dims=3) for i in range(3)]
    m = loaded.model
    list(loaded.edit_sequence(_frames(imgs), {"iters": 2}))
    assert m.cache.flow is not None and m.cache.pair == (1, 2)
    m.reset()
    assert m.cache.flow is None and m.cache.pair is None and m.cache.feats is None


def test_scale_option_keeps_output_size(loaded):
    imgs = [torch.roll(_texture(72, 100, seed=4), shifts=2 * i, dims=3) for i in range(3)]
    outs = list(loaded.edit_sequence(_frames(imgs), {"scale": 0.5, "iters": 2}))
    assert len(outs) == 6 and all(o.image.shape == (1, 3, 72, 100) for o in outs)
    assert np.isfinite(torch.cat([o.image for o in outs]).numpy()).all()


def test_quadratic_motion_follows_an_accelerating_pan(loaded):
    """A pan that speeds up, x(k) = -2k + 4k² px at frame k (exact integer crops, also at half
    frames; 2, 10, 18, 26 px per frame): the straight path misses the middle by a/8 = 1 px, the
    quadratic one (acceleration from the neighbouring frames) lands on it. Checked on the pairs
    with a neighbour on both sides."""
    import cv2

    photo = cv2.imread(str(Path(__file__).resolve().parents[3] / "samples" / "photos" / "chelsea.jpg"))
    big = torch.from_numpy(cv2.cvtColor(photo, cv2.COLOR_BGR2RGB)).permute(2, 0, 1)[None].float() / 255
    pos = lambda k: round(-2 * k + 4 * k * k)  # noqa: E731
    crop = lambda k: big[..., 60:188, 40 + pos(k):40 + pos(k) + 192]  # noqa: E731  content moves left
    imgs = [crop(k) for k in range(5)]
    gts = [crop(k + 0.5) for k in range(4)]
    res = {}
    for motion in ("linear", "quadratic"):
        outs = list(loaded.edit_sequence(_frames(imgs), {"iters": 2, "motion": motion}))
        assert len(outs) == 10
        inner = (..., slice(8, -8), slice(8, -8))
        res[motion] = [_psnr(outs[2 * k + 1].image[inner], gts[k][inner]) for k in (1, 2)]
    assert all(q > lin + 1.5 for q, lin in zip(res["quadratic"], res["linear"])), res
    assert loaded.model.stats["pairs"] == 4


def test_look_ahead_stops_at_a_cut(loaded):
    imgs = [torch.roll(_texture(48, 64, seed=s), shifts=3 * i, dims=3) for i, s in enumerate((1, 1, 1, 7, 7))]
    m = loaded.model
    seen = []
    orig = m.interpolate

    def spy(a, b, t, **kw):
        seen.append((a.index, b.index, m._next.get(b.index).index if b.index in m._next else None))
        return orig(a, b, t, **kw)

    m.interpolate = spy
    try:
        list(loaded.edit_sequence(_frames(imgs, cuts=(3,)), {"iters": 1}))
    finally:
        del m.interpolate
    # the frame after 2 is a scene start (3): pair (1,2) has no right-hand neighbour
    assert seen == [(0, 1, 2), (1, 2, None), (3, 4, None)], seen
