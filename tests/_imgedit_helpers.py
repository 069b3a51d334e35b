"""Helpers shared by the core tests (imported as ``from _imgedit_helpers import ...``; a unique
module name, because every plugin's tests have a ``conftest`` of their own)."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


def make_plugin_dist(site: Path, package: str, ep_name: str, module: str, code: str, version: str = "1.0") -> Path:
    """Write a minimal installed distribution (dist-info + module) into ``site``.

    importlib.metadata finds it once ``site`` is on sys.path (or PYTHONPATH for a subprocess):
    the same discovery path as a pip-installed plugin, without pip.
    """
    site.mkdir(parents=True, exist_ok=True)
    info = site / f"{package.replace('-', '_')}-{version}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[imgedit.plugins]\n{ep_name} = {module}\n")
    (site / f"{module}.py").write_text(textwrap.dedent(code))
    return site


def make_edit_plugin(site: Path, model: str, edit: str, *, summary: str = "test", imports: str = "") -> Path:
    """An installed one-model plugin in ``site``: ``model`` (EDIT) is an ``ImageModel`` whose
    ``edit(self, images)`` runs the code ``edit`` (after ``imports``); ``Model.calls`` is free for
    counters. The fake models of the runner and engine tests."""
    ep = model.split(".")[0]
    module = "fakeplug_" + model.replace(".", "_")
    code = f'''
from imgedit.api import Capability, ModelSpec, hookimpl

@hookimpl
def imgedit_register_models(register):
    register(ModelSpec(name={model!r}, summary={summary!r}, factory="{module}_impl:Model",
                       capabilities=(Capability.EDIT,)))
'''
    make_plugin_dist(site, "fake-" + model.replace(".", "-"), ep, module, code)
    body = textwrap.indent(textwrap.dedent(edit).strip("\n"), " " * 8)
    (site / f"{module}_impl.py").write_text(
        f"{textwrap.dedent(imports).strip()}\nfrom imgedit.api import ImageModel\n\n\nclass Model(ImageModel):\n"
        f"    calls = 0\n\n    def edit(self, images):\n{body}\n")
    return site


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run the real `imgedit` console script in a subprocess (as a user would)."""
    full_env = {**os.environ, **(env or {})}
    exe = Path(sys.executable).parent / "imgedit"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "from imgedit.cli import main; main()"]
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, env=full_env,
                          cwd=cwd, timeout=timeout)


def sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
