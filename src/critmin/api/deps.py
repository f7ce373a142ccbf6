"""Request dependencies shared by the routers: the database session, the app's settings and
its store of computed read-only answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from critmin.api.cache import ReadCache

if TYPE_CHECKING:
    from critmin.api.jobs import JobQueue
    from critmin.api.settings import Settings


async def get_db(request: Request) -> AsyncIterator[Session]:
    """One session per request; routes commit what they change.

    ``async`` so that opening and closing it take no trip through the thread pool (two per
    request otherwise): opening touches no database, closing hands the connection back to
    the pool; the queries themselves run in the routes' threads.
    """
    with request.app.state.sessions() as session:
        yield session


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_queue(request: Request) -> JobQueue:
    return request.app.state.queue  # type: ignore[no-any-return]


Db = Annotated[Session, Depends(get_db)]


async def get_read_cache(request: Request) -> ReadCache:
    """``async``: a plain attribute read needs no trip through the thread pool."""
    return request.app.state.read_cache  # type: ignore[no-any-return]


Reads = Annotated[ReadCache, Depends(get_read_cache)]
