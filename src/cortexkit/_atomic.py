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


# ---- outputs: cortexkit writes only where it may --------------------------------------------------
# A folder cortexkit writes into is new, empty, or already cortexkit's (it carries MARKER, a Zarr store
# carries the attribute written_by: cortexkit, and runs and stores written before either existed are
# recognised by their layout); anything else is refused, so that nothing cortexkit did not write is ever
# replaced or deleted.
MARKER = ".cortexkit"
_RUN_KINDS = ("encoding", "training", "reconstruction")
_STORE_ARRAYS = ("stimuli", "responses", "stimulus_id", "split")


def written_by_cortexkit(path: str | os.PathLike) -> bool:
    """Whether the folder ``path`` was written by cortexkit: its marker file, or (for folders written
    before the marker existed) a run's ``config.yaml`` or a Zarr store in cortexkit's data model."""
    path = Path(path)
    if (path / MARKER).is_file():
        return True
    config = path / "config.yaml"
    if config.is_file():
        import yaml

        try:
            raw = yaml.safe_load(config.read_text())
        except (OSError, yaml.YAMLError):
            raw = None
        if isinstance(raw, dict) and any(kind in raw for kind in _RUN_KINDS):
            return True
    meta = path / "zarr.json"
    if not meta.is_file():
        return False
    if all((path / name).is_dir() for name in _STORE_ARRAYS):  # a store in the data model
        return True
    import json

    try:
        return json.loads(meta.read_text()).get("attributes", {}).get("written_by") == "cortexkit"
    except (OSError, ValueError, AttributeError):
        return False


def check_output(path: str | os.PathLike) -> Path:
    """``path`` if cortexkit may write there (see :data:`MARKER`); else a ConfigError naming it and
    what is inside. Changes nothing: call it before any work."""
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise ConfigError(f"{path}: is a file, not a folder cortexkit writes; choose a new or empty folder "
                          "(nothing was changed)")
    if path.is_dir() and not written_by_cortexkit(path):
        # a folder holding only what cortexkit wrote (its stores and runs, its lock) may take more
        inside = sorted(p.name for p in path.iterdir()
                        if not (p.name in (MARKER, ".lock") or (p.is_dir() and written_by_cortexkit(p))))
        if inside:
            shown = ", ".join(inside[:3]) + (f" and {len(inside) - 3} more" if len(inside) > 3 else "")
            raise ConfigError(f"{path}: exists and holds files cortexkit did not write ({shown}); choose a new or "
                              "empty folder (nothing was changed)")
    return path


def claim_output(path: str | os.PathLike) -> Path:
    """:func:`check_output`, then create ``path`` (a folder) with cortexkit's marker in it: from now on
    cortexkit may replace what it writes there."""
    path = check_output(path)
    path.mkdir(parents=True, exist_ok=True)
    if not (path / MARKER).is_file():
        write_text(path / MARKER, "written by cortexkit: it may replace what it wrote here\n")
    return path


@contextlib.contextmanager
def claimed_output(path: str | os.PathLike) -> Iterator[Path]:
    """:func:`claim_output` for the work of a block: when the block stops on bad input (a
    :class:`~cortexkit.errors.CortexkitError`) and the folder did not exist before, it is removed
    again, so that bad input leaves nothing behind. Other stops (a kill, a crash) keep it, to resume."""
    from cortexkit.errors import CortexkitError

    path = Path(path)
    new = not path.exists()
    claim_output(path)
    try:
        yield path
    except CortexkitError:
        if new:
            shutil.rmtree(path, ignore_errors=True)
        raise
