"""The curated dataset: catalog, facts (optionally seen through an overlay), shares, sources,
country groups, and the map and Sankey figures built from them.

Every answer here depends only on the curated data (and an overlay's rows), so each is computed
once per data edition and parameters and then served from the app's
:class:`~critmin.api.cache.ReadCache`; the routes are ``async`` so that a stored answer goes out
from the event loop, and only a computation (or a database read) takes a thread.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import select

from critmin.api.access import get_visible
from critmin.api.auth import Caller, Principal
from critmin.api.deps import Db, Reads
from critmin.api.models import Overlay, OverlayRow
from critmin.cli._output import records

router = APIRouter(prefix="/api", tags=["datasets"])


@router.get("/datasets")
async def catalog(_: Caller, cache: Reads) -> dict[str, Any]:
    """The dataset's edition, its tables with columns and row counts, and the sources."""
    return await cache.serve("catalog", (), _catalog)  # type: ignore[return-value]


def _catalog() -> dict[str, Any]:
    from critmin.data import manifest, sources
    from critmin.data.schema import TABLES

    info = manifest()
    return {"data_edition": info["data_edition"],
            "tables": [{"name": name, "columns": list(columns),
                        "rows": info.get("counts", {}).get(name)}
                       for name, columns in TABLES.items()],
            "sources": records(sources())}


@router.get("/datasets/commodities")
async def commodities(_: Caller, cache: Reads) -> list[dict[str, Any]]:
    """The commodity catalog; ``stages`` as a list."""
    return await cache.serve("commodities", (), _commodities)  # type: ignore[return-value]


def _commodities() -> list[dict[str, Any]]:
    from critmin.data import commodities as table

    out = records(table())
    for row in out:
        row["stages"] = [s for s in str(row.get("stages") or "").split(",") if s]
    return out


@router.get("/datasets/facts")
async def facts(db: Db, who: Caller, cache: Reads, commodity: str | None = None,
                stage: str | None = None, statistic: str | None = "production",
                year: int | None = None, edition: int | None = None,
                overlay: str | None = Query(None, description="id of an overlay to apply")
                ) -> list[dict[str, Any]]:
    """Facts, latest edition per series unless ``edition``; with ``overlay`` as a run sees them."""
    from critmin.data import facts as query

    params = (commodity, stage, statistic, year, edition)
    if overlay is None:
        return await cache.serve(  # type: ignore[return-value]
            "facts", params, lambda: records(query(*params)))
    from critmin.api.overlay import apply, fingerprint

    label, rows = await run_in_threadpool(_overlay_for, db, who, overlay, params)
    # keyed on the rows' content: an overlay edited since is a new key, never a stale answer
    return await cache.serve(  # type: ignore[return-value]
        "facts+overlay", (*params, label, fingerprint(rows)),
        lambda: records(apply(query(*params), rows, label)))


def _overlay_for(db: Db, who: Principal, ident: str, params: tuple[Any, ...]
                 ) -> tuple[str, list[dict[str, Any]]]:
    """(label, rows) of a visible overlay, only the rows a facts query with ``params`` sees."""
    from critmin.data import resolve_commodity

    commodity, stage, statistic, year, _ = params
    layer = get_visible(db, Overlay, ident, who)
    slug = resolve_commodity(commodity) if commodity is not None else None
    rows = [r for r in overlay_rows(db, layer.id)
            if (slug is None or r["commodity"] == slug)
            and (stage is None or r["stage"] == stage)
            and (statistic is None or r["statistic"] == statistic)
            and (year is None or r["year"] == year)]
    return f"overlay {layer.name}", rows


def overlay_rows(db: Db, overlay_id: str) -> list[dict[str, Any]]:
    """An overlay's rows as plain dicts (the form :mod:`critmin.api.overlay` takes)."""
    return [{"commodity": r.commodity, "stage": r.stage, "iso3": r.iso3, "year": r.year,
             "statistic": r.statistic, "value": r.value, "unit": r.unit, "note": r.note}
            for r in db.scalars(select(OverlayRow).where(OverlayRow.overlay_id == overlay_id)
                                .order_by(OverlayRow.id))]


@router.get("/datasets/show")
async def show(_: Caller, cache: Reads, commodity: str, stage: str | None = None,
               year: int | None = None, edition: int | None = None,
               statistic: str = "production") -> list[dict[str, Any]]:
    """One series by country with shares of the world total (``critmin data show``)."""
    from critmin.data.store import show as query

    params = (commodity, stage, year, edition, statistic)
    return await cache.serve("show", params, lambda: records(query(*params)))  # type: ignore[return-value]


@router.get("/datasets/sources")
async def sources(_: Caller, cache: Reads) -> list[dict[str, Any]]:
    """Sources, editions and licences of every curated table."""
    return await _table(cache, "sources")  # type: ignore[return-value]


@router.get("/datasets/countries")
async def countries(_: Caller, cache: Reads) -> list[dict[str, Any]]:
    return await _table(cache, "countries")  # type: ignore[return-value]


async def _table(cache: Reads, name: str) -> Response:
    from critmin import data

    return await cache.serve(name, (), lambda: records(getattr(data, name)()))


@router.get("/datasets/groups")
async def groups(_: Caller, cache: Reads, on: date | None = None) -> list[dict[str, Any]]:
    """Every country group with its members on ``on`` (today by default)."""
    from critmin.data import group_members
    from critmin.data import groups as table

    def build() -> list[dict[str, Any]]:
        names = sorted(set(table()["group"]))
        return [{"group": name, "members": group_members(name, day)} for name in names]

    day = on or date.today()  # part of the key: membership changes with the date
    return await cache.serve("groups", day, build)  # type: ignore[return-value]


@router.get("/datasets/groups/{name}")
async def group(name: str, _: Caller, cache: Reads, on: date | None = None) -> dict[str, Any]:
    """One group's members on a date, with membership rows and sources."""
    from critmin.data import group_members
    from critmin.data import groups as table

    def build() -> dict[str, Any]:
        members = group_members(name, day)
        rows = table()
        return {"group": name, "on": day.isoformat(), "members": members,
                "rows": records(rows[rows["group"] == name])}

    day = on or date.today()
    return await cache.serve("group", (name, day), build)  # type: ignore[return-value]


@router.get("/figures/map")
async def share_map(_: Caller, cache: Reads, commodity: str, stage: str | None = None,
                    year: int | None = None) -> dict[str, Any]:
    """Plotly figure: world map of production shares for a commodity and stage."""
    from critmin.api.figures import share_map as figure

    return await cache.serve("map", (commodity, stage, year),  # type: ignore[return-value]
                          lambda: figure(commodity, stage, year))


@router.get("/figures/sankey")
async def sankey(_: Caller, cache: Reads, commodity: str,
                       year: int | None = None) -> dict[str, Any]:
    """Plotly figure: mine → refinery → use by country."""
    from critmin.api.figures import chain_sankey

    return await cache.serve("sankey", (commodity, year),  # type: ignore[return-value]
                          lambda: chain_sankey(commodity, year))
