"""Limits that keep one client from hurting the others: failed logins and request body size.

* :class:`LoginLimiter` counts failed logins per (client address, e-mail) in a sliding window
  and refuses further attempts (429) until the window has passed, before any password hash is
  computed — so guessing one account's password is slow and costs the server nothing. It
  counts in one process's memory; the server uses :class:`SharedLoginLimiter`, the same rule
  counted in the database, so ``critmin serve --workers N`` allows 5 attempts, not 5 × N.
* :class:`BodyLimit` is ASGI middleware that answers 413 to a request body larger than
  ``max_bytes`` (declared by Content-Length or counted while it streams), so an upload cannot
  exhaust the server's memory before any route sees it.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

#: Failed logins allowed per (address, e-mail) within the window, and the window's length.
#: Security settings, not model parameters: 5 tries per 5 minutes lets a person mistype and
#: makes guessing a 10-character password impractical.
LOGIN_ATTEMPTS: Final = 5
LOGIN_WINDOW_SECONDS: Final = 300.0
#: Largest request body: twice the largest scenario document (documents.MAX_BYTES), since a
#: JSON envelope escapes the YAML text.
MAX_BODY_BYTES: Final = 2_000_000
#: (address, e-mail) pairs remembered at most; the oldest are forgotten first.
_MAX_KEYS: Final = 100_000


class LoginLimiter:
    """Sliding-window counter of failed logins, safe to share between request threads."""

    def __init__(self, attempts: int = LOGIN_ATTEMPTS,
                 window: float = LOGIN_WINDOW_SECONDS) -> None:
        self.attempts, self.window = attempts, window
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(address: str | None, email: str) -> tuple[str, str]:
        return (address or "unknown", email.strip().lower())

    def retry_after(self, address: str | None, email: str) -> float:
        """Seconds until this pair may try again (0 when it may try now)."""
        now = time.monotonic()
        with self._lock:
            times = self._failures.get(self._key(address, email))
            if not times:
                return 0.0
            while times and now - times[0] >= self.window:
                times.popleft()
            if len(times) < self.attempts:
                return 0.0
            return self.window - (now - times[0])

    def failed(self, address: str | None, email: str) -> None:
        key = self._key(address, email)
        with self._lock:
            times = self._failures.pop(key, None) or deque(maxlen=self.attempts)
            times.append(time.monotonic())
            self._failures[key] = times  # most recent last
            while len(self._failures) > _MAX_KEYS:
                self._failures.popitem(last=False)

    def succeeded(self, address: str | None, email: str) -> None:
        with self._lock:
            self._failures.pop(self._key(address, email), None)


class SharedLoginLimiter(LoginLimiter):
    """:class:`LoginLimiter`'s rule with the failures stored in the server's database
    (:class:`~critmin.api.models.LoginFailure`), seen by every process of the server."""

    def __init__(self, sessions: sessionmaker[Session], attempts: int = LOGIN_ATTEMPTS,
                 window: float = LOGIN_WINDOW_SECONDS) -> None:
        super().__init__(attempts, window)
        self.sessions = sessions

    def _hash(self, address: str | None, email: str) -> str:
        from critmin.api.security import digest

        return digest("\n".join(self._key(address, email)))

    def retry_after(self, address: str | None, email: str) -> float:
        from sqlalchemy import select

        from critmin.api.db import utcnow
        from critmin.api.models import LoginFailure

        now = utcnow()
        with self.sessions() as db:
            times = db.scalars(
                select(LoginFailure.at)
                .where(LoginFailure.key_hash == self._hash(address, email),
                       LoginFailure.at > now - timedelta(seconds=self.window))
                .order_by(LoginFailure.at.desc()).limit(self.attempts)).all()
        if len(times) < self.attempts:
            return 0.0
        return max(0.0, self.window - (now - min(times)).total_seconds())

    def failed(self, address: str | None, email: str) -> None:
        from sqlalchemy import delete

        from critmin.api.db import transaction, utcnow
        from critmin.api.models import LoginFailure

        now = utcnow()
        with transaction(self.sessions) as db:  # forget what has left every window
            db.execute(delete(LoginFailure).where(
                LoginFailure.at <= now - timedelta(seconds=self.window)))
            db.add(LoginFailure(key_hash=self._hash(address, email), at=now))

    def succeeded(self, address: str | None, email: str) -> None:
        from sqlalchemy import delete

        from critmin.api.db import transaction
        from critmin.api.models import LoginFailure

        with transaction(self.sessions) as db:
            db.execute(delete(LoginFailure).where(
                LoginFailure.key_hash == self._hash(address, email)))


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BodyLimit:
    """ASGI middleware: 413 ``{"error": …}`` for a request body over ``max_bytes``.

    A declared Content-Length is checked at once (the server holds the body to it); a body
    without one (chunked) is read here up to the limit, then handed on unchanged.
    """

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]],
                 max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.strip().isdigit():
            if int(declared) > self.max_bytes:
                await self._refuse(send)
                return
            await self.app(scope, receive, send)
            return
        held: list[Message] = []
        size = 0
        while True:
            message = await receive()
            held.append(message)
            if message["type"] != "http.request":
                break  # client gone: let the app see it
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(send)
                return
            if not message.get("more_body"):
                break

        async def replay() -> Message:
            return held.pop(0) if held else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"error": f"request body larger than {self.max_bytes} bytes; "
                                    "send a smaller document"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
