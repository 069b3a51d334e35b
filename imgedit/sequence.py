"""Frame-rate conversion shared by every interpolation model (torch-free).

:func:`retime` turns a stream of :class:`~imgedit.api.Frame` at ``in_rate`` into a stream at
``out_rate`` with the same duration, placing frames by their timestamps (``Frame.time``), so a
variable-frame-rate phone video and a video that starts late keep their audio in sync. Output frame
``k`` sits at ``T = t0 + k / out_rate`` (``t0``: the first frame's time); when ``T`` falls between
frames ``a`` and ``b`` the model's ``interpolate(a, b, t)`` makes it with
``t = (T - a.time) / (b.time - a.time)``, except across a scene cut (``b.scene_start``), where the
nearer frame is repeated instead of blending two shots. The last frame lasts ``1 / in_rate``
(so ``N`` constant-rate frames become ``round(N * out_rate / in_rate)``); times within half a
millisecond of an input frame's time reuse that frame as it is.
"""
from __future__ import annotations

from fractions import Fraction
from itertools import chain
from typing import Any, Callable, Iterable, Iterator

from imgedit.api import Frame
from imgedit.errors import OptionError

Interpolator = Callable[[Frame, Frame, float], Any]


def target_rate(input_rate: Fraction, factor: int | None = 2, fps: float | None = None) -> Fraction:
    """Output rate for ``--factor`` or, when given, ``--fps`` (exact for 23.976-style rates)."""
    if fps:
        if fps <= 0:
            raise OptionError("--fps must be positive")
        for base in (24, 30, 48, 60, 90, 120, 240):  # NTSC rates typed as 23.976, 29.97, 59.94...
            ntsc = Fraction(base * 1000, 1001)
            if abs(float(ntsc) - fps) < 0.006:
                return ntsc
        return Fraction(fps).limit_denominator(1000)
    if not factor or factor < 1:
        raise OptionError("--factor must be a positive integer")
    return Fraction(input_rate) * int(factor)


def retime(frames: Iterable[Frame], in_rate: Fraction, out_rate: Fraction,
           interpolate: Interpolator) -> Iterator[Frame]:
    rate = Fraction(out_rate)
    snap = Fraction(1, 2000)  # container timestamps are rounded to their time base
    k = 0
    t0: Fraction | None = None
    prev: Frame | None = None
    scene = shown = -1  # scene of `prev`, scene of the last output frame

    def emit(image, this_scene):
        nonlocal k, shown
        out = Frame(image, t0 + k / rate, k, this_scene != shown, rate)
        shown = this_scene
        k += 1
        return out

    for cur in frames:
        cur_scene = scene + 1 if (cur.scene_start or prev is None) else scene
        if prev is None:
            t0 = Fraction(cur.time)
        elif cur.time > prev.time:  # a repeated or out-of-order timestamp adds no time
            span = Fraction(cur.time) - Fraction(prev.time)
            while t0 + k / rate < cur.time - snap:
                t = (t0 + k / rate - prev.time) / span
                if t * span <= snap:
                    yield emit(prev.image, scene)
                elif cur_scene != scene:  # never blend two shots: repeat the nearer frame
                    yield emit(prev.image, scene) if t < Fraction(1, 2) else emit(cur.image, cur_scene)
                else:
                    yield emit(interpolate(prev, cur, float(t)), scene)
        else:
            continue
        prev, scene = cur, cur_scene
    if prev is None:
        return
    total = round((prev.time + 1 / Fraction(in_rate) - t0) * rate)
    while k < total:
        yield emit(prev.image, scene)


def interpolate_frames(frames: Iterable[Frame], interpolate: Interpolator, factor: int | None = 2,
                       fps: float | None = None,
                       on_scene_start: Callable[[Frame], None] | None = None) -> Iterator[Frame]:
    """What an interpolation model's ``edit_sequence`` does: read the input rate from the first
    frame, convert to :func:`target_rate` with :func:`retime`, and call ``on_scene_start`` for
    every frame that starts a scene (drop carried state there)."""
    it = iter(frames)
    first = next(it, None)
    if first is None:
        return
    if first.rate is None:
        raise ValueError("interpolation needs frames that carry their rate (Frame.rate)")

    def watched(seq: Iterable[Frame]) -> Iterator[Frame]:
        for fr in seq:
            if fr.scene_start and on_scene_start is not None:
                on_scene_start(fr)
            yield fr

    yield from retime(watched(chain([first], it)), first.rate, target_rate(first.rate, factor, fps),
                      interpolate)
