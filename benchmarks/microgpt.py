"""W5: microgpt's training step, on three engines.

microgpt is a 1-layer character-level GPT (n_embd 16, 4 heads, block size 16, about 4.2k
parameters) trained with Adam on a list of names, written for a scalar autograd engine: every
dot product is Python's ``sum`` over Value products, the softmax is exp / sum, the loss is
-log of a probability, and rmsnorm scales by ``(mean square + eps) ** -0.5``.

The same model runs three ways:

* ``BaselineValue``: an engine written here to microgpt's published design (slots, each node
  keeping its children and the tuple of its local gradients, a recursive topological sort).
  This is the baseline every ratio of W5 is taken against.
* micrograd_nn's ``Value`` as a drop-in: ``gpt_loss`` unchanged, only the Value class differs.
* ``gpt_loss_nary``: the same model written with micrograd_nn's n-ary nodes (``Value.linear``
  for every dot product, by rows with ``Value.matvec``, ``Value.logsumexp`` for the softmax and
  the loss, ``Value.sum``).

A fourth row runs the drop-in again with each step inside ``micrograd_nn.collector_paused()``:
what a user who asks for the cyclic collector to be paused gets (the targets are on the three).

Every variant starts from the same parameters and trains on the same names with the same Adam
loop, so their losses agree to rounding; `run.py` times them and compares the losses.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

# -------------------------------------------------------------------------------------------------
# The baseline engine: microgpt's design


class BaselineValue:
    """A scalar node in microgpt's design: its data, its grad, the nodes it was computed from
    (``_children``) and d self / d child for each of them (``_local_grads``), fixed at forward
    time. Constants become leaves; ``-``, ``/`` are built from ``+``, ``*`` and ``**``."""

    __slots__ = ("data", "grad", "_children", "_local_grads")

    def __init__(self, data, children=(), local_grads=()):
        self.data = data
        self.grad = 0
        self._children = children
        self._local_grads = local_grads

    def __add__(self, other):
        if not isinstance(other, BaselineValue):
            other = BaselineValue(other)
        return BaselineValue(self.data + other.data, (self, other), (1, 1))

    def __mul__(self, other):
        if not isinstance(other, BaselineValue):
            other = BaselineValue(other)
        return BaselineValue(self.data * other.data, (self, other), (other.data, self.data))

    def __pow__(self, k):  # k a plain number
        return BaselineValue(self.data ** k, (self,), (k * self.data ** (k - 1),))

    def exp(self):
        e = math.exp(self.data)
        return BaselineValue(e, (self,), (e,))

    def log(self):
        return BaselineValue(math.log(self.data), (self,), (1 / self.data,))

    def relu(self):
        return BaselineValue(max(0, self.data), (self,), (float(self.data > 0),))

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other ** -1

    def __rtruediv__(self, other):
        return other * self ** -1

    def backward(self):
        """Sort the graph depth first, recursively (children before parents), then walk it
        from the output, adding local gradient times the parent's grad into each child."""
        order, visited = [], set()

        def visit(node):
            if node not in visited:
                visited.add(node)
                for child in node._children:
                    visit(child)
                order.append(node)

        visit(self)
        self.grad = 1
        for node in reversed(order):
            for child, local in zip(node._children, node._local_grads):
                child.grad += local * node.grad


# -------------------------------------------------------------------------------------------------
# The model and its training state


@dataclass
class Config:
    """microgpt's sizes and Adam settings."""

    n_layer: int = 1
    n_embd: int = 16
    n_head: int = 4
    block_size: int = 16
    init_std: float = 0.08
    learning_rate: float = 0.01
    beta1: float = 0.85
    beta2: float = 0.99
    eps: float = 1e-8
    total_steps: int = 1000  # the learning rate decays linearly to 0 over this many steps

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head


@dataclass
class GPT:
    """Parameters (matrices of Values by name), the Adam moments and the step count."""

    config: Config
    vocab: str                       # token i < len(vocab) is the character vocab[i]
    weights: dict
    params: list = field(default_factory=list)
    m: list = field(default_factory=list)
    v: list = field(default_factory=list)
    step: int = 0

    @property
    def bos(self) -> int:
        """The token that starts and ends every name."""
        return len(self.vocab)

    def tokens(self, name: str) -> list[int]:
        return [self.bos] + [self.vocab.index(c) for c in name] + [self.bos]


def init_gpt(Value, vocab: str, config: Config | None = None, seed: int = 0) -> GPT:
    """A GPT whose parameters are ``Value``s drawn from N(0, init_std) with ``seed``; any Value
    class, so every engine starts from exactly the same numbers."""
    config = config or Config()
    rng = random.Random(seed)
    n, vocab_size = config.n_embd, len(vocab) + 1

    def matrix(rows: int, cols: int) -> list:
        return [[Value(rng.gauss(0.0, config.init_std)) for _ in range(cols)]
                for _ in range(rows)]

    weights = {"wte": matrix(vocab_size, n), "wpe": matrix(config.block_size, n),
               "lm_head": matrix(vocab_size, n)}
    for i in range(config.n_layer):
        for name in ("attn_wq", "attn_wk", "attn_wv", "attn_wo"):
            weights[f"layer{i}.{name}"] = matrix(n, n)
        weights[f"layer{i}.mlp_fc1"] = matrix(4 * n, n)
        weights[f"layer{i}.mlp_fc2"] = matrix(n, 4 * n)
    params = [p for mat in weights.values() for row in mat for p in row]
    return GPT(config, vocab, weights, params, [0.0] * len(params), [0.0] * len(params))


def adam_step(model: GPT) -> None:
    """microgpt's Adam loop, on any engine: update every parameter from its grad, reset the
    grad to 0, and decay the learning rate linearly."""
    c = model.config
    lr = c.learning_rate * (1 - model.step / c.total_steps)
    t = model.step + 1
    m, v = model.m, model.v
    for i, p in enumerate(model.params):
        m[i] = c.beta1 * m[i] + (1 - c.beta1) * p.grad
        v[i] = c.beta2 * v[i] + (1 - c.beta2) * p.grad ** 2
        m_hat = m[i] / (1 - c.beta1 ** t)
        v_hat = v[i] / (1 - c.beta2 ** t)
        p.data -= lr * m_hat / (v_hat ** 0.5 + c.eps)
        p.grad = 0
    model.step += 1


def train_step(model: GPT, name: str, loss_fn) -> float:
    """One step on one name: loss, backward, Adam. Returns the loss as a float."""
    loss = loss_fn(model, model.tokens(name))
    loss.backward()
    adam_step(model)
    return loss.data


def train_step_collector_paused(model: GPT, name: str, loss_fn) -> float:
    """`train_step` inside ``micrograd_nn.collector_paused()`` (the user asks for it)."""
    from micrograd_nn import collector_paused
    with collector_paused():
        return train_step(model, name, loss_fn)


# -------------------------------------------------------------------------------------------------
# The forward pass as microgpt writes it (any engine)


def linear(x, w):
    return [sum(wi * xi for wi, xi in zip(row, x)) for row in w]


def softmax(logits):
    top = max(v.data for v in logits)
    exps = [(v - top).exp() for v in logits]
    total = sum(exps)
    return [e / total for e in exps]


def rmsnorm(x):
    mean_square = sum(xi * xi for xi in x) / len(x)
    scale = (mean_square + 1e-5) ** -0.5
    return [xi * scale for xi in x]


def attention(q, keys, values, config: Config):
    """Causal self-attention of one query over the cached keys and values, head by head."""
    d = config.head_dim
    out = []
    for h in range(config.n_head):
        lo = h * d
        q_h = q[lo:lo + d]
        logits = [sum(q_h[j] * k[lo + j] for j in range(d)) / d ** 0.5 for k in keys]
        weights = softmax(logits)
        out.extend(sum(weights[t] * values[t][lo + j] for t in range(len(values)))
                   for j in range(d))
    return out


def gpt_logits(model: GPT, token: int, pos: int, keys: list, values: list, norm=rmsnorm,
               dense=linear, attend=attention, embed=lambda table, token: table[token]):
    """The logits for the next token after ``token`` at ``pos``; appends to the key-value cache.
    ``norm``, ``dense``, ``attend`` and ``embed`` are swapped by the n-ary variant."""
    w, c = model.weights, model.config
    x = norm([t + p for t, p in zip(embed(w["wte"], token), w["wpe"][pos])])
    for i in range(c.n_layer):
        residual = x
        x = norm(x)
        q = dense(x, w[f"layer{i}.attn_wq"])
        keys[i].append(dense(x, w[f"layer{i}.attn_wk"]))
        values[i].append(dense(x, w[f"layer{i}.attn_wv"]))
        x = dense(attend(q, keys[i], values[i], c), w[f"layer{i}.attn_wo"])
        x = [a + b for a, b in zip(x, residual)]
        residual = x
        x = dense([h.relu() for h in dense(norm(x), w[f"layer{i}.mlp_fc1"])],
                  w[f"layer{i}.mlp_fc2"])
        x = [a + b for a, b in zip(x, residual)]
    return dense(x, w["lm_head"])


def gpt_loss(model: GPT, tokens: list[int]):
    """Mean cross-entropy of predicting each next token of one name, as microgpt writes it."""
    n = min(model.config.block_size, len(tokens) - 1)
    keys = [[] for _ in range(model.config.n_layer)]
    values = [[] for _ in range(model.config.n_layer)]
    losses = []
    for pos in range(n):
        probs = softmax(gpt_logits(model, tokens[pos], pos, keys, values))
        losses.append(-probs[tokens[pos + 1]].log())
    return (1 / n) * sum(losses)


# -------------------------------------------------------------------------------------------------
# The same model with micrograd_nn's n-ary nodes


def _nary():
    from micrograd_nn import Value
    return Value


def linear_nary(x, w):
    return _nary().matvec(w, x)


def rmsnorm_nary(x):
    Value = _nary()
    scale = (Value.linear(x, x) * (1 / len(x)) + 1e-5) ** -0.5
    return [xi * scale for xi in x]


def attention_nary(q, keys, values, config: Config):
    """Attention with one linear node per logit and per output, the softmax as
    exp(logit - logsumexp(logits))."""
    Value = _nary()
    d = config.head_dim
    out = []
    for h in range(config.n_head):
        lo, hi = h * d, h * d + d
        q_h = q[lo:hi]
        logits = [z * (1 / d ** 0.5) for z in Value.matvec([k[lo:hi] for k in keys], q_h)]
        lse = Value.logsumexp(logits)
        weights = [(a - lse).exp() for a in logits]
        out.extend(Value.matvec([[v[lo + j] for v in values] for j in range(d)], weights))
    return out


def gpt_loss_nary(model: GPT, tokens: list[int]):
    """The loss of `gpt_loss`, each position's cross-entropy as logsumexp(logits) - logit."""
    Value = _nary()
    n = min(model.config.block_size, len(tokens) - 1)
    keys = [[] for _ in range(model.config.n_layer)]
    values = [[] for _ in range(model.config.n_layer)]
    losses = []
    for pos in range(n):
        logits = gpt_logits(model, tokens[pos], pos, keys, values, norm=rmsnorm_nary,
                            dense=linear_nary, attend=attention_nary, embed=embedding_nary)
        losses.append(Value.logsumexp(logits) - Value.take(logits, tokens[pos + 1]))
    return Value.sum(losses) * (1 / n)


def embedding_nary(table, token):
    """``table[token]``, also for a token id held in a Value (compiled code): Value.take."""
    return _nary().take(table, token)


def adam_step_arrays(model: GPT, grad=None) -> None:
    """`adam_step`'s update on numpy arrays of the parameters' numbers (as numpy microgpt
    does): the same formulas, elementwise; the moments live in arrays kept on the model.
    ``grad`` is the gradient as an array (``Program.gradients``, which writes no ``.grad``);
    then the numbers are kept in ``model.data_array`` between steps (and written into the
    Values). Without it each ``.grad`` is read, and reset to 0."""
    import struct
    import numpy as np
    c, params = model.config, model.params
    n = len(params)
    if "m_array" not in model.__dict__:
        model.m_array, model.v_array = np.zeros(n), np.zeros(n)
        model.pack = struct.Struct(f"{n}d").pack
    lr = c.learning_rate * (1 - model.step / c.total_steps)
    t = model.step + 1
    from_values = grad is None
    if from_values:
        grad = np.fromiter([p.grad for p in params], float, n)
    m = model.m_array = c.beta1 * model.m_array + (1 - c.beta1) * grad
    v = model.v_array = c.beta2 * model.v_array + (1 - c.beta2) * grad ** 2
    m_hat = m / (1 - c.beta1 ** t)
    v_hat = v / (1 - c.beta2 ** t)
    if from_values or "data_array" not in model.__dict__:  # the quickest read of n floats
        data = np.frombuffer(model.pack(*[p.data for p in params]))
    else:  # the numbers this update wrote last, kept (nothing else writes them)
        data = model.data_array
    data = data - lr * m_hat / (v_hat ** 0.5 + c.eps)
    if from_values:
        for p, x in zip(params, data.tolist()):
            p.data = x
            p.grad = 0
    else:
        model.data_array = data
        for p, x in zip(params, data.tolist()):
            p.data = x
    model.step += 1


def compiled_train_step(backend: str, adam=adam_step, arrays: bool = False):
    """A `train_step` with ``micrograd_nn.compile``: the loss is compiled on the first call
    (its name's length; every other length is traced and compiled on its first use, and
    kept), then each step runs the compiled forward and backward, then ``adam`` (microgpt's
    loop, or `adam_step_arrays` beside the numpy backend). With ``arrays``, the parameters'
    numbers live in one array that Adam updates and writes into the Values, the program
    reads that array (``Program.gradients(..., data=)``) and the gradient comes back as one
    array that goes to ``adam`` as it is, as in numpy microgpt: no ``.grad`` is written or
    read, and every ``.data`` holds its number after each step."""
    def step(model: GPT, name: str, loss_fn) -> float:
        program = model.__dict__.get("program")
        if program is None:
            from micrograd_nn import compile
            program = compile(lambda tokens: loss_fn(model, tokens), model.tokens(name),
                              backend=backend)
            model.program = program
            model.param_tuple = tuple(model.params)
        if arrays:
            data = model.__dict__.get("data_array")
            if data is None:
                import numpy as np
                data = model.data_array = np.array([p.data for p in model.params])
            loss, grad = program.gradients([model.tokens(name)], params=model.param_tuple,
                                           data=data)
            adam(model, grad)
            return float(loss[0])
        loss = float(program.backward([model.tokens(name)])[0])
        adam(model)
        return loss
    return step


# -------------------------------------------------------------------------------------------------
# The variants


VARIANTS = {  # name -> (Value class loader, loss function)
    "microgpt design": (lambda: BaselineValue, gpt_loss),
    "micrograd_nn drop-in": (_nary, gpt_loss),
    "micrograd_nn n-ary": (_nary, gpt_loss_nary),
    "micrograd_nn drop-in, collector paused": (_nary, gpt_loss),
    "compiled python": (_nary, gpt_loss_nary),
    "compiled numpy": (_nary, gpt_loss_nary),
}
STEPS = {"micrograd_nn drop-in, collector paused": train_step_collector_paused,  # else train_step
         "compiled python": compiled_train_step("python"),
         "compiled numpy": compiled_train_step("numpy", adam_step_arrays, arrays=True)}


def training_names(count: int, seed: int = 42) -> list[str]:
    """``count`` names from ``datasets.names()``, shuffled with ``seed``."""
    from micrograd_nn.datasets import names
    docs = names()
    random.Random(seed).shuffle(docs)
    return docs[:count]


VOCAB = "abcdefghijklmnopqrstuvwxyz"


def graph_size(model: GPT, name: str, loss_fn) -> int:
    """Nodes in one step's graph (parameters and constants included), counted without
    recursion on any engine."""
    root = loss_fn(model, model.tokens(name))
    seen = {id(root)}
    stack = [root]
    while stack:
        node = stack.pop()
        children = node._children if hasattr(node, "_children") else node.operands
        for child in children:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return len(seen)
