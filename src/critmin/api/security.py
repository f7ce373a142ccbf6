"""Secrets: argon2 password hashes, random tokens, and SHA-256 digests of tokens.

Passwords are low-entropy, so they get a slow memory-hard hash (argon2id). Session tokens and
API keys are 256-bit random strings: a fast SHA-256 digest is enough to store them and lets a
request find its key with one indexed lookup.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from typing import Final

from critmin.errors import CritminError

API_KEY_PREFIX: Final = "cmk_"
MIN_PASSWORD: Final = 10


@functools.cache
def _hasher():  # type: ignore[no-untyped-def]
    from argon2 import PasswordHasher

    return PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile


def check_password_strength(password: str) -> None:
    """Refuse passwords too short to resist guessing."""
    if len(password) < MIN_PASSWORD:
        raise CritminError(f"password too short: use at least {MIN_PASSWORD} characters")


def hash_password(password: str) -> str:
    """An argon2id hash (salt and parameters included in the string)."""
    check_password_strength(password)
    return str(_hasher().hash(password))


def verify_password(stored: str, password: str) -> bool:
    """True if ``password`` matches the stored argon2 hash."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(_hasher().verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False


#: A valid hash of a random password, verified against when the e-mail is unknown so that a
#: login takes as long for unknown accounts as for known ones.
@functools.cache
def dummy_hash() -> str:
    return str(_hasher().hash(secrets.token_urlsafe(16)))


def new_token(prefix: str = "") -> str:
    """A 256-bit URL-safe random token."""
    return prefix + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two secrets (False if either is missing)."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))
