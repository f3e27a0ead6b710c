"""Grad mode (``no_grad``, ``enable_grad``) and the cyclic collector's pause (``collector_paused``).

Both are switches the rest of the engine reads; neither knows anything about Values.
"""

from __future__ import annotations

import contextlib
import contextvars
import gc
import threading
from typing import Iterator

__all__ = ["no_grad", "enable_grad", "is_grad_enabled", "collector_paused", "GradMode"]

# -------------------------------------------------------------------------------------------------
# Grad mode, per thread (and per asyncio task)
#
# Every op asks "record?". The answer lives in a ContextVar (each thread, and each asyncio task,
# has its own): the blocks open in this context, innermost last; the innermost one still open
# decides. Reading it costs a C call per op, so a module global counts the grad-mode blocks open
# in any thread: while it is 0 (the usual case: training outside every no_grad) every thread is
# in the default mode, recording on, and the op reads that one global.
#
# A block belongs to the context that entered it, even when another thread ends it (a generator
# suspended inside `with no_grad():` and closed elsewhere): ending it marks it closed, so its
# own thread stops seeing it at once, and the thread that ends it keeps its own mode. PyTorch
# instead sets the ending thread's mode to the one saved at entry and leaves the entering
# thread's off; see docs/reliability.md.


class _Block:
    """One entry of a grad-mode block: its mode, and whether it is still open."""

    __slots__ = ("enabled", "open")

    def __init__(self, enabled: bool):
        self.enabled, self.open = enabled, True


_modes: contextvars.ContextVar[tuple] = contextvars.ContextVar("micrograd_nn_grad_modes",
                                                              default=())
open_blocks = 0   # grad-mode blocks open in all threads; changed only under _blocks_lock
_blocks_lock = threading.Lock()


def is_grad_enabled() -> bool:
    """True when operations record the graph in this thread (outside every ``no_grad()``)."""
    modes = _modes.get()
    if modes and modes[-1].open:        # the usual case, first: the innermost block is open
        return modes[-1].enabled
    return next((block.enabled for block in reversed(modes) if block.open), True)


class _GradMode(contextlib.ContextDecorator):
    """Set recording on or off inside a ``with`` block or a decorated function.

    The previous state is restored on exit, exceptions included, so blocks nest. The state
    belongs to the thread (or asyncio task) that entered the block: another thread's block
    changes nothing here, and ending a block from another thread (closing a generator suspended
    inside it) ends it where it was entered and leaves the ending thread's own mode alone.
    """

    def __init__(self, enabled: bool):
        self._enabled = bool(enabled)
        self._entered: list[_Block] = []    # this object's open entries, innermost last

    def _recreate_cm(self):
        return _GradMode(self._enabled)     # a decorated function: one block per call

    def __enter__(self):
        global open_blocks
        with _blocks_lock:
            open_blocks += 1
        block = _Block(self._enabled)
        self._entered.append(block)
        _modes.set(tuple(b for b in _modes.get() if b.open) + (block,))
        return self

    def __exit__(self, *exc):
        global open_blocks
        block = self._entered.pop()
        block.open = False
        _modes.set(tuple(b for b in _modes.get() if b.open))
        with _blocks_lock:
            open_blocks -= 1
        return False


def no_grad() -> _GradMode:
    """Context manager (and decorator) inside which operations record no graph.

    Results are plain leaves: they have data but no operands, so nothing flows back through them.
    ``grad(..., create_graph=True)`` records nothing inside it either. It nests, and the previous
    state comes back when the block ends, also through an exception. As in PyTorch, the mode
    belongs to the thread (and to the asyncio task): a new thread starts recording, and a block
    in one thread never changes another's mode, even when another thread ends it.
    """
    return _GradMode(False)


def enable_grad() -> _GradMode:
    """The opposite of ``no_grad()``: record the graph inside the block, even within no_grad."""
    return _GradMode(True)


# -------------------------------------------------------------------------------------------------
# The cyclic collector, paused when the user asks
#
# A graph of Values has no reference cycles (reference counting frees it), yet Python's cyclic
# collector walks every node while the graph lives: with tens of thousands of nodes a step, as a
# GPT written with Python's sum builds, that is about a third of the step. The collector is
# process-wide, so the engine never touches it by itself; this block is for users who ask.

_paused_blocks = 0   # collector_paused blocks open in all threads; changed under _paused_lock
_was_enabled = False
_paused_lock = threading.Lock()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector (``gc``) inside the block, then restore it.

    Graphs of Values need no cyclic collection: they hold no reference cycles and are freed by
    reference counting as soon as the last reference goes. Pausing the collector while a step
    builds a large graph saves the time it spends walking the nodes (a GPT step written with
    Python's ``sum``, 60k nodes, about a third). Blocks nest and may be open in several threads:
    the collector comes back, as it was before the first block, when the last block ends (an
    exception included). Your own objects that do form cycles are collected after the block.
    It changes a process-wide setting, which is why nothing in micrograd_nn does it unasked.
    """
    global _paused_blocks, _was_enabled
    with _paused_lock:
        if _paused_blocks == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused_blocks += 1
    try:
        yield
    finally:
        with _paused_lock:
            _paused_blocks -= 1
            if _paused_blocks == 0 and _was_enabled:
                gc.enable()
