"""The job queue: runs live in the database, each executes in its own worker process.

Life of a run: ``queued`` (row inserted by the API) → ``running`` (claimed by one server
process with a conditional UPDATE, so two processes never take the same run) → ``succeeded`` |
``failed`` | ``cancelled``. Every process of ``critmin serve --workers N`` runs a queue; the
claim also checks, in the same statement, that the server's processes together run fewer than
``max_workers`` runs (on PostgreSQL claims take a transaction-level advisory lock first, so two
claims cannot both see the last free slot). The worker (:mod:`critmin.api.worker`) writes the
result and flips the status in one transaction, and only if the run is still ``running`` under
the same runner: a result can never appear for a run that was cancelled or given up, and a
half-written result is never seen.

Surviving a crash: the server refreshes the heartbeat of the runs it executes. On start it marks
``failed`` every ``running`` run whose server process is gone (same host, process dead) or whose
heartbeat is stale (another host), and kills a leftover worker of such a run; workers also die
with their server (``PR_SET_PDEATHSIG`` plus a parent watchdog). Nothing stays ``running``.
Each flip is conditional on the run still being ``running`` under the dead runner, so several
processes recovering at once (N workers starting together) fail each run exactly once and never
overwrite a result that was written meanwhile.
A graceful shutdown puts its unfinished runs back in the queue.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import aliased

from critmin.api.db import transaction, updated, utcnow
from critmin.api.models import Run
from critmin.api.security import new_token

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from critmin.api.settings import Settings

log = logging.getLogger(__name__)

INTERRUPTED: Final = ("interrupted: the server stopped while this run was in progress; no "
                      "result was kept. Start the run again.")
WORKER_MODULE: Final = "critmin.api.worker"
#: Key of the PostgreSQL advisory lock that serialises claims (any constant; "critmin" in hex).
CLAIM_LOCK: Final = 0x637269746D696E


def runner_id(server_id: str = "") -> str:
    """``host:pid:server.token`` naming this server process uniquely, even after pid reuse;
    the processes of one ``critmin serve`` share ``server``."""
    return f"{socket.gethostname()}:{os.getpid()}:{server_id}.{new_token()[:8]}"


def runner_pattern(server_id: str) -> str:
    """SQL LIKE pattern matching the runner id of every process of server ``server_id``."""
    return f"%:{server_id}.%"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_worker_of(pid: int, run_id: str) -> bool:
    """Whether process ``pid`` is a critmin worker executing ``run_id`` (guards pid reuse)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return WORKER_MODULE.encode() in cmdline and run_id.encode() in cmdline


def runner_is_dead(runner: str | None, heartbeat_age: float | None, stale_after: float,
                   host: str, me: str) -> bool:
    """Whether the server process named ``runner`` can no longer finish its run."""
    if runner is None:
        return True
    parts = runner.split(":")
    if len(parts) == 3 and parts[0] == host:
        if runner == me:
            return False
        pid = int(parts[1])
        return pid == os.getpid() or not _alive(pid)
    return heartbeat_age is None or heartbeat_age > stale_after


@dataclass
class Worker:
    """A worker process and the file that takes its output (a file, not a pipe: a chatty
    worker never blocks on a full pipe)."""

    proc: subprocess.Popen[bytes]
    log: IO[bytes]

    def tail(self) -> str:
        """The last line of the worker's output (the file is closed afterwards)."""
        self.log.seek(0, os.SEEK_END)
        self.log.seek(max(0, self.log.tell() - 4000))
        lines = [x for x in self.log.read().decode(errors="replace").splitlines() if x.strip()]
        self.log.close()
        return lines[-1] if lines else "no output"

    def terminate(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@dataclass
class JobQueue:
    """Claims queued runs, starts workers, watches them; one per server process."""

    settings: Settings
    sessions: sessionmaker[Session]
    runner: str = ""
    procs: dict[str, Worker] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.runner = self.runner or runner_id(self.settings.server_id)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self.recover()
        self._thread = threading.Thread(target=self._loop, name="critmin-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the loop; unfinished runs go back to the queue for the next start."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:
            for run_id, worker in list(self.procs.items()):
                worker.terminate()
                with transaction(self.sessions) as db:
                    db.execute(update(Run).where(Run.id == run_id, Run.status == "running",
                                                 Run.runner == self.runner)
                               .values(status="queued", runner=None, worker_pid=None,
                                       started_at=None, heartbeat_at=None))
            self.procs.clear()

    def recover(self) -> int:
        """Mark failed every running run whose server died; returns how many."""
        host, now = socket.gethostname(), utcnow()
        with self.sessions() as db:
            running = db.execute(select(Run.id, Run.runner, Run.heartbeat_at, Run.worker_pid)
                                 .where(Run.status == "running")).all()
        failed = 0
        for run_id, runner, heartbeat, worker_pid in running:
            age = (now - heartbeat).total_seconds() if heartbeat else None
            if not runner_is_dead(runner, age, self.settings.stale_seconds, host, self.runner):
                continue
            with transaction(self.sessions) as db:  # only if still running under that runner
                flipped = updated(db, update(Run).where(
                    Run.id == run_id, Run.status == "running",
                    Run.runner.is_(None) if runner is None else Run.runner == runner)
                    .values(status="failed", finished_at=now, error=INTERRUPTED))
            if flipped != 1:
                continue  # another process recovered it, or it finished meanwhile
            failed += 1
            if (worker_pid and runner and runner.split(":")[0] == host
                    and _is_worker_of(worker_pid, run_id)):
                os.kill(worker_pid, signal.SIGKILL)  # its result would be refused anyway
        if failed:
            log.warning("marked %d interrupted run(s) failed", failed)
        return failed

    # -- the loop ----------------------------------------------------------------------------

    def _loop(self) -> None:
        sweep_every = max(1, int(self.settings.stale_seconds / 2 / self.settings.poll_seconds))
        tick = 0
        while not self._stop.wait(self.settings.poll_seconds):
            try:
                with self._lock:
                    self._reap()
                    self._cancel()
                    self._heartbeat()
                    self._claim()
                tick += 1
                if tick % sweep_every == 0:
                    self.recover()
            except Exception:  # keep serving; the next tick retries
                log.exception("job queue tick failed")

    def _heartbeat(self) -> None:
        if not self.procs:
            return
        with transaction(self.sessions) as db:
            db.execute(update(Run).where(Run.runner == self.runner, Run.status == "running")
                       .values(heartbeat_at=utcnow()))

    def _claim(self) -> None:
        while len(self.procs) < self.settings.max_workers:
            with transaction(self.sessions) as db:
                run_id = db.scalar(select(Run.id).where(Run.status == "queued")
                                   .order_by(Run.created_at, Run.id).limit(1))
                if run_id is None:
                    return
                if db.get_bind().dialect.name == "postgresql":
                    db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CLAIM_LOCK})
                other = aliased(Run)  # not correlated with the row being updated
                busy = (select(func.count()).select_from(other)
                        .where(other.status == "running",
                               other.runner.like(runner_pattern(self.settings.server_id)))
                        .scalar_subquery())
                now = utcnow()
                claimed = updated(db, update(Run).where(
                    Run.id == run_id, Run.status == "queued", busy < self.settings.max_workers)
                    .values(status="running", runner=self.runner, started_at=now,
                            heartbeat_at=now))
            if claimed != 1:
                return  # another process took it, or the server is at its limit: next tick
            self.procs[run_id] = self._spawn(run_id)  # the worker records its own pid

    def _spawn(self, run_id: str) -> Worker:
        env = dict(os.environ)
        env["CRITMIN_DB_URL"] = self.settings.db_url
        src = str(Path(__file__).resolve().parents[2])  # works without `pip install -e`
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
        log_file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by Worker)
        proc = subprocess.Popen(
            [sys.executable, "-m", WORKER_MODULE, run_id, self.runner],
            env=env, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file)
        return Worker(proc, log_file)

    def _reap(self) -> None:
        """Workers that exited: a crash (no status written) marks the run failed."""
        for run_id, worker in list(self.procs.items()):
            code = worker.proc.poll()
            if code is None:
                continue
            del self.procs[run_id]
            message = f"worker exited with code {code}: {worker.tail()}"
            with transaction(self.sessions) as db:
                db.execute(update(Run).where(Run.id == run_id, Run.status == "running",
                                             Run.runner == self.runner)
                           .values(status="failed", finished_at=utcnow(), error=message))

    def _cancel(self) -> None:
        if not self.procs:
            return
        with self.sessions() as db:
            wanted = set(db.scalars(select(Run.id).where(
                Run.runner == self.runner, Run.status == "running",
                Run.cancel_requested.is_(True))))
        for run_id in wanted & set(self.procs):
            worker = self.procs.pop(run_id)
            with transaction(self.sessions) as db:  # flip first: a late result is refused
                db.execute(update(Run).where(Run.id == run_id, Run.status == "running")
                           .values(status="cancelled", finished_at=utcnow(),
                                   error="cancelled on request"))
            worker.terminate()

    def wait_idle(self, timeout: float) -> bool:
        """Test helper: wait until no run is queued or running (True if reached)."""
        deadline = utcnow() + timedelta(seconds=timeout)
        while utcnow() < deadline:
            with self.sessions() as db:
                busy = db.scalar(select(Run.id).where(Run.status.in_(("queued", "running")))
                                 .limit(1))
            if busy is None:
                return True
            self._stop.wait(0.1)
        return False

