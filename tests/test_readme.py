"""Every ```python block of README.md and plugins/*/README.md runs as written (issue 13).

Each block runs on its own, in-process, with the current folder a temporary copy of the
repository root (its top-level entries linked, so ``samples/photos/...`` resolves as it does from
a checkout) and whatever the snippet writes (``out/``, ``*.png``) lands in that temporary folder.
Tracebacks name the README and its line numbers."""
from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
READMES = [ROOT / "README.md", *sorted(ROOT.glob("plugins/*/README.md"))]
_FENCE = re.compile(r"^([ \t]*)```(?:python|py|python3)[ \t]*\n(.*?)^[ \t]*```[ \t]*$", re.S | re.M)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(first code line, 1-based; code) of each ```python block of a Markdown text."""
    blocks = []
    for m in _FENCE.finditer(text):
        line = text.count("\n", 0, m.start(2)) + 1
        blocks.append((line, textwrap.dedent(m.group(2))))
    return blocks


def _cases():
    for readme in READMES:
        rel = readme.relative_to(ROOT).as_posix()
        for line, code in python_blocks(readme.read_text(encoding="utf-8")):
            yield pytest.param(rel, line, code, id=f"{rel}:{line}")


def run_snippet(name: str, line: int, code: str) -> dict:
    """Execute ``code`` as if it were the file ``name`` with the code starting at ``line``."""
    namespace = {"__name__": "__readme__", "__file__": name}
    exec(compile("\n" * (line - 1) + code, name, "exec"), namespace)  # noqa: S102 - our own README
    return namespace


@pytest.fixture
def repo_copy(tmp_path, monkeypatch):
    """A folder that looks like the repository root (top-level entries linked), as the cwd."""
    for entry in ROOT.iterdir():
        if not entry.name.startswith(".") and entry.name != "out":
            (tmp_path / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_readme_has_python_blocks():
    assert len(python_blocks((ROOT / "README.md").read_text(encoding="utf-8"))) >= 4


@pytest.mark.parametrize("readme,line,code", list(_cases()))
def test_python_block_runs(readme, line, code, repo_copy):
    run_snippet(os.path.join(str(ROOT), readme), line, code)
