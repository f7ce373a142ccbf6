"""Bounded load test of ``critmin serve`` on loopback: many clients reading and writing at once.

Usage::

    PYTHONPATH=src .venv/bin/python benchmarks/load.py                    # SQLite + PostgreSQL
    PYTHONPATH=src .venv/bin/python benchmarks/load.py --db sqlite --clients 5 --seconds 5
    PYTHONPATH=src .venv/bin/python benchmarks/load.py --workers 1        # one server process

For each database (PostgreSQL when Debian's server binaries are installed; it is started and
stopped here with the tests' starter, tests/web/servers.py) the script starts ``critmin serve``
on a free 127.0.0.1 port (``--workers`` processes; default that of ``critmin serve``,
min(4, CPUs)), makes an analyst and an API key with the app's own functions, then
runs ``--clients`` concurrent clients for ``--seconds``. Each client loops over a fixed mix of
requests — list scenarios, read one, the dataset catalog, a facts query, the risk table, and
creating a scenario — until the time is up or it has sent ``--max-requests``. Afterwards every
scenario a client created (HTTP 201 with an id) must be listed exactly once, readable, and hold
the text that was sent. It prints per-endpoint latency (p50, p95, max) and errors, and the
machine's load average before and after (the machine may be shared: latency under load depends
on what else runs), writes them as JSON with ``--json``, and exits 1 on any error, loss or
duplicate. Traffic goes to 127.0.0.1 only; the servers are stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the tests' server starter (web.servers)

#: Read endpoints and how often each appears in a client's cycle; one write per cycle.
READS: tuple[tuple[str, str, int], ...] = (
    ("GET /api/scenarios", "/api/scenarios", 3),
    ("GET /api/scenarios/{id}", "/api/scenarios/{id}", 3),
    ("GET /api/datasets", "/api/datasets", 1),
    ("GET /api/datasets/facts", "/api/datasets/facts?commodity=rare-earths&stage=mine", 1),
    ("GET /api/metrics/risk", "/api/metrics/risk?commodity=gallium", 1),
)
WRITE = "POST /api/scenarios"
#: ``critmin serve --workers`` reads its default from this variable.
WORKERS_ENV = "CRITMIN_SERVE_WORKERS"
SCENARIO = """\
name: {name}
start: 2026Q1
horizon: 8
chains: [rare-earths]
blocs:
  china: [CHN]
shocks:
  - kind: licence_approval
    commodity: rare-earths
    stage: separated
    exporter: china
    start: 2026Q2
    value: {value}
"""


@dataclass
class Tally:
    """What the clients saw: latencies per endpoint, errors, and the scenarios they created."""

    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    created: dict[str, str] = field(default_factory=dict)  # id → the YAML sent


async def _client(number: int, base: str, headers: dict[str, str], until: float,
                  max_requests: int, seed_ids: list[str], tally: Tally,
                  exclude: frozenset[str] = frozenset()) -> None:
    import httpx

    cycle = [(label, path) for label, path, weight in READS for _ in range(weight)
             if label not in exclude]
    cycle.append((WRITE, ""))
    sent = 0
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
        while time.monotonic() < until and sent < max_requests:
            label, path = cycle[sent % len(cycle)]
            sent += 1
            known = list(tally.created) or seed_ids
            body = None
            if label == WRITE:
                body = SCENARIO.format(name=f"load-{number}-{sent}", value=(sent % 9 + 1) / 10)
            elif "{id}" in path:
                path = path.replace("{id}", known[(number * 7919 + sent) % len(known)])
            started = time.perf_counter()
            try:
                if body is not None:
                    response = await client.post("/api/scenarios", content=body,
                                                 headers={"content-type": "application/yaml"})
                else:
                    response = await client.get(path)
            except httpx.HTTPError as err:
                tally.errors.append(f"{label}: {type(err).__name__}: {err}")
                continue
            tally.latency[label].append(time.perf_counter() - started)
            expected = 201 if body is not None else 200
            if response.status_code != expected:
                tally.errors.append(f"{label}: HTTP {response.status_code} {response.text[:200]}")
            elif body is not None:
                tally.created[response.json()["id"]] = body


async def _drive(base: str, headers: dict[str, str], clients: int, seconds: float,
                 max_requests: int, seed_ids: list[str],
                 exclude: frozenset[str]) -> tuple[Tally, float]:
    tally = Tally()
    started = time.monotonic()
    until = started + seconds
    await asyncio.gather(*(_client(i, base, headers, until, max_requests, seed_ids, tally,
                                   exclude) for i in range(clients)))
    return tally, time.monotonic() - started


def _verify(base: str, headers: dict[str, str], tally: Tally) -> dict[str, int]:
    """Every created scenario listed exactly once, readable, holding the text sent."""
    import httpx

    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        listed = [s["id"] for s in client.get("/api/scenarios").json()]
        counts: dict[str, int] = defaultdict(int)
        for ident in listed:
            counts[ident] += 1
        lost = [i for i in tally.created if counts.get(i, 0) == 0]
        duplicated = [i for i in tally.created if counts.get(i, 0) > 1]
        unreadable = 0
        for ident, text in tally.created.items():
            got = client.get(f"/api/scenarios/{ident}")
            if got.status_code != 200 or got.json()["latest"]["body"] != text:
                unreadable += 1
        names = [n for n in (client.get("/api/scenarios").json()) if n["name"].startswith("load-")]
    by_name: dict[str, int] = defaultdict(int)
    for row in names:
        by_name[row["name"]] += 1
    return {"created": len(tally.created), "listed": len(listed), "lost": len(lost),
            "duplicated": len(duplicated) + sum(1 for n in by_name.values() if n > 1),
            "unreadable": unreadable}


def _summary(tally: Tally, elapsed: float) -> dict[str, Any]:
    endpoints = {}
    for label, values in sorted(tally.latency.items()):
        ms = np.asarray(values) * 1000
        endpoints[label] = {"requests": len(values),
                            "p50_ms": round(float(np.percentile(ms, 50)), 1),
                            "p95_ms": round(float(np.percentile(ms, 95)), 1),
                            "max_ms": round(float(ms.max()), 1)}
    total = sum(len(v) for v in tally.latency.values())
    return {"seconds": round(elapsed, 1), "requests": total,
            "requests_per_second": round(total / elapsed, 1) if elapsed else None,
            "errors": len(tally.errors), "first_errors": tally.errors[:5],
            "endpoints": endpoints}


@contextlib.contextmanager
def _serve_workers(workers: int | None):  # type: ignore[no-untyped-def]
    """``critmin serve`` started meanwhile runs ``workers`` processes (its default if None)."""
    before = os.environ.get(WORKERS_ENV)
    if workers is not None:
        os.environ[WORKERS_ENV] = str(workers)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(WORKERS_ENV, None)
        else:
            os.environ[WORKERS_ENV] = before


def run_against(db_url: str, folder: Path, clients: int, seconds: float,
                max_requests: int = 100_000, exclude: frozenset[str] = frozenset(),
                workers: int | None = None) -> dict[str, Any]:
    """Start a server on ``db_url``, load it, verify what was stored, stop it; the figures."""
    from sqlalchemy import select

    from critmin.api import accounts
    from critmin.api.db import make_engine, session_factory, transaction
    from critmin.api.models import User
    from web.servers import create_user, start_server

    create_user(db_url, "load@lab.org", "Load Lab", "analyst", "USA")
    engine = make_engine(db_url)
    with transaction(session_factory(engine)) as db:
        user = db.scalar(select(User).where(User.email == "load@lab.org"))
        _, secret = accounts.create_api_key(db, user.id, "load test")
    engine.dispose()
    headers = {"Authorization": f"Bearer {secret}"}
    with _serve_workers(workers):
        server = start_server(db_url, folder / "serve.log")
    try:
        import httpx

        seed = httpx.post(f"{server.base}/api/scenarios", headers={
            **headers, "content-type": "application/yaml"},
            content=SCENARIO.format(name="seed", value=0.5), timeout=60)
        seed.raise_for_status()
        load_before = os.getloadavg()
        tally, elapsed = asyncio.run(_drive(server.base, headers, clients, seconds,
                                            max_requests, [seed.json()["id"]], exclude))
        load_after = os.getloadavg()
        stored = _verify(server.base, headers, tally)
        processes = _server_processes(server.proc.pid)
    finally:
        server.stop()
    return {"clients": clients, "server_processes": processes, **_summary(tally, elapsed),
            "load_average": {"before": [round(x, 2) for x in load_before],
                             "after": [round(x, 2) for x in load_after]},
            "stored": stored}


def _server_processes(pid: int) -> int:
    """Processes answering requests: the workers ``critmin serve`` started, or itself alone."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 1
    workers = 0
    for child in children:
        with contextlib.suppress(OSError):
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                workers += 1
    return workers or 1


def passed(result: dict[str, Any]) -> bool:
    stored = result["stored"]
    return (result["errors"] == 0 and stored["lost"] == 0 and stored["duplicated"] == 0
            and stored["unreadable"] == 0 and stored["created"] > 0)


def run(dbs: list[str], clients: int, seconds: float, max_requests: int = 100_000,
        exclude: frozenset[str] = frozenset(), workers: int | None = None
        ) -> dict[str, dict[str, Any]]:
    """The load test on each database in ``dbs`` (``sqlite``, ``postgresql``)."""
    from web.servers import postgres_or_none, sqlite_url

    out: dict[str, dict[str, Any]] = {}
    for db in dbs:
        with tempfile.TemporaryDirectory(prefix=f"critmin-load-{db}-") as tmp:
            folder = Path(tmp)
            if db == "sqlite":
                out[db] = run_against(sqlite_url(folder), folder, clients, seconds, max_requests,
                                      exclude, workers)
                continue
            with postgres_or_none() as postgres:
                if postgres is None:
                    out[db] = {"skipped": "PostgreSQL server binaries not installed"}
                    continue
                url = postgres.create_database("load")
                out[db] = run_against(url, folder, clients, seconds, max_requests, exclude,
                                      workers)
    return out


def _print(results: dict[str, dict[str, Any]]) -> None:
    for db, result in results.items():
        if "skipped" in result:
            print(f"{db}: skipped ({result['skipped']})")
            continue
        stored = result["stored"]
        print(f"{db}: {result['clients']} clients, {result['server_processes']} server "
              f"processes, {result['seconds']} s, {result['requests']} requests "
              f"({result['requests_per_second']}/s), {result['errors']} errors; scenarios "
              f"created {stored['created']}, lost {stored['lost']}, duplicated "
              f"{stored['duplicated']}, unreadable {stored['unreadable']}; load average "
              f"{result['load_average']['before'][0]} before, "
              f"{result['load_average']['after'][0]} after")
        print(f"  {'endpoint':<28}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
        for label, row in result["endpoints"].items():
            print(f"  {label:<28}{row['requests']:>9}{row['p50_ms']:>9}{row['p95_ms']:>9}"
                  f"{row['max_ms']:>9}")
        for error in result["first_errors"]:
            print(f"  error: {error}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--max-requests", type=int, default=100_000,
                        help="per client: the loop stops at this count even before the time")
    parser.add_argument("--exclude", action="append", default=[], metavar="ENDPOINT",
                        choices=[label for label, _, _ in READS],
                        help="leave a read endpoint out of the mix, e.g. 'GET /api/metrics/risk'")
    parser.add_argument("--workers", type=int, default=None,
                        help="server processes (critmin serve --workers; default its own)")
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    args = parser.parse_args()
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = run(dbs, args.clients, args.seconds, args.max_requests, frozenset(args.exclude),
                  args.workers)
    _print(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    ran = [r for r in results.values() if "skipped" not in r]
    return 0 if ran and all(passed(r) for r in ran) else 1


if __name__ == "__main__":
    sys.exit(main())
