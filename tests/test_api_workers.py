"""``critmin serve --workers N``: several server processes on one database stay correct.

* the processes answer a short mixed load with no error and store every created scenario
  exactly once (latency is measured by benchmarks/load.py, never asserted);
* they die with their parent, ``kill -9`` included (no orphan keeps the port or a run);
* queued runs are claimed by one process each, and the processes together never execute more
  runs than ``--runs`` (a DB-level conditional claim; on PostgreSQL behind an advisory lock);
* several processes recovering at once (all starting together) fail each interrupted run once
  and never overwrite a run that finished meanwhile;
* failed logins are counted across processes (5 attempts in all, not 5 per process).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from critmin.api import accounts
from critmin.api.app import create_app
from critmin.api.db import make_engine, migrate, session_factory, transaction, utcnow
from critmin.api.jobs import INTERRUPTED, JobQueue
from critmin.api.limits import LOGIN_ATTEMPTS
from critmin.api.models import Run, RunResult, Scenario, ScenarioVersion, User
from critmin.api.settings import Settings
from critmin.cli.serve import default_workers, in_memory
from web.api import add_user
from web.servers import PASSWORD, create_user, postgres_or_none, sqlite_url, start_server

LOAD = Path(__file__).resolve().parents[1] / "benchmarks" / "load.py"
EXAMPLE = (Path(__file__).resolve().parents[1] / "src" / "critmin" / "api" / "web"
           / "example-scenario.yaml").read_text()


def _load_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("critmin_load_workers", LOAD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def postgres():
    with postgres_or_none() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path, postgres) -> str:
    if request.param == "postgresql":
        if postgres is None:
            pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
        return postgres.create_database(f"w_{tmp_path.name[-12:].replace('-', '_')}")
    return sqlite_url(tmp_path)


def _children(pid: int) -> list[int]:
    """Server worker processes (multiprocessing spawn children) of ``pid``."""
    kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(k) for k in kids
            if b"spawn_main" in Path(f"/proc/{k}/cmdline").read_bytes()]


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(") ", 1)[1][0] != "Z"


def test_how_many_processes_serve():
    assert default_workers() == max(1, min(4, os.cpu_count() or 1))
    assert in_memory("sqlite://") and in_memory("sqlite:///:memory:")
    assert in_memory("sqlite:///file:x?mode=memory&uri=true")
    assert not in_memory("sqlite:////tmp/x.db")
    assert not in_memory("postgresql+psycopg://u@127.0.0.1:5432/db")


def test_two_processes_under_load_lose_and_duplicate_nothing(db_url, tmp_path):
    load = _load_module()
    cycle = sum(weight for _, _, weight in load.READS) + 1  # one write per cycle
    # bounded by requests, not time: a loaded machine slows it down, never changes what is sent
    result = load.run_against(db_url, tmp_path, clients=6, seconds=300, workers=2,
                              max_requests=2 * cycle)
    assert result["server_processes"] == 2
    assert result["errors"] == 0, result["first_errors"]
    assert result["requests"] == 6 * 2 * cycle
    stored = result["stored"]
    assert stored["created"] == 6 * 2  # two writes per client, each acknowledged
    assert stored["lost"] == stored["duplicated"] == stored["unreadable"] == 0
    assert stored["listed"] == stored["created"] + 1  # plus the seed scenario
    assert load.passed(result)


def test_server_processes_die_with_a_killed_parent(tmp_path, monkeypatch):
    monkeypatch.setenv("CRITMIN_SERVE_WORKERS", "2")
    server = start_server(sqlite_url(tmp_path), tmp_path / "serve.log")
    try:
        workers = _children(server.proc.pid)
        assert len(workers) == 2 and all(_alive(p) for p in workers)
        assert httpx.get(f"{server.base}/api/health", timeout=10).json()["status"] == "ok"
        server.kill9()
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(p) for p in workers)  # no orphan keeps answering
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{server.base}/api/health", timeout=2)
    finally:
        server.stop()


# --------------------------------------------------------------------------- the job queue


def _seed(factory, count: int, status: str = "queued", runner: str | None = None) -> list[str]:
    """``count`` runs of one scenario version in the given state."""
    with transaction(factory) as db:
        org = accounts.get_or_create_org(db, "Lab")
        user = db.scalar(select(User).where(User.org_id == org.id))
        if user is None:
            user = accounts.create_user(db, "u@lab.org", PASSWORD, org, "analyst")
        scenario = Scenario(org_id=org.id, name="s", created_by=user.id, latest_version=1)
        db.add(scenario)
        db.flush()
        version = ScenarioVersion(scenario_id=scenario.id, version=1, body=EXAMPLE,
                                  content_type="yaml", scenario_hash="x", note="",
                                  created_by=user.id)
        db.add(version)
        db.flush()
        runs = [Run(org_id=org.id, created_by=user.id, scenario_version_id=version.id,
                    status=status, runner=runner, cancel_requested=False,
                    heartbeat_at=utcnow() if runner else None) for _ in range(count)]
        db.add_all(runs)
        db.flush()
        return [r.id for r in runs]


class _Claimer(JobQueue):
    """A server process's queue whose claimed runs are recorded rather than simulated: what is
    under test is which process claims what, in the database."""

    def _spawn(self, run_id: str):  # type: ignore[no-untyped-def]
        return run_id


@pytest.fixture
def factory(db_url):
    engine = make_engine(db_url)
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


def _together(calls) -> list:  # type: ignore[no-untyped-def]
    """Run the callables at the same moment in threads; their return values."""
    out: list = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def go(i: int) -> None:
        start.wait()
        out[i] = calls[i]()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return out


def test_claims_of_several_processes_respect_the_servers_limit(db_url, factory):
    runs = _seed(factory, 6)
    settings = Settings(db_url=db_url, max_workers=2, server_id="aaaa0001")
    queues = [_Claimer(settings, factory) for _ in range(4)]  # four processes of one server
    for _round in range(3):
        _together([q._claim for q in queues])
    with factory() as db:
        running = db.execute(select(Run.id, Run.runner).where(Run.status == "running")).all()
        queued = db.scalar(select(func.count()).where(Run.status == "queued"))
    assert len(running) == 2 and queued == 4  # the server-wide limit, not 2 per process
    claimed = [run_id for q in queues for run_id in q.procs]
    assert sorted(claimed) == sorted(r for r, _ in running)  # each claimed by one process
    assert {runner for _, runner in running} <= {q.runner for q in queues}
    # another server on the same database has its own limit
    other = [_Claimer(Settings(db_url=db_url, max_workers=1, server_id="bbbb0002"), factory)
             for _ in range(2)]
    _together([q._claim for q in other])
    assert sum(len(q.procs) for q in other) == 1
    assert len(set(runs)) == 6


def test_recovery_by_processes_starting_together_fails_each_run_once(db_url, factory):
    host = socket.gethostname()
    dead = f"{host}:{2 ** 22 + 17}:dead0001.abcd1234"  # above pid_max: no such process
    interrupted = _seed(factory, 5, "running", dead)
    finished = _seed(factory, 1, "succeeded", dead)[0]
    settings = Settings(db_url=db_url, server_id="cccc0003")
    counts = _together([JobQueue(settings, factory).recover for _ in range(4)])
    assert sum(counts) == 5  # each interrupted run failed by exactly one process
    with factory() as db:
        states = {r.id: (r.status, r.error) for r in db.scalars(select(Run))}
    assert all(states[i] == ("failed", INTERRUPTED) for i in interrupted)
    assert states[finished] == ("succeeded", None)


def test_runs_on_a_two_process_server_execute_once_within_the_limit(tmp_path, monkeypatch):
    url = sqlite_url(tmp_path)
    create_user(url, "ann@a.gov", "Ministry A", "analyst", "USA")
    engine = make_engine(url)
    factory = session_factory(engine)
    with transaction(factory) as db:
        user = db.scalar(select(User).where(User.email == "ann@a.gov"))
        _, secret = accounts.create_api_key(db, user.id, "test")
    monkeypatch.setenv("CRITMIN_SERVE_WORKERS", "2")
    monkeypatch.setenv("CRITMIN_SERVE_RUNS", "1")
    server = start_server(url, tmp_path / "serve.log")
    try:
        client = httpx.Client(base_url=server.base, timeout=30,
                              headers={"Authorization": f"Bearer {secret}"})
        scenario = client.post("/api/scenarios", json={"yaml": EXAMPLE}).json()
        ids = [client.post("/api/runs", json={"scenario_id": scenario["id"]}).json()["id"]
               for _ in range(3)]
        most, deadline = 0, time.monotonic() + 240
        while time.monotonic() < deadline:
            with factory() as db:
                states = dict(db.execute(select(Run.id, Run.status)).all())
            most = max(most, sum(s == "running" for s in states.values()))
            if all(states[i] in ("succeeded", "failed", "cancelled") for i in ids):
                break
            time.sleep(0.05)
        assert [states[i] for i in ids] == ["succeeded"] * 3
        assert most == 1  # --runs 1 across both processes
        with factory() as db:
            assert db.scalar(select(func.count()).select_from(RunResult)) == 3
            runners = set(db.scalars(select(Run.runner)))
        assert all(r.split(":")[1] != str(server.proc.pid) for r in runners)  # the workers ran
        results = client.get(f"/api/runs/{ids[0]}/results").json()
        assert results["periods"][0] == "2026Q2"
    finally:
        server.stop()
        engine.dispose()


# --------------------------------------------------------------------------- login limit


def test_failed_logins_are_counted_across_processes(tmp_path):
    """Two apps on one database stand for two server processes."""
    url = sqlite_url(tmp_path)
    first = create_app(Settings(db_url=url, run_queue=False))
    second = create_app(Settings(db_url=url, run_queue=False))
    add_user(first, "bob@b.com", "Company B", "analyst", "JPN")
    clients = [TestClient(first), TestClient(second)]
    wrong = {"email": "bob@b.com", "password": "not the password"}
    answers = [clients[i % 2].post("/api/auth/login", json=wrong).status_code
               for i in range(LOGIN_ATTEMPTS + 2)]
    assert answers == [401] * LOGIN_ATTEMPTS + [429, 429]
    right = {"email": "bob@b.com", "password": PASSWORD}
    assert [c.post("/api/auth/login", json=right).status_code for c in clients] == [429, 429]
    with transaction(first.state.sessions) as db:  # only hashes are stored
        from critmin.api.models import LoginFailure

        stored = db.scalars(select(LoginFailure.key_hash)).all()
    assert len(stored) == LOGIN_ATTEMPTS and not any("bob" in h for h in stored)
    first.state.engine.dispose()
    second.state.engine.dispose()


def test_a_login_after_the_window_clears_the_count(tmp_path):
    from critmin.api.limits import SharedLoginLimiter

    engine = make_engine(sqlite_url(tmp_path))
    migrate(engine)
    limiter = SharedLoginLimiter(session_factory(engine), attempts=3, window=0.3)
    for _ in range(3):
        assert limiter.retry_after("10.0.0.1", "a@b.c") == 0
        limiter.failed("10.0.0.1", "a@b.c")
    assert 0 < limiter.retry_after("10.0.0.1", " A@b.c") <= 0.3  # same e-mail, any case
    assert limiter.retry_after("10.0.0.2", "a@b.c") == 0  # per address
    time.sleep(0.35)
    assert limiter.retry_after("10.0.0.1", "a@b.c") == 0
    limiter.failed("10.0.0.1", "a@b.c")  # also forgets the failures past the window
    limiter.succeeded("10.0.0.1", "a@b.c")
    with session_factory(engine)() as db:
        from critmin.api.models import LoginFailure

        assert db.scalar(select(func.count()).select_from(LoginFailure)) == 0
    engine.dispose()


def test_sigterm_to_the_parent_stops_every_process_gracefully(tmp_path, monkeypatch):
    monkeypatch.setenv("CRITMIN_SERVE_WORKERS", "2")
    server = start_server(sqlite_url(tmp_path), tmp_path / "serve.log")
    workers = _children(server.proc.pid)
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=30) == 0
    assert not any(_alive(p) for p in workers)
    log = (tmp_path / "serve.log").read_text()
    assert log.count("Application shutdown complete") == 2  # each process ran its shutdown
