"""Tests for imgedit.io.video (tiny generated videos: 64x48, 12 frames, about half a second)."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from imgedit.errors import InputError, OutputError
from imgedit.io.atomic import TEMP_MARKER
from imgedit.io.video import VideoInfo, VideoWriter, probe_video, read_frames
from io_corpus import make_test_video

SHARED_VIDEO = Path("/work/shared/data/video/onepiece_demo.mp4")


def audio_duration(path: Path) -> float:
    """Seconds covered by the audio packets of the first audio stream."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        start = end = None
        for packet in container.demux(stream):
            if packet.pts is None or packet.duration is None:
                continue
            begin = max(0, packet.pts)  # the priming packet (pts < 0) is trimmed by the edit list
            stop = packet.pts + packet.duration
            start = begin if start is None else min(start, begin)
            end = stop if end is None else max(end, stop)
        assert start is not None and end is not None
        return float((end - start) * stream.time_base)


def audio_codec(path: Path) -> str:
    import av

    with av.open(str(path)) as container:
        return container.streams.audio[0].codec_context.name


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_video(tmp_path_factory.mktemp("video") / "clip.mp4", 12, 24, (64, 48), with_audio=True)


def test_probe(clip: Path) -> None:
    info = probe_video(clip)
    assert isinstance(info, VideoInfo)
    assert (info.width, info.height) == (64, 48)
    assert info.fps == Fraction(24) and info.frame_count == 12
    assert info.duration == pytest.approx(0.5, abs=0.01)
    assert info.has_audio and info.codec == "h264" and info.rotation == 0


def test_read_frames(clip: Path) -> None:
    frames = list(read_frames(clip))
    assert len(frames) == 12
    for i, (frame, t) in enumerate(frames):
        assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8
        assert t == Fraction(i, 24)
    first = frames[0][0]
    assert first[:, 0:8, 0].mean() > 200 and first[:, 30:40, 0].mean() < 50  # red bar at x=0


def test_round_trip_with_audio(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    source = list(read_frames(clip))
    with VideoWriter(out, Fraction(24), audio_from=clip, preset="ultrafast") as writer:
        for frame, _ in source:
            writer.write(frame)
    assert writer.codec_used == "libx264" and writer.audio_mode == "copy" and writer.frames_written == 12
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]
    info = probe_video(out)
    assert info.fps == Fraction(24) and info.frame_count == 12 and (info.width, info.height) == (64, 48)
    assert info.duration == pytest.approx(0.5, abs=0.01) and info.has_audio
    assert audio_duration(out) == pytest.approx(audio_duration(clip), abs=0.03)
    assert audio_codec(out) == "aac"
    decoded = list(read_frames(out))
    assert [t for _, t in decoded] == [Fraction(i, 24) for i in range(12)]
    difference = np.mean([np.abs(a.astype(int) - b.astype(int)).mean() for (a, _), (b, _) in zip(source, decoded)])
    assert difference < 3.0


def test_odd_size_and_float_frames(tmp_path: Path) -> None:
    out = tmp_path / "odd.mp4"
    with VideoWriter(out, 10, preset="ultrafast") as writer:
        for i in range(3):
            frame = np.zeros((25, 33, 3), np.float32)
            frame[:, :, 2] = i / 2
            writer.write(frame)
    info = probe_video(out)
    assert (info.width, info.height) == (34, 26) and info.frame_count == 3 and not info.has_audio
    frames = [f for f, _ in read_frames(out)]
    assert len(frames) == 3 and frames[2][:, :, 2].mean() > 240


def test_audio_reencoded_when_container_cannot_copy(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.webm"  # WebM takes neither H.264 nor AAC
    with VideoWriter(out, 24, audio_from=clip) as writer:
        for frame, _ in read_frames(clip):
            writer.write(frame)
    assert writer.audio_mode == "reencode" and writer.codec_used in ("libvpx-vp9", "libvpx", "libaom-av1", "libsvtav1")
    info = probe_video(out)
    assert info.has_audio and len(list(read_frames(out))) == 12
    assert audio_codec(out) in ("opus", "libopus", "vorbis")
    assert audio_duration(out) == pytest.approx(0.5, abs=0.06)


def test_pcm_audio_is_reencoded_for_mp4(tmp_path: Path) -> None:
    """A camera .mov with PCM sound -> .mp4: FFmpeg would mux the PCM, but players play such a
    file silent, so it becomes AAC; into a .mov (which plays PCM) it is copied."""
    import av

    src = tmp_path / "cam.mov"
    with av.open(str(src), "w") as out:
        video = out.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = out.add_stream("pcm_s16le", rate=48000)
        audio.layout = "mono"
        for i in range(6):
            vf = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 40 * i, np.uint8), format="rgb24")
            vf.pts, vf.time_base = i, Fraction(1, 24)
            out.mux(video.encode(vf))
        out.mux(video.encode())
        pcm = (np.sin(np.arange(12000) / 10) * 8000).astype(np.int16)[None]
        af = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        af.sample_rate, af.pts, af.time_base = 48000, 0, Fraction(1, 48000)
        out.mux(audio.encode(af))
        out.mux(audio.encode())
    for name, mode, codec in (("out.mp4", "reencode", "aac"), ("out.mov", "copy", "pcm_s16le")):
        with VideoWriter(tmp_path / name, 24, audio_from=src) as writer:
            for frame, _ in read_frames(src):
                writer.write(frame)
        assert writer.audio_mode == mode and audio_codec(tmp_path / name) == codec, name


def test_rotation_metadata_applied(tmp_path: Path) -> None:
    path = make_test_video(tmp_path / "rot.mp4", 2, 24, (64, 48), with_audio=False, rotation=90)
    info = probe_video(path)
    assert (info.width, info.height, info.rotation) == (48, 64, 90)
    frame, _ = next(read_frames(path))
    assert frame.shape == (64, 48, 3)
    assert frame[-8:, 4:44, 0].mean() > 200  # the red bar (left column) is now the bottom row


def test_truncated_matroska_fails_after_its_last_frame(tmp_path: Path) -> None:
    """A cut .mkv decodes its first frames without any exception; the demuxer's log says it ended
    prematurely, and that fails the file (an intact one still reads)."""
    import av

    whole = tmp_path / "whole.mkv"
    with av.open(str(whole), "w") as out:
        video = out.add_stream("ffv1", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        rng = np.random.default_rng(0)
        for i in range(8):
            vf = av.VideoFrame.from_ndarray((rng.random((48, 64, 3)) * 255).astype(np.uint8), format="rgb24")
            vf.pts, vf.time_base = i, Fraction(1, 10)
            out.mux(video.encode(vf))
        out.mux(video.encode())
    assert len(list(read_frames(whole))) == 8
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * 0.6)])
    got = []
    with pytest.raises(InputError) as info:
        for frame, _ in read_frames(cut):
            got.append(frame)
    assert 0 < len(got) < 8 and info.value.reason == f"truncated or corrupt video after frame {len(got)}"
    assert len(list(read_frames(whole))) == 8  # the log level was restored, nothing carried over


def test_truncated_and_empty_videos(clip: Path, tmp_path: Path) -> None:
    data = clip.read_bytes()
    truncated = tmp_path / "truncated.mp4"  # index (moov) at the end: cannot even be opened
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as info:
        probe_video(truncated)
    assert info.value.reason == "truncated or corrupt video (cannot open the container)"
    with pytest.raises(InputError):
        list(read_frames(truncated))

    faststart = make_test_video(tmp_path / "fs.mp4", 12, 24, (64, 48), faststart=True)
    data = faststart.read_bytes()
    faststart.write_bytes(data[: int(len(data) * 0.6)])
    assert probe_video(faststart).frame_count == 12
    got = []
    with pytest.raises(InputError) as info:
        for frame, _ in read_frames(faststart):
            got.append(frame)
    assert 0 < len(got) < 12
    assert info.value.reason == f"truncated or corrupt video after frame {len(got)}"

    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    for function in (probe_video, lambda p: list(read_frames(p))):
        with pytest.raises(InputError) as info:
            function(empty)
        assert info.value.reason == "empty file (0 bytes)"

    text = tmp_path / "text.mp4"
    text.write_text("not a video at all\n" * 20)
    with pytest.raises(InputError) as info:
        probe_video(text)
    assert info.value.reason == "not a video (unrecognised format)"

    with pytest.raises(InputError) as info:
        probe_video(tmp_path / "missing.mp4")
    assert info.value.reason == "file not found"


def test_no_video_stream(tmp_path: Path) -> None:
    import av

    path = tmp_path / "audio.m4a"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((2, 1024), np.float32), format="fltp", layout="stereo")
        frame.sample_rate, frame.pts = 8000, 0
        out.mux(stream.encode(frame))
        out.mux(stream.encode())
    with pytest.raises(InputError) as info:
        probe_video(path)
    assert info.value.reason == "no video stream"


def test_writer_aborts_cleanly(tmp_path: Path) -> None:
    out = tmp_path / "x.mp4"
    with pytest.raises(RuntimeError), VideoWriter(out, 24, preset="ultrafast") as writer:
        writer.write(np.zeros((16, 16, 3), np.uint8))
        raise RuntimeError("plugin failed")
    assert list(tmp_path.iterdir()) == []

    with pytest.raises(OutputError) as info, VideoWriter(out, 24):
        pass
    assert info.value.reason == "no video frames were written"
    assert list(tmp_path.iterdir()) == []

    with pytest.raises(ValueError), VideoWriter(out, 24, preset="ultrafast") as writer:
        writer.write(np.zeros((16, 16, 3), np.uint8))
        writer.write(np.zeros((8, 8, 3), np.uint8))
    assert not any(TEMP_MARKER in p.name for p in tmp_path.iterdir()) and not out.exists()


def test_audio_from_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        VideoWriter(tmp_path / "o.mp4", 24, audio_from=tmp_path / "missing.mp4")
    assert info.value.reason == "file not found"


@pytest.mark.skipif(not SHARED_VIDEO.is_file(), reason="sample video not available")
def test_real_sample_video_probe() -> None:
    info = probe_video(SHARED_VIDEO)
    assert (info.width, info.height) == (640, 480) and info.fps == Fraction(1199, 50)
    assert info.has_audio and info.frame_count and info.frame_count > 100
    frame, t = next(read_frames(SHARED_VIDEO))
    assert frame.shape == (info.height, info.width, 3) and t == 0


# -- variable frame rate (issue 13) ----------------------------------------------------------------
VFR_TIMES = [Fraction(i, 30) for i in range(45)] + [Fraction(45, 30) + Fraction(i, 24) for i in range(45)]


def _index_frame(i: int, size: tuple[int, int] = (64, 48)) -> np.ndarray:
    """A frame whose brightness pattern spells ``i``: 8 column blocks, bright = bit set."""
    width, height = size
    frame = np.full((height, width, 3), 16, np.uint8)
    for bit in range(8):
        if i >> bit & 1:
            frame[:, bit * width // 8 : (bit + 1) * width // 8] = 235
    return frame


def _frame_index(frame: np.ndarray) -> int:
    width = frame.shape[1]
    blocks = [frame[:, bit * width // 8 + 2 : (bit + 1) * width // 8 - 2].mean() for bit in range(8)]
    return sum(1 << bit for bit, level in enumerate(blocks) if level > 125)


def make_vfr_clip(path: Path, times: list[Fraction] = VFR_TIMES) -> Path:
    """45 frames at 30 fps, then 45 at 24 fps (millisecond time base); frame i shows ``i``."""
    import av

    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=Fraction(80, 3))
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        video.options = {"preset": "ultrafast", "crf": "10"}
        video.codec_context.time_base = Fraction(1, 1000)
        for i, t in enumerate(times):
            vf = av.VideoFrame.from_ndarray(_index_frame(i), format="rgb24")
            vf.pts, vf.time_base = round(t * 1000), Fraction(1, 1000)
            out.mux(video.encode(vf))
        out.mux(video.encode())
    return path


def _timing_errors(path: Path, times: list[Fraction] = VFR_TIMES) -> list[tuple[int, float]]:
    """(source frame index, output time - that frame's time) for every frame of ``path``."""
    return [(i, float(t - times[i])) for frame, t in read_frames(path) for i in [_frame_index(frame)]]


def test_writer_keeps_variable_frame_rate_timing(tmp_path: Path) -> None:
    """Frames given with their times land at those times (not pushed later one by one when they
    come faster than the nominal rate), in MP4 and MKV; AVI has only the 1/fps grid: each frame in
    its nearest slot, a frame whose slot is taken dropped."""
    src = make_vfr_clip(tmp_path / "vfr.mp4")
    decoded = list(read_frames(src))
    assert [_frame_index(f) for f, _ in decoded] == list(range(90))
    rate = probe_video(src).fps  # the average: 90 frames in 3.37 s
    for name in ("out.mp4", "out.mkv", "out.avi"):
        # (in AVI, H.264's B-frames read back with shifted times: MPEG-4 part 2 has none)
        with VideoWriter(tmp_path / name, rate, preset="ultrafast", codec="mpeg4" if name == "out.avi" else "h264") as writer:
            for frame, t in decoded:
                writer.write(frame, t)
        errors = _timing_errors(tmp_path / name)
        indices = [i for i, _ in errors]
        assert indices == sorted(set(indices)) and writer.frames_written == len(errors), name
        if name == "out.avi":
            assert 80 <= len(errors) < 90 and max(abs(e) for _, e in errors) <= 0.5 / rate + 1e-3, errors  # (ms time base)
        else:
            assert indices == list(range(90)) and max(abs(e) for _, e in errors) <= 0.0011, (name, errors)


def test_edit_keeps_a_variable_frame_rate_video_in_time(tmp_path: Path) -> None:
    """`edit` of 45 frames at 30 fps then 45 at 24 fps: every output frame at the time of the
    input frame it shows (it used to drift by up to 0.19 s; half a frame is 0.019 s)."""
    from imgedit.runner import process

    src = make_vfr_clip(tmp_path / "vfr.mp4")
    out = tmp_path / "out.mp4"
    s = process([src], out, model="classic.adjust", progress=False)
    assert s.exit_code == 0, [r.reason for r in s.results]
    errors = _timing_errors(out)
    half_frame = 0.5 / probe_video(src).fps
    assert [i for i, _ in errors] == list(range(90))
    assert max(abs(e) for _, e in errors) <= min(half_frame, 0.0011), errors
    assert s.results[0].frames == 90
