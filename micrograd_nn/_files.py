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
  with FileNotFoundError; the file itself is still whole, holding the other write.) A name
  longer than 100 bytes is cut to its first 100 in the temporary name, followed by ``~`` and
  12 hex digits of its hash, so any name the file system takes (255 bytes) can be written.

A missing directory is FileNotFoundError, as for ``open()``; nothing is created. An error of
the file system (a read-only directory, a full disk) is the OSError ``open()`` would raise,
naming the target, not the temporary file.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import re
import secrets
import stat

__all__ = ["write_atomically"]


_NAME_KEPT = 100   # bytes of the target's name kept in its temporary name


def _temporary_prefix(name: str) -> str:
    """``.<name>.``, or for a long name ``.<its first 100 bytes>~<12 hex of its hash>.``: with
    the 12 random hex digits and ``.tmp`` at most 132 bytes, whatever the target's length."""
    if len(os.fsencode(name)) <= _NAME_KEPT:
        return f".{name}."
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:12]
    kept = name[:_NAME_KEPT]
    while len(os.fsencode(kept)) > _NAME_KEPT:
        kept = kept[:-1]
    return f".{kept}~{digest}."


def _leftovers(directory: pathlib.Path, name: str) -> list:
    pattern = re.compile(re.escape(_temporary_prefix(name)) + r"[0-9a-f]{12}\.tmp\Z")
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
    temporary = directory / f"{_temporary_prefix(target.name)}{secrets.token_hex(6)}.tmp"
    try:
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                         | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as error:   # e.g. a read-only directory: say which file could not be written
        if error.errno is None:
            raise
        raise _naming(error, given) from None
    try:
        with os.fdopen(handle, "wb") as out:
            if mode is not None:
                os.chmod(temporary, mode)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException as error:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        if (isinstance(error, OSError) and error.errno is not None
                and error.filename in (None, os.fspath(temporary))):
            raise _naming(error, given) from None
        raise
    _sync_directory(directory)
    return given


def _naming(error: OSError, path: pathlib.Path) -> OSError:
    """The same error (same errno, so the same OSError subclass) about ``path`` instead of the
    temporary file."""
    return OSError(error.errno, f"{error.strerror} (writing {str(path)!r})", os.fspath(path))


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
