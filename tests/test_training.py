"""imgedit.training: checkpoints resume exactly, exports are fp16 + card + sha256, source
constants are rewritten in place, preview sheets and loss tables."""
from __future__ import annotations

import hashlib
import json
import random

import pytest
import torch
from PIL import Image

from imgedit import training


def _models():
    torch.manual_seed(0)
    g = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 2))
    d = torch.nn.Linear(2, 1)
    return g, d, torch.optim.Adam(g.parameters(), 1e-2), torch.optim.SGD(d.parameters(), 1e-2, momentum=0.9)


def _step(g, d, og, od, seed):
    x = torch.randn(16, 4, generator=torch.Generator().manual_seed(seed))
    loss = d(g(x)).pow(2).mean() + g(x).pow(2).mean()
    og.zero_grad(), od.zero_grad()
    loss.backward()
    og.step(), od.step()


def test_checkpoint_resume_matches_an_uninterrupted_run(tmp_path):
    g, d, og, od = _models()
    for s in range(6):
        _step(g, d, og, od, s)
    reference = {k: v.clone() for k, v in g.state_dict().items()}

    g, d, og, od = _models()
    for s in range(3):
        _step(g, d, og, od, s)
    ck = training.Checkpoint(tmp_path / "run", {"g": g, "d": d}, {"og": og, "od": od})
    ck.save({"step": 3, "history": [{"step": 3, "loss": 1.5}]})
    assert not list((tmp_path / "run").glob("*.tmp"))

    g2, d2, og2, od2 = _models()  # fresh objects, as in a new process
    state = training.Checkpoint(tmp_path / "run", {"g": g2, "d": d2}, {"og": og2, "od": od2}).load()
    assert state == {"step": 3, "history": [{"step": 3, "loss": 1.5}]}
    for s in range(3, 6):
        _step(g2, d2, og2, od2, s)
    for k, v in reference.items():  # Adam moments, SGD momentum and BN buffers all restored
        assert torch.allclose(g2.state_dict()[k].float(), v.float(), atol=1e-6), k


def test_checkpoint_missing_and_mismatched(tmp_path):
    g, d, og, od = _models()
    assert training.Checkpoint(tmp_path / "none", {"g": g}).load() is None
    training.Checkpoint(tmp_path / "run", {"g": g}, {"og": og}).save({"step": 0})
    other = torch.nn.Linear(4, 4)
    with pytest.raises(ValueError, match="does not match module 'g'"):
        training.Checkpoint(tmp_path / "run", {"g": other}).load()
    # the file is safetensors + JSON: nothing to unpickle
    assert (tmp_path / "run" / "last.safetensors").read_bytes()[8:9] == b"{"
    json.loads((tmp_path / "run" / "state.json").read_text())


def test_export_weights_fp16_card_and_sha(tmp_path):
    tensors = {"w": torch.randn(3, 3), "n": torch.tensor([7], dtype=torch.int64)}
    out = tmp_path / "pre" / "thing.safetensors"
    sha = training.export_weights(tensors, out, "# thing\nsha256 `{SHA256}`, {SIZE}\n", {"steps": "5"})
    assert sha == hashlib.sha256(out.read_bytes()).hexdigest()
    card = out.with_suffix(".md").read_text()
    assert sha in card and " MB" in card and "{SIZE}" not in card
    from safetensors import safe_open

    with safe_open(str(out), "pt") as f:
        assert f.metadata() == {"steps": "5"}
        assert f.get_tensor("w").dtype == torch.float16 and f.get_tensor("n").dtype == torch.int64


def test_set_constant_and_dict_entry(tmp_path):
    f = tmp_path / "plugin.py"
    f.write_text('X = 1\nSHA: str | None = None\nFILE = "a.safetensors"\nTABLE: dict[str, str] = {\n}\nY = 2\n')
    assert training.set_constant(f, "SHA", "ab" * 32)
    assert training.set_constant(f, "FILE", "b.safetensors")
    assert training.set_dict_entry(f, "TABLE", "zeta", "1")
    assert training.set_dict_entry(f, "TABLE", "alpha", "2")
    assert training.set_dict_entry(f, "TABLE", "zeta", "3")  # replaced, not duplicated
    assert f.read_text() == ('X = 1\nSHA: str | None = "' + "ab" * 32 + '"\nFILE = "b.safetensors"\n'
                             'TABLE: dict[str, str] = {\n    "alpha": "2",\n    "zeta": "3",\n}\nY = 2\n')
    assert not training.set_constant(f, "MISSING", "x")
    assert not training.set_dict_entry(f, "NOPE", "k", "v")
    assert not training.set_constant(tmp_path / "absent.py", "X", "1")


def test_photoset_preview_sheet_and_loss_table(tmp_path):
    for i, size in enumerate([(80, 60), (50, 70), (10, 10)]):
        Image.new("RGB", size, (40 * i, 100, 200)).save(tmp_path / f"p{i}.png")
    (tmp_path / "junk.jpg").write_bytes(b"not a jpeg")
    data = training.PhotoSet([tmp_path], short_side=64, min_side=32, log=lambda m: None)
    assert len(data.images) == 2 and data.files == 4  # tiny and unreadable files skipped
    b = data.batch(3, 32, random.Random(0))
    assert b.shape == (3, 3, 32, 32) and 0 <= float(b.min()) and float(b.max()) <= 1
    photos = training.preview_photos([tmp_path], long_side=40)
    assert [tuple(p.shape[-2:]) for p in photos] == [(30, 40), (40, 29), (10, 10)]
    training.write_sheet(tmp_path / "out" / "sheet.jpg", [photos, [1 - p for p in photos]])
    with Image.open(tmp_path / "out" / "sheet.jpg") as im:
        assert im.size == (40 + 29 + 10, 80)
    hist = [{"step": s, "size": 64, "loss": 1 / s} for s in range(1, 101)]
    table = training.loss_table(hist).splitlines()
    assert table[0] == "| step | crop | loss |" and table[2] == "| 1 | 64 | 1 |" and table[-1] == "| 100 | 64 | 0.01 |"
    assert training.command_line("style", ["--style", "a b"]) == "imgedit train style --style 'a b'"


def test_ema_update_is_the_weighted_average():
    import torch

    from imgedit.training import ema_update

    net, ema = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    with torch.no_grad():
        net.weight.fill_(1.0), net.bias.fill_(-2.0), ema.weight.fill_(0.0), ema.bias.fill_(0.0)
    ema_update(ema, net, 0.9)
    assert torch.allclose(ema.weight, torch.full((1, 2), 0.1)) and torch.allclose(ema.bias, torch.tensor([-0.2]))
    ema_update(ema, net, 0.9)  # 0.9 * 0.1 + 0.1 * 1
    assert torch.allclose(ema.weight, torch.full((1, 2), 0.19))


def _trainrun(folder, seed=0):
    g, d, og, od = _models()
    rng = random.Random(seed)
    aug = torch.Generator().manual_seed(5)
    run = training.TrainRun(folder, {"g": g, "d": d}, {"og": og, "od": od}, {"width": 8}, rng=rng,
                            must_match=("width",), log=lambda m: None, generators={"aug": aug})

    def step(i):  # draws from all three RNGs: the data rng, torch's global one and a Generator
        x = torch.randn(16, 4) * rng.uniform(0.5, 1.5) + torch.rand(1, 4, generator=aug)
        loss = d(g(x)).pow(2).mean() + g(x).pow(2).mean()
        og.zero_grad(), od.zero_grad()
        loss.backward()
        og.step(), od.step()
        return {"loss": loss.item()}

    return run, step, g


def test_trainrun_resumed_run_continues_exactly(tmp_path):
    run, step, g_straight = _trainrun(tmp_path / "a")
    run.resume()
    run.run(10, step, log_every=2)
    torch.manual_seed(123)  # whatever happened in between: the checkpoint restores the RNGs
    run, step, _ = _trainrun(tmp_path / "b")
    run.resume()
    run.run(4, step, log_every=2)
    torch.manual_seed(999)
    random.seed(7)
    run, step, g_resumed = _trainrun(tmp_path / "b")
    assert run.resume() and run.step == 4
    run.run(10, step, log_every=2)
    for a, b in zip(g_straight.state_dict().values(), g_resumed.state_dict().values()):
        assert torch.equal(a, b)
    hist = json.loads((tmp_path / "b" / "state.json").read_text())["history"]
    assert [h["step"] for h in hist] == [1, 2, 4, 6, 8, 10]  # one history, first step included


def test_trainrun_refuses_another_configuration(tmp_path):
    run, step, _ = _trainrun(tmp_path / "a")
    run.run(2, step)
    g, d, og, od = _models()
    other = training.TrainRun(tmp_path / "a", {"g": g, "d": d}, {"og": og, "od": od}, {"width": 16},
                              rng=random.Random(0), must_match=("width",), log=lambda m: None)
    with pytest.raises(SystemExit, match="width=8"):
        other.resume()


def test_labelled_set_reads_labels_and_keeps_images_as_they_are(tmp_path):
    import csv

    for i in range(4):
        Image.new("L", (64, 64), 40 * i).save(tmp_path / f"g{i}.png")
    Image.new("RGB", (32, 48), (255, 0, 0)).save(tmp_path / "odd.png")
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with open(tmp_path / "labels.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "bold", "note"])
        for i, f in enumerate(["g0.png", "g1.png", "g2.png", "g3.png", "odd.png", "bad.png"]):
            w.writerow([f, i % 2, "x"])
    s = training.LabelledSet(tmp_path, 64, tmp_path / "labels.csv", gray=True, log=lambda m: None)
    assert len(s) == 5 and s.attributes == ["bold"]  # the unreadable file is left out
    x = s.take([1])
    assert x.shape == (1, 3, 64, 64) and torch.allclose(x, torch.full_like(x, 40 / 255))  # no crop, no flip
    assert s.where("bold", 1) == [1, 3]
    b = s.batch(3, random.Random(0))
    assert b.shape == (3, 3, 64, 64)
    unlabelled = training.LabelledSet(tmp_path, 32, log=lambda m: None)
    assert len(unlabelled) == 5 and unlabelled.attributes == []


def test_user_model_records_problems_and_clashes(tmp_path):
    from imgedit.api import Capability, ModelSpec, WeightFile
    from imgedit.usermodels import apply_records, write_record

    base = ModelSpec("gan", "base", "m:C", (Capability.GENERATE,), base_only=True,
                     weights=(WeightFile("generator", "gan.safetensors", "0" * 64),))
    other = ModelSpec("gan.glyphs", "shipped", "m:C", (Capability.GENERATE,), plugin="imgedit-gan")
    write_record(tmp_path, name="gan.mine", base="gan", weight="generator", sha256="a" * 64)
    write_record(tmp_path, name="gan.glyphs", base="gan", weight="generator", sha256="b" * 64)
    write_record(tmp_path, name="vae.x", base="vae", weight="w", sha256="c" * 64)
    (tmp_path / "junk.json").write_text("{")
    models = {"gan": base, "gan.glyphs": other}
    problems = apply_records(models, tmp_path)
    mine = models["gan.mine"]
    assert not mine.base_only and mine.weights[0].sha256 == "a" * 64
    assert mine.weights[0].search_dirs == (str(tmp_path),) and mine.plugin == "user models"
    assert models["gan.glyphs"] is other  # a user model never replaces a plugin's model
    text = "\n".join(problems)
    assert "already taken by imgedit-gan" in text and "'vae' is not installed" in text and "junk.json" in text


def test_frechet_distance_of_gaussians():
    from imgedit.perceptual.fid import frechet_distance

    torch.manual_seed(0)
    a = torch.randn(2000, 5).double()
    stats = lambda x: (x.mean(0), torch.cov(x.T))  # noqa: E731
    assert abs(frechet_distance(stats(a), stats(a))) < 1e-6
    shifted = frechet_distance(stats(a), stats(a + 3))
    assert abs(shifted - 5 * 9) < 1e-6  # only the means differ: ||mu_a - mu_b||^2
    assert frechet_distance(stats(a), stats(a * 2)) > 4  # wider: trace term
