"""``--engine ray``: the same batch on a Ray cluster, with the local run's guarantees.

One private Ray instance serves the module (it costs seconds to start). The test plugin's model
inverts images and kills its own process (``os._exit``) on an image whose top-left pixel is pure
red: a decoder that crashes the worker. Skipped when ray is not installed (``imgedit[ray]``,
part of the test extra).
"""
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("ray.data")

from _imgedit_helpers import make_edit_plugin, run_cli  # noqa: E402

CRASHER = """
px = images[:, :, 0, 0]
if ((px[:, 0] > 0.99) & (px[:, 1] < 0.01) & (px[:, 2] < 0.01)).any():
    os._exit(3)
return 1 - images
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(shutil.which("ray", path=str(Path(sys.executable).parent)) is None, reason="no ray CLI")
def test_cluster_started_with_ray_start_is_joined_by_address(tmp_path):
    """`ray start --head` on loopback (its own temp dir), `imgedit ... --ray-address HOST:PORT`, `ray stop`.
    First in the module, before its private instance starts (`ray stop` stops every instance)."""
    ray_cli = str(Path(sys.executable).parent / "ray")
    port = _free_port()
    tmp = Path("/tmp") / f"imgedit-raytest-{os.getpid()}"
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}  # loopback
    env.pop("RAY_ADDRESS", None)
    start = subprocess.run([ray_cli, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
                            "--num-cpus", "1", "--include-dashboard", "false", "--temp-dir", str(tmp),
                            "--disable-usage-stats"], capture_output=True, text=True, env=env, timeout=120)
    try:
        assert start.returncode == 0, start.stderr[-2000:]
        src = tmp_path / "in"
        for i in range(3):
            _photo(src / f"p{i}.png", i)
        r = run_cli("edit", "-m", "classic.adjust", src, tmp_path / "out", "-o", "contrast=1.2", "--engine", "ray",
                    "--ray-address", f"127.0.0.1:{port}", "--json", env=env, timeout=240)
        assert r.returncode == 0, r.stderr[-2000:]
        summary = json.loads(r.stdout.strip().splitlines()[-1])
        assert summary["done"] == 3 and summary["failed"] == 0
        assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["p0.png", "p1.png", "p2.png"]
    finally:  # (first in the module: the module's private instance is not running yet)
        subprocess.run([ray_cli, "stop"], capture_output=True, env=env, timeout=120)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def ray_site(tmp_path_factory):
    """The crashing plugin on sys.path and PYTHONPATH (the workers' environment), and one
    private Ray instance for the module."""
    from imgedit import registry
    from imgedit.rayengine import connect
    from imgedit.runner import RunConfig

    site = tmp_path_factory.mktemp("raysite")
    make_edit_plugin(site, "raytest.crash", CRASHER, imports="import os",
                     summary="inverts; kills its process on a red-marked image")
    old_path, old_pp = list(sys.path), os.environ.get("PYTHONPATH")
    sys.path.insert(0, str(site))
    os.environ["PYTHONPATH"] = os.pathsep.join([str(site)] + ([old_pp] if old_pp else []))
    os.environ.pop("RAY_ADDRESS", None)
    registry.get_registry.cache_clear()
    import ray

    assert connect(RunConfig(engine="ray", ray_address="local"))
    yield site
    ray.shutdown()
    sys.path[:] = old_path
    if old_pp is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = old_pp
    registry.get_registry.cache_clear()


def _photo(path: Path, seed: int, red: bool = False, size=(24, 32)) -> Path:
    arr = (np.random.default_rng(seed).random((*size, 3)) * 200 + 20).astype(np.uint8)
    if red:
        arr[0, 0] = (255, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


def _folder(root: Path) -> Path:
    src = root / "in"
    for i in range(6):
        _photo(src / f"good{i}.png", i)
    _photo(src / "crash.png", 99, red=True)
    (src / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 50)
    return src


def _statuses(summary) -> dict:
    return {Path(r.input).name: r.status for r in summary.results}


def _temps(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if "imgedit-tmp" in p.name] if folder.exists() else []


def test_good_done_bad_failed_by_name_crash_isolated_and_rerun_skips(ray_site, tmp_path, capfd):
    from imgedit.runner import process

    src = _folder(tmp_path)
    before = {p.name: p.read_bytes() for p in src.iterdir()}
    out = tmp_path / "out"
    s = process([src], out, model="raytest.crash", engine="ray", batch_size=2, workers=2, progress=False)
    st = _statuses(s)
    assert st == {**{f"good{i}.png": "done" for i in range(6)}, "crash.png": "failed", "corrupt.png": "failed"}
    reasons = {Path(r.input).name: r.reason for r in s.results if r.status == "failed"}
    assert "worker crashed" in reasons["crash.png"]
    assert "corrupt" in reasons["corrupt.png"]  # the reader's reason, as locally
    assert s.exit_code == 1 and len(s.results) == 8
    assert sorted(p.name for p in out.iterdir()) == [f"good{i}.png" for i in range(6)]
    assert not _temps(out)
    assert {p.name: p.read_bytes() for p in src.iterdir()} == before  # inputs untouched
    assert "worker died" not in capfd.readouterr().out  # stdout stays clean for --json
    again = process([src], out, model="raytest.crash", engine="ray", batch_size=2, workers=2, progress=False)
    assert [_statuses(again)[f"good{i}.png"] for i in range(6)] == ["skipped"] * 6
    assert again.count("done") == 0 and again.exit_code == 1


def test_outputs_equal_the_local_engine(ray_site, tmp_path):
    from imgedit.runner import process

    src = tmp_path / "in"
    for i in range(5):
        _photo(src / f"p{i}.png", i, size=(40, 30 + i))
    loc = process([src], tmp_path / "local", model="classic.adjust", options={"saturation": 1.4, "contrast": 1.2},
                  progress=False)
    ray_ = process([src], tmp_path / "ray", model="classic.adjust", options={"saturation": 1.4, "contrast": 1.2},
                   engine="ray", progress=False)
    assert loc.count("done") == ray_.count("done") == 5
    for i in range(5):
        a = np.asarray(Image.open(tmp_path / "local" / f"p{i}.png"), dtype=int)
        b = np.asarray(Image.open(tmp_path / "ray" / f"p{i}.png"), dtype=int)
        assert a.shape == b.shape and np.abs(a - b).max() <= 1  # float rounding across thread counts


def test_generate_and_cli_json_through_ray(ray_site, tmp_path):
    from imgedit.runner import generate

    s = generate(tmp_path / "gen", model="classic.colorgrid", count=3, seed=5, engine="ray", progress=False)
    local = generate(tmp_path / "gen-local", model="classic.colorgrid", count=3, seed=5, progress=False)
    assert s.count("done") == local.count("done") == 3
    for f in sorted((tmp_path / "gen-local").iterdir()):
        assert np.array_equal(np.asarray(Image.open(f)), np.asarray(Image.open(tmp_path / "gen" / f.name)))


def test_dry_run_plans_without_starting_ray(tmp_path, monkeypatch):
    import imgedit.rayengine as re_

    def boom(*a, **k):
        raise AssertionError("ray started on a dry run")

    monkeypatch.setattr(re_, "connect", boom)
    src = tmp_path / "in"
    _photo(src / "a.png", 1)
    from imgedit.runner import process

    s = process([src], tmp_path / "out", model="classic.adjust", engine="ray", dry_run=True, progress=False)
    assert s.count("planned") == 1 and not (tmp_path / "out").exists()


def test_bad_address_is_a_one_line_usage_error(tmp_path):
    src = tmp_path / "in"
    _photo(src / "a.png", 1)
    r = run_cli("edit", "-m", "classic.adjust", src, tmp_path / "out", "--engine", "ray",
                "--ray-address", f"127.0.0.1:{_free_port()}", timeout=240)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "--ray-address" in r.stderr and "Traceback" not in r.stderr


def test_videos_are_one_job_each_and_match_the_local_engine(ray_site, tmp_path):
    from io_corpus import make_test_video

    from imgedit.io.video import probe_video
    from imgedit.runner import process

    src = tmp_path / "clips"
    src.mkdir()
    for name in ("a.mp4", "b.mp4"):
        make_test_video(src / name, n_frames=10, fps=20, size=(64, 48), with_audio=True)
    loc = process([src], tmp_path / "local", model="classic.blend", task="interpolate", progress=False)
    ray_ = process([src], tmp_path / "ray", model="classic.blend", task="interpolate", engine="ray", progress=False)
    assert loc.count("done") == ray_.count("done") == 2 and ray_.exit_code == 0
    for name in ("a.2x.mp4", "b.2x.mp4"):
        a, b = probe_video(tmp_path / "local" / name), probe_video(tmp_path / "ray" / name)
        assert a.frame_count == b.frame_count == 20 and a.fps == b.fps and b.has_audio
    # pixels: PNG frames (H.264 would turn a float rounding across thread counts into larger codec noise)
    loc = process([src], tmp_path / "local-f", model="classic.blend", task="interpolate", frames_out=True, progress=False)
    ray_ = process([src], tmp_path / "ray-f", model="classic.blend", task="interpolate", frames_out=True, engine="ray",
                   progress=False)
    assert loc.count("done") == ray_.count("done") == 2
    for name in ("a.2x", "b.2x"):
        fa = sorted((tmp_path / "local-f" / name).glob("*.png"))
        fb = sorted((tmp_path / "ray-f" / name).glob("*.png"))
        assert [f.name for f in fa] == [f.name for f in fb] and len(fa) == 20
        for x, y in zip(fa, fb):
            assert np.abs(np.asarray(Image.open(x), dtype=int) - np.asarray(Image.open(y), dtype=int)).max() <= 1




def test_ctrl_c_stops_the_ray_job_and_leaves_no_temps(tmp_path):
    """SIGINT to a CLI run on a private instance: exit 130, finished outputs kept, no temp files,
    no Ray process left behind; a rerun resumes."""
    import signal
    import time

    site = tmp_path / "site"
    make_edit_plugin(site, "rayslow.sleep", "time.sleep(1.0)\nreturn images", imports="import time")
    src = tmp_path / "in"
    for i in range(12):
        _photo(src / f"p{i:02d}.png", i)
    out = tmp_path / "out"
    rt = Path("/tmp") / f"imgedit-rt{os.getpid()}"  # short: Ray's unix sockets live there
    env = {**os.environ, "PYTHONPATH": str(site), "IMGEDIT_RAY_TMPDIR": str(rt)}
    env.pop("RAY_ADDRESS", None)
    exe = Path(sys.executable).parent / "imgedit"
    proc = subprocess.Popen([str(exe), "edit", "-m", "rayslow.sleep", src, out, "--engine", "ray", "--workers", "1"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not (out.exists() and any(p.suffix == ".png" and not p.name.startswith(".")
                                                                     for p in out.iterdir())):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    time.sleep(1)
    assert not _temps(out), _temps(out)
    done = [p.name for p in out.iterdir()]
    assert 1 <= len(done) < 12
    left = subprocess.run(["pgrep", "-f", str(rt)], capture_output=True, text=True).stdout.split()
    shutil.rmtree(rt, ignore_errors=True)
    assert not left, f"Ray processes left: {left}"
    again = run_cli("edit", "-m", "rayslow.sleep", src, out, "--json", env=env)  # local rerun resumes
    assert again.returncode == 0 and json.loads(again.stdout.splitlines()[-1])["skipped"] == len(done)
