"""`imgedit plugin new NAME --kind ...` (issue 15): each skeleton is a complete distribution that
pip-installs, is listed by `imgedit models`, passes its own contract tests unchanged and runs from
the CLI; bad names and existing folders are refused with one line (exit 2)."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from _imgedit_helpers import run_cli

# kind -> (plugin name, its package, its model): names with - and _ check the package mapping
KINDS = {
    "edit": ("inv-fx", "imgedit_inv_fx", "inv-fx.invert"),
    "encode-generate": ("thumbs", "imgedit_thumbs", "thumbs.thumbnail"),
    "sequence": ("trail_fx", "imgedit_trail_fx", "trail_fx.trail"),
}
FILES = ("pyproject.toml", ".gitignore", "README.md", "{pkg}/__init__.py", "{pkg}/plugin.py", "{pkg}/model.py",
         "tests/test_{tail}_contract.py")


def _new(*args):
    from imgedit.cli import app

    return CliRunner().invoke(app, ["plugin", "new", *[str(a) for a in args]])


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory):
    """The three skeletons written by the real CLI, then pip-installed (one call) into a target."""
    root = tmp_path_factory.mktemp("plugins")
    folders = {}
    for kind, (name, _, model) in KINDS.items():
        res = run_cli("plugin", "new", name, "--kind", kind, "--dir", root)
        assert res.returncode == 0, res.stderr
        assert model in res.stdout and "pip install -e ." in res.stdout
        folders[kind] = root / f"imgedit-{name}"
    written = {kind: sorted(p.relative_to(f).as_posix() for p in f.rglob("*") if p.is_file())
               for kind, f in folders.items()}  # before pip adds build/ and *.egg-info
    site = tmp_path_factory.mktemp("site")
    res = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                          "--disable-pip-version-check", "--target", str(site), *map(str, folders.values())],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    return folders, site, written


@pytest.mark.parametrize("kind", list(KINDS))
def test_files_written(scaffolded, kind):
    folders, site, written = scaffolded
    name, pkg, model = KINDS[kind]
    folder = folders[kind]
    assert written[kind] == sorted(f.format(pkg=pkg, tail=pkg[len("imgedit_"):]) for f in FILES)
    pyproject = (folder / "pyproject.toml").read_text()
    assert '[project.entry-points."imgedit.plugins"]' in pyproject and f'{name} = "{pkg}.plugin"' in pyproject
    plugin = (folder / pkg / "plugin.py").read_text()
    assert not re.search(r"^\s*(import|from)\s+torch", plugin, re.M), "registration must not import torch"
    assert f'name="{model}"' in plugin and "TODO" not in plugin + (folder / pkg / "model.py").read_text()
    readme = (folder / "README.md").read_text()
    for needed in ("pip install -e .", "imgedit models", "imgedit[test]", "pytest", model):
        assert needed in readme, needed
    assert "```python" not in readme  # plugins/*/README.md python blocks run in the core tests
    assert list(site.glob(f"{pkg}-0.1.0.dist-info"))


def test_models_lists_them(scaffolded):
    _, site, _ = scaffolded
    res = run_cli("models", "--json", env={"PYTHONPATH": str(site)})
    assert res.returncode == 0, res.stderr
    caps = {m["name"]: m["capabilities"] for m in json.loads(res.stdout)}
    assert caps["inv-fx.invert"] == ["edit"]
    assert caps["thumbs.thumbnail"] == ["encode", "generate", "edit"]
    assert caps["trail_fx.trail"] == ["edit_sequence"]


@pytest.mark.parametrize("kind", list(KINDS))
def test_own_contract_tests_pass(scaffolded, kind):
    """`pytest` in the plugin's folder, as its README says: the contract suite and its own test."""
    folders, site, _ = scaffolded
    env = {**os.environ, "PYTHONPATH": str(site)}
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], capture_output=True,
                         text=True, env=env, cwd=str(folders[kind]), timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "8 passed" in res.stdout, res.stdout[-1000:]


def _png(path, arr):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr.astype(np.uint8)).save(path)
    return path


def test_edit_runs_from_the_cli(scaffolded, tmp_path):
    _, site, _ = scaffolded
    src = np.zeros((12, 16, 3), np.uint8)
    src[:, :8] = 200
    _png(tmp_path / "in" / "a.png", src)
    res = run_cli("edit", "-m", "inv-fx.invert", tmp_path / "in", tmp_path / "out", "-o", "amount=1",
                  env={"PYTHONPATH": str(site)})
    assert res.returncode == 0, res.stderr
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / "a.png")), 255 - src)


def test_encode_then_generate_from_the_cli(scaffolded, tmp_path):
    _, site, _ = scaffolded
    env = {"PYTHONPATH": str(site)}
    _png(tmp_path / "in" / "flat.png", np.full((20, 24, 3), (60, 120, 180)))
    res = run_cli("encode", "-m", "thumbs.thumbnail", tmp_path / "in", tmp_path / "lat", env=env)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "lat" / "flat.latent.safetensors").is_file()
    res = run_cli("generate", "-m", "thumbs.thumbnail", "--latents", tmp_path / "lat", tmp_path / "gen",
                  "-o", "size=16", env=env)
    assert res.returncode == 0, res.stderr
    out = np.asarray(Image.open(tmp_path / "gen" / "flat.png")).astype(int)
    assert out.shape == (16, 16, 3) and np.abs(out - [60, 120, 180]).max() <= 1


def test_sequence_runs_from_the_cli(scaffolded, tmp_path):
    _, site, _ = scaffolded
    for i in range(3):  # a bright bar moving right
        f = np.full((12, 16, 3), 40)
        f[:, 4 * i:4 * i + 4] = 240
        _png(tmp_path / "frames" / f"f{i}.png", f)
    res = run_cli("edit", "-m", "trail_fx.trail", "--frames", tmp_path / "frames", tmp_path / "out",
                  "-o", "memory=0.5", "--scene-threshold", "0", env={"PYTHONPATH": str(site)})
    assert res.returncode == 0, res.stderr
    rows = [np.asarray(Image.open(tmp_path / "out" / f"f{i}.png"))[0, :, 0].astype(int) for i in range(3)]
    expected = [[240] * 4 + [40] * 12, [140] * 8 + [40] * 8, [90] * 8 + [140] * 4 + [40] * 4]  # a trail
    assert np.abs(np.array(rows) - expected).max() <= 1, rows


@pytest.mark.parametrize("bad", ["Fx", "1fx", "my fx", "fx-", "a--b", "fx.x", "_fx", "", "x" * 41, "imgedit-fx",
                                 "imgedit", "classic"])
def test_bad_names_are_refused(tmp_path, bad):
    res = _new(bad, "--dir", tmp_path)
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("imgedit: error: plugin name"), res.output
    assert not list(tmp_path.iterdir())


def test_bad_kind_is_refused(tmp_path):
    res = _new("fx", "--kind", "video", "--dir", tmp_path)
    assert res.exit_code == 2 and "--kind" in res.output
    assert not list(tmp_path.iterdir())


def test_existing_folder_is_never_overwritten(tmp_path):
    mine = tmp_path / "imgedit-fx"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    res = _new("fx", "--dir", tmp_path)
    assert res.exit_code == 2 and "already exists" in res.output and len(res.output.strip().splitlines()) == 1
    assert [p.name for p in mine.iterdir()] == ["notes.txt"] and (mine / "notes.txt").read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["imgedit-fx"]  # no temporary folder left behind


def test_dir_is_created_and_names_map_to_the_package(tmp_path):
    from imgedit.scaffold import new_plugin

    made = new_plugin("my_fx-2", kind="edit", parent=tmp_path / "new" / "place")
    assert made.folder == tmp_path / "new" / "place" / "imgedit-my_fx-2" and made.package == "imgedit_my_fx_2"
    assert made.models == ["my_fx-2.invert"] and (made.folder / "imgedit_my_fx_2" / "model.py").is_file()
    assert [p.name for p in made.folder.parent.iterdir()] == ["imgedit-my_fx-2"]


def test_help_stays_light():
    code = ("import sys\nfrom imgedit.cli import main\nfor argv in {argv!r}:\n"
            "    sys.argv = argv\n    try:\n        main(argv[1:])\n    except SystemExit:\n        pass\n"
            "heavy = [m for m in ('torch', 'cv2', 'imgedit.scaffold', 'imgedit.builtin') if m in sys.modules]\n"
            "sys.stderr.write('HEAVY=' + ','.join(heavy) + '\\n')\n")
    argvs = [["imgedit", "--help"], ["imgedit", "plugin", "--help"], ["imgedit", "plugin", "new", "--help"]]
    res = subprocess.run([sys.executable, "-c", code.format(argv=argvs)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    from imgedit.scaffold import KINDS as SCAFFOLD_KINDS

    assert "plugin" in res.stdout and "--kind" in res.stdout
    assert set(SCAFFOLD_KINDS) == set(KINDS) and all(k in res.stdout for k in KINDS)  # the CLI's choices
    assert [ln for ln in res.stderr.splitlines() if ln.startswith("HEAVY=")] == ["HEAVY="], res.stderr
