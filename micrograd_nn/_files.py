"""Writing a file whole or not at all: the one way models, diagrams, pages and plots are saved.

``write_atomically(path, data)`` writes ``data`` to a temporary file beside the target, flushes
it to disk and renames it over the target with ``os.replace``. A reader sees the old file or
the new one, never half of one; a failed write leaves the old file as it was. Also:

- an existing file keeps its permission bits (a 0600 model stays 0600); a new file gets the
  usual ``0666 & ~umask``, as ``open()`` would give it;
- a symbolic link is written through: the file it points to is replaced, the link stays;
- a write killed half-way leaves one temporary file, ``.<name>.<12 hex digits>.tmp`` beside
  the target, and the next write of the same path removes it first, so there is never more
  than one. (Two processes writing the same path at once may therefore see one write fail
  with FileNotFoundError; the file itself is still whole, holding the other write.)

A missing directory is FileNotFoundError, as for ``open()``; nothing is created.
"""

from __future__ import annotations

import os
import pathlib
import re
import secrets
import stat

__all__ = ["write_atomically"]


def _leftovers(directory: pathlib.Path, name: str) -> list:
    pattern = re.compile(r"\." + re.escape(name) + r"\.[0-9a-f]{12}\.tmp\Z")
    try:
        return [directory / entry for entry in os.listdir(directory) if pattern.match(entry)]
    except OSError:
        return []


def write_atomically(path: str | os.PathLike, data: bytes | str) -> pathlib.Path:
    """Write ``data`` (bytes, or str as UTF-8) to ``path`` atomically; return ``path`` as a Path.

    See the module docstring for the guarantees: whole or nothing, mode kept, symlinks written
    through, at most one temporary file left by a killed write.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes or str, got {type(data).__name__}")
    given = pathlib.Path(path)
    target = pathlib.Path(os.path.realpath(given))   # through symlinks to the real file
    directory = target.parent
    if not directory.is_dir():
        raise FileNotFoundError(f"cannot write {str(given)!r}: directory {str(directory)!r} "
                                f"does not exist")
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    for stale in _leftovers(directory, target.name):   # left by a write that was killed
        try:
            os.unlink(stale)
        except OSError:
            pass
    temporary = directory / f".{target.name}.{secrets.token_hex(6)}.tmp"
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o666)
    try:
        with os.fdopen(handle, "wb") as out:
            if mode is not None:
                os.chmod(temporary, mode)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    _sync_directory(directory)
    return given


def _sync_directory(directory: pathlib.Path) -> None:
    """Make the rename itself durable; not every platform can open a directory."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
