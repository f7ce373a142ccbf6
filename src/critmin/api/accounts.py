"""Accounts: organisations, users, browser sessions and API keys (used by the API and the CLI)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from critmin.api import security
from critmin.api.db import utcnow
from critmin.api.models import ROLES, ApiKey, BrowserSession, Organisation, User
from critmin.errors import CritminError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_role(role: str) -> str:
    if role not in ROLES:
        raise CritminError(f"role {role!r} is not known; allowed: {', '.join(ROLES)}")
    return role


def check_country(country: str | None) -> str | None:
    """An organisation's country must be an ISO3 code of the curated country table."""
    if country is None or country == "":
        return None
    from critmin.data import countries

    code = country.strip().upper()
    if code not in set(countries().iso3):
        raise CritminError(f"country {country!r} is not an ISO3 code (e.g. USA, JPN, DEU)")
    return code


def get_or_create_org(db: Session, name: str, country: str | None = None) -> Organisation:
    """The organisation called ``name``, created (with ``country``) if there is none."""
    name = name.strip()
    if not name:
        raise CritminError("organisation name is empty")
    org = db.scalar(select(Organisation).where(Organisation.name == name))
    if org is None:
        org = Organisation(name=name, country=check_country(country))
        db.add(org)
        db.flush()
    elif country is not None and check_country(country) != org.country:
        raise CritminError(f"organisation {name!r} exists with country {org.country or 'none'}")
    return org


def create_user(db: Session, email: str, password: str, org: Organisation, role: str,
                name: str = "") -> User:
    """A new active user; refuses a taken or malformed e-mail and a short password."""
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise CritminError(f"e-mail {email!r} is not valid")
    if db.scalar(select(User).where(User.email == email)) is not None:
        raise CritminError(f"a user with e-mail {email!r} already exists")
    user = User(email=email, name=name, org_id=org.id, role=check_role(role),
                password_hash=security.hash_password(password), active=True)
    db.add(user)
    db.flush()
    return user


def check_login(db: Session, email: str, password: str) -> User | None:
    """The user if the password matches; same work whether or not the e-mail exists."""
    user = db.scalar(select(User).where(User.email == email.strip().lower(),
                                        User.active.is_(True)))
    stored = user.password_hash if user is not None else security.dummy_hash()
    ok = security.verify_password(stored, password)
    return user if ok and user is not None else None


@dataclass(frozen=True)
class NewSession:
    token: str
    csrf_token: str
    max_age: int


def open_session(db: Session, user: User, hours: float) -> NewSession:
    """A new browser session (the user's expired ones are removed on the way)."""
    db.execute(delete(BrowserSession).where(BrowserSession.user_id == user.id,
                                            BrowserSession.expires_at <= utcnow()))
    token, csrf = security.new_token(), security.new_token()
    db.add(BrowserSession(token_hash=security.digest(token), user_id=user.id, csrf_token=csrf,
                          expires_at=utcnow() + timedelta(hours=hours)))
    return NewSession(token, csrf, int(hours * 3600))


def close_session(db: Session, token: str | None) -> None:
    if token:
        session = db.get(BrowserSession, security.digest(token))
        if session is not None:
            db.delete(session)


def create_api_key(db: Session, user_id: str, name: str) -> tuple[ApiKey, str]:
    """A new key for ``user_id``: the row (hash only) and the secret, shown once."""
    secret = security.new_token(security.API_KEY_PREFIX)
    key = ApiKey(user_id=user_id, name=name.strip() or "key",
                 prefix=secret[: len(security.API_KEY_PREFIX) + 6],
                 key_hash=security.digest(secret))
    db.add(key)
    db.flush()
    return key, secret
