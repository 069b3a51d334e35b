"""Rebuild samples/photos from the scikit-image wheel (run from the repo root).

    python samples/make_samples.py   # downloads the scikit-image wheel with pip (no install)
"""
import glob
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from PIL import Image

FILES = {"astronaut.png": "astronaut.jpg", "chelsea.png": "chelsea.jpg", "coffee.png": "coffee.jpg",
         "camera.png": "camera_gray.png"}

with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, "scikit-image"], check=True)
    with zipfile.ZipFile(glob.glob(f"{tmp}/scikit_image-*.whl")[0]) as zf:
        out = Path(__file__).parent / "photos"
        out.mkdir(exist_ok=True)
        for src, dst in FILES.items():
            im = Image.open(io.BytesIO(zf.read(f"skimage/data/{src}")))
            im.thumbnail((384, 384), Image.LANCZOS)
            im.save(out / dst, **({"quality": 90} if dst.endswith(".jpg") else {}))
            print(out / dst, im.size)
