"""The package's shape: import layers, module sizes, what the root and each package hold.

The import contracts live in ``.importlinter`` next to ``pyproject.toml``; CI runs
``lint-imports`` on them, and these tests run the same check, and show that it fails
when a lower stage imports a higher one.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import rtt_topology
from tests import ROOT

PACKAGE = ROOT / "rtt_topology"
MAX_LINES = 600
#: What stays at the root: the public API, the command entry point and the foundations.
FOUNDATIONS = {
    "__init__.py",
    "__main__.py",
    "_memo.py",
    "_progress.py",
    "_timestamps.py",
    "_version.py",
    "columns.py",
    "errors.py",
    "schemas.py",
    "sdk.py",
}
STAGES = {
    "load",
    "store",
    "aggregate",
    "graph",
    "analysis",
    "diagnostics",
    "incidents",
    "plots",
    "report",
    "cli",
    "remote",
    "export",
    "demo",
}
_LINT = (
    "import sys\n"
    "from importlinter.cli import lint_imports\n"
    "sys.exit(lint_imports(config_filename='.importlinter', no_cache=True))\n"
)


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter on the package found under ``root``, with ``root``'s contracts."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [sys.executable, "-c", _LINT], cwd=root, env=env, capture_output=True, text=True
    )


def test_import_contracts_are_kept() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "upward"),
    [
        ("load/records.py", "from rtt_topology.graph import build_graph"),
        ("analysis/impact.py", "import rtt_topology.report"),
        ("remote/client.py", "from rtt_topology.analysis import states"),
        ("columns.py", "import rtt_topology.load"),
    ],
)
def test_an_import_against_the_layers_breaks_a_contract(
    tmp_path: Path, module: str, upward: str
) -> None:
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    shutil.copytree(PACKAGE, tmp_path / "rtt_topology", ignore=shutil.ignore_patterns("*.pyc"))
    target = tmp_path / "rtt_topology" / module
    target.write_text(target.read_text() + f"\n{upward}  # noqa\n")
    result = _lint(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 broken" in result.stdout


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_the_limit(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it"


def test_the_root_holds_only_the_foundations_and_the_stages() -> None:
    modules = {p.name for p in PACKAGE.glob("*.py")}
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert modules == FOUNDATIONS
    assert packages == STAGES


def _packages() -> list[str]:
    found = pkgutil.walk_packages(rtt_topology.__path__, "rtt_topology.")
    return ["rtt_topology", *sorted(m.name for m in found if m.ispkg)]


@pytest.mark.parametrize("name", _packages())
def test_a_package_never_hides_a_submodule_behind_a_name(name: str) -> None:
    package = importlib.import_module(name)
    submodules = {m.name for m in pkgutil.iter_modules(package.__path__)}
    assert not submodules & set(package.__all__)
    for sub in submodules - {"__main__"}:
        importlib.import_module(f"{name}.{sub}")
        assert inspect.ismodule(getattr(package, sub)), f"{name}.{sub}"
