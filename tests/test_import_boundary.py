"""graphs/ is the domain and must be usable without the TUI: a contract, not a habit."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contract_holds():
    """import-linter's contract in pyproject.toml: graphs/ imports no textual, rich or console."""
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    done = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "KEPT" in done.stdout and "BROKEN" not in done.stdout


def test_importing_every_graphs_module_leaves_textual_out():
    # rich is not checked here: httpx imports it for its own CLI when it is installed. That our
    # code never imports rich is the import-linter contract above.
    code = (
        "import importlib, pkgutil, sys, graphs\n"
        "for m in pkgutil.walk_packages(graphs.__path__, 'graphs.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('textual', 'console'))\n"
        "print(','.join(bad))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"graphs/ pulled in: {done.stdout.strip()}"
