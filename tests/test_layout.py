"""The package stays a house a newcomer can find their way in: no import circles (counting imports
inside functions), short modules and functions, and a line in docs/development.md for every folder."""

import ast

from conftest import ROOT

PACKAGE = ROOT / "digitcli"
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path):
    """The digitcli modules that `path` imports anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("digitcli"):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if (ROOT / (full.replace(".", "/") + ".py")).exists() else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("digitcli")}
    return found - {"digitcli", module_name(path)}


def graph():
    return {module_name(p): imports(p) for p in PACKAGE.rglob("*.py")}


def find_cycle(edges):
    """One import cycle as a list of modules, or None (depth-first search with three colours)."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_circles():
    edges = graph()
    assert "digitcli.inference.predictors" in edges["digitcli.inference.export"]
    assert find_cycle(edges) is None


# The packages' layers, lowest first: each may import only the base modules and the packages before it.
BASE = {"digitcli", "digitcli.errors", "digitcli.settings", "digitcli.fileio", "digitcli.quiet", "digitcli.pixels"}
LAYERS = ["nets", "photos", "reading", "data", "inference", "report", "training", "serve", "commands"]
TOP = {"digitcli.cli", "digitcli.cliparams", "digitcli.train_options", "digitcli.__main__"}


def layer(module):
    if module in BASE or module.split(".")[-1] == "__version__":
        return -1
    if module in TOP:  # the command line's own modules share the commands' layer
        return LAYERS.index("commands")
    return LAYERS.index(module.split(".")[1])


def layer_breaks(edges):
    """Each import of a module from a layer above its own, as 'importer -> imported'."""
    return sorted(f"{a} -> {b}" for a, found in edges.items() for b in found if layer(b) > max(layer(a), -1))


def test_the_layer_check_finds_an_import_upwards():
    assert layer_breaks({"digitcli.data.datasets": {"digitcli.inference.predict"}}) == [
        "digitcli.data.datasets -> digitcli.inference.predict"
    ]
    assert layer_breaks({"digitcli.inference.predict": {"digitcli.data.datasets", "digitcli.settings"}}) == []
    upward = layer_breaks({"digitcli.settings": {"digitcli.nets.builders"}})
    assert upward == ["digitcli.settings -> digitcli.nets.builders"]


def test_packages_import_only_the_layers_below_them():
    edges = graph()
    assert set(LAYERS) == {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    loose = {m for m in edges if m.count(".") == 1 and m.split(".")[1] not in LAYERS}
    assert loose <= BASE | TOP, "a new top-level module needs a layer"
    assert layer_breaks(edges) == []


def test_modules_and_functions_are_short():
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            long.append(f"{path.relative_to(ROOT)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                size = node.end_lineno - node.lineno + 1
                if size > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}: {node.name}() {size} lines")
    assert long == []


def test_the_development_page_describes_every_folder_of_the_package():
    readme = (ROOT / "docs" / "development.md").read_text()
    folders = sorted(p.parent for p in PACKAGE.glob("*/__init__.py"))
    assert len(folders) >= 6
    for folder in folders:
        assert f"\n{folder.relative_to(ROOT)}/ " in readme, folder
