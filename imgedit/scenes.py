"""Cheap scene-cut detection for video sequences (shared by every sequence model).

The score of a frame against the previous one is in [0,1]: the mean of (a) the mean absolute
difference of 64x36 thumbnails and (b) one minus the intersection of their 8x8x8 colour
histograms. A hard cut changes both a lot; fast motion changes (a) but not (b), a fade changes
(b) slowly. Flicker (the whole frame brighter or darker, per channel) changes both too, so the
score is the smaller of that score on the thumbnails as they are and on brightness-normalised
thumbnails (each channel minus its mean, divided by its standard deviation): new content changes
both, a brightness or colour change of the same picture only the first. A cut is a score above
``threshold`` (default :data:`DEFAULT_THRESHOLD`).
"""
from __future__ import annotations

import numpy as np

DEFAULT_THRESHOLD = 0.25  # onepiece_demo: a real cut scores 0.38, the largest in-shot change 0.13
_THUMB = (64, 36)
_MIN_STD = 0.02  # a flat channel is not stretched into noise by the normalisation
_Z_RANGE = 2.0  # normalised values in [-2, 2] (standard deviations) map to [0, 1]

Signature = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _histogram(thumb: np.ndarray) -> np.ndarray:
    q = (np.clip(thumb, 0, 1) * 7.999).astype(np.int32)
    hist = np.bincount((q[..., 0] * 64 + q[..., 1] * 8 + q[..., 2]).ravel(), minlength=512).astype(np.float32)
    return hist / hist.sum()


def _signature(frame: np.ndarray) -> Signature:
    """(thumbnail, its histogram, normalised thumbnail, its histogram)."""
    import cv2

    if frame.dtype != np.uint8:
        frame = (np.clip(frame, 0, 1) * 255 + 0.5).astype(np.uint8)
    thumb = cv2.resize(frame, _THUMB, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    mean = thumb.mean(axis=(0, 1), keepdims=True)
    std = np.maximum(thumb.std(axis=(0, 1), keepdims=True), _MIN_STD)
    norm = 0.5 + (thumb - mean) / (2 * _Z_RANGE * std)  # flicker-free: same picture, same values
    return thumb, _histogram(thumb), norm, _histogram(norm)


def cut_score(a: np.ndarray, b: np.ndarray) -> float:
    """Score in [0,1] between two RGB frames (H,W,3 uint8 or float in [0,1])."""
    return _score(_signature(a), _signature(b))


def _pair_score(ta, ha, tb, hb) -> float:
    mad = float(np.abs(ta - tb).mean())
    hist = 1.0 - float(np.minimum(ha, hb).sum())
    return 0.5 * (min(1.0, mad * 2.0) + hist)


def _score(a: Signature, b: Signature) -> float:
    """The smaller of the score as the frames are and brightness-normalised (see the module)."""
    raw = _pair_score(a[0], a[1], b[0], b[1])
    if raw == 0.0:
        return 0.0
    return min(raw, _pair_score(np.clip(a[2], 0, 1), a[3], np.clip(b[2], 0, 1), b[3]))


class SceneDetector:
    """Feed frames in order; :meth:`update` says whether each one starts a new scene.

    The first frame always starts a scene. ``threshold`` <= 0 disables detection (only the first
    frame is a scene start); ``cuts`` counts the detected cuts.
    """

    def __init__(self, threshold: float = DEFAULT_THRESHOLD):
        self.threshold = threshold
        self._prev: Signature | None = None
        self.cuts = 0
        self.last_score = 0.0

    def update(self, frame: np.ndarray) -> bool:
        sig = _signature(frame)
        prev, self._prev = self._prev, sig
        if prev is None:
            return True
        self.last_score = _score(prev, sig)
        if self.threshold > 0 and self.last_score > self.threshold:
            self.cuts += 1
            return True
        return False
