"""``imgedit interpolate`` end to end through interp.gru: ×2 frames, audio kept."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

io_corpus = pytest.importorskip("io_corpus")


def test_cli_interpolate_doubles_frames_and_keeps_audio(tmp_path):
    import av

    src = io_corpus.make_test_video(tmp_path / "clip.mp4", n_frames=12, fps=24, size=(64, 48), with_audio=True)
    exe = Path(sys.executable).with_name("imgedit")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run([str(exe), "interpolate", str(src), "--model", "interp.gru"], capture_output=True,
                         text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    out = tmp_path / "clip.2x.mp4"
    with av.open(str(out)) as c:
        v = c.streams.video[0]
        assert v.average_rate == 48
        n = sum(1 for _ in c.decode(video=0))
    assert n == 24
    with av.open(str(out)) as c:
        assert c.streams.audio, "audio stream missing"
        a = c.streams.audio[0]
        dur = float(a.duration * a.time_base) if a.duration else float(c.duration) / 1e6
    assert abs(dur - 0.5) < 0.06


def test_a_blended_output_is_not_taken_for_interp_grus(tmp_path):
    """After `--model classic.blend --fps 60`, `interpolate clip.mp4 --fps 60` (default model
    interp.gru) does not quietly keep the blended video: the skip says what made it."""
    from _imgedit_helpers import sha256

    src = io_corpus.make_test_video(tmp_path / "clip.mp4", n_frames=6, fps=24, size=(64, 48), with_audio=False)
    exe = Path(sys.executable).with_name("imgedit")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def run(*args):
        return subprocess.run([str(exe), "interpolate", str(src), *args], capture_output=True, text=True,
                              env=env, timeout=300)

    assert run("--model", "classic.blend", "--fps", "60").returncode == 0
    out = tmp_path / "clip.60fps.mp4"
    before = sha256(out)
    res = run("--fps", "60")
    assert res.returncode == 0, res.stderr
    assert (f"skipped: {out} (output exists, made by classic.blend with fps=60 (this run: interp.gru with "
            "fps=60); use --overwrite to replace it)") in res.stderr, res.stderr
    assert sha256(out) == before
