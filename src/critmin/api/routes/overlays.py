"""Data overlays: an organisation's own figures (production, capacity, reserves, stockpile
holdings) that replace or add to the curated facts in its runs only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import delete, func, select

from critmin.api import access
from critmin.api.auth import Analyst, Caller, Principal
from critmin.api.deps import Db
from critmin.api.errors import ApiError
from critmin.api.models import Overlay, OverlayRow
from critmin.api.routes.datasets import overlay_rows
from critmin.api.routes.sharing import add_share_routes
from critmin.errors import CritminError

router = APIRouter(prefix="/api", tags=["overlays"])


class OverlayRowIn(BaseModel):
    commodity: str
    stage: str
    iso3: str
    year: int
    statistic: str = "production"
    value: float
    unit: str | None = None
    note: str = ""


class OverlayIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    rows: list[OverlayRowIn] = Field(default_factory=list)


class RowsIn(BaseModel):
    rows: list[OverlayRowIn]


def _checked(rows: list[OverlayRowIn]) -> list[dict[str, Any]]:
    from critmin.api.overlay import validate_rows

    try:
        return validate_rows([r.model_dump() for r in rows])
    except CritminError as err:
        raise ApiError(422, str(err)) from None


def overlay_json(row: Overlay, who: Principal, row_count: int,
                 rows: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row.id, "name": row.name, "description": row.description,
                           "owned": row.org_id == who.org_id,
                           "created_at": row.created_at.isoformat(), "row_count": row_count}
    if rows is not None:
        out["rows"] = rows
    return out


def with_rows(db: Db, row: Overlay, who: Principal) -> dict[str, Any]:
    rows = overlay_rows(db, row.id)
    return overlay_json(row, who, len(rows), rows)


def _store_rows(db: Db, overlay_id: str, rows: list[dict[str, Any]]) -> None:
    db.execute(delete(OverlayRow).where(OverlayRow.overlay_id == overlay_id))
    db.add_all(OverlayRow(overlay_id=overlay_id, **r) for r in rows)


@router.post("/overlays", status_code=201)
def create(body: OverlayIn, db: Db, who: Analyst) -> dict[str, Any]:
    """A new overlay owned by the caller's organisation, private until shared."""
    rows = _checked(body.rows)
    row = Overlay(org_id=who.org_id, name=body.name, description=body.description,
                  created_by=who.user_id)
    db.add(row)
    db.flush()
    _store_rows(db, row.id, rows)
    db.commit()
    return with_rows(db, row, who)


@router.get("/overlays")
def list_overlays(db: Db, who: Caller) -> list[dict[str, Any]]:
    counts = (select(OverlayRow.overlay_id, func.count().label("n"))
              .group_by(OverlayRow.overlay_id).subquery())
    rows = db.execute(select(Overlay, func.coalesce(counts.c.n, 0))
                      .outerjoin(counts, counts.c.overlay_id == Overlay.id)
                      .where(access.visible(Overlay, who))
                      .order_by(Overlay.created_at.desc(), Overlay.id)).all()
    return [overlay_json(r, who, int(n)) for r, n in rows]  # one query, not one per overlay


@router.get("/overlays/{ident}")
def get_overlay(ident: str, db: Db, who: Caller) -> dict[str, Any]:
    return with_rows(db, access.get_visible(db, Overlay, ident, who), who)


@router.put("/overlays/{ident}/rows")
def replace_rows(ident: str, body: RowsIn, db: Db, who: Analyst) -> dict[str, Any]:
    """Replace all rows of an overlay (runs already finished keep what they saw)."""
    row = access.get_owned(db, Overlay, ident, who)
    _store_rows(db, row.id, _checked(body.rows))
    db.commit()
    return with_rows(db, row, who)


add_share_routes(router, Overlay, "overlay", "overlays")
