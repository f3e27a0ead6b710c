"""The package's structure: no import circles, and the engine's node layout known in one file.

Every import counts, those inside functions too, so a circle cannot hide behind a late import.
"""

import ast
import pathlib

import micrograd_nn

ROOT = pathlib.Path(micrograd_nn.__file__).parent
MODULES = {  # dotted name -> path
    ".".join(("micrograd_nn", *p.relative_to(ROOT).with_suffix("").parts)).removesuffix(
        ".__init__"): p
    for p in ROOT.rglob("*.py")
}


def _imports(name: str, path: pathlib.Path) -> set:
    """The package modules ``name`` imports anywhere in its text (relative imports resolved)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level \
                else []
            module = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:   # a submodule by name, else the module the names are in
                sub = f"{module}.{alias.name}"
                found.add(sub if sub in MODULES else module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _circle() -> list:
    """One import circle, as the list of modules around it, or [] when there is none."""
    state: dict = {}
    for start in GRAPH:
        stack = [(start, iter(sorted(GRAPH[start])))]
        path = [start]
        if state.get(start):
            continue
        state[start] = "open"
        while stack:
            node, rest = stack[-1]
            nxt = next(rest, None)
            if nxt is None:
                state[node] = "done"
                stack.pop()
                path.pop()
            elif state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            elif nxt not in state:
                state[nxt] = "open"
                stack.append((nxt, iter(sorted(GRAPH[nxt]))))
                path.append(nxt)
    return []


def test_the_package_has_no_import_circle():
    assert _circle() == []


def test_the_finder_finds_a_circle():
    """The check above can fail: a circle added to the graph is found."""
    GRAPH["micrograd_nn.ops"].add("micrograd_nn.nn")
    try:
        circle = _circle()
    finally:
        GRAPH["micrograd_nn.ops"].discard("micrograd_nn.nn")
    assert circle[0] == circle[-1] and "micrograd_nn.ops" in circle


def test_layers_import_only_downwards():
    """The op table imports nothing of the package; the engine only the table; the torch
    bridge and viz's rendering nothing above them (no nn, no diagrams, no Jupyter)."""
    assert GRAPH["micrograd_nn.ops"] == set()
    engine = {m for m in MODULES if m.startswith("micrograd_nn.engine")}
    for name in engine:
        assert GRAPH[name] <= engine | {"micrograd_nn.ops"}, name
    assert GRAPH["micrograd_nn.pytorch"] == set()
    assert GRAPH["micrograd_nn.viz.rendering"] <= {"micrograd_nn._checks", "micrograd_nn._files"}


SLOTS = {"_a", "_b", "_da", "_db"}


def test_only_value_py_reads_the_node_layout():
    """Everything but engine/value.py reads a node through operands / local_grads (decode)."""
    for name, path in MODULES.items():
        if name == "micrograd_nn.engine.value":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        used = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)} & SLOTS
        if name == "micrograd_nn.nn":
            used -= {"_b"}   # a Neuron's own bias attribute, not a Value's slot
        assert not used, (name, used)


# the files that define a Value class set its methods; compiler/trace.py still swaps Value.data
# for a watch while it traces (process-wide: to be replaced by tracing that swaps nothing)
DEFINE_OR_TRACE = {"micrograd_nn.engine.value", "micrograd_nn.engine.reference",
                   "micrograd_nn.compiler.trace"}


def test_no_module_patches_value():
    """No other module sets an attribute on a Value class (Jupyter display included)."""
    for name, path in MODULES.items():
        if name in DEFINE_OR_TRACE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    assert not (isinstance(target, ast.Attribute)
                                and isinstance(target.value, ast.Name)
                                and target.value.id == "Value"), (name, node.lineno)
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setattr":
                first = node.args[0] if node.args else None
                assert not (isinstance(first, ast.Name) and first.id == "Value"), \
                    (name, node.lineno)
