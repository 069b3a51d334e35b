"""Start-up time of the CLI: `imgedit --help` (goal < 0.3 s) and `imgedit models`.

    .venv/bin/python benchmarks/startup.py [--runs 15] [--write]

Runs each command ``--runs`` times in a fresh process and reports min / median wall time, plus
whether torch or cv2 were imported (they must not be). ``--write`` updates BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXE = Path(sys.executable).parent / "imgedit"
PROBE = ("import sys, runpy; sys.argv={argv!r}\n"
         "try:\n    from imgedit.cli import main; main()\nexcept SystemExit: pass\n"
         "sys.stderr.write('\\nHEAVY=' + ','.join(m for m in ('torch','cv2','av') if m in sys.modules))")


def time_cmd(argv: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([str(EXE), *argv[1:]], capture_output=True, check=False)
        out.append(time.perf_counter() - t0)
    return out


def heavy_modules(argv: list[str]) -> str:
    res = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True)
    return res.stderr.rsplit("HEAVY=", 1)[-1].strip() or "none"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--write", action="store_true", help="update the section in BENCHMARKS.md")
    args = ap.parse_args()
    rows = []
    for argv in (["imgedit", "--help"], ["imgedit", "models"], ["imgedit", "plugins"]):
        times = time_cmd(argv, args.runs)
        rows.append((" ".join(argv), min(times), statistics.median(times), heavy_modules(argv)))
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")),
               platform.processor())
    lines = [
        "## CLI start-up (`benchmarks/startup.py`)",
        "",
        f"Machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}. "
        f"Command: `.venv/bin/python benchmarks/startup.py --runs {args.runs} --write`. Goal: `--help` < 0.3 s.",
        "",
        "| command | min (s) | median (s) | heavy modules imported |",
        "|---|---:|---:|---|",
    ] + [f"| `{c}` | {mn:.3f} | {md:.3f} | {h} |" for c, mn, md, h in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        write_section(ROOT / "BENCHMARKS.md", "## CLI start-up", text)


def write_section(path: Path, heading: str, text: str) -> None:
    """Replace (or append) the section that starts with ``heading`` in a markdown file."""
    old = path.read_text() if path.exists() else "# Benchmarks\n\nEach section: the machine, the command, the numbers.\n"
    start = old.find(heading)
    if start == -1:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        nxt = old.find("\n## ", start + len(heading))
        new = old[:start] + text + (old[nxt + 1:] if nxt != -1 else "")
        new = new if new.endswith("\n") else new + "\n"
    path.write_text(new)


if __name__ == "__main__":
    main()
