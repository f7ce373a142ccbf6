"""Who is calling: an API key (scripts) or a session cookie with a CSRF token (the browser).

* API keys travel in ``Authorization: Bearer cmk_…`` (or ``X-API-Key``); only their SHA-256 is
  stored and every request looks the key up again, so revoking one takes effect at once.
* The browser logs in with e-mail and password and gets two cookies: ``critmin_session``
  (httponly, SameSite=Strict) and ``critmin_csrf`` (readable by the page). Any request that
  changes something must echo the CSRF token in the ``X-CSRF-Token`` header; it must match the
  cookie and the token stored with the session (double submit, bound to the session).
* Roles rank viewer < analyst < admin: viewers read, analysts also create and run, admins also
  manage their organisation's users.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Final, Literal

from fastapi import Depends, Request
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from critmin.api import security
from critmin.api.db import utcnow
from critmin.api.deps import get_db
from critmin.api.errors import ApiError
from critmin.api.models import ROLES, ApiKey, BrowserSession, Organisation, User

SESSION_COOKIE: Final = "critmin_session"
CSRF_COOKIE: Final = "critmin_csrf"
CSRF_HEADER: Final = "X-CSRF-Token"
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
RANK: Final = {role: i for i, role in enumerate(ROLES)}


@dataclass(frozen=True)
class Principal:
    """The authenticated user, their organisation and how they proved it."""

    user_id: str
    email: str
    name: str
    role: str
    org_id: str
    org_name: str
    org_country: str | None
    via: Literal["session", "key"]

    def at_least(self, role: str) -> bool:
        return RANK[self.role] >= RANK[role]


#: The caller's fields in :class:`Principal` order (less ``via``), read as plain columns: the
#: lookup runs on every request, and loading ORM objects for it cost more than the query.
_WHO = (User.id, User.email, User.name, User.role, Organisation.id, Organisation.name,
        Organisation.country)


def _api_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.headers.get("x-api-key") or None


def authenticate(request: Request, db: Session) -> Principal | None:
    """The caller, or None when no (valid) credential is presented."""
    key = _api_key(request)
    if key is not None:
        row = db.execute(
            select(*_WHO, ApiKey.id, ApiKey.last_used_at)
            .join(ApiKey, ApiKey.user_id == User.id)
            .join(Organisation, Organisation.id == User.org_id)
            .where(ApiKey.key_hash == security.digest(key), ApiKey.revoked_at.is_(None),
                   User.active.is_(True))
        ).first()
        if row is None:
            raise ApiError(401, "API key not valid (revoked or mistyped); create a new one")
        user, email, name, role, org, org_name, country, key_id, last_used = row
        _touch(db, key_id, last_used)
        return Principal(user, email, name, role, org, org_name, country, "key")
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    found = db.execute(
        select(*_WHO, BrowserSession.csrf_token)
        .join(BrowserSession, BrowserSession.user_id == User.id)
        .join(Organisation, Organisation.id == User.org_id)
        .where(BrowserSession.token_hash == security.digest(token),
               BrowserSession.expires_at > utcnow(), User.active.is_(True))
    ).first()
    if found is None:
        return None
    user, email, name, role, org, org_name, country, csrf = found
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER.lower())
        if not (security.same(sent, request.cookies.get(CSRF_COOKIE))
                and security.same(sent, csrf)):
            raise ApiError(403, f"missing or wrong {CSRF_HEADER} header: send the value of the "
                                f"{CSRF_COOKIE} cookie")
    return Principal(user, email, name, role, org, org_name, country, "session")


def _touch(db: Session, key_id: str, last_used: datetime | None) -> None:
    """Record when a key was last used (at most once a minute: reads stay cheap)."""
    now = utcnow()
    if last_used is None or (now - last_used).total_seconds() > 60:
        db.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
        db.commit()


def current(request: Request, db: Annotated[Session, Depends(get_db)]) -> Principal:
    """Dependency: the authenticated caller, or 401.

    The session's connection goes back to the pool at once: between this step and its route a
    request may wait for a thread, and a waiting request must not hold a connection (with
    fewer connections than waiting requests, threads would block on the pool while the
    connections sat with requests waiting for those threads). The route reopens it on use.
    """
    try:
        who = authenticate(request, db)
    finally:
        db.close()
    if who is None:
        raise ApiError(401, "not logged in: POST /api/auth/login, or send an API key as "
                            "'Authorization: Bearer cmk_…'")
    return who


def require(role: str) -> Callable[..., Principal]:
    """Dependency factory: the caller, if their role is at least ``role`` (else 403)."""

    def check(who: Annotated[Principal, Depends(current)]) -> Principal:
        if not who.at_least(role):
            raise ApiError(403, f"this needs the {role} role; you are {who.role} "
                                f"(ask an admin of {who.org_name})")
        return who

    return check


Caller = Annotated[Principal, Depends(current)]
Analyst = Annotated[Principal, Depends(require("analyst"))]
Admin = Annotated[Principal, Depends(require("admin"))]
