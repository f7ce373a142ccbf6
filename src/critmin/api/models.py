"""The service's tables (SQLAlchemy 2 declarative). The migrations create exactly these.

Ids are random 128-bit hex strings, so they cannot be guessed or counted; secrets (session
tokens, API keys) are stored only as SHA-256 hashes, passwords only as argon2 hashes.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Final

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from critmin.api.db import utcnow

ROLES: Final = ("viewer", "analyst", "admin")
RUN_STATES: Final = ("queued", "running", "succeeded", "failed", "cancelled")
#: States a run never leaves.
FINAL_STATES: Final = frozenset({"succeeded", "failed", "cancelled"})
SHARE_KINDS: Final = ("scenario", "overlay")


def new_id() -> str:
    """A random 32-hex-digit id."""
    return secrets.token_hex(16)


class Base(DeclarativeBase):
    pass


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    #: ISO3 of the organisation's country: sharing with a country group reaches it.
    country: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('viewer', 'analyst', 'admin')", name="ck_role"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"),
                                        index=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class BrowserSession(Base):
    __tablename__ = "sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    #: The first characters of the key, shown so a user can tell keys apart.
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)


class Scenario(Base):
    __tablename__ = "scenarios"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"),
                                        index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    latest_version: Mapped[int] = mapped_column(Integer, default=1)


class ScenarioVersion(Base):
    __tablename__ = "scenario_versions"
    __table_args__ = (UniqueConstraint("scenario_id", "version", name="uq_scenario_version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    scenario_id: Mapped[str] = mapped_column(ForeignKey("scenarios.id", ondelete="CASCADE"),
                                             index=True)
    version: Mapped[int] = mapped_column(Integer)
    #: The document as the user sent it (YAML or JSON text), kept verbatim.
    body: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(16))
    #: SHA-256 of the validated scenario's canonical JSON (12 hex digits, as results record).
    scenario_hash: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Overlay(Base):
    """An organisation's own figures that replace or add to the curated facts in its runs."""

    __tablename__ = "overlays"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"),
                                        index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000), default="")
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class OverlayRow(Base):
    __tablename__ = "overlay_rows"
    __table_args__ = (
        UniqueConstraint("overlay_id", "commodity", "stage", "iso3", "year", "statistic",
                         name="uq_overlay_fact"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    overlay_id: Mapped[str] = mapped_column(ForeignKey("overlays.id", ondelete="CASCADE"),
                                            index=True)
    commodity: Mapped[str] = mapped_column(String(100))
    stage: Mapped[str] = mapped_column(String(100))
    iso3: Mapped[str] = mapped_column(String(3))
    year: Mapped[int] = mapped_column(Integer)
    statistic: Mapped[str] = mapped_column(String(40))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(String(500), default="")


class Share(Base):
    """Grants read (and run) access on a scenario or overlay to an organisation or a group."""

    __tablename__ = "shares"
    __table_args__ = (
        CheckConstraint("kind IN ('scenario', 'overlay')", name="ck_share_kind"),
        CheckConstraint("(target_org_id IS NULL) <> (target_group IS NULL)",
                        name="ck_share_target"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(16))
    resource_id: Mapped[str] = mapped_column(String(32), index=True)
    owner_org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    target_org_id: Mapped[str | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    #: A country group of the curated data (e.g. trade-club): every organisation whose country
    #: is a member today.
    target_group: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Run(Base):
    """A simulation job: queued → running → succeeded | failed | cancelled."""

    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')",
            name="ck_run_status",
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"),
                                        index=True)
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    scenario_version_id: Mapped[str] = mapped_column(ForeignKey("scenario_versions.id"))
    overlay_id: Mapped[str | None] = mapped_column(ForeignKey("overlays.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: ``host:pid:token`` of the server process that claimed the run.
    runner: Mapped[str | None] = mapped_column(String(200))
    worker_pid: Mapped[int | None] = mapped_column(Integer)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)


class RunResult(Base):
    """A finished run's results; written in the same transaction that marks it succeeded."""

    __tablename__ = "run_results"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"),
                                        primary_key=True)
    payload: Mapped[str] = mapped_column(Text)
    data_edition: Mapped[str] = mapped_column(String(200))
    scenario_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class LoginFailure(Base):
    """A failed login, kept for the login limiter's window. Shared by every server process
    (a limit counted in each process's memory would allow N times the attempts), and holding
    only a hash of (client address, e-mail), never the address or e-mail themselves."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
