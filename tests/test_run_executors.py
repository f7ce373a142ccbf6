"""Executors: blocks and their seed streams, the local pool, the block store and resuming."""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path

import numpy as np
import pytest

from critmin.errors import CritminError
from critmin.run import map_chunks, plan_blocks
from critmin.run.blocks import Block, group_chunks


def noisy(block: Block, fail_on: int | None = None) -> dict[str, np.ndarray]:
    """Random numbers from the block's own stream (a module-level function: picklable)."""
    if block.index == fail_on:
        raise CritminError(f"block {block.index} failed on purpose")
    return {"u": block.rng().random((block.size, 3)),
            "item": np.arange(block.start, block.stop)}


def test_blocks_and_their_streams_depend_only_on_seed_and_index() -> None:
    blocks = plan_blocks(10, 3, seed=7)
    assert [(b.start, b.stop) for b in blocks] == [(0, 3), (3, 6), (6, 9), (9, 10)]
    children = np.random.SeedSequence(7).spawn(4)
    for b, child in zip(blocks, children, strict=True):
        assert np.array_equal(b.seed.generate_state(4), child.generate_state(4))
    # a longer run with the same block size keeps the first blocks' streams
    longer = plan_blocks(100, 3, seed=7)
    assert np.array_equal(longer[2].rng().random(5), blocks[2].rng().random(5))
    assert [len(c) for c in group_chunks(blocks, 3)] == [1, 2, 1]
    assert [len(c) for c in group_chunks(blocks)] == [1, 1, 1, 1]
    assert [len(c) for c in group_chunks(blocks, 99)] == [1, 1, 1, 1]
    with pytest.raises(CritminError, match="at least 1"):
        plan_blocks(0, 3)


def test_one_chunk_in_process_equals_many_chunks_in_a_pool() -> None:
    blocks = plan_blocks(11, 2, seed=3)
    inline = map_chunks(noisy, blocks, chunks=1)
    pooled = map_chunks(noisy, blocks, chunks=4, workers=2)
    assert inline.computed == pooled.computed == 6
    assert np.array_equal(inline.arrays["item"], np.arange(11))
    assert np.array_equal(inline.arrays["u"], pooled.arrays["u"])
    # each row is its block's stream: block 1 holds items 2 and 3
    assert np.array_equal(inline.arrays["u"][2:4], blocks[1].rng().random((2, 3)))


def test_store_keeps_finished_blocks_and_resume_computes_only_the_rest(tmp_path: Path) -> None:
    blocks = plan_blocks(9, 2, seed=1)
    fresh = map_chunks(noisy, blocks)
    store = tmp_path / "store"
    with pytest.raises(CritminError, match="failed on purpose"):
        map_chunks(functools.partial(noisy, fail_on=3), blocks, store=store, key="k", workers=1)
    kept = sorted(p.name for p in store.glob("block-*.npz"))
    assert kept == ["block-000000.npz", "block-000001.npz", "block-000002.npz"]
    resumed = map_chunks(noisy, blocks, store=store, key="k", workers=2)
    assert (resumed.loaded, resumed.computed) == (3, 2)
    for name in fresh.arrays:
        assert np.array_equal(resumed.arrays[name], fresh.arrays[name])
    manifest = json.loads((store / "manifest.json").read_text())
    assert manifest["key"] == "k" and manifest["n_blocks"] == 5
    # another run's folder is refused in one line
    with pytest.raises(CritminError, match="holds blocks of another run") as err:
        map_chunks(noisy, blocks, store=store, key="other")
    assert "\n" not in str(err.value)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("x")
    with pytest.raises(CritminError, match="not empty"):
        map_chunks(noisy, blocks, store=tmp_path / "junk", key="k")


def test_block_function_must_return_arrays_per_item() -> None:
    with pytest.raises(ValueError, match="leading axis of 2 items"):
        map_chunks(lambda b: {"x": np.zeros(5)}, plan_blocks(4, 2), workers=1)


def test_bad_executor_and_unreachable_scheduler_fail_fast_in_one_line() -> None:
    blocks = plan_blocks(2, 1)
    with pytest.raises(CritminError, match="allowed: local, dask"):
        map_chunks(noisy, blocks, executor="spark")  # type: ignore[arg-type]
    with pytest.raises(CritminError, match="needs --executor dask"):
        map_chunks(noisy, blocks, scheduler="tcp://127.0.0.1:1")
    with pytest.raises(CritminError, match="no protocol"):
        map_chunks(noisy, blocks, executor="dask", scheduler="127.0.0.1:1")
    start = time.monotonic()
    with pytest.raises(CritminError, match="cannot reach the dask scheduler") as err:
        map_chunks(noisy, blocks, executor="dask", scheduler="tcp://127.0.0.1:1")
    assert time.monotonic() - start < 15
    assert "\n" not in str(err.value)
