"""Request dependencies shared by the routers: the database session, the app's settings and
its store of computed read-only answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from critmin.api.cache import ReadCache

if TYPE_CHECKING:
    from critmin.api.jobs import JobQueue
    from critmin.api.settings import Settings


def get_db(request: Request) -> Iterator[Session]:
    """One session per request; routes commit what they change."""
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
