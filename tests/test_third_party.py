"""The third-party path: pip-install the example plugin package (tests/example_plugin), then find
it with `imgedit models`, run it over a folder, and run its own contract tests."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from _imgedit_helpers import ROOT, run_cli

EXAMPLE = ROOT / "tests" / "example_plugin"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    res = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                          "--disable-pip-version-check", "--target", str(target), str(EXAMPLE)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert list(target.glob("imgedit_posterize-1.0.0.dist-info"))
    return target


def test_found_and_runs_over_a_folder(installed, tmp_path):
    env = {"PYTHONPATH": str(installed)}
    res = run_cli("plugins", "--json", env=env)
    plugins = {p["name"]: p for p in json.loads(res.stdout)}
    assert plugins["posterize"]["package"] == "imgedit-posterize" and plugins["posterize"]["status"] == "ok"
    res = run_cli("models", "posterize", env=env)
    assert res.returncode == 0 and "levels" in res.stdout and "imgedit-posterize" in res.stdout
    src = tmp_path / "in"
    src.mkdir()
    grad = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (16, 1))
    Image.fromarray(np.stack([grad] * 3, -1)).save(src / "grad.png")
    res = run_cli("edit", "--model", "posterize", src, tmp_path / "out", "-o", "levels=2", "-o", "dither=false",
                  env=env)
    assert res.returncode == 0, res.stderr
    out = np.asarray(Image.open(tmp_path / "out" / "grad.png"))
    assert set(np.unique(out)) == {0, 255}


def test_plugin_passes_contract_suite(installed):
    env = {**os.environ, "PYTHONPATH": str(installed)}
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
                          str(EXAMPLE), str(EXAMPLE / "tests")], capture_output=True, text=True, env=env,
                         cwd=str(EXAMPLE), timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "passed" in res.stdout
