"""``compile(fn, *example)``: trace a function of one sample once, then run it over batches.

::

    model = MLP(2, [16, 16, 1])
    def sample_loss(x, y):                  # one sample's inputs arrive as Values
        return (1 - y * model(x)).relu()
    program = compile(sample_loss, [0.5, -0.2], 1.0)
    losses = program(X, Y)                  # per-sample outputs, shape (n,)
    model.zero_grad()
    program.backward(X, Y, reduction="mean")  # p.grad += d mean(loss) / dp, as backward() would
    optimizer.step()                        # parameters keep their .data: any optimizer works

Parameters are the Values that existed before the call and that ``fn`` reads (a model's
weights); their current ``.data`` is read on every call. Numbers passed as inputs become input
leaves; every other number in the graph is a constant. See `Program` for the guards.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from .trace import (CompileError, DataDependenceError, Graph, argument_names, compare,
                    graph_of, perturbed, run_once, sample_shape)

__all__ = ["compile", "source_of", "Program", "CompileError", "DataDependenceError", "BACKENDS"]

BACKENDS = ("python", "numpy")
REDUCTIONS = ("sum", "mean")


def compile(fn: Callable, *example: Any, backend: str = "python",
            allow_data_reads: bool = False) -> "Program":
    """Trace ``fn`` on ``example`` (one sample's arguments: numbers or lists of numbers) and
    return a `Program` that runs it over batches with the chosen backend.

    ``backend`` is "python" (straight-line float code, the engine's arithmetic) or "numpy"
    (vectorised over the batch). A function that reads ``.data`` of a value computed from its
    inputs is refused unless ``allow_data_reads=True`` (then only the traces' comparison
    guards it; see `Program`). Raises DataDependenceError (a ValueError) when the graph
    depends on the data, CompileError when an operation has no code for the backend, TypeError
    for a non-callable ``fn`` or arguments that are not numbers or lists of numbers.
    """
    if not callable(fn):
        raise TypeError(f"compile() needs a function, got {type(fn).__name__}: {fn!r}")
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if not isinstance(allow_data_reads, bool):
        raise TypeError(f"allow_data_reads must be True or False, got {allow_data_reads!r}")
    return Program(fn, example, backend, allow_data_reads)


def source_of(output: Any, params: Any = (), backend: str = "python") -> str:
    """The code ``compile`` generates for a graph already built, as text: the forward pass
    and the chain rule back to ``params`` (Values). Other labelled leaves are read as inputs,
    unlabelled ones as constants. For reading and teaching; nothing is traced or checked."""
    from ..engine import Value
    if not isinstance(output, Value):
        raise TypeError(f"source_of() needs a Value, got {type(output).__name__}")
    params = list(params)
    for p in params:
        if not isinstance(p, Value) or not p.is_leaf():
            raise TypeError(f"source_of(): params must be leaf Values, got {p!r}")
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    graph = graph_of(output, params)
    name = output.label if output.label.isidentifier() else "program"
    return _backend_class(backend)(graph, name).source


def _backend_class(backend: str):
    if backend == "python":
        from .python_backend import PythonProgram
        return PythonProgram
    from .numpy_backend import NumpyProgram
    return NumpyProgram


class Program:
    """A traced function compiled for a backend; one compiled graph per input shape.

    ``program(*batch)`` returns the per-sample outputs as an array ((n,) for a function that
    returns one Value, (n, k) for k Values). Each argument of a batch has a leading batch
    dimension: n numbers for a number, n lists for a list.
    ``program.backward(*batch, reduction="sum", grad=None)`` also adds into each parameter's
    ``.grad`` what ``backward()`` would on the engine's graph of the sum (or the mean) of the
    outputs over the batch; ``grad`` (shape (n,) or (n, k)) weights each sample's outputs
    instead. ``.source`` is the generated code of the example's shape, ``.params`` the
    parameters in the order the code reads them.

    Guards. While it is traced, a read of ``.data`` of a value computed from the inputs, outside
    the engine (a Python ``if`` on it, ``float(v.data)``), is refused with DataDependenceError
    naming the file and line (``allow_data_reads=True`` lets it pass); meanwhile ``Value.data``
    is a watching descriptor, process-wide, put back on every exit (other threads get the same
    numbers; threads tracing at once each see their own reads). The function is traced on
    the example and on a second input far from it, and on the first batch of each shape again
    on its first, middle and last samples. If a constant differs between two traces ("this number came from your data: pass it as an
    input") or the graph's shape does (a Python ``if`` on ``.data``), DataDependenceError is
    raised instead of replaying a graph that is wrong for some inputs. A branch that none of
    the traced samples takes the other way cannot be seen: ``verify(*batch)`` traces every
    sample. A batch whose shape is new (a longer sequence) gets its own trace and code.
    """

    def __init__(self, fn: Callable, example: tuple, backend: str,
                 allow_data_reads: bool = False):
        self.fn = fn
        self.backend = backend
        self.allow_data_reads = allow_data_reads
        self.names = argument_names(fn, len(example))
        self._compiled: dict = {}
        self._reference: dict = {}
        self._checked: set = set()
        shape = tuple(sample_shape(a, f"argument {n!r}") for a, n in zip(example, self.names))
        self._add_shape(shape, list(example))
        self._example_shape = shape

    # ---- compiling ---------------------------------------------------------------------------

    def _add_shape(self, shape: tuple, sample: list):
        """Trace fn on ``sample`` and on a perturbed copy, compare, and compile the graph."""
        first = self._trace(sample, shape)
        try:
            second = self._trace(perturbed(sample), shape)
        except Exception:  # the perturbed input left fn's domain: trace the same input again
            second = self._trace(sample, shape)
        graph = compare(first, second, shape, self.names)
        self._reference[shape] = first
        self._compiled[shape] = _backend_class(self.backend)(graph, _function_name(self.fn))
        return self._compiled[shape]

    def _trace(self, sample: list, shape: tuple):
        return run_once(self.fn, sample, shape, self.names, self.allow_data_reads)

    def _program_for(self, batch: list):
        shape = tuple(a.shape[1:] for a in batch)
        compiled = self._compiled.get(shape)
        if compiled is None:
            compiled = self._add_shape(shape, _sample(batch, 0))
        if shape not in self._checked:
            n = batch[0].shape[0] if batch else 1
            self._check(shape, batch, sorted({0, n // 2, n - 1}) if batch else [])
            self._checked.add(shape)
        return compiled

    def _check(self, shape: tuple, batch: list, indices: list) -> None:
        reference = self._reference[shape]
        for i in indices:
            other = self._trace(_sample(batch, i), shape)
            compare(reference, other, shape, self.names)

    def verify(self, *batch: Any) -> None:
        """Trace every sample of ``batch`` with the engine and check that each graph is the
        compiled one (DataDependenceError if not). Slow: as slow as the engine's forward pass."""
        arrays = self._as_batch(batch)
        shape = tuple(a.shape[1:] for a in arrays)
        if shape not in self._compiled:
            self._program_for(arrays)
        n = arrays[0].shape[0] if arrays else 1
        self._check(shape, arrays, list(range(n)) if arrays else [])

    # ---- running -------------------------------------------------------------------------------

    def __call__(self, *batch: Any) -> np.ndarray:
        arrays = self._as_batch(batch)
        compiled = self._program_for(arrays)
        outs = np.asarray(compiled.forward(compiled.graph.params, arrays), dtype=float)
        if not np.isfinite(outs).all():  # the engine's numbers, or its error
            return self._by_engine(arrays, compiled.graph, None)
        return outs

    def backward(self, *batch: Any, reduction: str = "sum", grad: Any = None) -> np.ndarray:
        """Run the batch forward and backward; returns the per-sample outputs.

        Adds d L / d p into ``p.grad`` for each parameter p, where L is the sum over samples
        (``reduction="sum"``), the mean (``"mean"``) or the ``grad``-weighted sum of the outputs.
        """
        arrays = self._as_batch(batch)
        compiled = self._program_for(arrays)
        n = arrays[0].shape[0] if arrays else 1
        seeds = self._seeds(compiled.graph, n, reduction, grad)
        outs, params, grads = compiled.backward(compiled.graph.params, arrays, seeds)
        outs = np.asarray(outs, dtype=float)
        if not (math.isfinite(sum(grads)) and np.isfinite(outs).all()):
            return self._by_engine(arrays, compiled.graph, seeds)
        for p, g in zip(params, grads):
            if p.grad:
                p.grad += g
            else:  # zeroed before the call, as usual: the number itself, without an addition
                p.grad = g
        return outs

    def _by_engine(self, arrays: list, graph: Graph, seeds) -> np.ndarray:
        """The batch on the engine, sample by sample (with seeds: backward into ``.grad``).

        Used where the compiled code gave an infinite or nan number: there the engine's rules
        (0 times inf counts 0; a domain error raises) and the code's arithmetic can part, so
        the engine decides, and the answer is always the engine's."""
        shape = tuple(a.shape[1:] for a in arrays)
        n = arrays[0].shape[0] if arrays else 1
        outs = []
        for i in range(n):
            trace = self._trace(_sample(arrays, i) if arrays else [], shape)
            outs.append([o.data for o in trace.outputs])
            if seeds is not None:
                for o, s in zip(trace.outputs, np.reshape(seeds[i], -1).tolist()):
                    if s:
                        o.backward(s)
        outs = np.array(outs, dtype=float)
        return outs[:, 0] if graph.single else outs

    @property
    def source(self) -> str:
        """The generated code for the example's shape."""
        return self._compiled[self._example_shape].source

    @property
    def params(self) -> list:
        """The parameters (Values) the example's graph reads, in the order its code reads them."""
        return list(self._compiled[self._example_shape].graph.params)

    @property
    def shapes(self) -> list:
        """The per-sample argument shapes compiled so far."""
        return list(self._compiled)

    # ---- arguments -----------------------------------------------------------------------------

    def _as_batch(self, batch: tuple) -> list:
        if len(batch) != len(self.names):
            raise TypeError(f"the compiled function takes {len(self.names)} batched "
                            f"arguments ({', '.join(self.names)}), got {len(batch)}")
        arrays = []
        for arg, name in zip(batch, self.names):
            try:
                a = np.asarray(arg, dtype=float)
            except (TypeError, ValueError) as e:
                raise ValueError(f"argument {name!r} must be an array of numbers with the "
                                 f"batch first; samples of different lengths go in separate "
                                 f"batches ({e})") from None
            if a.ndim == 0:
                raise ValueError(f"argument {name!r} needs a leading batch dimension, "
                                 f"got a single number")
            arrays.append(a)
        if len({a.shape[0] for a in arrays}) > 1:
            raise ValueError("every argument needs the same batch size, got "
                             + ", ".join(f"{n}: {a.shape[0]}" for n, a in zip(self.names, arrays)))
        return arrays

    @staticmethod
    def _seeds(graph: Graph, n: int, reduction: str, grad: Any) -> np.ndarray:
        k = len(graph.outputs)
        if grad is not None:
            seeds = np.asarray(grad, dtype=float)
            want = (n,) if k == 1 else (n, k)
            if seeds.shape != want:
                raise ValueError(f"grad must have shape {want} (one weight per sample"
                                 f"{' and output' if k > 1 else ''}), got {seeds.shape}")
            return seeds
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")
        weight = 1.0 if reduction == "sum" else 1.0 / n
        return np.full((n,) if k == 1 else (n, k), weight)


def _sample(batch: list, i: int) -> list:
    return [a[i].tolist() if a.ndim > 1 else float(a[i]) for a in batch]


def _function_name(fn: Callable) -> str:
    name = getattr(fn, "__name__", "")
    return name if name.isidentifier() and not name.startswith("<") else "program"
