"""In-process API clients: one app per database, one client (cookie jar) per user."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from fastapi.testclient import TestClient

from critmin.api import accounts
from critmin.api.app import create_app
from critmin.api.db import transaction
from web.servers import PASSWORD


def add_user(app: Any, email: str, org: str, role: str = "analyst",
             country: str | None = None) -> None:
    """Create a user (and their organisation) straight in the app's database."""
    with transaction(app.state.sessions) as db:
        organisation = accounts.get_or_create_org(db, org, country)
        accounts.create_user(db, email, PASSWORD, organisation, role)


class UserClient:
    """A logged-in browser-like client: session cookie plus the CSRF header on writes."""

    def __init__(self, app: Any, email: str) -> None:
        self.client = TestClient(app)
        response = self.client.post("/api/auth/login", json={"email": email,
                                                             "password": PASSWORD})
        assert response.status_code == 200, response.text
        self.csrf = response.json()["csrf_token"]
        self.me = response.json()["user"]

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, **kw)

    def _write(self, method: str, url: str, **kw: Any) -> Any:
        headers = {"X-CSRF-Token": self.csrf, **kw.pop("headers", {})}
        return self.client.request(method, url, headers=headers, **kw)

    def post(self, url: str, **kw: Any) -> Any:
        return self._write("POST", url, **kw)

    def put(self, url: str, **kw: Any) -> Any:
        return self._write("PUT", url, **kw)

    def delete(self, url: str, **kw: Any) -> Any:
        return self._write("DELETE", url, **kw)


@contextlib.contextmanager
def running_app(settings: Any) -> Iterator[Any]:
    """The app with its lifespan (job queue) running for the duration."""
    app = create_app(settings)
    with TestClient(app):
        yield app
