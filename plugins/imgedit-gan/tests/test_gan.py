"""imgedit-gan: networks, training (losses fall, exact resume), generate, inversion, user models."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from gan_helpers import tiny_args
from imgedit import load_model, registry
from imgedit.cli import app
from imgedit_gan import train
from imgedit_gan.net import Discriminator, Encoder, Generator, diff_augment


def _cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_network_shapes():
    g, d, e = Generator(32, 8, 3), Discriminator(8, 3), Encoder(32, 8, 1)
    z = torch.randn(5, 32)
    x = g(z)
    assert x.shape == (5, 3, 64, 64) and x.min() >= 0 and x.max() <= 1
    assert d(x).shape == (5,) and e(x).shape == (5, 32)
    gray = Generator(16, 8, 1)(torch.randn(2, 16))
    assert gray.shape == (2, 3, 64, 64) and torch.equal(gray[:, 0], gray[:, 2])
    aug = diff_augment(x, "translation,cutout,color", torch.Generator().manual_seed(0))
    assert aug.shape == x.shape and not torch.equal(aug, x)


def test_diff_augment_is_differentiable_and_reproducible():
    x = torch.rand(3, 3, 64, 64, requires_grad=True)
    a = diff_augment(x, "translation,cutout", torch.Generator().manual_seed(1))
    a.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    b = diff_augment(x.detach(), "translation,cutout", torch.Generator().manual_seed(1))
    assert torch.equal(a.detach(), b)


def test_training_lowers_losses(tiny_model):
    hist = json.loads((tiny_model / "state.json").read_text())["history"]
    gan = [h for h in hist if "d" in h]
    enc = [h for h in hist if "latent" in h and "d" not in h]
    assert gan[0]["d"] > gan[-1]["d"]           # D learns to tell the glyphs from noise
    assert enc[0]["latent"] > 1.5 * enc[-1]["latent"]  # E learns z from G(z)
    assert (tiny_model / "preview.jpg").is_file()


def test_resumed_run_continues_exactly(glyph_set, tmp_path):
    straight, resumed = tmp_path / "a", tmp_path / "b"
    assert train.main(tiny_args(glyph_set, straight, 12, 4)) == 0
    assert train.main(tiny_args(glyph_set, resumed, 6, 0)) == 0   # stops after 6 GAN steps
    assert train.main(tiny_args(glyph_set, resumed, 12, 4)) == 0  # resumed: 6 more + the encoder
    from safetensors.torch import load_file

    a, b = load_file(str(straight / "last.safetensors")), load_file(str(resumed / "last.safetensors"))
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, different[:5]


def test_a_run_with_other_sizes_is_refused(glyph_set, tmp_path):
    assert train.main(tiny_args(glyph_set, tmp_path / "r", 2, 0)) == 0
    with pytest.raises(SystemExit, match="nz"):
        train.main(tiny_args(glyph_set, tmp_path / "r", 4, 0) + ["--nz", "8"])


def test_generate_is_deterministic_per_seed_at_any_batch_size(tiny_model, tmp_path):
    assert _cli("generate", "-m", "gan.tiny", tmp_path / "b1", "-c", "3", "--seed", "5", "-b", "1").exit_code == 0
    assert _cli("generate", "-m", "gan.tiny", tmp_path / "b3", "-c", "3", "--seed", "5", "-b", "3").exit_code == 0
    for i in (5, 6, 7):
        a = np.asarray(Image.open(tmp_path / "b1" / f"seed{i:06d}.png"))
        b = np.asarray(Image.open(tmp_path / "b3" / f"seed{i:06d}.png"))
        assert a.shape == (64, 64, 3) and np.array_equal(a, b)
    other = np.asarray(Image.open(tmp_path / "b1" / "seed000006.png"))
    assert not np.array_equal(other, np.asarray(Image.open(tmp_path / "b1" / "seed000005.png")))
    # truncation 0 is the mean latent: every seed gives the same image
    assert _cli("generate", "-m", "gan.tiny", tmp_path / "t0", "-c", "2", "-o", "truncation=0").exit_code == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "t0" / "seed000000.png")),
                          np.asarray(Image.open(tmp_path / "t0" / "seed000001.png")))


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1 / (a - b).pow(2).mean()))


def test_inverting_a_generated_image_recovers_it():
    """On the shipped gan.glyphs (the tiny test model's samples vary too little to tell)."""
    m = load_model("gan.glyphs", precision="fp32")
    z = m.sample_latents(4, seed=11)
    x = m.generate(z)
    mean_image = m.generate(m.sample_latents(64, seed=100)).mean(0, keepdim=True)
    baseline = np.mean([_psnr(mean_image, x[i:i + 1]) for i in range(4)])
    rec = m.generate(m.encode(x, steps=100))
    inverted = np.mean([_psnr(rec[i:i + 1], x[i:i + 1]) for i in range(4)])
    assert inverted > baseline + 6, (inverted, baseline)
    enc_only = np.mean([_psnr(m.generate(m.encode(x, steps=0))[i:i + 1], x[i:i + 1]) for i in range(4)])
    assert inverted > enc_only  # the optimisation refines the encoder's guess


def test_user_model_is_listed_and_loaded_by_name_and_by_file(tiny_model, tmp_path):
    r = _cli("models")
    assert "gan.tiny" in r.output
    models_dir = Path(os.environ["IMGEDIT_MODELS_DIR"])
    file = models_dir / "gan.tiny.safetensors"
    assert file.is_file() and (models_dir / "gan.tiny.md").is_file()
    r = _cli("models", "gan.tiny")
    assert "[ok]" in r.output
    assert _cli("generate", "-m", "gan.tiny", tmp_path / "a", "-c", "1").exit_code == 0
    assert _cli("generate", "-m", file, tmp_path / "b", "-c", "1").exit_code == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "a" / "seed000000.png")),
                          np.asarray(Image.open(tmp_path / "b" / "seed000000.png")))
    card = (models_dir / "gan.tiny.md").read_text()
    assert "imgedit train gan" in card and "sha256" in card


def test_shipped_directions_edit_real_glyphs_at_their_size(tiny_model, glyph_set, tmp_path):
    m = load_model("gan.tiny")
    assert {"bold", "italic", "pc0", "pc1"} <= set(m.model.directions())
    src = glyph_set / "regular" / "065.png"
    big = tmp_path / "in" / "A.png"
    big.parent.mkdir()
    Image.open(src).resize((128, 128)).save(big)
    r = _cli("edit", "-m", "gan.tiny", big, tmp_path / "out", "--direction", "bold:1.5", "-o", "steps=5")
    assert r.exit_code == 0, r.output
    out = np.asarray(Image.open(tmp_path / "out" / "A.png"))
    assert out.shape == (128, 128)  # a grayscale glyph stays grayscale, at its own size
    r = _cli("edit", "-m", "gan.tiny", big, tmp_path / "o2", "--direction", "heavy:1")
    assert r.exit_code == 2 and "bold" in r.output


def test_latent_of_a_retrained_model_is_refused(tiny_model, glyph_set, tmp_path):
    src = glyph_set / "regular" / "066.png"
    assert _cli("encode", "-m", "gan.tiny", src, tmp_path / "lat", "-o", "steps=2").exit_code == 0
    latent = tmp_path / "lat" / "066.latent.safetensors"
    assert _cli("generate", "-m", "gan.tiny", tmp_path / "dec", "--latents", latent).exit_code == 0
    # retrain (two more encoder steps) and export under the same name
    assert train.main(tiny_args(glyph_set, tiny_model, 150, 152, "--export", "--pca", "2")) == 0
    registry.reload()
    try:
        r = _cli("generate", "-m", "gan.tiny", tmp_path / "dec2", "--latents", latent)
        assert r.exit_code == 1 and "retrained" in r.output
    finally:
        registry.reload()


def test_base_gan_is_not_a_model(tiny_model):
    r = _cli("generate", "-m", "gan", "/tmp/never")
    assert r.exit_code != 0 and "base of models you train" in r.output and "gan.tiny" in r.output
    assert "gan " not in _cli("models").output.replace("gan.", "")


def test_models_lists_the_shipped_directions(tiny_model):
    r = _cli("models", "gan.tiny")
    assert "directions (--direction NAME:S): bold, italic, pc0, pc1" in r.output


def test_trainer_refuses_bad_names_and_export_without_a_run(glyph_set, tmp_path):
    with pytest.raises(SystemExit, match="lowercase"):
        train.main(tiny_args(glyph_set, tmp_path / "r", 2, 0)[:4] + ["--name", "My Fonts", "--out", str(tmp_path / "r")])
    with pytest.raises(SystemExit, match="no checkpoint"):
        train.main(tiny_args(glyph_set, tmp_path / "never", 2, 0) + ["--export-only"])
    with pytest.raises(SystemExit, match="fid-every"):
        train.main(tiny_args(glyph_set, tmp_path / "r", 2, 0) + ["--fid-every", "0"])


def test_conditional_run_puts_the_attributes_in_the_latent(glyph_set, tmp_path):
    """--conditional: the latent ends with one -1/+1 coordinate per attribute; the shipped
    direction of an attribute is its axis; sampling draws the coordinates from the data's
    combinations; the record carries the latent shape; a resumed run continues exactly."""
    models = Path(os.environ["IMGEDIT_MODELS_DIR"])
    args = tiny_args(glyph_set, tmp_path / "c", 8, 4, "--conditional", "--aux-after", "2", "--name", "tinyc")
    assert train.main(tiny_args(glyph_set, tmp_path / "h", 4, 0, "--conditional", "--aux-after", "2", "--name", "tinyc")) == 0
    assert train.main(tiny_args(glyph_set, tmp_path / "h", 8, 4, "--conditional", "--aux-after", "2", "--name", "tinyc")) == 0
    assert train.main([*args, "--export"]) == 0
    from safetensors.torch import load_file

    a, b = load_file(str(tmp_path / "c" / "last.safetensors")), load_file(str(tmp_path / "h" / "last.safetensors"))
    assert [k for k in a if not torch.equal(a[k], b[k])] == []
    w = load_file(str(models / "gan.tinyc.safetensors"))
    assert w["G.net.0.weight"].shape[0] == 18                      # nz 16 + bold, italic
    assert torch.equal(w["direction.bold"].float(), torch.tensor([0.0] * 16 + [2.0, 0.0]))
    assert torch.equal(w["direction.italic"].float(), torch.tensor([0.0] * 17 + [2.0]))
    assert w["prior.attributes"].shape == (4, 2)                   # regular, bold, italic, bold italic
    assert registry.reload().get("gan.tinyc").latent_shape == (18,)
    assert "latent shape: (18,)" in _cli("models", "gan.tinyc").output
    m = load_model("gan.tinyc", precision="fp32")
    z = m.model.sample_latents(64, torch.Generator().manual_seed(0), truncation=0.5)
    assert z.shape == (64, 18) and set(z[:, 16:].flatten().tolist()) == {-1.0, 1.0}
    assert m.model.generate(z[:3]).shape == (3, 3, 64, 64)




def test_generator_starts_as_a_conditional_vae_decoder(glyph_set, tmp_path):
    """--init-from a VAE (`train vae --conditional`): G is its decoder (the same images from the
    same latents: z, then the attributes), E starts fresh; a VAE of another latent is refused."""
    vae_train = pytest.importorskip("imgedit_vae.train")
    common = ["--data", str(glyph_set), "--labels", str(glyph_set / "labels.csv"), "--nz", "16", "--nef", "8",
              "--ngf", "8", "--batch", "8", "--gray", "--fid-samples", "0", "--eval-every", "100",
              "--preview-every", "100", "--export"]
    assert vae_train.main([*common, "--name", "tinycond", "--out", str(tmp_path / "v"), "--steps", "5",
                           "--conditional"]) == 0
    assert vae_train.main([*common, "--name", "tinyplain", "--out", str(tmp_path / "w"), "--steps", "1"]) == 0
    registry.reload()
    vae = load_model("vae.tinycond", precision="fp32").model
    tr = train.GanTrainer(train.parse(tiny_args(glyph_set, tmp_path / "g", 2, 0, "--conditional",
                                                "--init-from", "vae.tinycond")), log=lambda m: None)
    z = torch.cat([torch.randn(4, 16), torch.tensor([[1.0, -1.0], [-1.0, 1.0], [1.0, 1.0], [-1.0, -1.0]])], 1)
    tr.G.eval()
    with torch.no_grad():
        assert torch.allclose(tr.G(z), vae.generate(z), atol=1e-5)
    with pytest.raises(SystemExit, match="its latent is 16 .0 attributes"):
        train.GanTrainer(train.parse(tiny_args(glyph_set, tmp_path / "h", 2, 0, "--conditional",
                                               "--init-from", "vae.tinyplain")), log=lambda m: None)


def test_conditional_fine_tune_of_a_trained_model(glyph_set, tiny_model, tmp_path):
    """--init-from a trained model: attribute inputs start as the base's directions, so step 0
    draws the base's images moved along them (-1 -> +1 = one step); --tune attributes trains only those inputs (the
    rest of G stays the base's); --keep char pairs each sample with an attribute-flipped twin and
    logs the letter loss; a resumed run continues exactly; the export is a conditional model."""
    from safetensors.torch import load_file

    base = load_model("gan.tiny", precision="fp32").model
    extra = ("--conditional", "--keep", "char", "--init-from", "gan.tiny", "--tune", "attributes",
             "--d-warmup", "2", "--aux-after", "0", "--name", "tinyft")
    args = train.parse(tiny_args(glyph_set, tmp_path / "s", 6, 2, *extra))
    tr = train.GanTrainer(args, log=lambda m: None)
    z = torch.randn(4, 16)
    tr.G.eval()
    d = base.directions()
    for attrs in ([-1.0, -1.0], [1.0, -1.0], [2.5, 1.0]):
        zc = torch.cat([z, torch.tensor([attrs] * 4)], 1)
        moved = z + 0.5 * (attrs[0] * d["bold"] + attrs[1] * d["italic"])
        with torch.no_grad():
            assert torch.allclose(tr.G(zc), base.G(moved), atol=1e-5)
    assert train.main(tiny_args(glyph_set, tmp_path / "a", 6, 2, *extra)) == 0
    assert train.main(tiny_args(glyph_set, tmp_path / "b", 3, 0, *extra)) == 0
    assert train.main(tiny_args(glyph_set, tmp_path / "b", 6, 2, *extra, "--export")) == 0
    a, b = load_file(str(tmp_path / "a" / "last.safetensors")), load_file(str(tmp_path / "b" / "last.safetensors"))
    assert [k for k in a if not torch.equal(a[k], b[k])] == []
    assert {"keep_real", "cls_real"} <= set(tr.gan_step(0)) and "g" not in tr.gan_step(1)   # G frozen: warm-up
    assert {"keep_fake", "cls_fake", "g"} <= set(tr.gan_step(2))
    own = {k: v for k, v in base.G.state_dict().items()}
    for key, v in own.items():
        got = a[f"G.{key}"].float()
        if key == "net.0.weight":
            assert torch.equal(got[:16], v) and got[16:].abs().sum() > 0     # only the attribute rows moved
        else:
            assert torch.equal(got, v.float()), key
    w = load_file(str(Path(os.environ["IMGEDIT_MODELS_DIR"]) / "gan.tinyft.safetensors"))
    assert w["G.net.0.weight"].shape[0] == 18 and "prior.attributes" in w
    with pytest.raises(SystemExit, match="--keep needs --conditional"):
        train.GanTrainer(train.parse(tiny_args(glyph_set, tmp_path / "x", 2, 0, "--keep", "char")), log=lambda m: None)
    with pytest.raises(SystemExit, match="no such column"):
        train.GanTrainer(train.parse(tiny_args(glyph_set, tmp_path / "x", 2, 0, "--conditional", "--keep", "font")),
                         log=lambda m: None)


def test_class_conditional_run_keeps_the_class_out_of_edits(glyph_set, tmp_path):
    """--class-column char: the latent ends with a one-hot of the letter, D is a projection
    discriminator that reads the class, a resumed run continues exactly; the export samples
    one-hot classes, the encoder's class part is snapped to a one-hot and left alone by the
    inversion, and every direction is zero on the class part (an edit cannot change the letter)."""
    from safetensors.torch import load_file

    extra = ("--class-column", "char", "--name", "tinyk", "--direction-steps", "2")
    assert train.main(tiny_args(glyph_set, tmp_path / "a", 6, 3, *extra)) == 0
    assert train.main(tiny_args(glyph_set, tmp_path / "b", 3, 0, *extra)) == 0
    assert train.main(tiny_args(glyph_set, tmp_path / "b", 6, 3, *extra, "--export")) == 0
    a, b = load_file(str(tmp_path / "a" / "last.safetensors")), load_file(str(tmp_path / "b" / "last.safetensors"))
    assert [k for k in a if not torch.equal(a[k], b[k])] == []
    assert any(k.startswith("D.embed") for k in a)                   # the projection's class embedding
    w = load_file(str(Path(os.environ["IMGEDIT_MODELS_DIR"]) / "gan.tinyk.safetensors"))
    nc = 62
    assert w["G.net.0.weight"].shape[0] == 16 + nc and w["prior.classes"].shape == (nc,)
    for name in ("bold", "italic"):
        d = w[f"direction.{name}"].float()
        assert d[16:].abs().sum() == 0 and d[:16].abs().sum() > 0
    registry.reload()
    m = load_model("gan.tinyk", precision="fp32").model
    z = m.sample_latents(8, torch.Generator().manual_seed(0))
    assert z.shape == (8, 16 + nc) and torch.equal(z[:, 16:].sum(1), torch.ones(8))
    assert set(z[:, 16:].flatten().tolist()) == {0.0, 1.0}
    x = m.generate(z)
    lat = m.encode(x, steps=3)
    assert torch.equal(lat[:, 16:].sum(1), torch.ones(8)) and set(lat[:, 16:].flatten().tolist()) == {0.0, 1.0}
    assert torch.equal(lat[:, 16:], m.guess(x)[:, 16:])            # the inversion leaves the class alone
    # D really reads the class: the same images score differently under another class
    tr = train.GanTrainer(train.parse(tiny_args(glyph_set, tmp_path / "a", 6, 3, *extra)), log=lambda m: None)
    tr.run.resume()
    tr.D.eval()
    real = tr.data.take([0, 1, 2, 3])
    with torch.no_grad():
        assert not torch.allclose(tr.D(real, tr.class_y[:4]), tr.D(real, (tr.class_y[:4] + 1) % nc))
    with pytest.raises(SystemExit, match="no such column"):
        train.GanTrainer(train.parse(tiny_args(glyph_set, tmp_path / "x", 2, 0, "--class-column", "glyph")),
                         log=lambda m: None)


def test_letter_and_attribute_conditional_run(glyph_set, tiny_model, tmp_path):
    """--conditional --class-column char (fine-tuned --init-from a trained model, --keep char): the
    latent is noise, then the attribute coordinates, then the letter's one-hot; the attribute
    classifier reads only the attribute part and D the letter; the export's directions are the
    attribute axes, sampling draws attributes from the data's combinations and a one-hot letter,
    the encoder's letter is snapped and left alone by the inversion; a resumed run continues
    exactly; --aux-augment '' trains the attribute classifier on clean images with balanced classes."""
    from safetensors.torch import load_file

    extra = ("--conditional", "--class-column", "char", "--keep", "char", "--init-from", "gan.tiny",
             "--d-warmup", "2", "--aux-after", "0", "--aux-ndf", "8", "--aux-augment", "", "--name", "tinyak")
    assert train.main(tiny_args(glyph_set, tmp_path / "a", 6, 3, *extra)) == 0
    assert train.main(tiny_args(glyph_set, tmp_path / "b", 3, 0, *extra)) == 0
    assert train.main(tiny_args(glyph_set, tmp_path / "b", 6, 3, *extra, "--export")) == 0
    a, b = load_file(str(tmp_path / "a" / "last.safetensors")), load_file(str(tmp_path / "b" / "last.safetensors"))
    assert [k for k in a if not torch.equal(a[k], b[k])] == []
    tr = train.GanTrainer(train.parse(tiny_args(glyph_set, tmp_path / "c", 4, 0, *extra)), log=lambda m: None)
    z = tr.sample_latents(32, torch.Generator().manual_seed(1))
    nc = len(tr.class_names)
    assert z.shape == (32, 16 + 2 + nc) and set(z[:, 16:18].flatten().tolist()) <= {-1.0, 1.0}
    assert torch.equal(z[:, 18:].sum(1), torch.ones(32)) and torch.equal(tr.classes_of(z), z[:, 18:].argmax(1))
    assert {"cls_fake", "keep_fake", "g"} <= set(tr.gan_step(2))
    assert tr.aux_policy == "" and torch.allclose(tr.pos_weight, torch.ones(2))   # half bold, half italic
    w = load_file(str(Path(os.environ["IMGEDIT_MODELS_DIR"]) / "gan.tinyak.safetensors"))
    assert torch.equal(w["direction.bold"].float(), torch.tensor([0.0] * 16 + [2.0, 0.0] + [0.0] * nc))
    assert w["prior.attributes"].shape[1] == 2 and w["prior.classes"].shape == (nc,)
    registry.reload()
    m = load_model("gan.tinyak", precision="fp32").model
    zs = m.sample_latents(16, torch.Generator().manual_seed(0))
    assert zs.shape == (16, 18 + nc) and set(zs[:, 16:18].flatten().tolist()) <= {-1.0, 1.0}
    assert torch.equal(zs[:, 18:].sum(1), torch.ones(16))
    lat = m.encode(m.generate(zs[:4]), steps=2)
    assert torch.equal(lat[:, 18:], m.guess(m.generate(zs[:4]))[:, 18:])   # the letter stays the encoder's



def test_font_labels_read_condensed_and_sans_from_the_name(tmp_path):
    """Width class and family class are not always set (Roboto Condensed keeps the normal width,
    Open Sans Condensed Light claims a serif class): the font's name also says narrow or sans."""
    from PIL import ImageFont

    from imgedit_gan.glyphs import font_attributes

    data = ImageFont.load_default(size=20).font_bytes        # Pillow's bundled Aileron Regular
    labels = {}
    for stem in ("Aileron-Regular", "AileronCondensed-Regular", "AileronNarrow-Bold", "AileronSerif-Regular",
                 "AileronSansSerif-Regular"):
        (tmp_path / f"{stem}.ttf").write_bytes(data)
        labels[stem] = font_attributes(tmp_path / f"{stem}.ttf")
    assert labels["Aileron-Regular"] == {"bold": 0, "italic": 0, "monospace": 0, "serif": 0, "narrow": 0}
    assert labels["AileronCondensed-Regular"]["narrow"] == 1 and labels["AileronNarrow-Bold"]["narrow"] == 1
    assert labels["AileronSerif-Regular"]["serif"] == 1 and labels["AileronSansSerif-Regular"]["serif"] == 0


def _font_with_h(path, serifs: bool):
    """A TrueType font without any OS/2 classification whose every character is one ``H``: two
    stems and a bar, with slab serifs at the stems' ends or without."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    from imgedit_gan.glyphs import CHARS

    def box(pen, x0, y0, x1, y1):
        pen.moveTo((x0, y0)); pen.lineTo((x0, y1)); pen.lineTo((x1, y1)); pen.lineTo((x1, y0)); pen.closePath()

    pen = TTGlyphPen(None)
    for x in (100, 500):
        box(pen, x, 0, x + 100, 700)
        if serifs:
            box(pen, x - 60, 0, x + 160, 40)
            box(pen, x - 60, 660, x + 160, 700)
    box(pen, 200, 320, 500, 400)
    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder([".notdef", "H"])
    fb.setupCharacterMap({ord(c): "H" for c in CHARS})
    fb.setupGlyf({".notdef": TTGlyphPen(None).glyph(), "H": pen.glyph()})
    fb.setupHorizontalMetrics({".notdef": (700, 0), "H": (700, 40)})
    fb.setupHorizontalHeader(ascent=800, descent=-200)
    fb.setupNameTable({"familyName": path.stem, "styleName": "Regular"})
    fb.setupOS2()  # sFamilyClass 0, PANOSE all 0: no classification
    fb.setupPost()
    fb.save(str(path))
    return path


def test_unclassified_fonts_are_labelled_serif_from_their_glyphs(tmp_path):
    """URW base35's Nimbus Roman, C059 and P052 carry no OS/2 class and no 'serif' in their names:
    the H's serifs decide."""
    from imgedit_gan.glyphs import font_attributes, has_serifs

    plain = _font_with_h(tmp_path / "Plain-Regular.ttf", serifs=False)
    slab = _font_with_h(tmp_path / "Slab-Regular.ttf", serifs=True)
    assert not has_serifs(plain) and has_serifs(slab)
    assert font_attributes(plain)["serif"] == 0 and font_attributes(slab)["serif"] == 1
    # the name still wins over the glyphs
    assert font_attributes(_font_with_h(tmp_path / "SlabSans-Regular.ttf", serifs=True))["serif"] == 0


def test_export_with_paired_directions(tiny_model, glyph_set, tmp_path):
    """`--pair-by char`: each direction is the mean of within-letter differences (the same as the
    plain mean difference on this balanced set), and the card says how it was made."""
    from safetensors.torch import load_file

    from imgedit_gan import train

    plain = load_file(str(Path(os.environ["IMGEDIT_MODELS_DIR"]) / "gan.tiny.safetensors"))
    assert train.main(tiny_args(glyph_set, tiny_model, 150, 150, "--export-only", "--pair-by", "char",
                                "--models-dir", str(tmp_path))) == 0
    paired = load_file(str(tmp_path / "gan.tiny.safetensors"))
    assert torch.allclose(paired["direction.bold"].float(), plain["direction.bold"].float(), atol=2e-3)
    assert "paired within equal `char` and other attributes" in (tmp_path / "gan.tiny.md").read_text()
