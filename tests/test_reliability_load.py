"""The bounded load test (benchmarks/load.py) in its short form: 5 clients for 5 seconds against
``critmin serve`` on SQLite and on PostgreSQL (when installed), reads and writes mixed.

Zero errors, latency reported for every endpoint of the mix, and every scenario the clients
created stored exactly once with the text they sent. The 50-client, 60-second figures are in
RELIABILITY.md.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from web.servers import pg_bin

LOAD = Path(__file__).resolve().parents[1] / "benchmarks" / "load.py"


def _load_module():
    spec = importlib.util.spec_from_file_location("critmin_load", LOAD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_short_load_run_has_no_errors_and_loses_nothing(db):
    if db == "postgresql" and pg_bin() is None:
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    load = _load_module()
    result = load.run([db], clients=5, seconds=5)[db]
    assert result["errors"] == 0, result["first_errors"]
    stored = result["stored"]
    assert stored["created"] >= 5  # every client wrote at least once
    assert stored["lost"] == stored["duplicated"] == stored["unreadable"] == 0
    assert stored["listed"] == stored["created"] + 1  # plus the seed scenario
    labels = {label for label, _, _ in load.READS} | {load.WRITE}
    assert set(result["endpoints"]) == labels
    for row in result["endpoints"].values():
        assert row["requests"] > 0 and 0 < row["p50_ms"] <= row["p95_ms"] <= row["max_ms"]
    assert result["requests"] == sum(r["requests"] for r in result["endpoints"].values())
    assert load.passed(result)
