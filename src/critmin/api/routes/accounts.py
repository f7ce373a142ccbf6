"""Log in and out, who am I, the organisation's users, and API keys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from critmin.api import accounts
from critmin.api.auth import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    Admin,
    Caller,
    Principal,
    authenticate,
)
from critmin.api.deps import Db, get_settings
from critmin.api.errors import ApiError, not_found
from critmin.api.models import ApiKey, Organisation, User
from critmin.api.settings import Settings
from critmin.errors import CritminError

router = APIRouter(prefix="/api", tags=["accounts"])


class LoginIn(BaseModel):
    email: str
    password: str


class UserIn(BaseModel):
    email: str
    password: str = Field(min_length=1)
    role: str = "analyst"
    name: str = ""


class KeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)


def me_json(who: Principal) -> dict[str, Any]:
    return {"id": who.user_id, "email": who.email, "name": who.name, "role": who.role,
            "organisation": {"id": who.org_id, "name": who.org_name,
                             "country": who.org_country},
            "authenticated_by": who.via}


@router.post("/auth/login")
def login(body: LoginIn, request: Request, response: Response, db: Db,
          settings: Annotated[Settings, Depends(get_settings)]) -> dict[str, Any]:
    """Check e-mail and password; set the session cookie (httponly) and the CSRF cookie.

    Repeated failures for one e-mail from one address are refused (429) for a while."""
    limiter = request.app.state.login_limiter
    address = request.client.host if request.client else None
    wait = limiter.retry_after(address, body.email)
    if wait > 0:
        raise ApiError(429, f"too many failed logins for this e-mail; try again in "
                            f"{max(1, round(wait))} s")
    user = accounts.check_login(db, body.email, body.password)
    if user is None:
        limiter.failed(address, body.email)
        raise ApiError(401, "e-mail or password not recognised")
    limiter.succeeded(address, body.email)
    session = accounts.open_session(db, user, settings.session_hours)
    db.commit()
    common = {"max_age": session.max_age, "secure": settings.secure_cookies, "path": "/",
              "samesite": "strict"}
    response.set_cookie(SESSION_COOKIE, session.token, httponly=True, **common)  # type: ignore[arg-type]
    response.set_cookie(CSRF_COOKIE, session.csrf_token, httponly=False, **common)  # type: ignore[arg-type]
    org = db.get(Organisation, user.org_id)
    assert org is not None
    return {"csrf_token": session.csrf_token,
            "user": me_json(Principal(user.id, user.email, user.name, user.role, org.id,
                                      org.name, org.country, "session"))}


@router.post("/auth/logout")
def logout(request: Request, response: Response, db: Db) -> dict[str, str]:
    """End the browser session (the cookie stops working at once)."""
    if authenticate(request, db) is not None:  # checks the CSRF token of a cookie session
        accounts.close_session(db, request.cookies.get(SESSION_COOKIE))
        db.commit()
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return {"status": "logged out"}


@router.get("/me")
def me(who: Caller) -> dict[str, Any]:
    """The caller, their role and organisation."""
    return me_json(who)


@router.get("/organisations")
def organisations(db: Db, _: Caller) -> list[dict[str, Any]]:
    """Organisation names and countries (what a scenario can be shared with)."""
    return [{"name": o.name, "country": o.country}
            for o in db.scalars(select(Organisation).order_by(Organisation.name))]


@router.get("/users")
def list_users(db: Db, who: Admin) -> list[dict[str, Any]]:
    """Users of the admin's organisation."""
    rows = db.scalars(select(User).where(User.org_id == who.org_id).order_by(User.email))
    return [{"id": u.id, "email": u.email, "name": u.name, "role": u.role, "active": u.active}
            for u in rows]


@router.post("/users", status_code=201)
def create_user(body: UserIn, db: Db, who: Admin) -> dict[str, Any]:
    """Add a user to the admin's organisation."""
    org = db.get(Organisation, who.org_id)
    assert org is not None
    try:
        user = accounts.create_user(db, body.email, body.password, org, body.role, body.name)
    except CritminError as err:
        raise ApiError(422, str(err)) from None
    db.commit()
    return {"id": user.id, "email": user.email, "role": user.role, "organisation": org.name}


@router.get("/keys")
def list_keys(db: Db, who: Caller) -> list[dict[str, Any]]:
    """The caller's API keys (never the secrets)."""
    rows = db.scalars(select(ApiKey).where(ApiKey.user_id == who.user_id)
                      .order_by(ApiKey.created_at))
    return [_key_json(k) for k in rows]


@router.post("/keys", status_code=201)
def create_key(body: KeyIn, db: Db, who: Caller) -> dict[str, Any]:
    """A new API key; the secret is in this response only."""
    key, secret = accounts.create_api_key(db, who.user_id, body.name)
    db.commit()
    return {**_key_json(key), "key": secret}


@router.delete("/keys/{key_id}")
def revoke_key(key_id: str, db: Db, who: Caller) -> dict[str, Any]:
    """Revoke one of the caller's keys; it stops working with the next request."""
    key = db.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == who.user_id))
    if key is None:
        raise not_found("API key", key_id)
    if key.revoked_at is None:
        from critmin.api.db import utcnow

        key.revoked_at = utcnow()
        db.commit()
    return _key_json(key)


def _key_json(key: ApiKey) -> dict[str, Any]:
    return {"id": key.id, "name": key.name, "prefix": key.prefix,
            "created_at": key.created_at.isoformat(),
            "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
            "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None}
