"""Accounts and access control of the API, against SQLite and a real PostgreSQL server.

Three organisations: Ministry A (USA, a trade-club member), Company B (JPN, a member) and
Agency C (DEU, not a member). What one must not know exists is answered 404, exactly as an
id that exists nowhere.
"""

from __future__ import annotations

import hashlib
import secrets

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from critmin.api.app import create_app
from critmin.api.models import ApiKey, User
from critmin.api.settings import Settings
from web.api import UserClient, add_user
from web.servers import PASSWORD, postgres_or_none, sqlite_url

SCENARIO = """\
name: ree-cut
description: test document
start: 2026Q1
horizon: 8
chains: [rare-earths]
blocs:
  china: [CHN]
shocks:
  - kind: licence_approval
    commodity: rare-earths
    stage: separated
    exporter: china
    start: 2026Q2
    value: 0.5
"""


@pytest.fixture(scope="module")
def postgres():
    with postgres_or_none() as server:
        yield server


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def app(request, tmp_path_factory, postgres):
    if request.param == "postgresql":
        if postgres is None:
            pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
        url = postgres.create_database("access")
    else:
        url = sqlite_url(tmp_path_factory.mktemp("access"))
    application = create_app(Settings(db_url=url, run_queue=False))
    add_user(application, "alice@a.gov", "Ministry A", "admin", "USA")
    add_user(application, "ann@a.gov", "Ministry A", "analyst")
    add_user(application, "vic@a.gov", "Ministry A", "viewer")
    add_user(application, "bob@b.com", "Company B", "analyst", "JPN")
    add_user(application, "carol@c.de", "Agency C", "analyst", "DEU")
    yield application
    application.state.engine.dispose()


@pytest.fixture(scope="module")
def users(app):
    return {name: UserClient(app, email) for name, email in
            [("alice", "alice@a.gov"), ("ann", "ann@a.gov"), ("vic", "vic@a.gov"),
             ("bob", "bob@b.com"), ("carol", "carol@c.de")]}


def new_scenario(client: UserClient, name: str = "ree-cut") -> str:
    response = client.post("/api/scenarios", json={"name": name, "yaml": SCENARIO})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_login_cookies_are_httponly_samesite_and_writes_need_the_csrf_token(app):
    client = TestClient(app)
    response = client.post("/api/auth/login", json={"email": "ann@a.gov", "password": PASSWORD})
    assert response.status_code == 200
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("critmin_session="))
    csrf_cookie = next(c for c in cookies if c.startswith("critmin_csrf="))
    assert "HttpOnly" in session and "samesite=strict" in session.lower()
    assert "HttpOnly" not in csrf_cookie  # the page must read it to echo it
    csrf = response.json()["csrf_token"]
    assert client.get("/api/me").json()["email"] == "ann@a.gov"
    body = {"name": "k"}
    no_header = client.post("/api/keys", json=body)
    assert no_header.status_code == 403
    assert "X-CSRF-Token" in no_header.json()["error"]
    wrong = client.post("/api/keys", json=body, headers={"X-CSRF-Token": "x" * 43})
    assert wrong.status_code == 403
    assert client.post("/api/keys", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
    # logging out ends the session for the old cookie too
    old = client.cookies.get("critmin_session")
    assert client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    replay = TestClient(app, cookies={"critmin_session": old})
    assert replay.get("/api/me").status_code == 401


def test_bad_password_and_unknown_email_get_the_same_answer(app):
    client = TestClient(app)
    bad = client.post("/api/auth/login", json={"email": "ann@a.gov", "password": "nope" * 4})
    unknown = client.post("/api/auth/login", json={"email": "x@y.org", "password": "nope" * 4})
    assert bad.status_code == unknown.status_code == 401
    assert bad.json() == unknown.json() == {"error": "e-mail or password not recognised"}
    assert TestClient(app).get("/api/scenarios").status_code == 401


def test_passwords_are_argon2id_hashes(app):
    with app.state.sessions() as db:
        stored = db.scalar(select(User.password_hash).where(User.email == "ann@a.gov"))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_api_key_is_stored_hashed_and_revocation_is_immediate(app, users):
    created = users["ann"].post("/api/keys", json={"name": "script"})
    assert created.status_code == 201
    secret, key_id = created.json()["key"], created.json()["id"]
    with app.state.sessions() as db:
        row = db.get(ApiKey, key_id)
        assert row.key_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in (row.prefix, row.key_hash, row.name)
    script = TestClient(app, headers={"Authorization": f"Bearer {secret}"})
    me = script.get("/api/me").json()
    assert me["email"] == "ann@a.gov" and me["authenticated_by"] == "key"
    # a key needs no CSRF token (no cookie is involved)
    assert script.post("/api/scenarios", json={"name": "by-key", "yaml": SCENARIO}
                       ).status_code == 201
    listed = {k["id"]: k for k in users["ann"].get("/api/keys").json()}
    assert listed[key_id]["last_used_at"] is not None and "key" not in listed[key_id]
    assert users["ann"].delete(f"/api/keys/{key_id}").json()["revoked_at"] is not None
    after = script.get("/api/me")
    assert after.status_code == 401 and "revoked" in after.json()["error"]
    assert TestClient(app, headers={"X-API-Key": secret}).get("/api/me").status_code == 401
    # another user cannot revoke (or learn about) ann's keys
    other = users["ann"].post("/api/keys", json={"name": "second"}).json()["id"]
    assert users["bob"].delete(f"/api/keys/{other}").status_code == 404


def test_private_scenario_is_invisible_to_other_organisations(users):
    ident = new_scenario(users["ann"])
    bob, random_id = users["bob"], secrets.token_hex(16)
    assert ident not in [s["id"] for s in bob.get("/api/scenarios").json()]
    for path in ("", "/versions", "/versions/1", "/shares"):
        foreign = bob.get(f"/api/scenarios/{ident}{path}")
        missing = bob.get(f"/api/scenarios/{random_id}{path}")
        assert foreign.status_code == missing.status_code == 404
        assert foreign.json()["error"].replace(ident, "ID") == missing.json()["error"].replace(
            random_id, "ID")
    assert bob.post("/api/runs", json={"scenario_id": ident}).status_code == 404
    assert bob.post(f"/api/scenarios/{ident}/versions", json={"yaml": SCENARIO}
                    ).status_code == 404
    assert bob.post(f"/api/scenarios/{ident}/shares", json={"organisation": "Company B"}
                    ).status_code == 404
    # the owner's colleagues see it
    assert users["vic"].get(f"/api/scenarios/{ident}").json()["owned"] is True


def test_share_with_a_named_organisation_and_withdraw_it(users):
    ann, bob, carol = users["ann"], users["bob"], users["carol"]
    ident = new_scenario(ann, "shared-with-b")
    shares = ann.post(f"/api/scenarios/{ident}/shares", json={"organisation": "Company B"})
    assert shares.status_code == 201
    assert [s["organisation"] for s in shares.json()] == ["Company B"]
    seen = bob.get(f"/api/scenarios/{ident}").json()
    assert seen["owned"] is False and seen["organisation"] == "Ministry A"
    assert seen["latest"]["document"]["horizon"] == 8
    assert carol.get(f"/api/scenarios/{ident}").status_code == 404
    # bob may run it; the run is Company B's, invisible to Ministry A
    run = bob.post("/api/runs", json={"scenario_id": ident})
    assert run.status_code == 202 and run.json()["status"] == "queued"
    run_id = run.json()["id"]
    assert bob.get(f"/api/runs/{run_id}").status_code == 200
    for client in (ann, carol):
        assert client.get(f"/api/runs/{run_id}").status_code == 404
        assert client.get(f"/api/runs/{run_id}/results").status_code == 404
        assert client.post(f"/api/runs/{run_id}/cancel").status_code == 404
        assert run_id not in [r["id"] for r in client.get("/api/runs").json()]
    # shared is not owned: no new versions, no re-sharing, no view of the share list
    changed = bob.post(f"/api/scenarios/{ident}/versions", json={"yaml": SCENARIO})
    assert changed.status_code == 403 and "only its owners" in changed.json()["error"]
    assert bob.get(f"/api/scenarios/{ident}/shares").status_code == 403
    share_id = shares.json()[0]["id"]
    assert ann.delete(f"/api/scenarios/{ident}/shares/{share_id}").json() == []
    assert bob.get(f"/api/scenarios/{ident}").status_code == 404
    # bob can cancel his own queued run
    cancelled = bob.post(f"/api/runs/{run_id}/cancel").json()
    assert cancelled["status"] == "cancelled"
    assert bob.post(f"/api/runs/{run_id}/cancel").status_code == 409


def test_share_with_the_trade_club_reaches_member_countries_only(users):
    ann = users["ann"]
    ident = new_scenario(ann, "club")
    unknown = ann.post(f"/api/scenarios/{ident}/shares", json={"group": "trade-clu"})
    assert unknown.status_code == 404 and "'trade-club'" in unknown.json()["error"]
    both = ann.post(f"/api/scenarios/{ident}/shares",
                    json={"group": "trade-club", "organisation": "Company B"})
    assert both.status_code == 422 and "exactly one" in both.json()["error"]
    assert ann.post(f"/api/scenarios/{ident}/shares", json={"group": "trade-club"}
                    ).status_code == 201
    assert users["bob"].get(f"/api/scenarios/{ident}").status_code == 200  # Japan: member
    assert users["carol"].get(f"/api/scenarios/{ident}").status_code == 404  # Germany: not
    assert ident in [s["id"] for s in users["bob"].get("/api/scenarios").json()]
    assert ident not in [s["id"] for s in users["carol"].get("/api/scenarios").json()]


def test_roles_viewer_reads_analyst_writes_admin_manages_users(users):
    vic, ann, alice = users["vic"], users["ann"], users["alice"]
    denied = vic.post("/api/scenarios", json={"name": "v", "yaml": SCENARIO})
    assert denied.status_code == 403 and "analyst" in denied.json()["error"]
    assert vic.get("/api/scenarios").status_code == 200
    own = new_scenario(ann, "for-viewer")
    assert vic.get(f"/api/scenarios/{own}").status_code == 200
    assert vic.post("/api/runs", json={"scenario_id": own}).status_code == 403
    assert ann.get("/api/users").status_code == 403
    created = alice.post("/api/users", json={"email": "new@a.gov", "password": PASSWORD,
                                             "role": "viewer"})
    assert created.status_code == 201 and created.json()["organisation"] == "Ministry A"
    emails = [u["email"] for u in alice.get("/api/users").json()]
    assert "new@a.gov" in emails and "bob@b.com" not in emails
    bad_role = alice.post("/api/users", json={"email": "x@a.gov", "password": PASSWORD,
                                              "role": "owner"})
    assert bad_role.status_code == 422 and "viewer, analyst, admin" in bad_role.json()["error"]
    short = alice.post("/api/users", json={"email": "y@a.gov", "password": "short"})
    assert short.status_code == 422 and "at least 10" in short.json()["error"]


def test_versions_count_up_and_keep_the_text(users):
    ann = users["ann"]
    ident = new_scenario(ann, "versions")
    second = ann.post(f"/api/scenarios/{ident}/versions",
                      content=SCENARIO.replace("value: 0.5", "value: 0.25") + "# tweaked\n",
                      headers={"content-type": "application/yaml"})
    assert second.status_code == 201 and second.json()["version"] == 2
    assert [v["version"] for v in ann.get(f"/api/scenarios/{ident}/versions").json()] == [1, 2]
    first = ann.get(f"/api/scenarios/{ident}/versions/1").json()
    assert first["body"] == SCENARIO and first["document"]["shocks"][0]["value"] == 0.5
    latest = ann.get(f"/api/scenarios/{ident}").json()
    assert latest["latest_version"] == 2 and latest["latest"]["body"].endswith("# tweaked\n")
    assert first["scenario_hash"] != latest["latest"]["scenario_hash"]
    assert ann.get(f"/api/scenarios/{ident}/versions/9").status_code == 404


def test_bad_documents_get_the_line_to_fix(users):
    ann = users["ann"]
    broken = ann.post("/api/scenarios/validate", content="name: x\nshocks: [1, 2\n",
                      headers={"content-type": "application/yaml"})
    assert broken.status_code == 422
    assert broken.json()["error"].startswith("scenario:3: YAML syntax error")
    duplicate = ann.post("/api/scenarios", json={"name": "d", "yaml": "a: 1\nb: 2\na: 3\n"})
    assert duplicate.status_code == 422
    assert duplicate.json()["error"] == "scenario:3: field 'a': duplicate key (first given at " \
                                        "line 1)"
    out_of_range = ann.post("/api/scenarios/validate", json={
        "yaml": SCENARIO.replace("value: 0.5", "value: 1.5")})
    assert out_of_range.status_code == 422
    assert out_of_range.json()["error"] == (
        "scenario:14: field 'shocks[0].value': 1.5 is out of range; allowed: <= 1")
    bad_bloc = ann.post("/api/scenarios/validate", json={"document": {
        **yaml.safe_load(SCENARIO), "shocks": [{**yaml.safe_load(SCENARIO)["shocks"][0],
                                                "exporter": "russia"}]}})
    assert bad_bloc.status_code == 422
    assert "field 'shocks[0].exporter': unknown bloc 'russia'; allowed: china, rest" in \
        bad_bloc.json()["error"]
    good = ann.post("/api/scenarios/validate", content=SCENARIO,
                    headers={"content-type": "application/yaml"}).json()
    assert good["valid"] is True and good["model"] == "Scenario"
    from critmin.scenario.model import validate_scenario

    assert good["scenario_hash"] == validate_scenario(yaml.safe_load(SCENARIO)).hash()
    assert ann.post("/api/scenarios", json={"name": "x"}).status_code == 422
    assert ann.post("/api/scenarios", content="x", headers={"content-type": "text/csv"}
                    ).status_code == 415


def test_overlay_is_private_validated_and_applied_to_the_facts_of_its_owner(users):
    from critmin.data import facts

    ann, bob = users["ann"], users["bob"]
    curated = facts("cobalt", stage="mine", year=2024)
    usa = curated[curated.iso3 == "USA"]
    row = {"commodity": "Cobalt", "stage": "mine", "iso3": "usa", "year": 2024,
           "value": 1234.5, "note": "own figure"}
    stock = {"commodity": "cobalt", "stage": "mine", "iso3": "USA", "year": 2024,
             "statistic": "stockpile", "value": 333.0}
    created = ann.post("/api/overlays", json={"name": "own", "rows": [row, stock]})
    assert created.status_code == 201
    ident = created.json()["id"]
    assert created.json()["rows"][0]["commodity"] == "cobalt"  # the name resolved to its slug
    mine = ann.get("/api/datasets/facts", params={"commodity": "cobalt", "stage": "mine",
                                                  "year": 2024, "overlay": ident}).json()
    seen = [r for r in mine if r["iso3"] == "USA"]
    assert len(seen) == 1 and seen[0]["value"] == 1234.5 and seen[0]["source"] == "overlay"
    assert seen[0]["note"] == "overlay own: own figure"
    # the other rows are untouched
    assert {r["iso3"]: r["value"] for r in mine if r["iso3"] != "USA"} == {
        r.iso3: r.value for r in curated.itertuples() if r.iso3 != "USA"}
    holdings = ann.get("/api/datasets/facts", params={"commodity": "cobalt", "statistic":
                                                      "stockpile", "overlay": ident}).json()
    assert [(r["iso3"], r["value"], r["edition"]) for r in holdings] == [("USA", 333.0, 2026)]
    # without the overlay (and for everyone else) the curated figure stands
    plain = ann.get("/api/datasets/facts", params={"commodity": "cobalt", "stage": "mine",
                                                   "year": 2024}).json()
    if len(usa):
        assert [r["value"] for r in plain if r["iso3"] == "USA"] == usa.value.tolist()
    assert bob.get(f"/api/overlays/{ident}").status_code == 404
    assert bob.get("/api/datasets/facts", params={"commodity": "cobalt",
                                                  "overlay": ident}).status_code == 404
    assert ident not in [o["id"] for o in bob.get("/api/overlays").json()]
    assert bob.post("/api/runs", json={"scenario_id": new_scenario(bob), "overlay_id": ident}
                    ).status_code == 404
    # sharing lets Company B see and use it
    assert ann.post(f"/api/overlays/{ident}/shares", json={"organisation": "Company B"}
                    ).status_code == 201
    assert bob.get(f"/api/overlays/{ident}").json()["row_count"] == 2
    assert bob.put(f"/api/overlays/{ident}/rows", json={"rows": []}).status_code == 403


@pytest.mark.parametrize(("change", "message"), [
    ({"stage": "refinery"}, "rows[0].stage: 'refinery' is not a stage of cobalt; allowed: mine"),
    ({"unit": "kg"}, "rows[0].unit: 'kg' differs from the catalog unit 't' of cobalt"),
    ({"iso3": "XXX"}, "rows[0].iso3: 'XXX' is not a known ISO3 code"),
    ({"value": -1}, "rows[0].value: -1.0 not allowed; allowed: >= 0"),
    ({"statistic": "price"}, "rows[0].statistic: 'price' not allowed"),
])
def test_overlay_rows_are_checked_against_the_catalog(users, change, message):
    row = {"commodity": "cobalt", "stage": "mine", "iso3": "USA", "year": 2024, "value": 1.0}
    response = users["ann"].post("/api/overlays", json={"name": "bad",
                                                        "rows": [{**row, **change}]})
    assert response.status_code == 422
    assert response.json()["error"].startswith(message)


def test_errors_are_json_with_what_to_fix(app, users):
    client = TestClient(app)
    assert client.get("/api/nothing-here").json() == {
        "error": "no such endpoint; the API is described at /openapi.json"}
    bad = users["ann"].get("/api/datasets/show", params={"commodity": "cobalt", "year": "x"})
    assert bad.status_code == 422 and bad.json()["error"].startswith("query.year:")
    unknown = users["ann"].get("/api/datasets/show", params={"commodity": "cobalts"})
    assert unknown.status_code == 404 and "did you mean 'cobalt'" in unknown.json()["error"]
