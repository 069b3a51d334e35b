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


def _video(path, n=12, fps=24, audio=True, times=None):
    from io_corpus import make_test_video

    path.parent.mkdir(parents=True, exist_ok=True)
    return make_test_video(path, n_frames=n, fps=fps, size=(64, 48), with_audio=audio, times=times)


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
    rec = json.loads(res.stdout.splitlines()[0])
    assert rec["audio"] == "copy" and rec["codec"] == "libx264"
    res = run_cli("interpolate", src, tmp_path / "x4.mp4", "--model", "classic.blend", "--factor", "4")
    assert res.returncode == 0 and probe_video(tmp_path / "x4.mp4").frame_count == 48
    res = run_cli("interpolate", src, "--model", "classic.blend", "--fps", "60")
    o = probe_video(tmp_path / "clip.60fps.mp4")
    assert o.frame_count == 30 and o.fps == 60 and o.has_audio
    res = run_cli("interpolate", src, "--model", "classic.blend", "--factor", "3")
    assert res.returncode == 0 and probe_video(tmp_path / "clip.3x.mp4").frame_count == 36, res.stderr


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
    assert sorted(p.name for p in (tmp_path / "df").glob("*.png")) == [f"f{i}.png" for i in range(5)]
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


def test_retime_places_frames_by_their_timestamps():
    """A variable-frame-rate clip (a 0.5 s gap) and a late start: output frame k sits at
    t0 + k / out_rate and is interpolated at its true position between the frames around it."""
    times = [Fraction(0), Fraction(1, 10), Fraction(2, 10), Fraction(3, 10), Fraction(8, 10), Fraction(9, 10)]
    rate = Fraction(20, 3)  # the clip's average rate: 6 frames over 0.9 s
    for t0 in (Fraction(0), Fraction(1, 2)):
        frames = [Frame(torch.full((1, 3, 2, 2), float(t)), t0 + t, i, i == 0, rate) for i, t in enumerate(times)]
        out = list(retime(frames, rate, 2 * rate, _blend))
        assert [f.time for f in out] == [t0 + Fraction(3 * k, 40) for k in range(14)]
        # the value is the source time: in the gap, 0.45 s lies 30% of the way from 0.3 to 0.8
        assert [float(f.image[0, 0, 0, 0]) for f in out] == pytest.approx([min(3 * k / 40, 0.9) for k in range(14)])


def test_interpolate_keeps_a_late_picture_start_in_sync_with_the_audio(tmp_path):
    import av

    src = tmp_path / "late.mp4"
    _video(src, fps=10, times=[Fraction(1, 2) + Fraction(i, 10) for i in range(6)])
    res = run_cli("interpolate", src, "--model", "classic.blend")
    assert res.returncode == 0, res.stderr
    with av.open(str(tmp_path / "late.2x.mp4")) as c:
        v, a = c.streams.video[0], c.streams.audio[0]
        assert float(v.start_time * v.time_base) == pytest.approx(0.5, abs=0.01)  # as in the input
        assert float((a.start_time or 0) * a.time_base) == pytest.approx(0.0, abs=0.03)
        assert v.frames == 12


def test_interpolate_several_inputs_never_takes_an_existing_video_as_out(tmp_path):
    """`imgedit interpolate *.mp4` with two videos: both are inputs (the second is not
    overwritten as OUT), each output lands beside its input; a folder of videos works too."""
    from _imgedit_helpers import sha256

    a, b = _video(tmp_path / "a.mp4", n=6, audio=False), _video(tmp_path / "b.mp4", n=6, audio=False)
    before = sha256(b)
    res = run_cli("interpolate", a, b, "--model", "classic.blend", "--overwrite")
    assert res.returncode == 0, res.stderr
    assert sha256(b) == before
    assert (tmp_path / "a.2x.mp4").is_file() and (tmp_path / "b.2x.mp4").is_file()
    vids = tmp_path / "vids"
    _video(vids / "c.mp4", n=6, audio=False), _video(vids / "d.mp4", n=6, audio=False)
    res = run_cli("interpolate", vids, "--model", "classic.blend", "--json")
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in vids.iterdir()) == ["c.2x.mp4", "c.mp4", "d.2x.mp4", "d.mp4"]
    # a rerun (the folder, or a glob that now matches the outputs too) skips; nothing new is made
    for args in ((vids,), sorted(vids.iterdir())):
        res = run_cli("interpolate", *args, "--model", "classic.blend", "--json")
        assert res.returncode == 0 and json.loads(res.stdout.splitlines()[-1])["skipped"] == 2, res.stdout
    assert len(list(vids.iterdir())) == 4
    # a new name as the last argument is OUT; an existing folder gets the suffixed name inside
    res = run_cli("interpolate", a, tmp_path / "new.mp4", "--model", "classic.blend")
    assert res.returncode == 0 and (tmp_path / "new.mp4").is_file()
    (tmp_path / "outdir").mkdir()
    res = run_cli("interpolate", a, tmp_path / "outdir", "--model", "classic.blend")
    assert res.returncode == 0 and (tmp_path / "outdir" / "a.2x.mp4").is_file()
    # --out names the output explicitly; an image name for a video output is refused
    res = run_cli("interpolate", a, "--out", tmp_path / "x.png", "--model", "classic.blend")
    assert res.returncode == 1 and "x.png" in res.stderr and not (tmp_path / "x.png").exists()
    # conflicting or out-of-range options are usage errors
    assert run_cli("interpolate", a, "--model", "classic.blend", "--factor", "4", "--fps", "30").returncode == 2
    assert run_cli("interpolate", a, "--model", "classic.blend", "--scene-threshold", "1.5").returncode == 2


def test_overwrite_replaces_only_a_frames_folder_imgedit_wrote(tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(3):
        Image.fromarray(np.full((16, 16, 3), i * 20, np.uint8)).save(frames / f"f{i}.png")
    out = tmp_path / "out"
    args = ("interpolate", frames, out, "--model", "classic.blend", "--scene-threshold", "0")
    assert run_cli(*args).returncode == 0
    assert len(list(out.glob("*.png"))) == 6
    assert run_cli(*args, "--overwrite").returncode == 0  # ours: replaced
    empty = tmp_path / "empty"
    empty.mkdir()  # an empty folder made for the output is used, not "skipped: exists"
    assert run_cli("interpolate", frames, empty, "--model", "classic.blend", "--scene-threshold", "0").returncode == 0
    assert len(list(empty.glob("*.png"))) == 6
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    res = run_cli("interpolate", frames, "--out", mine, "--model", "classic.blend", "--overwrite")
    assert res.returncode == 0, res.stderr  # the user's folder: the frames go into a sub-folder
    assert (mine / "notes.txt").read_text() == "keep me" and len(list((mine / "frames.2x").glob("*.png"))) == 6
    from imgedit.runner import _commit_dir
    from imgedit.errors import OutputError

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    with pytest.raises(OutputError):
        _commit_dir(tmp, mine, overwrite=True)
    assert (mine / "notes.txt").exists()


def test_frames_of_different_sizes_name_the_odd_frame(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i, w in enumerate((16, 16, 12)):
        Image.fromarray(np.full((16, w, 3), 40 * i, np.uint8)).save(src / f"{i:03d}.png")
    res = run_cli("interpolate", src, "--model", "classic.blend")
    assert res.returncode == 1
    assert f"{src / '002.png'}: frame size 12x16 differs from the first frame's 16x16" in res.stderr, res.stderr


def test_sigterm_stops_a_run_like_ctrl_c():
    import os
    import signal

    from imgedit.cli import _stop_on_term

    old = signal.getsignal(signal.SIGTERM)
    try:
        _stop_on_term()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)  # the handler runs as soon as the call returns
    finally:
        signal.signal(signal.SIGTERM, old)


def test_frames_that_lose_depth_or_alpha_say_so(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        Image.fromarray(np.full((16, 16, 4), 60 * i, np.uint8), "RGBA").save(src / f"{i}.png")
    res = run_cli("interpolate", src, "--model", "classic.blend", "--json", "--scene-threshold", "0")
    assert res.returncode == 0, res.stderr
    rec = json.loads(res.stdout.splitlines()[0])
    assert rec["warnings"] == ["0.png: alpha frame(s) written as 8-bit RGB (alpha dropped)"]


def test_reruns_and_globs_never_take_the_wrong_out(tmp_path, monkeypatch):
    """Regressions from a review: a glob ending in an earlier *stylized* video (marked, but not
    this command's output) is an input, not OUT; rerunning into an output folder or an explicit
    output skips; frames folders in a glob; a videos folder with a cover picture; `.`; Matroska."""
    from _imgedit_helpers import sha256

    clip = _video(tmp_path / "clip.mp4", n=6, audio=False)
    styled = tmp_path / "clip_styled.mp4"
    assert run_cli("edit", "-m", "classic.adjust", clip, styled).returncode == 0  # marked, from clip.mp4
    before = sha256(styled)
    res = run_cli("interpolate", clip, styled, "--model", "classic.blend", "--overwrite", "--json")
    assert res.returncode == 0 and sha256(styled) == before, res.stdout
    assert (tmp_path / "clip.2x.mp4").exists() and (tmp_path / "clip_styled.2x.mp4").exists()
    # rerun into an output folder / an explicit output file / a Matroska output: skipped
    out = tmp_path / "out"
    out.mkdir()
    for target in (out, tmp_path / "x.mkv"):
        for _ in range(2):
            res = run_cli("interpolate", clip, target, "--model", "classic.blend", "--json")
            assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout.splitlines()[-1])["skipped"] == 1, (target, res.stdout)
    assert sorted(p.name for p in out.iterdir()) == ["clip.2x.mp4"]
    # a later glob run at another factor leaves out what interpolate made from clip.mp4 earlier
    res = run_cli("interpolate", tmp_path / "clip.2x.mp4", clip, "-x", "4", "--model", "classic.blend", "--json")  # glob order
    assert res.returncode == 0 and not (tmp_path / "clip.2x.4x.mp4").exists() and (tmp_path / "clip.4x.mp4").exists()
    # frames folders and their outputs in one glob: all inputs, the outputs left out
    frames = {}
    for name in ("fa", "fb"):
        d = tmp_path / "fr" / name
        d.mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((16, 16, 3), 30 * i, np.uint8)).save(d / f"{i}.png")
        frames[name] = d
    args = ("--model", "classic.blend", "--scene-threshold", "0", "--json")
    assert run_cli("interpolate", frames["fa"], frames["fb"], *args).returncode == 0
    res = run_cli("interpolate", *sorted((tmp_path / "fr").iterdir()), *args)
    assert res.returncode == 0 and json.loads(res.stdout.splitlines()[-1])["skipped"] == 2, res.stdout
    assert sorted(p.name for p in (tmp_path / "fr").iterdir()) == ["fa", "fa.2x", "fb", "fb.2x"]
    # `.` inside a frames folder writes beside it, like naming the folder from outside
    monkeypatch.chdir(frames["fa"])
    res = run_cli("interpolate", ".", *args)
    assert res.returncode == 0 and json.loads(res.stdout.splitlines()[-1])["skipped"] == 1, res.stdout
    # a folder of videos with a cover picture is still a folder of videos
    vids = tmp_path / "vids"
    _video(vids / "v.mp4", n=4, audio=False)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(vids / "cover.jpg")
    assert run_cli("interpolate", vids, "--model", "classic.blend").returncode == 0
    assert (vids / "v.2x.mp4").exists()


def test_two_input_folders_of_the_same_name_stay_apart(tmp_path):
    for root in ("x", "y"):
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save((tmp_path / root / "d1").mkdir(parents=True) or
                                                            tmp_path / root / "d1" / "a.png")
    res = run_cli("edit", "-m", "classic.adjust", tmp_path / "x" / "d1", tmp_path / "y" / "d1", tmp_path / "o")
    assert res.returncode == 0, res.stderr
    assert sorted(p.relative_to(tmp_path / "o").as_posix() for p in (tmp_path / "o").rglob("*.png")) == \
        ["d1/a.png", "d1_2/a.png"]


def test_editing_a_variable_frame_rate_video_keeps_its_timing(tmp_path):
    """A same-rate sequence model over a VFR clip (a 0.5 s gap): each frame stays near its time
    (within half a frame of the average-rate grid) instead of sliding onto an even spacing."""
    from imgedit.io.video import read_frames

    times = [Fraction(i, 10) for i in range(4)] + [Fraction(8, 10) + Fraction(i, 10) for i in range(4)]
    src = _video(tmp_path / "vfr.mp4", fps=10, times=times)
    res = run_cli("edit", "-m", "classic.adjust", src, tmp_path / "out.mp4", "-o", "contrast=1.2")
    assert res.returncode == 0, res.stderr
    got = [t for _, t in read_frames(tmp_path / "out.mp4")]
    step = 1 / Fraction(20, 3)  # the clip's average rate: 8 frames in 1.2 s
    assert len(got) == 8 and all(abs(g - t) <= step for g, t in zip(got, times)), [float(g) for g in got]
    assert abs(got[4] - Fraction(8, 10)) <= step / 2  # after the gap (even spacing would put it at 0.6)


def test_interpolate_names_follow_the_settings_and_factor_takes_the_models_range(tmp_path):
    """`-o factor=3` is named .3x like `--factor 3` (was .2x at 75 fps); `--factor` takes what the
    model declares (classic.blend: 1..16); an output made with other settings is not skipped
    quietly: the reason says what made it."""
    from imgedit.io.video import probe_video

    src = _video(tmp_path / "clip.mp4", n=10, fps=25, audio=False)
    blend = ("--model", "classic.blend")
    res = run_cli("interpolate", src, *blend, "-o", "factor=3")
    assert res.returncode == 0, res.stderr
    assert not (tmp_path / "clip.2x.mp4").exists()
    o = probe_video(tmp_path / "clip.3x.mp4")
    assert o.fps == 75 and o.frame_count == 30
    res = run_cli("interpolate", src, *blend, "--factor", "3", "--json")  # the same settings: resumed
    assert res.returncode == 0 and json.loads(res.stdout.splitlines()[-1])["skipped"] == 1, res.stderr
    res = run_cli("interpolate", src, *blend, "--factor", "17")
    assert res.returncode == 2 and "--factor 17" in res.stderr and "1..16" in res.stderr, res.stderr
    res = run_cli("interpolate", src, *blend, "-o", "fps=50")
    assert res.returncode == 0 and probe_video(tmp_path / "clip.50fps.mp4").fps == 50
    # an explicit OUT made at another factor: skipped, saying so (the mark records the options)
    out = tmp_path / "slow.mp4"
    assert run_cli("interpolate", src, out, *blend).returncode == 0
    res = run_cli("interpolate", src, out, *blend, "--factor", "4")
    assert res.returncode == 0 and probe_video(out).fps == 50, res.stderr
    assert f"skipped: {out} (output exists, made with factor=2 (this run: factor=4); use --overwrite" in res.stderr
    res = run_cli("interpolate", src, out, *blend, "--factor", "4", "--overwrite")
    assert res.returncode == 0 and probe_video(out).fps == 100


def test_frames_out_names_a_folder(tmp_path):
    """--frames-out with a video name as OUT is a usage error (it used to write an MP4); one
    input into a new OUT folder gets its frames straight in OUT (no OUT/clip/ sub-folder)."""
    src = _video(tmp_path / "clip.mp4", n=4, audio=False)
    for verb in (("edit", "-m", "classic.adjust"), ("interpolate", "--model", "classic.blend")):
        res = run_cli(*verb, src, tmp_path / "x.mp4", "--frames-out")
        assert res.returncode == 2 and "--frames-out" in res.stderr, res.stderr
        assert not (tmp_path / "x.mp4").exists()
    res = run_cli("edit", "-m", "classic.adjust", src, tmp_path / "fr", "--frames-out")
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in (tmp_path / "fr").glob("*.png")) == [f"frame_{i:06d}.png" for i in range(4)]
    res = run_cli("edit", "-m", "classic.adjust", src, tmp_path / "fr", "--frames-out", "--json")
    assert res.returncode == 0 and json.loads(res.stdout.splitlines()[-1])["skipped"] == 1, res.stdout
    res = run_cli("interpolate", src, tmp_path / "slow", "--model", "classic.blend", "--frames-out",
                  "--scene-threshold", "0")
    assert res.returncode == 0 and len(list((tmp_path / "slow").glob("*.png"))) == 8, res.stderr
    # a folder of the user's keeps its files: the frames go into a sub-folder named after the input
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    res = run_cli("edit", "-m", "classic.adjust", src, mine, "--frames-out")
    assert res.returncode == 0 and len(list((mine / "clip").glob("*.png"))) == 4, res.stderr
