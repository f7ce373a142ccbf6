"""One run, in its own process: ``python -m critmin.api.worker RUN_ID RUNNER``.

Started by the job queue of the server named ``RUNNER``. It reads the run's scenario version
and overlay from the database, applies the overlay to a private copy of the curated facts,
simulates, and then writes the result and flips the run to ``succeeded`` in one transaction,
only if the run is still ``running`` under ``RUNNER`` (a cancelled or given-up run keeps no
result). It dies with its server: ``PR_SET_PDEATHSIG`` on Linux, plus a watchdog thread.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import traceback
from pathlib import Path

from sqlalchemy import select, update

from critmin.api.db import make_engine, session_factory, transaction, updated, utcnow
from critmin.api.models import Overlay, OverlayRow, Run, RunResult, ScenarioVersion
from critmin.api.settings import default_db_url
from critmin.errors import CritminError

log = logging.getLogger("critmin.worker")


def die_with_parent(parent: int) -> None:
    """Exit when the server process ``parent`` that started us exits, however it exits.

    ``parent`` comes from the runner id rather than ``os.getppid()``, so a server that died
    before this line ran is noticed too.
    """
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass
    if os.getppid() != parent:  # the server died before prctl took effect
        os._exit(3)

    def watch() -> None:
        while True:
            threading.Event().wait(0.5)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, daemon=True, name="parent-watchdog").start()


def finish(factory, run_id: str, runner: str, *, payload: dict | None = None,  # type: ignore[no-untyped-def]
           data_edition: str = "", scenario_hash: str = "", error: str | None = None) -> bool:
    """Write the outcome atomically; False if the run was no longer ours (nothing written)."""
    status = "succeeded" if error is None else "failed"
    with transaction(factory) as db:
        flipped = updated(db, update(Run).where(Run.id == run_id, Run.status == "running",
                                                Run.runner == runner)
                          .values(status=status, finished_at=utcnow(), error=error))
        if flipped != 1:  # nothing was changed: the commit is empty
            return False
        if payload is not None:
            db.add(RunResult(run_id=run_id, payload=json.dumps(payload, allow_nan=False),
                             data_edition=data_edition, scenario_hash=scenario_hash))
    return True


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s worker %(levelname)s %(message)s")
    run_id, runner = argv[0], argv[1]
    die_with_parent(int(runner.split(":")[1]))
    factory = session_factory(make_engine(os.environ.get("CRITMIN_DB_URL") or default_db_url()))
    with transaction(factory) as db:  # from now on this process dies with its server
        mine = updated(db, update(Run).where(Run.id == run_id, Run.status == "running",
                                            Run.runner == runner)
                       .values(worker_pid=os.getpid()))
    if mine != 1:
        log.info("run %s is not ours to execute", run_id)
        return 0
    with factory() as db:
        run = db.get(Run, run_id)
        assert run is not None
        version = db.get(ScenarioVersion, run.scenario_version_id)
        assert version is not None
        overlay = db.get(Overlay, run.overlay_id) if run.overlay_id else None
        rows = [] if overlay is None else [
            {c: getattr(r, c) for c in ("commodity", "stage", "iso3", "year", "statistic",
                                        "value", "unit", "note")}
            for r in db.scalars(select(OverlayRow).where(OverlayRow.overlay_id == overlay.id)
                                .order_by(OverlayRow.id))]
        body, content_type = version.body, version.content_type
    try:
        with tempfile.TemporaryDirectory(prefix="critmin-run-") as tmp:
            if rows:
                from critmin.api.overlay import materialise

                assert overlay is not None
                folder = materialise(rows, f"overlay {overlay.name}", Path(tmp) / "data")
                os.environ["CRITMIN_DATA_DIR"] = str(folder)
            from critmin.api.execute import execute

            outcome = execute(body, content_type)
            if overlay is not None:
                outcome.payload["overlay"] = {"id": overlay.id, "name": overlay.name,
                                              "rows": len(rows)}
    except CritminError as err:
        finish(factory, run_id, runner, error=str(err))
        return 0
    except Exception as err:
        traceback.print_exc()
        finish(factory, run_id, runner, error=f"internal error ({type(err).__name__}: {err}); "
                                              "please report it with the scenario")
        return 1
    if not finish(factory, run_id, runner, payload=outcome.payload,
                  data_edition=outcome.data_edition, scenario_hash=outcome.scenario_hash):
        log.info("run %s was cancelled or given up meanwhile; result discarded", run_id)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
