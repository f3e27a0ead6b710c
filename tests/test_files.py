"""write_atomically: whole or nothing, mode kept, symlinks written through, and a save killed
half-way leaves at most one temporary file, removed by the next save of the same path."""

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from micrograd_nn._files import write_atomically
from micrograd_nn.nn import MLP

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX modes, symlinks and signals")


def test_writes_bytes_and_text(tmp_path):
    path = tmp_path / "a.txt"
    assert write_atomically(path, "héllo") == path
    assert path.read_text(encoding="utf-8") == "héllo"
    write_atomically(str(path), b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_refuses_other_data_and_missing_directories(tmp_path):
    with pytest.raises(TypeError, match="bytes or str"):
        write_atomically(tmp_path / "a", 5)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_atomically(tmp_path / "no" / "a", b"x")


@posix_only
def test_an_existing_file_keeps_its_mode(tmp_path):
    path = tmp_path / "model.json"
    MLP(2, [1], seed=0).save(path)
    path.chmod(0o600)
    MLP(2, [1], seed=1).save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o640)
    write_atomically(path, b"x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


@posix_only
def test_a_new_file_gets_the_umask_mode(tmp_path):
    old = os.umask(0o027)
    try:
        write_atomically(tmp_path / "new", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o640


@posix_only
def test_a_symlink_is_written_through_to_its_target(tmp_path):
    (tmp_path / "models").mkdir()
    target = tmp_path / "models" / "real.json"
    MLP(2, [1], seed=0).save(target)
    link = tmp_path / "current.json"
    link.symlink_to(target)
    model = MLP(2, [1], seed=5)
    model.save(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert [p.data for p in MLP.load(target).parameters()] == [p.data for p in
                                                                model.parameters()]
    assert sorted(os.listdir(tmp_path / "models")) == ["real.json"]
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "models" / "later.json")
    write_atomically(dangling, b"x")
    assert dangling.is_symlink() and (tmp_path / "models" / "later.json").read_bytes() == b"x"


def test_leftovers_of_a_killed_write_are_removed_by_the_next(tmp_path):
    path = tmp_path / "plot.png"
    for token in ("0123456789ab", "ba9876543210"):
        (tmp_path / f".plot.png.{token}.tmp").write_bytes(b"half")
    keep = [tmp_path / ".plot.png.tmp", tmp_path / ".other.png.0123456789ab.tmp"]
    for other in keep:
        other.write_bytes(b"not ours")
    write_atomically(path, b"whole")
    assert sorted(os.listdir(tmp_path)) == sorted(["plot.png"] + [p.name for p in keep])


SAVER = textwrap.dedent("""
    import os, sys, time
    from micrograd_nn.nn import MLP
    model = MLP(20, [200, 200, 1], seed=1)          # about 44,000 parameters, ~1 MB of JSON
    def stalled_replace(src, dst):                  # the data is written; the rename never comes
        print("written", flush=True)
        time.sleep(120)
    os.replace = stalled_replace
    model.save(sys.argv[1])
""")


def _killed_save(path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    child = subprocess.Popen([sys.executable, "-c", SAVER, str(path)], stdout=subprocess.PIPE,
                             env=env, text=True)
    try:
        assert child.stdout.readline().strip() == "written"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()


@posix_only
def test_a_save_killed_mid_way_leaves_one_temporary_file_and_the_next_save_cleans_it(tmp_path):
    path = tmp_path / "model.json"
    old = MLP(2, [3, 1], seed=0)
    old.save(path)
    before = path.read_bytes()
    for _ in range(3):       # every killed save first removes what the previous one left
        _killed_save(path)
        assert path.read_bytes() == before
        leftovers = [name for name in os.listdir(tmp_path) if name != "model.json"]
        assert len(leftovers) == 1 and leftovers[0].startswith(".model.json.")
    MLP(2, [3, 1], seed=2).save(path)
    assert os.listdir(tmp_path) == ["model.json"]
    assert MLP.load(path).parameters()[0].data == MLP(2, [3, 1], seed=2).parameters()[0].data


@pytest.mark.parametrize("length", [238, 250, 255])
def test_a_name_as_long_as_the_file_system_takes_can_be_saved(tmp_path, length):
    """The temporary name was the target's plus 18 characters: past 237 it was too long."""
    path = tmp_path / ("m" * (length - 5) + ".json")
    model = MLP(2, [1], seed=0)
    model.save(path)
    assert os.listdir(tmp_path) == [path.name]
    assert MLP.load(path).parameters()[0].data == model.parameters()[0].data
    name = "m" * (length - 5) + ".json"      # what a killed save of it leaves is cleaned too
    import hashlib
    left = tmp_path / f".{name[:100]}~{hashlib.sha256(name.encode()).hexdigest()[:12]}" \
                      f".0123456789ab.tmp"
    left.write_bytes(b"half")
    MLP(2, [1], seed=1).save(path)
    assert os.listdir(tmp_path) == [path.name]


def test_a_temporary_name_never_passes_132_bytes(tmp_path):
    from micrograd_nn._files import _temporary_prefix
    for name in ("a.json", "é" * 127 + ".json", "x" * 255):
        assert len(os.fsencode(_temporary_prefix(name))) + 16 <= 132
    assert _temporary_prefix("a" * 101) != _temporary_prefix("a" * 100 + "b")


def test_an_error_of_the_directory_names_the_target_not_the_temporary_file(tmp_path,
                                                                          monkeypatch):
    """As a read-only directory answers (simulated: root may write anywhere)."""
    import errno
    real_open = os.open

    def read_only(path, flags, *args):
        if flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        return real_open(path, flags, *args)

    target = tmp_path / "model.json"
    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(PermissionError) as error:
        MLP(2, [1], seed=0).save(target)
    assert error.value.filename == str(target) and ".tmp" not in str(error.value)
    assert str(target) in str(error.value)


@posix_only
def test_a_read_only_directory_is_a_permission_error_naming_the_target():
    # not under tmp_path: pytest makes root's temporary folders private, and the unprivileged
    # saver below must reach the directory to be refused by it
    outer = Path(tempfile.mkdtemp())
    outer.chmod(0o755)
    directory = outer / "ro"
    directory.mkdir()
    directory.chmod(0o555)
    try:
        error = _save_error_without_root(MLP(2, [1], seed=0), directory / "model.json")
    finally:
        directory.chmod(0o755)
        shutil.rmtree(outer)
    assert error == ("PermissionError", str(directory / "model.json"))


def _save_error_without_root(model, path):
    """(type name, filename) of the error ``model.save(path)`` raises, or None. Root may write
    into a read-only directory, so under root the save runs in a child process that has given
    up root (as the user nobody) and reports back through a pipe."""
    if os.geteuid() != 0:
        try:
            model.save(path)
        except OSError as error:
            return type(error).__name__, error.filename
        return None
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:    # the child: never returns into pytest
        outcome = b"none"
        try:
            os.setgid(65534)
            os.setuid(65534)
            model.save(path)
        except OSError as error:
            outcome = f"{type(error).__name__}\n{error.filename}".encode()
        finally:
            os.write(write_end, outcome)
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        outcome = pipe.read().decode()
    os.waitpid(pid, 0)
    return None if outcome == "none" else tuple(outcome.split("\n", 1))


def test_replacing_a_directory_fails_naming_it_and_leaves_nothing_behind(tmp_path):
    target = tmp_path / "model.json"
    target.mkdir()
    with pytest.raises(IsADirectoryError) as error:
        write_atomically(target, b"x")
    assert error.value.filename == str(target)
    assert os.listdir(tmp_path) == ["model.json"] and target.is_dir()


def test_a_full_disk_while_writing_names_the_target(tmp_path, monkeypatch):
    import errno

    def full(*args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as error:
        write_atomically(tmp_path / "plot.png", b"x")
    assert error.value.errno == errno.ENOSPC and error.value.filename == str(tmp_path / "plot.png")
    assert os.listdir(tmp_path) == []
