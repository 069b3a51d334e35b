"""Video: temporal consistency mechanics and a real round trip through the runner."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from imgedit_style.temporal import FlowEstimator, TemporalBlender, consistency_mask, warp, warping_error


def _textured(h=64, w=80, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    import cv2

    low = rng.random((h // 4, w // 4, 3)).astype(np.float32)
    return cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def _to_t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].float()


def _moving(n=8, shift=2) -> list[torch.Tensor]:
    big = _textured(64, 80 + n * shift)
    return [_to_t(big[:, i * shift:i * shift + 80]) for i in range(n)]


def test_flow_warp_and_mask_on_a_translation():
    frames = _moving(2, shift=3)
    a = (frames[1][0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    b = (frames[0][0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    est = FlowEstimator()  # the best installed `flow` model: here the built-in classic.flow (DIS)
    assert est.name == "classic.flow"
    fb, ff = est.flow(frames[1], frames[0]), est.flow(frames[0], frames[1])
    assert abs(float(np.median(fb[..., 0])) - 3.0) < 0.5  # content of frame 1 sits 3 px right in frame 0
    mask = consistency_mask(fb, ff, soften=0)
    assert mask[:, 10:-10].mean() > 0.9
    warped = warp(b.astype(np.float32), fb)
    assert np.abs(warped[8:-8, 8:-8] - a[8:-8, 8:-8].astype(np.float32)).mean() < 6.0


def test_blending_reduces_flicker_and_resets():
    frames = _moving(8)
    rng = torch.Generator().manual_seed(0)
    noisy = [(f + 0.15 * torch.randn(f.shape, generator=rng)).clamp(0, 1) for f in frames]  # flickery "style"
    blender = TemporalBlender(alpha=0.7)
    blended = []
    for i, (f, s) in enumerate(zip(frames, noisy)):
        if i == 4:
            blender.reset()  # a scene start: nothing carried over
            assert blender.prepare(f) is None
        else:
            blender.prepare(f)
        blended.append(blender.blend(s))
    assert torch.equal(blended[0], noisy[0]) and torch.equal(blended[4], noisy[4])
    e_raw, e_blend = warping_error(frames, noisy), warping_error(frames, blended)
    assert e_blend < 0.5 * e_raw, (e_raw, e_blend)


def test_video_round_trip_keeps_frames_and_audio(tmp_path):
    from io_corpus import make_test_video

    from imgedit.io.video import probe_video
    from imgedit.runner import process

    src = make_test_video(tmp_path / "clip.mp4", n_frames=8, fps=24, size=(64, 48), with_audio=True)
    out = tmp_path / "out" / "clip.mp4"
    summary = process([src], out, task="stylize", options={"method": "optimize", "steps": "2", "scales": "1"},
                      device="cpu", precision="fp32", progress=False)
    assert summary.exit_code == 0, [r.reason for r in summary.results]
    info = probe_video(out)
    assert info.frame_count == 8 and info.fps == 24 and info.has_audio
    assert (info.width, info.height) == (64, 48)


def test_model_edit_sequence_is_steadier_and_resets_at_cuts():
    """Through StyleModel.edit_sequence (fast method, a random net): less warping error with the
    default temporal weight than with temporal=0, and a scene start gets the plain per-frame result."""
    from fractions import Fraction

    from imgedit.api import Frame
    from test_style_model import model_with, random_state

    from imgedit_style.transformer import TransformerNet

    net = TransformerNet(8, 1)
    m = model_with({"fast-wave": random_state(net)})
    frames = _moving(6, shift=3)
    g = torch.Generator().manual_seed(1)
    noisy = [(f + 0.08 * torch.randn(f.shape, generator=g)).clamp(0, 1) for f in frames]  # sensor noise

    def run(temporal):
        seq = [Frame(x, Fraction(i, 24), i, i in (0, 3), Fraction(24)) for i, x in enumerate(noisy)]
        with torch.inference_mode():
            return [fr.image for fr in m.edit_sequence(iter(seq), style=("wave",), method="auto", temporal=temporal)]

    plain, steady = run(0.0), run(0.7)
    assert len(steady) == 6
    assert torch.allclose(steady[3], plain[3]) and torch.allclose(steady[0], plain[0])  # reset at cuts
    starts = [i in (0, 3) for i in range(6)]
    assert warping_error(frames, steady, starts) < 0.7 * warping_error(frames, plain, starts)


def test_flow_option_must_name_a_flow_model():
    import imgedit
    from imgedit.errors import OptionError

    m = imgedit.load_model("style")
    assert m.prepare(flow="classic.flow")["flow"] == "classic.flow"
    with pytest.raises(OptionError, match="classic.flow"):
        m.prepare(flow="classic.adjust")
