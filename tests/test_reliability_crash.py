"""Crash safety of stored scenarios: ``kill -9`` the server while clients are creating
scenarios, restart it, and check that every create it acknowledged is there, whole and
readable, that nothing half-written is left, and that the server takes writes again.

Runs on SQLite and PostgreSQL (when installed); ``CRASH_CYCLES`` (default 2) kills per database.
A run killed mid-simulation is tests/test_api_runs.py::
test_sigkill_during_a_run_leaves_no_stuck_run_and_no_result.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from critmin.api import accounts
from critmin.api.db import make_engine, session_factory, transaction
from critmin.api.documents import check
from critmin.api.models import Scenario, ScenarioVersion, User
from web.servers import create_user, postgres_or_none, sqlite_url, start_server

CYCLES = int(os.environ.get("CRASH_CYCLES", "2"))
WRITERS = 4
ACKS_BEFORE_KILL = 15
TEXT = ("name: {name}\nstart: 2026Q1\nhorizon: 8\nchains: [rare-earths]\nblocs:\n"
        "  china: [CHN]\nshocks:\n  - kind: licence_approval\n    commodity: rare-earths\n"
        "    stage: separated\n    exporter: china\n    start: 2026Q2\n    value: 0.{digit}\n")


@pytest.fixture(scope="module")
def postgres():
    with postgres_or_none() as server:
        yield server


def _writers(base: str, headers: dict[str, str], cycle: int,
             acked: dict[str, str]) -> tuple[list[threading.Thread], dict[str, int]]:
    """Threads creating scenarios until the server dies; ``acked`` gets id → text on 201."""
    lock = threading.Lock()
    sent = {"requests": 0, "failed": 0}

    def loop(writer: int) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            for i in range(10_000):  # bounded; the kill ends it long before
                text = TEXT.format(name=f"crash-{cycle}-{writer}-{i}", digit=i % 9 + 1)
                try:
                    answer = client.post("/api/scenarios", content=text,
                                         headers={"content-type": "application/yaml"})
                except httpx.HTTPError:
                    with lock:
                        sent["failed"] += 1
                    return  # the server is gone: this request was never acknowledged
                with lock:
                    sent["requests"] += 1
                    if answer.status_code == 201:
                        acked[answer.json()["id"]] = text

    threads = [threading.Thread(target=loop, args=(w,), daemon=True) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    return threads, sent


def _check_store(base: str, headers: dict[str, str], acked: dict[str, str]) -> int:
    """Every acknowledged scenario present with its text; every listed one readable."""
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        listed = client.get("/api/scenarios").json()
        ids = [s["id"] for s in listed]
        assert len(ids) == len(set(ids))
        missing = set(acked) - set(ids)
        assert not missing, f"{len(missing)} acknowledged scenarios lost"
        for row in listed:  # unacknowledged ones that made it are whole too
            answer = client.get(f"/api/scenarios/{row['id']}")
            assert answer.status_code == 200, answer.text
            latest = answer.json()["latest"]
            if row["id"] in acked:
                assert latest["body"] == acked[row["id"]]
            assert latest["scenario_hash"] == check(latest["body"]).scenario_hash
    return len(ids)


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_kill_9_during_scenario_writes_loses_no_acknowledged_scenario(db, tmp_path: Path,
                                                                      postgres):
    if db == "postgresql":
        if postgres is None:
            pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
        url = postgres.create_database("crash")
    else:
        url = sqlite_url(tmp_path)
    create_user(url, "ann@a.gov", "Ministry A", "analyst", "USA")
    engine = make_engine(url)
    factory = session_factory(engine)
    with transaction(factory) as session:
        user = session.scalar(select(User).where(User.email == "ann@a.gov"))
        _, secret = accounts.create_api_key(session, user.id, "crash")
    headers = {"Authorization": f"Bearer {secret}"}
    acked: dict[str, str] = {}
    interrupted = 0
    try:
        for cycle in range(CYCLES):
            server = start_server(url, tmp_path / f"serve-{cycle}.log")
            try:
                before = len(acked)
                threads, sent = _writers(server.base, headers, cycle, acked)
                deadline = time.monotonic() + 60
                while len(acked) - before < ACKS_BEFORE_KILL and time.monotonic() < deadline:
                    time.sleep(0.01)
                server.kill9()  # mid-write: the writers have requests in flight
                for thread in threads:
                    thread.join(timeout=30)
                assert len(acked) - before >= ACKS_BEFORE_KILL
                interrupted += sent["failed"]
            finally:
                server.stop()
        restarted = start_server(url, tmp_path / "serve-final.log")
        try:
            stored = _check_store(restarted.base, headers, acked)
            text = TEXT.format(name="after-the-crashes", digit=5)
            again = httpx.post(f"{restarted.base}/api/scenarios", content=text, timeout=30,
                               headers={**headers, "content-type": "application/yaml"})
            assert again.status_code == 201
        finally:
            restarted.stop()
        with factory() as session:  # no scenario row without its version
            versions = session.scalar(select(func.count()).select_from(ScenarioVersion))
            scenarios = session.scalar(select(func.count()).select_from(Scenario))
            orphans = session.scalar(
                select(func.count()).select_from(Scenario).where(~select(ScenarioVersion.id)
                .where(ScenarioVersion.scenario_id == Scenario.id).exists()))
        assert orphans == 0 and versions == scenarios == stored + 1
        assert stored >= len(acked) >= CYCLES * ACKS_BEFORE_KILL
        assert interrupted >= 1  # at least one request really was cut off by a kill
        print(f"{db}: {CYCLES} kill -9 during writes, {len(acked)} creates acknowledged, "
              f"{interrupted} requests cut off, {stored} stored, 0 lost, 0 orphaned")
    finally:
        engine.dispose()
    if db == "sqlite":
        with sqlite3.connect(url.removeprefix("sqlite:///")) as con:
            assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
