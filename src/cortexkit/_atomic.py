"""Atomic writes: results, features, models and stores appear whole or not at all.

Everything is written to a temporary sibling of the destination, then moved into place with
``os.replace`` (atomic on POSIX for files). A directory that already exists at the destination
(a Zarr store) is first moved aside, then deleted once the new one is in place, so a reader never
sees a half-written store and a crash leaves either the old or the new version.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from cortexkit.errors import ConfigError


def _sibling(path: Path, tag: str) -> Path:
    return path.with_name(f".{path.name}.{tag}-{os.getpid()}-{uuid.uuid4().hex[:8]}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write to; on success move it to ``path``.

    Works for files and directories. On an exception the temporary is removed and ``path`` is
    left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(path, "tmp")
    try:
        yield tmp
        if path.is_dir() and not path.is_symlink():
            old = _sibling(path, "old")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


@contextlib.contextmanager
def exclusive(lock: str | os.PathLike, what: str) -> Iterator[None]:
    """Hold the lock file ``lock`` (holding this process's id) while writing ``what``, so that two
    processes never write it at once. A lock left by a process that no longer runs (a kill) is
    taken over.

    Raises
    ------
    ConfigError
        When another live process holds the lock.
    """
    lock = Path(lock)
    lock.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and _alive(pid):
                raise ConfigError(f"{what} is being written by another process (pid {pid}); wait for it to finish, "
                                  f"or remove {lock} if it no longer runs") from None
            lock.unlink(missing_ok=True)  # left behind by a killed process
    else:
        raise ConfigError(f"cannot lock {what}: remove {lock}")
    try:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        yield
    finally:
        lock.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def copy_file(source: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Put a copy of the file ``source`` at ``path`` atomically: a hard link where both sit on one
    file system (files written by these helpers are replaced, never changed in place, so a link is
    as good as a copy), else a byte copy."""
    with atomic_path(path) as tmp:
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)
    return Path(path)
