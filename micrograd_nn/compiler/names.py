"""Variable names for generated code: a value's label where it has one, else t1, t2, ...

Every name the generated code uses for itself starts with an underscore (``_params``,
``_exp``), and no name made from a label does, so a label can never shadow one of them.
"""

from __future__ import annotations

import keyword
import math
import re

from .trace import CONST, INPUT, OP, PARAM, Graph

__all__ = ["value_names", "literal"]


def literal(x: float) -> str:
    """A float as a Python expression (inf and nan as the names _INF and _NAN)."""
    if math.isnan(x):
        return "_NAN"
    if math.isinf(x):
        return "_INF" if x > 0 else "(-_INF)"
    return repr(x) if x >= 0 and not str(x).startswith("-") else f"({x!r})"


def _identifier(label: str) -> str:
    name = re.sub(r"\W", "_", label).strip("_")
    if not name:
        return ""
    if name[0].isdigit():
        name = "v" + name
    return name + "_" if keyword.iskeyword(name) else name


def value_names(graph: Graph) -> tuple[list, list]:
    """(name of each node's value, name of its gradient or None), for the generated code.

    Constants are written as literals; inputs, parameters and operation results get names:
    their label where it makes an identifier, else x1.., p1.., t1... A gradient is "d" + name.
    """
    taken: set = set()
    names: list = []
    counters = {INPUT: 0, PARAM: 0, OP: 0}
    prefix = {INPUT: "x", PARAM: "p", OP: "t"}
    neurons = neuron_names(graph)
    for i, node in enumerate(graph.nodes):
        if node.kind == CONST:
            names.append(literal(node.ref))
            continue
        name = _identifier(node.label) or neurons.get(i, "")
        if not name:  # numbered among the unnamed values of its kind: t1, t2, ...
            counters[node.kind] += 1
            name = f"{prefix[node.kind]}{counters[node.kind]}"
        names.append(_fresh(taken, name))
    grads = [None if n.kind in (CONST, INPUT) else _fresh(taken, "d" + names[i])
             for i, n in enumerate(graph.nodes)]
    return names, grads


def neuron_names(graph: Graph) -> dict:
    """{node: name} for the neurons of a model: a ``linear`` node whose weights and bias are
    parameters labelled with one prefix ("L1.N1.w1", ..., "L1.N1.b") is the neuron "L1_N1";
    when one activation (a unary op) alone reads it, that is the neuron's output "L1_N1" and
    the linear node its sum "L1_N1_z"."""
    readers: dict = {}
    for i, node in enumerate(graph.nodes):
        for a in set(node.args):
            readers.setdefault(a, []).append(i)
    for o in graph.outputs:
        readers.setdefault(o, []).append(None)
    found = {}
    for i, node in enumerate(graph.nodes):
        if node.kind != OP or node.op.name != "linear":
            continue
        n = (len(node.args) - 1) // 2
        labels = [graph.nodes[a].label for a in (*node.args[:n], node.args[-1])
                  if graph.nodes[a].kind == PARAM]
        if len(labels) != n + 1 or not all("." in label for label in labels):
            continue
        prefixes = {label.rsplit(".", 1)[0] for label in labels}
        if len(prefixes) != 1:
            continue
        name = _identifier(prefixes.pop())
        after = readers.get(i, [])
        if len(after) == 1 and after[0] is not None and \
                len(graph.nodes[after[0]].args) == 1 and not graph.nodes[after[0]].label:
            found[i], found[after[0]] = name + "_z", name
        else:
            found[i] = name
    return found


def _fresh(taken: set, name: str) -> str:
    """name, or name_2, name_3, ... whichever is not taken yet (and take it)."""
    candidate, k = name, 1
    while candidate in taken:
        k += 1
        candidate = f"{name}_{k}"
    taken.add(candidate)
    return candidate
