"""The schema migrates up from an empty database through every migration and down again, on
SQLite and on a real PostgreSQL server, and the migrated schema is exactly the models'."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from critmin.api import db
from critmin.api.models import Base
from web.servers import postgres_or_none, sqlite_url

#: Tables each migration adds, in order.
ADDED = {
    "0001_accounts": {"organisations", "users", "sessions", "api_keys"},
    "0002_scenarios_overlays": {"scenarios", "scenario_versions", "overlays", "overlay_rows",
                                "shares"},
    "0003_runs": {"runs", "run_results"},
    "0004_login_failures": {"login_failures"},
}


@pytest.fixture(scope="module")
def postgres():
    with postgres_or_none() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path, postgres):
    if request.param == "postgresql":
        if postgres is None:
            pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
        url = postgres.create_database(f"migrate_{tmp_path.name[-12:].replace('-', '_')}")
    else:
        url = sqlite_url(tmp_path)
    engine = db.make_engine(url)
    yield engine
    engine.dispose()


def tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_every_migration_up_then_down_to_empty(engine):
    assert db.revisions() == list(ADDED)
    assert tables(engine) == set()
    expected: set[str] = set()
    for revision, added in ADDED.items():
        db.migrate(engine, revision)
        expected |= added
        assert tables(engine) == expected, revision
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() == "0004_login_failures"
        assert compare_metadata(context, Base.metadata) == []  # migrations == models
    for revision, added in reversed(list(ADDED.items())):
        previous = db.revisions()[db.revisions().index(revision) - 1] \
            if revision != "0001_accounts" else "base"
        db.downgrade(engine, previous)
        expected -= added
        assert tables(engine) == expected, revision
    assert tables(engine) == set()
    db.migrate(engine)  # and up again in one go
    assert tables(engine) == set().union(*ADDED.values())
