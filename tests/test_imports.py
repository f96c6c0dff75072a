"""The import rules: import-linter keeps pyproject.toml's contracts (the layers, and the
sans-io cores free of trio and of the edges); here too, what it cannot say: every module is
in a layer."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_contracts_are_kept():
    lint = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"
    run = subprocess.run([sys.executable, "-c", lint], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_module_is_in_a_layer():
    # A module in no layer would be free to import anything, and be imported by anything.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [contract["layers"] for contract in config["contracts"] if contract["type"] == "layers"]
    named = {name.strip() for layer in layers for name in re.split(r"[|:]", layer)}
    loose = [
        module
        for module, path in _modules().items()
        if path.name != "__init__.py" and not any(module == name or module.startswith(name + ".") for name in named)
    ]
    assert loose == []


def _modules() -> dict[str, Path]:
    modules = {}
    for path in sorted((ROOT / "eyenet").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules
