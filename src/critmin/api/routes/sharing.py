"""Share endpoints, the same for scenarios and overlays: list, add, remove."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from critmin.api import access
from critmin.api.auth import Analyst, Caller
from critmin.api.deps import Db


class ShareIn(BaseModel):
    """Exactly one of the two: an organisation's name, or a country group of the dataset."""

    organisation: str | None = Field(None, description="name of another organisation")
    group: str | None = Field(None, description="a country group, e.g. trade-club")


def add_share_routes(router: APIRouter, model: type[Any], kind: str, plural: str) -> None:
    """Register ``GET/POST /{plural}/{id}/shares`` and ``DELETE …/shares/{share_id}``."""

    @router.get(f"/{plural}/{{ident}}/shares", name=f"list_{kind}_shares")
    def list_shares(ident: str, db: Db, who: Caller) -> list[dict[str, Any]]:
        row = access.get_owned(db, model, ident, who)
        return access.shares_of(db, kind, row.id)

    @router.post(f"/{plural}/{{ident}}/shares", status_code=201, name=f"share_{kind}")
    def share(ident: str, body: ShareIn, db: Db, who: Analyst) -> list[dict[str, Any]]:
        row = access.get_owned(db, model, ident, who)
        access.add_share(db, kind, row.id, who, body.organisation, body.group)
        db.commit()
        return access.shares_of(db, kind, row.id)

    @router.delete(f"/{plural}/{{ident}}/shares/{{share_id}}", name=f"unshare_{kind}")
    def unshare(ident: str, share_id: str, db: Db, who: Analyst) -> list[dict[str, Any]]:
        row = access.get_owned(db, model, ident, who)
        access.remove_share(db, kind, row.id, share_id)
        db.commit()
        return access.shares_of(db, kind, row.id)
