"""Read-only answers computed once per data edition, and list endpoints without a query per row.

* the risk table, catalog, facts and figures are computed once per (data edition, parameters),
  the same bytes as a direct computation, and computed again when the curated data change
  (a rebuilt dataset in another folder, with the numbers the new data give);
* concurrent first requests for one answer start one computation (single flight);
* facts seen through an overlay follow the overlay's rows as soon as they change;
* errors are never stored; the store is bounded in bytes;
* listing scenarios, overlays and runs costs the same number of SQL statements for 1 or 25.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from critmin.api import accounts
from critmin.api.app import create_app
from critmin.api.cache import ReadCache, render
from critmin.api.db import transaction
from critmin.api.models import User
from critmin.api.settings import Settings
from critmin.cli._output import records
from critmin.data import store
from web.api import add_user
from web.servers import sqlite_url

EXAMPLE = (Path(__file__).resolve().parents[1] / "src" / "critmin" / "api" / "web"
           / "example-scenario.yaml").read_text()


@pytest.fixture
def app(tmp_path):
    application = create_app(Settings(db_url=sqlite_url(tmp_path), run_queue=False))
    add_user(application, "ann@a.gov", "Ministry A", "analyst", "USA")
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app):
    with transaction(app.state.sessions) as db:
        user = db.scalar(select(User).where(User.email == "ann@a.gov"))
        _, secret = accounts.create_api_key(db, user.id, "test")
    return TestClient(app, headers={"Authorization": f"Bearer {secret}"})


def test_risk_table_is_computed_once_and_matches_a_direct_computation(app, client):
    from critmin.metrics import risk_table

    first = client.get("/api/metrics/risk?commodity=gallium")
    second = client.get("/api/metrics/risk?commodity=gallium")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert first.headers["content-type"] == "application/json"
    assert first.headers["cache-control"] == "no-store"  # security headers still set
    cache = app.state.read_cache
    assert cache.computed["risk"] == 1 and cache.hits >= 1
    direct = risk_table("gallium", missing_wgi="exclude")  # every year: a commodity was named
    rows = first.json()["rows"]
    assert rows == json.loads(render(records(direct)))
    (row,) = [r for r in rows if r["stage"] == "primary" and r["year"] == 2025]
    # MCS 2026, gallium primary 2025: China 900 t of a 900 t world total
    assert (row["year"], row["top1"], row["total"], row["country_share"]) == (2025, "CHN",
                                                                              900.0, 1.0)
    # other parameters are other answers
    client.get("/api/metrics/risk?commodity=gallium&country=USA")
    assert cache.computed["risk"] == 2


def test_each_read_only_endpoint_is_stored_after_its_first_answer(app, client):
    paths = {"catalog": "/api/datasets", "commodities": "/api/datasets/commodities",
             "facts": "/api/datasets/facts?commodity=rare-earths&stage=mine",
             "show": "/api/datasets/show?commodity=cobalt", "sources": "/api/datasets/sources",
             "countries": "/api/datasets/countries", "groups": "/api/datasets/groups",
             "group": "/api/datasets/groups/trade-club",
             "map": "/api/figures/map?commodity=cobalt",
             "sankey": "/api/figures/sankey?commodity=rare-earths"}
    for name, path in paths.items():
        answers = [client.get(path) for _ in range(3)]
        assert {a.status_code for a in answers} == {200}, (path, answers[0].text)
        assert answers[0].content == answers[2].content
        assert app.state.read_cache.computed[name] == 1, name
    catalog = client.get("/api/datasets").json()
    assert catalog["data_edition"] == store.data_edition()
    facts = client.get(paths["facts"]).json()
    assert facts == json.loads(render(records(store.facts("rare-earths", "mine"))))


def test_errors_are_answered_but_never_stored(app, client):
    for _ in range(2):
        answer = client.get("/api/metrics/risk?commodity=unobtainium")
        assert answer.status_code == 404 and "unobtainium" in answer.json()["error"]
    assert "risk" not in app.state.read_cache.computed
    assert app.state.read_cache.size == 0


def test_a_new_data_edition_is_a_new_answer(app, client, tmp_path, monkeypatch):
    """A dataset rebuilt elsewhere (other folder, other manifest) is never answered from the
    old edition's store: China's gallium output halved gives China half the world total."""
    path = "/api/metrics/risk?commodity=gallium&year=2025"
    before = client.get(path).json()["rows"][0]
    assert before["country_share"] == 1.0
    copy = tmp_path / "curated"
    shutil.copytree(store.data_dir(), copy)
    facts = pd.read_parquet(copy / "facts.parquet")
    china = ((facts.commodity == "gallium") & (facts.iso3 == "CHN") & (facts.year == 2025)
             & (facts.statistic == "production"))
    assert china.sum() >= 1
    facts.loc[china, "value"] = facts.loc[china, "value"] / 2
    facts.to_parquet(copy / "facts.parquet", index=False)
    manifest = json.loads((copy / store.MANIFEST).read_text())
    manifest["data_edition"] += "; test copy"
    (copy / store.MANIFEST).write_text(json.dumps(manifest))
    monkeypatch.setenv("CRITMIN_DATA_DIR", str(copy))
    after = client.get(path).json()["rows"][0]
    assert app.state.read_cache.computed["risk"] == 2
    assert after["total"] == 900.0 and after["country_share"] == pytest.approx(0.5)
    assert client.get("/api/datasets").json()["data_edition"].endswith("; test copy")
    # rebuilt in place: a new manifest in the same folder is noticed too
    manifest["data_edition"] += " again"
    time.sleep(0.01)  # a later modification time
    (copy / store.MANIFEST).write_text(json.dumps(manifest))
    assert client.get("/api/datasets").json()["data_edition"].endswith("; test copy again")
    monkeypatch.delenv("CRITMIN_DATA_DIR")
    assert client.get(path).json()["rows"][0] == before


def test_facts_through_an_overlay_follow_its_rows(client):
    row = {"commodity": "gallium", "stage": "primary", "iso3": "CHN", "year": 2025,
           "value": 450.0}
    overlay = client.post("/api/overlays", json={"name": "ours", "rows": [row]}).json()
    path = f"/api/datasets/facts?commodity=gallium&year=2025&overlay={overlay['id']}"

    def china() -> float:
        (fact,) = [f for f in client.get(path).json() if f["iso3"] == "CHN"]
        return float(fact["value"])

    assert china() == 450.0 and china() == 450.0
    replaced = client.put(f"/api/overlays/{overlay['id']}/rows",
                          json={"rows": [{**row, "value": 300.0}]})
    assert replaced.status_code == 200
    assert china() == 300.0  # not the stored answer of the old rows
    plain = client.get("/api/datasets/facts?commodity=gallium&year=2025").json()
    assert [f["value"] for f in plain if f["iso3"] == "CHN"] == [900.0]


def test_concurrent_first_requests_compute_once():
    cache = ReadCache()
    calls: list[int] = []
    gate = threading.Event()

    def build() -> dict[str, int]:
        calls.append(1)
        gate.wait(5)  # every other thread arrives while this computation runs
        return {"answer": 42}

    bodies: list[bytes] = []
    threads = [threading.Thread(target=lambda: bodies.append(cache.body("x", (), build)))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    gate.set()
    for thread in threads:
        thread.join(10)
    assert len(calls) == 1 and cache.computed == {"x": 1}
    assert bodies == [b'{"answer":42}'] * 8
    assert cache.body("y", (), lambda: [1.5, float("nan")]) == b"[1.5,null]"
    assert cache.computed == {"x": 1, "y": 1}


def test_the_store_is_bounded_and_forgets_the_oldest_first():
    cache = ReadCache(max_bytes=400)
    for i in range(10):
        cache.body("n", i, lambda i=i: "x" * 90 + str(i))  # ~93 bytes each
    assert cache.size <= 400
    assert cache.computed["n"] == 10
    cache.body("n", 9, lambda: "recomputed")  # the newest is still there
    assert cache.computed["n"] == 10
    cache.body("n", 0, lambda: "recomputed")  # the oldest was forgotten
    assert cache.computed["n"] == 11
    cache.body("big", 0, lambda: "y" * 200)  # over a quarter of the store: answered, not kept
    cache.body("big", 0, lambda: "y" * 200)
    assert cache.computed["big"] == 2


def _statements(app, client, path: str) -> tuple[int, int]:
    """(SQL statements, items) of one GET."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    engine = app.state.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        answer = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert answer.status_code == 200, answer.text
    return len(seen), len(answer.json())


def test_lists_cost_the_same_statements_for_1_or_25_items(app, client):
    scenario = client.post("/api/scenarios", json={"yaml": EXAMPLE}).json()
    client.post("/api/overlays", json={"name": "o0", "rows": []})
    client.post("/api/runs", json={"scenario_id": scenario["id"]})
    client.get("/api/scenarios")  # the key's last use is recorded at most once a minute
    few = {path: _statements(app, client, path)
           for path in ("/api/scenarios", "/api/overlays", "/api/runs")}
    for i in range(24):
        made = client.post("/api/scenarios", json={"yaml": EXAMPLE, "name": f"s{i}"}).json()
        client.post("/api/overlays", json={"name": f"o{i + 1}", "rows": [
            {"commodity": "gallium", "stage": "primary", "iso3": "CHN", "year": 2025,
             "value": float(i)}]})
        client.post("/api/runs", json={"scenario_id": made["id"]})
    for path, (statements, items) in few.items():
        more, listed = _statements(app, client, path)
        assert (items, listed) == (1, 25), path
        assert more == statements, path  # no query per row
    listed = client.get("/api/scenarios").json()
    assert {s["created_by"] for s in listed} == {"ann@a.gov"}
    assert {s["organisation"] for s in listed} == {"Ministry A"}
    overlays = client.get("/api/overlays").json()
    assert sorted(o["row_count"] for o in overlays) == [0] + [1] * 24
    runs = client.get("/api/runs").json()
    assert {r["scenario"]["version"] for r in runs} == {1}
    assert {r["created_by"] for r in runs} == {"ann@a.gov"}
