"""Test helpers: a real PostgreSQL server started from Debian's binaries on loopback, the
database URLs to run the API tests against, and ``critmin serve`` as a subprocess.

Start one of each per test module (the fixtures in the modules are module-scoped).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pg_bin() -> Path | None:
    """Folder of Debian's PostgreSQL server binaries (initdb, pg_ctl), if installed."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


@dataclass
class Postgres:
    """A throw-away PostgreSQL cluster in a temporary folder, listening on 127.0.0.1."""

    folder: Path
    port: int
    bin: Path
    prefix: list[str]

    @property
    def url(self) -> str:
        return f"postgresql://critmin@127.0.0.1:{self.port}/postgres"

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        subprocess.run([*self.prefix, str(self.bin / "psql"), "-h", "127.0.0.1", "-p",
                        str(self.port), "-U", "critmin", "-d", "postgres", "-q", "-c",
                        f'CREATE DATABASE "{name}"'], check=True, capture_output=True)
        return f"postgresql://critmin@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        subprocess.run([*self.prefix, str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"),
                        "-m", "immediate", "-w", "stop"], capture_output=True, check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_postgres() -> Postgres:
    """initdb + pg_ctl start as a non-root user (``postgres`` when run as root)."""
    binaries = pg_bin()
    if binaries is None:
        raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="critmin-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    data = folder / "data"
    subprocess.run([*prefix, str(binaries / "initdb"), "-D", str(data), "-U", "critmin",
                    "-A", "trust", "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
    options = (f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
               "-c full_page_writes=off -c synchronous_commit=off")
    subprocess.run([*prefix, str(binaries / "pg_ctl"), "-D", str(data), "-o", options,
                    "-l", str(folder / "log"), "-w", "-t", "60", "start"], check=True,
                   capture_output=True)
    return Postgres(folder, port, binaries, prefix)


def sqlite_url(folder: Path, name: str = "critmin.db") -> str:
    return f"sqlite:///{folder / name}"


@dataclass
class Server:
    """``critmin serve`` running in a subprocess."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def serve_command() -> list[str]:
    """``critmin serve`` as the installed CLI runs it (``python -m critmin``), or, while the
    command is not yet wired into the main app, the same command on a bare typer app."""
    from critmin.cli import app

    if any(c.name == "serve" for c in app.registered_commands):
        return [sys.executable, "-m", "critmin", "serve"]
    code = ("import typer; from critmin.cli import serve; a = typer.Typer(); "
            "serve.register(a); a()")
    return [sys.executable, "-c", code, "serve"]


def env() -> dict[str, str]:
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), out.get("PYTHONPATH")) if p)
    return out


def start_server(db_url: str, log: Path, timeout: float = 60) -> Server:
    """Start ``critmin serve`` on a free loopback port and wait until /api/health answers."""
    port = free_port()
    with open(log, "ab") as handle:
        proc = subprocess.Popen([*serve_command(), "--port", str(port), "--db", db_url],
                                env=env(), stdout=handle, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    server = Server(proc, port, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"critmin serve exited: {log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.base}/api/health", timeout=2).status_code == 200:
                return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"critmin serve did not answer in {timeout}s: {log.read_text()[-2000:]}")


def create_user(db_url: str, email: str, org: str, role: str = "admin",
                country: str | None = None) -> None:
    """``critmin user create`` through the CLI, password on stdin."""
    import typer
    from typer.testing import CliRunner

    from critmin.cli import serve

    app = typer.Typer()
    serve.register(app)
    args = ["user", "create", "--email", email, "--org", org, "--role", role, "--db", db_url,
            "--password-stdin"]
    if country:
        args += ["--country", country]
    result = CliRunner().invoke(app, args, input=PASSWORD + "\n")
    if result.exit_code != 0:
        raise RuntimeError(f"user create failed: {result.output} {result.exception!r}")


@contextlib.contextmanager
def postgres_or_none() -> Iterator[Postgres | None]:
    """A running PostgreSQL, or None when the binaries are absent."""
    if pg_bin() is None:
        yield None
        return
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()
