"""The FastAPI application: routers, error shape, security headers, the job queue's lifetime.

``create_app(settings)`` migrates the database to the latest schema before serving, so a new
SQLite file or an empty PostgreSQL database needs no setup step.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response

from critmin.api import errors
from critmin.api.db import make_engine, migrate, session_factory
from critmin.api.jobs import JobQueue
from critmin.api.settings import Settings

log = logging.getLogger(__name__)

#: Pages load scripts, styles and data from this server only (plotly injects style elements).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; "
       "base-uri 'none'; form-action 'self'")


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

    @app.middleware("http")
    async def security_headers(request: Request,
                               call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    from critmin.api.limits import BodyLimit, LoginLimiter

    app.add_middleware(BodyLimit)  # outermost but for error handling: refuses before parsing
    app.state.login_limiter = LoginLimiter()
    return app
