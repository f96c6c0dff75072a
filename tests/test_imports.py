"""The import rules: import-linter keeps pyproject.toml's contracts (the layers, and the
sans-io cores free of trio and of the edges); here too, what it cannot say: every module is
in a layer, and no imports run in a cycle."""

import ast
import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Mutual references for annotations only, which Python never runs: listed so that no new one
# creeps in. Drop a pair once web/ no longer needs it.
TYPE_ONLY_CYCLES: list[list[str]] = []


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


def test_no_import_cycles():
    # Imports inside functions count: they run, just later.
    assert _cycles(_graph(type_checking=False)) == []


def test_type_only_cycles_are_the_listed_ones():
    assert _cycles(_graph(type_checking=True)) == TYPE_ONLY_CYCLES


def _modules() -> dict[str, Path]:
    modules = {}
    for path in sorted((ROOT / "eyenet").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _graph(type_checking: bool) -> dict[str, set[str]]:
    """eyenet's modules -> the eyenet modules each imports, those under `if TYPE_CHECKING:` too when asked."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        graph[module] = {
            imported
            for node in _imports(ast.parse(path.read_text(), str(path)), type_checking)
            for imported in _targets(node, package, modules)
        }
    return graph


def _imports(tree: ast.AST, type_checking: bool):
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test) and not type_checking:
            for branch in node.orelse:
                yield from _imports(branch, type_checking)
        else:
            yield from _imports(node, type_checking)


def _targets(node: ast.Import | ast.ImportFrom, package: str, modules: dict[str, Path]) -> list[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
        # `from package import name`: the submodule if name is one, else the package.
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
    return [name for name in names if name in modules]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module, each sorted, in order."""
    reach = {module: _reachable(graph, module) for module in graph}
    components = {tuple(sorted(m for m in reach[module] if module in reach[m])) for module in graph}
    return sorted(list(component) for component in components if len(component) > 1)


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for imported in graph[todo.pop()] - seen:
            seen.add(imported)
            todo.append(imported)
    return seen


def test_the_pure_cores_load_no_trio_when_run():
    # The contract follows imports as written; this runs them, package __init__ files included.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (pure,) = [contract["source_modules"] for contract in config["contracts"] if contract["type"] == "forbidden"]
    code = f"import sys\nfor m in {pure!r}: __import__(m)\nprint(sorted(m for m in sys.modules if m.split('.')[0] == 'trio'))"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
