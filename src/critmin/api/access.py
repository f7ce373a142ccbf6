"""Who may see what: scenarios and overlays are private to their organisation unless shared
with named organisations or with a country group (e.g. the trade club: every organisation
whose country is a member today). Runs and results stay with the organisation that ran them.

Anything a caller may not see is answered exactly as if it did not exist (404), so ids of other
organisations' work cannot be probed.
"""

from __future__ import annotations

import functools
import threading
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from critmin.api.auth import Principal
from critmin.api.errors import ApiError, not_found
from critmin.api.models import Organisation, Overlay, Run, Scenario, Share

Owned = TypeVar("Owned", Scenario, Overlay, Run)
_KIND = {Scenario: "scenario", Overlay: "overlay", Run: "run"}


_groups_lock = threading.Lock()


def groups_of(country: str | None, on: date) -> tuple[str, ...]:
    """Country groups that ``country`` belongs to on ``on`` (none without a country).

    Every request that reads shared work asks this; it is computed once per (country, day)
    and process, by one thread while concurrent first requests wait for it.
    """
    if not country:
        return ()
    with _groups_lock:
        return _groups_of(country, on)


@functools.lru_cache(maxsize=256)
def _groups_of(country: str, on: date) -> tuple[str, ...]:
    from critmin.data import groups
    from critmin.data.country_groups import members

    table = groups()  # one query; membership per group is then a filter of this frame
    names = sorted(set(table["group"]))
    return tuple(name for name in names if country in members(table, name, on))


def visible(model: type[Owned], who: Principal) -> ColumnElement[bool]:
    """SQL condition: rows of ``model`` that ``who`` may read."""
    own = model.org_id == who.org_id
    if model is Run:
        return own
    groups = groups_of(who.org_country, date.today())
    targets = [Share.target_org_id == who.org_id]
    if groups:
        targets.append(Share.target_group.in_(groups))
    shared = select(Share.resource_id).where(Share.kind == _KIND[model], or_(*targets))
    return or_(own, model.id.in_(shared))


def get_visible(db: Session, model: type[Owned], ident: str, who: Principal) -> Owned:
    """The row if ``who`` may read it, else 404 (never 403: existence is not revealed)."""
    row = db.scalar(select(model).where(model.id == ident, visible(model, who)))
    if row is None:
        raise not_found(_KIND[model], ident)
    return row


def get_owned(db: Session, model: type[Owned], ident: str, who: Principal) -> Owned:
    """The row if ``who``'s organisation owns it; 403 if only shared with it; 404 otherwise."""
    row = get_visible(db, model, ident, who)
    if row.org_id != who.org_id:
        raise ApiError(403, f"this {_KIND[model]} is shared with {who.org_name}, not owned by "
                            "it: only its owners change or share it")
    return row


def add_share(db: Session, kind: str, resource_id: str, who: Principal,
              organisation: str | None, group: str | None) -> Share:
    """Share with one named organisation or one country group (checked against the data)."""
    if (organisation is None) == (group is None):
        raise ApiError(422, "give exactly one of 'organisation' (a name) or 'group' "
                            "(a country group such as trade-club)")
    target_org = None
    if organisation is not None:
        org = db.scalar(select(Organisation).where(Organisation.name == organisation))
        if org is None:
            raise ApiError(404, f"no organisation named {organisation!r}; "
                                "GET /api/organisations lists them")
        if org.id == who.org_id:
            raise ApiError(422, "it is already yours: share with another organisation")
        target_org = org.id
    else:
        from critmin.data import group_members

        group_members(str(group))  # UnknownNameError (404) names the close matches
    existing = db.scalar(select(Share).where(
        Share.kind == kind, Share.resource_id == resource_id,
        Share.target_org_id.is_(None) if target_org is None
        else Share.target_org_id == target_org,
        Share.target_group.is_(None) if group is None else Share.target_group == group))
    if existing is not None:
        return existing
    share = Share(kind=kind, resource_id=resource_id, owner_org_id=who.org_id,
                  target_org_id=target_org, target_group=group, created_by=who.user_id)
    db.add(share)
    db.flush()
    return share


def shares_of(db: Session, kind: str, resource_id: str) -> list[dict[str, Any]]:
    rows = db.execute(
        select(Share, Organisation.name).outerjoin(Organisation,
                                                   Organisation.id == Share.target_org_id)
        .where(Share.kind == kind, Share.resource_id == resource_id)
        .order_by(Share.created_at)
    ).all()
    return [{"id": s.id, "organisation": name, "group": s.target_group,
             "created_at": s.created_at.isoformat()} for s, name in rows]


def remove_share(db: Session, kind: str, resource_id: str, share_id: str) -> None:
    share = db.scalar(select(Share).where(Share.id == share_id, Share.kind == kind,
                                          Share.resource_id == resource_id))
    if share is None:
        raise not_found("share", share_id)
    db.delete(share)
