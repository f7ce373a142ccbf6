"""The job queue: runs execute in worker processes, results appear atomically, and a server
killed with SIGKILL in the middle of a run leaves no run stuck "running" and no result.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from critmin.api import accounts
from critmin.api.db import make_engine, migrate, session_factory, transaction, utcnow
from critmin.api.jobs import INTERRUPTED, JobQueue
from critmin.api.models import Run, RunResult, Scenario, ScenarioVersion, User
from critmin.api.settings import Settings
from critmin.api.worker import finish
from web.api import UserClient, add_user, running_app
from web.servers import create_user, postgres_or_none, sqlite_url, start_server

EXAMPLE = """\
name: ree-licensing
start: 2026Q2
horizon: 12
chains: [rare-earths]
blocs:
  china: [CHN]
  club: [trade-club]
shocks:
  - kind: licence_approval
    commodity: rare-earths
    stage: separated
    exporter: china
    start: 2026Q3
    value: 0.5
"""


def wait_for(client, run_id: str, states=("succeeded", "failed", "cancelled"),
             timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/api/runs/{run_id}").json()
        if run["status"] in states:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} still {run['status']} after {timeout}s")


def seed_run(factory, status: str = "running", runner: str | None = None,
             heartbeat_age: float = 0.0) -> str:
    """A run row in a given state (for the queue's bookkeeping tests)."""
    with transaction(factory) as db:
        org = accounts.get_or_create_org(db, "Lab")
        user = db.scalar(select(User).where(User.org_id == org.id))
        if user is None:
            user = accounts.create_user(db, f"u{time.monotonic_ns()}@lab.org",
                                        "correct horse battery", org, "analyst")
        scenario = Scenario(org_id=org.id, name="s", created_by=user.id, latest_version=1)
        db.add(scenario)
        db.flush()
        version = ScenarioVersion(scenario_id=scenario.id, version=1, body=EXAMPLE,
                                  content_type="yaml", scenario_hash="x", note="",
                                  created_by=user.id)
        db.add(version)
        db.flush()
        run = Run(org_id=org.id, created_by=user.id, scenario_version_id=version.id,
                  status=status, runner=runner, cancel_requested=False,
                  heartbeat_at=utcnow() - timedelta(seconds=heartbeat_age))
        db.add(run)
        db.flush()
        return run.id


@pytest.fixture
def factory(tmp_path):
    engine = make_engine(sqlite_url(tmp_path))
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


def test_recovery_fails_runs_of_dead_servers_only(factory):
    host = socket.gethostname()
    queue = JobQueue(Settings(db_url="sqlite://", stale_seconds=30), factory)
    dead_pid = 2 ** 22 + 17  # above the default pid_max: no such process
    dead = seed_run(factory, runner=f"{host}:{dead_pid}:abcd1234")
    alive = seed_run(factory, runner=f"{host}:{os.getppid()}:abcd1234")
    remote_stale = seed_run(factory, runner="elsewhere:1:abcd1234", heartbeat_age=120)
    remote_fresh = seed_run(factory, runner="elsewhere:1:abcd1234", heartbeat_age=1)
    queued = seed_run(factory, status="queued")
    assert queue.recover() == 2
    with factory() as db:
        state = {i: db.get(Run, i) for i in (dead, alive, remote_stale, remote_fresh, queued)}
    assert state[dead].status == state[remote_stale].status == "failed"
    assert state[dead].error == INTERRUPTED and state[dead].finished_at is not None
    assert state[alive].status == state[remote_fresh].status == "running"
    assert state[queued].status == "queued"


def test_a_result_is_written_only_with_the_status_flip(factory):
    run_id = seed_run(factory, runner="me:1:x")
    assert not finish(factory, run_id, "someone-else:2:y", payload={"a": 1})
    with transaction(factory) as db:  # given up meanwhile (e.g. by a restarted server)
        db.get(Run, run_id).status = "failed"
    assert not finish(factory, run_id, "me:1:x", payload={"a": 1})
    with factory() as db:
        assert db.get(Run, run_id).status == "failed"
        assert db.get(RunResult, run_id) is None
    other = seed_run(factory, runner="me:1:x")
    assert finish(factory, other, "me:1:x", payload={"a": 1}, data_edition="d",
                  scenario_hash="h")
    with factory() as db:
        assert db.get(Run, other).status == "succeeded"
        assert json.loads(db.get(RunResult, other).payload) == {"a": 1}


@pytest.fixture(scope="module")
def postgres():
    with postgres_or_none() as server:
        yield server


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def lab(request, tmp_path_factory, postgres):
    """An app with its job queue running (in-process) and two analysts, on each database:
    the workers reach the same database by URL."""
    if request.param == "postgresql":
        if postgres is None:
            pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
        url = postgres.create_database("runs")
    else:
        url = sqlite_url(tmp_path_factory.mktemp("runs"))
    with running_app(Settings(db_url=url, poll_seconds=0.2)) as app:
        add_user(app, "ann@a.gov", "Ministry A", "analyst", "USA")
        add_user(app, "bob@b.com", "Company B", "analyst", "JPN")
        yield app


def test_run_succeeds_in_a_worker_and_results_carry_provenance(lab):
    ann = UserClient(lab, "ann@a.gov")
    scenario = ann.post("/api/scenarios", json={"yaml": EXAMPLE}).json()
    started = ann.post("/api/runs", json={"scenario_id": scenario["id"]})
    assert started.status_code == 202 and started.json()["status"] == "queued"
    early = ann.get(f"/api/runs/{started.json()['id']}/results")
    assert early.status_code in (409, 200)
    run = wait_for(ann, started.json()["id"])
    assert run["status"] == "succeeded", run["error"]
    assert run["started_at"] <= run["finished_at"]
    results = ann.get(f"/api/runs/{run['id']}/results").json()
    import yaml

    from critmin.api.execute import payload
    from critmin.data import data_edition
    from critmin.engine import simulate
    from critmin.scenario.model import validate_scenario
    from critmin.world import build_world_for

    scenario = validate_scenario(yaml.safe_load(EXAMPLE))
    assert results["data_edition"] == data_edition()
    assert results["scenario_hash"] == scenario.hash()
    assert results["periods"][:2] == ["2026Q2", "2026Q3"] and len(results["periods"]) == 12
    assert results["blocs"] == ["china", "club", "rest"]
    # the worker's numbers are the simulator's, run here in-process with the same seed
    direct = payload(simulate(build_world_for(scenario), scenario, detail="bloc"))
    assert results["series"] == direct["series"] and results["summary"] == direct["summary"]
    # the licence cut starts in the second period: the first equals the baseline
    price = results["series"]["price"]["rare-earths/separated"]
    base = results["series"]["baseline_price"]["rare-earths/separated"]
    for bloc in results["blocs"]:
        assert price[bloc]["mean"][0] == base[bloc]["mean"][0]
        assert results["series"]["shortfall"]["rare-earths/magnet"][bloc]["mean"][0] == 0
    figures = ann.get(f"/api/runs/{run['id']}/figures").json()["figures"]
    names = [f["meta"]["name"] for f in figures]
    assert names == ["price:rare-earths/mine", "price:rare-earths/separated",
                     "price:rare-earths/magnet", "shortfall"]
    china = next(t for t in figures[1]["data"] if t["name"] == "china")
    assert china["y"] == price["china"]["mean"]
    assert UserClient(lab, "bob@b.com").get(f"/api/runs/{run['id']}/results").status_code == 404


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead too (reaped later by init)
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def test_sigkill_during_a_run_leaves_no_stuck_run_and_no_result(tmp_path):
    url = sqlite_url(tmp_path)
    create_user(url, "ann@a.gov", "Ministry A", "analyst", "USA")
    engine = make_engine(url)
    factory = session_factory(engine)
    with transaction(factory) as db:
        user = db.scalar(select(User).where(User.email == "ann@a.gov"))
        _, secret = accounts.create_api_key(db, user.id, "test")
    headers = {"Authorization": f"Bearer {secret}"}
    server = start_server(url, tmp_path / "serve-1.log")
    try:
        client = httpx.Client(base_url=server.base, headers=headers, timeout=30)
        scenario = client.post("/api/scenarios", json={"yaml": EXAMPLE}).json()
        run_id = client.post("/api/runs", json={"scenario_id": scenario["id"]}).json()["id"]
        deadline = time.monotonic() + 60
        pid = None
        while time.monotonic() < deadline and pid is None:
            with factory() as db:
                run = db.get(Run, run_id)
                pid = run.worker_pid if run.status == "running" else None
            time.sleep(0.05)
        assert pid is not None, "the run never started"
        os.kill(pid, signal.SIGSTOP)  # freeze the worker mid-run: it cannot finish now
        with factory() as db:
            assert db.get(Run, run_id).status == "running"
            assert db.get(RunResult, run_id) is None
        server.kill9()
    finally:
        server.stop()
    # the worker dies with its server (PR_SET_PDEATHSIG), even while stopped
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)
    with factory() as db:
        assert db.get(Run, run_id).status == "running"  # what a crash leaves behind
    restarted = start_server(url, tmp_path / "serve-2.log")
    try:
        client = httpx.Client(base_url=restarted.base, headers=headers, timeout=30)
        run = client.get(f"/api/runs/{run_id}").json()
        assert run["status"] == "failed" and run["error"] == INTERRUPTED
        results = client.get(f"/api/runs/{run_id}/results")
        assert results.status_code == 409 and "failed" in results.json()["error"]
        with factory() as db:
            assert db.get(RunResult, run_id) is None
            assert db.scalars(select(Run).where(Run.status == "running")).all() == []
        # the queue works again after the restart
        again = client.post("/api/runs", json={"scenario_id": scenario["id"]}).json()
        done = wait_for(client, again["id"])
        assert done["status"] == "succeeded", done["error"]
        assert client.get(f"/api/runs/{again['id']}/results").status_code == 200
    finally:
        restarted.stop()
        engine.dispose()


def test_cancel_a_running_run_keeps_no_result(lab):
    ann = UserClient(lab, "ann@a.gov")
    scenario = ann.post("/api/scenarios", json={"yaml": EXAMPLE}).json()
    run_id = ann.post("/api/runs", json={"scenario_id": scenario["id"]}).json()["id"]
    wait_for(ann, run_id, states=("running", "succeeded", "failed"))
    cancelled = ann.post(f"/api/runs/{run_id}/cancel")
    if cancelled.status_code == 409:  # it finished first: nothing to test this time
        pytest.skip("the run finished before it could be cancelled")
    run = wait_for(ann, run_id, states=("cancelled", "succeeded", "failed"))
    assert run["status"] == "cancelled"
    assert ann.get(f"/api/runs/{run_id}/results").status_code == 409
    with lab.state.sessions() as db:
        assert db.get(RunResult, run_id) is None


def test_an_overlay_changes_the_facts_its_run_sees_and_no_other_run(lab):
    from critmin.api.overlay import fingerprint, validate_rows
    from critmin.data import data_edition, facts

    ann, bob = UserClient(lab, "ann@a.gov"), UserClient(lab, "bob@b.com")
    curated = facts("rare-earths", stage="mine")
    year = int(curated.year.max())
    china = float(curated[(curated.iso3 == "CHN") & (curated.year == year)].value.iloc[0])
    row = {"commodity": "rare-earths", "stage": "mine", "iso3": "CHN", "year": year,
           "value": china / 2, "note": "own estimate"}
    overlay = ann.post("/api/overlays", json={"name": "half", "rows": [row]}).json()
    scenario = ann.post("/api/scenarios", json={"yaml": EXAMPLE}).json()
    ann.post(f"/api/scenarios/{scenario['id']}/shares", json={"organisation": "Company B"})
    with_overlay = ann.post("/api/runs", json={"scenario_id": scenario["id"],
                                               "overlay_id": overlay["id"]}).json()
    plain = bob.post("/api/runs", json={"scenario_id": scenario["id"]}).json()
    assert wait_for(ann, with_overlay["id"])["status"] == "succeeded"
    assert wait_for(bob, plain["id"])["status"] == "succeeded"
    seen = ann.get(f"/api/runs/{with_overlay['id']}/results").json()
    other = bob.get(f"/api/runs/{plain['id']}/results").json()
    assert seen["overlay"] == {"id": overlay["id"], "name": "half", "rows": 1}
    assert seen["data_edition"] == f"{data_edition()}; overlay {fingerprint(validate_rows([row]))}"
    assert other["data_edition"] == data_edition() and "overlay" not in other
    mine = "rare-earths/mine"
    assert seen["series"]["baseline_price"][mine] != other["series"]["baseline_price"][mine]
