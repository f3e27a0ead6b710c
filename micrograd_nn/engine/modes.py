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
# Grad mode, per thread (and per asyncio task), as in PyTorch
#
# Every op asks "record?". The answer lives in a ContextVar (each thread, and each asyncio task,
# has its own), but reading it costs a C call per op. So a module global counts the grad-mode
# blocks open in any thread: while it is 0 (the usual case: training outside every no_grad)
# every thread is in the default mode, recording on, and the op reads that one global.

_modes: contextvars.ContextVar[tuple] = contextvars.ContextVar("micrograd_nn_grad_modes",
                                                              default=())
open_blocks = 0   # grad-mode blocks open in all threads; changed only under _blocks_lock
_blocks_lock = threading.Lock()


def is_grad_enabled() -> bool:
    """True when operations record the graph in this thread (outside every ``no_grad()``)."""
    modes = _modes.get()
    return modes[-1] if modes else True


class _GradMode(contextlib.ContextDecorator):
    """Set recording on or off inside a ``with`` block or a decorated function.

    The previous state is restored on exit, exceptions included, so blocks nest. The state
    belongs to the running thread (or asyncio task): another thread's block changes nothing here.
    """

    def __init__(self, enabled: bool):
        self._enabled = bool(enabled)

    def __enter__(self):
        global open_blocks
        with _blocks_lock:
            open_blocks += 1
        _modes.set(_modes.get() + (self._enabled,))
        return self

    def __exit__(self, *exc):
        global open_blocks
        _modes.set(_modes.get()[:-1])
        with _blocks_lock:
            open_blocks -= 1
        return False


def no_grad() -> _GradMode:
    """Context manager (and decorator) inside which operations record no graph.

    Results are plain leaves: they have data but no operands, so nothing flows back through them.
    ``grad(..., create_graph=True)`` records nothing inside it either. It nests, and the previous
    state comes back when the block ends, also through an exception. Like PyTorch's, the mode
    belongs to the thread (and to the asyncio task): a new thread starts recording, and a block
    in one thread never changes another.
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
