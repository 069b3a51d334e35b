"""Extra checks on the real files in ../shared/data (skipped on a fresh clone without them)."""
import numpy as np
import pytest
from PIL import Image

from _imgedit_helpers import SHARED_DATA, run_cli, sha256

pytestmark = [pytest.mark.shared,
              pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is not present")]


def test_edgecases_keep_mode_depth_and_alpha(tmp_path):
    src = SHARED_DATA / "edgecases"
    before = {p.name: sha256(p) for p in src.iterdir()}
    res = run_cli("edit", "-m", "classic.adjust", src, tmp_path / "out", "-o", "contrast=1.2", "--json")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "out"
    import cv2

    tree = cv2.imread(str(out / "tree_alpha_16bit.png"), cv2.IMREAD_UNCHANGED)
    assert tree.dtype == np.uint16 and tree.shape[2] == 4
    orig = cv2.imread(str(src / "tree_alpha_16bit.png"), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(tree[..., 3], orig[..., 3])  # alpha untouched, 16-bit
    assert Image.open(out / "00017_gray.png").mode == "L"
    assert Image.open(out / "wolf_gray.jpg").mode == "L"
    kids = Image.open(out / "children-alpha.png")
    assert kids.mode == "RGBA"
    assert np.array_equal(np.asarray(kids)[..., 3], np.asarray(Image.open(src / "children-alpha.png"))[..., 3])
    assert {p.name: sha256(p) for p in src.iterdir()} == before


def test_scene_cut_in_onepiece_demo():
    from imgedit.io.video import read_frames
    from imgedit.scenes import SceneDetector

    d = SceneDetector()
    cuts = [i for i, (frame, _) in enumerate(read_frames(SHARED_DATA / "video" / "onepiece_demo.mp4"))
            if d.update(frame) and i > 0]
    assert cuts == [100]  # the one hard cut (checked by eye); in-shot changes score < 0.13
