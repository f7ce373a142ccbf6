"""The FastAPI application: routers, error shape, security headers, the job queue's lifetime.

``create_app(settings)`` migrates the database to the latest schema before serving, so a new
SQLite file or an empty PostgreSQL database needs no setup step. ``serve_app()`` is what each
process of ``critmin serve --workers N`` runs (uvicorn calls it by name in every process).
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

from fastapi import FastAPI

from critmin.api import errors
from critmin.api.cache import ReadCache
from critmin.api.db import make_engine, migrate, session_factory
from critmin.api.jobs import JobQueue
from critmin.api.settings import Settings

#: The pid of the ``critmin serve`` process that started the worker processes (internal).
PARENT_ENV: Final = "CRITMIN_SERVE_PARENT"
#: Threads answering requests in one process (anyio's default is 40). Requests are short and
#: mostly CPU: beyond a few threads per core more only add GIL hand-offs and connections;
#: 16 leaves room for requests waiting on the database (a writer waiting for SQLite's lock).
REQUEST_THREADS: Final = 16

log = logging.getLogger(__name__)

#: Pages load scripts, styles and data from this server only (plotly injects style elements).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; "
       "base-uri 'none'; form-action 'self'")


#: Headers every answer carries (an answer that sets one itself keeps its own).
HEADERS: Final = ((b"content-security-policy", CSP.encode()),
                  (b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                  (b"referrer-policy", b"same-origin"))
NO_STORE: Final = (b"cache-control", b"no-store")


class SecurityHeaders:
    """ASGI middleware adding :data:`HEADERS` (and ``no-store`` under ``/api/``).

    Plain ASGI rather than ``@app.middleware("http")``: Starlette's ``BaseHTTPMiddleware``
    wraps each answer in extra tasks and streams, a measurable cost on every request.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = HEADERS + ((NO_STORE,) if scope["path"].startswith("/api/") else ())

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in extra if n not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: Settings | None = None) -> FastAPI:
    """A ready app on ``settings.db_url`` (migrated), with its job queue started on startup."""
    from critmin import __version__
    from critmin.api.routes import (
        accounts,
        datasets,
        metrics,
        overlays,
        runs,
        scenarios,
        web,
    )

    settings = settings or Settings()
    engine = make_engine(settings.db_url)
    migrate(engine)
    sessions = session_factory(engine)
    queue = JobQueue(settings, sessions)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        import anyio.to_thread

        anyio.to_thread.current_default_thread_limiter().total_tokens = REQUEST_THREADS
        if settings.run_queue:
            queue.start()
        try:
            yield
        finally:
            if settings.run_queue:
                queue.stop()
            engine.dispose()

    app = FastAPI(
        title="critmin", version=__version__, lifespan=lifespan,
        description="Critical-minerals supply-chain security lab: curated data, risk metrics, "
                    "scenarios and simulation runs, private to each organisation unless "
                    "shared. Errors are JSON `{\"error\": \"<what to fix>\"}`.")
    app.state.settings, app.state.sessions, app.state.queue = settings, sessions, queue
    app.state.engine = engine
    app.state.read_cache = ReadCache()
    errors.install(app)
    for module in (accounts, datasets, metrics, scenarios, overlays, runs):
        app.include_router(module.router)
    app.include_router(web.menu)
    app.include_router(web.router)

    @app.get("/api/health", tags=["accounts"])
    def health() -> dict[str, Any]:
        """No login needed: is the server up, and which data edition it serves."""
        from critmin.data import data_edition

        return {"status": "ok", "version": __version__, "data_edition": data_edition()}

    from critmin.api.limits import BodyLimit, SharedLoginLimiter

    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit)  # outermost but for error handling: refuses before parsing
    app.state.login_limiter = SharedLoginLimiter(sessions)
    return app


def serve_app() -> FastAPI:
    """The app of one ``critmin serve`` worker process, on the settings its parent exported.

    A worker process dies with the parent however the parent ends (``kill -9`` included), so
    no orphan keeps answering on the port or keeps runs going after their server is gone; the
    parent has already migrated the database, so the workers' own migration step is a no-op.
    """
    parent = int(os.environ.get(PARENT_ENV) or 0)
    if parent and parent != os.getpid():
        from critmin.api.worker import die_with_parent

        die_with_parent(parent)
    return create_app(Settings.from_env())
