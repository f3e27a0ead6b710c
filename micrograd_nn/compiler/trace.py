"""Tracing: run a function once on Values, and read the graph it built as a program.

A traced graph is a list of `Node`s in the engine's topological order (operands first). Each
node is an input (a number of one sample), a parameter (a Value that existed before the call:
its current ``.data`` is read on every run, and its ``.grad`` receives the gradient), a constant
(a number the function wrote into the graph) or an operation of the engine.

The guards live here too. A function is traced at least twice, on different inputs, and the two
graphs are compared node by node: a constant whose value changed came from the data, and a
graph whose shape changed was shaped by the data (a Python ``if`` on ``.data``). Both are refused
with `DataDependenceError`, because replaying either would give wrong answers without any error.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import os
import sys
import numbers
import threading
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .. import engine as _engine
from .. import ops as _ops
from ..engine import Value, enable_grad

__all__ = ["Node", "Graph", "CompileError", "DataDependenceError", "compare", "sample_shape",
           "perturbed", "run_once", "graph_of", "argument_names"]

INPUT, PARAM, CONST, OP = "input", "param", "const", "op"


class CompileError(ValueError):
    """A function that cannot be compiled; the message says why and what to do instead."""


class DataDependenceError(CompileError):
    """The traced graph depends on the numbers it was traced with, so it cannot be replayed."""


@dataclass(frozen=True)
class Node:
    """One value of a traced graph.

    ``kind`` is "input" (``ref`` = its position among the flattened inputs), "param"
    (``ref`` = its position in ``Graph.params``), "const" (``ref`` = the number) or "op"
    (``op`` = the engine's Op, ``args`` = the positions of its operands).
    """

    kind: str
    ref: Any = None
    op: Any = None
    args: tuple = ()
    label: str = ""


@dataclass
class Graph:
    """A traced function: its nodes (operands first), outputs and parameters."""

    nodes: list
    outputs: list          # node positions of the outputs, in the order fn returned them
    params: list           # the parameter Values, in the order the graph first reads them
    shape: tuple           # the per-sample shape of each argument (() for a number)
    names: tuple           # fn's argument names
    single: bool           # fn returned one Value (not a list)

    @property
    def n_inputs(self) -> int:
        return sum(math.prod(s) for s in self.shape)


@dataclass
class _Trace:
    """What one call of fn left behind: its input leaves and every value it depends on."""

    inputs: list
    outputs: list
    order: list
    single: bool
    reads: list = ()      # (value, file, line) of each .data read outside the engine
    unused: list = ()     # operations fn computed that no output depends on
    operands: list = ()   # each value's operands, in the order of ``order``


# -------------------------------------------------------------------------------------------------
# Inputs


def sample_shape(arg: Any, what: str) -> tuple:
    """The shape of one argument of one sample: () for a number, (n,) for a list of n numbers,
    (n, m) for a list of lists, ... TypeError for anything else, ValueError if ragged."""
    if isinstance(arg, bool) or isinstance(arg, Value):
        raise TypeError(f"{what} must be a number or a list of numbers, "
                        f"got {type(arg).__name__}: {arg!r}")
    if isinstance(arg, numbers.Real):
        return ()
    if hasattr(arg, "tolist") and hasattr(arg, "shape"):  # a numpy array
        arg = arg.tolist()
    if not isinstance(arg, (list, tuple)):
        raise TypeError(f"{what} must be a number or a list of numbers, "
                        f"got {type(arg).__name__}: {arg!r}")
    shapes = {sample_shape(a, f"{what}[{i}]") for i, a in enumerate(arg)}
    if len(shapes) > 1:
        raise ValueError(f"{what} is ragged: its items have the shapes {sorted(shapes)}")
    return (len(arg), *(shapes.pop() if shapes else ()))


def _flatten(arg: Any) -> list:
    if isinstance(arg, numbers.Real):
        return [float(arg)]
    if hasattr(arg, "tolist"):
        arg = arg.tolist()
    return [x for a in arg for x in _flatten(a)]


def _leaves(values: list, shape: tuple, name: str, start: int) -> Any:
    """Input leaves for one argument, nested like it; labels x1, x2 (x1_2 for nested lists)."""
    if not shape:
        return Value(values[start], name)
    step = math.prod(shape[1:])
    return [_leaves(values, shape[1:], f"{name}{i + 1}" if len(name) and not name[-1].isdigit()
                    else f"{name}_{i + 1}", start + i * step) for i in range(shape[0])]


def argument_names(fn: Callable, count: int) -> tuple:
    """fn's positional parameter names (a, b, ... where it has none we can read)."""
    try:
        params = [p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    names = params[:count]
    return tuple(names + [f"arg{i + 1}" for i in range(len(names), count)])


def perturbed(example: Sequence) -> list:
    """A second example far from the first: every number x becomes -1.37 x + 0.61, so signs
    flip and magnitudes change (a branch on an input's sign or size is taken the other way).
    An argument of whole numbers only (token ids, indices) keeps its numbers but shifts them
    by one place, last to first, so they stay valid ids while each position gets another."""
    def move(a):
        if isinstance(a, numbers.Real):
            return -1.37 * float(a) + 0.61
        if hasattr(a, "tolist"):
            a = a.tolist()
        return [move(x) for x in a]

    def shifted(a):
        flat = _flatten(a)
        if len(flat) < 2 or not all(float(x).is_integer() for x in flat):
            return None
        flat = flat[-1:] + flat[:-1]
        return _nested(flat, sample_shape(a, "argument"))

    return [shifted(a) or move(a) for a in example]


def _nested(flat: list, shape: tuple):
    if not shape:
        return flat[0]
    step = math.prod(shape[1:])
    return [_nested(flat[k * step:(k + 1) * step], shape[1:]) for k in range(shape[0])]


# -------------------------------------------------------------------------------------------------
# One trace


def run_once(fn: Callable, example: Sequence, shape: tuple, names: tuple,
             allow_reads: bool = False, collect_unused: bool = False) -> _Trace:
    """Call fn on input leaves made from ``example`` and collect the graph it returns.

    Unless ``allow_reads``, a read of a value computed from the inputs, outside the engine
    (``.data``, ``.local_grads``, ``detach()``, ``repr()``, ``ops.value_of``), raises
    DataDependenceError naming the file and line. With ``collect_unused``, the operations fn
    computed that no output depends on are kept in ``unused`` (see `_collecting_values`)."""
    args, inputs = [], []
    for value, s, name in zip(example, shape, names):
        flat = _flatten(value)
        leaves = _leaves(flat, s, name, 0)
        args.append(leaves)
        inputs.extend(_iter_leaves(leaves))
    made = _collecting_values() if collect_unused else contextlib.nullcontext([])
    with enable_grad(), _watching_reads() as reads, made as computed:
        out = fn(*args)
    if not allow_reads:
        _refuse_reads_of_data(reads, inputs)
    single = isinstance(out, Value)
    outputs = [out] if single else _output_list(out)
    order, operands = reading_order_and_operands(outputs)
    unused = []
    if computed:
        seen = {id(v) for v in order}
        unused = list({id(v): v for v in computed if id(v) not in seen}.values())
    return _Trace(inputs, outputs, order, single, list(reads), unused, operands)


def reading_order(outputs: list) -> list:
    """Every value the outputs depend on, operands before results, in the order a reader meets
    them: operands left to right, depth first. For an MLP that is layer by layer, neurons in
    order (the engine's own sort, built for speed, meets the last neuron first)."""
    return reading_order_and_operands(outputs)[0]


def reading_order_and_operands(outputs: list) -> tuple[list, list]:
    """`reading_order`, and each value's ``operands`` in the same order (read once here, so
    the comparison of two traces need not decode each node again)."""
    order, operands_of, seen = [], [], set()
    add, done = seen.add, None  # ``done`` above a node on the stack: its operands are in order
    for root in outputs:
        stack = [root]
        push, pop = stack.append, stack.pop
        while stack:
            node = pop()
            if node is done:
                order.append(pop())
                operands_of.append(pop())
                continue
            key = id(node)
            if key in seen:
                continue
            add(key)
            operands = node.operands
            push(operands)
            push(node)
            push(done)
            for k in range(len(operands) - 1, -1, -1):
                if id(operands[k]) not in seen:
                    push(operands[k])
    return order, operands_of


def _engine_files() -> tuple:
    """The engine's source files (one module, or a package's directory) and the op table's."""
    here = _engine.__file__
    if os.path.basename(here) == "__init__.py":
        here = os.path.dirname(here) + os.sep
    return here, _ops.__file__


_ENGINE_FILES = _engine_files()
_DATA = Value.__dict__["data"]  # the slot that holds a Value's number
_LOCAL_GRADS = Value.__dict__["local_grads"]  # the property that reads the local derivatives

# Engine functions that hand a value's number to their caller: a read made in one of them is
# the caller's read (the caller's line is reported), unless the caller is the engine itself.
_READERS = {"detach", "__repr__", "__str__", "__format__", "value_of", "local_grads"}


@functools.lru_cache(maxsize=None)
def _in_engine(filename: str) -> bool:
    return filename.startswith(_ENGINE_FILES[0]) or filename == _ENGINE_FILES[1]


def _reader_frame(depth: int):
    """The frame whose read of a number counts as the user's, or None for the engine's own
    reads (an operation reading its operands). ``depth`` is how far up the reading frame is."""
    frame = sys._getframe(depth + 1)
    if not _in_engine(frame.f_code.co_filename):
        return frame
    if frame.f_code.co_name not in _READERS:
        return None
    caller = frame.f_back
    while caller is not None and caller.f_code.co_name in _READERS and \
            _in_engine(caller.f_code.co_filename):  # repr calling value_of, say
        caller = caller.f_back
    if caller is None or _in_engine(caller.f_code.co_filename):
        return None
    return caller


class _ReadWatch:
    """Stands in for ``Value.data`` (and ``Value.local_grads``) while some thread traces.

    ``reads`` maps each tracing thread to the reads it made outside the engine (the reader's
    file and line); a read inside an engine function that hands the number out (``detach``,
    ``repr``, ``value_of``) counts as its caller's. Every read returns the slot's number and
    every write stores it, so other threads get the same numbers as always, only slower;
    their reads are not written down."""

    def __init__(self, inner):
        self.inner = inner
        self.reads: dict = {}  # thread ident -> [(value, file, line)]

    def __get__(self, obj, cls=None):
        if obj is None:
            return self
        if sys._getframe(1).f_code in _ENGINE_OWN_READS:  # the common case: an operation
            return self.inner.__get__(obj, cls)
        reads = _WATCHED.get(threading.get_ident())
        if reads is not None:
            frame = _reader_frame(1)
            if frame is not None:
                reads.append((obj, frame.f_code.co_filename, frame.f_lineno))
            else:
                code = sys._getframe(1).f_code
                if _in_engine(code.co_filename) and code.co_name not in _READERS:
                    _ENGINE_OWN_READS.add(code)  # an operation reading its operands: always
        return self.inner.__get__(obj, cls)

    def __set__(self, obj, value):
        self.inner.__set__(obj, value)


_WATCHED: dict = {}  # thread ident -> the reads it made while tracing
_ENGINE_OWN_READS: set = set()  # code of engine functions whose reads are never the user's
_WATCHES = {"data": (_DATA, _ReadWatch(_DATA)), "local_grads": (_LOCAL_GRADS, _ReadWatch(_LOCAL_GRADS))}
_WATCH_LOCK = threading.Lock()  # installing and removing the watch, thread by thread


@contextlib.contextmanager
def _watching_reads():
    """Watch this thread's reads of numbers outside the engine for the duration of a trace.

    The watch replaces ``Value.data`` and ``Value.local_grads`` process-wide while at least one
    thread traces, and they come back when the last trace ends, on every exit (an exception
    included). Threads tracing at the same time each see only their own reads; a trace inside
    a trace, in the same thread, leaves the watching to the outer one (which sees the inner
    reads too)."""
    me = threading.get_ident()
    with _WATCH_LOCK:
        ours = all(Value.__dict__[name] in pair for name, pair in _WATCHES.items())
        if me in _WATCHED or not ours:
            outer = None  # nested, or someone else replaced Value.data: nothing to watch
        else:
            outer = _WATCHED[me] = []
            for name, (_, watch) in _WATCHES.items():
                setattr(Value, name, watch)
    if outer is None:
        yield []
        return
    try:
        yield outer
    finally:
        with _WATCH_LOCK:
            del _WATCHED[me]
            if not _WATCHED:
                for name, (inner, _) in _WATCHES.items():
                    setattr(Value, name, inner)


@contextlib.contextmanager
def _collecting_values():
    """The operations' results (non-leaf Values) that engine functions return while fn runs
    in this thread, in order: a profile hook (this thread's only) sees each return. Used once
    per shape, to warn about values no output uses. Under a profiler or debugger's own hook,
    nothing is collected (theirs is left alone)."""
    made: list = []
    if sys.getprofile() is not None:
        yield made
        return

    def hook(frame, event, arg):
        if event == "return" and type(arg) is Value and arg.op is not None and \
                _in_engine(frame.f_code.co_filename):
            made.append(arg)

    sys.setprofile(hook)
    try:
        yield made
    finally:
        sys.setprofile(None)


def _refuse_reads_of_data(reads: list, inputs: list) -> None:
    """DataDependenceError if the function read the number of a value computed from its
    inputs: a branch on it, or a number taken from it, would be frozen into the trace."""
    if not reads:
        return
    depends = {id(v): True for v in inputs}
    for obj, filename, line in reads:
        if _depends_on(obj, depends):
            where = f"{filename}:{line}"
            raise DataDependenceError(
                f"the function reads .data of a value computed from its inputs ({_describe(obj)}, "
                f"at {where}): a Python `if` on it, or a number taken from it, would be frozen "
                "into the trace and replayed wrongly for other inputs. Compute with operations "
                "instead (relu, abs and the other kinks are operations); if this number came "
                "from your data, pass it as an input")


def _refuse_reads_of_parameters(a: _Trace, b: _Trace) -> None:
    """DataDependenceError if two traces read the number of the same Value: one that existed
    before the calls (a parameter), whose number the trace would freeze while it changes."""
    read_by_b = {id(obj) for obj, _, _ in b.reads}
    for obj, filename, line in a.reads:
        if id(obj) in read_by_b:
            raise DataDependenceError(
                f"the function reads the number of {_describe(obj)}, a Value that existed "
                f"before the call (a parameter), at {filename}:{line}: compiled code would keep "
                "today's number, or today's branch, while the parameter changes. Compute with "
                "operations on the Value itself (w.abs(), w.relu(), w * 2 ...) instead of its "
                ".data; pass allow_data_reads=True only if the number never changes")


def _depends_on(v: Value, memo: dict) -> bool:
    """Whether v was computed from one of the inputs (memo: id -> known answer)."""
    stack, order = [v], []
    while stack:
        node = stack.pop()
        if id(node) in memo:
            continue
        order.append(node)
        stack.extend(p for p in node.operands if id(p) not in memo)
    for node in reversed(order):  # operands are settled before the values made from them
        if id(node) not in memo:
            memo[id(node)] = any(memo.get(id(p), False) for p in node.operands)
    return memo[id(v)]


def _iter_leaves(leaves: Any) -> list:
    if isinstance(leaves, Value):
        return [leaves]
    return [v for item in leaves for v in _iter_leaves(item)]


def _output_list(out: Any) -> list:
    if isinstance(out, (list, tuple)) and out and all(isinstance(o, Value) for o in out):
        return list(out)
    raise TypeError("the compiled function must return a Value or a non-empty list of Values, "
                    f"got {type(out).__name__}: {out!r}")


def graph_of(output: Value, params: Sequence[Value]) -> Graph:
    """The Graph of a graph already built: leaves in ``params`` are parameters, other labelled
    leaves inputs (numbers, in the order they are first met), unlabelled leaves constants.
    No guard runs: this is for reading the code of one graph, not for replaying it."""
    order = reading_order([output])
    param_pos = {id(p): k for k, p in enumerate(params)}
    where, nodes, inputs = {}, [], []
    for v in order:
        where[id(v)] = len(nodes)
        if not v.is_leaf():
            nodes.append(Node(OP, op=v.op, args=tuple(where[id(a)] for a in v.operands),
                              label=v.label))
        elif id(v) in param_pos:
            nodes.append(Node(PARAM, param_pos[id(v)], label=v.label))
        elif v.label:
            nodes.append(Node(INPUT, len(inputs), label=v.label))
            inputs.append(v)
        else:
            nodes.append(Node(CONST, v.data))
    read = []  # the inputs in the order the operations read them (x1 before x2)
    for node in nodes:
        read += [nodes[a].ref for a in node.args
                 if nodes[a].kind == INPUT and nodes[a].ref not in read]
    read += [k for k in range(len(inputs)) if k not in read]  # the output itself, say
    position = {old: new for new, old in enumerate(read)}
    nodes = [Node(INPUT, position[n.ref], label=n.label) if n.kind == INPUT else n
             for n in nodes]
    names = tuple(inputs[old].label for old in read)
    graph = Graph(nodes, [where[id(output)]], list(params), ((),) * len(inputs), names, True)
    return _params_in_reading_order(graph)


# -------------------------------------------------------------------------------------------------
# Comparing two traces


def compare(a: _Trace, b: _Trace, shape: tuple, names: tuple,
            allow_reads: bool = False) -> Graph:
    """The Graph of trace ``a``, checked against trace ``b`` of the same fn on other inputs.

    Parameters are the leaves both traces share (the same object: it existed before the calls);
    constants are leaves each call made anew, and must hold the same number in both.
    Raises DataDependenceError where the traces differ, or (unless ``allow_reads``) where both
    read the number of a Value that existed before the calls (a parameter's ``.data``).
    """
    if not allow_reads:
        _refuse_reads_of_parameters(a, b)
    if len(a.order) != len(b.order) or len(a.outputs) != len(b.outputs):
        raise _shape_error(f"one input gave {len(a.order)} values, another {len(b.order)}")
    where_a = {id(v): i for i, v in enumerate(a.order)}
    where_b = {id(v): i for i, v in enumerate(b.order)}
    input_a = {id(v): i for i, v in enumerate(a.inputs)}
    input_b = {id(v): i for i, v in enumerate(b.inputs)}
    nodes, params, param_pos = [], [], {}
    for va, vb, oa, ob in zip(a.order, b.order, a.operands, b.operands):
        if oa and ob and va.op is vb.op and va is not vb:  # the common case, as in _pair
            args = tuple([where_a[id(p)] for p in oa])
            if args == tuple([where_b[id(p)] for p in ob]):
                nodes.append(Node(OP, None, va.op, args, va.label))
                continue
        nodes.append(_pair(va, vb, oa, ob, where_a, where_b, input_a, input_b, params,
                           param_pos))
    outputs = [where_a[id(o)] for o in a.outputs]
    if outputs != [where_b[id(o)] for o in b.outputs]:
        raise _shape_error("the outputs sit at different places in the two graphs")
    return _params_in_reading_order(Graph(nodes, outputs, params, shape, names, a.single))


def _params_in_reading_order(graph: Graph) -> Graph:
    """Number the parameters in the order the operations read them (w1, w2, b for a neuron)
    rather than the order the topological sort met them."""
    order: dict = {}
    for node in graph.nodes:
        for a in node.args:
            if graph.nodes[a].kind == PARAM:
                order.setdefault(graph.nodes[a].ref, len(order))
    for k, node in enumerate(graph.nodes):  # a parameter returned as it is, read by no op
        if node.kind == PARAM:
            order.setdefault(node.ref, len(order))
    nodes = [Node(PARAM, order[n.ref], label=n.label) if n.kind == PARAM else n
             for n in graph.nodes]
    params = [None] * len(order)
    for old, new in order.items():
        params[new] = graph.params[old]
    return Graph(nodes, graph.outputs, params, graph.shape, graph.names, graph.single)


def _pair(va, vb, oa, ob, where_a, where_b, input_a, input_b, params, param_pos) -> Node:
    """The Node for a value of trace a and its counterpart in trace b (checked to agree);
    ``oa``, ``ob`` are their operands."""
    ia, ib = input_a.get(id(va)), input_b.get(id(vb))
    if ia is not None or ib is not None:
        if ia != ib:
            raise _shape_error(f"input {va.label or ia} is read at different places")
        return Node(INPUT, ia, label=va.label)
    if va is vb:  # the same object in both calls: it existed before them
        if not va.is_leaf():
            raise DataDependenceError(
                f"the function reads a Value computed before it was called ({_describe(va)}); "
                "compile treats Values that exist before the call as parameters, which must be "
                "leaves: compute it inside the function, or use .detach() for a fixed number")
        if id(va) not in param_pos:
            param_pos[id(va)] = len(params)
            params.append(va)
        return Node(PARAM, param_pos[id(va)], label=va.label)
    if va.is_leaf() and vb.is_leaf():
        same = va.data == vb.data or (math.isnan(va.data) and math.isnan(vb.data))
        if not same:
            raise DataDependenceError(
                f"this number came from your data: pass it as an input. The function made a "
                f"constant {_describe(va)} that was {va.data!r} on one input and {vb.data!r} on "
                "another (a float taken from .data, or a number computed from the data)")
        return Node(CONST, va.data, label=va.label)
    if va.is_leaf() or vb.is_leaf() or not _same_op(va.op, vb.op):
        if _both_constant_powers(va, vb):
            raise DataDependenceError(
                f"this number came from your data: pass it as an input. An exponent was "
                f"{va.op.name[2:]} on one input and {vb.op.name[2:]} on another")
        raise _shape_error(f"one input computed {_describe(va)} where another computed "
                           f"{_describe(vb)}")
    args_a = tuple([where_a[id(p)] for p in oa])
    args_b = tuple([where_b[id(p)] for p in ob])
    if args_a != args_b:
        raise _shape_error(f"{_describe(va)} has different operands on different inputs")
    return Node(OP, op=va.op, args=args_a, label=va.label)


def _same_op(a, b) -> bool:
    # x ** n makes one Op per exponent, cached up to a limit: equal names are the same op
    return a is b or a.name == b.name


def _both_constant_powers(va, vb) -> bool:
    return (not va.is_leaf() and not vb.is_leaf() and len(va.operands) == 1
            and len(vb.operands) == 1 and va.op.name.startswith("**")
            and vb.op.name.startswith("**"))


def _describe(v: Value) -> str:
    what = "a leaf" if v.is_leaf() else f"the result of {v.op.name!r}"
    return f"{v.label!r} ({what})" if v.label else what


def _shape_error(detail: str) -> DataDependenceError:
    return DataDependenceError(
        "the graph's shape depends on the data, so one trace cannot stand for every input: "
        f"{detail}. A Python `if` (or min, max, sorted, a loop bound) on .data does this; "
        "write kinks with relu/abs, which are operations, or compile one program per case")
