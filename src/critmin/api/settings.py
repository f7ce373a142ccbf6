"""Server settings: where the database is, how runs are executed, how cookies are set.

One frozen object built once at start (from ``critmin serve`` options or the environment) and
handed to every part that needs it, so tests can build a server with their own settings.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

#: Environment variable holding the database URL (``critmin serve --db`` wins over it).
DB_ENV = "CRITMIN_DB_URL"
#: How ``critmin serve`` hands its settings to its worker processes (JSON; internal).
SETTINGS_ENV = "CRITMIN_SERVE_SETTINGS"


def default_db_url() -> str:
    """``$CRITMIN_DB_URL``, else a SQLite file in the user's data folder (created on demand)."""
    if os.environ.get(DB_ENV):
        return os.environ[DB_ENV]
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    folder = base / "critmin"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'critmin.db'}"


@dataclass(frozen=True)
class Settings:
    """What a server instance needs to know; defaults suit a single analyst's laptop."""

    db_url: str = field(default_factory=default_db_url)
    #: Mark cookies ``Secure`` (set when the server sits behind HTTPS).
    secure_cookies: bool = False
    #: Runs executed at the same time by this server, all its processes together (each run
    #: in its own worker process).
    max_workers: int = 1
    #: Browser session lifetime.
    session_hours: float = 12.0
    #: How often the queue looks for work and refreshes the heartbeat of its running jobs.
    poll_seconds: float = 0.5
    #: A running job whose heartbeat is older than this belongs to a dead server.
    stale_seconds: float = 30.0
    #: Start the job queue with the app (tests of pure endpoints may switch it off).
    run_queue: bool = True
    #: Names one server: every process of one ``critmin serve --workers N`` shares it, so
    #: ``max_workers`` bounds the runs of all of them together.
    server_id: str = field(default_factory=lambda: secrets.token_hex(4))

    def to_env(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_env(cls) -> Settings:
        """The settings ``critmin serve`` put in ``$CRITMIN_SERVE_SETTINGS`` (else defaults)."""
        raw = os.environ.get(SETTINGS_ENV)
        return cls(**json.loads(raw)) if raw else cls()
