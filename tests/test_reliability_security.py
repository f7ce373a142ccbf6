"""Security checks that try: password guessing, secrets in logs and answers, oversized and
mistyped uploads, another organisation's key, and writes through ``critmin data sql``.

Cross-organisation reads of guessed ids, revoked shares and revoked keys are in
tests/test_api_access.py (on SQLite and PostgreSQL); the checks here add what it does not.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from critmin.api import accounts
from critmin.api.app import create_app
from critmin.api.db import make_engine, session_factory, transaction
from critmin.api.limits import LOGIN_ATTEMPTS, MAX_BODY_BYTES, LoginLimiter
from critmin.api.models import User
from critmin.api.settings import Settings
from web.api import UserClient, add_user
from web.servers import PASSWORD, create_user, sqlite_url, start_server

SCENARIO = ("name: ree-cut\nstart: 2026Q1\nhorizon: 8\nchains: [rare-earths]\nblocs:\n"
            "  china: [CHN]\nshocks:\n  - kind: licence_approval\n    commodity: rare-earths\n"
            "    stage: separated\n    exporter: china\n    start: 2026Q2\n    value: 0.5\n")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    application = create_app(Settings(db_url=sqlite_url(tmp_path_factory.mktemp("sec")),
                                      run_queue=False))
    add_user(application, "ann@a.gov", "Ministry A", "admin", "USA")
    add_user(application, "bob@b.com", "Company B", "analyst", "JPN")
    yield application
    application.state.engine.dispose()


def key_for(app, email: str) -> dict[str, str]:
    with transaction(app.state.sessions) as db:
        user = db.scalar(select(User).where(User.email == email))
        _, secret = accounts.create_api_key(db, user.id, "test")
    return {"Authorization": f"Bearer {secret}"}


# --------------------------------------------------------------------------- login rate limit


def test_login_is_refused_after_repeated_failures_even_with_the_right_password(app):
    client = TestClient(app)
    login = {"email": "bob@b.com", "password": "not the password"}
    answers = [client.post("/api/auth/login", json=login).status_code
               for _ in range(LOGIN_ATTEMPTS + 2)]
    assert answers == [401] * LOGIN_ATTEMPTS + [429, 429]
    right = client.post("/api/auth/login", json={"email": "BOB@b.com", "password": PASSWORD})
    assert right.status_code == 429 and "try again in" in right.json()["error"]
    # another account from the same address is not locked out
    assert client.post("/api/auth/login", json={"email": "ann@a.gov",
                                                "password": PASSWORD}).status_code == 200


def test_the_limiter_window_slides_and_a_success_clears_it():
    limiter = LoginLimiter(attempts=3, window=0.3)
    for _ in range(3):
        assert limiter.retry_after("10.0.0.1", "a@b.c") == 0
        limiter.failed("10.0.0.1", "a@b.c")
    assert 0 < limiter.retry_after("10.0.0.1", "A@b.c ") <= 0.3
    assert limiter.retry_after("10.0.0.2", "a@b.c") == 0  # per address
    time.sleep(0.35)
    assert limiter.retry_after("10.0.0.1", "a@b.c") == 0
    limiter.failed("10.0.0.1", "a@b.c")
    limiter.succeeded("10.0.0.1", "a@b.c")
    assert limiter._failures == {}


# --------------------------------------------------------------------------- uploads


def test_uploads_over_the_size_limit_are_refused_before_parsing(app):
    headers = key_for(app, "ann@a.gov")
    client = TestClient(app)
    big = b"x" * (MAX_BODY_BYTES + 1)
    for path in ("/api/scenarios", "/api/scenarios/validate", "/api/overlays"):
        answer = client.post(path, content=big, headers={**headers,
                                                         "content-type": "application/json"})
        assert answer.status_code == 413, path
        assert answer.json()["error"].startswith(f"request body larger than {MAX_BODY_BYTES}")

    def chunks():  # no Content-Length: counted while it streams
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"#" * 65536

    streamed = client.post("/api/scenarios", content=chunks(),
                           headers={**headers, "content-type": "application/yaml"})
    assert streamed.status_code == 413
    # under the body limit but over the document limit: the document check names it
    from critmin.api.documents import MAX_BYTES

    doc = json.dumps({"yaml": "#" * (MAX_BYTES + 10)})
    answer = client.post("/api/scenarios", content=doc,
                         headers={**headers, "content-type": "application/json"})
    assert answer.status_code == 422 and f"larger than {MAX_BYTES} bytes" in answer.json()["error"]


@pytest.mark.parametrize(("path", "content_type", "body", "status", "says"), [
    ("/api/scenarios", "text/csv", SCENARIO.encode(), 415, "application/json or application/yaml"),
    ("/api/scenarios", "image/png", b"\x89PNG\r\n\x1a\n", 415, "application/json or"),
    ("/api/scenarios", "application/yaml", b"\xff\xfe\x00", 422, "not UTF-8"),
    ("/api/scenarios", "application/json", b"[1, 2]", 422, "must be an object"),
    ("/api/scenarios", "application/yaml", b"- a\n- b\n", 422, "expected a mapping"),
    ("/api/overlays", "application/yaml", b"name: x\n", 422, "valid dictionary"),
    ("/api/overlays", "application/json", b'{"name": "x", "rows": {"a": 1}}', 422, "rows"),
])
def test_uploads_of_the_wrong_type_are_refused_with_what_to_send(app, path, content_type,
                                                                 body, status, says):
    headers = {**key_for(app, "ann@a.gov"), "content-type": content_type}
    answer = TestClient(app).post(path, content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert says in answer.json()["error"]


# --------------------------------------------------------------------------- organisations


def test_another_organisations_api_key_sees_nothing_of_ours(app):
    ann = UserClient(app, "ann@a.gov")
    scenario = ann.post("/api/scenarios", json={"yaml": SCENARIO}).json()["id"]
    row = {"commodity": "rare-earths", "stage": "mine", "iso3": "CHN", "year": 2024, "value": 1}
    overlay = ann.post("/api/overlays", json={"name": "own", "rows": [row]}).json()["id"]
    bob = TestClient(app, headers=key_for(app, "bob@b.com"))
    for path in (f"/api/scenarios/{scenario}", f"/api/scenarios/{scenario}/versions",
                 f"/api/overlays/{overlay}", f"/api/datasets/facts?overlay={overlay}"):
        assert bob.get(path).status_code == 404, path
    assert bob.put(f"/api/overlays/{overlay}/rows", json={"rows": []}).status_code == 404
    assert scenario not in [s["id"] for s in bob.get("/api/scenarios").json()]
    assert overlay not in [o["id"] for o in bob.get("/api/overlays").json()]
    # a key of ann's used after she revoked it
    keyed = TestClient(app, headers=key_for(app, "ann@a.gov"))
    own = keyed.get("/api/keys").json()[-1]
    assert keyed.get(f"/api/scenarios/{scenario}").status_code == 200
    assert keyed.delete(f"/api/keys/{own['id']}").status_code == 200
    assert keyed.get(f"/api/scenarios/{scenario}").status_code == 401


# --------------------------------------------------------------------------- secrets


def test_passwords_and_keys_never_reach_the_log_the_answers_or_the_database(tmp_path: Path):
    """A real ``critmin serve`` with its log captured: log in (right and wrong), make a key,
    use it, add a user; no password or key appears in the log, any answer, or the database."""
    url = sqlite_url(tmp_path)
    create_user(url, "ann@a.gov", "Ministry A", "admin", "USA")
    log = tmp_path / "serve.log"
    server = start_server(url, log)
    wrong, new_password = "wrong-password-4711", "second-users-secret-0815"
    answers: list[str] = []
    try:
        with httpx.Client(base_url=server.base, timeout=30) as client:
            bad = client.post("/api/auth/login", json={"email": "ann@a.gov", "password": wrong})
            good = client.post("/api/auth/login", json={"email": "ann@a.gov",
                                                        "password": PASSWORD})
            csrf = {"X-CSRF-Token": good.json()["csrf_token"]}
            made = client.post("/api/keys", json={"name": "script"}, headers=csrf)
            secret = made.json()["key"]
            added = client.post("/api/users", headers=csrf, json={
                "email": "cy@a.gov", "password": new_password, "role": "viewer"})
            answers += [bad.text, good.text, added.text]
        with httpx.Client(base_url=server.base, timeout=30,
                          headers={"Authorization": f"Bearer {secret}"}) as keyed:
            for path in ("/api/me", "/api/keys", "/api/users", "/api/organisations"):
                answer = keyed.get(path)
                assert answer.status_code == 200
                answers.append(answer.text)
            keyed.get("/api/scenarios/does-not-exist")
    finally:
        server.stop()
    assert bad.status_code == 401 and good.status_code == 200 and added.status_code == 201
    assert made.status_code == 201 and secret.startswith("cmk_")
    text = log.read_text()
    assert "critmin serving on http://127.0.0.1" in text  # the log was captured
    database = Path(url.removeprefix("sqlite:///")).read_bytes()
    for value in (PASSWORD, wrong, new_password, secret):
        assert value not in text
        assert all(value not in answer for answer in answers)
        assert value.encode() not in database
    assert "password_hash" not in "".join(answers) and "key_hash" not in "".join(answers)
    engine = make_engine(url)
    with session_factory(engine)() as db:
        hashes = [u.password_hash for u in db.scalars(select(User))]
    engine.dispose()
    assert len(hashes) == 2 and all(h.startswith("$argon2id$") for h in hashes)


# --------------------------------------------------------------------------- critmin data sql


@pytest.mark.parametrize("statement", [
    "COPY (SELECT * FROM facts) TO '{out}/copy.csv'",
    "ATTACH '{out}/attached.db' AS x",
    "EXPORT DATABASE '{out}/export'",
    "INSTALL httpfs",
    "LOAD parquet",
    "CREATE OR REPLACE VIEW countries AS SELECT 1 AS iso3",
    "SELECT 1; DROP VIEW facts",
    "EXPLAIN ANALYZE COPY (SELECT 1) TO '{out}/explained.csv'",
    "SET threads = 1",
])
def test_data_sql_refuses_every_statement_that_writes(tmp_path: Path, statement: str):
    from critmin.cli import app as cli
    from critmin.data import sql
    from critmin.errors import CritminError

    result = CliRunner().invoke(cli, ["data", "sql", statement.format(out=tmp_path)])
    assert result.exit_code == 1 and isinstance(result.exception, CritminError)
    message = str(result.exception)
    assert "read-only; only SELECT queries run" in message and "\n" not in message
    assert list(tmp_path.iterdir()) == []  # nothing written
    assert int(sql("SELECT count(*) AS n FROM countries").n.iloc[0]) > 200  # views intact


def test_data_sql_refusal_is_one_line_on_stderr(tmp_path: Path):
    """End to end, as a user runs it: exit 1, one line, no file written."""
    import subprocess
    import sys

    from web.servers import env

    target = tmp_path / "out.csv"
    done = subprocess.run([sys.executable, "-m", "critmin", "data", "sql",
                           f"COPY (SELECT * FROM facts) TO '{target}'"],
                          capture_output=True, text=True, env=env(), timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "error: SQL error: the curated data are read-only; only SELECT queries run (got COPY)"]
    assert not target.exists()


def test_data_sql_still_answers_queries():
    from critmin.cli import app as cli

    result = CliRunner().invoke(cli, ["data", "sql", "WITH c AS (SELECT iso3 FROM countries "
                                      "WHERE iso3 = 'CHN') SELECT iso3 FROM c", "--format",
                                      "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [{"iso3": "CHN"}]
