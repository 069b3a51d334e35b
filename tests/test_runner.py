"""The batch runner: skip / overwrite / resume / atomic writes / keep going / exit codes.

Most tests call :func:`imgedit.process` in-process with the built-in ``classic`` models; a few
run the real console script to check what a user sees (one line per bad file, exit codes).
"""
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from _imgedit_helpers import make_edit_plugin, make_plugin_dist, run_cli, sha256
from imgedit.errors import UsageError
from imgedit.runner import process


def _photo(path, size=(40, 30), color=(200, 100, 50), mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.zeros((size[1], size[0], 3), np.uint8)
    arr[...] = color
    arr[::4] = 255 - np.array(color, np.uint8)
    Image.fromarray(arr).convert(mode).save(path)
    return path


@pytest.fixture
def photos(tmp_path):
    src = tmp_path / "in"
    _photo(src / "a.png")
    _photo(src / "b.jpg", color=(10, 200, 30))
    _photo(src / "sub" / "c.png", color=(0, 0, 255))
    (src / "notes.txt").write_text("not an image, ignored inside folders")
    return src


def _statuses(summary):
    return {os.path.basename(r.input): r.status for r in summary.results}


def test_folder_mirrors_tree_and_skips_existing(photos, tmp_path):
    out = tmp_path / "out"
    s = process([photos], out, model="classic.adjust", options={"saturation": "0"}, recursive=True, progress=False)
    assert s.exit_code == 0 and s.count("done") == 3
    assert (out / "a.png").is_file() and (out / "b.jpg").is_file() and (out / "sub" / "c.png").is_file()
    rgb = np.asarray(Image.open(out / "a.png").convert("RGB")).astype(int)
    assert np.abs(rgb[..., 0] - rgb[..., 1]).max() <= 1  # saturation 0 -> grey
    mtime = (out / "a.png").stat().st_mtime_ns
    s2 = process([photos], out, model="classic.adjust", options={"saturation": "0"}, recursive=True, progress=False)
    assert s2.count("skipped") == 3 and s2.count("done") == 0
    assert (out / "a.png").stat().st_mtime_ns == mtime
    s3 = process([photos], out, model="classic.adjust", overwrite=True, recursive=True, progress=False)
    assert s3.count("done") == 3


def test_not_recursive_by_default_and_globs(photos, tmp_path):
    s = process([photos], tmp_path / "o1", model="classic.adjust", progress=False)
    assert set(_statuses(s)) == {"a.png", "b.jpg"}
    s = process([photos], tmp_path / "o2", model="classic.adjust", recursive=True, include=("*.png",), progress=False)
    assert set(_statuses(s)) == {"a.png", "c.png"}
    s = process([photos], tmp_path / "o3", model="classic.adjust", recursive=True, exclude=("sub/*",), progress=False)
    assert set(_statuses(s)) == {"a.png", "b.jpg"}
    # globs ignore case (camera files are B.JPG) and --exclude takes a folder name
    s = process([photos], tmp_path / "o4", model="classic.adjust", recursive=True, include=("*.JPG",), progress=False)
    assert set(_statuses(s)) == {"b.jpg"}
    s = process([photos], tmp_path / "o5", model="classic.adjust", recursive=True, exclude=("sub",), progress=False)
    assert set(_statuses(s)) == {"a.png", "b.jpg"}


def test_format_conversion_and_collisions(tmp_path):
    src = tmp_path / "in"
    _photo(src / "x.png")
    _photo(src / "x.jpg")
    s = process([src], tmp_path / "out", model="classic.adjust", fmt="webp", progress=False)
    outs = sorted(os.path.basename(r.output) for r in s.results)
    assert outs == ["x_jpg.webp", "x_png.webp"]  # deterministic: both carry their source extension
    assert Image.open(tmp_path / "out" / "x_jpg.webp").format == "WEBP"
    # the names do not depend on which files are present: x.png alone -> x.webp, and after x.jpg
    # appears a rerun makes both suffixed outputs instead of skipping x.jpg because of x.webp
    src2 = tmp_path / "in2"
    _photo(src2 / "x.png")
    s = process([src2], tmp_path / "out2", model="classic.adjust", fmt="webp", progress=False)
    assert [os.path.basename(r.output) for r in s.results] == ["x.webp"]
    _photo(src2 / "x.jpg")
    s = process([src2], tmp_path / "out2", model="classic.adjust", fmt="webp", progress=False)
    assert sorted((os.path.basename(r.output), r.status) for r in s.results) == [("x_jpg.webp", "done"), ("x_png.webp", "done")]


def test_dry_run_writes_nothing(photos, tmp_path):
    out = tmp_path / "out"
    s = process([photos], out, model="classic.adjust", dry_run=True, recursive=True, progress=False)
    assert s.count("planned") == 3 and not out.exists()


def test_output_never_overwrites_input(tmp_path):
    src = tmp_path / "in"
    _photo(src / "a.png")
    before = sha256(src / "a.png")
    s = process([src / "a.png"], src / "a.png", model="classic.adjust", overwrite=True, progress=False)
    assert s.exit_code == 1 and "overwrite an input" in s.results[0].reason
    assert sha256(src / "a.png") == before


def test_same_folder_in_and_out_is_safe(tmp_path):
    src = tmp_path / "in"
    _photo(src / "a.png")
    s = process([src], src, model="classic.adjust", fmt="jpg", progress=False)
    assert s.exit_code == 0 and (src / "a.jpg").exists()


def test_bad_options_are_usage_errors(photos, tmp_path):
    with pytest.raises(UsageError):
        process([photos], tmp_path / "o", model="classic.adjust", options={"saturation": "lots"})
    with pytest.raises(UsageError):
        process([photos], tmp_path / "o", model="classic.adjust", options={"nope": "1"})
    assert not (tmp_path / "o").exists()


def test_batching_same_and_mixed_sizes(tmp_path):
    src = tmp_path / "in"
    for i in range(5):
        _photo(src / f"{i}.png", size=(32, 32) if i < 3 else (20, 24))
    s1 = process([src], tmp_path / "b1", model="classic.sharpen", batch_size=1, progress=False)
    s4 = process([src], tmp_path / "b4", model="classic.sharpen", batch_size=4, progress=False)
    assert s1.count("done") == s4.count("done") == 5
    for i in range(5):
        a = np.asarray(Image.open(tmp_path / "b1" / f"{i}.png")).astype(int)
        b = np.asarray(Image.open(tmp_path / "b4" / f"{i}.png")).astype(int)
        assert np.abs(a - b).max() <= 1




def test_ctrl_c_leaves_no_partial_files_and_rerun_resumes(plugin_site, tmp_path, monkeypatch):
    make_edit_plugin(plugin_site, "test.interrupt", """
        Model.calls += 1
        if Model.calls == 3 and os.environ.get("IMGEDIT_TEST_INTERRUPT") == "1":
            raise KeyboardInterrupt
        return 1 - images""", imports="import os", summary="raises Ctrl-C on the 3rd image")
    src = tmp_path / "in"
    for i in range(5):
        _photo(src / f"{i}.png")
    out = tmp_path / "out"
    monkeypatch.setenv("IMGEDIT_TEST_INTERRUPT", "1")
    s = process([src], out, model="test.interrupt", progress=False)
    assert s.interrupted and s.exit_code == 130 and s.count("done") == 2
    assert sorted(p.name for p in out.iterdir()) == ["0.png", "1.png"]  # no temp or partial file
    monkeypatch.setenv("IMGEDIT_TEST_INTERRUPT", "0")
    s = process([src], out, model="test.interrupt", progress=False)
    assert s.count("skipped") == 2 and s.count("done") == 3 and s.exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == [f"{i}.png" for i in range(5)]




def test_model_failure_in_a_batch_fails_only_that_item(plugin_site, tmp_path):
    make_edit_plugin(plugin_site, "test.fail", """
        if images.shape[-1] > 35:
            raise RuntimeError("cannot handle wide images")
        return images""", summary="fails on wide images")
    src = tmp_path / "in"
    _photo(src / "1.png", size=(30, 30))
    _photo(src / "2.png", size=(40, 30))
    _photo(src / "3.png", size=(30, 30))
    s = process([src], tmp_path / "out", model="test.fail", batch_size=3, progress=False)
    assert _statuses(s) == {"1.png": "done", "2.png": "failed", "3.png": "done"}
    assert "cannot handle wide images" in next(r.reason for r in s.results if r.status == "failed")
    assert s.exit_code == 1


def test_bad_input_corpus_through_cli(tmp_path):
    """Every awkward file: the exact outcome, one line on stderr each, inputs byte-identical."""
    from io_corpus import make_bad_inputs

    src = tmp_path / "corpus"
    expected = make_bad_inputs(src)
    before = {p.name: sha256(p) for p in src.iterdir()}
    out = tmp_path / "out"
    res = run_cli("edit", "--model", "classic.adjust", src, out, "-o", "contrast=1.1", "--json")
    assert res.returncode == 1, res.stderr
    records = [json.loads(line) for line in res.stdout.splitlines()]
    summary = records[-1]
    items = {os.path.basename(r["input"]): r for r in records[:-1]}
    assert set(items) == set(expected), set(items) ^ set(expected)
    for name, reason in expected.items():
        r = items[name]
        if reason is None:
            assert r["status"] == "done", (name, r)
        else:
            assert r["status"] == "failed" and reason in r["reason"], (name, r)
    failed = [n for n, reason in expected.items() if reason]
    assert summary["failed"] == len(failed) and summary["done"] == len(expected) - len(failed)
    err_lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert "Traceback" not in res.stderr
    for name in failed:  # one line naming the file and the reason
        assert sum(name in ln for ln in err_lines) == 1, (name, res.stderr)
    assert {p.name: sha256(p) for p in src.iterdir()} == before
    leftovers = [p for p in out.rglob("*") if ".imgedit-tmp-" in p.name]
    assert not leftovers


def test_cli_exit_codes_and_messages(tmp_path):
    _photo(tmp_path / "in" / "a.png")
    res = run_cli("edit", "--model", "classic.adjust", tmp_path / "in" / "a.png")
    assert res.returncode == 2 and "needs at least one input and an output" in res.stderr
    res = run_cli("edit", "--model", "classic.adjust", tmp_path / "in", tmp_path / "o", "-o", "gamma=banana")
    assert res.returncode == 2 and "gamma" in res.stderr and "Traceback" not in res.stderr
    res = run_cli("edit", "--model", "classic.adjust", tmp_path / "missing.png", tmp_path / "o")
    assert res.returncode == 1 and "missing.png: file not found" in res.stderr
    res = run_cli("edit", "--bogus-flag")
    assert res.returncode == 2
    res = run_cli("edit", "--model", "classic.adjust", tmp_path / "in", tmp_path / "o", "--dry-run")
    assert res.returncode == 0 and "would write" in res.stdout and not (tmp_path / "o").exists()


def test_cli_stylize_without_provider_is_clear(tmp_path):
    _photo(tmp_path / "in" / "a.png")
    res = run_cli("stylize", tmp_path / "in", tmp_path / "o", env={"IMGEDIT_PLUGINS": "classic"})
    assert res.returncode == 2
    assert "no installed plugin provides `stylize`" in res.stderr and "Traceback" not in res.stderr
    res = run_cli("interpolate", tmp_path / "clip.mp4", env={"IMGEDIT_PLUGINS": "classic"})
    assert res.returncode == 2 and "no installed plugin provides `interpolate`" in res.stderr


def test_debug_shows_traceback(tmp_path):
    res = run_cli("edit", "--model", "classic.adjust", tmp_path, tmp_path / "o", env={"IMGEDIT_DEBUG": "1"})
    assert res.returncode == 2 and "Traceback" in res.stderr




def test_real_sigint_exits_130_without_partial_files_then_resumes(tmp_path):
    """A real Ctrl-C (SIGINT) to the running CLI: exit 130, only complete outputs, rerun resumes."""
    import signal
    import subprocess
    import sys
    import time

    site = tmp_path / "site"
    make_edit_plugin(site, "test.slow", "time.sleep(0.3)\nreturn 1 - images", imports="import time")
    src, out = tmp_path / "in", tmp_path / "out"
    for i in range(12):
        _photo(src / f"{i:02d}.png", size=(64, 48))
    env = {**os.environ, "PYTHONPATH": str(site)}
    exe = os.path.join(os.path.dirname(sys.executable), "imgedit")
    # a test run started in the background (`make test &`, some CI runners) inherits SIGINT as
    # ignored, and Python then keeps ignoring it: give the CLI the default disposition, as a shell would
    proc = subprocess.Popen([exe, "edit", "-m", "test.slow", str(src), str(out)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    def finished():  # complete outputs only (temp files are hidden: ".name.imgedit-tmp-...")
        return [p for p in out.iterdir() if not p.name.startswith(".")] if out.exists() else []

    while time.time() < deadline and len(finished()) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    done = [p for p in out.iterdir()]
    assert all(".imgedit-tmp-" not in p.name for p in done), done
    assert 2 <= len(done) < 12
    for p in done:  # every file that exists is complete
        Image.open(p).load()
    res = run_cli("edit", "-m", "test.slow", src, out, "--json", env={"PYTHONPATH": str(site)})
    summary = json.loads(res.stdout.splitlines()[-1])
    assert res.returncode == 0 and summary["skipped"] == len(done) and summary["done"] == 12 - len(done)


def test_run_removes_day_old_temp_files_but_not_fresh_ones(photos, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    old = out / ".a.png.imgedit-tmp-0badc0de.png"  # left by a run killed two days ago
    fresh = out / ".b.jpg.imgedit-tmp-12345678.jpg"  # another imgedit may be writing it right now
    old.write_bytes(b"partial"), fresh.write_bytes(b"partial")
    two_days_ago = old.stat().st_mtime - 2 * 86400
    os.utime(old, (two_days_ago, two_days_ago))
    s = process([photos], out, model="classic.adjust", progress=False)
    assert s.exit_code == 0 and not old.exists() and fresh.exists()


def test_a_forgotten_out_never_replaces_a_users_photo(tmp_path):
    """`imgedit edit *.jpg` with two photos: the second is not OUT (it is not an imgedit output);
    an earlier output is (the EXIF Software mark), so rerunning into an explicit file works."""
    a, b = _photo(tmp_path / "a.jpg"), _photo(tmp_path / "b.jpg", color=(10, 200, 30))
    before = sha256(b)
    res = run_cli("edit", "-m", "classic.adjust", a, b, "--overwrite")
    assert res.returncode == 2 and "b.jpg" in res.stderr and sha256(b) == before, res.stderr
    out = tmp_path / "styled.jpg"
    assert run_cli("edit", "-m", "classic.adjust", a, out).returncode == 0
    assert Image.open(out).getexif().get(0x0131) == ('imgedit classic.adjust from a.jpg '
                                                     '{"model": "classic.adjust", "options": {}, "source": "a.jpg"}')
    res = run_cli("edit", "-m", "classic.adjust", a, out, "--overwrite", "-o", "contrast=1.5")
    assert res.returncode == 0, res.stderr


def test_alpha_dropped_for_jpeg_is_reported(tmp_path):
    src = _photo(tmp_path / "in" / "t.png", mode="RGBA")
    res = run_cli("edit", "-m", "classic.adjust", src, tmp_path / "t.jpg", "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout.splitlines()[0])["warnings"] == ["alpha channel dropped (JPEG has no transparency)"]


def test_several_folders_keep_their_own_trees(tmp_path):
    for d in ("d1", "d2"):
        _photo(tmp_path / d / "a.png")
    s = process([tmp_path / "d1", tmp_path / "d2"], tmp_path / "o", model="classic.adjust", progress=False)
    assert sorted(Path(r.output).relative_to(tmp_path / "o").as_posix() for r in s.results) == ["d1/a.png", "d2/a.png"]
    s = process([tmp_path / "d1", tmp_path / "d1" / "a.png"], tmp_path / "o2", model="classic.adjust", progress=False)
    assert len(s.results) == 1  # the same file named twice is one job


def test_out_mistakes_are_usage_errors_before_any_work(tmp_path):
    a, b = _photo(tmp_path / "a.png"), _photo(tmp_path / "b.png")
    (tmp_path / "notes.txt").write_text("x")
    for args in ((a, b, tmp_path / "new.png"), (a, tmp_path / "notes.txt")):
        res = run_cli("edit", "-m", "classic.adjust", *args)
        assert res.returncode == 2, (args, res.stderr)
    assert not (tmp_path / "new.png").exists() and (tmp_path / "notes.txt").read_text() == "x"
    res = run_cli("edit", "-m", "classic.adjust", a, tmp_path / "x.mp4")
    assert res.returncode == 1 and "a video name for an image output" in res.stderr
    res = run_cli("edit", "-m", "classic.adjust", a, tmp_path / "y.png", "--format", "jpg")
    assert res.returncode == 2 and "y.jpg" in res.stderr and not (tmp_path / "y.png").exists()


def test_format_same_keeps_the_input_extension_exactly(tmp_path):
    """`--format same` (the default) keeps the format *and* the extension as spelled: camera
    files stay COFFEE.JPG, a.jpeg stays a.jpeg, x.tiff stays x.tiff (BMP, which cannot carry
    imgedit's mark, is written as PNG)."""
    src = tmp_path / "in"
    names = ["COFFEE.JPG", "a.jpeg", "p.PNG", "x.tiff", "y.TIF"]
    for name in names:
        _photo(src / name)
    out = tmp_path / "out"
    s = process([src], out, model="classic.adjust", progress=False)
    assert s.exit_code == 0 and s.count("done") == 5
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    assert Image.open(out / "COFFEE.JPG").format == "JPEG" and Image.open(out / "x.tiff").format == "TIFF"
    assert process([src], out, model="classic.adjust", progress=False).count("skipped") == 5  # a rerun resumes
    # an OUT file spelled like the input's format agrees with --format
    s = process([src / "COFFEE.JPG"], tmp_path / "c.JPG", model="classic.adjust", fmt="jpg", progress=False)
    assert s.count("done") == 1 and Image.open(tmp_path / "c.JPG").format == "JPEG"
    s = process([src / "x.tiff"], tmp_path / "t.tiff", model="classic.adjust", fmt="tiff", progress=False)
    assert s.count("done") == 1


def test_max_pixels_message_gives_pixel_counts(tmp_path):
    big = _photo(tmp_path / "big.png", size=(384, 384))
    s = process([big], tmp_path / "out", model="classic.adjust", max_pixels=100_000, progress=False)
    assert s.results[0].status == "failed"
    assert s.results[0].reason == ("image too large: 384x384 = 147,456 pixels exceeds the limit of "
                                   "100,000 pixels (--max-pixels)")


def test_skip_says_when_the_existing_output_was_made_with_other_settings(photos, tmp_path):
    """The output mark records the model and the options that made it: a rerun with the same
    settings resumes quietly, one with other settings says what made the existing output."""
    out = tmp_path / "out"
    assert process([photos], out, model="classic.adjust", options={"saturation": "0"}, progress=False).exit_code == 0
    mark = Image.open(out / "b.jpg").getexif().get(0x0131)
    assert mark.startswith("imgedit classic.adjust from b.jpg ") and '"saturation": 0.0' in mark
    s = process([photos], out, model="classic.adjust", options={"saturation": "0.0"}, progress=False)
    assert {r.reason for r in s.results} == {"output exists (use --overwrite to replace it)"}
    s = process([photos], out, model="classic.adjust", options={"saturation": "2"}, progress=False)
    assert s.exit_code == 0 and s.count("skipped") == 2
    assert {r.reason for r in s.results} == {
        "output exists, made with saturation=0 (this run: saturation=2); use --overwrite to replace it"}
    assert s.results[0].as_dict()["made_with"] == {"model": "classic.adjust", "options": {"saturation": 0.0}}
    s = process([photos], out, model="classic.adjust", progress=False)  # defaults
    assert {r.reason for r in s.results} == {
        "output exists, made with saturation=0 (this run: saturation=1); use --overwrite to replace it"}
    s = process([photos], out, model="classic.sharpen", progress=False)
    assert {r.reason for r in s.results} == {
        "output exists, made by classic.adjust with saturation=0 (this run: classic.sharpen); "
        "use --overwrite to replace it"}
    res = run_cli("edit", "-m", "classic.adjust", photos, out, "-o", "saturation=2")
    assert res.returncode == 0
    assert f"skipped: {out / 'a.png'} (output exists, made with saturation=0 (this run: saturation=2); " \
           "use --overwrite to replace it)" in res.stderr, res.stderr


# -- temps a killed run left (issue 13) -------------------------------------------------------------
def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def test_rerun_removes_temps_of_dead_processes_never_of_live_ones(photos, tmp_path):
    """Temps are named after the process writing them: a run removes those of a process that is
    gone (files and frames folders, whatever their age) and keeps a live process's."""
    from imgedit.io.atomic import temp_path_for

    out = tmp_path / "out"
    out.mkdir()
    dead = _dead_pid()
    made = {"dead": [], "live": []}
    for final in (out / "styled.mp4", out / "clip"):  # a video being written, a frames folder
        live = temp_path_for(final)  # what this (live) process would name it
        assert f"-{os.getpid()}-" in live.name
        for who, path in (("live", live), ("dead", live.with_name(live.name.replace(f"-{os.getpid()}-", f"-{dead}-")))):
            if final.suffix:
                path.write_bytes(b"half a video")
            else:
                path.mkdir()
                (path / "frame_000000.png").write_bytes(b"png")
            made[who].append(path)
    name = made["dead"][0].name  # .styled.mp4.imgedit-tmp-PID-HOST-RANDOM.mp4
    host = name.split(f"-{dead}-", 1)[1].split("-", 1)[0]
    other_host = out / name.replace(f"-{dead}-{host}-", f"-{dead}-{'0' if host[0] != '0' else '1'}{host[1:]}-")
    other_host.write_bytes(b"x")  # another machine's process (a shared folder): only by age
    s = process([photos], out, model="classic.adjust", progress=False)
    assert s.exit_code == 0
    assert not any(p.exists() for p in made["dead"]), sorted(p.name for p in out.iterdir())
    assert all(p.exists() for p in made["live"]) and other_host.exists()


def test_a_reused_pid_does_not_keep_a_dead_runs_temp(tmp_path):
    """A rerun in a fresh container can get the killed run's pid: a temp last written before the
    process with that pid started is not that process's, and goes."""
    import time

    from imgedit.io.atomic import cleanup_stale_temps, temp_path_for

    mine, old = temp_path_for(tmp_path / "a.mp4"), temp_path_for(tmp_path / "b.mp4")
    mine.write_bytes(b"x"), old.write_bytes(b"x")
    an_hour_ago = time.time() - 3600  # (this test process started later)
    os.utime(old, (an_hour_ago, an_hour_ago))
    if not Path(f"/proc/{os.getpid()}/stat").exists():
        pytest.skip("process start times are read from /proc")
    assert cleanup_stale_temps(tmp_path, min_age=86400) == [old] and mine.exists()


SLOW_SEQ = '''
from imgedit.api import Capability, ModelSpec, hookimpl

@hookimpl
def imgedit_register_models(register):
    register(ModelSpec(name="test.slowseq", summary="sleeps per frame", factory="fakeplug_slowseq_impl:SlowSeq",
                       capabilities=(Capability.EDIT_SEQUENCE,)))
'''
SLOW_SEQ_IMPL = '''
import time
from imgedit.api import ImageModel

class SlowSeq(ImageModel):
    def edit_sequence(self, frames):
        for fr in frames:
            time.sleep(0.25)
            yield fr
'''


def test_sigkill_leaves_temps_that_a_rerun_removes(tmp_path):
    """SIGKILL while a video and while a frames folder is being written leaves their temps (named
    after the killed process); the rerun removes them and writes the outputs."""
    import signal
    import subprocess
    import sys
    import time

    from imgedit.io.atomic import TEMP_MARKER
    from io_corpus import make_test_video

    site = tmp_path / "site"
    make_plugin_dist(site, "fake-slowseq", "test", "fakeplug_slowseq", SLOW_SEQ)
    (site / "fakeplug_slowseq_impl.py").write_text(SLOW_SEQ_IMPL)
    clip = make_test_video(tmp_path / "clip.mp4", 24, 24, (64, 48), with_audio=False)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    exe = os.path.join(os.path.dirname(sys.executable), "imgedit")
    for target, extra in ((out / "styled.mp4", []), (out / "clip", ["--frames-out"])):
        proc = subprocess.Popen([exe, "edit", "-m", "test.slowseq", str(clip), str(target), *extra], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        temp = None
        deadline = time.time() + 120
        while temp is None and time.time() < deadline and proc.poll() is None:
            temps = [p for p in out.iterdir() if p.name.startswith(f".{target.name}{TEMP_MARKER}")] if out.exists() else []
            temp = temps[0] if temps else None
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        assert temp is not None and temp.exists() and f"{TEMP_MARKER}{proc.pid}-" in temp.name
        assert temp.is_dir() == (target.name == "clip") and not target.exists()
    s = process([clip], out / "styled.mp4", model="classic.adjust", progress=False)
    s2 = process([clip], out / "clip", model="classic.adjust", frames_out=True, progress=False)
    assert s.exit_code == 0 and s2.exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["clip", "styled.mp4"]


def test_debug_shows_a_failed_items_traceback(tmp_path):
    """`--debug` / IMGEDIT_DEBUG=1: a failed item's traceback on stderr (a bad input file too:
    it used to show only for usage errors), besides its one line; without them only the line."""
    src = tmp_path / "in"
    _photo(src / "good.png")
    (src / "bad.png").write_bytes(b"not a png at all")
    line = f"failed: {src / 'bad.png'}: not an image"
    for args, env in ((["--debug"], {}), ([], {"IMGEDIT_DEBUG": "1"}), ([], {"IMGEDIT_DEBUG": "0"})):
        res = run_cli(*args, "edit", "-m", "classic.adjust", src, tmp_path / "out", "--overwrite", env=env)
        assert res.returncode == 1 and line in res.stderr, res.stderr
        shown = "Traceback (most recent call last)" in res.stderr and "InputError" in res.stderr
        assert shown == (env.get("IMGEDIT_DEBUG") != "0"), (args, env, res.stderr)
        assert res.stderr.count("Traceback (most recent call last)") <= 1  # only the failed item's


TINTER = '''
from imgedit.api import Capability, ModelSpec, Option, hookimpl

@hookimpl
def imgedit_register_models(register):
    register(ModelSpec(name="test.tint", summary="adds colour; needs 32 px", factory="fakeplug_tint_impl:Tint",
                       capabilities=(Capability.EDIT,), min_size=32, color_output=True,
                       options=(Option("preserve_color", "bool", False),)))
'''
TINTER_IMPL = '''
from imgedit.api import ImageModel

calls = []

class Tint(ImageModel):
    def edit(self, images, preserve_color=False):
        calls.append(tuple(images.shape))
        out = images.clone()
        if not preserve_color:
            out[:, 0] = 1.0   # red: a colour result
        return out
'''


def test_min_size_and_colour_output(plugin_site, tmp_path):
    """min_size: a small image fails in one line without reaching the model; color_output: a gray
    photo gets a colour result, unless preserve_color; a plain colour model keeps gray gray."""
    make_plugin_dist(plugin_site, "fake-tint", "test", "fakeplug_tint", TINTER)
    (plugin_site / "fakeplug_tint_impl.py").write_text(TINTER_IMPL)
    src = tmp_path / "in"
    _photo(src / "gray.png", size=(40, 40), mode="L")
    _photo(src / "tiny.png", size=(20, 24))
    s = process([src], tmp_path / "out", model="test.tint", progress=False)
    assert _statuses(s) == {"gray.png": "done", "tiny.png": "failed"}
    assert next(r.reason for r in s.results if r.status == "failed").endswith("image too small (20x24, needs 32)")
    import fakeplug_tint_impl

    assert fakeplug_tint_impl.calls == [(1, 3, 40, 40)]              # the small one never reached it
    assert Image.open(tmp_path / "out" / "gray.png").mode == "RGB"
    s = process([src / "gray.png"], tmp_path / "kept", model="test.tint", options={"preserve_color": "true"},
                progress=False)
    assert s.exit_code == 0 and Image.open(tmp_path / "kept" / "gray.png").mode == "L"
    s = process([src / "gray.png"], tmp_path / "adj", model="classic.adjust", options={"contrast": "1.2"}, progress=False)
    assert s.exit_code == 0 and Image.open(tmp_path / "adj" / "gray.png").mode == "L"
    res = run_cli("edit", "-m", "test.tint", src / "tiny.png", tmp_path / "cli",
                  env={"PYTHONPATH": os.pathsep.join([str(plugin_site), os.environ.get("PYTHONPATH", "")])})
    assert res.returncode == 1 and "tiny.png: image too small (20x24, needs 32)" in res.stderr
    assert "Traceback" not in res.stderr


def test_outputs_get_the_umask_mode(tmp_path):
    """Every output gets the mode a plain open() gives (safetensors writes its files 0600)."""
    from imgedit.runner import generate

    old = os.umask(0o022)
    try:
        s = generate(tmp_path / "gen", model="classic.colorgrid", count=1, save_latents=True, progress=False)
        assert s.exit_code == 0
        files = sorted(p for p in (tmp_path / "gen").iterdir() if not p.name.startswith("."))
        assert {p.suffix for p in files} >= {".png", ".safetensors"}
        for p in files:
            assert p.stat().st_mode & 0o777 == 0o644, (p.name, oct(p.stat().st_mode))
    finally:
        os.umask(old)


def test_every_verb_goes_through_one_pipeline_and_rejects_unknown_keywords(tmp_path, monkeypatch):
    """generate/morph/directions/process share the pipeline (its dry run, skip and summary); a
    keyword that is neither a RunConfig field nor a model option is an error, not a silent no-op."""
    from imgedit import pipeline
    from imgedit.errors import ImgeditError
    from imgedit.runner import generate, make_directions, morph

    with pytest.raises(ImgeditError, match="cuont"):
        generate(tmp_path / "g", model="classic.colorgrid", cuont=3, progress=False)
    seen = []
    real = pipeline.run
    monkeypatch.setattr("imgedit.runner.run_pipeline", lambda verb, jobs, *a, **k: seen.append(type(verb).__name__)
                        or real(verb, jobs, *a, **k))
    _photo(tmp_path / "a.png")
    _photo(tmp_path / "b.png")
    assert generate(tmp_path / "g", model="classic.colorgrid", count=2, dry_run=True, progress=False).count("planned") == 2
    assert morph([tmp_path / "a.png", tmp_path / "b.png"], tmp_path / "m", model="classic.colorgrid",
                 dry_run=True).count("planned") == 1
    assert make_directions(tmp_path / "pcs", model="classic.colorgrid", pca=2, samples=20,
                           dry_run=True).count("planned") == 1
    assert process([tmp_path / "a.png"], tmp_path / "e", model="classic.adjust", dry_run=True,
                   progress=False).count("planned") == 1
    assert seen == ["GenerateVerb", "MorphVerb", "DirectionsVerb", "Runner"]
    assert not any((tmp_path / d).exists() for d in ("g", "m", "pcs", "e"))
