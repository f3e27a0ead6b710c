"""How values, numbers and local-derivative formulas are written in diagrams and explanations.

A value is called by its ``label`` when it has one. Otherwise a constant is called by its number
and a computed value by the expression that made it (``w1*x1 + w2*x2``), as long as that stays
short; by its role where the graph shows one (``k0·q`` for the dot product of the same
entries of two labelled vectors, ``score0`` for the first input of the graph's one softmax, ``logsumexp(score)`` for its
normaliser, ``a0`` for a softmax weight, ``log a0`` for score_0 - logsumexp(score), ``a·v``
for the weights' dot product with labelled vectors v0, v1, ..., ``y`` for a target
subtracted from a neuron's output); past that by the op that made it and its place among the
values that op made: ``diff_1``, ``exp_2`` (the diagrams print that name in the node, so the
text and the picture agree).

Nothing here knows any calculus: formulas come from ``Op.formula`` and numbers from
``Value.local_grads``; this module only fills the templates with names.
"""

from __future__ import annotations

import math
import re

from ..engine import Value, chain_term

__all__ = ["fmt", "Namer", "drawing_order", "find_by_label", "consistent_digits"]

MAX_EXPRESSION = 22  # longer expression names fall back to <op>_<k>

_ATOM = 100   # a label, a call f(x), a non-negative number: never needs parentheses
_POWER = 4
_UNARY = 3
_PRODUCT = 2
_SUM = 1

_INFIX = {"+": (" + ", _SUM), "-": (" - ", _SUM), "*": ("*", _PRODUCT), "/": ("/", _PRODUCT),
          "**": ("**", _POWER)}


def fmt(x: float, digits: int = 4) -> str:
    """x with 4 (or ``digits``) significant digits: 1.5, -0.1884, 1, 2.5e-07, inf, nan."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    text = f"{x:.{digits}g}"
    return "0" if text == "-0" else text


MAX_DIGITS = 10


def _shown(x: float, digits: int) -> float:
    """x as a reader takes it from the picture: rounded to ``digits`` significant digits."""
    return float(fmt(x, digits)) if math.isfinite(x) else x


def _same(a: float, b: float, digits: int) -> bool:
    return fmt(a, digits) == fmt(b, digits) or not (math.isfinite(a) and math.isfinite(b))


FACTOR_DIGITS = 2   # factors are printed with this many more digits than results


def consistent_digits(topo: list, grads: dict, *, paths: bool = True, flows: bool = True,
                      start: int = 4) -> int:
    """The fewest significant digits ``d`` (from ``start``, at most 10) at which printed numbers
    agree, results printed with ``d`` digits and the factors that make them with ``d + 2``.

    ``paths``: along the only path from the root down to a value, the printed local derivatives
    multiply, rounded to ``d`` digits, to the printed gradient. ``flows``: on every arrow the
    gradient above times the local derivative gives the printed contribution, and the
    contributions a value receives (printed as factors, ``d + 2`` digits) add up to its printed
    gradient. (With every number at 4 digits the seed
    neuron's -0.5989 * 1 * 0.2098 * 1.5 = -0.18847 while dloss/dw1 = -0.18844 prints -0.1884;
    with factors at 6 digits, -0.598866 * 1 * 0.209769 * 1.5 = -0.188436, which prints -0.1884.)
    ``grads`` maps each value to d root / d value.
    """
    for digits in range(start, MAX_DIGITS + 1):
        if ((not paths or _paths_agree(topo, grads, digits))
                and (not flows or _flows_agree(topo, grads, digits))):
            return digits
    return MAX_DIGITS


def _paths_agree(topo: list, grads: dict, digits: int) -> bool:
    count = {topo[-1]: 1}
    product = {topo[-1]: 1.0}
    for v in reversed(topo):
        if v.is_leaf() or count.get(v) != 1:
            continue
        for p, local in zip(v.operands, v.local_grads):
            count[p] = count.get(p, 0) + 1
            product[p] = product[v] * _shown(local, digits + FACTOR_DIGITS)
    return all(_same(product[v], grads.get(v, 0.0), digits)
               for v in topo if count.get(v) == 1)


def _flows_agree(topo: list, grads: dict, digits: int) -> bool:
    arrived: dict = {}
    factor = digits + FACTOR_DIGITS
    for v in topo:
        g = grads.get(v, 0.0)
        if v.is_leaf() or g == 0.0:   # backward passes nothing on from a zero gradient
            continue
        for p, local in zip(v.operands, v.local_grads):
            contribution = chain_term(g, local)
            if not _same(_shown(g, factor) * _shown(local, factor), contribution, digits):
                return False
            arrived.setdefault(p, []).append(_shown(contribution, factor))
    return all(sum_agrees(parts, grads.get(p, 0.0), digits)
               for p, parts in arrived.items() if len(parts) > 1)


def sum_agrees(parts: list, total: float, digits: int) -> bool:
    """The printed parts add up to the printed total (or cancel to rounding noise, when the
    total is 0 and printing cannot show that they cancel exactly)."""
    added = sum(parts)
    scale = max((abs(p) for p in parts if math.isfinite(p)), default=0.0)
    return _same(added, total, digits) or (total == 0.0 and abs(added) <= 1e-9 * scale)


def drawing_order(root: Value) -> list:
    """The values ``root`` depends on, operands before results, operands in their own order.

    A depth-first post-order like ``engine.topological_order`` (and like it without recursion),
    but visiting operands first to last, so w1 is drawn above w2 and the numbering reads in
    the order the expression was written. It depends only on the graph, so node ids are stable.
    """
    order: list = []
    seen = {root}
    stack = [(root, iter(root.operands))]
    while stack:
        node, pending = stack[-1]
        for p in pending:
            if p not in seen:
                seen.add(p)
                stack.append((p, iter(p.operands)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def find_by_label(root: Value, label: str) -> Value:
    """The first value of ``root``'s graph (in ``drawing_order``) whose label is ``label``.

    ValueError, listing the graph's labels, when no value has it.
    """
    order = drawing_order(root)
    for v in order:
        if v.label == label:
            return v
    labels = ", ".join(sorted({v.label for v in order if v.label})) or "(none)"
    raise ValueError(f"no value of the graph is labelled {label!r}; its labels are: {labels}")


# the word a value made by an op is called by when its expression is too long: diff_2
_WORDS = {"+": "sum", "-": "diff", "*": "prod", "/": "quot", "neg": "neg", "linear": "dot"}


def _entries(values) -> tuple | None:
    """(stem, [i, ...]) when the values are labelled ``stem[i]``: entries of one vector."""
    found = [re.fullmatch(r"(.+)\[(\d+)\]", v.label or "") for v in values]
    if not found or None in found or len({m.group(1) for m in found}) != 1:
        return None
    return found[0].group(1), [int(m.group(2)) for m in found]


def _dot(left, right) -> str | None:
    """``k0·q`` when left and right are the same entries (each once) of two labelled
    vectors: sum_i k0[i]*q[i]."""
    a, b = _entries(left), _entries(right)
    if a is None or b is None or a[1] != b[1] or len(set(a[1])) != len(a[1]):
        return None
    return f"{a[0]}\u00b7{b[0]}"


def _family(values) -> tuple | None:
    """(``v``, [t, ...]) when the values are entry j (one j for all) of vectors labelled
    ``v0``, ``v1``, ...: ``v0[j]``, ``v1[j]``, ..."""
    found = [re.fullmatch(r"(.*?[^\d])(\d+)\[(\d+)\]", v.label or "") for v in values]
    if not found or None in found or len({(m.group(1), m.group(3)) for m in found}) != 1:
        return None
    return found[0].group(1), [int(m.group(2)) for m in found]


def _softmax_index(v: Value) -> int | None:
    """t, when v is z_t - logsumexp(z_0, z_1, ...)."""
    if v.op is None or v.op.name != "-" or len(v.operands) != 2:
        return None
    z, lse = v.operands
    if lse.op is None or lse.op.name != "logsumexp" or z not in lse.operands:
        return None
    return lse.operands.index(z)


def _wrap(name: str, prec: int, needed: int) -> str:
    return name if prec >= needed else f"({name})"


class Namer:
    """Names for every value of one graph, given in topological order (operands first)."""

    def __init__(self, topo: list, short: frozenset = frozenset(), structure=None):
        """``short``: values to call ``v<k>`` even when they could have an expression name.

        ``structure`` (a ``structure.Structure``): neurons are called ``L1.N2`` (their linear
        part ``L1.N2.z``) and, when the graph holds several samples, the values of sample k
        ``sk.<name>``.
        """
        self.index = {v: k for k, v in enumerate(topo)}
        # the softmax's normaliser logsumexp(z) (read by some z_t - logsumexp(z)), when the
        # graph holds one softmax: with two, a0 and score0 would each name two values
        normalisers = {v.operands[1] for v in topo if _softmax_index(v) is not None}
        self._softmax = normalisers.pop() if len(normalisers) == 1 else None
        # its inputs, by place: z_t -> t (None for one read twice)
        self._scores: dict = {}
        for t, z in enumerate(self._softmax.operands if self._softmax is not None else ()):
            self._scores[z] = t if z not in self._scores else None
        self._names: dict = {}
        self._made: dict = {}       # op word -> how many long expressions it has named
        self._structure = structure
        for k, v in enumerate(topo):
            self._names[v] = (f"v{k}", _ATOM) if v in short and not v.label else self._make(v, k)

    def name(self, v: Value) -> str:
        """The name of v as text."""
        return self._names[v][0]

    def short(self, v: Value) -> str:
        """The name of v without its sample prefix (for drawings that group samples)."""
        name = self._names[v][0]
        s = self._structure.sample(v) if self._structure is not None else None
        return name[len(f"s{s}."):] if s is not None and name.startswith(f"s{s}.") else name

    def _make(self, v: Value, k: int) -> tuple:
        structure = self._structure
        if structure is not None:
            if v in structure.alias:       # x**1, 1*y: called by what they equal
                return self._names[structure.alias[v]]
            neuron = structure.neuron_of.get(v)
            sample = structure.sample(v)
            prefix = f"s{sample}." if sample is not None and v not in structure.parameters else ""
            if neuron is not None and not v.label:
                return prefix + neuron.name + (".z" if v is not neuron.out else ""), _ATOM
            if v.label and prefix and v.is_leaf():
                return prefix + v.label, _ATOM
            if v in structure.targets:
                target = structure.targets[v]
                return ("y" if target is None else f"s{target}.y"), _ATOM
        if v.label:
            return v.label, (_ATOM if re.fullmatch(r"[\w.]+", v.label) else _SUM)
        if v.is_leaf():
            text = fmt(v.data)
            return text, (0 if text.startswith("-") else _ATOM)  # x - (-1), (-1)*x
        role = self._role(v)
        if role is not None:
            return role, _ATOM
        text, prec = self._expression(v)
        if len(text) > MAX_EXPRESSION:
            word = _WORDS.get(v.op.name, re.sub(r"\W", "", v.op.name) or "v")
            self._made[word] = self._made.get(word, 0) + 1
            return f"{word}_{self._made[word]}", _ATOM
        return text, prec

    def _role(self, v: Value) -> str | None:
        """A name from what v does, read off the graph (from ops and places alone, for any
        model): ``k0·q`` for sum_i k0[i]*q[i] (entries of two labelled vectors); for the
        graph's one softmax of z_0, z_1, ... (exp(z_t - logsumexp(z))) its inputs
        ``score_t`` (``score0``), ``logsumexp(score)``, its weights ``a_t`` (``a0``), ``log
        a_t`` for z_t - logsumexp(z), and ``a·v`` for the weights' dot product with entry j of
        labelled vectors ``v0``, ``v1``, ..., a_t meeting v_t (attention's output)."""
        op = v.op.name if v.op is not None else None
        if self._scores.get(v) is not None:
            return f"score{self._scores[v]}"
        if v is self._softmax and all(self._scores.get(z) is not None for z in v.operands):
            return "logsumexp(score)"
        if op == "linear":
            n = (len(v.operands) - 1) // 2
            bias = v.operands[-1]
            if bias.is_leaf() and not bias.label and bias.data == 0.0:
                sides = v.operands[:n], v.operands[n:2 * n]
                dot = _dot(*sides)
                if dot is not None:
                    return dot
                for weights, vectors in (sides, sides[::-1]):
                    family = _family(vectors)
                    places = [self._log_weight(a.operands[0]) if a.op is not None
                              and a.op.name == "exp" else None for a in weights]
                    # sum_t a_t v_t[j]: weight t meets vector t, each weight once
                    if family and places == family[1] and len(set(places)) == len(places):
                        return f"a\u00b7{family[0]}"
            return None
        if op == "exp":
            t = self._log_weight(v.operands[0])
            return None if t is None else f"a{t}"
        if op == "-":
            t = self._log_weight(v)
            return None if t is None else f"log a{t}"
        return None

    def _log_weight(self, v: Value) -> int | None:
        """t, when v is z_t - logsumexp(z) of the graph's softmax (log a_t)."""
        t = _softmax_index(v)
        return t if t is not None and v.operands[1] is self._softmax else None

    def _expression(self, v: Value) -> tuple:
        op = v.op.name
        parts = [self._names[p] for p in v.operands]
        if op in _INFIX and len(parts) == 2:
            symbol, prec = _INFIX[op]
            (a, pa), (b, pb) = parts
            if op == "**":  # right-associative
                return _wrap(a, pa, prec + 1) + symbol + _wrap(b, pb, prec), prec
            # the right operand of - and / needs parentheses at equal precedence
            right = prec + 1 if op in "-/" else prec
            return _wrap(a, pa, prec) + symbol + _wrap(b, pb, right), prec
        if op == "neg":
            (a, pa), = parts
            return "-" + _wrap(a, pa, _POWER), _UNARY
        if op.startswith("**"):  # a constant exponent: the op's name carries it
            (a, pa), = parts
            return _wrap(a, pa, _POWER + 1) + op, _POWER
        if op == "linear":
            n = (len(parts) - 1) // 2
            terms = [_wrap(w, pw, _PRODUCT) + "*" + _wrap(x, px, _PRODUCT)
                     for (w, pw), (x, px) in zip(parts[:n], parts[n:2 * n])]
            return " + ".join(terms + [_wrap(*parts[-1], _SUM)]), _SUM
        if op == "sum":
            return " + ".join(_wrap(a, pa, _SUM) for a, pa in parts), _SUM
        return f"{op}(" + ", ".join(a for a, _ in parts) + ")", _ATOM

    def formula(self, v: Value, i: int) -> str:
        """The symbolic d v / d operand_i: the op's template filled with names."""
        operands = v.operands
        return self.fill(v.op.formula(i, len(operands)),
                         [self._names[p] for p in operands], self._names[v])

    def named(self, v: Value) -> tuple:
        """(name, precedence) of v, for ``fill``."""
        return self._names[v]

    @staticmethod
    def fill(template: str, operands: list, out: tuple) -> str:
        """Fill a formula template: ``{k}`` with operand k's name, ``{out}`` with the result's.

        ``operands`` and ``out`` are (name, precedence) pairs. Compound names get parentheses,
        and a trailing ``**1`` (from ``x**2``'s ``2*x**1``) is dropped, which only tidies the
        text.
        """
        alone = re.fullmatch(r"\{(out|\d+)\}", template) is not None  # "{1}": no parentheses

        def put(match: re.Match) -> str:
            key = match.group(1)
            name, prec = out if key == "out" else operands[int(key)]
            # the only argument of a call, exp({0}), has its parentheses already
            call = (match.start() > 0 and template[match.start() - 1] == "("
                    and template[match.end():match.end() + 1] == ")")
            return name if alone or call else _wrap(name, prec, _ATOM)

        text = re.sub(r"\{(out|\d+)\}", put, template)
        text = re.sub(r"\*\*1(?![\d.])", "", text)
        parts = text.split(" = ")  # "exp(z) = exp(z)" when the result has no label of its own
        return " = ".join(p for i, p in enumerate(parts) if i == 0 or p != parts[i - 1])

    @staticmethod
    def product(a: tuple, b: tuple) -> tuple:
        """(name, precedence) of a*b, from those of a and b."""
        return _wrap(*a, _PRODUCT) + "*" + _wrap(*b, _PRODUCT), _PRODUCT

    @staticmethod
    def d(named: tuple) -> str:
        """The differential of a name: dx, d(w1*x1), d(exp(z))."""
        name = named[0]
        return "d" + name if re.fullmatch(r"[A-Za-z_]\w*", name) else f"d({name})"

    @staticmethod
    def has_symbols(template: str) -> bool:
        """True when a template names a value (is not just a number such as "1")."""
        return "{" in template
