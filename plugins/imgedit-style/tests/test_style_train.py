"""`imgedit train style` / `style-decoder` on tiny data: loss falls, resume works, export is usable."""
from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from imgedit_style import train
from imgedit_style.arbitrary import Decoder
from imgedit_style.transformer import TransformerNet


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for i in range(3):
        low = rng.random((6, 8, 3))
        img = Image.fromarray((low * 255).astype(np.uint8)).resize((96, 72), Image.Resampling.BICUBIC)
        img.save(d / f"p{i}.png")
    (d / "notes.txt").write_text("not an image")
    return d


def _history(run: Path) -> list[dict]:
    return json.loads((run / "state.json").read_text())["history"]


def _first_last(hist: list[dict], key: str = "total") -> tuple[float, float]:
    return hist[0][key], hist[-1][key]


def test_train_style_lowers_loss_resumes_and_exports(photos, tmp_path, monkeypatch):
    run, export_dir = tmp_path / "run", tmp_path / "pretrained"
    fake_plugin = tmp_path / "plugin.py"
    shutil.copy(train.PLUGIN_FILE, fake_plugin)
    monkeypatch.setattr(train, "PLUGIN_FILE", fake_plugin)
    base = ["--style", "wave", "--data", str(photos), "--size", "48", "--batch", "2", "--width", "8",
            "--style-weight", "3", "--content-weight", "1",
            "--blocks", "1", "--lr", "2e-3", "--log-every", "5", "--run-dir", str(run), "--precision", "fp32",
            "--curriculum", "0", "--quiet", "--seed", "1"]
    assert train.main_style(base + ["--steps", "40"]) == 0
    hist = _history(run)
    first, last = _first_last(hist)
    assert hist[-1]["step"] == 40
    with Image.open(run / "preview.jpg") as sheet:  # bundled samples (top) and their stylised versions
        assert sheet.height > 2 * 100 and sheet.width > 4 * 100
    assert last < 0.8 * first, hist
    # resume: continues at step 40, does not start over
    assert train.main_style(base + ["--steps", "45", "--export", "--export-dir", str(export_dir)]) == 0
    state = json.loads((run / "state.json").read_text())
    assert state["step"] == 45 and state["history"][0]["step"] == 1
    out = export_dir / "style-wave.safetensors"
    card = (export_dir / "style-wave.md").read_text()
    from safetensors.torch import load_file

    tensors = load_file(str(out))
    assert all(v.dtype == torch.float16 for v in tensors.values())
    net = TransformerNet.from_state_dict(tensors)
    assert net.width == 8 and net.blocks == 1
    sha = hashlib.sha256(out.read_bytes()).hexdigest()
    assert sha in card and "public domain" in card and "steps | 45" in card
    assert "`imgedit train style --style wave" in card and "--steps 45" in card
    assert f'"wave": "{sha}"' in fake_plugin.read_text()  # the plugin now declares the weights


def test_train_decoder_lowers_loss(photos, tmp_path):
    run = tmp_path / "dec"
    args = ["--data", str(photos), "--size", "48", "--batch", "2", "--width", "32", "--blocks", "1",
            "--tap", "block2", "--lr", "2e-3", "--log-every", "5", "--run-dir", str(run), "--precision", "fp32",
            "--curriculum", "0", "--quiet", "--steps", "30"]
    assert train.main_decoder([*args, "--upsample", "nearest"]) == 0  # the first decoder's layout
    first, last = _first_last(_history(run))
    assert last < 0.8 * first
    dec = Decoder("block2", 32, 1)
    assert train.load_checkpoint(run, dec, None)["step"] == 30
    # multi-level with bilinear upsampling: same trainer, its own run folder
    run2 = tmp_path / "dec2"
    args2 = [a if a != str(run) else str(run2) for a in args]
    args2[args2.index("block2")] = "block4"
    args2 += ["--steps", "10"]  # defaults: skips auto (block2), bilinear
    assert train.main_decoder(args2) == 0
    dec2 = Decoder("block4", 32, 1, ("block2",), "bilinear")
    assert train.load_checkpoint(run2, dec2, None)["step"] == 10


def test_train_stylizing_decoder(photos, tmp_path, monkeypatch):
    """`--styles`: part of each batch reconstructs, the rest is WCT'd with a painting and decoded;
    its Gram loss falls; `--init` starts from given weights, a wrong layout is refused."""
    paintings = tmp_path / "paintings"
    paintings.mkdir()
    yy, xx = np.mgrid[0:80, 0:80]
    stripes = np.stack([(np.sin(xx / 2.0) > 0) * 230, (np.sin((xx + yy) / 3.0) > 0) * 200,
                        np.full_like(xx, 40)], axis=-1).astype(np.uint8)
    Image.fromarray(stripes).save(paintings / "stripes.png")
    run0, run = tmp_path / "dec0", tmp_path / "dec"
    base = ["--data", str(photos), "--size", "48", "--batch", "4", "--width", "32", "--blocks", "1",
            "--tap", "block4", "--precision", "fp32", "--curriculum", "0", "--quiet", "--log-every", "1"]
    assert train.main_decoder([*base, "--steps", "2", "--run-dir", str(run0)]) == 0
    args = [*base, "--styles", str(paintings), "--style-weight", "5", "--identity", "0.25", "--lr", "2e-3", "--jitter", "4", "--equivariance", "1",
            "--painting-crops", "2", "--saturation-weight", "1", "--init", str(run0 / "last.safetensors"),
            "--run-dir", str(run)]
    assert train.main_decoder([*args, "--steps", "1"]) == 0
    from safetensors.torch import load_file

    start, after_one = load_file(str(run0 / "last.safetensors")), load_file(str(run / "last.safetensors"))
    w = "net.inp.1.weight"
    assert (after_one[w] - start[w]).abs().max() < 5e-3  # one Adam step from the --init weights
    assert train.main_decoder([*args, "--steps", "40"]) == 0  # resumes (no second --init)
    hist = _history(run)
    assert {"pixel", "feature", "saturation", "content", "style", "equivariance"} <= set(hist[0])
    early = np.mean([h["style"] for h in hist[:5]])
    late = np.mean([h["style"] for h in hist[-5:]])
    assert late < 0.8 * early, (early, late)
    assert (run / "preview-style.jpg").is_file()
    fake_plugin = tmp_path / "plugin.py"
    shutil.copy(train.PLUGIN_FILE, fake_plugin)
    monkeypatch.setattr(train, "PLUGIN_FILE", fake_plugin)
    assert train.main_decoder([*args, "--export-only", "--export-dir", str(tmp_path / "out")]) == 0
    card = (tmp_path / "out" / "style-decoder.md").read_text()
    init_sha = hashlib.sha256((run0 / "last.safetensors").read_bytes()).hexdigest()
    assert f"sha256 `{init_sha}`" in card and "paintings:" in card and "x5.0" in card and "2 random crops" in card
    assert "saturation gap x1.0" in card
    with pytest.raises(SystemExit, match="add --styles"):
        train.main_decoder([*base, "--jitter", "4", "--steps", "1", "--run-dir", str(tmp_path / "dec4")])
    with pytest.raises(SystemExit, match="decoder-block4-w32-b1"):
        train.main_decoder([*base, "--width", "16", "--init", str(run0 / "last.safetensors"),
                            "--steps", "1", "--run-dir", str(tmp_path / "dec3")])


def test_painting_crops_are_fixed_parts_of_each_painting(tmp_path):
    """`--painting-crops K`: the whole paintings first, then K crops of each (40-80% of each side,
    some mirrored), the same for the same seed."""
    for i, (w, h) in enumerate(((120, 90), (60, 100))):
        Image.fromarray(np.random.default_rng(i).integers(0, 255, (h, w, 3), dtype=np.uint8)).save(tmp_path / f"p{i}.png")
    stats = train.PaintingStats([tmp_path], None, (), (), lambda m: None, crops=3, seed=1)
    assert stats.paintings == 2 and len(stats) == 8
    whole = stats.images[:2]
    for k, part in enumerate(stats.images[2:]):
        src = whole[k // 3]
        (h, w), (ph, pw) = src.shape[-2:], part.shape[-2:]
        assert 0.39 * h <= ph <= 0.81 * h and 0.39 * w <= pw <= 0.81 * w
        assert any(torch.equal(src[..., y:y + ph, x:x + pw], p) for p in (part, part.flip(-1))
                   for y in range(h - ph + 1) for x in range(w - pw + 1)), k  # a window, maybe mirrored
    again = train.PaintingStats([tmp_path], None, (), (), lambda m: None, crops=3, seed=1)
    assert all(torch.equal(a, b) for a, b in zip(stats.images, again.images))
    assert len(train.PaintingStats([tmp_path], None, (), (), lambda m: None).images) == 2


def test_shift_equivariance_loss():
    """Zero for a pointwise network, positive for one whose output depends on the position
    modulo 4 (a stride-4 grid)."""
    torch.manual_seed(0)
    x = torch.rand(1, 3, 40, 40)
    pointwise = torch.nn.Conv2d(3, 3, 1)
    with torch.no_grad():
        assert float(train.shift_equivariance(pointwise, x, pointwise(x))) < 1e-6

    class Grid(torch.nn.Module):
        def forward(self, z):
            g = torch.zeros_like(z)
            g[:, :, ::4, ::4] = 0.5
            return z + g

    grid = Grid()
    assert float(train.shift_equivariance(grid, x, grid(x))) > 0.01


def test_train_style_with_equivariance(photos, tmp_path):
    run = tmp_path / "run"
    args = ["--style", "wave", "--data", str(photos), "--size", "48", "--batch", "2", "--width", "8",
            "--blocks", "1", "--run-dir", str(run), "--precision", "fp32", "--curriculum", "0", "--quiet",
            "--steps", "4", "--log-every", "1", "--equivariance", "2", "--upsample", "bilinear"]
    assert train.main_style(args) == 0
    hist = _history(run)
    assert all(h["equivariance"] > 0 for h in hist)
    assert json.loads((run / "state.json").read_text())["config"]["equivariance"] == 2.0


def test_record_sha256_updates_only_the_block(tmp_path, monkeypatch):
    f = tmp_path / "plugin.py"
    shutil.copy(train.PLUGIN_FILE, f)
    monkeypatch.setattr(train, "PLUGIN_FILE", f)
    before = f.read_text()
    assert train.record_sha256("decoder", "decoder", "a" * 64)
    assert train.record_sha256("fast", "my_style", "b" * 64)
    after = f.read_text()
    assert 'DECODER_SHA256: str | None = "' + "a" * 64 + '"' in after
    assert '"my_style": "' + "b" * 64 + '"' in after
    entry = re.compile(r'^    "[a-z0-9_]+": "[0-9a-f]{64}",$', re.M)
    assert len(entry.findall(after)) == len(entry.findall(before)) + 1
    assert len(after.splitlines()) - len(before.splitlines()) == len(entry.findall(after)) - len(entry.findall(before))


def test_user_style_exported_and_used_by_name(photos, tmp_path, monkeypatch):
    """`imgedit train style --style my_painting.jpg --export` (a user's painting): the network
    goes to the user models folder and `--style my_painting` works with no source edited."""
    from imgedit import registry
    from imgedit.runner import process

    models = tmp_path / "models"
    monkeypatch.setenv("IMGEDIT_MODELS_DIR", str(models))
    painting = tmp_path / "My Painting.png"
    rng = np.random.default_rng(3)
    Image.fromarray((rng.random((64, 64, 3)) * 255).astype(np.uint8)).save(painting)
    fake_plugin = tmp_path / "plugin.py"
    shutil.copy(train.PLUGIN_FILE, fake_plugin)
    monkeypatch.setattr(train, "PLUGIN_FILE", fake_plugin)
    args = ["--style", str(painting), "--data", str(photos), "--size", "48", "--batch", "2", "--width", "8",
            "--blocks", "1", "--run-dir", str(tmp_path / "run"), "--precision", "fp32", "--curriculum", "0",
            "--quiet", "--steps", "3", "--export"]
    assert train.main_style(args) == 0
    assert fake_plugin.read_text() == train.PLUGIN_FILE.read_text()  # no source edited
    record = json.loads((models / "style.fast-my_painting.json").read_text())
    assert record["base"] == "style" and record["weight"] == "fast-my_painting"
    registry.reload()
    try:
        spec = registry.get_registry().get("style")
        assert "fast-my_painting" in {w.name for w in spec.weights}
        out = tmp_path / "out"
        summary = process([photos / "p0.png"], out, model="style", style=["my_painting"], method="fast")
        assert summary.exit_code == 0, [r.as_dict() for r in summary.results]
        assert (out / "p0.png").is_file()
        # and by file: -m FILE.safetensors
        spec2 = registry.get_registry().get(str(models / "style.fast-my_painting.safetensors"))
        assert "fast-my_painting" in {w.name for w in spec2.weights}
    finally:
        registry.reload()


def test_bilinear_network_with_tap_weights_trains_exports_and_loads(photos, tmp_path, monkeypatch):
    """`--upsample bilinear` is recorded in the weights (the loader rebuilds the same network),
    `--style-tap-weight` reaches the style loss, `--jitter` trains on shifted crops; a bad weight
    is a one-line usage error."""
    fake_plugin = tmp_path / "plugin.py"
    shutil.copy(train.PLUGIN_FILE, fake_plugin)
    monkeypatch.setattr(train, "PLUGIN_FILE", fake_plugin)
    run, export_dir = tmp_path / "run", tmp_path / "pretrained"
    base = ["--style", "wave", "--data", str(photos), "--size", "48", "--batch", "2", "--width", "8", "--blocks", "1",
            "--run-dir", str(run), "--precision", "fp32", "--curriculum", "0", "--quiet", "--upsample", "bilinear"]
    assert train.main_style(base + ["--steps", "3", "--style-tap-weight", "block10=4", "--jitter", "4", "--export",
                                    "--export-dir", str(export_dir)]) == 0
    state = json.loads((run / "state.json").read_text())
    assert state["config"]["arch"] == "transformer-w8-b1-bilinear"
    assert state["config"]["style_tap_weights"] == {"block10": 4.0} and state["config"]["jitter"] == 4
    from safetensors.torch import load_file

    net = TransformerNet.from_state_dict(load_file(str(export_dir / "style-wave.safetensors")))
    assert net.upsample == "bilinear" and net.up[0].mode == "bilinear"
    x = torch.rand(1, 3, 40, 52)
    assert net(x).shape == x.shape
    with pytest.raises(SystemExit, match="TAP=WEIGHT"):
        train.main_style(base + ["--steps", "1", "--style-tap-weight", "block10"])
    with pytest.raises(SystemExit, match="block99"):
        train.main_style(base + ["--steps", "1", "--style-tap-weight", "block99=2", "--fresh"])
