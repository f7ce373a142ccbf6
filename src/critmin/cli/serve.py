"""`critmin serve` (the web app and API) and `critmin user create` (accounts, e.g. the first
admin). Register with ``serve.register(app)``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

user_app = typer.Typer(help="Accounts of the web app: create users (the first admin too).",
                       no_args_is_help=True)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    db: Annotated[str | None, typer.Option(
        "--db", help="Database URL: sqlite:///FILE or postgresql://USER@HOST:PORT/DB; default "
                     "$CRITMIN_DB_URL or a SQLite file in ~/.local/share/critmin.")] = None,
    workers: Annotated[int | None, typer.Option(
        help="Server processes answering requests (default: min(4, CPUs); always 1 for an "
             "in-memory database).", min=1, envvar="CRITMIN_SERVE_WORKERS")] = None,
    runs: Annotated[int, typer.Option(
        help="Runs executed at the same time, all server processes together.", min=1,
        envvar="CRITMIN_SERVE_RUNS")] = 1,
    secure_cookies: Annotated[bool, typer.Option(
        "--secure-cookies", help="Mark cookies Secure (when served behind HTTPS).")] = False,
) -> None:
    """Serve the API (OpenAPI at /openapi.json, docs at /docs) and the dashboard at /."""
    import os

    import uvicorn

    from critmin.api.app import PARENT_ENV
    from critmin.api.db import make_engine, migrate, normalise_url
    from critmin.api.settings import SETTINGS_ENV, Settings, default_db_url

    settings = Settings(db_url=normalise_url(db) if db else default_db_url(),
                        max_workers=runs, secure_cookies=secure_cookies)
    processes = 1 if in_memory(settings.db_url) else workers or default_workers()
    engine = make_engine(settings.db_url)
    migrate(engine)  # once, here: N processes must not race to create the schema
    engine.dispose()
    os.environ[SETTINGS_ENV] = settings.to_env()
    os.environ[PARENT_ENV] = str(os.getpid())
    typer.echo(f"critmin serving on http://{host}:{port} with {processes} process"
               f"{'es' if processes > 1 else ''} (database {_safe(settings.db_url)})", err=True)
    uvicorn.run("critmin.api.app:serve_app", factory=True, workers=processes, host=host,
                port=port, log_level="info", access_log=False)


def default_workers() -> int:
    """min(4, CPUs): one process per core answers a team's load (each has its own GIL)."""
    import os

    return max(1, min(4, os.cpu_count() or 1))


def in_memory(url: str) -> bool:
    """Whether ``url`` is a SQLite database held in memory (every process would get its own)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and (
        parsed.database in (None, "", ":memory:") or parsed.query.get("mode") == "memory")


def _safe(url: str) -> str:
    """The URL with any password hidden."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@user_app.command("create")
def create_user(
    email: Annotated[str, typer.Option(help="Login e-mail.")],
    org: Annotated[str, typer.Option(help="Organisation (created if new).")],
    role: Annotated[str, typer.Option(help="viewer | analyst | admin")] = "admin",
    country: Annotated[str | None, typer.Option(
        help="ISO3 of a new organisation's country (sharing with a country group uses it).")
    ] = None,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    db: Annotated[str | None, typer.Option("--db", help="Database URL (as for serve).")] = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from standard input (for scripts).")
    ] = False,
) -> None:
    """Create a user (an admin by default) in an organisation; asks for the password."""
    from critmin.api import accounts
    from critmin.api.db import make_engine, migrate, normalise_url, session_factory, transaction
    from critmin.api.settings import default_db_url

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    engine = make_engine(normalise_url(db) if db else default_db_url())
    migrate(engine)
    with transaction(session_factory(engine)) as session:
        organisation = accounts.get_or_create_org(session, org, country)
        user = accounts.create_user(session, email, password, organisation, role, name)
        typer.echo(f"created {user.role} {user.email} in {organisation.name}", err=True)
    engine.dispose()


def register(app: typer.Typer) -> None:
    """Attach ``serve`` and the ``user`` group to the main app."""
    app.command("serve")(serve)
    app.add_typer(user_app, name="user")
