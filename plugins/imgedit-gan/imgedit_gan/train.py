"""``imgedit train gan``: a DCGAN on any folder of images, then its inversion encoder.

    imgedit train gan --data ~/photos/faces --name myfaces --steps 8000 --encoder-steps 1500 --export

Phase 1 (``--steps``): generator and discriminator, hinge loss, spectral norm on D, DiffAugment
(``--augment``), an EMA copy of G for sampling; a FID-like score (:mod:`imgedit.perceptual.fid`)
against a held-aside part of the data every ``--fid-every`` steps. Phase 2 (``--encoder-steps``):
the encoder E learns z from G_ema(z) (latent loss) and reconstructs real images through G_ema
(pixel + perceptual loss), the starting point that imgedit's inversion refines by optimisation.

Runs are resumable (rerun the same command; Ctrl-C checkpoints), a preview sheet ``preview.jpg``
(samples of fixed seeds, real images and their reconstructions) is written as it trains.
``--export`` writes the model to the user models folder as ``gan.NAME`` (``imgedit models``
lists it; ``-m gan.NAME`` uses it); ``--labels labels.csv`` (a ``file`` column and 0/1 attribute
columns) ships one direction per attribute in it; ``--pca K`` ships K unsupervised directions.
``--ship`` writes ``pretrained/gan-NAME.safetensors`` instead and declares it in the plugin
(for the first-party models).
"""
from __future__ import annotations

import argparse
import copy
import random
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from imgedit.training import (LabelledSet, TrainRun, check_model_name, command_line, ema_update, label_args,
                              loss_table, pairing, ship_or_export, tilde, train_root, utc_now, write_sheet)

from imgedit_gan.net import Discriminator, Encoder, Generator, diff_augment

PLUGIN_FILE = Path(__file__).with_name("plugin.py")


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="imgedit train gan", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="folder of images (any size: resized to 64x64)")
    label_args(ap)
    ap.add_argument("--conditional", action="store_true",
                    help="with --labels: the latent ends with one coordinate per attribute (-1/+1), "
                         "G learns to obey it through an attribute classifier trained beside D on "
                         "the real images' labels; each attribute's direction is its coordinate axis")
    ap.add_argument("--class-column", default=None, metavar="COLUMN",
                    help="with --labels: a class-conditional GAN on a categorical column (e.g. `char` "
                         "for glyphs): the latent ends with a one-hot of the class, D is a projection "
                         "discriminator, the encoder also reads the class. Edits and directions move "
                         "only the N(0, I) part, so an edit cannot change the class (the letter)")
    ap.add_argument("--aux", type=float, default=1.0, help="--conditional: weight of G's attribute "
                    "loss (the classifier's cross-entropy on the attributes G was asked for)")
    ap.add_argument("--aux-after", type=int, default=1500,
                    help="--conditional: G's attribute loss is off for this many steps, then ramps up "
                         "linearly over as many again: G first learns "
                         "the images as an unconditional GAN (with it on from step 0, G collapsed to a "
                         "few shapes on glyphs)")
    ap.add_argument("--aux-ndf", type=int, default=None,
                    help="--conditional: width of the attribute classifier (default --ndf / 2)")
    ap.add_argument("--aux-lr", type=float, default=2e-4, help="--conditional: the attribute classifier's learning rate")
    ap.add_argument("--aux-augment", default=None, metavar="POLICY",
                    help="--conditional: DiffAugment policy of the attribute classifier's images, real "
                         "and generated (default: --augment; '' = none: cutout hides what tells "
                         "monospace and narrow glyphs apart); its loss then weighs each attribute's "
                         "positives and negatives equally")
    ap.add_argument("--keep", default=None, metavar="COLUMN",
                    help="--conditional: a label column edits must not change (e.g. `char` for glyphs): "
                         "half of each batch is the other half with one attribute flipped, and a "
                         "classifier of COLUMN trained on the real images must read both the same")
    ap.add_argument("--keep-weight", type=float, default=1.0, help="weight of the --keep loss")
    ap.add_argument("--init-from", default=None, metavar="MODEL",
                    help="start G and E from a trained gan model (name or .safetensors) of the same "
                         "--nz/--ngf/--ndf; a conditional run's attribute inputs start as the model's "
                         "shipped direction of that name (from -1 to +1 = one step along it), or at "
                         "zero without one (D starts fresh: see --d-warmup); or G from the decoder of a VAE "
                         "(`imgedit train vae`: the DCGAN generator's layout) with the same latent: z, the "
                         "attributes (--conditional), the class one-hot (--class-column); E then starts fresh")
    ap.add_argument("--tune", choices=("all", "attributes"), default="all",
                    help="with --init-from and --conditional: train all of G, or only its attribute "
                         "inputs (G's images stay the model's; the attributes learn where to move them)")
    ap.add_argument("--d-warmup", type=int, default=0,
                    help="G is frozen for the first N steps while D (and the classifiers) learn")
    ap.add_argument("--name", required=True, help="model name: exported as gan.NAME")
    ap.add_argument("--out", type=Path, default=None, help="run folder (default ~/.cache/imgedit/train/gan-NAME)")
    ap.add_argument("--steps", type=int, default=8000, help="GAN steps")
    ap.add_argument("--encoder-steps", type=int, default=1500, help="encoder steps after the GAN")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--nz", type=int, default=64, help="latent size")
    ap.add_argument("--ngf", type=int, default=32, help="generator width (DCGAN: 64)")
    ap.add_argument("--ndf", type=int, default=32, help="discriminator / encoder width")
    ap.add_argument("--gray", action="store_true", help="grayscale data (one channel, shown as RGB)")
    ap.add_argument("--lr", type=float, default=2e-4, help="generator learning rate")
    ap.add_argument("--lr-d", type=float, default=None, help="discriminator learning rate (default: --lr; "
                    "TTUR: e.g. --lr 1e-4 --lr-d 4e-4)")
    ap.add_argument("--betas", type=float, nargs=2, default=(0.5, 0.999), help="Adam betas of G and D")
    ap.add_argument("--augment", default="translation,cutout", help="DiffAugment policy (add `color` for photos)")
    ap.add_argument("--ema", type=float, default=0.999, help="EMA decay of the sampling generator")
    ap.add_argument("--r1", type=float, default=0.0, help="R1 penalty weight on D (0 = off)")
    ap.add_argument("--d-norm", choices=("sn", "bn"), default="sn",
                    help="discriminator normalisation: spectral norm, or the DCGAN paper's BatchNorm")
    ap.add_argument("--loss", choices=("hinge", "ns"), default="hinge",
                    help="hinge, or the non-saturating loss of the DCGAN paper")
    ap.add_argument("--holdout", type=float, default=0.1, help="fraction held aside for the FID-like score")
    ap.add_argument("--fid-every", type=int, default=1000)
    ap.add_argument("--fid-samples", type=int, default=500)
    ap.add_argument("--preview-every", type=int, default=500)
    ap.add_argument("--pca", type=int, default=0, help="unsupervised (PCA) directions to ship")
    ap.add_argument("--direction-steps", type=int, default=0,
                    help="refine the labelled images' latents this many inversion steps before the "
                         "directions are computed (0 = the encoder's latents)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=None,
                    help="bf16 autocast (default: on CPUs with native bf16)")
    ap.add_argument("--export", action="store_true", help="export to the user models folder when done")
    ap.add_argument("--export-only", action="store_true", help="export the last checkpoint, do not train")
    ap.add_argument("--ship", action="store_true", help="export to pretrained/ and declare it in the plugin")
    ap.add_argument("--models-dir", type=Path, default=None, help="user models folder (default: platform data dir)")
    ap.add_argument("--summary", default="", help="one line for `imgedit models`")
    ap.add_argument("--licence", default="", help="licence line for the model card")
    return ap.parse_args(argv)


class GanTrainer:
    """The networks, data and step functions of one run (also used by the tests)."""

    def __init__(self, args: argparse.Namespace, log=print):
        from imgedit.training import bf16_autocast_default

        self.args, self.log = args, log
        torch.manual_seed(args.seed)
        self.rng = random.Random(args.seed)
        self.data = LabelledSet(args.data, 64, args.labels, gray=args.gray, log=log)
        n = len(self.data)
        order = list(range(n))
        random.Random(1234).shuffle(order)
        k = int(n * args.holdout) if n >= 20 else 0
        self.held, self.train_idx = sorted(order[:k]), sorted(order[k:])
        ch = 1 if args.gray else 3
        self.cond_names: list[str] = list(self.data.attributes) if args.conditional else []
        if args.conditional and not self.cond_names:
            raise SystemExit("--conditional needs --labels with at least one 0/1 attribute column")
        k = len(self.cond_names)
        #: (N, k) attributes of every image as -1/+1 (the latent's last k coordinates)
        self.cond = torch.tensor([[1.0 if r[c] == "1" else -1.0 for c in self.cond_names] for r in self.data.rows]
                                 ).reshape(n, k)
        #: class-conditional runs (--class-column): the classes, and every image's class index
        self.class_names: list[str] = []
        self.class_y = None
        if args.class_column:
            if not self.data.rows or args.class_column not in self.data.rows[0]:
                raise SystemExit(f"--class-column {args.class_column}: no such column in {args.labels}")
            self.class_names = sorted({r[args.class_column] for r in self.data.rows})
            self.class_y = torch.tensor([self.class_names.index(r[args.class_column]) for r in self.data.rows])
        nc = len(self.class_names)
        self.latent_size = args.nz + k + nc
        self.G = Generator(self.latent_size, args.ngf, ch)
        self.D = Discriminator(args.ndf, ch, args.d_norm, classes=nc)
        self.E = Encoder(self.latent_size, args.ndf, ch)
        # conditional runs: an attribute classifier of its own (sharing D's trunk, AC-GAN style,
        # made D win outright on glyphs: G stayed noise), trained on the real images' labels
        self.C = Encoder(k, args.aux_ndf or max(8, args.ndf // 2), ch) if k else None
        #: with --aux-augment, the positives' weight per attribute in the classifier's loss (negatives / positives)
        pos = (self.cond > 0).float().sum(0)
        self.pos_weight = ((n - pos) / pos.clamp_min(1)).clamp(1e-2, 1e2) if args.aux_augment is not None else None
        self.keep_classes: list[str] = []
        if args.keep:
            if not k:
                raise SystemExit("--keep needs --conditional")
            if args.keep not in self.data.rows[0]:
                raise SystemExit(f"--keep {args.keep}: no such column in {args.labels}")
            self.keep_classes = sorted({r[args.keep] for r in self.data.rows})
        #: (N,) class index of every image in the --keep column
        self.keep_y = torch.tensor([self.keep_classes.index(r[args.keep]) for r in self.data.rows]
                                   ) if args.keep else None
        self.K = Encoder(len(self.keep_classes), max(8, args.ndf // 2), ch) if args.keep else None
        self.init_source = "gan"   #: what --init-from gave: a gan model's G and E, or a VAE's "decoder"
        if args.init_from:
            self.init_from(args.init_from)
        if args.tune == "attributes":
            if not (args.init_from and k):
                raise SystemExit("--tune attributes needs --init-from and --conditional")
            self.freeze_all_but_attribute_inputs()
        self.G_ema = copy.deepcopy(self.G).eval()
        for p in self.G_ema.parameters():
            p.requires_grad_(False)
        betas = tuple(args.betas)
        self.opt_g = torch.optim.Adam(self.G.parameters(), args.lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), args.lr_d or args.lr, betas=betas)
        self.opt_e = torch.optim.Adam(self.E.parameters(), 1e-3, betas=(0.9, 0.999))
        self.opt_c = torch.optim.Adam(self.C.parameters(), args.aux_lr, betas=betas) if k else None
        self.opt_k = torch.optim.Adam(self.K.parameters(), 1e-3, betas=(0.9, 0.999)) if self.K else None
        self.bf16 = bf16_autocast_default() if args.bf16 is None else args.bf16
        self.aug_gen = torch.Generator().manual_seed(args.seed + 1)
        self.fixed_z = self.sample_latents(16, torch.Generator().manual_seed(7))
        config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                  if k not in ("export", "export_only", "ship", "models_dir", "summary", "licence", "out")}
        modules = {"G": self.G, "D": self.D, "G_ema": self.G_ema, "E": self.E, **({"C": self.C} if k else {}),
                   **({"K": self.K} if self.K else {})}
        opts = {"opt_g": self.opt_g, "opt_d": self.opt_d, "opt_e": self.opt_e, **({"opt_c": self.opt_c} if k else {}),
                **({"opt_k": self.opt_k} if self.K else {})}
        self.run = TrainRun(args.out, modules, opts, config, rng=self.rng,
                            must_match=("nz", "ngf", "ndf", "gray", "data", "labels", "d_norm", "conditional", "keep", "init_from", "tune",
                                        "class_column", "aux_ndf"), log=log, name=f"gan {args.name}",
                            generators={"augment": self.aug_gen})
        self._real_stats = None

    def init_from(self, model: str) -> None:
        """G and E from a trained gan model; G's extra latent inputs (attribute coordinates) start
        as the model's directions of those names (else zero), E's extra outputs at zero."""
        from imgedit import load_model

        m = load_model(model, precision="fp32").model
        if hasattr(m, "dec") and hasattr(m, "enc"):
            return self.init_from_decoder(model, m)
        if not (hasattr(m, "G") and hasattr(m, "E")):
            raise SystemExit(f"--init-from {model}: not a gan or vae model")
        for mine, theirs, what in ((self.G, m.G, "G"), (self.E, m.E, "E")):
            state = {k: v.detach().clone() for k, v in theirs.state_dict().items()}
            own = mine.state_dict()
            for key, v in state.items():
                if key not in own:
                    raise SystemExit(f"--init-from {model}: its {what} has {key}, this run's does not")
                w = own[key]
                if w.shape == v.shape:
                    continue
                grown = torch.zeros_like(w)
                if w.dim() >= 1 and w.shape[1:] == v.shape[1:] and w.shape[0] > v.shape[0]:
                    grown[:v.shape[0]] = v            # G's first layer rows / E's output rows
                else:
                    raise SystemExit(f"--init-from {model}: {what}.{key} is {tuple(v.shape)}, this run's "
                                     f"{tuple(w.shape)} (use the same --nz, --ngf, --ndf, --gray)")
                state[key] = grown
            mine.load_state_dict(state)
        # an attribute input starts as the model's direction of that name: G(z, a) = base
        # G(z + sum_k a_k d_k / 2), so -1 -> +1 is one step along d_k (strength 1, the class gap)
        nz, known = self.args.nz, m.directions() if hasattr(m, "directions") else {}
        with torch.no_grad():
            w = self.G.net[0].weight                     # (nz + k, C, 4, 4)
            for j, attr in enumerate(self.cond_names):
                d = known.get(attr)
                if d is not None and d.numel() == nz:
                    w[nz + j] = 0.5 * torch.einsum("i,ichw->chw", d.float(), w[:nz])
        used = [a for a in self.cond_names if a in known]
        self.log(f"started G and E from {model}" + (f"; attribute inputs from its directions {', '.join(used)}" if used else ""))

    def init_from_decoder(self, model: str, m) -> None:
        """G from a VAE's decoder: the same layers, the decoder's sigmoid output becoming G's tanh
        one (sigmoid(t) = (tanh(t / 2) + 1) / 2: the last layer's weights halved). The latents must
        agree: z, then the attributes in this run's order (the VAE's attribute directions are their
        axes), then the class one-hot."""
        k, nc, nz = len(self.cond_names), len(self.class_names), self.args.nz
        theirs = (m.nz, getattr(m, "n_attributes", 0), getattr(m, "n_classes", 0))
        if theirs != (self.latent_size, k, nc):
            raise SystemExit(f"--init-from {model}: its latent is {theirs[0]} ({theirs[1]} attributes, {theirs[2]} "
                             f"classes), this run's {self.latent_size} ({k} attributes, {nc} classes)")
        known = m.directions()
        for j, attr in enumerate(self.cond_names):
            d = known.get(attr)
            if d is None or float(d[nz + j]) != 2.0:
                raise SystemExit(f"--init-from {model}: its latent coordinate {nz + j} is not the attribute {attr}")
        state = {key: v.detach().clone() for key, v in m.dec.state_dict().items()}
        last = max(int(key.split(".")[1]) for key in state if key.endswith(".weight") and state[key].dim() == 4)
        for part in ("weight", "bias"):
            state[f"net.{last}.{part}"] = state[f"net.{last}.{part}"] * 0.5
        try:
            self.G.load_state_dict(state)
        except RuntimeError as exc:
            raise SystemExit(f"--init-from {model}: its decoder does not fit this run's G (use its --ngf, --gray): "
                             f"{str(exc).splitlines()[0]}") from None
        self.init_source = "decoder"
        self.log(f"started G from the decoder of {model}; E starts fresh")

    def freeze_all_but_attribute_inputs(self) -> None:
        """Only the rows of G's first layer that read the attribute coordinates learn (the rest
        of G is the trained model's, frozen; BatchNorm statistics stay its own too)."""
        nz = self.args.nz
        for p in self.G.parameters():
            p.requires_grad_(False)
        first = self.G.net[0].weight                  # (nz + k, 8 ngf, 4, 4)
        first.requires_grad_(True)
        mask = torch.zeros_like(first)
        mask[nz:] = 1.0
        first.register_hook(lambda g: g * mask)
        self._frozen_bn = [m for m in self.G.modules() if isinstance(m, torch.nn.BatchNorm2d)]

    def flip_pairs(self, z: torch.Tensor) -> torch.Tensor:
        """The second half of ``z`` becomes the first half with one attribute coordinate each
        flipped, to between 1 and 2.5 times its size (edits go past the data's -1/+1)."""
        a, k = self.args, len(self.cond_names)
        h = z.shape[0] // 2
        z2 = z[:h].clone()
        j = a.nz + torch.randint(k, (h,))
        rows = torch.arange(h)
        z2[rows, j] = -z[rows, j] * (1 + 1.5 * torch.rand(h))
        return torch.cat([z[:h], z2, z[2 * h:]])

    def autocast(self):
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16)

    def real_batch(self, n: int) -> torch.Tensor:
        return self.real_labelled(n)[0]

    def real_labelled(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` random training images and their attributes (B, k) as -1/+1."""
        idx = [self.train_idx[self.rng.randrange(len(self.train_idx))] for _ in range(n)]
        return self.data.take(idx), self.cond[idx]

    def sample_latents(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Latents of the prior: N(0, I) for the first ``nz`` coordinates, then (conditional runs)
        the attributes of random training images, so that combinations occur as in the data, then
        (class-conditional runs) a one-hot of a random training image's class."""
        z = torch.randn(n, self.args.nz, generator=generator)
        if not (self.cond_names or self.class_names):
            return z
        pick = torch.tensor(self.train_idx)[torch.randint(len(self.train_idx), (n,), generator=generator)]
        parts = [z, self.cond[pick]]
        if self.class_names:  # classes as often as in the data (and with their own attributes)
            parts.append(F.one_hot(self.class_y[pick], len(self.class_names)).float())
        return torch.cat(parts, 1)

    def classes_of(self, z: torch.Tensor) -> torch.Tensor | None:
        """The class indices a class-conditional latent asks for (None for other runs)."""
        return z[:, -len(self.class_names):].argmax(1) if self.class_names else None

    # -- phase 1 --------------------------------------------------------------------------------
    def gan_step(self, step: int) -> dict:
        a = self.args
        self.G.train()
        for m in getattr(self, "_frozen_bn", ()):  # --tune attributes: the model's own statistics
            m.eval()
        idx = [self.train_idx[self.rng.randrange(len(self.train_idx))] for _ in range(a.batch)]
        real, c_real = self.data.take(idx), self.cond[idx]
        z = self.sample_latents(a.batch)
        k = len(self.cond_names)
        if self.K is not None:
            z = self.flip_pairs(z)
        c_fake = z[:, a.nz:a.nz + k]
        y_real = self.class_y[idx] if self.class_names else None
        y_fake = self.classes_of(z)
        stats = {}
        with self.autocast():
            fake = self.G(z)
            # (real and fake in separate batches: with --d-norm bn each gets its own statistics, as in the paper)
            d_real = self.D(diff_augment(real, a.augment, self.aug_gen), y_real).float()
            d_fake = self.D(diff_augment(fake.detach(), a.augment, self.aug_gen), y_fake).float()
            if a.loss == "hinge":
                loss_d = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
            else:
                loss_d = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
        r1 = torch.zeros(())
        if a.r1 > 0 and step % 16 == 0:  # lazy R1 on un-augmented reals
            x = real.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(self.D(x, y_real).sum(), x, create_graph=True)
            r1 = g.pow(2).flatten(1).sum(1).mean() * (a.r1 / 2) * 16
        self.opt_d.zero_grad(set_to_none=True)
        (loss_d + r1).backward()
        self.opt_d.step()
        if k:  # the attribute classifier learns the real images' labels (augmented as D sees them)
            self.C.train()
            with self.autocast():
                loss_c = F.binary_cross_entropy_with_logits(
                    self.C(diff_augment(real, self.aux_policy, self.aug_gen)).float(), (c_real > 0).float(),
                    pos_weight=self.pos_weight)
            self.opt_c.zero_grad(set_to_none=True)
            loss_c.backward()
            self.opt_c.step()
            stats["cls_real"] = loss_c.item()
        if self.K is not None:  # ... and the --keep classifier the real images' classes
            self.K.train()
            with self.autocast():
                loss_k = F.cross_entropy(self.K(diff_augment(real, a.augment, self.aug_gen)).float(), self.keep_y[idx])
            self.opt_k.zero_grad(set_to_none=True)
            loss_k.backward()
            self.opt_k.step()
            stats["keep_real"] = loss_k.item()
        if step < a.d_warmup:  # G frozen while the fresh D and classifiers catch up with it
            return {"d": loss_d.item(), "d_real": d_real.float().mean().item(),
                    "d_fake": d_fake.float().mean().item(), **stats}
        with self.autocast():
            gen = self.G(z)
            out = self.D(diff_augment(gen, a.augment, self.aug_gen), y_fake).float()
            loss_g = -out.mean() if a.loss == "hinge" else F.softplus(-out).mean()
            if k:  # ... and G must make images it reads as the attributes asked for
                self.C.eval()
                aux_g = F.binary_cross_entropy_with_logits(
                    self.C(diff_augment(gen, self.aux_policy, self.aug_gen)).float(), (c_fake > 0).float())
                loss_g = loss_g + self.aux_weight(step) * aux_g
                stats["cls_fake"] = aux_g.item()
            if self.K is not None:  # a flipped attribute must leave the --keep class alone
                self.K.eval()
                h = a.batch // 2
                logits = self.K(gen[:2 * h]).float()
                target = logits[:h].argmax(1).detach()
                keep = F.cross_entropy(logits[h:], target) + F.cross_entropy(logits[:h], target)
                loss_g = loss_g + a.keep_weight * keep
                stats["keep_fake"] = keep.item()
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        ema_update(self.G_ema, self.G, a.ema if step > 200 + a.d_warmup else 0.0)
        return {"d": loss_d.item(), "g": loss_g.item(), "d_real": d_real.float().mean().item(),
                "d_fake": d_fake.float().mean().item(), **stats}

    @property
    def aux_policy(self) -> str:
        """The DiffAugment policy of the attribute classifier's images."""
        return self.args.augment if self.args.aux_augment is None else self.args.aux_augment

    def aux_weight(self, step: int) -> float:
        """Weight of G's attribute loss at ``step``: 0, then a linear ramp to ``--aux``."""
        a = self.args
        after = a.aux_after
        if after <= 0:
            return a.aux
        return a.aux * min(1.0, max(0.0, (step - after) / after))

    # -- phase 2 --------------------------------------------------------------------------------
    def encoder_step(self, step: int) -> dict:
        from imgedit.perceptual import perceptual_distance

        a = self.args
        self.E.train()
        z = self.sample_latents(a.batch)
        with torch.no_grad():
            fake = self.G_ema(z)
        idx = [self.train_idx[self.rng.randrange(len(self.train_idx))] for _ in range(a.batch // 4)]
        real, c_real = self.data.take(idx), self.cond[idx]
        stats = {}
        with self.autocast():
            guess = self.E(fake).float()
            z_real = self.E(real).float()
        nc = len(self.class_names)
        if nc:  # the noise (and attribute) part is regressed, the class part is a classifier
            y_fake, y_real = self.classes_of(z), self.class_y[idx]
            lat = F.mse_loss(guess[:, :-nc], z[:, :-nc])
            cls = F.cross_entropy(guess[:, -nc:], y_fake) + F.cross_entropy(z_real[:, -nc:], y_real)
            stats["class"] = cls.item()
            # real images are reconstructed with their own class (the encoder's guess of it is trained above)
            z_real = torch.cat([z_real[:, :-nc], F.one_hot(y_real, nc).float()], 1)
        else:
            lat, cls = F.mse_loss(guess, z), 0.0
        with self.autocast():
            rec = self.G_ema(z_real).float()
        pix = F.l1_loss(rec, real)
        perc = perceptual_distance(rec, real).mean()
        loss = lat + pix + perc + cls
        if self.cond_names:  # a real image's attribute coordinates are its labels
            attr = F.mse_loss(z_real[:, a.nz:a.nz + len(self.cond_names)], c_real)
            loss = loss + attr
            stats["attributes"] = attr.item()
        self.opt_e.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_e.step()
        return {"latent": lat.item(), "pixel": pix.item(), "perceptual": perc.item(), **stats}

    def step(self, step: int) -> dict:
        return self.gan_step(step) if step < self.args.steps else self.encoder_step(step)

    # -- evaluation -------------------------------------------------------------------------------
    @torch.no_grad()
    def fid(self, step: int | None = None) -> dict:
        from imgedit.perceptual.fid import feature_stats, frechet_distance

        if not self.held:
            return {}
        if self._real_stats is None:
            self._real_stats = feature_stats(self.data.take(self.held))
        g = torch.Generator().manual_seed(99)
        zs = self.sample_latents(self.args.fid_samples, g)
        fake = torch.cat([self.G_ema(zs[i:i + 100]) for i in range(0, len(zs), 100)])
        return {"fid": round(frechet_distance(feature_stats(fake), self._real_stats), 3)}

    @torch.no_grad()
    def preview(self, step: int | None = None) -> None:
        self.G_ema.eval()
        self.E.eval()
        samples = self.G_ema(self.fixed_z)
        real = self.data.take(self.held[:8] if len(self.held) >= 8 else list(range(min(8, len(self.data)))))
        rec = self.G_ema(self.guess(real))
        rows = [[s[None] for s in samples[:8]], [s[None] for s in samples[8:16]],
                [r[None] for r in real], [r[None] for r in rec]]
        write_sheet(self.run.folder / "preview.jpg", rows)

    def guess(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder's latents of images ``x`` (a class-conditional run's class part one-hot)."""
        from imgedit.latentedit import snap_classes

        return snap_classes(self.E(x).float(), len(self.class_names))

    def fit(self) -> None:
        a = self.args
        total = a.steps + a.encoder_steps

        def evaluate(step: int) -> dict | None:
            return self.fid() if step <= a.steps else None

        self.run.run(total, self.step, log_every=50, boundaries=(a.steps,),
                     hooks=[(a.fid_every, evaluate), (a.preview_every, lambda s: self.preview())])
        self.preview()


# ------------------------------------------------------------------------------------------------
def export_tensors(tr: GanTrainer) -> tuple[dict, dict]:
    """Tensors and metadata of an exported model: G_ema, E, and the directions."""
    from imgedit.directions import attribute_axes, directions_from_labels, pca_directions
    from imgedit.latentedit import keep_classes

    a = tr.args
    nc = len(tr.class_names)
    tensors = {f"G.{k}": v for k, v in tr.G_ema.state_dict().items()}
    tensors.update({f"E.{k}": v for k, v in tr.E.state_dict().items()})
    tr.G_ema.eval()
    tr.E.eval()
    names = []
    if tr.cond_names:  # each attribute is a coordinate: its axis, strength 1 = the class gap (-1 -> +1)
        tensors.update(attribute_axes(tr.cond_names, a.nz, tr.latent_size, tr.cond[tr.train_idx]))
        names += tr.cond_names
    elif tr.data.attributes:
        from imgedit_gan.model import refine_latents

        chunks = []
        for i in range(0, len(tr.data), 500):
            x = tr.data.take(list(range(i, min(i + 500, len(tr.data)))))
            with torch.no_grad():
                z = tr.guess(x)
            chunks.append(refine_latents(tr.G_ema, z, x, a.direction_steps, fixed=nc) if a.direction_steps else z)
        lat = torch.cat(chunks)
        for attr, d in directions_from_labels(lat.detach(), tr.data.rows,
                                              [c for c in tr.data.attributes if c != a.class_column],
                                              pair_by=a.pair_by).items():
            tensors[f"direction.{attr}"] = keep_classes(d, nc)
            names.append(attr)
    if a.pca:
        with torch.no_grad():
            for i, d in enumerate(pca_directions(tr.G_ema, tr.sample_latents(4000, torch.Generator().manual_seed(5)), a.pca)):
                tensors[f"direction.pc{i}"] = keep_classes(d, nc)
                names.append(f"pc{i}")
    if nc:  # the class prior (how often each class occurs) and that the latent ends with its one-hot
        tensors["prior.classes"] = torch.bincount(tr.class_y[tr.train_idx], minlength=nc).float()
    meta = {"arch": "dcgan64", "nz": str(tr.latent_size), "attributes": ",".join(tr.cond_names), "ngf": str(a.ngf), "ndf": str(a.ndf),
            "direction_steps": str(a.direction_steps),
            **({"class_column": a.class_column, "classes": ",".join(tr.class_names)} if nc else {}),
            "channels": "1" if a.gray else "3", "steps": str(tr.run.step), "directions": ",".join(names)}
    return tensors, meta


def export_metrics(tr: GanTrainer, n: int = 32, steps: int = 100) -> dict:
    """Numbers for the model card: the FID-like score with 2,000 samples against the held-aside
    images, and the inversion quality (encoder alone, encoder + ``steps`` optimisation steps) on
    ``n`` held-aside images -- what `imgedit encode` reports, on images the model never saw."""

    from imgedit.perceptual import perceptual_distance
    from imgedit.perceptual.fid import feature_stats, frechet_distance

    from imgedit_gan.model import refine_latents

    out: dict = {}
    tr.G_ema.eval()
    tr.E.eval()
    if tr.held:
        with torch.no_grad():
            real = feature_stats(tr.data.take(tr.held))
            zs = tr.sample_latents(2000, torch.Generator().manual_seed(2024))
            fake = torch.cat([tr.G_ema(zs[i:i + 200]) for i in range(0, len(zs), 200)])
            out["fid_2000"] = round(frechet_distance(feature_stats(fake), real), 2)
        x = tr.data.take(tr.held[:n])
        for label, k in (("encoder", 0), (f"encoder + {steps} steps", steps)):
            with torch.no_grad():
                z = tr.guess(x)
            if k:
                z = refine_latents(tr.G_ema, z, x, k, fixed=len(tr.class_names))
            with torch.no_grad():
                rec = tr.G_ema(z)
                mse = (rec - x).pow(2).flatten(1).mean(1)
                out[label] = (round(float((10 * torch.log10(1 / mse.clamp_min(1e-10))).mean()), 2),
                              round(float(perceptual_distance(rec, x).mean()), 4))
        out["held"] = len(x)
    return out


def card_text(tr: GanTrainer, argv: list[str], name: str, metrics: dict | None = None, directions: str = "") -> str:
    a, run = tr.args, tr.run
    command = tilde(run.config.get("command") or command_line("gan", argv))
    metrics = metrics or {}
    inv = "\n".join(f"| {k} | {v[0]:.2f} | {v[1]:.4f} |" for k, v in metrics.items() if isinstance(v, tuple))
    fids = [h for h in run.history if "fid" in h]
    gan_rows = [h for h in run.history if h["step"] <= a.steps and "d" in h]
    enc_rows = [h for h in run.history if h["step"] > a.steps and "latent" in h]
    return f"""# {name}

DCGAN 64x64 generator (EMA weights) + inversion encoder, trained by imgedit.

- **Data**: `{tilde(a.data)}` ({len(tr.data)} images{', labels `' + tilde(a.labels) + '`' if a.labels else ''};
  {len(tr.held)} held aside for the FID-like score)
- **Command** (the last training session's; rerunning it resumes or reproduces the run): `{command}`
- **Steps**: {a.steps} GAN + {a.encoder_steps} encoder, batch {a.batch}, {run.wall / 3600:.2f} h of training
- **Architecture**: latent {tr.latent_size} ({a.nz} N(0, I){f" + {len(tr.cond_names)} attribute coordinates -1/+1: " + ", ".join(tr.cond_names) + f"; G made to obey them by an attribute classifier trained beside D on the labels, weight {a.aux} (off for {a.aux_after} steps, then ramped up as long)" if tr.cond_names else ""}{f" + a one-hot of the {len(tr.class_names)} classes of `{a.class_column}`; projection discriminator; no direction moves the class part, so edits keep the class" if tr.class_names else ""}),
  ngf {a.ngf}, ndf {a.ndf}, {'grayscale' if a.gray else 'RGB'}; {'hinge' if a.loss == 'hinge' else 'non-saturating'} loss,
  {'spectral norm' if a.d_norm == 'sn' else 'BatchNorm'} on D, DiffAugment `{a.augment}`, EMA {a.ema}{f', R1 {a.r1}' if a.r1 else ''}{f"; started from `{a.init_from}` ({'G = its decoder, E fresh' if tr.init_source == 'decoder' else 'attribute inputs = its directions'}), G frozen for {a.d_warmup} steps" if a.init_from else ''}{"; only G's attribute inputs trained (the rest of G is the base model's)" if a.tune == "attributes" else ''}{f"; half of each batch has one attribute flipped and a `{a.keep}` classifier trained on the labels must read the pair the same (weight {a.keep_weight})" if a.keep else ''}
- **FID-like score** (EfficientNet-Lite0 features, `imgedit.perceptual.fid`; lower is better; only
  comparable with itself): {metrics.get('fid_2000', 'n/a')} with 2,000 samples at export; during training
  ({a.fid_samples} samples): {', '.join(f"{h['fid']:.1f} @ {h['step']}" for h in fids) or 'n/a'}
- **Directions** (`--direction NAME:S`): {directions.replace(',', ', ') or 'none'}{"; attributes: their latent coordinate's axis, strength 1 = the class gap (-1 -> +1)" if tr.cond_names else f"; attributes: mean difference of the labelled images' latents (encoder + {a.direction_steps} inversion steps){pairing(a.pair_by)}, strength 1 = the class gap" if tr.data.attributes else ''}{f"; pc0..pc{a.pca - 1}: PCA of generated images' pooled perceptual features regressed onto z, strength 1 = one standard deviation" if a.pca else ''}
- **Exported**: {utc_now()}, sha256 `{{SHA256}}`, {{SIZE}}
- **Licence**: {a.licence or 'as the training data'}

## Inversion of {metrics.get('held', 0)} held-aside images (never trained on)

| method | PSNR dB | perceptual distance |
|---|---|---|
{inv or '| n/a | | |'}

## GAN losses
{loss_table(gan_rows[::max(1, len(gan_rows) // 12)] or [{'step': 0}])}

## Encoder losses
{loss_table(enc_rows) if enc_rows else '(none)'}
"""


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    from imgedit_gan.plugin import SHIPPED

    check_model_name("gan", args.name, SHIPPED, ship=args.ship, exporting=args.export or args.export_only)
    for every in ("fid_every", "preview_every"):
        if getattr(args, every) < 1:
            raise SystemExit(f"--{every.replace('_', '-')} must be at least 1")
    args.out = args.out or train_root() / f"gan-{args.name}"
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    tr = GanTrainer(args, log)
    if not tr.run.resume() and args.export_only:
        raise SystemExit(f"no checkpoint in {args.out}: train first (the same command without --export-only)")
    if not args.export_only:
        tr.run.config["command"] = command_line("gan", [x for x in argv if x not in ("--export", "--ship")])
        t0 = time.perf_counter()
        tr.fit()
        log(f"trained to step {tr.run.step} in {(time.perf_counter() - t0) / 60:.1f} min this session")
    if args.export or args.export_only or args.ship:
        tensors, meta = export_tensors(tr)
        name = f"gan.{args.name}"
        metrics = export_metrics(tr)
        log(f"export metrics: {metrics}")
        out = ship_or_export(tensors, base="gan", name=args.name, weight="generator",
                             card=card_text(tr, argv, name, metrics, meta["directions"]), metadata=meta,
                             latent_size=tr.latent_size, ship=args.ship, plugin_file=PLUGIN_FILE,
                             folder=args.models_dir, summary=args.summary or f"DCGAN trained on {args.data.name}",
                             log=log)
        log(f"exported {out}")
    return 0
