"""The latent-editing core on the built-in latent model classic.colorgrid (8x8 colour grid):
latent files v2, directions, residual edits with masks, morphs, encode metrics, save-latents."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from imgedit import load_model
from imgedit.cli import app
from imgedit.errors import InputError
from imgedit.latent import (LATENT_SUFFIX, check_latent, load_latent, read_latent, save_direction, save_latent,
                            weights_fingerprint)

M = "classic.colorgrid"


def _cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _save(path: Path, arr: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((np.clip(arr, 0, 1) * 255 + 0.5).astype(np.uint8)).save(path)
    return path


def _split_images(folder: Path, n: int, bright_left: bool, seed: int, size: int = 48) -> list[Path]:
    """Noisy images brighter on the left (or on the right): a labelled attribute."""
    rng = np.random.default_rng(seed)
    out = []
    ramp = np.linspace(0.8, 0.2, size)[None, :, None] if bright_left else np.linspace(0.2, 0.8, size)[None, :, None]
    for i in range(n):
        img = np.clip(ramp + rng.normal(0, 0.08, (size, size, 3)) + rng.uniform(-0.1, 0.1), 0, 1)
        out.append(_save(folder / f"img{i:02d}.png", img))
    return out


# ---- latent files ---------------------------------------------------------------------------
def test_latent_file_v2_round_trip_kinds_and_weights_check(tmp_path):
    z = torch.randn(3, 8, 8)
    p = tmp_path / "a.latent.safetensors"
    save_latent(p, z, model="m1", source="a.png", weights_sha256="ab" * 32, extras={"logvar": torch.ones(3, 8, 8)})
    lf = read_latent(p)
    assert torch.equal(lf.latent, z) and lf.kind == "latent" and lf.weights_sha256 == "ab" * 32
    assert torch.equal(lf.extras["logvar"], torch.ones(3, 8, 8))
    back, meta = load_latent(p, model="m1", weights_sha256="ab" * 32)
    assert torch.equal(back, z) and meta["format"] == "imgedit-latent-2"
    with pytest.raises(InputError, match="retrained"):
        load_latent(p, model="m1", weights_sha256="cd" * 32)
    with pytest.raises(InputError, match="not 'm2'"):
        load_latent(p, model="m2")
    d = tmp_path / "b.direction.safetensors"
    save_direction(d, z[0], model="m1", weights_sha256="", source="test", method="mean")
    with pytest.raises(InputError, match="direction file, not a latent"):
        load_latent(d, model="m1")
    assert read_latent(d).meta["method"] == "mean"


def test_latent_file_v1_still_reads(tmp_path):
    from safetensors.torch import save_file

    p = tmp_path / "old.latent.safetensors"
    save_file({"latent": torch.zeros(3, 8, 8)}, str(p), metadata={"format": "imgedit-latent-1", "model": M,
                                                                  "source": "x.png"})
    lf = read_latent(p)
    assert lf.kind == "latent" and lf.weights_sha256 == ""
    check_latent(p, lf, model=M, weights_sha256="ef" * 32)  # v1 has no fingerprint: not refused


def test_weights_fingerprint_one_and_several_files():
    from imgedit.api import Capability, ModelSpec, WeightFile

    one = ModelSpec("x", "x", "a:b", (Capability.EDIT,), weights=(WeightFile("w", "w.safetensors", "a" * 64),))
    two = ModelSpec("x", "x", "a:b", (Capability.EDIT,), weights=(WeightFile("w", "w.safetensors", "a" * 64),
                                                                 WeightFile("v", "v.safetensors", "b" * 64)))
    assert weights_fingerprint(one) == "a" * 64
    assert len(weights_fingerprint(two)) == 64 and weights_fingerprint(two) not in ("a" * 64, "b" * 64)


# ---- directions and edits -------------------------------------------------------------------
@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    root = tmp_path_factory.mktemp("labelled")
    _split_images(root / "left", 12, True, seed=1)
    _split_images(root / "right", 12, False, seed=2)
    _split_images(root / "test_right", 6, False, seed=3)
    _split_images(root / "held_left", 10, True, seed=4)
    _split_images(root / "held_right", 10, False, seed=5)
    return root


def _held_aside_classifier(root: Path):
    """Logistic regression on 8x8 thumbnails of a held-aside labelled set (not the folders the
    direction was made from)."""
    def load(folder):
        return torch.stack([torch.from_numpy(np.asarray(Image.open(f).convert("RGB").resize((8, 8)),
                                                        dtype=np.float32) / 255).flatten() for f in sorted(folder.iterdir())])

    x = torch.cat([load(root / "held_left"), load(root / "held_right")])
    y = torch.cat([torch.ones(10), torch.zeros(10)])
    w = torch.zeros(x.shape[1], requires_grad=True)
    opt = torch.optim.Adam([w], lr=0.05)
    for _ in range(300):
        opt.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(x @ w, y).backward()
        opt.step()
    w = w.detach()
    return lambda imgs: (torch.nn.functional.interpolate(imgs, size=(8, 8), mode="area").permute(0, 2, 3, 1)
                         .flatten(1) @ w)


@pytest.mark.parametrize("method", ["mean", "classifier"])
def test_direction_from_labelled_folders_moves_a_held_aside_classifier(labelled, tmp_path, method):
    out = tmp_path / "left.direction.safetensors"
    r = _cli("directions", "-m", M, "--positive", labelled / "left", "--negative", labelled / "right", out,
             "--method", method, "--json")
    assert r.exit_code == 0, r.output
    rec = json.loads(r.stdout.strip().splitlines()[-1])
    assert rec["positive"] == 12 and rec["negative"] == 12 and rec["separation"] == 1.0
    classify = _held_aside_classifier(labelled)
    m = load_model(M)
    x = torch.cat([torch.from_numpy(np.asarray(Image.open(f).convert("RGB"), dtype=np.float32) / 255)
                   .permute(2, 0, 1)[None] for f in sorted((labelled / "test_right").iterdir())])
    before = classify(x)
    after = classify(m.edit(x, direction=[f"{out}:1.5"]))
    assert (after > before).all(), (before, after)
    assert (after > 0).float().mean() >= 0.8  # the edit flips the class
    assert (classify(m.edit(x, direction=[f"{out}:-1"])) < before).all()  # the sign means what it says


def test_strength_zero_returns_the_reconstruction_and_residual_keeps_the_image(labelled, tmp_path):
    out = tmp_path / "d.direction.safetensors"
    assert _cli("directions", "-m", M, "--positive", labelled / "left", "--negative", labelled / "right", out).exit_code == 0
    m = load_model(M)
    x = torch.rand(2, 3, 40, 56)
    rec = m.generate(m.encode(x), size=56)
    decoded = m.edit(x, direction=[f"{out}:0"], residual=False, size=56)
    assert torch.allclose(decoded[..., :40, :], torch.nn.functional.interpolate(rec, size=(40, 56), mode="bilinear",
                                                                               align_corners=False, antialias=True), atol=1e-5)
    assert torch.equal(m.edit(x, direction=[f"{out}:0"]), x)  # residual: no change, not a blurry decode
    edited = m.edit(x, direction=[f"{out}:1"])
    assert edited.shape == x.shape and not torch.equal(edited, x)


def test_residual_edit_leaves_pixels_outside_the_mask_unchanged(labelled, tmp_path):
    d = tmp_path / "d.direction.safetensors"
    assert _cli("directions", "-m", M, "--positive", labelled / "left", "--negative", labelled / "right", d).exit_code == 0
    photo = _save(tmp_path / "in" / "photo.png", np.random.default_rng(0).random((60, 80, 3)))
    mask = np.zeros((60, 80, 3))
    mask[:, 40:] = 1.0
    mask_path = _save(tmp_path / "mask.png", mask)
    r = _cli("edit", "-m", M, photo, tmp_path / "out", "--direction", f"{d}:2", "--mask", mask_path)
    assert r.exit_code == 0, r.output
    a = np.asarray(Image.open(photo))
    b = np.asarray(Image.open(tmp_path / "out" / "photo.png"))
    assert b.shape == a.shape  # the photo keeps its resolution
    assert np.array_equal(a[:, :40], b[:, :40])
    assert np.abs(a[:, 40:].astype(int) - b[:, 40:]).mean() > 2


def test_unknown_direction_name_and_missing_file_are_one_line_usage_errors(tmp_path):
    photo = _save(tmp_path / "p.png", np.full((16, 16, 3), 0.5))
    r = _cli("edit", "-m", M, photo, tmp_path / "o", "--direction", "smile:1")
    assert r.exit_code == 2 and "no direction 'smile'" in r.output
    r = _cli("edit", "-m", M, photo, tmp_path / "o", "--direction", "nope/x.direction.safetensors:1")
    assert r.exit_code == 2 and "not found" in r.output


def test_direction_of_another_model_is_refused(tmp_path):
    d = tmp_path / "x.direction.safetensors"
    save_direction(d, torch.zeros(3, 8, 8), model="gan.other", weights_sha256="", source="t", method="mean")
    photo = _save(tmp_path / "p.png", np.full((16, 16, 3), 0.5))
    r = _cli("edit", "-m", M, photo, tmp_path / "o", "--direction", f"{d}:1")
    assert r.exit_code == 2 and "gan.other" in r.output


def test_pca_directions_are_written_and_usable(tmp_path):
    r = _cli("directions", "-m", M, "--pca", "3", "--samples", "60", tmp_path / "pcs", "-o", "size=32")
    assert r.exit_code == 0, r.output
    files = sorted((tmp_path / "pcs").iterdir())
    assert [f.name for f in files] == [f"pc{k}.direction.safetensors" for k in range(3)]
    vecs = [read_latent(f).latent for f in files]
    assert all(v.shape == (3, 8, 8) and v.norm() > 0 for v in vecs)
    x = torch.rand(1, 3, 32, 32)
    assert not torch.equal(load_model(M).edit(x, direction=[f"{files[0]}:2"]), x)


# ---- morph ------------------------------------------------------------------------------------
def test_morph_writes_the_frame_count_and_its_ends_are_the_reconstructions(tmp_path):
    rng = np.random.default_rng(1)
    a = _save(tmp_path / "a.png", rng.random((32, 32, 3)))
    b = _save(tmp_path / "b.png", rng.random((32, 32, 3)))
    c = _save(tmp_path / "c.png", rng.random((32, 32, 3)))
    r = _cli("morph", "-m", M, a, b, c, tmp_path / "frames", "-c", "4", "-o", "size=32", "--json")
    assert r.exit_code == 0, r.output
    frames = sorted((tmp_path / "frames").glob("*.png"))
    assert len(frames) == 4 * 2 + 1
    m = load_model(M)

    def rec(p):
        x = torch.from_numpy(np.asarray(Image.open(p).convert("RGB"), dtype=np.float32) / 255).permute(2, 0, 1)[None]
        return (m.generate(m.encode(x), size=32)[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)

    assert np.abs(np.asarray(Image.open(frames[0])).astype(int) - rec(a)).max() <= 1
    assert np.abs(np.asarray(Image.open(frames[-1])).astype(int) - rec(c)).max() <= 1
    assert np.abs(np.asarray(Image.open(frames[4])).astype(int) - rec(b)).max() <= 1
    # a video, and a rerun skips it
    r = _cli("morph", "-m", M, a, b, tmp_path / "m.mp4", "-c", "5", "-o", "size=32", "--fps", "10")
    assert r.exit_code == 0, r.output
    from imgedit.io.video import probe_video

    assert probe_video(tmp_path / "m.mp4").frame_count == 6
    r = _cli("morph", "-m", M, a, b, tmp_path / "m.mp4", "-c", "5", "-o", "size=32")
    assert r.exit_code == 0 and "skipped" in r.output


def test_morph_with_a_bad_image_fails_in_one_line(tmp_path):
    a = _save(tmp_path / "a.png", np.full((16, 16, 3), 0.2))
    bad = tmp_path / "b.png"
    bad.write_bytes(b"not an image")
    r = _cli("morph", "-m", M, a, bad, tmp_path / "out")
    assert r.exit_code == 1 and "b.png" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "out").exists()


# ---- encode / generate -------------------------------------------------------------------------
def test_encode_reports_reconstruction_quality(tmp_path):
    photo = _save(tmp_path / "in" / "p.png", np.random.default_rng(2).random((64, 64, 3)) * 0.2 + 0.4)
    r = _cli("encode", "-m", M, tmp_path / "in", tmp_path / "lat", "--json", "-o", "size=64")
    assert r.exit_code == 0, r.output
    rec = json.loads(r.stdout.splitlines()[0])
    assert rec["psnr"] > 15 and 0 <= rec["perceptual"] < 4
    r = _cli("encode", "-m", M, photo, tmp_path / "lat2", "-v")
    assert "dB PSNR" in r.output


def test_generate_save_latents_and_latent_trees(tmp_path):
    r = _cli("generate", "-m", M, tmp_path / "gen", "-c", "2", "--save-latents", "-o", "size=16")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "gen" / f"seed000000{LATENT_SUFFIX}").is_file()
    # latents of a/x and b/x keep their tree when decoded (they collided before)
    for sub in ("a", "b"):
        save_latent(tmp_path / "lat" / sub / f"x{LATENT_SUFFIX}", torch.rand(3, 8, 8), model=M)
    r = _cli("generate", "-m", M, tmp_path / "dec", "--latents", tmp_path / "lat", "-o", "size=16")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "dec" / "a" / "x.png").is_file() and (tmp_path / "dec" / "b" / "x.png").is_file()
    # the saved latent decodes to the same image
    r = _cli("generate", "-m", M, tmp_path / "again", "--latents", tmp_path / "gen", "-o", "size=16")
    assert r.exit_code == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "again" / "seed000000.png")),
                          np.asarray(Image.open(tmp_path / "gen" / "seed000000.png")))


def test_parse_direction_strengths_are_signed_and_paths_keep_colons():
    from imgedit.api import OptionError, parse_direction

    assert parse_direction("bold:1.5") == ("bold", 1.5)
    assert parse_direction("italic:-0.5") == ("italic", -0.5)
    assert parse_direction("bold") == ("bold", 1.0)
    assert parse_direction("C:/d/x.direction.safetensors:2") == ("C:/d/x.direction.safetensors", 2.0)
    assert parse_direction("C:/d/x.direction.safetensors") == ("C:/d/x.direction.safetensors", 1.0)
    with pytest.raises(OptionError):
        parse_direction("bold:inf")


def test_review_edge_cases_are_one_line_usage_errors(tmp_path):
    a = _save(tmp_path / "a.png", np.full((16, 16, 3), 0.3))
    b = _save(tmp_path / "b.png", np.full((16, 16, 3), 0.7))
    r = _cli("morph", "-m", M, a, b, tmp_path / "out.png")
    assert r.exit_code == 2 and "image name" in r.output and not (tmp_path / "out.png").exists()
    r = _cli("directions", "-m", M, "--pca", "12", "--samples", "10", tmp_path / "pcs")
    assert r.exit_code == 2 and "--samples" in r.output
    r = _cli("edit", "-m", M, a, tmp_path / "e")
    assert r.exit_code == 2 and "--direction" in r.output and not (tmp_path / "e").exists()
    r = _cli("edit", "-m", M, a, tmp_path / "e", "-o", "residual=false")
    assert r.exit_code == 0  # the reconstruction, asked for
    d = tmp_path / "d.direction.safetensors"
    save_direction(d, torch.zeros(3, 8, 8), model=M, weights_sha256="", source="t", method="mean")
    r = _cli("edit", "-m", M, a, b, tmp_path / "m", "-d", f"{d}:1", "-o", "mask=missing.png")
    assert r.exit_code == 2 and "missing.png" in r.output and r.output.count("missing.png") == 1


def test_generate_latent_name_collisions_and_save_latents_rerun(tmp_path):
    for sub in ("a", "b"):
        save_latent(tmp_path / sub / f"x{LATENT_SUFFIX}", torch.rand(3, 8, 8), model=M)
    r = _cli("generate", "-m", M, tmp_path / "dec", "-l", tmp_path / "a", "-l", tmp_path / "b", "-o", "size=16", "--json")
    assert r.exit_code == 1
    recs = [json.loads(line) for line in r.stdout.splitlines()]
    assert sorted(x["status"] for x in recs[:-1]) == ["done", "failed"]
    failed = next(x for x in recs if x.get("status") == "failed")
    assert "same output" in failed["reason"] and failed["input"].endswith(f"b/x{LATENT_SUFFIX}")
    # a rerun with --save-latents adds the missing latents and keeps the images
    assert _cli("generate", "-m", M, tmp_path / "g", "-c", "2", "-o", "size=16").exit_code == 0
    before = (tmp_path / "g" / "seed000000.png").stat().st_mtime_ns
    r = _cli("generate", "-m", M, tmp_path / "g", "-c", "2", "-o", "size=16", "--save-latents")
    assert r.exit_code == 0 and (tmp_path / "g" / f"seed000001{LATENT_SUFFIX}").is_file()
    assert (tmp_path / "g" / "seed000000.png").stat().st_mtime_ns == before
    r = _cli("generate", "-m", M, tmp_path / "g", "-c", "2", "-o", "size=16", "--save-latents")
    assert "2 skipped" in r.output


def test_unusable_user_model_records_are_reported_not_fatal(tmp_path, monkeypatch):
    from imgedit import registry
    from imgedit.usermodels import write_record

    monkeypatch.setenv("IMGEDIT_MODELS_DIR", str(tmp_path))
    (tmp_path / "notes.json").write_text("[1, 2]")
    write_record(tmp_path, name="classic.MyGrid", base="classic.colorgrid", weight="w", sha256="a" * 64)
    registry.reload()
    try:
        r = _cli("models")
        assert r.exit_code == 0 and "classic.colorgrid" in r.output
        assert "notes.json" in r.output and "lowercase" in r.output
        r = _cli("generate", "-m", "classic.MyGrid", tmp_path / "o")
        assert r.exit_code == 2 and "lowercase" in r.output
        r = _cli("generate", "-m", tmp_path / "nope.safetensors", tmp_path / "o")
        assert r.exit_code == 2 and "not found" in r.output
    finally:
        monkeypatch.undo()
        registry.reload()


def test_edit_warns_when_an_image_is_far_from_what_the_model_knows(tmp_path):
    """An image the model reconstructs below 10 dB gets a note on its line (and in --json): its
    edit moves the model's idea of it. An image it reconstructs well gets none."""
    x = np.linspace(0, 1, 48)
    _save(tmp_path / "in" / "smooth.png", np.stack([x[None, :].repeat(48, 0)] * 3, -1))
    checker = ((np.indices((48, 48)).sum(0) % 2)[..., None] * np.ones(3)).astype(float)
    _save(tmp_path / "in" / "checker.png", checker)          # 1-px detail an 8x8 grid cannot hold
    r = _cli("edit", "-m", M, tmp_path / "in", tmp_path / "out", "-o", "residual=false", "--json")
    assert r.exit_code == 0, r.output
    rows = {Path(j["input"]).name: j for j in map(json.loads, r.stdout.splitlines()) if j.get("input")}
    (note,) = rows["checker.png"]["warnings"]
    assert note.startswith("far from what classic.colorgrid was trained on (it reconstructs this image at ")
    assert "dB PSNR): the edit may not fit it" in note
    assert not rows["smooth.png"].get("warnings")
    r = _cli("edit", "-m", M, tmp_path / "in" / "checker.png", tmp_path / "out2", "-o", "residual=false")
    assert r.exit_code == 0 and "far from what classic.colorgrid was trained on" in r.output


def test_paired_directions_see_through_what_the_examples_share():
    """Positives of an attribute mostly from one family (a family offset the plain mean difference
    takes for the attribute): pairing within a family and the other attributes recovers the
    attribute's own vector; without pairs the plain mean difference is used."""
    import torch

    from imgedit.directions import directions_from_labels, paired_difference

    g = torch.Generator().manual_seed(0)
    attr_vec, fam_vec = torch.tensor([1.0, 0, 0, 0]), torch.tensor([0, 0, 3.0, 0])
    rows, lat = [], []
    for fam, n_pos, n_neg in (("A", 6, 1), ("B", 1, 6)):
        for char in "xyz":
            for k in range(n_pos + n_neg):
                bold = int(k < n_pos)
                rows.append({"family": fam, "char": char, "bold": str(bold), "italic": "0"})
                lat.append(bold * attr_vec + (fam == "A") * fam_vec + 0.01 * torch.randn(4, generator=g))
    lat = torch.stack(lat)
    plain = directions_from_labels(lat, rows, ["bold", "italic"])
    paired = directions_from_labels(lat, rows, ["bold", "italic"], pair_by=("family", "char"))
    assert (plain["bold"] - attr_vec).norm() > 1.0                      # the family offset leaks in
    assert torch.allclose(paired["bold"], attr_vec, atol=0.05)
    assert paired_difference(lat, rows, "bold", ["bold", "italic"], ("family", "char"))[1] == 6
    assert "italic" not in paired                                       # no positives: no direction
    solo = [dict(r, family=f"{r['family']}{i}") for i, r in enumerate(rows)]  # no two rows share a family
    assert torch.equal(directions_from_labels(lat, solo, ["bold"], pair_by=("family",))["bold"], plain["bold"])
