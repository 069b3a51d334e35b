"""Style-transfer quality of every method on held-aside photos (issue 18; not a test).

What it measures (photos the networks never saw, long side ``--size``, default 512):

* **decoder round trip** (the arbitrary method's decoder applied to the encoder's own features,
  no style): PSNR, SSIM, sharpness (Laplacian variance as a fraction of the photo's), saturation
  against the photo's, periodic-artefact energy; rows for a bicubic x4 and x2 down-up round trip
  as yardsticks;
* **style and content loss against the optimisation method** on the same photo and painting, with
  the plugin's own losses (normalised Gram loss at stem, block0/2/4/7/10; normalised content MSE
  at block7; the painting at the picture's long side, as ``--method optimize`` uses it):
  ``style x`` = a method's style loss / optimize's, ``content x`` likewise; ``gap closed`` per tap =
  (photo's loss - method's) / (photo's loss - optimize's);
* **periodic-artefact energy** at 4, 8 and 16 px periods against the photo's: the power at the
  grid's spectral peaks (luma, Hann window, horizontal, vertical and diagonal harmonics) over the
  power around them; an upsampling grid gives sharp peaks there, a photo none;
* **saturation** (mean HSV saturation) against the photo's;
* **chroma speckle**: RMS of the Cb/Cr channels minus their Gaussian blur (sigma 2 px) against
  the painting's own at the same size (optimisation's magenta/rainbow noise).

Methods: ``fast`` (shipped styles with fast weights), ``arbitrary`` (shipped styles and unseen
paintings), ``optimize`` (the reference; its results are cached in ``--cache``).
``--decoder FILE`` / ``--fast-dir DIR`` evaluate candidate weights (a training run's
``last.safetensors`` or an exported file) instead of the shipped ones.

    python benchmarks/style_quality.py [--photos 4] [--unseen 4] [--size 512] [--threads 2]
        [--methods decoder,fast,arbitrary,optimize] [--speed]

Photos: ~/.cache/imgedit/media/eval (``bash tools/fetch_media.sh``; held aside from training) and
../shared/data/content when present. Unseen paintings: ~/.cache/imgedit/media/styles/gcompris_paintings.
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from imgedit.metrics import laplacian_variance, psnr, saturation, ssim
from imgedit_style.train import network_state

HOME_MEDIA = Path.home() / ".cache" / "imgedit" / "media"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
#: colour photos in the media catalog's eval/ folder (never in a training set)
EVAL_PHOTOS = ("imgaug/quokka.jpg", "opencv/data__aloeL.jpg", "opencv/data__graf1.png",
               "skimage/motorcycle_left.png", "opencv/data__rubberwhale1.png")
SHIPPED = ("starry_night", "wave", "udnie", "the_scream", "composition_vii")
PERIODS = (4, 8, 16)


# -- data -------------------------------------------------------------------------------------------
def read(path: Path, long_side: int) -> torch.Tensor:
    from PIL import Image

    from imgedit_style.color import resize_long

    im = Image.open(path).convert("RGB")
    x = torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1)[None].float() / 255
    x = resize_long(x, long_side)
    h, w = (x.shape[-2] // 16) * 16, (x.shape[-1] // 16) * 16  # whole 16 px periods
    return x[..., :h, :w].contiguous()


def photo_paths(n: int) -> list[Path]:
    paths = [HOME_MEDIA / "eval" / p for p in EVAL_PHOTOS]
    paths += sorted((SHARED / "content").glob("*.jpg"))
    paths = [p for p in paths if p.exists()]
    if not paths:
        raise SystemExit("no held-aside photos: run `bash tools/fetch_media.sh` first")
    return paths[:n]


def unseen_paintings(n: int) -> list[Path]:
    """The 8 Van Goghs of media/styles/gcompris_paintings (not media/styles/train_paintings, which the
    stylizing decoder trains on)."""
    return sorted(p for p in (HOME_MEDIA / "styles" / "gcompris_paintings").rglob("*")
                  if p.suffix.lower() in (".jpg", ".png", ".webp"))[:n]


# -- measures ----------------------------------------------------------------------------------------
def luma(x: torch.Tensor) -> torch.Tensor:
    w = torch.tensor([0.299, 0.587, 0.114], device=x.device).view(1, 3, 1, 1)
    return (x.float() * w).sum(1, keepdim=True)


def periodic_energy(x: torch.Tensor, period: int) -> float:
    """Power at the spectral peaks of a ``period`` px grid over the power around them (luma)."""
    g = luma(x)[0, 0].double()
    h, w = g.shape
    win = torch.hann_window(h, periodic=False, dtype=torch.float64)[:, None] * \
        torch.hann_window(w, periodic=False, dtype=torch.float64)[None, :]
    p = torch.fft.fft2((g - g.mean()) * win).abs().pow(2)
    ky, kx = h // period, w // period
    ratios = []
    for fy, fx in ((0, kx), (ky, 0), (ky, kx), (ky, w - kx)):
        ys = [(fy + d) % h for d in range(-4, 5)]
        xs = [(fx + d) % w for d in range(-4, 5)]
        patch = p[ys][:, xs]
        peak = patch[3:6, 3:6].max()
        ring = torch.cat([patch[:2].flatten(), patch[-2:].flatten(), patch[2:-2, :2].flatten(), patch[2:-2, -2:].flatten()])
        ratios.append(float(peak / ring.mean().clamp_min(1e-20)))
    return sum(ratios) / len(ratios)


def chroma_speckle(x: torch.Tensor) -> float:
    from imgedit_style.color import rgb_to_ycbcr

    c = rgb_to_ycbcr(x.float())[:, 1:]
    r = 6
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-t ** 2 / (2 * 2.0 ** 2))
    k = k / k.sum()
    blur = F.conv2d(F.pad(c, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1).expand(2, 1, 1, -1), groups=2)
    blur = F.conv2d(F.pad(blur, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1).expand(2, 1, -1, 1), groups=2)
    return float((c - blur).pow(2).mean().sqrt())


class Losses:
    """The plugin's style/content losses of an image against a photo and a painting."""

    def __init__(self, encoder):
        from imgedit.perceptual.losses import DEFAULT_CONTENT_TAPS, DEFAULT_STYLE_TAPS

        self.enc, self.style_taps, self.content_tap = encoder, DEFAULT_STYLE_TAPS, DEFAULT_CONTENT_TAPS[0]
        self._grams: dict = {}

    def _feats(self, x: torch.Tensor) -> dict:
        xp = F.pad(x, (16, 16, 16, 16), mode="reflect")  # as optimize pads
        return self.enc(xp, list(dict.fromkeys([*self.style_taps, self.content_tap])))

    def grams(self, key: str, painting: torch.Tensor, long_side: int) -> dict:
        from imgedit.perceptual import style_grams
        from imgedit_style.color import resize_long

        if (key, long_side) not in self._grams:
            self._grams[(key, long_side)] = style_grams([resize_long(painting, long_side)], self.style_taps, encoder=self.enc)
        return self._grams[(key, long_side)]

    @torch.inference_mode()
    def __call__(self, out: torch.Tensor, photo: torch.Tensor, grams: dict) -> dict:
        from imgedit.perceptual import content_loss, style_loss

        fo, fp = self._feats(out), self._feats(photo)
        row = {f"style_{t}": float(style_loss({t: fo[t]}, {t: grams[t]})) for t in self.style_taps}
        row["style"] = sum(row[f"style_{t}"] for t in self.style_taps)
        row["content"] = float(content_loss(fo[self.content_tap], fp[self.content_tap], normalize=True))
        return row


def image_measures(out: torch.Tensor, photo: torch.Tensor) -> dict:
    return {"saturation": saturation(out).item() / max(saturation(photo).item(), 1e-6),
            **{f"grid{p}": periodic_energy(out, p) / max(periodic_energy(photo, p), 1e-9) for p in PERIODS}}


# -- methods -------------------------------------------------------------------------------------------
def load_style(args):
    from imgedit import load_model

    m = load_model("style", precision=args.precision)
    sm = m.model
    if args.decoder:
        from imgedit_style.arbitrary import Decoder
        from imgedit_style.transformer import for_inference

        sm._decoder = for_inference(Decoder.from_state_dict(network_state(args.decoder)), sm.device, sm.ctx.dtype)
        sm._weight_names.add("decoder")
    if args.fast_dir:
        from imgedit_style.plugin import fast_weight_name
        from imgedit_style.transformer import TransformerNet, for_inference

        for f in sorted(Path(args.fast_dir).glob("*.safetensors")):
            name = f.stem.removeprefix("style-")
            sm._fast[name] = for_inference(TransformerNet.from_state_dict(network_state(f)), sm.device, sm.ctx.dtype)
            sm._weight_names.add(fast_weight_name(name))
    return m


def decoder_round_trip(sm, x: torch.Tensor) -> torch.Tensor:
    from imgedit_style.transformer import run_native

    dec = sm.decoder
    with torch.inference_mode():
        f = sm.encoder(x, list(dec.taps))
        return run_native(lambda z: dec.decode(z, size=tuple(x.shape[-2:])), f, sm.ctx.dtype).float().clamp(0, 1)


def bicubic_round_trip(x: torch.Tensor, factor: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    small = F.interpolate(x, size=(h // factor, w // factor), mode="bicubic", align_corners=False, antialias=True)
    return F.interpolate(small, size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1)


def optimize_cached(m, photo_key: str, style_key: str, x: torch.Tensor, style_arg, cache: Path | None,
                    overrides: dict):
    """``--method optimize``'s result, cached under a key of the photo, the painting, the size and
    every option value (defaults included, so a changed default is recomputed)."""
    import hashlib

    from safetensors.torch import load_file, save_file

    opts = {o.name: o.default for o in m.spec.options if o.name not in ("style", "method", "max_size")}
    opts = {k: (list(v) if isinstance(v, tuple) else v) for k, v in {**opts, **overrides}.items()}
    if opts.get("degrid") is False:  # the raw output: what the cache held before the option existed
        del opts["degrid"]
    tag = hashlib.sha1(json.dumps(opts, sort_keys=True, default=str).encode()).hexdigest()[:8]
    f = None if cache is None else cache / f"{photo_key}__{style_key}__{x.shape[-1]}x{x.shape[-2]}__{tag}.safetensors"
    if f is not None and f.exists():
        return load_file(str(f))["out"], float("nan")
    t0 = time.perf_counter()
    out = m.edit(x, overrides, style=style_arg, method="optimize", max_size=max(x.shape[-2:])).float()
    sec = time.perf_counter() - t0
    if f is not None:
        f.parent.mkdir(parents=True, exist_ok=True)
        save_file({"out": out.contiguous()}, str(f))
    return out, sec


def mean(rows: list[dict], key: str) -> float:
    vals = [r[key] for r in rows if key in r and not math.isnan(r[key])]
    return sum(vals) / len(vals) if vals else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=4)
    ap.add_argument("--unseen", type=int, default=4, help="unseen paintings for the arbitrary method")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--styles", default=",".join(SHIPPED))
    ap.add_argument("--methods", default="decoder,fast,arbitrary,optimize")
    ap.add_argument("--decoder", type=Path, default=None, help="candidate decoder weights")
    ap.add_argument("--fast-dir", type=Path, default=None, help="folder of candidate fast weights (NAME.safetensors)")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "imgedit" / "bench" / "style-optimize")
    ap.add_argument("--no-cache", action="store_true")
    ap.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE",
                    help="an option of the optimisation method (as imgedit's -o), e.g. chroma_tv=0")
    ap.add_argument("--no-degrid", action="store_true",
                    help="every method's raw output (the plugin's degrid option off; it is on by default)")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--speed", action="store_true", help="also time fast and arbitrary at 1920x1080")
    ap.add_argument("--save", type=Path, default=None, help="write every output as PNG here (to look at)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    methods = args.methods.split(",")
    styles = [s for s in args.styles.split(",") if s]
    cache = None if args.no_cache else args.cache
    opt_over = dict(kv.split("=", 1) for kv in args.opt)
    raw = {"degrid": False} if args.no_degrid else {}
    opt_over.update(raw)
    m = load_style(args)
    sm = m.model
    losses = Losses(sm.encoder)
    photos = [(p.stem, read(p, args.size)) for p in photo_paths(args.photos)]
    unseen = [(p.stem, read(p, 1024)) for p in unseen_paintings(args.unseen)] if "arbitrary" in methods else []
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{len(photos)} photos at {args.size} px: {', '.join(k for k, _ in photos)}")
    result: dict = {"photos": [k for k, _ in photos], "size": args.size}

    if "decoder" in methods:
        rows: dict[str, list] = {"decoder": [], "bicubic x4": [], "bicubic x2": []}
        for _, x in photos:
            for name, y in (("decoder", decoder_round_trip(sm, x)), ("bicubic x4", bicubic_round_trip(x, 4)),
                            ("bicubic x2", bicubic_round_trip(x, 2))):
                rows[name].append({"psnr": float(psnr(y, x)), "ssim": float(ssim(y, x)),
                                   "sharpness": float(laplacian_variance(y) / laplacian_variance(x)),
                                   **image_measures(y, x)})
        print("\n## Round trip (photo -> features -> decoder, no style)\n")
        print("| | PSNR dB | SSIM | sharpness (of photo's) | saturation (of photo's) | grid 4 / 8 / 16 px (x photo's) |")
        print("|---|---|---|---|---|---|")
        for name, rs in rows.items():
            print(f"| {name} | {mean(rs, 'psnr'):.2f} | {mean(rs, 'ssim'):.3f} | {100 * mean(rs, 'sharpness'):.1f}% | "
                  f"{mean(rs, 'saturation'):.3f} | {grids(rs)} |")
        result["round_trip"] = {k: {key: mean(v, key) for key in v[0]} for k, v in rows.items()}

    # style rows: (method, style key, style argument, painting tensor)
    jobs = []
    for s in styles:
        painting = sm.references[s]
        for meth in ("fast", "arbitrary"):
            if meth in methods and (meth != "fast" or sm.has_fast(s)):
                jobs.append((meth, s, s, painting))
    for key, painting in unseen:
        jobs.append(("arbitrary", f"unseen:{key}", painting, painting))
    if jobs and "optimize" not in methods:
        print("(style rows need the optimize reference: add optimize to --methods)")
        jobs = []
    per: dict[tuple[str, str], list] = {}
    opt_rows: dict[str, list] = {}
    t_opt = []
    for pk, x in photos:
        long_side = max(x.shape[-2:])
        done_opt: set = set()
        for meth, skey, sarg, painting in jobs:
            grams = losses.grams(skey, painting, long_side)
            if skey not in done_opt:
                out_o, sec = optimize_cached(m, pk, skey.replace(":", "_"), x, sarg, cache, opt_over)
                if not math.isnan(sec):
                    t_opt.append(sec)
                base = losses(x, x, grams)
                row = {**losses(out_o, x, grams), **image_measures(out_o, x), "base": base,
                       "speckle": chroma_speckle(out_o) / max(chroma_speckle(_resize_to(painting, out_o)), 1e-9)}
                opt_rows.setdefault(skey, []).append(row)
                done_opt.add(skey)
                _save(args.save, f"{pk}__{skey}__optimize", out_o)
            out = m.edit(x, style=sarg, method=meth, **raw).float()
            _save(args.save, f"{pk}__{skey}__{meth}", out)
            row = {**losses(out, x, grams), **image_measures(out, x),
                   "speckle": chroma_speckle(out) / max(chroma_speckle(_resize_to(painting, out)), 1e-9)}
            o = opt_rows[skey][-1]
            row["style x"] = row["style"] / o["style"]
            row["content x"] = row["content"] / max(o["content"], 1e-9)
            for t in ("style", *(f"style_{tap}" for tap in losses.style_taps)):
                gap = o["base"][t] - o[t]
                row[f"closed {t}"] = (o["base"][t] - row[t]) / gap if abs(gap) > 1e-9 else float("nan")
            per.setdefault((meth, skey), []).append(row)

    if per:
        print("\n## Style and content against the optimisation method (same photo and painting)\n")
        print("| method | style | style x opt | content x opt | gap closed | block7 / block10 closed | "
              "saturation | grid 4 / 8 / 16 px | chroma speckle (x painting's) |")
        print("|---|---|---|---|---|---|---|---|---|")
        groups: dict[str, list] = {}
        for (meth, skey), rs in per.items():
            label = "unseen" if skey.startswith("unseen:") else skey
            groups.setdefault(f"{meth} / all" if label != "unseen" else f"{meth} / unseen paintings", []).extend(rs)
            if label != "unseen":
                _print_row(f"{meth} | {skey}", rs)
        for g, rs in groups.items():
            _print_row(f"**{g.split(' / ')[0]}** | **{g.split(' / ')[1]}**", rs)
        orow = [r for rs in opt_rows.values() for r in rs]
        print(f"| optimize | all | - | 1 | 1 | 100% | 100% / 100% | {mean(orow, 'saturation'):.2f} | "
              f"{grids(orow)} | {mean(orow, 'speckle'):.2f} |")
        if t_opt:
            print(f"\noptimize: {sum(t_opt) / len(t_opt):.1f} s per image (computed this run: {len(t_opt)})")
        result["style"] = {f"{k[0]}:{k[1]}": {key: mean(v, key) for key in v[0] if key != "base"} for k, v in per.items()}
        result["optimize"] = {k: {key: mean(v, key) for key in v[0] if key != "base"} for k, v in opt_rows.items()}

    if args.speed:
        x = torch.rand(1, 3, 1080, 1920)
        print("\n## Speed at 1920x1080\n")
        for meth, s in (("fast", styles[0]), ("arbitrary", styles[0])):
            m.edit(x[..., :256, :256], style=s, method=meth, **raw)
            ts = []
            for _ in range(3):
                t0 = time.perf_counter()
                m.edit(x, style=s, method=meth, **raw)
                ts.append(time.perf_counter() - t0)
            print(f"- {meth}: {min(ts):.2f} s (best of 3; {', '.join(f'{t:.2f}' for t in ts)})")
            result.setdefault("speed_1080p", {})[meth] = min(ts)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


def grids(rs: list) -> str:
    return " / ".join(f"{mean(rs, 'grid%d' % p):.2f}" for p in PERIODS)


def _resize_to(img: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    from imgedit_style.color import resize_long

    return resize_long(img, max(like.shape[-2:]))


def _print_row(label: str, rs: list) -> None:
    print(f"| {label} | {mean(rs, 'style'):.3f} | {mean(rs, 'style x'):.2f} | {mean(rs, 'content x'):.2f} | "
          f"{100 * mean(rs, 'closed style'):.0f}% | {100 * mean(rs, 'closed style_block7'):.0f}% / "
          f"{100 * mean(rs, 'closed style_block10'):.0f}% | {mean(rs, 'saturation'):.2f} | "
          f"{grids(rs)} | {mean(rs, 'speckle'):.2f} |")


def _save(folder: Path | None, name: str, x: torch.Tensor) -> None:
    if folder is None:
        return
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    a = (x[0].clamp(0, 1).permute(1, 2, 0) * 255).round().byte().numpy()
    Image.fromarray(a).save(folder / f"{name.replace(':', '_')}.png")


if __name__ == "__main__":
    main()
