"""``--engine ray`` vs ``--engine local`` (issue 16; not a test).

    python benchmarks/ray_engine.py [--images 200] [--size 512] [--model style] [--repeat 3] [--scale 2000]

1. **Overhead**: the same ``--images`` photos (``--size``² crops of the bundled samples, varied by
   offset) through ``--model`` locally and on a private Ray instance (``--workers`` actors of
   ``--cpus-per-worker`` CPUs each): wall time, the fixed cost of Ray (start, actors, model load:
   a run of one image) and the per-image overhead = (Ray time - fixed cost - local time) / images,
   as a fraction of the model's time per image, for ``--repeat`` alternated local / Ray rounds
   (median; this VM's speed drifts by tens of percent over minutes); peak memory (RSS of the
   process tree, sampled); the CPU cores each process (driver, actor, raylet, Ray Data's stats
   actor...) uses in the steady state and over the whole run.
   Goal: per-image overhead < 5% of the model's time for the shipped style network at 512².
2. **Scale** (``--scale N`` small images, a cheap model): throughput with 1, 2, ... actors, to
   show where the driver (planning, result rows) or the filesystem becomes the limit.

Each run is a subprocess of the real CLI (``imgedit stylize ... --json``), as a user runs it.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXE = str(Path(sys.executable).parent / "imgedit")


def make_images(folder: Path, n: int, size: int) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    srcs = [Image.open(p).convert("RGB") for p in sorted((ROOT / "samples" / "photos").iterdir())]
    for i in range(n):
        im = srcs[i % len(srcs)]
        w, h = im.size
        s = min(w, h)
        off = (i * 7) % max(1, (max(w, h) - s) + 1)
        box = (off, 0, off + s, s) if w >= h else (0, off, s, off + s)
        im.crop(box).resize((size, size)).save(folder / f"img{i:05d}.png")


def tree_sample(pid: int, cpu: dict[int, tuple[str, float]]) -> int:
    """Bytes resident in ``pid`` and its descendants (Linux /proc; 0 elsewhere); records each
    process's CPU seconds so far (user + system) and role in ``cpu``."""
    kids: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    ticks: dict[int, float] = {}
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for d in Path("/proc").glob("[0-9]*"):
        try:
            stat = (d / "stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            ppid = int(fields[1])
            rss[int(d.name)] = int((d / "statm").read_text().split()[1]) * page
            ticks[int(d.name)] = (int(fields[11]) + int(fields[12])) / hz
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(d.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        if p in ticks:
            role = "driver (imgedit)" if p == pid else _role(p)  # (a worker renames itself once it is an actor)
            cpu[p] = (role if role != "?" else cpu.get(p, ("?", 0))[0], ticks[p])
        todo.extend(kids.get(p, []))
    return total


def _role(pid: int) -> str:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "?"
    for key, role in (("MapWorker", "actor (the model)"), ("StatsActor", "Ray Data stats actor"),
                      ("ray::", "other Ray workers"), ("default_worker", "other Ray workers")):
        if key in cmd:
            return role
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        comm = "?"
    return {"raylet": "raylet", "gcs_server": "GCS"}.get(comm, f"other Ray processes ({comm})")


def run(args: list[str]) -> dict:
    """One CLI run: wall seconds, peak RSS of its process tree, the summary record."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([EXE, *args, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]
    cpu: dict[int, tuple[str, float]] = {}
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], tree_sample(proc.pid, cpu))
            time.sleep(0.25)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out, err = proc.communicate()
    done.set()
    th.join()
    secs = time.perf_counter() - t0
    lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    summary = lines[-1] if lines else {}
    if proc.returncode != 0:
        print(err[-2000:], file=sys.stderr)
    by_role: dict[str, float] = {}
    for role, seconds in cpu.values():
        by_role[role] = by_role.get(role, 0.0) + seconds
    return {"seconds": secs, "peak_mb": peak[0] / 2**20, "summary": summary, "rc": proc.returncode,
            "cpu": by_role}


def cpu_table(r: dict) -> str:
    """CPU seconds by process role during one run (sampled every 0.25 s: a process's last quarter
    second may be missed)."""
    total = sum(r["cpu"].values()) or 1.0
    rows = [f"| {role} | {sec:.1f} s | {sec / total:.0%} |" for role, sec in
            sorted(r["cpu"].items(), key=lambda kv: -kv[1])]
    return "| process | CPU | share |\n|---|---|---|\n" + "\n".join(rows) + f"\n| all | {total:.1f} s over {r['seconds']:.1f} s wall | |"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--verb", default="stylize")
    ap.add_argument("--model", default="style")
    ap.add_argument("--extra", default="--style wave", help="verb flags (a shipped fast style)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--cpus-per-worker", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3, help="alternated local/ray repetitions (median reported)")
    ap.add_argument("--scale", type=int, default=0, help="small images for the throughput-vs-actors run")
    ap.add_argument("--scale-model", default="classic.adjust")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="imgedit-raybench-"))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"{args.images} images {args.size}x{args.size}, {args.verb} -m {args.model} {args.extra}")
    try:
        src = work / "in"
        make_images(src, args.images, args.size)
        make_images(work / "one", 1, args.size)
        base = [args.verb, "-m", args.model, *args.extra.split()]
        ray_flags = ["--engine", "ray", "--workers", str(args.workers), "--cpus-per-worker", str(args.cpus_per_worker)]
        rows, overs, reps = [], [], []
        for rep in range(args.repeat):  # alternated: this machine's speed drifts by tens of % over minutes
            local1 = run([*base, str(work / "one"), str(work / f"o-local1-{rep}")])
            ray1 = run([*base, str(work / "one"), str(work / f"o-ray1-{rep}"), *ray_flags])
            local = run([*base, str(src), str(work / f"o-local-{rep}")])
            ray_ = run([*base, str(src), str(work / f"o-ray-{rep}"), *ray_flags])
            reps.append((local1, ray1, local, ray_))
            for label, r in (("local, 1 image", local1), ("ray, 1 image", ray1), (f"local, {args.images}", local),
                             (f"ray, {args.images}", ray_)):
                rows.append(f"| {rep + 1} | {label} | {r['seconds']:.1f} s | {r['summary'].get('done')} | {r['peak_mb']:.0f} MB |")
        print("\n| rep | run | wall | done | peak RSS (process tree) |\n|---|---|---|---|---|")
        print("\n".join(rows))
        n = args.images
        print("\n| rep | model time per image (local) | ray time per image | per-image overhead | fixed cost of ray |")
        print("|---|---|---|---|---|")
        for rep, (local1, ray1, local, ray_) in enumerate(reps):
            model_per_image = (local["seconds"] - local1["seconds"]) / max(1, n - 1)  # local, start-up removed
            fixed = ray1["seconds"] - local1["seconds"] + model_per_image  # Ray's extra start-up cost
            ray_per_image = (ray_["seconds"] - ray1["seconds"]) / max(1, n - 1)
            over = ray_per_image - model_per_image
            overs.append(over / model_per_image)
            print(f"| {rep + 1} | {model_per_image * 1000:.0f} ms | {ray_per_image * 1000:.0f} ms | "
                  f"{over * 1000:+.0f} ms = {over / model_per_image:+.1%} | {fixed:.1f} s |")
        print(f"\nper-image overhead, median of {len(overs)}: {statistics.median(overs):+.1%} of the model's time (goal < 5%)")
        local1, ray1, local, ray_ = reps[-1]
        print("\nsteady state (the N-image run minus the 1-image run), CPU cores in use by process:")
        for label, one, many in (("local", local1, local), ("ray", ray1, ray_)):
            dt = many["seconds"] - one["seconds"]
            cores = {k: (many["cpu"].get(k, 0) - one["cpu"].get(k, 0)) / dt for k in many["cpu"]}
            print(f"- {label}: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(cores.items(), key=lambda kv: -kv[1])
                                              if abs(v) >= 0.005))
        print(f"\nCPU by process, ray {n} images (whole run):\n" + cpu_table(ray_))
        if args.scale:
            small = work / "small"
            make_images(small, args.scale, 64)
            print(f"\n## Scale: {args.scale} images 64x64, -m {args.scale_model}\n")
            print("| engine | actors | wall | images/s |\n|---|---|---|---|")
            sbase = ["edit", "-m", args.scale_model, "-o", "contrast=1.1"]
            r = run([*sbase, str(small), str(work / "s-local")])
            print(f"| local | - | {r['seconds']:.1f} s | {args.scale / r['seconds']:.1f} |")
            for k in (1, 2, 4):
                out = work / f"s-ray{k}"
                r = run([*sbase, str(small), str(out), "--engine", "ray", "--workers", str(k), "--cpus-per-worker", "0.5",
                         "--batch-size", "16"])
                print(f"| ray | {k} | {r['seconds']:.1f} s | {args.scale / r['seconds']:.1f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
