"""A character-level GPT on micrograd_nn, trained on first names, that then invents new ones.

In the spirit of microgpt: one transformer layer (n_embd 16, 4 heads, block size 16, a
4*16-wide ReLU MLP, rmsnorm), 4,192 parameters, every number a scalar Value. It reads one name
per step, a character at a time, and learns to predict the next character (a name starts and
ends with the token BOS). Written with micrograd_nn's n-ary nodes: each dot product is one
``Value.linear`` node (a matrix times a vector: ``Value.matvec``), each softmax
``exp(x_i - logsumexp(x))`` with one ``Value.logsumexp`` node, so a step's graph has about 8k
nodes instead of about 60k. Trained with the library's
Adam (lr 0.01 decaying linearly to 0, betas 0.85 / 0.99) on ``datasets.names()``.

Run: python examples/gpt.py [--steps 1000] [--seed 42] [--samples 10] [--attention PATH]
                             [--compile {python,numpy}] [--json PATH]
  --attention PATH   draws one attention head for one token of a name, collapsed, to PATH
                     (.svg, .png or .dot)
  --compile BACKEND  trains with ``micrograd_nn.compile``: the per-document loss traced once
                     per length (on first use), then replayed; the same losses as the engine
  --json PATH        writes {"losses": [...], "step_ms": [...], "compile_ms": ...}

The token ids reach the model as ints on the engine and as Values holding ints when compiled
(compile makes every number of a sample an input): ``Value.take(table, token)`` is the lookup
that works for both, plain indexing for an int.
"""

import argparse
import json
import math
import random
import sys
import time

from micrograd_nn import Value, no_grad
from micrograd_nn.datasets import names
from micrograd_nn.nn import Module
from micrograd_nn.optim import Adam, LinearDecay

N_EMBD, N_HEAD, BLOCK_SIZE = 16, 4, 16
HEAD_DIM = N_EMBD // N_HEAD
VOCAB = "abcdefghijklmnopqrstuvwxyz"
BOS = len(VOCAB)  # the token before the first and after the last character of a name


class GPT(Module):
    """Token and position embeddings, one attention block, one MLP block, the output head."""

    def __init__(self, rng: random.Random, std: float = 0.08):
        def matrix(rows, cols):
            return [[Value(rng.gauss(0.0, std)) for _ in range(cols)] for _ in range(rows)]
        n, vocab = N_EMBD, len(VOCAB) + 1
        self.wte, self.wpe, self.lm_head = matrix(vocab, n), matrix(BLOCK_SIZE, n), matrix(vocab, n)
        self.wq, self.wk, self.wv, self.wo = (matrix(n, n) for _ in range(4))
        self.fc1, self.fc2 = matrix(4 * n, n), matrix(n, 4 * n)

    def parameters(self) -> list:
        mats = (self.wte, self.wpe, self.lm_head, self.wq, self.wk, self.wv, self.wo,
                self.fc1, self.fc2)
        return [p for m in mats for row in m for p in row]

    def forward(self, token: int, pos: int, cache: dict) -> list:
        """The logits of the next token. ``cache`` keeps the keys and values of the earlier
        positions ("keys", "values"), which the attention reads."""
        x = rmsnorm([t + p for t, p in zip(Value.take(self.wte, token), self.wpe[pos])])
        residual, x = x, rmsnorm(x)
        q = linear(x, self.wq)
        cache.setdefault("keys", []).append(linear(x, self.wk))
        cache.setdefault("values", []).append(linear(x, self.wv))
        heads = []
        for h in range(N_HEAD):
            heads.extend(attention_head(q, cache["keys"], cache["values"], h))
        x = [a + b for a, b in zip(linear(heads, self.wo), residual)]
        hidden = [z.relu() for z in linear(rmsnorm(x), self.fc1)]
        x = [a + b for a, b in zip(linear(hidden, self.fc2), x)]
        return linear(x, self.lm_head)

    def __call__(self, token: int, pos: int, cache: dict) -> list:
        return self.forward(token, pos, cache)


def linear(x: list, w: list) -> list:
    """W x, one fused node per row: z_j = sum_i W[j][i] x_i (the rows share one record of x)."""
    return Value.matvec(w, x)


def rmsnorm(x: list) -> list:
    """x / sqrt(mean(x_i**2) + 1e-5); the mean square is one linear node (x . x)."""
    scale = (Value.linear(x, x) * (1 / len(x)) + 1e-5) ** -0.5
    return [xi * scale for xi in x]


def softmax(logits: list) -> list:
    """exp(x_i - logsumexp(x)): one logsumexp node, then one exp per entry."""
    lse = Value.logsumexp(logits)
    return [(z - lse).exp() for z in logits]


def attention_head(q: list, keys: list, values: list, h: int) -> list:
    """Head h: weights softmax(k_h[t] . q_h / sqrt(d)) over the positions t so far, then the
    weighted sum of the values v_h[t]. Each key and each column of values is the weight vector
    of one linear node (in a collapsed diagram: a neuron holding them)."""
    lo, hi = h * HEAD_DIM, (h + 1) * HEAD_DIM
    scale = 1 / math.sqrt(HEAD_DIM)
    scores = [z * scale for z in Value.matvec([k[lo:hi] for k in keys], q[lo:hi])]
    weights = softmax(scores)
    return Value.matvec([[v[j] for v in values] for j in range(lo, hi)], weights)


def tokens_of(name: str) -> list:
    return [BOS] + [VOCAB.index(c) for c in name] + [BOS]


def name_loss(model: GPT, name: str) -> Value:
    """Mean cross-entropy of each next character of a name (see `doc_loss`)."""
    return doc_loss(model, tokens_of(name)[:BLOCK_SIZE + 1])


def doc_loss(model: GPT, tokens: list) -> Value:
    """Mean over positions of logsumexp(logits) - logits[next token]. ``tokens`` are ints, or
    Values holding ints (when compiled): `Value.take` picks the target's logit either way."""
    cache: dict = {}
    losses = []
    for pos in range(len(tokens) - 1):
        logits = model(tokens[pos], pos, cache)
        losses.append(Value.logsumexp(logits) - Value.take(logits, tokens[pos + 1]))
    return Value.sum(losses) * (1 / len(losses))


def train(model: GPT, docs: list, steps: int, backend: str | None = None) -> dict:
    """``steps`` Adam steps, one name each, on the engine or compiled with ``backend``;
    returns {"losses", "step_ms", "compile_ms"} (compile_ms: the first call of each length,
    which traces it and compiles it; 0 on the engine). A tqdm bar shows progress."""
    from tqdm.auto import tqdm

    optimizer = Adam(model.parameters(), lr=0.01, betas=(0.85, 0.99), eps=1e-8)
    schedule = LinearDecay(optimizer, start=0.01, end=0.0, steps=steps)
    program = None if backend is None else compiled_loss(model, backend)
    losses, step_ms, compile_ms = [], [], 0.0
    bar = tqdm(range(steps), desc="training", unit="step", disable=None)
    for k in bar:
        tokens = tokens_of(docs[k % len(docs)])[:BLOCK_SIZE + 1]
        start = time.perf_counter()
        optimizer.zero_grad()
        if program is None:
            loss = doc_loss(model, tokens)
            loss.backward()
            loss = loss.data
        else:
            new = (len(tokens),) not in [shape[0] for shape in program.shapes]
            loss = float(program.backward([tokens])[0])
        optimizer.step()
        schedule.step()
        ms = 1000 * (time.perf_counter() - start)
        if program is not None and new:
            compile_ms += ms
        step_ms.append(ms)
        losses.append(loss)
        bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
    if program is not None:
        compile_ms += program.compile_ms
    return {"losses": losses, "step_ms": step_ms, "compile_ms": compile_ms}


def compiled_loss(model: GPT, backend: str):
    """``doc_loss`` compiled: one program for documents of every length, a trace per length."""
    from micrograd_nn import compile

    start = time.perf_counter()
    program = compile(lambda tokens: doc_loss(model, tokens), tokens_of("emma"), backend=backend)
    program.compile_ms = 1000 * (time.perf_counter() - start)
    return program


def generate(model: GPT, rng: random.Random, temperature: float = 0.5) -> str:
    """Sample one character at a time from softmax(logits / temperature) until BOS."""
    cache: dict = {}
    token, out = BOS, []
    for pos in range(BLOCK_SIZE):
        logits = [z.data / temperature for z in model(token, pos, cache)]
        top = max(logits)
        weights = [math.exp(z - top) for z in logits]
        token = rng.choices(range(len(weights)), weights=weights)[0]
        if token == BOS:
            break
        out.append(VOCAB[token])
    return "".join(out)


def attention_picture(model: GPT, name: str, path: str, head: int = 0, pos: int = 2):
    """Draw ``attention_graph(model, name, head, pos)`` to ``path``; returns the path."""
    from micrograd_nn.viz import render

    return render(attention_graph(model, name, head, pos), path)


def attention_graph(model: GPT, name: str, head: int = 0, pos: int = 2):
    """Head ``head`` of the attention at position ``pos`` of ``name``, collapsed (each fused
    node one box): its query, keys and values (computed by the trained model, then taken as
    leaves) to the head's first output, after backward, so the boxes carry gradients."""
    from micrograd_nn.viz import draw_graph

    tokens = tokens_of(name)
    lo = head * HEAD_DIM
    keys, values, q = [], [], []
    with no_grad():
        for t in range(pos + 1):
            x = rmsnorm(rmsnorm([a + b for a, b in zip(model.wte[tokens[t]], model.wpe[t])]))
            keys.append([Value(k.data, f"k{t}[{j}]") for j, k in enumerate(linear(x, model.wk))])
            values.append([Value(v.data, f"v{t}[{j}]") for j, v in enumerate(linear(x, model.wv))])
            q = [Value(v.data, f"q[{j}]") for j, v in enumerate(linear(x, model.wq))]
    out = attention_head(q, keys, values, head)[0]
    out.label = f"head {head} output[{lo}]"
    out.backward()
    return draw_graph(out, collapse=True)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python examples/gpt.py",
                                     description="Train a character-level GPT on first names.")
    parser.add_argument("--steps", type=int, default=1000, help="training steps (default 1000)")
    parser.add_argument("--seed", type=int, default=42, help="random seed, an int >= 0")
    parser.add_argument("--samples", type=int, default=10, help="names to generate at the end")
    parser.add_argument("--attention", metavar="PATH", help="draw one attention head to PATH")
    parser.add_argument("--compile", choices=["python", "numpy"], dest="backend",
                        help="train with micrograd_nn.compile on this backend")
    parser.add_argument("--json", metavar="PATH",
                        help='write {"losses", "step_ms", "compile_ms"} to PATH')
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be a positive int, got {args.steps}")
    if args.seed < 0:
        parser.error(f"--seed must be an int >= 0, got {args.seed}")
    if args.samples < 0:
        parser.error(f"--samples must be an int >= 0, got {args.samples}")
    return args


def main(argv) -> list:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    docs = names()
    rng.shuffle(docs)
    model = GPT(rng)
    print(f"{len(docs)} names, vocabulary of {len(VOCAB) + 1} tokens, "
          f"{len(model.parameters())} parameters")
    start = time.perf_counter()
    run = train(model, docs, args.steps, args.backend)
    seconds = time.perf_counter() - start
    losses = run["losses"]
    first, last = losses[:20], losses[-20:]
    how = "" if args.backend is None else \
        f" compiled ({args.backend}; compiling {run['compile_ms'] / 1000:.1f} s of it)"
    print(f"{args.steps} steps in {seconds:.1f} s ({1000 * seconds / args.steps:.1f} ms/step)"
          f"{how}; mean loss of the first {len(first)} steps {sum(first) / len(first):.3f}, "
          f"of the last {len(last)} {sum(last) / len(last):.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(run, f)
    generated = [generate(model, rng) for _ in range(args.samples)]
    print("new names:", ", ".join(generated))
    if args.attention:
        print("wrote", attention_picture(model, docs[0], args.attention))
    return losses


if __name__ == "__main__":
    main(sys.argv[1:])
