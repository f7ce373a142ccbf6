"""alembic environment: migrations run on the engine the server (or a test) hands over.

Without one (``alembic`` run by hand with ``-x url=...``), the URL comes from ``-x url`` or
``$CRITMIN_DB_URL``.
"""

from __future__ import annotations

from alembic import context

from critmin.api.models import Base

config = context.config


def _engine():  # type: ignore[no-untyped-def]
    engine = config.attributes.get("engine")
    if engine is not None:
        return engine
    from critmin.api.db import make_engine
    from critmin.api.settings import default_db_url

    url = context.get_x_argument(as_dictionary=True).get("url") or default_db_url()
    return make_engine(url)


def run_migrations_online() -> None:
    with _engine().connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
