"""Frame-rate conversion, scene cuts and the video / frames-folder paths of the runner."""
import json
from fractions import Fraction

import numpy as np
import pytest
import torch
from PIL import Image

from _imgedit_helpers import run_cli
from imgedit.api import Frame
from imgedit.scenes import SceneDetector, cut_score
from imgedit.sequence import retime, target_rate


def _frames(values, cuts=(), rate=Fraction(10)):
    return [Frame(torch.full((1, 3, 4, 4), float(v)), Fraction(i) / rate, i, i == 0 or i in cuts, rate)
            for i, v in enumerate(values)]


def _blend(a, b, t):
    return a.image * (1 - t) + b.image * t


@pytest.mark.parametrize("factor", [2, 4, 8])
def test_retime_factor_counts_and_positions(factor):
    out = list(retime(_frames([0, 1, 2]), Fraction(10), Fraction(10 * factor), _blend))
    assert len(out) == 3 * factor  # duration kept: N frames -> N*factor
    vals = [float(f.image[0, 0, 0, 0]) for f in out]
    expected = [min(k / factor, 2.0) for k in range(3 * factor)]
    assert vals == pytest.approx(expected)
    assert [f.time for f in out] == [Fraction(k, 10 * factor) for k in range(3 * factor)]


def test_retime_arbitrary_fps_keeps_duration():
    n, rin, rout = 25, Fraction(25), Fraction(60)
    out = list(retime(_frames(range(n), rate=rin), rin, rout, _blend))
    assert len(out) == 60  # 1 second in, 1 second out
    assert target_rate(Fraction(30000, 1001), fps=59.94) == Fraction(60000, 1001)
    assert target_rate(Fraction(24), factor=4) == 96


def test_retime_never_blends_across_a_cut():
    out = list(retime(_frames([0, 0, 1, 1], cuts=(2,)), Fraction(10), Fraction(40), _blend))
    vals = {round(float(f.image[0, 0, 0, 0]), 6) for f in out}
    assert vals == {0.0, 1.0}, vals  # only repeated frames, no 0.25/0.5/0.75 mixtures
    assert sum(f.scene_start for f in out) == 2


def test_scene_detector_finds_synthetic_cut():
    rng = np.random.default_rng(0)
    base = (rng.random((36, 64, 3)) * 80).astype(np.uint8)
    other = (200 + rng.random((36, 64, 3)) * 55).astype(np.uint8)
    d = SceneDetector()
    seq = [base, np.roll(base, 1, axis=1), np.roll(base, 2, axis=1), other, np.roll(other, 1, axis=0)]
    starts = [d.update(f) for f in seq]
    assert starts == [True, False, False, True, False] and d.cuts == 1
    assert cut_score(base, base) == 0.0


def test_classic_blend_warm_state_resets_at_cut():
    """The deflicker model carries state and must drop it on scene_start."""
    import imgedit

    m = imgedit.load_model("classic.deflicker", device="cpu")
    frames = _frames([0.2, 0.4, 0.8, 0.8], cuts=(2,))
    out = list(m.edit_sequence(iter(frames)))
    assert float(out[2].image.mean()) == pytest.approx(0.8, abs=1e-4)  # new scene: untouched
    assert float(out[1].image.mean()) < 0.4  # same scene: pulled towards the running mean


def _video(path, n=12, fps=24, audio=True):
    from io_corpus import make_test_video

    path.parent.mkdir(parents=True, exist_ok=True)
    return make_test_video(path, n_frames=n, fps=fps, size=(64, 48), with_audio=audio)


def test_interpolate_video_x2_x4_fps_and_audio(tmp_path):
    from imgedit.io.video import probe_video

    src = _video(tmp_path / "clip.mp4")
    info = probe_video(src)
    res = run_cli("interpolate", src, "--model", "classic.blend", "--json")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "clip.2x.mp4"
    o = probe_video(out)
    assert o.frame_count == 24 and o.fps == 48 and o.has_audio
    assert abs(o.duration - info.duration) < 0.05
    res = run_cli("interpolate", src, tmp_path / "x4.mp4", "--model", "classic.blend", "--factor", "4")
    assert res.returncode == 0 and probe_video(tmp_path / "x4.mp4").frame_count == 48
    res = run_cli("interpolate", src, "--model", "classic.blend", "--fps", "60")
    o = probe_video(tmp_path / "clip.60fps.mp4")
    assert o.frame_count == 30 and o.fps == 60 and o.has_audio
    res = run_cli("interpolate", src, "--model", "classic.blend", "--factor", "3")
    assert res.returncode == 2


def test_edit_video_keeps_frames_fps_and_audio(tmp_path):
    from imgedit.io.video import probe_video

    src = _video(tmp_path / "in" / "clip.mp4", n=10, fps=25)
    res = run_cli("edit", "--model", "classic.adjust", tmp_path / "in", tmp_path / "out", "-o", "saturation=0")
    assert res.returncode == 0, res.stderr
    o = probe_video(tmp_path / "out" / "clip.mp4")
    assert o.frame_count == 10 and o.fps == 25 and o.has_audio


def test_frames_folder_in_and_out(tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(5):
        Image.fromarray(np.full((16, 16, 3), i * 50, np.uint8)).save(frames / f"f{i}.png")
    # flat frames that jump 0 -> 50 look like cuts to the detector: disable it here
    res = run_cli("interpolate", frames, tmp_path / "out", "--model", "classic.blend", "--json",
                  "--scene-threshold", "0")
    assert res.returncode == 0, res.stderr
    outs = sorted((tmp_path / "out").glob("*.png"))
    assert len(outs) == 10
    mid = np.asarray(Image.open(outs[1]))
    assert abs(int(mid[0, 0, 0]) - 25) <= 1  # halfway between 0 and 50
    rec = json.loads(res.stdout.splitlines()[0])
    assert rec["frames"] == 10 and rec["fps_out"] == 50
    # frames folder -> video
    res = run_cli("interpolate", frames, tmp_path / "v.mp4", "--model", "classic.blend", "--frames-fps", "10")
    from imgedit.io.video import probe_video

    assert res.returncode == 0 and probe_video(tmp_path / "v.mp4").frame_count == 10
    # same-rate sequence model keeps the input names
    res = run_cli("edit", "--model", "classic.deflicker", "--frames", frames, tmp_path / "df")
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in (tmp_path / "df").iterdir()) == [f"f{i}.png" for i in range(5)]
    # default output of interpolate: beside the input
    res = run_cli("interpolate", frames, "--model", "classic.blend")
    assert res.returncode == 0 and len(list((tmp_path / "frames.2x").glob("*.png"))) == 10


def test_truncated_video_fails_cleanly(tmp_path):
    src = _video(tmp_path / "in" / "clip.mp4")
    data = src.read_bytes()
    src.write_bytes(data[: len(data) // 2])
    res = run_cli("edit", "--model", "classic.adjust", tmp_path / "in", tmp_path / "out")
    assert res.returncode == 1 and "clip.mp4" in res.stderr and "Traceback" not in res.stderr
    assert not list((tmp_path / "out").glob("*.mp4")) if (tmp_path / "out").exists() else True


def test_a_bad_frame_in_a_frames_folder_is_named(tmp_path):
    import cv2

    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        cv2.imwrite(str(src / f"{i:03d}.png"), np.full((16, 16, 3), 40 * i, np.uint8))
    (src / "003.png").write_text("not a png")
    res = run_cli("interpolate", src, tmp_path / "out", "--model", "classic.blend")
    assert res.returncode == 1
    assert f"{src / '003.png'}: not an image" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "out").exists()
