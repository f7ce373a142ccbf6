"""Runs: start a scenario version as a background job, follow it, cancel it, read results.

Runs and their results belong to the organisation that started them (also when the scenario
was shared with it); an overlay, if given, is applied to the facts this run sees.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select, update

from critmin.api import access
from critmin.api.auth import Analyst, Caller
from critmin.api.db import utcnow
from critmin.api.deps import Db
from critmin.api.errors import ApiError, not_found
from critmin.api.models import (
    FINAL_STATES,
    Overlay,
    Run,
    RunResult,
    Scenario,
    ScenarioVersion,
    User,
)

router = APIRouter(prefix="/api", tags=["runs"])


class RunIn(BaseModel):
    scenario_id: str
    version: int | None = None
    overlay_id: str | None = None


def _with_context(db: Db, *where: Any, limit: int | None = None) -> list[Any]:
    """Runs matching ``where`` (newest first) with their scenario, version and creator: one
    joined query however many runs."""
    query = (select(Run, Scenario.id, Scenario.name, ScenarioVersion.version, User.email)
             .outerjoin(ScenarioVersion, ScenarioVersion.id == Run.scenario_version_id)
             .outerjoin(Scenario, Scenario.id == ScenarioVersion.scenario_id)
             .outerjoin(User, User.id == Run.created_by).where(*where)
             .order_by(Run.created_at.desc(), Run.id).limit(limit))
    return list(db.execute(query).all())


def run_json(db: Db, run: Run) -> dict[str, Any]:
    """One run as the API shows it (for many runs use :func:`_with_context` once)."""
    return _run_json(*_with_context(db, Run.id == run.id)[0])


def _run_json(run: Run, scenario_id: str | None, scenario_name: str | None,
              version: int | None, creator: str | None) -> dict[str, Any]:
    stamp = {k: (getattr(run, k).isoformat() if getattr(run, k) else None)
             for k in ("created_at", "started_at", "finished_at")}
    return {"id": run.id, "status": run.status, "error": run.error,
            "scenario": {"id": scenario_id, "name": scenario_name, "version": version},
            "overlay_id": run.overlay_id, "cancel_requested": run.cancel_requested,
            "has_result": run.status == "succeeded", **stamp, "created_by": creator}


@router.post("/runs", status_code=202)
def start(body: RunIn, db: Db, who: Analyst) -> dict[str, Any]:
    """Queue a run of a scenario version (latest by default), optionally with an overlay."""
    scenario = access.get_visible(db, Scenario, body.scenario_id, who)
    number = body.version or scenario.latest_version
    version = db.scalar(select(ScenarioVersion).where(ScenarioVersion.scenario_id == scenario.id,
                                                      ScenarioVersion.version == number))
    if version is None:
        raise not_found("version", str(number))
    overlay = access.get_visible(db, Overlay, body.overlay_id, who) if body.overlay_id else None
    run = Run(org_id=who.org_id, created_by=who.user_id, scenario_version_id=version.id,
              overlay_id=overlay.id if overlay else None, status="queued",
              cancel_requested=False)
    db.add(run)
    db.commit()
    return run_json(db, run)


@router.get("/runs")
def list_runs(db: Db, who: Caller, status: str | None = None) -> list[dict[str, Any]]:
    """The organisation's runs, newest first."""
    where = [access.visible(Run, who)]
    if status is not None:
        where.append(Run.status == status)
    return [_run_json(*row) for row in _with_context(db, *where, limit=200)]


@router.get("/runs/{ident}")
def get_run(ident: str, db: Db, who: Caller) -> dict[str, Any]:
    return run_json(db, access.get_visible(db, Run, ident, who))


@router.post("/runs/{ident}/cancel")
def cancel(ident: str, db: Db, who: Analyst) -> dict[str, Any]:
    """Cancel a queued run at once, or ask the queue to stop a running one."""
    run = access.get_visible(db, Run, ident, who)
    if run.status in FINAL_STATES:
        raise ApiError(409, f"run {run.id} has already {run.status}; nothing to cancel")
    db.execute(update(Run).where(Run.id == run.id, Run.status == "queued")
               .values(status="cancelled", finished_at=utcnow(), error="cancelled on request"))
    db.execute(update(Run).where(Run.id == run.id, Run.status == "running")
               .values(cancel_requested=True))
    db.commit()
    db.refresh(run)
    return run_json(db, run)


@router.get("/runs/{ident}/results")
def results(ident: str, db: Db, who: Caller) -> dict[str, Any]:
    """The results of a succeeded run (409 while it is queued or running, or if it failed):
    price paths by bloc and the shortfall per stage, with a summary and provenance."""
    run, result = _result(db, ident, who)
    return {"run": run_json(db, run), "data_edition": result.data_edition,
            "scenario_hash": result.scenario_hash, **json.loads(result.payload)}


@router.get("/runs/{ident}/figures")
def figures(ident: str, db: Db, who: Caller) -> dict[str, Any]:
    """Plotly figures of a succeeded run: price paths by bloc per stage, and the shortfall."""
    from critmin.api.figures import run_figures

    _, result = _result(db, ident, who)
    return {"figures": run_figures(json.loads(result.payload))}


def _result(db: Db, ident: str, who: Caller) -> tuple[Run, RunResult]:
    run = access.get_visible(db, Run, ident, who)
    if run.status != "succeeded":
        hint = {"queued": "wait until it has run", "running": "wait until it succeeds",
                "failed": f"it failed: {run.error}", "cancelled": "it was cancelled"}
        raise ApiError(409, f"run {run.id} is {run.status}, so it has no results; "
                            f"{hint.get(run.status, '')}")
    result = db.get(RunResult, run.id)
    if result is None:  # cannot happen: written in the transaction that set 'succeeded'
        raise ApiError(500, f"run {run.id} has no stored result")
    return run, result
