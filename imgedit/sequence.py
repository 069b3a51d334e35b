"""Frame-rate conversion shared by every interpolation model (torch-free).

:func:`retime` turns a stream of :class:`~imgedit.api.Frame` at ``in_rate`` into a stream at
``out_rate`` with the same duration: ``N`` input frames become ``round(N * out_rate / in_rate)``
output frames. Output frame ``k`` sits at input position ``p = k * in_rate / out_rate``; when ``p``
falls between frames ``i`` and ``i+1`` the model's ``interpolate(a, b, t)`` makes it, except across
a scene cut (``b.scene_start``), where the nearer frame is repeated instead of blending two shots.
Positions past the last frame repeat it.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable, Iterable, Iterator

from imgedit.api import Frame
from imgedit.errors import OptionError

Interpolator = Callable[[Frame, Frame, float], Any]


def target_rate(input_rate: Fraction, factor: int | None = 2, fps: float | None = None) -> Fraction:
    """Output rate for ``--factor`` or, when given, ``--fps`` (exact for 23.976-style rates)."""
    if fps:
        if fps <= 0:
            raise OptionError("--fps must be positive")
        return Fraction(fps).limit_denominator(1001)
    if not factor or factor < 1:
        raise OptionError("--factor must be a positive integer")
    return Fraction(input_rate) * int(factor)


def retime(frames: Iterable[Frame], in_rate: Fraction, out_rate: Fraction,
           interpolate: Interpolator) -> Iterator[Frame]:
    ratio = Fraction(in_rate) / Fraction(out_rate)  # input frames per output frame
    k = 0
    prev: Frame | None = None
    pending_cut = True
    for cur in frames:
        if prev is not None:
            while k * ratio < cur.index:
                t = k * ratio - prev.index
                if t == 0:
                    image = prev.image
                elif cur.scene_start:
                    image = prev.image if t < Fraction(1, 2) else cur.image
                else:
                    image = interpolate(prev, cur, float(t))
                from_cur = cur.scene_start and t >= Fraction(1, 2)
                yield Frame(image, k / Fraction(out_rate), k, pending_cut or from_cur, Fraction(out_rate))
                pending_cut = False
                k += 1
        prev = cur
    if prev is None:
        return
    total = round((prev.index + 1) / ratio)
    while k < total:
        yield Frame(prev.image, k / Fraction(out_rate), k, pending_cut, Fraction(out_rate))
        pending_cut = False
        k += 1
