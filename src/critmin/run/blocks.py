"""Cutting work into blocks and chunks, so that the answer never depends on how it is split.

A *block* is a fixed run of items (draws) ``[start, stop)`` with its own random stream,
``SeedSequence(seed).spawn(n_blocks)[index]``: the stream of block ``i`` depends only on the
seed and ``i``, and a block is always computed in one call of the task function. A *chunk* is a
group of consecutive blocks handed to one worker; chunks are a scheduling choice only. Whether
the blocks run in one chunk or many, in this process, a local pool or a dask cluster, every
block sees the same inputs and the same random numbers, so the results are the same bit for
bit. (Changing the block size changes which draws are computed together; the vectorised
simulator then agrees to rounding only, ~1e-14.)
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from critmin.errors import CritminError


@dataclass(frozen=True)
class Block:
    """Items ``[start, stop)`` of the work, block number ``index``, its random stream and any
    per-block inputs (``data``, e.g. the parameter draws of these items)."""

    index: int
    start: int
    stop: int
    seed: np.random.SeedSequence
    data: Any = None

    @property
    def size(self) -> int:
        return self.stop - self.start

    def rng(self) -> np.random.Generator:
        """A generator on this block's own stream."""
        return np.random.default_rng(self.seed)

    def with_data(self, data: Any) -> Block:
        return replace(self, data=data)


def plan_blocks(n_items: int, block_size: int, seed: int = 0) -> list[Block]:
    """Blocks of ``block_size`` items (the last may be shorter) with spawned seed streams."""
    if n_items < 1:
        raise CritminError(f"nothing to run: {n_items} items (need at least 1)")
    if block_size < 1:
        raise CritminError(f"block size must be at least 1 (got {block_size})")
    if seed < 0:
        raise CritminError(f"seed must be a non-negative integer (got {seed})")
    starts = list(range(0, n_items, block_size))
    streams = np.random.SeedSequence(seed).spawn(len(starts))
    return [Block(i, a, min(a + block_size, n_items), streams[i])
            for i, a in enumerate(starts)]


def group_chunks(blocks: list[Block], n_chunks: int | None = None) -> list[list[Block]]:
    """Consecutive blocks in ``n_chunks`` groups of near-equal size (default: one per block)."""
    if not blocks:
        return []
    n = len(blocks) if n_chunks is None else int(n_chunks)
    if n < 1:
        raise CritminError(f"chunks must be at least 1 (got {n})")
    n = min(n, len(blocks))
    edges = np.linspace(0, len(blocks), n + 1).round().astype(int)
    return [blocks[int(a):int(b)] for a, b in itertools.pairwise(edges) if b > a]


def run_chunk(fn: Any, chunk: list[Block]) -> list[tuple[int, dict[str, np.ndarray]]]:
    """Run ``fn`` on each block of a chunk (what a worker does): ``[(index, arrays), …]``."""
    out = []
    for block in chunk:
        arrays = fn(block)
        if not isinstance(arrays, dict):
            raise TypeError(f"block function must return a dict of arrays, got "
                            f"{type(arrays).__name__}")
        checked = {}
        for name, value in arrays.items():
            a = np.asarray(value)
            if a.ndim == 0 or a.shape[0] != block.size:
                raise ValueError(f"block {block.index}: array {name!r} must have a leading axis "
                                 f"of {block.size} items, got shape {a.shape}")
            checked[str(name)] = a
        out.append((block.index, checked))
    return out
