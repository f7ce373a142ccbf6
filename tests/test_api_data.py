"""Datasets, metrics, parameters, figures and the dashboard's static files over HTTP.

Numbers are checked against the raw USGS file (MCS 2026 data release) and against the library
functions the endpoints wrap, so the API adds no numbers of its own.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from critmin.api.app import create_app
from critmin.api.settings import Settings
from web.api import UserClient, add_user
from web.servers import sqlite_url

MCS2026 = "usgs_mcs/mcs2026/MCS2026_Commodities_Data.csv"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    application = create_app(Settings(db_url=sqlite_url(tmp_path_factory.mktemp("data")),
                                      run_queue=False))
    add_user(application, "viewer@a.gov", "Ministry A", "viewer", "USA")
    yield application
    application.state.engine.dispose()


@pytest.fixture(scope="module")
def viewer(app):
    return UserClient(app, "viewer@a.gov")


def raw_row(raw_root: Path, line: int) -> dict[str, str]:
    """Row ``line`` (1-based, header = 1) of the MCS 2026 data release."""
    with open(raw_root / MCS2026, encoding="cp1252", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return rows[line - 2]


def test_health_and_openapi_are_public(app):
    client = TestClient(app)
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["data_edition"].startswith("USGS MCS 2026")
    spec = client.get("/openapi.json").json()
    for path in ("/api/datasets", "/api/datasets/facts", "/api/metrics/risk", "/api/params",
                 "/api/scenarios", "/api/scenarios/{ident}/versions", "/api/runs",
                 "/api/runs/{ident}/results", "/api/runs/{ident}/cancel", "/api/overlays",
                 "/api/scenarios/{ident}/shares", "/api/keys", "/api/auth/login"):
        assert path in spec["paths"], path
    create = spec["paths"]["/api/scenarios"]["post"]["requestBody"]["content"]
    assert set(create) == {"application/json", "application/yaml"}


def test_show_gives_the_raw_file_figures_and_shares(viewer, raw_root):
    rows = viewer.get("/api/datasets/show", params={"commodity": "Rare Earths",
                                                    "stage": "mine", "year": 2025}).json()
    by_iso = {r["iso3"]: r for r in rows}
    assert by_iso["CHN"]["value"] == 270000.0 and by_iso["WLD"]["value"] == 390000.0
    assert by_iso["CHN"]["share"] == pytest.approx(270000 / 390000, rel=1e-12)
    facts = viewer.get("/api/datasets/facts", params={"commodity": "rare-earths",
                                                      "stage": "mine", "year": 2025}).json()
    china = next(r for r in facts if r["iso3"] == "CHN")
    source = raw_row(raw_root, china["raw_line"])
    assert (source["Country"], source["Year"], source["Value"]) == ("China", "2025", "270,000")
    assert china["flag"] == "estimated" and china["edition"] == 2026


def test_catalog_sources_groups(viewer):
    from critmin.data import group_members, manifest

    catalog = viewer.get("/api/datasets").json()
    assert catalog["data_edition"] == manifest()["data_edition"]
    facts_table = next(t for t in catalog["tables"] if t["name"] == "facts")
    assert facts_table["rows"] == manifest()["counts"]["facts"]
    assert "value" in facts_table["columns"]
    cobalt = next(c for c in viewer.get("/api/datasets/commodities").json()
                  if c["commodity"] == "copper")
    assert cobalt["stages"] == ["mine", "refinery"]
    club = viewer.get("/api/datasets/groups/trade-club", params={"on": "2026-03-01"}).json()
    assert club["members"] == group_members("trade-club", "2026-03-01")
    assert {"USA", "JPN"} <= set(club["members"])
    assert viewer.get("/api/datasets/groups/trade-clu").status_code == 404


def test_risk_table_is_the_library_table(viewer):
    from critmin.metrics import risk_table

    body = viewer.get("/api/metrics/risk", params={"commodity": "rare-earths", "year": 2025,
                                                   "method": "hhi"}).json()
    expected = risk_table("rare-earths", year=2025, method="hhi", missing_wgi="exclude")
    rows = {(r["stage"], r["year"]): r for r in body["rows"]}
    for row in expected.itertuples():
        got = rows[(row.stage, row.year)]
        assert got["hhi"] == pytest.approx(row.hhi, rel=1e-12)
        assert got["country_share"] == pytest.approx(row.country_share, rel=1e-12)
    mine = rows[("mine", 2025)]
    assert mine["top1"] == "CHN" and mine["top1_share"] == pytest.approx(270000 / 390000)
    bad = viewer.get("/api/metrics/risk", params={"method": "nope"})
    assert bad.status_code == 422 and bad.json()["error"].startswith("query.method")


def test_params_rows_carry_value_range_and_source(viewer):
    from critmin.params import load_registry

    registry = load_registry()
    body = viewer.get("/api/params", params={"parameter": "supply_elasticity"}).json()
    assert body["version"] == registry.version
    expected = registry.table[registry.table.parameter == "supply_elasticity"]
    assert len(body["rows"]) == len(expected)
    for row in body["rows"]:
        assert row["low"] <= row["value"] <= row["high"] and row["source"]
    unknown = viewer.get("/api/params", params={"parameter": "elasticity"})
    assert unknown.status_code == 404 and "unknown parameter" in unknown.json()["error"]


def test_map_figure_holds_the_shares_in_percent(viewer):
    figure = viewer.get("/api/figures/map", params={"commodity": "rare-earths",
                                                    "stage": "mine", "year": 2025}).json()
    trace = figure["data"][0]
    assert trace["type"] == "choropleth" and trace["locationmode"] == "ISO-3"
    z = dict(zip(trace["locations"], trace["z"], strict=True))
    assert z["CHN"] == pytest.approx(round(100 * 270000 / 390000, 2))
    assert "WLD" not in z and "OTH" not in z
    assert figure["meta"] == {"commodity": "rare-earths", "stage": "mine", "year": 2025,
                              "countries": len(z), "unit": "t"}


def test_sankey_links_carry_the_stage_totals(viewer):
    from critmin.data.store import show

    figure = viewer.get("/api/figures/sankey", params={"commodity": "copper", "year": 2024}
                        ).json()
    trace = figure["data"][0]
    labels = trace["node"]["label"]
    link = trace["link"]
    into = {}
    for s, t, v in zip(link["source"], link["target"], link["value"], strict=True):
        into.setdefault(labels[t], 0.0)
        into[labels[t]] += v
        assert labels[s] != labels[t]
    for stage in ("mine", "refinery"):
        table = show("copper", stage, 2024)
        countries = table[~table.iso3.isin(["WLD", "OTH", "MUL", "XEU"])].value.clip(lower=0)
        other = table.loc[table.iso3 == "OTH", "value"].fillna(0).sum()
        assert into[f"{stage}: world output"] == pytest.approx(countries.sum() + other)
    use = figure["meta"]["us_use"]
    assert into["use: United States (apparent consumption)"] == use
    assert use + into["use: rest of world (by difference)"] == pytest.approx(
        into["refinery: world output"])


def test_dashboard_serves_plotly_and_map_geometry_itself(app):
    import plotly

    client = TestClient(app)
    page = client.get("/")
    assert page.status_code == 200 and "critmin" in page.text
    assert "cdn" not in page.text.lower()
    assert "default-src 'self'" in page.headers["content-security-policy"]
    js = client.get("/static/plotly.min.js")
    shipped = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert hashlib.sha256(js.content).digest() == hashlib.sha256(shipped.read_bytes()).digest()
    geo = client.get("/static/geo/world_110m.json").json()
    ids = {g.get("id") for g in geo["objects"]["countries"]["geometries"]}
    assert {"CHN", "USA", "AUS", "COD"} <= ids
    assert client.get("/static/geo/../app.py").status_code == 404
    app_js = client.get("/static/app.js").text
    assert "topojsonURL" in app_js and "/static/geo/" in app_js
