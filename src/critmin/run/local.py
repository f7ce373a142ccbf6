"""The default executor: a pool of local processes (``spawn``, the same start on every OS).

Workers ignore Ctrl-C; the parent catches it, terminates the pool and lets the caller report
what was kept. With one worker (or one chunk) the chunks run in this process: same blocks,
same numbers, no start-up cost.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from typing import Any

from critmin.run.blocks import Block, run_chunk

Done = Callable[[list[tuple[int, dict[str, Any]]]], None]


def default_workers() -> int:
    """Processes to use: the CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_local(fn: Callable[[Block], dict[str, Any]], chunks: Sequence[list[Block]],
              on_done: Done, workers: int | None = None) -> None:
    """Run every chunk; call ``on_done`` in this process as each one finishes."""
    if not chunks:
        return
    n = max(1, min(workers or default_workers(), len(chunks)))
    task = functools.partial(safe_chunk, fn)
    if n == 1:
        for chunk in chunks:
            on_done(task(chunk))
        return
    pool = multiprocessing.get_context("spawn").Pool(n, initializer=_ignore_sigint)
    try:
        for result in pool.imap_unordered(task, chunks):
            on_done(result)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()


def safe_chunk(fn: Callable[[Block], dict[str, Any]], chunk: list[Block]
               ) -> list[tuple[int, dict[str, Any]]]:
    """:func:`run_chunk` whose user errors cross process boundaries as plain CritminErrors
    (subclasses with their own constructors do not unpickle)."""
    from critmin.errors import CritminError

    try:
        return run_chunk(fn, chunk)
    except CritminError as err:
        raise CritminError(str(err)) from None


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
