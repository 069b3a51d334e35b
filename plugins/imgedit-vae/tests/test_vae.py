"""imgedit-vae: networks, the loss by hand, training (loss falls, exact resume), reconstruction,
directions, edits, latent files, user models."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from imgedit import load_model, registry
from imgedit.cli import app
from imgedit_vae import train
from imgedit_vae.net import Decoder, Encoder, kl_divergence, reparameterize, to_rgb, vae_loss
from vae_helpers import HELD_CHARS, TRAIN_CHARS, tiny_args


def _cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1 / (a - b).pow(2).mean()))


def _folder(root: Path, chars: str) -> torch.Tensor:
    """(N,3,64,64) glyphs of ``chars`` from a rendered folder."""
    imgs = [np.asarray(Image.open(root / f"{ord(c):03d}.png").convert("RGB"), dtype=np.float32) / 255 for c in chars]
    return torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).contiguous()


# -- networks and loss -------------------------------------------------------------------------------
def test_network_shapes():
    e, d = Encoder(16, 8, 3), Decoder(16, 8, 3)
    x = torch.rand(5, 3, 64, 64)
    mu, logvar = e(x)
    assert mu.shape == logvar.shape == (5, 16)
    out = d(mu)
    assert out.shape == (5, 3, 64, 64) and out.min() >= 0 and out.max() <= 1
    gray_e, gray_d = Encoder(8, 8, 1), Decoder(8, 8, 1)
    mu, _ = gray_e(x)
    g = gray_d(mu)
    assert g.shape == (5, 1, 64, 64)
    rgb = to_rgb(g)
    assert rgb.shape == (5, 3, 64, 64) and torch.equal(rgb[:, 0], rgb[:, 2])
    z = reparameterize(torch.zeros(4, 8), torch.zeros(4, 8), torch.Generator().manual_seed(0))
    assert torch.equal(z, reparameterize(torch.zeros(4, 8), torch.zeros(4, 8), torch.Generator().manual_seed(0)))


def test_kl_by_hand():
    mu = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    logvar = torch.tensor([[0.0, math.log(2.0)], [0.0, 0.0]])
    # image 1: (1 + 1 - 1 - 0)/2 + (0 + 2 - 1 - ln 2)/2; image 2: 0 + (4 + 1 - 1 - 0)/2 = 2
    first = 0.5 + 0.5 * (1 - math.log(2.0))
    assert kl_divergence(mu, logvar).item() == pytest.approx((first + 2.0) / 2, abs=1e-6)
    assert kl_divergence(torch.zeros(3, 5), torch.zeros(3, 5)).item() == 0.0   # the prior itself
    # and against torch.distributions on random values: summed over dims, averaged over the batch
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(4, 6, generator=g), torch.randn(4, 6, generator=g)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros(4, 6), torch.ones(4, 6))
    ref = torch.distributions.kl_divergence(q, p).sum(1).mean()
    assert kl_divergence(mu, logvar).item() == pytest.approx(ref.item(), rel=1e-5)


def test_reconstruction_terms_by_hand():
    target = torch.tensor([[[[0.0, 1.0], [0.5, 0.5]]], [[[1.0, 1.0], [1.0, 1.0]]]])   # (2,1,2,2)
    rec = torch.tensor([[[[0.5, 1.0], [0.5, 0.0]]], [[[1.0, 1.0], [1.0, 0.0]]]])
    mu, logvar = torch.tensor([[1.0, 0.0]] * 2), torch.zeros(2, 2)                       # KL 0.5 each
    loss, terms = vae_loss(rec, target, mu, logvar, beta=0.25)
    # squared errors: image 1: .25 + 0 + 0 + .25 = .5, image 2: 1 -> per-pixel mean .75 / 4
    assert terms["mse"] == pytest.approx(0.75 / 4)
    assert terms["kl"] == pytest.approx(0.5)
    # the per-image summed squared error (mean over the batch: .75) + beta * KL
    assert loss.item() == pytest.approx(0.75 + 0.25 * 0.5)
    assert "perceptual" not in terms


def test_perceptual_term_is_on_the_per_pixel_scale():
    from imgedit.perceptual import perceptual_distance

    g = torch.Generator().manual_seed(1)
    target, rec = torch.rand(2, 3, 32, 32, generator=g), torch.rand(2, 3, 32, 32, generator=g)
    mu, logvar = torch.zeros(2, 4), torch.zeros(2, 4)
    loss, terms = vae_loss(rec, target, mu, logvar, beta=1.0, perceptual=0.5)
    d = perceptual_distance(rec, target).mean().item()
    assert terms["perceptual"] == pytest.approx(d, rel=1e-5)
    mse = (rec - target).pow(2).mean().item()
    assert loss.item() == pytest.approx(3 * 32 * 32 * (mse + 0.5 * d), rel=1e-5)
    # a gray model's perceptual term sees its one channel as RGB
    _, gray = vae_loss(rec[:, :1], target[:, :1], mu, logvar, perceptual=1.0)
    assert gray["perceptual"] == pytest.approx(perceptual_distance(to_rgb(rec[:, :1]), to_rgb(target[:, :1])).mean().item(), rel=1e-5)


def test_beta_warms_up_linearly_from_zero(vae_glyphs, tmp_path):
    tr = train.VaeTrainer(train.parse(tiny_args(vae_glyphs, tmp_path / "w", 10, "--beta", "4", "--beta-warmup", "8")),
                          log=lambda m: None)
    assert [tr.beta_at(s) for s in (0, 2, 4, 8, 100)] == [0.0, 1.0, 2.0, 4.0, 4.0]
    tr = train.VaeTrainer(train.parse(tiny_args(vae_glyphs, tmp_path / "w0", 10, "--beta-warmup", "0")), log=lambda m: None)
    assert tr.beta_at(0) == 1.0


# -- training --------------------------------------------------------------------------------------
def test_training_lowers_the_loss(tiny_vae):
    hist = json.loads((tiny_vae / "state.json").read_text())["history"]
    rows = [h for h in hist if "mse" in h]
    assert rows[0]["mse"] > 4 * rows[-1]["mse"]
    late = [h for h in rows if h["beta"] == 1.0]                    # after the warm-up, the full loss
    assert late[0]["loss"] > 1.5 * late[-1]["loss"]
    assert 0 < rows[-1]["kl"] < 200
    assert "psnr_held" in hist[-1] and (tiny_vae / "preview.jpg").is_file()


def test_resumed_run_continues_exactly(vae_glyphs, tmp_path):
    straight, resumed = tmp_path / "a", tmp_path / "b"
    assert train.main(tiny_args(vae_glyphs, straight, 12)) == 0
    assert train.main(tiny_args(vae_glyphs, resumed, 6)) == 0    # stops after 6 steps
    assert train.main(tiny_args(vae_glyphs, resumed, 12)) == 0   # resumed: 6 more
    from safetensors.torch import load_file

    a, b = load_file(str(straight / "last.safetensors")), load_file(str(resumed / "last.safetensors"))
    assert a.keys() == b.keys() and any(k.startswith("opt.") for k in a)
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, different[:5]


def test_a_run_with_other_sizes_is_refused(vae_glyphs, tmp_path):
    assert train.main(tiny_args(vae_glyphs, tmp_path / "r", 2)) == 0
    with pytest.raises(SystemExit, match="nz"):
        train.main(tiny_args(vae_glyphs, tmp_path / "r", 4) + ["--nz", "8"])


def test_evaluation_records_held_aside_numbers_and_the_fid_like_score(vae_glyphs, tmp_path):
    assert train.main(tiny_args(vae_glyphs, tmp_path / "f", 4, "--eval-every", "2", "--fid-samples", "20")) == 0
    hist = json.loads((tmp_path / "f" / "state.json").read_text())["history"]
    evals = [h for h in hist if "fid" in h]
    assert [h["step"] for h in evals] == [2, 4]
    assert all(h["fid"] > 0 and h["psnr_held"] > 0 and h["perceptual_held"] > 0 for h in evals)


def test_trainer_refuses_bad_names_and_export_without_a_run(vae_glyphs, tmp_path):
    with pytest.raises(SystemExit, match="lowercase"):
        train.main(tiny_args(vae_glyphs, tmp_path / "r", 2) + ["--name", "My Glyphs"])
    with pytest.raises(SystemExit, match="no checkpoint"):
        train.main(tiny_args(vae_glyphs, tmp_path / "never", 2, "--export-only"))
    with pytest.raises(SystemExit, match="eval-every"):
        train.main(tiny_args(vae_glyphs, tmp_path / "r", 2, "--eval-every", "0"))


# -- the model -------------------------------------------------------------------------------------
def test_reconstruction_beats_the_mean_image(tiny_vae, vae_glyphs):
    m = load_model("vae.tiny", precision="fp32")
    chars = TRAIN_CHARS[::3]
    x = torch.cat([_folder(vae_glyphs / "regular", chars), _folder(vae_glyphs / "bold", chars)])
    every = torch.cat([_folder(vae_glyphs / v, TRAIN_CHARS) for v in ("regular", "bold")])
    mean_image = every.mean(0, keepdim=True)
    rec = m.generate(m.encode(x))
    ours = np.mean([_psnr(rec[i], x[i]) for i in range(len(x))])
    baseline = np.mean([_psnr(mean_image[0], x[i]) for i in range(len(x))])
    assert ours > baseline + 3, (ours, baseline)


def test_encode_keeps_the_log_variance_in_the_latent_file(tiny_vae, vae_glyphs, tmp_path):
    from imgedit.latent import read_latent

    src = vae_glyphs / "regular" / "066.png"
    r = _cli("encode", "-m", "vae.tiny", src, tmp_path / "lat", "--json", "--precision", "fp32")
    assert r.exit_code == 0, r.output
    rec = json.loads(r.output.splitlines()[0])
    assert rec["psnr"] > 10 and "perceptual" in rec
    lf = read_latent(tmp_path / "lat" / "066.latent.safetensors")
    m = load_model("vae.tiny", precision="fp32")
    img = torch.from_numpy(np.asarray(Image.open(src).convert("RGB"), dtype=np.float32) / 255).permute(2, 0, 1)[None]
    mu, extras = m.encode_with_extras(img)
    assert lf.latent.shape == (16,) and set(lf.extras) == {"logvar"} and lf.extras["logvar"].shape == (16,)
    assert torch.allclose(lf.latent, mu[0], atol=1e-5) and torch.allclose(lf.extras["logvar"], extras["logvar"][0], atol=1e-5)
    assert torch.equal(m.encode(img), mu)
    assert (lf.extras["logvar"] < 0).any()                       # the posterior is narrower than the prior
    assert _cli("generate", "-m", "vae.tiny", tmp_path / "dec", "--latents", tmp_path / "lat").exit_code == 0
    assert (tmp_path / "dec" / "066.png").is_file()


def test_sampling_is_deterministic_per_seed_and_truncation_shrinks_it(tiny_vae, tmp_path):
    assert _cli("generate", "-m", "vae.tiny", tmp_path / "b1", "-c", "3", "--seed", "5", "-b", "1").exit_code == 0
    assert _cli("generate", "-m", "vae.tiny", tmp_path / "b3", "-c", "3", "--seed", "5", "-b", "3").exit_code == 0
    for i in (5, 6, 7):
        a = np.asarray(Image.open(tmp_path / "b1" / f"seed{i:06d}.png"))
        assert a.shape == (64, 64, 3) and np.array_equal(a, np.asarray(Image.open(tmp_path / "b3" / f"seed{i:06d}.png")))
    m = load_model("vae.tiny", precision="fp32")
    z = m.sample_latents(64, seed=0)
    assert z.shape == (64, 16) and abs(float(z.std()) - 1) < 0.2
    assert torch.allclose(m.sample_latents(4, seed=0, options={"truncation": 0.5}), z[:4] * 0.5)
    assert _cli("generate", "-m", "vae.tiny", tmp_path / "t0", "-c", "2", "-o", "truncation=0").exit_code == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "t0" / "seed000000.png")),
                          np.asarray(Image.open(tmp_path / "t0" / "seed000001.png")))


def _darkness(x: torch.Tensor) -> torch.Tensor:
    """The held-aside 'bold' classifier: mean ink (1 - brightness) per image."""
    return 1 - x.mean((1, 2, 3))


def test_bold_direction_moves_held_aside_glyphs_the_right_way(tiny_vae, vae_held):
    m = load_model("vae.tiny", precision="fp32")
    assert {"bold", "pc0", "pc1"} <= set(m.model.directions())
    regular, bold = _folder(vae_held / "regular", HELD_CHARS), _folder(vae_held / "bold", HELD_CHARS)
    threshold = float((_darkness(regular).mean() + _darkness(bold).mean()) / 2)
    heavier = m.edit(regular, direction=("bold:1",))
    lighter = m.edit(bold, direction=("bold:-1",))
    assert (_darkness(heavier) > _darkness(regular)).all() and (_darkness(lighter) < _darkness(bold)).all()
    # the shift is a good part of the class gap: most cross the classifier's threshold
    assert (_darkness(heavier) > threshold).float().mean() >= 0.75, (_darkness(heavier), threshold)
    assert (_darkness(lighter) < threshold).float().mean() >= 0.75, (_darkness(lighter), threshold)


def test_strength_zero_gives_the_reconstruction(tiny_vae, vae_held):
    from imgedit.latentedit import resize

    m = load_model("vae.tiny", precision="fp32")
    x = resize(_folder(vae_held / "regular", HELD_CHARS[:3]), (80, 80))      # not the model's size
    decoded = m.edit(x, direction=("bold:0",), residual=False)
    assert torch.allclose(decoded, resize(m.generate(m.encode(x)), (80, 80)), atol=1e-6)
    assert torch.equal(m.edit(x, direction=("bold:0",)), x.clamp(0, 1))       # residual: the image itself


def test_morph_runs_through_the_latents(tiny_vae, vae_glyphs, tmp_path):
    a, b = vae_glyphs / "regular" / "065.png", vae_glyphs / "bold" / "066.png"
    r = _cli("morph", "-m", "vae.tiny", a, b, tmp_path / "frames", "-c", "4")
    assert r.exit_code == 0, r.output
    assert len([p for p in (tmp_path / "frames").iterdir() if p.suffix == ".png"]) >= 4


def test_latents_of_another_model_or_other_weights_are_refused(tiny_vae, tmp_path):
    from imgedit.latent import save_latent

    lat = tmp_path / "lat"
    lat.mkdir()
    if "gan.glyphs" in registry.get_registry().models:   # a real GAN latent (imgedit-gan installed)
        assert _cli("generate", "-m", "gan.glyphs", tmp_path / "g", "-c", "1", "--save-latents").exit_code == 0
        gan_latent = tmp_path / "g" / "seed000000.latent.safetensors"
        sha = registry.get_registry().get("gan.glyphs").weights[0].sha256
    else:
        gan_latent, sha = lat / "gan.latent.safetensors", "ab" * 32
        save_latent(gan_latent, torch.zeros(64), model="gan.glyphs", weights_sha256=sha)
    r = _cli("generate", "-m", "vae.tiny", tmp_path / "o1", "--latents", gan_latent)
    assert r.exit_code == 1 and "made by model 'gan.glyphs', not 'vae.tiny'" in r.output, r.output
    # a file that claims vae.tiny but another model's weights (vae.tiny retrained, or edited)
    forged = lat / "forged.latent.safetensors"
    save_latent(forged, torch.zeros(16), model="vae.tiny", weights_sha256=sha)
    r = _cli("generate", "-m", "vae.tiny", tmp_path / "o2", "--latents", forged)
    assert r.exit_code == 1 and "other weights" in r.output and "retrained" in r.output, r.output


def test_user_model_is_listed_and_loaded_by_name_and_by_file(tiny_vae, tmp_path):
    assert "vae.tiny" in _cli("models").output
    models_dir = Path(os.environ["IMGEDIT_MODELS_DIR"])
    file = models_dir / "vae.tiny.safetensors"
    assert file.is_file() and (models_dir / "vae.tiny.md").is_file()
    r = _cli("models", "vae.tiny")
    assert "[ok]" in r.output and "directions (--direction NAME:S): bold, pc0, pc1" in r.output
    assert _cli("generate", "-m", "vae.tiny", tmp_path / "a", "-c", "1").exit_code == 0
    assert _cli("generate", "-m", file, tmp_path / "b", "-c", "1").exit_code == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "a" / "seed000000.png")),
                          np.asarray(Image.open(tmp_path / "b" / "seed000000.png")))
    card = (models_dir / "vae.tiny.md").read_text()
    for text in ("imgedit train vae", "sha256", "Licence", "held-aside", "| VAE (posterior mean) |",
                 "| mean training image |", "h of training"):
        assert text in card, text


def test_base_vae_is_not_a_model(tiny_vae):
    r = _cli("generate", "-m", "vae", "/tmp/never")
    assert r.exit_code != 0 and "base of models you train" in r.output and "vae.tiny" in r.output
    assert "vae " not in _cli("models").output.replace("vae.", "")


def test_conditional_vae_edits_set_the_attribute(vae_glyphs, tmp_path):
    """`--conditional --swap-weight`: the latent is z then one -1/+1 coordinate per attribute; the
    encoder reads it, the decoder obeys it (a regular glyph's z with bold set draws nearer the bold
    glyph than its reconstruction), it is clamped to the trained range, the shipped direction is
    its axis and edits work."""
    assert train.main(tiny_args(vae_glyphs, tmp_path / "run", 300, "--conditional", "--pair-by", "char",
                                "--swap-weight", "1", "--name", "tinya", "--export")) == 0
    registry.reload()
    m = load_model("vae.tinya", precision="fp32").model
    assert m.nz == 17 and m.n_attributes == 1 and m.n_classes == 0
    axis = torch.zeros(17)
    axis[16] = 2.0
    assert torch.equal(m.directions()["bold"], axis)
    regular, bold = _folder(vae_glyphs / "regular", TRAIN_CHARS), _folder(vae_glyphs / "bold", TRAIN_CHARS)
    z, zb = m.encode(regular), m.encode(bold)
    assert (z[:, 16] < 0).float().mean() > 0.8 and (zb[:, 16] > 0).float().mean() > 0.8   # read off the image
    made_bold = z.clone()
    made_bold[:, 16] = 1.0
    assert _psnr(m.generate(made_bold), bold) > _psnr(m.generate(z), bold) + 1.0            # the decoder obeys it
    far = made_bold.clone()
    far[:, 16] = 5.0
    assert torch.equal(m.generate(far), m.generate(made_bold))                            # clamped to -1..+1
    s = m.sample_latents(8, torch.Generator().manual_seed(0))
    assert s.shape == (8, 17) and set(s[:, 16].tolist()) <= {-1.0, 1.0}
    r = _cli("edit", "-m", "vae.tinya", vae_glyphs / "regular" / "065.png", tmp_path / "out", "--direction", "bold:1.5")
    assert r.exit_code == 0 and (tmp_path / "out" / "065.png").is_file(), r.output
    card = (Path(os.environ["IMGEDIT_MODELS_DIR"]) / "vae.tinya.md").read_text()
    assert "the 1 attributes bold as -1/+1 coordinates" in card and "swap reconstruction" in card


def test_conditional_flags_are_checked(vae_glyphs, tmp_path):
    with pytest.raises(SystemExit, match="--swap-weight needs --conditional and --pair-by"):
        train.main(tiny_args(vae_glyphs, tmp_path / "run", 1, "--conditional", "--swap-weight", "1"))


def test_class_conditional_vae_keeps_the_class_out_of_edits(vae_glyphs, tmp_path):
    """`--class-column char`: the latent is z then a one-hot of the letter; the decoder obeys it,
    the encoder reads it, directions and samples keep it a one-hot, and an edit keeps the letter."""
    assert train.main(tiny_args(vae_glyphs, tmp_path / "run", 300, "--class-column", "char", "--name", "tinyc",
                                "--export", "--pca", "2", "--pca-samples", "100")) == 0
    registry.reload()
    m = load_model("vae.tinyc", precision="fp32").model
    nc = len(TRAIN_CHARS)
    assert m.nz == 16 + nc and m.n_classes == nc
    for name, d in m.directions().items():
        assert d.shape == (16 + nc,) and torch.all(d[16:] == 0), name
    z = m.encode(_folder(vae_glyphs / "regular", TRAIN_CHARS))
    assert torch.equal(z[:, 16:].sum(1), torch.ones(nc)) and set(z[:, 16:].unique().tolist()) == {0.0, 1.0}
    read = z[:, 16:].argmax(1)
    truth = torch.tensor([sorted(TRAIN_CHARS).index(c) for c in TRAIN_CHARS])  # classes in sorted order
    assert (read == truth).float().mean() > 0.8                     # the encoder reads the letter
    swapped = z.clone()
    swapped[:, 16:] = torch.roll(swapped[:, 16:], 1, dims=1)        # the same z, the next letter
    assert (m.generate(swapped) - m.generate(z)).abs().mean() > 0.05  # the decoder obeys it
    r = _cli("edit", "-m", "vae.tinyc", vae_glyphs / "regular" / "065.png", tmp_path / "out", "--direction", "bold:1.5")
    assert r.exit_code == 0 and (tmp_path / "out" / "065.png").is_file(), r.output
    s = m.sample_latents(8, torch.Generator().manual_seed(0))
    assert s.shape == (8, 16 + nc) and torch.equal(s[:, 16:].sum(1), torch.ones(8))
    card = (Path(os.environ["IMGEDIT_MODELS_DIR"]) / "vae.tinyc.md").read_text()
    assert f"a one-hot of the {nc} classes of `char`" in card
