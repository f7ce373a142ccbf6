"""Database engine, sessions and migrations (SQLite by default, PostgreSQL by URL).

The schema is owned by the alembic migrations in ``critmin/api/migrations``; the server runs
``upgrade head`` on start, so a new SQLite file or an empty PostgreSQL database just works.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from critmin.errors import CritminError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def utcnow() -> datetime:
    """Naive UTC timestamps: SQLite keeps no time zone, so none is stored anywhere."""
    return datetime.now(UTC).replace(tzinfo=None)


def normalise_url(url: str) -> str:
    """Accept ``postgres://``/``postgresql://`` and pick the psycopg 3 driver; check the scheme."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    try:
        parsed = make_url(url)
    except Exception as err:
        raise CritminError(f"database URL {url!r} is not valid: {err}") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise CritminError(
            f"database URL {url!r}: use sqlite:///FILE or postgresql://USER@HOST:PORT/DB"
        )
    return url


#: Connections each server process keeps open: one per request thread (the app's thread pool
#: has ``app.REQUEST_THREADS``) plus the job queue's, so a busy server reuses connections
#: instead of opening and closing "overflow" ones per request (a new PostgreSQL connection
#: costs a backend process). Four processes × (16 + 4) stays under PostgreSQL's default 100.
POOL_SIZE: Final = 16
POOL_OVERFLOW: Final = 4


def make_engine(url: str) -> Engine:
    """An engine with the settings each backend needs for a threaded server plus workers."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW,
                                   connect_args={"check_same_thread": False, "timeout": 30})
        else:
            engine = create_engine(url, connect_args={"check_same_thread": False,
                                                      "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE,
                         max_overflow=POOL_OVERFLOW)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets the server read while a worker writes; foreign keys are off unless asked for."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit (responses are built after it)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


def updated(session: Session, statement: Any) -> int:
    """Run an UPDATE and return how many rows it changed (conditional state flips)."""
    from sqlalchemy import CursorResult

    result = session.execute(statement)
    return int(result.rowcount) if isinstance(result, CursorResult) else 0


def alembic_config(engine: Engine) -> Any:
    """An alembic Config pointing at the package's migrations and at ``engine``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` (all migrations by default)."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Downgrade the schema to ``revision`` (an empty database by default)."""
    from alembic import command

    command.downgrade(alembic_config(engine), revision)


def revisions() -> list[str]:
    """Every migration id, oldest first."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]
