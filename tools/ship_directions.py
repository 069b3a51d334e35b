"""Re-make the attribute directions of a shipped latent model from a labels file, without
retraining it (its run folder may be gone): the labelled images are encoded as the trainers do at
export (``encode(x, steps=0)``: a GAN's encoder, a VAE's posterior mean), one direction per 0/1
column (``--pair-by``: paired within equal columns, :func:`imgedit.directions.paired_difference`)
replaces ``direction.<name>`` in ``pretrained/BASE-NAME.safetensors``; every other tensor and the
metadata stay. The new sha256 goes into the plugin's ``SHIPPED`` table and the model card, which
gains a line saying what was re-made and by which command.

    .venv/bin/python tools/ship_directions.py gan.glyphs --labels ~/.cache/imgedit/data/glyphs/labels.csv \\
        --pair-by family,char
"""
from __future__ import annotations

import argparse
import re
import shlex
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="tools/ship_directions.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="a shipped latent model, BASE.NAME (e.g. gan.glyphs)")
    ap.add_argument("--labels", type=Path, required=True, help="labels.csv (its folder holds the images)")
    ap.add_argument("--pair-by", default="", metavar="COLS", help="paired directions within these columns")
    ap.add_argument("--repo", type=Path, default=REPO, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    import torch
    from safetensors import safe_open

    from imgedit import load_model
    from imgedit.directions import directions_from_labels
    from imgedit.training import LabelledSet, export_weights, pairing, set_dict_entry, tilde, utc_now

    base, _, name = args.model.partition(".")
    weights = args.repo / "pretrained" / f"{base}-{name}.safetensors"
    card_file = weights.with_suffix(".md")
    plugin_file = args.repo / "plugins" / f"imgedit-{base}" / f"imgedit_{base}" / "plugin.py"
    if not (weights.is_file() and card_file.is_file() and plugin_file.is_file()):
        raise SystemExit(f"{args.model}: no shipped {tilde(weights)}, its card or {tilde(plugin_file)}")
    with safe_open(str(weights), "pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        meta = f.metadata() or {}
    model = load_model(args.model, precision="fp32").model
    data = LabelledSet(args.labels.expanduser().parent, 64, args.labels.expanduser(),
                       gray=meta.get("channels") == "1", log=lambda m: print(m, file=sys.stderr))
    shipped = [k[len("direction."):] for k in tensors if k.startswith("direction.")]
    attrs = [a for a in data.attributes if a in shipped]
    if not attrs:
        raise SystemExit(f"{args.labels}: none of its attribute columns is a direction of {args.model} "
                         f"({', '.join(shipped) or 'none'})")
    with torch.inference_mode():
        lat = torch.cat([model.encode(data.take(list(range(i, min(i + 500, len(data))))), steps=0).float()
                         for i in range(0, len(data), 500)])
    pair_by = tuple(c for c in args.pair_by.split(",") if c)
    made = directions_from_labels(lat, data.rows, attrs, pair_by=pair_by)
    for a, d in made.items():
        old = tensors[f"direction.{a}"].float()
        print(f"{a}: |old| {old.norm():.3f}, |new| {d.norm():.3f}, cosine {torch.nn.functional.cosine_similarity(old, d, 0):.3f}",
              file=sys.stderr)
        tensors[f"direction.{a}"] = d
    card = card_file.read_text()
    sha_old = re.search(r"sha256 `([0-9a-f]{64})`", card)
    if sha_old is None:
        raise SystemExit(f"{tilde(card_file)}: no sha256 line to update")
    card = card.replace(sha_old.group(1), "{SHA256}")
    card = re.sub(r"\{SHA256\}`, [0-9.]+ MB", "{SHA256}`, {SIZE}", card)
    command = shlex.join(["tools/ship_directions.py", *(argv if argv is not None else sys.argv[1:])])
    note = (f"- **Directions re-made** {utc_now()} (the networks unchanged): {', '.join(made)} from "
            f"`{tilde(args.labels)}` ({len(data)} images), mean difference of `encode(x, steps=0)`"
            f"{pairing(pair_by)}; command `{tilde(command)}`; before: sha256 `{sha_old.group(1)}`\n")
    lines = card.splitlines(keepends=True)
    at = next((i + 1 for i, ln in enumerate(lines) if ln.startswith("- **Directions**")), None)
    if at is None:  # no Directions line: at the end of the card's first list (its items and their continuations)
        at = next((i for i, ln in enumerate(lines) if ln.startswith("- ")), len(lines))
        while at < len(lines) and lines[at].startswith(("- ", "  ")):
            at += 1
    else:  # after the Directions line's continuation lines
        while at < len(lines) and lines[at].startswith("  "):
            at += 1
    card = "".join(lines[:at] + [note] + lines[at:])
    sha = export_weights(tensors, weights, card, meta)
    if not set_dict_entry(plugin_file, "SHIPPED", name, sha):
        raise SystemExit(f"add \"{name}\": \"{sha}\" to SHIPPED in {plugin_file}")
    print(f"wrote {tilde(weights)} (sha256 {sha}) and {tilde(card_file)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
