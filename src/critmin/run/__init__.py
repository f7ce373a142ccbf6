"""Executors: run a function over blocks of work locally or on a dask cluster, with a progress
bar, a folder of finished blocks, and the same numbers however the work is split.

``map_chunks(fn, blocks, executor=…)`` calls ``fn(block) -> {name: array}`` once per block
(:mod:`critmin.run.blocks`), in chunks of blocks handed to ``local`` worker processes
(:mod:`critmin.run.local`, the default) or to ``dask`` (:mod:`critmin.run.dask`), and returns
each array concatenated over the blocks in order. With ``store`` every finished block is
written to that folder (:mod:`critmin.run.store`) as it arrives; after Ctrl-C or a failure the
same call with the same folder computes only the blocks still missing (Ctrl-C then becomes
:class:`Interrupted`, a one-line error naming the folder, rather than a bare
KeyboardInterrupt).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np

from critmin.errors import CritminError
from critmin.run.blocks import Block, group_chunks, plan_blocks

Executor = Literal["local", "dask"]
EXECUTORS: Final = ("local", "dask")

__all__ = ["EXECUTORS", "Block", "Interrupted", "MapResult", "map_chunks", "plan_blocks"]


class Interrupted(CritminError):
    """Ctrl-C during a run with a store: says where the finished blocks are kept."""


@dataclass
class MapResult:
    """Arrays concatenated over blocks, and how many blocks were computed or loaded."""

    arrays: dict[str, np.ndarray]
    computed: int
    loaded: int
    store: Path | None = None
    notes: list[str] = field(default_factory=list)


def map_chunks(
    fn: Callable[[Block], Mapping[str, Any]],
    blocks: Sequence[Block],
    *,
    executor: Executor = "local",
    chunks: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    store: Path | str | None = None,
    key: str = "",
    description: Mapping[str, Any] | None = None,
    progress: bool = False,
    label: str = "items",
) -> MapResult:
    """Run ``fn`` on every block and concatenate its arrays in block order.

    ``chunks``: how many tasks the pending blocks are grouped into (default one per block);
    ``workers``: processes (local) or LocalCluster workers (dask, no ``scheduler``);
    ``store``/``key``: a folder of finished blocks for resuming, and what run they belong to.
    ``fn`` must be picklable (a module-level function or a ``functools.partial`` of one).
    """
    if executor not in EXECUTORS:
        raise CritminError(f"unknown executor {executor!r}; allowed: {', '.join(EXECUTORS)}")
    if scheduler and executor != "dask":
        raise CritminError("--scheduler needs --executor dask")
    blocks = list(blocks)
    from critmin.run.store import BlockStore

    box = BlockStore(store, key, len(blocks), description) if store is not None else None
    done = box.done() if box is not None else set()
    pending = [b for b in blocks if b.index not in done]
    results: dict[int, dict[str, np.ndarray]] = {}
    bar = _Bar(sum(b.size for b in blocks), sum(b.size for b in blocks if b.index in done),
               label) if progress else None
    sizes = {b.index: b.size for b in blocks}

    def on_done(finished: list[tuple[int, dict[str, np.ndarray]]]) -> None:
        for index, arrays in finished:
            if box is not None:
                box.save(index, arrays)
            results[index] = arrays
            if bar is not None:
                bar.advance(sizes[index])

    try:
        groups = group_chunks(pending, chunks)
        if executor == "dask":
            from critmin.run.dask import run_dask

            run_dask(fn, groups, on_done, workers, scheduler)  # type: ignore[arg-type]
        else:
            from critmin.run.local import run_local

            run_local(fn, groups, on_done, workers)  # type: ignore[arg-type]
    except KeyboardInterrupt:
        if box is None:
            raise
        kept = len(done) + len(results)
        raise Interrupted(f"interrupted: {kept} of {len(blocks)} blocks kept in {box.folder}; "
                          f"run again with --resume {box.folder} to continue") from None
    finally:
        if bar is not None:
            bar.close()
    for index in sorted(done):
        results[index] = box.load(index)  # type: ignore[union-attr]
    return MapResult(_concatenate(blocks, results), len(pending), len(done),
                     box.folder if box is not None else None)


def _concatenate(blocks: Sequence[Block], results: Mapping[int, Mapping[str, np.ndarray]]
                 ) -> dict[str, np.ndarray]:
    names = list(results[blocks[0].index]) if blocks else []
    for b in blocks:
        if sorted(results[b.index]) != sorted(names):
            raise CritminError(f"block {b.index} has arrays {sorted(results[b.index])}, "
                               f"expected {sorted(names)} (a store from another version?)")
    return {n: np.concatenate([results[b.index][n] for b in blocks]) for n in names}


class _Bar:
    """A rich progress bar on stderr (stdout may carry JSON)."""

    def __init__(self, total: int, completed: int, label: str) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TimeRemainingColumn(),
                                 console=Console(stderr=True), transient=True)
        self.progress.start()
        self.task = self.progress.add_task(label, total=total, completed=completed)

    def advance(self, n: int) -> None:
        self.progress.advance(self.task, n)

    def close(self) -> None:
        self.progress.stop()
