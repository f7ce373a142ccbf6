"""`critmin user create` and `critmin serve`: the first admin from the command line, and a
server that works with no setup (an empty SQLite file is migrated on start)."""

from __future__ import annotations

import httpx
import pytest
import typer
from sqlalchemy import inspect, select
from typer.testing import CliRunner

from critmin.api.db import make_engine, session_factory
from critmin.api.models import Organisation, User
from critmin.cli import serve
from critmin.errors import CritminError
from web.servers import PASSWORD, sqlite_url, start_server


def cli() -> typer.Typer:
    app = typer.Typer()
    serve.register(app)
    return app


def invoke(*args: str, password: str = PASSWORD):
    return CliRunner().invoke(cli(), list(args), input=password + "\n")


def test_user_create_makes_the_first_admin_and_refuses_mistakes(tmp_path):
    url = sqlite_url(tmp_path)
    first = invoke("user", "create", "--email", "Root@Ministry.gov", "--org", "Ministry A",
                   "--country", "usa", "--db", url, "--password-stdin")
    assert first.exit_code == 0, first.output
    engine = make_engine(url)
    with session_factory(engine)() as db:
        user = db.scalar(select(User))
        org = db.get(Organisation, user.org_id)
    assert (user.email, user.role, org.name, org.country) == (
        "root@ministry.gov", "admin", "Ministry A", "USA")
    assert user.password_hash.startswith("$argon2id$")
    cases = [
        (["--email", "root@ministry.gov"], "a user with e-mail 'root@ministry.gov' already exists"),
        (["--email", "x@ministry.gov", "--role", "boss"],
         "role 'boss' is not known; allowed: viewer, analyst, admin"),
        (["--email", "not-an-email"], "e-mail 'not-an-email' is not valid"),
        (["--email", "y@m.gov", "--org", "Other", "--country", "XXX"],
         "country 'XXX' is not an ISO3 code (e.g. USA, JPN, DEU)"),
    ]
    for extra, message in cases:
        args = ["user", "create", "--org", "Ministry A", "--db", url, "--password-stdin", *extra]
        result = invoke(*args)
        assert result.exit_code != 0
        assert isinstance(result.exception, CritminError) and str(result.exception) == message
    short = invoke("user", "create", "--email", "z@m.gov", "--org", "Ministry A", "--db", url,
                   "--password-stdin", password="short")
    assert str(short.exception) == "password too short: use at least 10 characters"
    with session_factory(engine)() as db:
        assert len(db.scalars(select(User)).all()) == 1
    engine.dispose()


def test_serve_migrates_an_empty_database_and_answers(tmp_path):
    url = sqlite_url(tmp_path, "fresh.db")
    server = start_server(url, tmp_path / "serve.log")
    try:
        health = httpx.get(f"{server.base}/api/health").json()
        assert health["status"] == "ok"
        spec = httpx.get(f"{server.base}/openapi.json").json()
        assert spec["info"]["title"] == "critmin" and "/api/runs" in spec["paths"]
        assert httpx.get(f"{server.base}/api/scenarios").status_code == 401
    finally:
        server.stop()
    engine = make_engine(url)
    assert {"users", "runs", "alembic_version"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_serve_refuses_an_unknown_database_scheme():
    result = CliRunner().invoke(cli(), ["serve", "--db", "mysql://x@y/z"])
    assert isinstance(result.exception, CritminError)
    assert "use sqlite:///FILE or postgresql://USER@HOST:PORT/DB" in str(result.exception)


@pytest.mark.parametrize("url", ["postgres://u@h:5/d", "postgresql://u@h:5/d"])
def test_postgres_urls_use_psycopg3(url):
    from critmin.api.db import normalise_url

    assert normalise_url(url) == "postgresql+psycopg://u@h:5/d"
