"""classic.deflicker and the scene-cut detector on flickering video (issue 13): strong flicker
(+-25% brightness, alternating or random per frame) is not a cut, so the deflicker model works
on it; a real cut (other content) is still found, flicker or not."""
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from imgedit.scenes import DEFAULT_THRESHOLD, SceneDetector, cut_score

N_FRAMES, CUT_AT = 132, 66


def _scene(seed: int, width: int = 64, height: int = 48) -> np.ndarray:
    """A smooth random picture (float, values 40..180: no clipping when 25% brighter)."""
    import cv2

    rng = np.random.default_rng(seed)
    coarse = rng.random((height // 8, width // 8, 3))
    return 40 + np.clip(cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC), 0, 1) * 140


def _frames(gains, cut_at: int | None = None) -> list[np.ndarray]:
    """A slowly panning shot (a second one from ``cut_at``), frame i scaled by ``gains[i]``."""
    out = []
    for i, gain in enumerate(gains):
        picture = _scene(7 if cut_at is not None and i >= cut_at else 0)
        out.append(np.clip(np.roll(picture, i // 4, axis=1) * gain, 0, 255).astype(np.uint8))
    return out


ALTERNATING = [1.25 if i % 2 else 0.75 for i in range(N_FRAMES)]
RANDOM = list(1 + np.random.default_rng(1).uniform(-0.25, 0.25, N_FRAMES))


def _video(path: Path, frames: list[np.ndarray]) -> Path:
    import av

    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        video.options = {"preset": "ultrafast", "crf": "12"}
        for i, frame in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
            vf.pts, vf.time_base = i, Fraction(1, 24)
            out.mux(video.encode(vf))
        out.mux(video.encode())
    return path


def _flicker(path: Path) -> float:
    """Mean frame-to-frame change of the mean brightness (0..255)."""
    from imgedit.io.video import read_frames

    means = np.array([frame.mean() for frame, _ in read_frames(path)])
    return float(np.abs(np.diff(means)).mean())


@pytest.mark.parametrize("gains", [ALTERNATING, RANDOM], ids=["alternating", "random"])
def test_flicker_is_not_a_scene_cut(gains):
    detector = SceneDetector()
    starts = [i for i, frame in enumerate(_frames(gains)) if detector.update(frame)]
    assert starts == [0] and detector.cuts == 0


def test_a_real_cut_is_still_found_with_or_without_flicker():
    for gains in (ALTERNATING, RANDOM, [1.0] * N_FRAMES):
        detector = SceneDetector()
        starts = [i for i, frame in enumerate(_frames(gains, cut_at=CUT_AT)) if detector.update(frame)]
        assert starts == [0, CUT_AT], starts
    a, b = _scene(0).astype(np.uint8), _scene(7).astype(np.uint8)
    assert cut_score(a, b) > DEFAULT_THRESHOLD + 0.05  # other content: a cut
    assert cut_score(a, (a * 1.25).astype(np.uint8)) < DEFAULT_THRESHOLD / 2  # same picture, brighter


@pytest.mark.parametrize("gains", [ALTERNATING, RANDOM], ids=["alternating", "random"])
def test_deflicker_removes_strong_flicker(tmp_path, gains):
    from imgedit.runner import process

    src = _video(tmp_path / "flicker.mp4", _frames(gains))
    out = tmp_path / "steady.mp4"
    s = process([src], out, model="classic.deflicker", progress=False)
    assert s.exit_code == 0
    assert s.results[0].extra["scene_cuts"] == 0  # it used to report 131 cuts and change nothing
    assert _flicker(out) < 0.15 * _flicker(src), (_flicker(src), _flicker(out))


def test_deflicker_keeps_a_cut_and_steadies_both_shots(tmp_path):
    from imgedit.runner import process

    src = _video(tmp_path / "flicker.mp4", _frames(ALTERNATING, cut_at=CUT_AT))
    out = tmp_path / "steady.mp4"
    s = process([src], out, model="classic.deflicker", progress=False)
    assert s.exit_code == 0 and s.results[0].extra["scene_cuts"] == 1
    assert _flicker(out) < 0.15 * _flicker(src)
