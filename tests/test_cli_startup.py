"""`imgedit --help` must stay light: no torch, no cv2, no plugin module imported."""
import json
import subprocess
import sys

CHECK = """
import sys
sys.argv = {argv!r}
from imgedit.cli import main
try:
    main()
except SystemExit:
    pass
heavy = [m for m in ('torch', 'cv2', 'av', 'numpy', 'PIL', 'imgedit.builtin', 'imgedit.builtin.models',
                     'imgedit_posterize') if m in sys.modules]
sys.stderr.write('HEAVY=' + ','.join(heavy) + '\\n')
"""


def _heavy(argv):
    res = subprocess.run([sys.executable, "-c", CHECK.format(argv=argv)], capture_output=True, text=True, timeout=60)
    line = [ln for ln in res.stderr.splitlines() if ln.startswith("HEAVY=")][-1]
    return res, line[len("HEAVY="):]


def test_help_imports_nothing_heavy():
    for argv in (["imgedit", "--help"], ["imgedit", "stylize", "--help"], ["imgedit", "interpolate", "--help"],
                 ["imgedit", "edit", "--help"], ["imgedit"]):
        res, heavy = _heavy(argv)
        assert "Usage" in res.stdout + res.stderr, res.stdout + res.stderr
        assert heavy == "", f"{argv} imported {heavy}"


def test_models_listing_imports_no_torch_or_model_code():
    res, heavy = _heavy(["imgedit", "models"])
    assert "classic.adjust" in res.stdout
    loaded = heavy.split(",")
    assert "torch" not in loaded and "cv2" not in loaded and "imgedit.builtin.models" not in loaded, heavy


def test_models_json_and_detail():
    from _imgedit_helpers import run_cli

    res = run_cli("models", "classic.resize", "--json")
    data = json.loads(res.stdout)
    assert data["name"] == "classic.resize" and data["capabilities"] == ["edit"]
    assert {o["name"] for o in data["options"]} == {"scale", "width", "height", "fit"}
    res = run_cli("models", "nope")
    assert res.returncode == 2 and "no model named 'nope'" in res.stderr


def test_info_reports_versions_and_devices():
    from _imgedit_helpers import run_cli

    res = run_cli("info", "--json")
    data = json.loads(res.stdout)
    assert data["versions"]["torch"].startswith("2.14.1")
    assert "bf16" in data["devices"]["cpu"]
    assert any(p["name"] == "classic" for p in data["plugins"])


def test_a_closed_pipe_is_not_an_internal_error():
    """`imgedit models | head -1`: when the reader leaves, imgedit stops quietly (exit 141 like a
    shell tool killed by SIGPIPE), without an 'internal error' line."""
    import subprocess
    import sys

    code = ("import sys, os\nfrom imgedit.cli import main\n"
            "r, w = os.pipe()\nos.close(r)\nos.dup2(w, 1)\n"  # stdout: a pipe nobody reads
            "sys.stdout = os.fdopen(1, 'w', buffering=1)\nmain(['models'])")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "internal error" not in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert res.returncode == 141, (res.returncode, res.stderr)
