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
import warnings
from typing import Any, Callable

import numpy as np

from .. import nn
from ..engine import Value

from .trace import (CompileError, DataDependenceError, Graph, argument_names, compare,
                    graph_of, perturbed, run_once, sample_shape)

__all__ = ["compile", "source_of", "Program", "CompileError", "DataDependenceError",
           "UnusedValueWarning", "BACKENDS"]

BACKENDS = ("python", "numpy")


class UnusedValueWarning(UserWarning):
    """The traced function computed values that no output depends on: compiled code skips
    them, and with them any error they would raise."""

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
    instead. ``program.gradients(*batch, params=tuple_of_values)`` returns those gradients as
    one array in the tuple's order and writes no ``.grad`` (for an optimizer on arrays). ``.source`` is the generated code of the example's shape, ``.params`` the
    parameters in the order the code reads them.

    Guards (docs/compile.md). While it is traced, a read of the number of a value computed
    from the inputs, outside the engine (a Python ``if`` on ``.data``, ``float(v.data)``,
    ``.local_grads``, ``detach()``, ``repr()``, ``ops.value_of``), or of a parameter's number, is
    refused with DataDependenceError naming the file and line (``allow_data_reads=True`` lets it
    pass); meanwhile ``Value.data`` and ``Value.local_grads`` are watching descriptors,
    process-wide, put back on every exit (other threads get the same numbers; threads tracing
    at once each see their own reads). The function is traced on the example and on a second
    input far from it, and on the first batch of each shape again on its first, middle and last
    samples. If a constant differs between two traces ("this number came from your data: pass
    it as an input") or the graph's shape does, DataDependenceError is raised instead of
    replaying a graph that is wrong for some inputs. A branch that none of the traced samples
    takes the other way cannot be seen: ``verify(*batch)`` traces every sample. A batch whose
    shape is new (a longer sequence) gets its own trace and code. When a module changes
    (`nn.CHANGES`) or a name fn reads is rebound, each shape is traced again and compiled again
    if its parameters changed; ``retrace()`` starts afresh. Where the compiled code raises or
    meets an inf or a nan, the engine runs the batch: its numbers, or its error.
    """

    def __init__(self, fn: Callable, example: tuple, backend: str,
                 allow_data_reads: bool = False):
        self.fn = fn
        self.backend = backend
        self.allow_data_reads = allow_data_reads
        self.names = argument_names(fn, len(example))
        self._compiled: dict = {}
        self._reference: dict = {}
        self._samples: dict = {}
        self._checked: set = set()
        shape = tuple(sample_shape(a, f"argument {n!r}") for a, n in zip(example, self.names))
        self._example_shape = shape
        self._watch_what_fn_reads()
        self._add_shape(shape, list(example))

    # ---- compiling ---------------------------------------------------------------------------

    def _add_shape(self, shape: tuple, sample: list):
        """Trace fn on ``sample`` and on a perturbed copy, compare, and compile the graph."""
        sample = [a.tolist() if hasattr(a, "tolist") else a for a in sample]  # plain numbers
        # values no output reads are looked for on the example (a profile hook slows a trace
        # about twice): a shape added later, a longer document, runs the same code
        first = self._trace(sample, shape, collect_unused=not self._compiled)
        try:
            second = self._trace(perturbed(sample), shape)
        except Exception:  # the perturbed input left fn's domain: trace the same input again
            second = self._trace(sample, shape)
        graph = compare(first, second, shape, self.names, self.allow_data_reads)
        _warn_unused(first)
        self._reference[shape] = first
        self._samples[shape] = sample
        self._compiled[shape] = _backend_class(self.backend)(graph, _function_name(self.fn))
        return self._compiled[shape]

    def _trace(self, sample: list, shape: tuple, collect_unused: bool = False):
        return run_once(self.fn, sample, shape, self.names, self.allow_data_reads,
                        collect_unused)

    def _program_for(self, batch: list):
        if self._changes != nn.CHANGES[0] or not _unchanged(self._bindings):
            self._retrace_what_changed()
        shape = tuple(a.shape[1:] for a in batch)
        compiled = self._compiled.get(shape)
        if compiled is None:
            compiled = self._add_shape(shape, _sample(batch, 0))
        if shape not in self._checked:
            n = batch[0].shape[0] if batch else 1
            traced = self._samples[shape]  # a sample traced already needs no second trace
            self._check(shape, batch, [i for i in sorted({0, n // 2, n - 1}) if batch and
                                       _sample(batch, i) != traced])
            self._checked.add(shape)
        return compiled

    def _check(self, shape: tuple, batch: list, indices: list) -> None:
        reference, params = self._reference[shape], self._compiled[shape].graph.params
        for i in indices:
            other = self._trace(_sample(batch, i), shape)
            graph = compare(reference, other, shape, self.names, self.allow_data_reads)
            if not _same_values(graph.params, params):
                raise DataDependenceError(
                    "a parameter the function reads is not the one it read when it was traced "
                    "(a Value was replaced in a container compile cannot watch, such as a list "
                    "of your own): call program.retrace(), or compile again")

    def verify(self, *batch: Any) -> None:
        """Trace every sample of ``batch`` with the engine and check that each graph is the
        compiled one (DataDependenceError if not). Slow: as slow as the engine's forward pass."""
        for _, arrays in self._parts(batch):
            if arrays and arrays[0].shape[0] == 0:
                continue  # no sample, nothing to check
            shape = tuple(a.shape[1:] for a in arrays)
            self._program_for(arrays)
            n = arrays[0].shape[0] if arrays else 1
            self._check(shape, arrays, list(range(n)) if arrays else [])

    # ---- parameters replaced -------------------------------------------------------------------

    def _watch_what_fn_reads(self) -> None:
        """Note what may change the parameters fn reads: the count of module changes, and the
        objects fn's names (globals and closure variables, its helpers' too) are bound to."""
        self._changes = nn.CHANGES[0]
        self._bindings = _bindings(self.fn)

    def _retrace_what_changed(self) -> None:
        """A module changed, or a name fn reads was rebound: trace each compiled shape again on
        its sample, and drop the shapes whose graph or parameters are not the same any more
        (they are compiled again on their next batch; the example's shape at once)."""
        self._watch_what_fn_reads()
        for shape in list(self._compiled):
            try:
                other = self._trace(self._samples[shape], shape)
                graph = compare(self._reference[shape], other, shape, self.names,
                                self.allow_data_reads)
                same = _same_values(graph.params, self._compiled[shape].graph.params)
            except DataDependenceError:
                same = False
            if not same:
                del self._compiled[shape], self._reference[shape]
                self._checked.discard(shape)
        if self._example_shape not in self._compiled:
            self._add_shape(self._example_shape, self._samples[self._example_shape])

    def retrace(self) -> None:
        """Forget every trace and trace the example again (after replacing parameters in a
        container ``compile`` cannot watch; module attributes and names fn reads are watched)."""
        self._compiled.clear()
        self._reference.clear()
        self._checked.clear()
        self._watch_what_fn_reads()
        self._add_shape(self._example_shape, self._samples[self._example_shape])

    # ---- running -------------------------------------------------------------------------------

    def __call__(self, *batch: Any) -> np.ndarray:
        parts = self._parts(batch)
        if len(parts) == 1:
            return self._forward(parts[0][1])
        return _joined([(rows, self._forward(arrays)) for rows, arrays in parts])

    def _forward(self, arrays: list) -> np.ndarray:
        if arrays and arrays[0].shape[0] == 0:
            return self._empty(arrays)
        compiled = self._program_for(arrays)
        try:
            outs = np.asarray(compiled.forward(compiled.graph.params, arrays), dtype=float)
        except _ARITHMETIC:  # a domain error, or an infinity numpy met on the way
            return self._by_engine(arrays, compiled.graph, None)
        if not np.isfinite(outs).all():  # the engine's numbers, or its error
            return self._by_engine(arrays, compiled.graph, None)
        return outs

    def backward(self, *batch: Any, reduction: str = "sum", grad: Any = None) -> np.ndarray:
        """Run the batch forward and backward; returns the per-sample outputs.

        Adds d L / d p into ``p.grad`` for each parameter p, where L is the sum over samples
        (``reduction="sum"``), the mean (``"mean"``) or the ``grad``-weighted sum of the outputs.
        An empty batch adds nothing. Samples of several shapes (documents of several lengths)
        may be mixed: each shape runs its own code, and the outputs come back in order.
        """
        return self._run_backward(batch, reduction, grad, None)

    def gradients(self, *batch: Any, params: tuple, reduction: str = "sum", grad: Any = None,
                  data: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """`backward` for an optimizer that works on arrays: returns ``(outputs, g)`` where
        ``g[k]`` = d L / d ``params[k]`` (0 for a parameter the batch does not read), and
        writes no ``.grad`` (every ``.grad`` is left as it was). ``params`` is a tuple of
        Values holding each parameter the function reads, each once (a model's parameters, in
        the order of your arrays); the program keeps its order, so later calls with the same
        tuple cost nothing more. ValueError if the function reads a Value the tuple lacks.

        The parameters' numbers are read from each ``.data``, as by `backward`; with the numpy
        backend, ``data`` (an array of ``len(params)`` floats, ``data[k]`` equal to
        ``params[k].data``: an optimizer that keeps the numbers in an array and writes them
        into the Values) is read instead, which spares reading every ``.data``."""
        positions = self._positions_in(params)
        if data is not None:
            if self.backend != "numpy":
                raise ValueError("data= is read by the numpy backend only; the python "
                                 "backend reads each .data: leave data out")
            data = np.asarray(data)
            if data.shape != (len(params),) or data.dtype != np.float64:
                raise ValueError(f"data must be an array of {len(params)} floats (one per "
                                 f"parameter), got shape {data.shape} of {data.dtype}")
        g = np.zeros(len(params))
        outs = self._run_backward(batch, reduction, grad, (g, positions, data))
        return outs, g

    def _positions_in(self, params: tuple) -> dict:
        """{id(p): k} for the tuple (kept for the tuple last asked about)."""
        kept = getattr(self, "_positions", None)
        if kept is not None and kept[0] is params:
            return kept[1]
        if not isinstance(params, tuple):
            raise TypeError(f"params must be a tuple of Values (its order is the gradient "
                            f"array's, and the program keeps it), got {type(params).__name__}")
        positions = {}
        for k, p in enumerate(params):
            if not isinstance(p, Value):
                raise TypeError(f"params[{k}] must be a Value, got {type(p).__name__}: {p!r}")
            if id(p) in positions:
                raise ValueError(f"params: item {k} ({p!r}) appears more than once")
            positions[id(p)] = k
        self._positions = (params, positions, {})
        return positions

    def _run_backward(self, batch: tuple, reduction: str, grad: Any, sink) -> np.ndarray:
        parts = self._parts(batch)
        if len(parts) == 1:  # one shape: the seeds are that shape's graph's
            arrays = parts[0][1]
            n = arrays[0].shape[0] if arrays else 1
            if n == 0:
                self._seeds(self._compiled[self._example_shape].graph, 0, reduction, grad)
                return self._empty(arrays)
            compiled = self._program_for(arrays)
            return self._backward(compiled, arrays,
                                  self._seeds(compiled.graph, n, reduction, grad), sink)
        example = self._compiled[self._example_shape].graph
        seeds = self._seeds(example, sum(len(rows) for rows, _ in parts), reduction, grad)
        outs = []
        for rows, arrays in parts:
            compiled = self._program_for(arrays)
            if len(compiled.graph.outputs) != len(example.outputs) or \
                    compiled.graph.single != example.single:
                raise ValueError("samples of this shape give another number of outputs than "
                                 "the example's: run them in a batch of their own")
            outs.append((rows, self._backward(compiled, arrays, seeds[rows], sink)))
        return _joined(outs)

    def _backward(self, compiled, arrays: list, seeds: np.ndarray, sink=None) -> np.ndarray:
        """One shape's forward and backward; the gradients go into each ``.grad``, or with a
        ``sink`` (g, positions, data or None) into ``g[positions[id(p)]]``."""
        try:
            if sink is not None and sink[2] is not None:  # the numbers from the caller's array
                numbers = sink[2][self._sink_index(compiled, compiled._params)]
                outs, params, grads = compiled.backward(compiled.graph.params, arrays, seeds,
                                                        numbers)
            else:
                outs, params, grads = compiled.backward(compiled.graph.params, arrays, seeds)
        except _ARITHMETIC:
            return self._by_engine_into(arrays, compiled.graph, seeds, sink)
        outs = np.asarray(outs, dtype=float)
        if type(grads) is np.ndarray:  # the numpy backend's; the python backend's is a list
            finite = bool(np.isfinite(grads).all())
        else:
            finite = math.isfinite(sum(grads))
        if not (finite and np.isfinite(outs).all()):
            return self._by_engine_into(arrays, compiled.graph, seeds, sink)
        if sink is not None:
            g = sink[0]
            g[self._sink_index(compiled, params)] += grads
            return outs
        if type(grads) is np.ndarray:
            grads = grads.tolist()
        for p, g in zip(params, grads):
            if p.grad:
                p.grad += g
            else:  # zeroed before the call, as usual: the number itself, without an addition
                p.grad = g
        return outs

    def _sink_index(self, compiled, params: list) -> np.ndarray:
        """The positions in the `gradients` tuple of a compiled shape's parameters."""
        _, positions, index = self._positions
        found = index.get(id(compiled))
        if found is None or found[0] is not compiled or found[1] is not params:
            missing = [p for p in params if id(p) not in positions]
            if missing:
                raise ValueError(f"params lacks {len(missing)} Value(s) the function reads "
                                 f"(the first: {missing[0]!r}): pass every parameter")
            found = index[id(compiled)] = (compiled, params, np.array(
                [positions[id(p)] for p in params], dtype=np.intp))
        return found[2]

    def _by_engine_into(self, arrays: list, graph: Graph, seeds, sink) -> np.ndarray:
        """`_by_engine`; with a sink, its gradients go there and every ``.grad`` is put back."""
        if sink is None:
            return self._by_engine(arrays, graph, seeds)
        g, positions, _ = sink
        kept = [p.grad for p in graph.params]
        missing = [p for p in graph.params if id(p) not in positions]
        if missing:
            raise ValueError(f"params lacks {len(missing)} Value(s) the function reads "
                             f"(the first: {missing[0]!r}): pass every parameter")
        try:
            for p in graph.params:
                p.grad = 0.0
            outs = self._by_engine(arrays, graph, seeds)
            for p in graph.params:
                g[positions[id(p)]] += p.grad
        finally:
            for p, before in zip(graph.params, kept):
                p.grad = before
        return outs

    def _empty(self, arrays: list) -> np.ndarray:
        """The outputs of a batch of no samples: (0,), or (0, k) for k outputs."""
        shape = tuple(a.shape[1:] for a in arrays)
        graph = self._compiled.get(shape, self._compiled[self._example_shape]).graph
        return np.zeros((0,) if graph.single else (0, len(graph.outputs)))

    def _by_engine(self, arrays: list, graph: Graph, seeds) -> np.ndarray:
        """The batch on the engine, sample by sample (with seeds: backward into ``.grad``).

        Used where the compiled code gave an infinite or nan number, or met one on the way
        (numpy's floating-point errors are raised, not ignored): there the engine's rules (0
        times inf counts 0; a domain error raises) and the code's arithmetic can part, so the
        engine decides, and the answer is always the engine's."""
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
        """The generated code for the example's shape, to read: forward one line per value,
        layer by layer, names from the labels (``L1_N1`` a neuron's output, ``dL1_N1`` its
        gradient), then the chain rule back to the parameters."""
        return self._compiled[self._example_shape].source

    @property
    def source_optimized(self) -> str:
        """The code that runs for the example's shape: `source` with the speed rewrites that
        hide the chain rule (the python backend computes wide relu layers input by input)."""
        return self._compiled[self._example_shape].source_optimized

    @property
    def params(self) -> list:
        """The parameters (Values) the example's graph reads, in the order its code reads them."""
        return list(self._compiled[self._example_shape].graph.params)

    @property
    def shapes(self) -> list:
        """The per-sample argument shapes compiled so far."""
        return list(self._compiled)

    # ---- arguments -----------------------------------------------------------------------------

    def _parts(self, batch: tuple) -> list:
        """The batch as [(rows, arrays)], one part per per-sample shape: one part (rows None)
        for a regular batch; for samples of several shapes (lists of several lengths), the
        rows of each shape and their arrays."""
        try:
            return [(None, self._as_batch(batch))]
        except ValueError:
            ragged = len(batch) == len(self.names) and all(
                isinstance(a, (list, tuple)) for a in batch)
            if not ragged or len({len(a) for a in batch}) != 1:
                raise
        shapes: dict = {}
        for i in range(len(batch[0])):
            key = tuple(np.shape(a[i]) for a in batch)
            shapes.setdefault(key, []).append(i)
        parts = []
        for rows in shapes.values():
            arrays = self._as_batch(tuple([a[i] for i in rows] for a in batch))
            parts.append((np.array(rows), arrays))
        return parts

    def _as_batch(self, batch: tuple) -> list:
        if len(batch) != len(self.names):
            raise TypeError(f"the compiled function takes {len(self.names)} batched "
                            f"arguments ({', '.join(self.names)}), got {len(batch)}")
        arrays = []
        for arg, name in zip(batch, self.names):
            if np.iscomplexobj(arg):   # float() of it would drop the imaginary parts silently
                raise TypeError(f"argument {name!r} must hold real numbers, got complex ones")
            try:
                a = np.asarray(arg, dtype=float)
            except (TypeError, ValueError) as e:
                raise ValueError(f"argument {name!r} must be an array of numbers with the "
                                 f"batch first, or a list of samples (lists of numbers, of "
                                 f"any lengths) ({e})") from None
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
            if np.iscomplexobj(grad):
                raise TypeError("grad must hold real numbers, got complex ones")
            seeds = np.asarray(grad, dtype=float)
            want = (n,) if graph.single else (n, k)
            if seeds.shape != want:
                raise ValueError(f"grad must have shape {want} (one weight per sample"
                                 f"{' and output' if k > 1 else ''}), got {seeds.shape}")
            return seeds
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")
        weight = 1.0 if reduction == "sum" else 1.0 / max(n, 1)
        return np.full((n,) if graph.single else (n, k), weight)


# errors the compiled code may raise where the engine would too, or would not: the engine decides
_ARITHMETIC = (ArithmeticError, ValueError)


def _same_values(a: list, b: list) -> bool:
    return len(a) == len(b) and all(p is q for p, q in zip(a, b))


_UNBOUND = object()


def _bindings(fn: Callable, depth: int = 3) -> list:
    """(namespace, name, object) for each global or closure variable fn reads, and the ones
    the functions it calls read (``depth`` calls deep): what rebinding ``model = MLP(...)``
    changes. A closure variable's namespace is its cell."""
    found, seen, todo = [], set(), [(fn, 0)]
    while todo:
        f, level = todo.pop()
        f = getattr(f, "__func__", f)  # a bound method: its function
        code = getattr(f, "__code__", None)
        if code is None or id(f) in seen or level > depth:
            continue
        seen.add(id(f))
        names = [(f.__globals__, name) for name in _names_read(code) if name in f.__globals__]
        names += [(cell, None) for cell in f.__closure__ or ()]
        for holder, name in names:
            obj = _bound(holder, name)
            found.append((holder, name, obj))
            if callable(obj) and hasattr(getattr(obj, "__func__", obj), "__code__"):
                todo.append((obj, level + 1))
    return found


def _names_read(code) -> set:
    """The global names a code object reads, its nested functions' (lambdas, comprehensions)
    included."""
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _names_read(const)
    return names


def _bound(holder, name):
    if name is None:
        try:
            return holder.cell_contents
        except ValueError:  # an empty cell
            return _UNBOUND
    return holder.get(name, _UNBOUND)


def _unchanged(bindings: list) -> bool:
    for holder, name, obj in bindings:  # every call: a plain loop, no call per binding
        if name is not None:
            if holder.get(name, _UNBOUND) is not obj:
                return False
        elif _bound(holder, None) is not obj:
            return False
    return True


def _warn_unused(trace) -> None:
    """Warn that compiled code leaves out the values no output depends on (see the docs)."""
    if trace.unused:
        ops = sorted({v.op.name for v in trace.unused})
        warnings.warn(
            f"the function computes {len(trace.unused)} value(s) that no output depends on "
            f"(operations: {', '.join(ops)}); compiled code does not compute them, so an error "
            "they would raise on other inputs (log of a negative number, say) is not raised. "
            "Return them too, or drop them", UnusedValueWarning, stacklevel=4)


def _joined(parts: list) -> np.ndarray:
    """The outputs of the parts of a mixed batch, each at its rows, as one array."""
    n = sum(len(rows) for rows, _ in parts)
    first = parts[0][1]
    out = np.empty((n, *first.shape[1:]))
    for rows, outs in parts:
        out[rows] = outs
    return out


def _sample(batch: list, i: int) -> list:
    return [a[i].tolist() if a.ndim > 1 else float(a[i]) for a in batch]


def _function_name(fn: Callable) -> str:
    name = getattr(fn, "__name__", "")
    return name if name.isidentifier() and not name.startswith("<") else "program"
