"""Progress bars for long loops (rich), drawn on interactive terminals only.

``CORTEXKIT_PROGRESS=0`` silences them everywhere; logs and CI output stay clean either way.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

T = TypeVar("T")


def enabled() -> bool:
    """Whether progress bars are drawn: on an interactive terminal, unless ``CORTEXKIT_PROGRESS=0``."""
    if os.environ.get("CORTEXKIT_PROGRESS", "1").lower() in ("0", "false", "no"):
        return False
    return sys.stderr.isatty()


@contextlib.contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[Callable[[], None]]:
    """Context manager yielding an ``advance()`` callback for a transient bar on stderr."""
    if not enabled():
        yield lambda: None
        return
    columns = (TextColumn("{task.description}", style="bold", markup=False), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task(description, total=total)
        yield lambda: progress.advance(task)


def track(iterable: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a progress bar."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    with progress_bar(description, total) as advance:
        for item in iterable:
            yield item
            advance()
