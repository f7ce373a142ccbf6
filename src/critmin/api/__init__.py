"""critmin as a service: the REST API, its store of accounts, scenarios, overlays and runs, the
job queue, and the dashboard served as static pages.

``create_app(settings)`` (in :mod:`critmin.api.app`) builds the FastAPI application;
``critmin serve`` runs it with uvicorn. The database (SQLite file by default, PostgreSQL by URL)
is migrated to the latest schema with alembic on start, so a new install needs no setup.
"""
