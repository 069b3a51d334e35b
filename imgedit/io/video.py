"""Read and write videos with PyAV (FFmpeg). ``av`` is imported lazily inside functions.

Reading
-------
:func:`probe_video` reads the container header (and decodes the first frame to learn the display
rotation); :func:`read_frames` streams RGB uint8 frames one by one. Display-matrix rotation
(phone videos) is applied to the frames, and :class:`VideoInfo` reports the displayed size.
A file whose decoding fails, or whose index points past the end of the file (a truncated MP4
with its index at the front), raises ``InputError(path, 'truncated or corrupt video after
frame N')`` after yielding the frames that decoded.

Writing
-------
:class:`VideoWriter` encodes frames with the first encoder that opens (for ``h264``: libx264 →
libopenh264 → whatever FFmpeg's default H.264 encoder is → mpeg4; then the container's default
video codec as a last resort), pixel format yuv420p, at the nominal rate ``fps``. Frame *i*
lasts ``1/fps`` (so a constant-rate video lasts exactly ``n_frames / fps``), or sits at the time
it is given: containers with timestamps (MP4, MOV, MKV, WebM, MPEG-TS, FLV...) get a fine time
base (``1/N``, N a multiple of the rate's numerator, at least 10 000: a tenth of a millisecond), so a
variable-frame-rate video keeps every frame at its own time; AVI, which has no timestamps, keeps
the ``1/fps`` grid, each frame in the slot nearest its time, and a frame that would land in the
slot of the frame before it is dropped (a section faster than ``fps``). Odd frame sizes are
padded by one replicated edge pixel to even sizes (yuv420p needs even sizes).

Audio from ``audio_from`` is copied packet for packet (no re-encode, timestamps unchanged so
sync is kept, every packet copied — including the encoder-priming packet with a negative
timestamp, which MP4 records in an edit list). When the output container cannot hold that
audio codec, it is re-encoded to AAC (or the container's default audio codec). Audio packets
are interleaved with the video as it is written, so memory stays flat. The output is written to
a temporary file in the destination folder and renamed on :meth:`VideoWriter.close`.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from imgedit.errors import InputError, OutputError
from imgedit.io.atomic import commit_temp, describe_os_error, discard_temp, make_parent_dirs, temp_path_for
from imgedit.io.images import MADE_BY, check_input_file

VIDEO_EXTENSIONS = {".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts"}

REASON_NOT_VIDEO = "not a video (unrecognised format)"
REASON_CANNOT_OPEN = "truncated or corrupt video (cannot open the container)"
REASON_NO_VIDEO_STREAM = "no video stream"
REASON_TRUNCATED = "truncated or corrupt video after frame"  # + " N"

#: Encoder candidates per requested codec (first that opens wins).
_ENCODER_CHAINS = {
    "h264": ["libx264", "libopenh264", "h264", "mpeg4"],
    "libx264": ["libx264", "libopenh264", "h264", "mpeg4"],
    "hevc": ["libx265", "hevc", "libx264", "mpeg4"],
    "h265": ["libx265", "hevc", "libx264", "mpeg4"],
    "vp9": ["libvpx-vp9", "vp9", "libvpx"],
    "av1": ["libsvtav1", "libaom-av1", "av1", "libvpx-vp9"],
}
#: How far ahead of the video (seconds) audio packets are muxed.
_AUDIO_LEAD_S = 0.5
#: Muxers without per-frame timestamps: frames stay on the 1/fps grid.
_CONSTANT_RATE_MUXERS = {"avi"}
#: Smallest time-base denominator for muxers with timestamps (a tenth of a millisecond).
_FINE_TICKS_PER_SECOND = 10_000


def _time_base(fps: Fraction, muxer: str) -> Fraction:
    """The video stream's time base: ``1/fps`` for constant-rate containers, else ``1/N`` with
    N the smallest multiple of the rate's numerator >= 10 000 (so ``1/fps`` is a whole number of
    ticks and any other time is within half a tick)."""
    if muxer in _CONSTANT_RATE_MUXERS:
        return 1 / fps
    num = fps.numerator
    return Fraction(1, num * -(-_FINE_TICKS_PER_SECOND // num))


@dataclass
class VideoInfo:
    """What :func:`probe_video` learns from a file (sizes are the displayed, rotated ones)."""

    path: Path
    width: int
    height: int
    fps: Fraction
    frame_count: int | None
    duration: float | None
    has_audio: bool
    codec: str
    rotation: int = 0  # display rotation applied by read_frames (degrees counter-clockwise)


def _looks_like_video_container(head: bytes) -> bool:
    """Magic numbers of common video containers (to tell 'damaged video' from 'not a video')."""
    return (
        head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot")
        or head.startswith(b"\x1a\x45\xdf\xa3")  # Matroska / WebM
        or (head.startswith(b"RIFF") and head[8:12] == b"AVI ")
        or head.startswith(b"\x00\x00\x01\xba")  # MPEG program stream
        or head.startswith(b"\x00\x00\x01\xb3")  # MPEG elementary stream
        or head.startswith(b"FLV")
        or head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11")  # ASF / WMV
        or (len(head) >= 189 and head[0] == 0x47 and head[188] == 0x47)  # MPEG-TS
    )


def _open_input(path: Path) -> Any:
    """Open a container for reading; InputError for anything FFmpeg cannot open."""
    import av

    check_input_file(path)
    try:
        return av.open(str(path), mode="r", metadata_errors="replace")
    except PermissionError:
        raise InputError(path, "permission denied") from None
    except (av.error.FFmpegError, OSError, ValueError, UnicodeError) as err:
        try:
            with open(path, "rb") as fh:
                head = fh.read(200)
        except OSError:
            head = b""
        reason = REASON_CANNOT_OPEN if _looks_like_video_container(head) else REASON_NOT_VIDEO
        raise InputError(path, reason) from err


def _stream_fps(stream: Any) -> Fraction | None:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            return Fraction(rate)
    return None


def _rotate(frame: np.ndarray, rotation: int) -> np.ndarray:
    """Apply a display-matrix rotation (degrees counter-clockwise, multiple of 90)."""
    k = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(frame, k=k)) if k else frame


def probe_video(path: os.PathLike | str) -> VideoInfo:
    """Read a video's header: size, frame rate, frame count (``None`` when the container does
    not say), duration in seconds, audio presence, codec name. Decodes only the first frame
    (to learn the display rotation). :class:`InputError` for unreadable files."""
    import av

    path = Path(path)
    container = _open_input(path)
    try:
        if not container.streams.video:
            raise InputError(path, REASON_NO_VIDEO_STREAM)
        stream = container.streams.video[0]
        fps = _stream_fps(stream)
        if fps is None:
            raise InputError(path, "cannot determine the frame rate")
        if stream.duration and stream.time_base:
            duration: float | None = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / av.time_base
        else:
            duration = None
        width, height = stream.codec_context.width, stream.codec_context.height
        rotation = 0
        try:
            for frame in container.decode(stream):
                rotation = int(frame.rotation)
                width, height = frame.width, frame.height
                break
        except av.error.FFmpegError:
            pass  # read_frames reports decoding problems with the frame number
        if round(rotation / 90) % 2:
            width, height = height, width
        return VideoInfo(
            path=path,
            width=int(width),
            height=int(height),
            fps=fps,
            frame_count=int(stream.frames) if stream.frames else None,
            duration=duration,
            has_audio=bool(container.streams.audio),
            codec=stream.codec_context.name,
            rotation=rotation,
        )
    finally:
        container.close()


def _index_points_past_end(container: Any, file_size: int) -> bool:
    """True when the container's index (e.g. an MP4 moov) lists data beyond the end of the
    file: the file was cut after the index was written."""
    for stream in container.streams:
        try:
            entries = stream.index_entries
            count = len(entries)
            tail = entries[max(0, count - 64) : count]
        except Exception:
            continue
        for entry in tail:
            if entry.pos >= 0 and entry.pos + entry.size > file_size:
                return True
    return False


def read_frames(path: os.PathLike | str) -> Iterator[tuple[np.ndarray, Fraction]]:
    """Yield ``(frame, t)`` for every frame: ``frame`` is RGB uint8 ``H x W x 3`` (display
    rotation applied), ``t`` its presentation time in seconds. Frames are streamed, never all
    held in memory. Damaged data raises ``InputError`` after the frames that decoded."""
    import av

    path = Path(path)
    container = _open_input(path)
    count = 0
    try:
        if not container.streams.video:
            raise InputError(path, REASON_NO_VIDEO_STREAM)
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        fps = _stream_fps(stream) or Fraction(25)
        time_base = stream.time_base or Fraction(1, 90000)
        with _demuxer_errors(container) as damaged:
            try:
                for frame in container.decode(stream):
                    image = frame.to_ndarray(format="rgb24")
                    if frame.rotation:
                        image = _rotate(image, frame.rotation)
                    t = Fraction(frame.pts) * time_base if frame.pts is not None else Fraction(count) / fps
                    count += 1
                    yield image, t
            except (av.error.FFmpegError, OSError, ValueError) as err:
                raise InputError(path, f"{REASON_TRUNCATED} {count}") from err
        if damaged or _index_points_past_end(container, os.path.getsize(path)):
            raise InputError(path, f"{REASON_TRUNCATED} {count}")
    finally:
        container.close()


@contextlib.contextmanager
def _demuxer_errors(container: Any) -> Iterator[list[str]]:
    """Collect the error messages the container's demuxer logs while decoding (a Matroska file
    cut short ends "prematurely" without any exception): the caller fails the file after its
    last good frame. Decoder-level complaints alone (a damaged slice the codec conceals) do not
    count. FFmpeg's log level is raised to errors for the duration if it was off."""
    import av.logging

    demuxer = container.format.name
    level = av.logging.get_level()
    if level is None or level < av.logging.ERROR:
        av.logging.set_level(av.logging.ERROR)
    found: list[str] = []
    try:
        with av.logging.Capture(local=False) as logs:
            yield found
            found.extend(msg.strip() for lvl, name, msg in logs if lvl <= av.logging.ERROR and name == demuxer)
    finally:
        av.logging.set_level(level)


def _players_take(container: Any, in_stream: Any) -> bool:
    """Whether a copied audio stream plays in ``container``: FFmpeg muxes PCM into MP4, but most
    players (browsers, phones, QuickTime) then play the video silent, so it is re-encoded."""
    name = in_stream.codec_context.name or ""
    return not ("mp4" in (container.format.name or "") and name.startswith("pcm_"))


def _even(n: int) -> int:
    return n + (n & 1)


def _to_rgb_uint8(frame: np.ndarray) -> np.ndarray:
    """Accept H x W, H x W x 1/3/4, uint8 or float in [0, 1]; return H x W x 3 uint8."""
    arr = np.asarray(frame)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise ValueError(f"a video frame must be H x W x 3, got shape {arr.shape}")
    if arr.shape[2] == 4:
        arr = arr[:, :, :3]
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    if arr.dtype != np.uint8:
        if arr.dtype == np.uint16:
            arr = arr.astype(np.float32) / np.float32(65535.0)
        arr = np.clip(np.nan_to_num(arr.astype(np.float32)) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return arr


class VideoWriter:
    """Encode RGB frames into a video file, optionally copying the audio of another file.

    Use as a context manager::

        with VideoWriter(out, info.fps, audio_from=src) as writer:
            for frame, _ in read_frames(src):
                writer.write(process(frame))

    The file appears at ``path`` only when :meth:`close` succeeds; leaving the ``with`` block
    with an exception (or calling :meth:`abort`) removes the temporary file. ``codec_used``
    names the encoder that was picked (empty until the first frame). Quality: ``crf`` and
    ``preset`` are passed to libx264/libx265 as is, mapped for VP9/AV1/mpeg4 (mpeg4: qscale
    ``round(crf / 6)``), and other encoders get a bit rate of about 0.15 bit per pixel.
    """

    def __init__(
        self,
        path: os.PathLike | str,
        fps: Fraction | float | int,
        *,
        audio_from: os.PathLike | str | Path | None = None,
        codec: str = "h264",
        crf: int = 18,
        preset: str = "medium",
        comment: str = MADE_BY,
    ) -> None:
        fps = Fraction(fps).limit_denominator(100_000)
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.path = Path(path)
        self.fps = fps
        self.audio_from = Path(audio_from) if audio_from is not None else None
        self.comment = comment
        self.codec = codec
        self.crf = int(crf)
        self.preset = preset
        self.codec_used: str = ""
        self.frames_written = 0
        self.audio_mode: str | None = None  # 'copy' or 'reencode' once audio streams exist
        self._tmp: Path | None = None
        self._out: Any = None
        self._video: Any = None
        self._size: tuple[int, int] | None = None  # (height, width) of the input frames
        self._audio_in: Any = None
        self._audio_packets: Iterator[Any] | None = None
        self._audio_pending: Any = None
        self._audio_map: dict[int, tuple[Any, bool]] = {}  # in index -> (out stream, reencode)
        self._time_base = 1 / fps  # the stream's time base (fine for most containers: see _start)
        self._last_pts: int | None = None  # the previous frame's pts (in _time_base units)
        self._closed = False
        if self.audio_from is not None:
            check_input_file(self.audio_from)

    # -- context manager ------------------------------------------------------------------------

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # -- public API ---------------------------------------------------------------------------

    def write(self, frame: np.ndarray, time: Fraction | float | None = None) -> None:
        """Encode one RGB frame (uint8, or float in [0, 1]). The first frame fixes the size.
        With ``time`` (seconds, as in the input) the frame is shown at that time, so a picture
        that starts after the sound keeps that offset and a variable-frame-rate video keeps its
        timing: to a tenth of a millisecond, or in AVI to the nearest ``1/fps`` slot (a frame whose
        slot the previous frame holds is dropped: ``frames_written`` does not count it); never
        before the previous frame. Without ``time``, ``1/fps`` after the previous frame."""
        import av

        if self._closed:
            raise ValueError("write() on a closed VideoWriter")
        rgb = _to_rgb_uint8(frame)
        if self._size is None:
            self._start(rgb.shape[0], rgb.shape[1])
        elif rgb.shape[:2] != self._size:
            raise ValueError(
                f"frame size {rgb.shape[1]}x{rgb.shape[0]} differs from the first frame's "
                f"{self._size[1]}x{self._size[0]}"
            )
        height, width = self._size  # type: ignore[misc]
        if height & 1 or width & 1:
            rgb = np.pad(rgb, ((0, height & 1), (0, width & 1), (0, 0)), mode="edge")
        step = int(1 / (self.fps * self._time_base))  # ticks per frame at the nominal rate
        if time is None:
            pts = 0 if self._last_pts is None else self._last_pts + step
        else:
            pts = max(0, round(Fraction(time) / self._time_base))  # (a negative start time: at 0)
            if self._last_pts is not None and pts <= self._last_pts:
                if self._time_base != 1 / self.fps:  # fine time base: a tick after the previous frame
                    pts = self._last_pts + 1
                else:  # the 1/fps grid (AVI): that slot is taken, drop the frame
                    return
        video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        video_frame.pts = self._last_pts = pts
        video_frame.time_base = self._time_base
        try:
            self._mux_video(self._video.encode(video_frame))
        except (av.error.FFmpegError, OSError) as err:
            self.abort()
            raise OutputError(self.path, f"video encoding failed ({err})") from err
        self.frames_written += 1

    def close(self) -> None:
        """Flush the encoder, copy the remaining audio and move the file into place."""
        import av

        if self._closed:
            return
        if self._out is None:
            self._closed = True
            self._close_audio_input()
            raise OutputError(self.path, "no video frames were written")
        try:
            self._mux_video(self._video.encode(None))
            self._mux_audio_until(None)
            self._flush_reencoded_audio()
            self._out.close()
        except (av.error.FFmpegError, OSError) as err:
            self.abort()
            raise OutputError(self.path, f"finishing the video failed ({err})") from err
        except BaseException:
            self.abort()
            raise
        self._closed = True
        self._close_audio_input()
        assert self._tmp is not None
        commit_temp(self._tmp, self.path)

    def abort(self) -> None:
        """Stop writing and remove the temporary file; the final path is left untouched."""
        self._closed = True
        if self._out is not None:
            try:
                self._out.close()
            except Exception:
                pass
        self._close_audio_input()
        if self._tmp is not None:
            discard_temp(self._tmp)

    # -- internals ----------------------------------------------------------------------------

    def _close_audio_input(self) -> None:
        if self._audio_in is not None:
            try:
                self._audio_in.close()
            except Exception:
                pass
            self._audio_in = None

    def _start(self, height: int, width: int) -> None:
        """First frame: choose encoder and audio handling, open the output, write its header."""
        import av

        self._size = (height, width)
        width, height = _even(width), _even(height)
        make_parent_dirs(self.path)
        self._tmp = temp_path_for(self.path)
        try:
            # Opening for writing only picks the muxer from the name; the file is created when
            # the header is written.
            with av.open(str(self._tmp), mode="w") as scratch:
                muxer = scratch.format.name
                defaults = (scratch.default_video_codec, scratch.default_audio_codec)
            self._time_base = _time_base(self.fps, muxer)
        except (av.error.FFmpegError, ValueError) as err:
            raise OutputError(self.path, f"cannot write videos with extension {self.path.suffix!r}") from err
        try:
            if self.audio_from is not None:
                self._open_audio_input()
            encoder, audio_codec = self._choose_plan(muxer, width, height, defaults)
            self._out = av.open(str(self._tmp), mode="w")
            self._out.metadata["comment"] = self.comment  # so a later run knows this file is not the user's
            self._video, self._audio_map = self._build(self._out, encoder, audio_codec, width, height, defaults[1])
            self._out.start_encoding()  # writes the header (creates the temp file)
        except BaseException as err:
            self.abort()
            if isinstance(err, av.error.FFmpegError):
                raise OutputError(self.path, f"cannot start the video ({err})") from err
            if isinstance(err, OSError):
                raise OutputError(self.path, describe_os_error(err)) from err
            raise
        self.codec_used = self._video.codec_context.name
        if self._audio_map:
            self.audio_mode = "reencode" if any(re for _, re in self._audio_map.values()) else "copy"
            self._audio_packets = iter(self._audio_in.demux(*self._audio_in.streams.audio))
        else:
            self._close_audio_input()

    def _open_audio_input(self) -> None:
        import av

        assert self.audio_from is not None
        try:
            self._audio_in = av.open(str(self.audio_from), mode="r", metadata_errors="replace")
        except (av.error.FFmpegError, OSError, ValueError) as err:
            raise InputError(self.audio_from, "cannot read the audio (not a media file or damaged)") from err

    def _encoder_candidates(self, default_video: str) -> list[str]:
        chain = list(_ENCODER_CHAINS.get(self.codec.lower(), [self.codec]))
        chain += ["mpeg4", default_video]
        unique: list[str] = []
        for name in chain:
            if name and name != "none" and name not in unique:
                unique.append(name)
        return unique

    def _choose_plan(self, muxer: str, width: int, height: int, defaults: tuple[str, str]) -> tuple[str, str | None]:
        """Find (video encoder, audio codec or None to copy) by dry runs: build the streams in
        an in-memory container of the same format and write its header (some muxers only refuse
        a codec there). Audio copy is preferred, then AAC, then the container's default audio
        codec; within each, the encoder order of the chain."""
        import io

        import av

        audio_choices: list[str | None] = [None]
        if self._audio_in is not None and self._audio_in.streams.audio:
            audio_choices += [name for name in ("aac", defaults[1]) if name and name != "none"]
        for audio_codec in dict.fromkeys(audio_choices):
            for encoder in self._encoder_candidates(defaults[0]):
                dry = av.open(io.BytesIO(), mode="w", format=muxer)
                try:
                    self._build(dry, encoder, audio_codec, width, height, defaults[1])
                    dry.start_encoding()
                    works = True
                except Exception:  # encoder missing or refused, codec not allowed in the muxer...
                    works = False
                finally:
                    try:
                        dry.close()
                    except Exception:
                        pass
                if works:
                    return encoder, audio_codec
        raise OutputError(self.path, f"no usable video encoder for {self.codec!r} in a {self.path.suffix} file")

    def _encoder_settings(self, name: str, width: int, height: int) -> tuple[dict[str, str], dict[str, Any]]:
        """(codec options, codec-context attributes) for encoder ``name``."""
        if name in ("libx264", "libx265"):
            return {"crf": str(self.crf), "preset": self.preset}, {}
        if name in ("libvpx-vp9", "libvpx", "libaom-av1"):
            return {"crf": str(min(63, self.crf + 13)), "b": "0"}, {}
        if name == "libsvtav1":
            return {"crf": str(min(63, self.crf + 13))}, {}
        if name == "mpeg4":
            quant = max(2, min(31, round(self.crf / 6)))
            return {}, {"qscale": True, "global_quality": quant * 118}  # FF_QP2LAMBDA = 118
        return {}, {"bit_rate": max(200_000, int(width * height * float(self.fps) * 0.15))}

    def _build(
        self, container: Any, encoder: str, audio_codec: str | None, width: int, height: int, default_audio: str
    ) -> tuple[Any, dict[int, tuple[Any, bool]]]:
        """Add the video stream and one output stream per input audio stream to ``container``:
        audio is copied when ``audio_codec`` is None (streams the container refuses are
        re-encoded to AAC or the default audio codec), else re-encoded to ``audio_codec``.
        Returns (video stream, {input audio stream index: (output stream, re-encoded?)})."""
        options, attributes = self._encoder_settings(encoder, width, height)
        video = container.add_stream(encoder, rate=self.fps, options=dict(options), time_base=self._time_base)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        for key, value in attributes.items():
            setattr(video.codec_context, key, value)
        audio_map: dict[int, tuple[Any, bool]] = {}
        if self._audio_in is not None:
            for in_stream in self._audio_in.streams.audio:
                if audio_codec is None and _players_take(container, in_stream):
                    try:
                        audio_map[in_stream.index] = (container.add_stream_from_template(in_stream), False)
                        continue
                    except ValueError:  # this container cannot hold that codec
                        pass
                codecs = [audio_codec] if audio_codec else ["aac", default_audio]
                audio_map[in_stream.index] = (self._add_reencode_stream(container, in_stream, codecs), True)
        return video, audio_map

    def _add_reencode_stream(self, container: Any, in_stream: Any, codecs: list[str]) -> Any:
        """An output stream re-encoding ``in_stream``'s audio with the first of ``codecs`` that
        the container accepts."""
        import av

        for name in codecs:
            if not name or name == "none":
                continue
            try:
                rate = in_stream.codec_context.sample_rate or 48000
                rates = av.Codec(name, "w").audio_rates
                if rates and rate not in rates:  # e.g. Opus only takes 8/12/16/24/48 kHz
                    rate = 48000 if 48000 in rates else max(rates)
                out_stream = container.add_stream(name, rate=rate)
            except (ValueError, av.error.FFmpegError):
                continue
            out_stream.codec_context.layout = in_stream.codec_context.layout
            return out_stream
        raise OutputError(self.path, f"cannot store audio in a {self.path.suffix} file")

    def _mux_video(self, packets: list[Any]) -> None:
        for packet in packets:
            if self._audio_packets is not None:
                stamp = packet.dts if packet.dts is not None else packet.pts
                if stamp is not None:
                    self._mux_audio_until(float(stamp * packet.time_base) + _AUDIO_LEAD_S)
            self._out.mux(packet)

    def _flush_reencoded_audio(self) -> None:
        """Drain the decoders and encoders of re-encoded audio streams."""
        if self._audio_in is None:
            return
        for in_stream in self._audio_in.streams.audio:
            out_stream, reencode = self._audio_map.get(in_stream.index, (None, False))
            if not reencode:
                continue
            for frame in in_stream.decode(None):
                self._out.mux(out_stream.encode(frame))
            self._out.mux(out_stream.encode(None))

    def _mux_audio_until(self, until: float | None) -> None:
        """Copy (or re-encode) audio packets whose time is <= ``until`` seconds (all if None)."""
        import av

        if self._audio_packets is None:
            return
        while True:
            packet = self._audio_pending
            self._audio_pending = None
            if packet is None:
                try:
                    packet = next(self._audio_packets)
                except StopIteration:
                    self._audio_packets = None
                    return
                except av.error.FFmpegError as err:
                    raise InputError(self.audio_from or "", "audio stream is truncated or corrupt") from err
            if packet.dts is None or packet.size == 0:  # demuxer flush packets
                continue
            if until is not None and float(packet.dts * packet.time_base) > until:
                self._audio_pending = packet
                return
            out_stream, reencode = self._audio_map[packet.stream.index]
            if reencode:
                for frame in packet.decode():
                    self._out.mux(out_stream.encode(frame))
            else:
                packet.stream = out_stream  # timestamps are rebased to the output stream by mux
                self._out.mux(packet)
