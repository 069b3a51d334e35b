"""``imgedit train vae``: a convolutional (beta-)VAE on any folder of images.

    imgedit train vae --data ~/photos/faces --name myfaces --steps 6000 --export

The loss per image is ``P * (mse + W * perceptual) + beta * KL`` (:func:`imgedit_vae.net.vae_loss`):
the summed squared pixel error (``P`` = 64 x 64 x channels pixel values: a Gaussian decoder's
log-likelihood, so ``--beta 1`` with ``--perceptual 0`` is the plain ELBO), the perceptual
distance (:mod:`imgedit.perceptual`) weighted ``--perceptual W`` on the per-pixel scale, and the KL
divergence of the posterior from N(0, I) in nats, with ``beta`` (``--beta``) ramped up linearly
from 0 over ``--beta-warmup`` steps. Held-aside images give the reconstruction PSNR and
perceptual distance and (``--fid-samples``) a FID-like score of prior samples every
``--eval-every`` steps.

Runs are resumable (rerun the same command; Ctrl-C checkpoints), a preview sheet ``preview.jpg``
(held-aside images, their reconstructions, prior samples of fixed seeds) is written as it trains.
``--export`` writes the model to the user models folder as ``vae.NAME`` (``imgedit models``
lists it; ``-m vae.NAME`` uses it); ``--labels labels.csv`` (a ``file`` column and 0/1 attribute
columns) ships one direction per attribute in it (mean difference of the posterior means);
``--pca K`` ships K unsupervised directions. ``--ship`` writes ``pretrained/vae-NAME.safetensors``
instead and declares it in the plugin (for the first-party models).
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from imgedit.metrics import psnr
from imgedit.training import (LabelledSet, TrainRun, check_model_name, command_line, label_args, loss_table,
                              pairing, ship_or_export, tilde, train_root, utc_now, write_sheet)

from imgedit_vae.net import (Decoder, Encoder, native, posterior_latent, reconstruction_loss, reparameterize,
                             to_rgb, vae_loss)

PLUGIN_FILE = Path(__file__).with_name("plugin.py")


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="imgedit train vae", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="folder of images (any size: resized to 64x64)")
    label_args(ap)
    ap.add_argument("--class-column", default=None, metavar="COL",
                    help="with --labels: a class-conditional VAE. The decoder reads a one-hot of this column "
                         "(e.g. char, the letter) after z and the encoder learns to read the class; the latent "
                         "is z then the one-hot, and edits and directions never move the class part, so an "
                         "edit keeps the class")
    ap.add_argument("--conditional", action="store_true",
                    help="with --labels: the latent ends with one coordinate per attribute (-1/+1) that the "
                         "decoder reads and an encoder head learns to read; each attribute's direction is its "
                         "coordinate's axis (strength 1 = the class gap), so an edit sets the attribute")
    ap.add_argument("--swap-weight", type=float, default=0.0, metavar="W",
                    help="with --conditional and --pair-by: each step also decodes the z of training images "
                         "with the attributes of a partner (equal in the --pair-by columns, e.g. the same "
                         "letter of one font family, other attributes) and asks for the partner: weight of "
                         "that reconstruction against the main one (0 = off)")
    ap.add_argument("--name", required=True, help="model name: exported as vae.NAME")
    ap.add_argument("--out", type=Path, default=None, help="run folder (default ~/.cache/imgedit/train/vae-NAME)")
    ap.add_argument("--steps", type=int, default=10000, help="training steps")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--nz", type=int, default=64, help="latent size")
    ap.add_argument("--nef", type=int, default=32, help="encoder width")
    ap.add_argument("--ngf", type=int, default=32, help="decoder width (as the DCGAN generator's)")
    ap.add_argument("--gray", action="store_true", help="grayscale data (one channel, shown as RGB)")
    ap.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    ap.add_argument("--beta", type=float, default=1.0,
                    help="weight of the KL term (1 = the ELBO; < 1 sharper reconstructions, a less regular "
                         "latent; > 1 a beta-VAE)")
    ap.add_argument("--beta-warmup", type=int, default=1000, metavar="STEPS",
                    help="ramp beta linearly from 0 over this many steps (0 = full beta from the start)")
    ap.add_argument("--perceptual", type=float, default=0.0, metavar="W",
                    help="weight of the perceptual distance against the per-pixel squared error (0 = off; "
                         "costs an EfficientNet-Lite0 pass per step)")
    ap.add_argument("--holdout", type=float, default=0.1,
                    help="fraction held aside for the reconstruction numbers and the FID-like score")
    ap.add_argument("--eval-every", type=int, default=1000,
                    help="held-aside reconstruction PSNR / perceptual distance (and FID-like score) every N steps")
    ap.add_argument("--fid-samples", type=int, default=500,
                    help="prior samples for the FID-like score during training (0 = no FID-like score, "
                         "during training nor at export)")
    ap.add_argument("--preview-every", type=int, default=500)
    ap.add_argument("--pca", type=int, default=0, help="unsupervised (PCA) directions to ship")
    ap.add_argument("--pca-samples", type=int, default=4000, help="prior samples the PCA directions are found from")
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


class VaeTrainer:
    """The networks, data and step function of one run (also used by the tests)."""

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
        self.channels = 1 if args.gray else 3
        self.class_names: list[str] = []
        if args.class_column:
            if not self.data.rows or args.class_column not in self.data.rows[0]:
                raise SystemExit(f"--class-column {args.class_column}: no such column in {args.labels}")
            self.class_names = sorted({r[args.class_column] for r in self.data.rows})
        nc = len(self.class_names)
        self.class_y = torch.tensor([self.class_names.index(r[args.class_column]) for r in self.data.rows]
                                    if nc else [0] * len(self.data))
        #: --conditional: the attributes the decoder reads, and every image's as -1/+1 (N, k)
        self.cond_names = [c for c in self.data.attributes if c != args.class_column] if args.conditional else []
        if args.conditional and not self.cond_names:
            raise SystemExit("--conditional needs --labels with at least one 0/1 attribute column")
        k = len(self.cond_names)
        self.cond = torch.tensor([[1.0 if r[c] == "1" else -1.0 for c in self.cond_names] for r in self.data.rows]
                                 ).reshape(len(self.data), k)
        self.partners: dict[int, list[int]] = {}
        if args.swap_weight > 0:
            if not (k and args.pair_by):
                raise SystemExit("--swap-weight needs --conditional and --pair-by")
            self.partners = self.data.partners(args.pair_by, self.cond_names, among=self.train_idx)
            self.swap_from = sorted(self.partners)
            if not self.swap_from:
                raise SystemExit(f"--swap-weight: no training image has a partner equal in {', '.join(args.pair_by)}")
            log(f"swap: {len(self.swap_from)} training images have a partner of other attributes")
        self.latent_size = args.nz + k + nc
        self.enc = Encoder(args.nz, args.nef, self.channels, nc, k)
        self.dec = Decoder(args.nz, args.ngf, self.channels, nc, k)
        self.opt = torch.optim.Adam([*self.enc.parameters(), *self.dec.parameters()], args.lr, betas=(0.9, 0.999))
        self.bf16 = bf16_autocast_default() if args.bf16 is None else args.bf16
        self.noise = torch.Generator().manual_seed(args.seed + 1)   # the reparameterisation's eps
        self.fixed_z = self.prior_latents(16, 7)
        config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                  if k not in ("export", "export_only", "ship", "models_dir", "summary", "licence", "out")}
        self.run = TrainRun(args.out, {"enc": self.enc, "dec": self.dec}, {"opt": self.opt}, config, rng=self.rng,
                            must_match=("nz", "nef", "ngf", "gray", "data", "labels", "class_column", "conditional"),
                            log=log,
                            name=f"vae {args.name}", generators={"noise": self.noise})
        self._real_stats = None

    def autocast(self):
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16)

    def beta_at(self, step: int) -> float:
        """beta at ``step`` (0-based): linear from 0 over ``--beta-warmup`` steps, then ``--beta``."""
        a = self.args
        return a.beta if a.beta_warmup <= 0 else a.beta * min(1.0, step / a.beta_warmup)

    def prior_latents(self, n: int, seed: int) -> torch.Tensor:
        """``n`` latents of the prior: N(0, I), then (conditional) the attributes and
        (class-conditional) a one-hot of the class of random training images, so that they occur
        as often as in the data."""
        g = torch.Generator().manual_seed(seed)
        z = torch.randn(n, self.args.nz, generator=g)
        if self.cond_names:
            pick = torch.tensor(self.train_idx)[torch.randint(len(self.train_idx), (n,), generator=g)]
            return self.with_labels(z, self.cond[pick], self.class_y[pick])
        if not self.class_names:
            return z
        freq = torch.bincount(self.class_y, minlength=len(self.class_names)).float()
        pick = torch.multinomial(freq, n, replacement=True, generator=g)
        return self.with_labels(z, None, pick)

    def with_labels(self, z: torch.Tensor, attributes: torch.Tensor | None, y: torch.Tensor) -> torch.Tensor:
        """The decoder's input: z, then (conditional) the attribute coordinates, then
        (class-conditional) the one-hot of classes ``y``."""
        parts = [z]
        if self.cond_names:
            parts.append(attributes.to(z.dtype))
        if self.class_names:
            parts.append(F.one_hot(y, len(self.class_names)).to(z.dtype))
        return torch.cat(parts, 1) if len(parts) > 1 else z

    def real_batch(self, n: int, among: list[int] | None = None) -> tuple[torch.Tensor, list[int]]:
        among = among or self.train_idx
        idx = [among[self.rng.randrange(len(among))] for _ in range(n)]
        return self.data.take(idx), idx

    def step(self, step: int) -> dict:
        a = self.args
        self.enc.train()
        self.dec.train()
        x, idx = self.real_batch(a.batch)
        y = self.class_y[idx]
        beta = self.beta_at(step)
        with self.autocast():
            mu, logvar, scores, attr_logits = self.enc.heads(x)
            z = reparameterize(mu.float(), logvar.float(), self.noise)
            rec = self.dec(self.with_labels(z, self.cond[idx], y))
        loss, stats = vae_loss(rec.float(), native(x, self.channels), mu, logvar, beta=beta, perceptual=a.perceptual)
        if self.class_names:  # the encoder learns to read the class the decoder is given
            ce = F.cross_entropy(scores.float(), y)
            loss = loss + ce
            stats["class"] = float(ce.detach())
        if self.cond_names:  # ... and the attributes
            bce = F.binary_cross_entropy_with_logits(attr_logits.float(), (self.cond[idx] > 0).float())
            loss = loss + bce
            stats["attributes"] = float(bce.detach())
        if self.partners:  # a partner's attributes on this image's z must draw the partner
            xs, src = self.real_batch(a.batch // 2, self.swap_from)
            dst = [self.rng.choice(self.partners[i]) for i in src]
            with self.autocast():
                mu_s, logvar_s, _, _ = self.enc.heads(xs)
                zs = reparameterize(mu_s.float(), logvar_s.float(), self.noise)
                out = self.dec(self.with_labels(zs, self.cond[dst], self.class_y[dst]))
            swap, terms = reconstruction_loss(out.float(), native(self.data.take(dst), self.channels), a.perceptual)
            loss = loss + a.swap_weight * swap
            stats["swap_mse"] = float(terms["mse"].detach())
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return {**stats, "beta": beta}

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The latents ``imgedit encode`` gives: the posterior mean (and the encoder's class)."""
        self.enc.eval()
        return posterior_latent(self.enc, x, bool(self.cond_names), len(self.class_names))[0]

    # -- evaluation -------------------------------------------------------------------------------
    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Posterior mean -> decoder, (B,3,64,64): what ``imgedit encode`` + ``generate`` give."""
        self.dec.eval()
        return to_rgb(self.dec(self.encode(x)))

    @torch.no_grad()
    def sample(self, z: torch.Tensor) -> torch.Tensor:
        self.dec.eval()
        return torch.cat([to_rgb(self.dec(z[i:i + 200])) for i in range(0, len(z), 200)])

    @torch.no_grad()
    def held_metrics(self, n: int = 64) -> dict:
        """Reconstruction PSNR (dB) and perceptual distance of up to ``n`` held-aside images."""
        from imgedit.perceptual import perceptual_distance

        if not self.held:
            return {}
        x = self.data.take(self.held[:n])
        rec = self.reconstruct(x)
        return {"psnr_held": round(float(psnr(rec, x).mean()), 3),
                "perceptual_held": round(float(perceptual_distance(rec, x).mean()), 4)}

    @torch.no_grad()
    def fid(self, samples: int) -> dict:
        from imgedit.perceptual.fid import feature_stats, frechet_distance

        if not self.held or samples <= 0:
            return {}
        if self._real_stats is None:
            self._real_stats = feature_stats(self.data.take(self.held))
        return {"fid": round(frechet_distance(feature_stats(self.sample(self.prior_latents(samples, 99))),
                                              self._real_stats), 3)}

    def evaluate(self, step: int | None = None) -> dict:
        return {**self.held_metrics(), **self.fid(self.args.fid_samples)}

    @torch.no_grad()
    def preview(self, step: int | None = None) -> None:
        real = self.data.take(self.held[:8] if len(self.held) >= 8 else list(range(min(8, len(self.data)))))
        rec = self.reconstruct(real)
        samples = self.sample(self.fixed_z)
        rows = [[r[None] for r in real], [r[None] for r in rec],
                [s[None] for s in samples[:8]], [s[None] for s in samples[8:16]]]
        write_sheet(self.run.folder / "preview.jpg", rows)

    def fit(self) -> None:
        a = self.args
        self.run.run(a.steps, self.step, log_every=50,
                     hooks=[(a.eval_every, self.evaluate), (a.preview_every, self.preview)])
        self.preview()


# ------------------------------------------------------------------------------------------------
@torch.no_grad()
def latent_means(tr: VaeTrainer, idx: list[int]) -> torch.Tensor:
    """Posterior means of images ``idx`` (class-conditional: followed by their labelled class)."""
    tr.enc.eval()
    mu = torch.cat([tr.enc(tr.data.take(idx[i:i + 500]))[0].float() for i in range(0, len(idx), 500)])
    return tr.with_labels(mu, tr.cond[idx], tr.class_y[idx])


def export_tensors(tr: VaeTrainer) -> tuple[dict, dict]:
    """Tensors and metadata of an exported model: encoder, decoder and the directions."""
    from imgedit.directions import attribute_axes, directions_from_labels, pca_directions
    from imgedit.latentedit import keep_classes

    a = tr.args
    nc, k = len(tr.class_names), len(tr.cond_names)
    tensors = {f"enc.{k}": v for k, v in tr.enc.state_dict().items()}
    tensors.update({f"dec.{k}": v for k, v in tr.dec.state_dict().items()})
    names = []
    if k:  # each attribute is a coordinate: its axis, strength 1 = the class gap (-1 -> +1)
        tensors.update(attribute_axes(tr.cond_names, a.nz, tr.latent_size, tr.cond[tr.train_idx]))
        names += tr.cond_names
    elif tr.data.attributes:
        mu = latent_means(tr, list(range(len(tr.data))))
        attrs = [c for c in tr.data.attributes if c != a.class_column]
        for attr, d in directions_from_labels(mu, tr.data.rows, attrs, pair_by=a.pair_by).items():
            tensors[f"direction.{attr}"] = keep_classes(d, nc)
            names.append(attr)
    if a.pca:
        for i, d in enumerate(pca_directions(tr.sample, tr.prior_latents(a.pca_samples, 5), a.pca)):
            tensors[f"direction.pc{i}"] = keep_classes(d, nc + k)
            names.append(f"pc{i}")
    if nc:  # the class prior (how often each class occurs); the latent ends with its one-hot
        tensors["prior.classes"] = torch.bincount(tr.class_y[tr.train_idx], minlength=nc).float()
    meta = {"arch": "vae64", "nz": str(tr.latent_size), "nef": str(a.nef), "ngf": str(a.ngf),
            **({"class_column": a.class_column, "classes": ",".join(tr.class_names)} if nc else {}),
            **({"attributes": ",".join(tr.cond_names), "swap_weight": str(a.swap_weight)} if k else {}),
            "channels": str(tr.channels), "beta": str(a.beta), "perceptual": str(a.perceptual),
            "steps": str(tr.run.step), "directions": ",".join(names)}
    return tensors, meta


def export_metrics(tr: VaeTrainer, n: int = 64) -> dict:
    """Numbers for the model card, on held-aside images the model never saw: reconstruction PSNR
    and perceptual distance (posterior mean -> decoder: what ``imgedit encode`` + ``generate``
    give), the same for the mean training image (the baseline), and the FID-like score of 2,000
    prior samples."""
    from imgedit.perceptual import perceptual_distance
    from imgedit.perceptual.fid import feature_stats, frechet_distance

    out: dict = {}
    if not tr.held:
        return out
    x = tr.data.take(tr.held[:n])
    with torch.no_grad():
        mean = sum(tr.data.take(tr.train_idx[i:i + 500]).sum(0, keepdim=True)
                   for i in range(0, len(tr.train_idx), 500)) / len(tr.train_idx)
        for label, rec in (("VAE (posterior mean)", tr.reconstruct(x)), ("mean training image", mean.expand_as(x))):
            out[label] = (round(float(psnr(rec, x).mean()), 2), round(float(perceptual_distance(rec, x).mean()), 4))
        if tr.args.fid_samples > 0:
            out["fid_2000"] = round(frechet_distance(feature_stats(tr.sample(tr.prior_latents(2000, 2024))),
                                                     feature_stats(tr.data.take(tr.held))), 2)
    out["held"] = len(x)
    return out


def latent_words(tr: VaeTrainer) -> str:
    """The model card's words for what follows z in the latent (empty for a plain VAE)."""
    a, parts = tr.args, []
    if tr.cond_names:
        parts.append(f"the {len(tr.cond_names)} attributes {', '.join(tr.cond_names)} as -1/+1 coordinates: the "
                     "decoder reads them, the encoder learns to read them"
                     + (f"; swap reconstruction between images of equal {', '.join(a.pair_by)}, weight {a.swap_weight:g}"
                        if a.swap_weight > 0 else ""))
    if tr.class_names:
        parts.append(f"a one-hot of the {len(tr.class_names)} classes of `{a.class_column}`: the decoder reads it, "
                     "the encoder learns to read it; no direction moves it, so edits keep the class")
    return f" ({a.nz} z + {'; then '.join(parts)})" if parts else ""


def card_text(tr: VaeTrainer, argv: list[str], name: str, metrics: dict | None = None, directions: str = "") -> str:
    a, run = tr.args, tr.run
    command = tilde(run.config.get("command") or command_line("vae", argv))
    metrics = metrics or {}
    rec = "\n".join(f"| {k} | {v[0]:.2f} | {v[1]:.4f} |" for k, v in metrics.items() if isinstance(v, tuple))
    evals = [h for h in run.history if "psnr_held" in h]
    fids = [h for h in evals if "fid" in h]
    rows = [h for h in run.history if "loss" in h]
    return f"""# {name}

Convolutional VAE 64x64 (encoder + decoder), trained by imgedit.

- **Data**: `{tilde(a.data)}` ({len(tr.data)} images{', labels `' + tilde(a.labels) + '`' if a.labels else ''};
  {len(tr.held)} held aside for the reconstruction numbers and the FID-like score)
- **Command** (the last training session's; rerunning it resumes or reproduces the run): `{command}`
- **Steps**: {run.step}, batch {a.batch}, Adam {a.lr:g}, {run.wall / 3600:.2f} h of training
- **Architecture**: latent {tr.latent_size}{latent_words(tr)}, encoder width {a.nef}, decoder width {a.ngf}, {'grayscale' if a.gray else 'RGB'}
- **Loss** per image: P x (per-pixel MSE + {a.perceptual:g} x perceptual distance) + beta x KL (nats),
  P = {64 * 64 * tr.channels} pixel values; beta {a.beta:g}, ramped up from 0 over {a.beta_warmup} steps
- **FID-like score** of prior samples (EfficientNet-Lite0 features, `imgedit.perceptual.fid`; lower is
  better; only comparable with itself): {metrics.get('fid_2000', 'n/a')} with 2,000 samples at export; during
  training ({a.fid_samples} samples): {', '.join(f"{h['fid']:.1f} @ {h['step']}" for h in fids) or 'n/a'}
- **Held-aside reconstruction PSNR during training**: {', '.join(f"{h['psnr_held']:.2f} dB @ {h['step']}" for h in evals) or 'n/a'}
- **Directions** (`--direction NAME:S`): {directions.replace(',', ', ') or 'none'}{"; attributes: each one's coordinate axis (the decoder's input; clamped to -1..+1), strength 1 = the class gap" if tr.cond_names else f"; attributes: mean difference of the labelled images' posterior means{pairing(a.pair_by)}, strength 1 = the class gap" if tr.data.attributes else ''}{f"; pc0..pc{a.pca - 1}: PCA of prior samples' pooled perceptual features regressed onto z, strength 1 = one standard deviation" if a.pca else ''}
- **Exported**: {utc_now()}, sha256 `{{SHA256}}`, {{SIZE}}
- **Licence**: {a.licence or 'as the training data'}

## Reconstruction of {metrics.get('held', 0)} held-aside images (never trained on)

| method | PSNR dB | perceptual distance |
|---|---|---|
{rec or '| n/a | | |'}

## Losses
{loss_table(rows[::max(1, len(rows) // 12)] or [{'step': 0}])}
"""


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    from imgedit_vae.plugin import SHIPPED

    check_model_name("vae", args.name, SHIPPED, ship=args.ship, exporting=args.export or args.export_only)
    for every in ("eval_every", "preview_every"):
        if getattr(args, every) < 1:
            raise SystemExit(f"--{every.replace('_', '-')} must be at least 1")
    if args.beta < 0 or args.perceptual < 0:
        raise SystemExit("--beta and --perceptual must be >= 0")
    args.out = args.out or train_root() / f"vae-{args.name}"
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    tr = VaeTrainer(args, log)
    if not tr.run.resume() and args.export_only:
        raise SystemExit(f"no checkpoint in {args.out}: train first (the same command without --export-only)")
    if not args.export_only:
        tr.run.config["command"] = command_line("vae", [x for x in argv if x not in ("--export", "--ship")])
        t0 = time.perf_counter()
        tr.fit()
        log(f"trained to step {tr.run.step} in {(time.perf_counter() - t0) / 60:.1f} min this session")
    if args.export or args.export_only or args.ship:
        tensors, meta = export_tensors(tr)
        name = f"vae.{args.name}"
        metrics = export_metrics(tr)
        log(f"export metrics: {metrics}")
        card = card_text(tr, argv, name, metrics, meta["directions"])
        out = ship_or_export(tensors, base="vae", name=args.name, weight="vae", card=card, metadata=meta,
                             latent_size=tr.latent_size, ship=args.ship, plugin_file=PLUGIN_FILE, folder=args.models_dir,
                             summary=args.summary or f"VAE trained on {args.data.name}", log=log)
        log(f"exported {out}")
    return 0
