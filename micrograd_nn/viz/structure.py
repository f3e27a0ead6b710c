"""What a graph of Values is made of: parameters, neurons, layers and samples.

The diagrams and ``explain`` name things the way a network's author thinks of them, read off
the graph alone (viz knows nothing of ``nn``):

* **parameters**: what the user trains: exactly the ``params`` given (a model's parameters,
  Values or labels), else the leaves a neuron weighs its inputs by, its weights and bias.
  Never a guess from a label: ``b`` in ``a*b + c`` is an input like ``a``;
* **neurons**: a ``linear`` node z = w.x + b, with the activation applied to it alone (an op
  the table, ``micrograd_nn.ops``, marks as an activation). A ``linear`` node with neither
  a bias (its bias is an unlabelled constant 0, what ``Value.matvec`` puts in when given
  none) nor an activation, nor a neuron among its inputs, is a dot product (an attention
  score k.q, a sum of values weighted by attention), not a neuron. A neuron whose bias is labelled
  ``L1.N2.b`` is called ``L1.N2`` (its linear part ``L1.N2.z``) and sits in layer 1; an
  unlabelled one is named by its depth (layer) and its place among that layer's neurons;
* **identities**: ``x**1`` and a product with the unlabelled constant 1 (gradients built with
  ``create_graph=True`` are full of them: ``1*2*x**1``) stand for their other operand; the
  diagrams draw that operand instead (its local derivative is exactly 1, so no product
  changes) and names read ``2*x``;
* **samples**: the first-layer neurons fed by the same inputs belong to one sample, numbered in
  the order the graph was built (``Value.sum`` over samples keeps their order); every value
  computed from one sample only belongs to it. A graph with several samples calls their values
  ``s2.L1.N2``, ``s2.x1``, ...
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..engine import LINEAR, Value

__all__ = ["Structure", "NeuronInfo", "is_parameter_label"]

_PARAMETER_LABEL = re.compile(r"(?:[\w.]*\.)?[wb]\d*")
_NEURON_PREFIX = re.compile(r"(.+)\.b")
_LAYER = re.compile(r"(?:.*\.)?L(\d+)\.N\d+")


def is_parameter_label(label: str) -> bool:
    """``w``, ``w1``, ``b``, ``b2``, ``L1.N2.w1``, ``L1.N2.b``: names given to parameters."""
    return bool(label) and _PARAMETER_LABEL.fullmatch(label) is not None


@dataclass(eq=False)
class NeuronInfo:
    linear: Value          # z = w.x + b
    out: Value             # the activation of z, or z itself
    name: str              # L1.N2
    layer: int             # numbered like the model's layers, from 1
    sample: int | None     # 1, 2, ... (None: the graph has one sample, or a mix)

    @property
    def width(self) -> int:
        return (len(self.linear.operands) - 1) // 2

    @property
    def inputs(self) -> tuple:
        n = self.width
        return self.linear.operands[n:2 * n]

    @property
    def weights(self) -> tuple:
        return self.linear.operands[:self.width] + self.linear.operands[-1:]


def _is_one(v: Value) -> bool:
    return v.is_leaf() and not v.label and v.data == 1.0


def _consumers(topo: list) -> dict:
    """value -> [(a value computed from it, the operand position)]."""
    consumers: dict = {}
    for v in topo:
        for i, p in enumerate(v.operands):
            consumers.setdefault(p, []).append((v, i))
    return consumers


class Structure:
    """Parameters, neurons and samples of the graph of ``topo`` (operands first) under ``root``.

    ``params``: None to recognise parameters as the module docstring says, else exactly the
    Values and labels given.
    """

    def __init__(self, topo: list, root: Value, params: tuple | None = None):
        self.topo = topo
        self.root = root
        self.consumers = _consumers(topo)
        self.alias = self._identities()
        self._targets = set(self.alias.values())
        self.neurons = self._neurons()          # in drawing order
        self.parameters = self._parameters(params)
        self.neuron_of = {}
        for n in self.neurons:
            self.neuron_of[n.linear] = self.neuron_of[n.out] = n
        self.sample_of = self._samples()
        self.n_samples = len({s for s in self.sample_of.values() if s is not None})
        if self.n_samples < 2:
            self.sample_of = {}
        for n in self.neurons:
            n.sample = self.sample_of.get(n.out)
        self.targets = self._targets_of()

    def _targets_of(self) -> dict:
        """target -> its sample (None: one sample): an unlabelled constant subtracted from a
        neuron's output, the difference an error (squared or its absolute value taken, as in
        (yhat - y)**2; not a threshold, as in relu(yhat - 0.5))."""
        found = {}
        for v in self.topo:
            if v.op is not None and v.op.name == "-" and len(v.operands) == 2:
                yhat, y = v.operands
                if (yhat in self.neuron_of and y.is_leaf() and not y.label
                        and self._is_error(v)):
                    found[y] = self.sample_of.get(v)
        return found

    def _is_error(self, d: Value) -> bool:
        """Is every use of d a measure of its size: d**2, abs(d), d*d?"""
        users = self.consumers.get(d, [])
        return bool(users) and all(
            u.op.name in ("**2", "abs") or (u.op.name == "*" and u.operands[0] is u.operands[1])
            for u, _ in users)

    # ---- identities ---------------------------------------------------------------------------

    def _identities(self) -> dict:
        """value -> the value it equals and is drawn as (x**1 -> x, 1*y -> y), chains followed."""
        alias: dict = {}
        for v in self.topo:
            if v.op is None:
                continue
            other = None
            if v.op.name == "**1":
                other = v.operands[0]
            elif v.op.name == "*" and len(v.operands) == 2:
                a, b = (alias.get(p, p) for p in v.operands)
                if _is_one(a):
                    other = b
                elif _is_one(b):
                    other = a
            if other is not None:
                alias[v] = alias.get(other, other)
        return alias

    def silent_bias(self, v: Value) -> bool:
        """The unlabelled constant 0 that ``Value.matvec`` gives a dot product for a bias:
        drawn nowhere (a dot product has no bias)."""
        users = self.consumers.get(v, [])
        return (v.is_leaf() and not v.label and v.data == 0.0 and bool(users)
                and all(u.op is LINEAR and u not in self.neuron_of and i == len(u.operands) - 1
                        for u, i in users) and v is not self.root)

    def hidden(self, v: Value) -> bool:
        """True for what is not drawn: an identity, a constant 1 used only by identities, the
        zero bias of a dot product."""
        if v in self.alias or self.silent_bias(v):
            return True
        users = self.consumers.get(v, [])
        return (_is_one(v) and bool(users) and all(u in self.alias for u, _ in users)
                and v not in self._targets)

    # ---- parameters ---------------------------------------------------------------------------

    def _parameters(self, params) -> set:
        if params is not None:
            values, labels = params
            return {v for v in self.topo if v.is_leaf()
                    and (v in values or (v.label and v.label in labels))}
        return {p for n in self.neurons for p in n.weights if p.is_leaf()}

    # ---- neurons ------------------------------------------------------------------------------

    def _neurons(self) -> list:
        found = []
        outs: set = set()
        for v in self.topo:
            if v.op is not LINEAR:
                continue
            out = v
            users = self.consumers.get(v, [])
            if (v is not self.root and len(users) == 1 and users[0][0].op is not None
                    and users[0][0].op.activation):
                out = users[0][0]
            bias = v.operands[-1]
            n = (len(v.operands) - 1) // 2
            if (out is v and bias.is_leaf() and not bias.label and bias.data == 0.0
                    and not outs.intersection(v.operands[n:2 * n])):
                continue        # a dot product
            outs.add(out)
            found.append(NeuronInfo(v, out, "", 0, None))
        self._name_neurons(found)
        return found

    def _name_neurons(self, found: list) -> None:
        """L1.N2 from the bias label, else from the neuron's depth and its place in its layer."""
        depth: dict = {}
        outs = {n.out: n for n in found}
        per_layer: dict = {}
        for n in found:
            below = [depth[outs[x]] for x in n.inputs if x in outs and outs[x] in depth]
            depth[n] = 1 + max(below, default=0)
            bias = n.linear.operands[-1].label
            prefix = _NEURON_PREFIX.fullmatch(bias) if bias else None
            if prefix:
                n.name = prefix.group(1)
                layer = _LAYER.fullmatch(n.name)
                n.layer = int(layer.group(1)) if layer else depth[n]
            else:
                n.layer = depth[n]
                # the neurons of a layer that read the same inputs: one layer of one sample
                siblings = per_layer.setdefault((n.layer, tuple(n.inputs)), [])
                siblings.append(n)
                n.name = f"L{n.layer}.N{len(siblings)}"

    # ---- samples ------------------------------------------------------------------------------

    def _samples(self) -> dict:
        """value -> sample number, for the values computed from one sample's inputs only."""
        sample_of: dict = {}
        by_inputs: dict = {}
        for v in self.topo:
            n = self.neuron_of.get(v)
            if n is not None and v is n.linear and not any(x in self.neuron_of for x in n.inputs):
                key = tuple(n.inputs)     # a first-layer neuron: its inputs are one sample
                s = by_inputs.setdefault(key, len(by_inputs) + 1)
                for x in n.inputs:
                    sample_of.setdefault(x, s)
                sample_of[v] = s
                continue
            found = {sample_of[p] for p in v.operands if p in sample_of}
            if len(found) == 1:
                sample_of[v] = found.pop()
        return sample_of

    def sample(self, v: Value) -> int | None:
        return self.sample_of.get(v)
