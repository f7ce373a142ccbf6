"""The API against its own published OpenAPI (schemathesis): no 5xx, no response that breaks
the schema, on every operation, authenticated with an API key made by the app's own functions.

The app runs in-process on a temporary SQLite database with two organisations' data in it (a
scenario and an overlay each), so reads of real ids and guessed ids both happen. The example
count per operation is bounded for CI (``API_EXAMPLES``, default 12).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

schemathesis = pytest.importorskip("schemathesis", reason="pip install schemathesis==4.32.5")
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
)

from critmin.api import accounts  # noqa: E402
from critmin.api.app import create_app  # noqa: E402
from critmin.api.db import transaction  # noqa: E402
from critmin.api.models import User  # noqa: E402
from critmin.api.settings import Settings  # noqa: E402
from web.api import UserClient, add_user  # noqa: E402
from web.servers import sqlite_url  # noqa: E402

EXAMPLES = int(os.environ.get("API_EXAMPLES", "12"))
SCENARIO = (
    "name: ree-cut\nstart: 2026Q1\nhorizon: 8\nchains: [rare-earths]\nblocs:\n  china: [CHN]\n"
    "shocks:\n  - kind: licence_approval\n    commodity: rare-earths\n    stage: separated\n"
    "    exporter: china\n    start: 2026Q2\n    value: 0.5\n")


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """The app (no job queue: runs stay queued) and an analyst's API key."""
    app = create_app(Settings(db_url=sqlite_url(tmp_path_factory.mktemp("contract")),
                              run_queue=False))
    add_user(app, "ann@a.gov", "Ministry A", "admin", "USA")
    add_user(app, "bob@b.com", "Company B", "analyst", "JPN")
    for email in ("ann@a.gov", "bob@b.com"):
        client = UserClient(app, email)
        assert client.post("/api/scenarios", json={"yaml": SCENARIO}).status_code == 201
        row = {"commodity": "rare-earths", "stage": "mine", "iso3": "CHN", "year": 2024,
               "value": 1.0}
        assert client.post("/api/overlays", json={"name": "o", "rows": [row]}).status_code == 201
    from sqlalchemy import select

    with transaction(app.state.sessions) as db:
        user = db.scalar(select(User).where(User.email == "ann@a.gov"))
        _, secret = accounts.create_api_key(db, user.id, "schemathesis")
    yield app, {"Authorization": f"Bearer {secret}"}
    app.state.engine.dispose()


def test_no_server_error_and_every_response_matches_the_schema(api):
    """Each operation gets its own bounded hypothesis run; failures are collected, then shown."""
    from hypothesis import given

    app, headers = api
    api_schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    failures: dict[str, str] = {}
    calls = {"n": 0}
    operations = [r.ok() for r in api_schema.get_all_operations()]

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def exercise(case):
            response = case.call(headers=headers)
            calls["n"] += 1
            case.validate_response(response, checks=checks)

        try:
            exercise()
        except Exception as err:  # keep going: report every operation that fails
            failures[operation.label] = " ".join(str(err).split())[:600]
    assert not failures, "\n".join(f"{k}: {v}" for k, v in failures.items())
    assert len(operations) >= 40 and calls["n"] >= 4 * len(operations)
    print(f"{len(operations)} operations, {calls['n']} calls, no 5xx, no schema violation")
