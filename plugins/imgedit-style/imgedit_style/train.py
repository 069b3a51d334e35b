"""Trainers: ``imgedit train style`` (fast network for one painting) and ``imgedit train
style-decoder`` (the feature decoder of the arbitrary method).

Both train on photos only (``--data``: folders searched recursively; e.g. the ~500 real photos that
``bash tools/fetch_media.sh`` extracts to ``~/.cache/imgedit/media/photos``), show a rich progress
bar with the running losses, checkpoint to ``~/.cache/imgedit/train/<run>/`` every
``--save-every`` steps and at the end (and on Ctrl-C), and resume from there automatically
(``--fresh`` starts over). Checkpoints are safetensors (weights and Adam moments) plus a JSON
state file: nothing is ever unpickled.

``--export`` writes ``pretrained/style-<name>.safetensors`` (fp16) and a model card
``style-<name>.md`` (data, command, steps, wall time, losses, sha256, licence), and records the
sha256 in the ``TRAINED WEIGHTS`` block of :mod:`imgedit_style.plugin` so the ``style`` model
declares the new weights (``--export-only`` re-exports the last checkpoint without training).

Speed-ups (measured in ``benchmarks/style_fast.py``): bf16 autocast for the network and the loss
encoder on CPUs with bf16 support, channels-last, photos pre-decoded once into memory at 1.25x the
crop size, and a resolution curriculum (``--curriculum 0.4``: the first 40% of the steps train on
half-size crops, four times cheaper; the network is fully convolutional, so it carries over).
"""
from __future__ import annotations

import argparse
import random
import re
import sys
from pathlib import Path
from typing import Callable

import torch

from imgedit.training import (Checkpoint, PhotoSet, TrainRun, bf16_autocast_default, command_line, export_user_model,
                              export_weights, loss_table, preview_photos, read_rgb, set_constant, set_dict_entry,
                              tilde, train_root, utc_now, write_sheet)

PLUGIN_FILE = Path(__file__).resolve().parent / "plugin.py"


def describe_data(dirs: list[str]) -> str:
    """Training folders for a model card: home shortened to ``~``, and where the photos come from."""
    shown = ", ".join(tilde(d) for d in dirs)
    if any(d.rstrip("/").endswith("media/photos") for d in dirs):
        shown += (" (~500 real photos from Debian wallpaper/photo packages, scikit-image, OpenCV and "
                  "imageio samples, installed by `bash tools/fetch_media.sh`; sources and licences in "
                  "`../shared/data/SOURCES.md`)")
    return shown


def default_export_dir() -> Path:
    from imgedit.weights import source_pretrained_dir

    return source_pretrained_dir()


def record_sha256(kind: str, name: str, sha: str) -> bool:
    """Declare exported weights in plugin.py's TRAINED WEIGHTS block. False if not possible."""
    if kind == "fast":
        return set_dict_entry(PLUGIN_FILE, "FAST_WEIGHTS", name, sha)
    return set_constant(PLUGIN_FILE, "DECODER_SHA256", sha)


def load_checkpoint(run_dir: Path, net: torch.nn.Module, opt: torch.optim.Optimizer | None) -> dict | None:
    ckpt = Checkpoint(run_dir, {"net": net}, {"opt": opt} if opt is not None else {})
    return None if ckpt.load() is None else _card_state(ckpt.state_path)


def write_preview(path: Path, net: torch.nn.Module, photos: list[torch.Tensor],
                  run: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
    """The preview sheet: photos (top row), the network's outputs (bottom row)."""
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            outputs = [(run or net)(p).float().clamp(0, 1) for p in photos]
    finally:
        net.train(was_training)
    write_sheet(path, [photos, outputs])


def jitter_arg(ap: argparse.ArgumentParser, what: str) -> None:
    ap.add_argument("--jitter", type=int, default=0, metavar="PX",
                    help=f"compute {what} at a random alignment in [0, PX) each step (the output cropped by "
                         "0..PX-1 px before the loss encoder; 4 removes the reward for a 4 px grid; default 0: off)")


def equivariance_arg(ap: argparse.ArgumentParser, what: str) -> None:
    ap.add_argument("--equivariance", type=float, default=0.0, metavar="W",
                    help=f"weight of a shift-equivariance loss: {what} by 1-3 px must be its output shifted "
                         "alike (L1, away from the borders); an output that depends on the position in the "
                         "stride-4 grid pays for it (default 0: off)")


def common_args(ap: argparse.ArgumentParser, steps: int, lr: float) -> None:
    ap.add_argument("--data", type=Path, action="append", required=True,
                    help="folder of photos (recursive; repeatable)")
    ap.add_argument("--steps", type=int, default=steps, help=f"training steps (default {steps})")
    ap.add_argument("--size", type=int, default=256, help="crop size (default 256)")
    ap.add_argument("--batch", type=int, default=4, help="batch size (default 4)")
    ap.add_argument("--lr", type=float, default=lr, help=f"Adam learning rate (default {lr})")
    ap.add_argument("--curriculum", type=float, default=0.4,
                    help="fraction of the steps trained on half-size crops (default 0.4; 0 = off)")
    ap.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save-every", type=int, default=250, help="checkpoint interval in steps")
    ap.add_argument("--log-every", type=int, default=50, help="loss log interval in steps")
    ap.add_argument("--run-dir", type=Path, default=None, help="checkpoint folder (default ~/.cache/imgedit/train/<run>)")
    ap.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint and start over")
    ap.add_argument("--export", action="store_true", help="export fp16 weights + model card when done")
    ap.add_argument("--export-only", action="store_true", help="export the last checkpoint, do not train")
    ap.add_argument("--export-dir", type=Path, default=None, help="where to export (default: the repo's pretrained/)")
    ap.add_argument("--quiet", action="store_true", help="no log lines (progress bar only)")
    ap.add_argument("--preview", type=Path, action="append", default=None,
                    help="photos for RUN_DIR/preview.jpg, written at every checkpoint (default: the bundled samples)")


def train_loop(*, args, net: torch.nn.Module, run_dir: Path, loss_fn: Callable[[torch.Tensor, bool], dict],
               data: PhotoSet, config: dict, description: str, log: Callable[[str], None],
               preview: Callable[[Path], None] | None = None) -> dict:
    """Run (or resume) the optimisation; returns the state dict written to ``state.json``.

    ``preview(path)`` (optional) is called after every checkpoint to write ``run_dir/preview.jpg``,
    so a run can be judged by eye before it is exported."""
    torch.manual_seed(args.seed)
    bf16 = bf16_autocast_default() if args.precision == "auto" else args.precision == "bf16"
    net.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    if args.fresh:
        for f in ("last.safetensors", "state.json"):
            (run_dir / f).unlink(missing_ok=True)
    run = TrainRun(run_dir, {"net": net}, {"opt": opt}, config, rng=random.Random(args.seed),
                   must_match=("arch",), log=log, name=description)
    run.resume()
    run.extra.setdefault("started", utc_now())
    half_until = int(args.curriculum * args.steps)

    def step(i: int) -> dict:
        size = max(32, args.size // 2) if i < half_until else args.size
        batch = data.batch(args.batch, size, run.rng).contiguous(memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            losses = loss_fn(batch, bf16)
        opt.zero_grad(set_to_none=True)
        losses["total"].backward()
        opt.step()
        return {"size": size, **{k: float(v.detach()) for k, v in losses.items()}}

    run.run(args.steps, step, log_every=args.log_every, ckpt_every=args.save_every,
            on_checkpoint=(lambda: preview(run_dir / "preview.jpg")) if preview is not None else None)
    return _card_state(run.ckpt.state_path)


def _card_state(state_path: Path) -> dict:
    """The saved run state in the shape the model cards read (``wall_seconds``, ``started``)."""
    import json

    state = json.loads(state_path.read_text())
    state["wall_seconds"] = state.get("wall", state.get("wall_seconds", 0.0))
    state.setdefault("started", state.get("extra", {}).get("started", "?"))
    for h in state.get("history", []):
        if "size" in h:
            h["size"] = int(h["size"])
    return state


# ------------------------------------------------------------------------------------------------
# imgedit train style
def _style_image(value: str) -> tuple[str, torch.Tensor]:
    """A shipped style name (from the references weight file) or an image path -> (name, (1,3,H,W))."""
    from imgedit_style.plugin import SHIPPED_STYLES, spec

    p = Path(value).expanduser()
    if p.is_file():
        img = read_rgb(p)
        if img is None:
            raise SystemExit(f"cannot read style image {p}")
        return re.sub(r"[^a-z0-9_]+", "_", p.stem.lower()).strip("_") or "style", img.float()[None] / 255.0
    if value in SHIPPED_STYLES:
        from imgedit import weights as weights_mod
        from imgedit_style.references import decode_reference

        return value, decode_reference(weights_mod.load(spec(), "references")[value])
    raise SystemExit(f"--style {value!r}: not an image file nor a shipped style ({', '.join(SHIPPED_STYLES)})")


def main_style(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="imgedit train style",
                                 description="Train a fast (Johnson) style network for one painting on photos.")
    ap.add_argument("--style", required=True, help="shipped style name or a painting's image file")
    ap.add_argument("--out", default=None, help="name of the style (default: the style name / file stem)")
    ap.add_argument("--style-size", type=int, default=384, help="long side of the painting for its Grams (default 384)")
    # chosen by looking at previews after 400 steps (starry_night): style 3 / content 1 wipes the
    # photo out entirely, style 1 / content 1 nearly so; style 1 / content 5 keeps faces readable
    ap.add_argument("--style-weight", type=float, default=1.0)
    ap.add_argument("--content-weight", type=float, default=5.0)
    ap.add_argument("--tv-weight", type=float, default=0.5)
    ap.add_argument("--content-taps", default="block7",
                    help="encoder taps of the content loss, comma-separated (default block7)")
    ap.add_argument("--width", type=int, default=16,
                    help="network width (default 16: 2.3x faster to train and run than Johnson et al.'s 32)")
    ap.add_argument("--blocks", type=int, default=5, help="residual blocks (default 5)")
    ap.add_argument("--upsample", choices=("nearest", "bilinear"), default="nearest",
                    help="x2 upsampling before each up-convolution (default nearest)")
    ap.add_argument("--style-tap-weight", action="append", default=[], metavar="TAP=W",
                    help="weight of one style tap's Gram term (default 1 each; repeatable), e.g. block10=4")
    jitter_arg(ap, "the losses")
    equivariance_arg(ap, "the network's output for the photo shifted")
    common_args(ap, steps=4000, lr=1e-3)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    from imgedit.perceptual import PerceptualLoss, jitter_crop, get_encoder, style_grams
    from imgedit_style.color import resize_long
    from imgedit_style.transformer import TransformerNet

    log = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    style_name, style_img = _style_image(args.style)
    name = args.out or style_name
    run_dir = args.run_dir or train_root() / f"style-{name}"
    torch.manual_seed(args.seed)  # reproducible initialisation
    net = TransformerNet(args.width, args.blocks, args.upsample)
    tap_weights = {}
    for item in args.style_tap_weight:
        tap, _, w = item.partition("=")
        try:
            tap_weights[tap.strip()] = float(w)
        except ValueError:
            raise SystemExit(f"--style-tap-weight {item!r}: expected TAP=WEIGHT, e.g. block10=4") from None
    config = {"arch": net.arch, "style": args.style, "style_size": args.style_size,
              "style_tap_weights": tap_weights, "jitter": args.jitter, "equivariance": args.equivariance,
              "style_weight": args.style_weight, "content_weight": args.content_weight, "tv_weight": args.tv_weight,
              "content_taps": args.content_taps, "size": args.size, "batch": args.batch, "lr": args.lr, "curriculum": args.curriculum,
              "data": [str(d) for d in args.data], "command": command_line("style", argv),
              "threads": torch.get_num_threads()}
    if not args.export_only:
        encoder = get_encoder("cpu")
        grams = style_grams(resize_long(style_img, args.style_size), encoder=encoder)
        from imgedit.perceptual import StyleLoss

        try:
            style = StyleLoss.from_grams(grams, tap_weights=tap_weights)
        except ValueError as exc:
            raise SystemExit(f"--style-tap-weight: {exc}") from None
        loss = PerceptualLoss(style, content_weight=args.content_weight,
                              content_taps=tuple(args.content_taps.split(",")),
                              style_weight=args.style_weight, tv_weight=args.tv_weight, encoder=encoder)

        def loss_fn(batch: torch.Tensor, bf16: bool) -> dict:
            full = net(batch)
            out, cropped = jitter_crop((full, batch), args.jitter)
            losses = loss(out, loss.content_targets(cropped))
            if args.equivariance > 0:
                eq = shift_equivariance(net, batch[:1], full[:1])
                losses = {**losses, "equivariance": eq, "total": losses["total"] + args.equivariance * eq}
            return losses

        data = PhotoSet(args.data, short_side=round(args.size * 1.25), min_side=args.size // 2, log=log)
        log(f"training style {name!r} ({config['arch']}) for {args.steps} steps -> {run_dir}")
        photos = preview_photos(args.preview)
        state = train_loop(args=args, net=net, run_dir=run_dir, loss_fn=loss_fn, data=data, config=config,
                           description=f"style {name}", log=log,
                           preview=lambda path: write_preview(path, net, photos))
    else:
        state = load_checkpoint(run_dir, net, None)
        if state is None:
            raise SystemExit(f"no checkpoint in {run_dir}")
    if args.export or args.export_only:
        _export_style(net, name, state, args, argv, log)
    return 0


def shift_equivariance(net: torch.nn.Module, x: torch.Tensor, out: torch.Tensor, max_shift: int = 3,
                       margin: int = 8) -> torch.Tensor:
    """L1 between ``net(x shifted by (dy, dx))`` and ``out`` (= ``net(x)``) shifted alike, for a random
    shift in [0, max_shift]^2 other than (0, 0) (torch's RNG), ``margin`` px from the borders. Zero
    for a shift-equivariant network; a stride-4 network with a position-dependent (grid) response
    pays for it."""
    while True:
        dy, dx = (int(v) for v in torch.randint(0, max_shift + 1, (2,)))
        if dy or dx:
            break
    shifted = net(x[:, :, dy:, dx:])
    ref = out[:, :, dy:, dx:]
    h, w = min(shifted.shape[-2], ref.shape[-2]), min(shifted.shape[-1], ref.shape[-1])
    m = margin
    return (shifted[:, :, m:h - m, m:w - m].float() - ref[:, :, m:h - m, m:w - m].float()).abs().mean()


def _loss_extras(cfg: dict) -> str:
    """The optional terms of a fast network's recipe for its card (empty for the plain recipe)."""
    parts = [f"{t} Gram x{w:g}" for t, w in cfg.get("style_tap_weights", {}).items()]
    if cfg.get("jitter"):
        parts.append(f"losses at a random {cfg['jitter']} px alignment")
    if cfg.get("equivariance"):
        parts.append(f"shift equivariance x{cfg['equivariance']:g}")
    return "; " + ", ".join(parts) if parts else ""


def _export_style(net, name: str, state: dict, args, argv: list[str], log) -> None:
    from imgedit_style.plugin import SHIPPED_STYLES

    out = (args.export_dir or default_export_dir()) / f"style-{name}.safetensors"
    painting = SHIPPED_STYLES.get(name)
    source = f"{painting[0]}, {painting[1]} ({painting[2]}), public domain" if painting else f"user image {state['config']['style']}"
    card = f"""# style-{name}: fast style network

Johnson-style feed-forward network ({state['config']['arch']}) for `imgedit stylize --style {name}`
(`--method fast`, the default for this style once the weights are present).

| | |
|---|---|
| file | `style-{name}.safetensors` (fp16, {{SIZE}}) |
| sha256 | `{{SHA256}}` |
| style | {source} |
| training data | photos only: {describe_data(state['config']['data'])} |
| command | `{tilde(state['config'].get('command', '?'))}` |
| steps | {state['step']} (batch {state['config']['batch']}, crops {state['config']['size']} px, first {state['config']['curriculum']:.0%} at half size) |
| wall time | {state['wall_seconds'] / 60:.1f} min |
| trained | started {state.get('started', '?')}, {state['config'].get('threads', '?')} torch CPU thread(s) |
| losses | content {state['config']['content_weight']}, style {state['config']['style_weight']}, TV {state['config']['tv_weight']} (EfficientNet-Lite0 perceptual losses){_loss_extras(state['config'])} |
| licence | MIT (weights); the painting is in the public domain |

## Loss curve

{loss_table(state['history'])}
"""
    meta = {"style": name, "arch": state["config"]["arch"], "steps": str(state["step"])}
    if not painting and args.export_dir is None:
        # a user's painting: the user models folder, usable as --style NAME with no source edited
        from imgedit_style.plugin import fast_weight_name

        out = export_user_model(net.state_dict(), name="style", base="style", weight=fast_weight_name(name),
                                card=card.replace(f"style-{name}.safetensors", f"style.{fast_weight_name(name)}.safetensors"),
                                metadata=meta)
        log(f"exported {out}: `imgedit stylize IN OUT --style {name}` uses it")
        return
    sha = export_weights(net.state_dict(), out, card, meta)
    log(f"exported {out} (sha256 {sha})")
    print(sha)
    if record_sha256("fast", name, sha):
        log(f"recorded in {PLUGIN_FILE}: FAST_WEIGHTS[{name!r}]")
    else:
        log(f"add to FAST_WEIGHTS in {PLUGIN_FILE}:  \"{name}\": \"{sha}\",")


# ------------------------------------------------------------------------------------------------
# imgedit train style-decoder
class PaintingStats:
    """Paintings for the stylizing decoder, read once; their feature statistics (per-tap mean and
    covariance for WCT) and Grams at a long side of ``SCALES`` x the crop size, cached per size.
    ``crops`` > 0 adds that many fixed random crops of each painting (40-80% of each side, some
    mirrored) as more styles: a painting's parts differ in palette and stroke scale, so a few
    paintings give many sets of statistics. The whole paintings come first (``paintings``)."""

    SCALES = (1.0, 1.25)

    def __init__(self, sources: list[Path], encoder, wct_taps, gram_taps, log: Callable[[str], None],
                 crops: int = 0, seed: int = 0):
        from imgedit.training import list_images

        self.encoder, self.wct_taps, self.gram_taps = encoder, tuple(wct_taps), tuple(gram_taps)
        self.images = [img.float()[None] / 255.0 for img in (read_rgb(f, 512) for f in list_images(sources))
                       if img is not None]
        if not self.images:
            raise SystemExit(f"--styles: no paintings found in {', '.join(map(str, sources))}")
        self.paintings = len(self.images)
        rng = random.Random(seed)
        for img in self.images[:self.paintings]:
            h, w = img.shape[-2:]
            for _ in range(crops):
                ch, cw = round(h * rng.uniform(0.4, 0.8)), round(w * rng.uniform(0.4, 0.8))
                y, x = rng.randrange(h - ch + 1), rng.randrange(w - cw + 1)
                part = img[..., y:y + ch, x:x + cw]
                self.images.append(part.flip(-1) if rng.random() < 0.5 else part)
        log(f"styles: {self.paintings} paintings" + (f" + {len(self.images) - self.paintings} crops" if crops else ""))
        self._cache: dict[tuple[int, int], dict] = {}

    def __len__(self) -> int:
        return len(self.images)

    def get(self, index: int, crop: int, scale: int) -> dict:
        return self.stats_at(index, round(crop * self.SCALES[scale]))

    @torch.no_grad()
    def stats_at(self, index: int, long_side: int) -> dict:
        """``{"mean": {tap: (1,C,1)}, "cov": {tap: (1,C,C)}, "gram": {tap: (1,C,C)}}`` of painting ``index``."""
        from imgedit.perceptual import gram_matrix
        from imgedit_style.arbitrary import feature_stats
        from imgedit_style.color import resize_long

        key = (index, long_side)
        if key not in self._cache:
            with torch.autocast("cpu", enabled=False):
                f = self.encoder(resize_long(self.images[index], long_side),
                                 tuple(dict.fromkeys((*self.wct_taps, *self.gram_taps))))
                st = {t: feature_stats(f[t]) for t in self.wct_taps}
                self._cache[key] = {"mean": {t: m for t, (m, _) in st.items()},
                                    "cov": {t: c for t, (_, c) in st.items()},
                                    "gram": {t: gram_matrix(f[t]) for t in self.gram_taps}}
        return self._cache[key]


def network_state(path: Path) -> dict:
    """A network's tensors from an exported file or a training checkpoint (its ``net.`` keys)."""
    from safetensors.torch import load_file

    state = load_file(str(path))
    if any(k.startswith("net.") for k in state):
        state = {k[4:]: v for k, v in state.items() if k.startswith("net.")}
    return state


def _init_sha256(source: str) -> str:
    """sha256 of the file ``--init`` names (``shipped``: the shipped decoder's declared sha256)."""
    import hashlib

    if source == "shipped":
        from imgedit_style.plugin import DECODER_SHA256

        return DECODER_SHA256 or "?"
    path = Path(source).expanduser()
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "?"


def _init_decoder(dec: torch.nn.Module, source: str) -> None:
    """Load starting weights (``shipped`` = the shipped decoder) into ``dec`` (same architecture)."""
    from imgedit import weights as weights_mod
    from imgedit_style.arbitrary import Decoder

    if source == "shipped":
        from imgedit_style.plugin import spec

        state = weights_mod.load(spec(), "decoder")
    else:
        state = network_state(Path(source).expanduser())
    other = Decoder.from_state_dict(state)
    if other.arch != dec.arch:
        raise SystemExit(f"--init {source}: a {other.arch} decoder, not {dec.arch}")
    dec.load_state_dict(other.state_dict())


def main_decoder(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="imgedit train style-decoder",
                                 description="Train the decoder of the arbitrary-style method to invert "
                                             "EfficientNet-Lite0 features of photos (no paintings needed).")
    ap.add_argument("--tap", default="block7", help="encoder tap the decoder inverts (default block7)")
    ap.add_argument("--width", type=int, default=128, help="decoder width (default 128)")
    ap.add_argument("--blocks", type=int, default=2, help="residual blocks at feature resolution (default 2)")
    ap.add_argument("--skips", default="auto",
                    help="multi-level: finer taps joined on the way up, comma-separated; 'auto' = those of "
                         "block4, block2 finer than --tap; 'none' = one level (the first decoder)")
    ap.add_argument("--upsample", choices=("nearest", "bilinear"), default="bilinear",
                    help="upsampling of the decoder stages (default bilinear; the first decoder: nearest)")
    ap.add_argument("--pixel-weight", type=float, default=1.0, help="L1 pixel loss weight")
    ap.add_argument("--feature-weight", type=float, default=1.0, help="perceptual feature loss weight")
    ap.add_argument("--saturation-weight", type=float, default=0.0,
                    help="weight of the gap between each reconstruction's mean HSV saturation and its photo's "
                         "(against washed-out colours; default 0)")
    ap.add_argument("--styles", type=Path, action="append", default=None,
                    help="paintings (folders, searched recursively): train the decoder to stylize too. Each "
                         "batch but its --identity part is WCT'd with a random painting's statistics and decoded; the loss asks "
                         "for those features (x --content-weight) and the painting's Grams (x --style-weight); "
                         "the rest of the batch reconstructs its photo as without --styles")
    ap.add_argument("--style-weight", type=float, default=1.0, help="--styles: Gram loss weight")
    ap.add_argument("--content-weight", type=float, default=1.0,
                    help="--styles: weight of the loss to the transformed (WCT) features")
    ap.add_argument("--painting-crops", type=int, default=0, metavar="K",
                    help="--styles: K fixed random crops of each painting (40-80%% of each side) as more styles")
    ap.add_argument("--identity", type=float, default=0.25,
                    help="--styles: fraction of each batch that reconstructs its photo (at least one image)")
    jitter_arg(ap, "--styles' Gram loss")
    equivariance_arg(ap, "the method's output (encode, WCT, decode) for the photo shifted")
    ap.add_argument("--init", default=None, metavar="FILE|shipped",
                    help="start from these decoder weights (same architecture); 'shipped' = the shipped decoder")
    common_args(ap, steps=8000, lr=5e-4)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    from imgedit.perceptual import DEFAULT_STYLE_TAPS, TAP_REDUCTIONS, ContentLoss, get_encoder, jitter_crop, style_loss
    from imgedit.metrics import saturation
    from imgedit_style.arbitrary import Decoder, wct

    log = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    run_dir = args.run_dir or train_root() / "style-decoder"
    torch.manual_seed(args.seed)  # reproducible initialisation
    if args.skips == "auto":
        skips = tuple(t for t in ("block4", "block2") if TAP_REDUCTIONS.get(args.tap, 0) > TAP_REDUCTIONS[t])
    else:
        skips = tuple(t for t in args.skips.split(",") if t and t != "none")
    try:
        dec = Decoder(args.tap, args.width, args.blocks, skips, args.upsample)
    except ValueError as e:
        raise SystemExit(f"imgedit train style-decoder: {e}")
    config = {"arch": dec.arch, "size": args.size, "batch": args.batch,
              "lr": args.lr, "curriculum": args.curriculum, "pixel_weight": args.pixel_weight,
              "feature_weight": args.feature_weight, "saturation_weight": args.saturation_weight, "data": [str(d) for d in args.data],
              "command": command_line("style-decoder", argv), "threads": torch.get_num_threads()}
    if args.styles:
        config.update(styles=[str(d) for d in args.styles], style_weight=args.style_weight,
                      content_weight=args.content_weight, identity=args.identity, jitter=args.jitter,
                      equivariance=args.equivariance, painting_crops=args.painting_crops)
    elif args.jitter or args.equivariance or args.painting_crops:
        raise SystemExit("imgedit train style-decoder: --jitter, --equivariance and --painting-crops act on "
                         "the stylizing batches: add --styles DIR")
    if args.init:
        config.update(init=args.init, init_sha256=_init_sha256(args.init))
    if not args.export_only:
        if args.init and (args.fresh or not (run_dir / "state.json").exists()):
            _init_decoder(dec, args.init)
        encoder = get_encoder("cpu")
        feat_taps = tuple(dict.fromkeys((*DEFAULT_STYLE_TAPS[:4], *dec.taps)))
        feature_loss = ContentLoss(feat_taps, normalize=True)
        transformed_loss = ContentLoss(dec.taps, normalize=True)
        paintings = PaintingStats(args.styles, encoder, dec.taps, DEFAULT_STYLE_TAPS, log, args.painting_crops,
                                  args.seed) if args.styles else None

        def transform(feats: dict, mean: dict, cov: dict) -> dict:
            return {t: wct(feats[t].float(), mean[t], cov[t]) for t in dec.taps}

        def stylize(x: torch.Tensor, st: dict) -> torch.Tensor:
            """The arbitrary method with one painting's statistics ``st`` (PaintingStats)."""
            return dec.decode(transform(encoder(x, dec.taps), st["mean"], st["cov"]), size=tuple(x.shape[-2:]))

        def reconstruction(batch: torch.Tensor) -> dict:
            with torch.no_grad():
                target = encoder(batch, feat_taps)
            y = dec.decode(target, size=tuple(batch.shape[-2:]))
            pix = (y.float() - batch.float()).abs().mean()
            feat = feature_loss(encoder(y, feat_taps), target)
            out = {"pixel": pix, "feature": feat, "total": args.pixel_weight * pix + args.feature_weight * feat}
            if args.saturation_weight:
                sat = (saturation(y.clamp(0, 1)) - saturation(batch)).abs().mean()
                out.update(saturation=sat, total=out["total"] + args.saturation_weight * sat)
            return out

        def stylization(batch: torch.Tensor) -> dict:
            size = batch.shape[-1]
            picks = torch.randint(len(paintings), (batch.shape[0],)).tolist()
            scales = torch.randint(len(PaintingStats.SCALES), (batch.shape[0],)).tolist()
            stats = [paintings.get(i, size, s) for i, s in zip(picks, scales)]
            with torch.no_grad():
                target = transform(encoder(batch, dec.taps), {t: torch.cat([st["mean"][t] for st in stats]) for t in dec.taps},
                                   {t: torch.cat([st["cov"][t] for st in stats]) for t in dec.taps})
            y = dec.decode(target, size=tuple(batch.shape[-2:]))
            grams = {t: torch.cat([st["gram"][t] for st in stats]) for t in DEFAULT_STYLE_TAPS}
            if args.jitter:  # Grams of the output at a random alignment; the WCT targets at its own
                content = transformed_loss(encoder(y, dec.taps), target)
                style = style_loss(encoder(jitter_crop([y], args.jitter)[0], DEFAULT_STYLE_TAPS), grams)
            else:
                fy = encoder(y, tuple(dict.fromkeys((*DEFAULT_STYLE_TAPS, *dec.taps))))
                content, style = transformed_loss(fy, target), style_loss(fy, grams)
            out = {"content": content, "style": style, "total": args.content_weight * content + args.style_weight * style}
            if args.equivariance > 0:  # the whole method (encode, WCT, decode) on a shifted photo
                eq = shift_equivariance(lambda z: stylize(z, stats[0]), batch[:1], y[:1])
                out.update(equivariance=eq, total=out["total"] + args.equivariance * eq)
            return out

        def loss_fn(batch: torch.Tensor, bf16: bool) -> dict:
            if paintings is None:
                return reconstruction(batch)
            n_id = max(1, round(args.identity * batch.shape[0]))
            rec = reconstruction(batch[:n_id])
            if n_id >= batch.shape[0]:
                return rec
            sty = stylization(batch[n_id:])
            w = n_id / batch.shape[0]
            return {**{k: v for k, v in rec.items() if k != "total"}, **{k: v for k, v in sty.items() if k != "total"},
                    "total": w * rec["total"] + (1 - w) * sty["total"]}

        data = PhotoSet(args.data, short_side=round(args.size * 1.25), min_side=args.size // 2, log=log)
        log(f"training the style decoder ({config['arch']}) for {args.steps} steps -> {run_dir}")
        photos = preview_photos(args.preview)

        def reconstruct(x: torch.Tensor) -> torch.Tensor:
            return dec.decode(encoder(x, list(dec.taps)), size=tuple(x.shape[-2:]))

        def preview(path: Path) -> None:
            write_preview(path, dec, photos, reconstruct)
            if paintings is not None:  # preview-style.jpg: the photos stylized with two of the paintings
                dec.eval()
                try:
                    with torch.no_grad():
                        rows = [photos] + [[stylize(x, paintings.stats_at(i, max(x.shape[-2:]))).clamp(0, 1)
                                            for x in photos]
                                           for i in (0, paintings.paintings // 2)]
                finally:
                    dec.train()
                write_sheet(path.with_name("preview-style.jpg"), rows)

        state = train_loop(args=args, net=dec, run_dir=run_dir, loss_fn=loss_fn, data=data, config=config,
                           description="style-decoder", log=log, preview=preview)
    else:
        state = load_checkpoint(run_dir, dec, None)
        if state is None:
            raise SystemExit(f"no checkpoint in {run_dir}")
    if args.export or args.export_only:
        out = (args.export_dir or default_export_dir()) / "style-decoder.safetensors"
        cfg = state["config"]
        rec = (f"L1 pixel x{cfg['pixel_weight']} + normalised feature MSE x{cfg['feature_weight']}"
               + (f" + mean HSV saturation gap x{cfg['saturation_weight']}" if cfg.get("saturation_weight") else ""))
        if cfg.get("styles"):
            what = (f"Trained to reconstruct photos and to stylize them: {1 - cfg['identity']:.0%} of each batch "
                    "is WCT'd with a random training painting's statistics, decoded, and asked for those features "
                    "and the painting's Grams.")
            data = (f"photos: {describe_data(cfg['data'])}; paintings: {', '.join(tilde(d) for d in cfg['styles'])}"
                    + (" (20 paintings reassembled from GCompris' jigsaw pieces, WebMuseum scans, GPL-3+; "
                       "`bash tools/fetch_media.sh`)" if any("train_paintings" in d for d in cfg["styles"]) else ""))
            losses = (f"{cfg['identity']:.0%} of each batch: {rec}; the rest: normalised MSE to the WCT'd "
                      f"features x{cfg['content_weight']} + Gram loss (stem, block0/2/4/7/10) x{cfg['style_weight']}"
                      + (f" at a random {cfg['jitter']} px alignment" if cfg.get("jitter") else "")
                      + (f"; paintings and {cfg['painting_crops']} random crops of each" if cfg.get("painting_crops") else "")
                      + (f" + shift equivariance x{cfg['equivariance']:g}" if cfg.get("equivariance") else ""))
        else:
            what, data, losses = "Trained on photos only (reconstruction), never on paintings.", \
                f"photos only: {describe_data(cfg['data'])}", rec
        start = (f"\n| starting weights | `{tilde(cfg['init'])}` (sha256 `{cfg.get('init_sha256', '?')}`) |"
                 if cfg.get("init") else "")
        card = f"""# style-decoder: decoder of the arbitrary-style method

Inverts EfficientNet-Lite0 {', '.join(f'`{t}`' for t in dec.taps)} features to images; `imgedit stylize --method arbitrary`
whitens/colours those features with any painting's statistics (WCT) and decodes them. {what}

| | |
|---|---|
| file | `style-decoder.safetensors` (fp16, {{SIZE}}) |
| sha256 | `{{SHA256}}` |
| architecture | {cfg['arch']} |
| training data | {data} |
| command | `{tilde(cfg.get('command', '?'))}` |{start}
| steps | {state['step']} (batch {cfg['batch']}, crops {cfg['size']} px) |
| wall time | {state['wall_seconds'] / 60:.1f} min |
| losses | {losses} |
| licence | MIT |

## Loss curve

{loss_table(state['history'])}
"""
        sha = export_weights(dec.state_dict(), out, card, {"arch": state["config"]["arch"], "steps": str(state["step"])})
        log(f"exported {out} (sha256 {sha})")
        print(sha)
        if record_sha256("decoder", "decoder", sha):
            log(f"recorded in {PLUGIN_FILE}: DECODER_SHA256")
        else:
            log(f"set DECODER_SHA256 = \"{sha}\" in {PLUGIN_FILE}")
    return 0
