"""The curated dataset: catalog, facts (optionally seen through an overlay), shares, sources,
country groups, and the map and Sankey figures built from them.

Every answer here depends only on the curated data (and an overlay's rows), so each is computed
once per data edition and parameters and then served from the app's :class:`ReadCache`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import select

from critmin.api.access import get_visible
from critmin.api.auth import Caller
from critmin.api.deps import Db, Reads
from critmin.api.models import Overlay, OverlayRow
from critmin.cli._output import records

router = APIRouter(prefix="/api", tags=["datasets"])


@router.get("/datasets")
def catalog(_: Caller, cache: Reads) -> dict[str, Any]:
    """The dataset's edition, its tables with columns and row counts, and the sources."""
    return cache.response("catalog", (), _catalog)  # type: ignore[return-value]


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
def commodities(_: Caller, cache: Reads) -> list[dict[str, Any]]:
    """The commodity catalog; ``stages`` as a list."""
    return cache.response("commodities", (), _commodities)  # type: ignore[return-value]


def _commodities() -> list[dict[str, Any]]:
    from critmin.data import commodities as table

    out = records(table())
    for row in out:
        row["stages"] = [s for s in str(row.get("stages") or "").split(",") if s]
    return out


@router.get("/datasets/facts")
def facts(db: Db, who: Caller, cache: Reads, commodity: str | None = None,
          stage: str | None = None, statistic: str | None = "production",
          year: int | None = None, edition: int | None = None,
          overlay: str | None = Query(None, description="id of an overlay to apply")
          ) -> list[dict[str, Any]]:
    """Facts, latest edition per series unless ``edition``; with ``overlay`` as a run sees them."""
    from critmin.data import facts as query

    params = (commodity, stage, statistic, year, edition)
    if overlay is None:
        return cache.response(  # type: ignore[return-value]
            "facts", params, lambda: records(query(*params)))
    from critmin.api.overlay import apply, fingerprint
    from critmin.data import resolve_commodity

    layer = get_visible(db, Overlay, overlay, who)
    slug = resolve_commodity(commodity) if commodity is not None else None
    rows = [r for r in overlay_rows(db, layer.id)
            if (slug is None or r["commodity"] == slug)
            and (stage is None or r["stage"] == stage)
            and (statistic is None or r["statistic"] == statistic)
            and (year is None or r["year"] == year)]
    label = f"overlay {layer.name}"
    # keyed on the rows' content: an overlay edited since is a new key, never a stale answer
    return cache.response(  # type: ignore[return-value]
        "facts+overlay", (*params, label, fingerprint(rows)),
        lambda: records(apply(query(*params), rows, label)))


def overlay_rows(db: Db, overlay_id: str) -> list[dict[str, Any]]:
    """An overlay's rows as plain dicts (the form :mod:`critmin.api.overlay` takes)."""
    return [{"commodity": r.commodity, "stage": r.stage, "iso3": r.iso3, "year": r.year,
             "statistic": r.statistic, "value": r.value, "unit": r.unit, "note": r.note}
            for r in db.scalars(select(OverlayRow).where(OverlayRow.overlay_id == overlay_id)
                                .order_by(OverlayRow.id))]


@router.get("/datasets/show")
def show(_: Caller, cache: Reads, commodity: str, stage: str | None = None,
         year: int | None = None, edition: int | None = None,
         statistic: str = "production") -> list[dict[str, Any]]:
    """One series by country with shares of the world total (``critmin data show``)."""
    from critmin.data.store import show as query

    params = (commodity, stage, year, edition, statistic)
    return cache.response("show", params, lambda: records(query(*params)))  # type: ignore[return-value]


@router.get("/datasets/sources")
def sources(_: Caller, cache: Reads) -> list[dict[str, Any]]:
    """Sources, editions and licences of every curated table."""
    return _table(cache, "sources")  # type: ignore[return-value]


@router.get("/datasets/countries")
def countries(_: Caller, cache: Reads) -> list[dict[str, Any]]:
    return _table(cache, "countries")  # type: ignore[return-value]


def _table(cache: Reads, name: str) -> Response:
    from critmin import data

    return cache.response(name, (), lambda: records(getattr(data, name)()))


@router.get("/datasets/groups")
def groups(_: Caller, cache: Reads, on: date | None = None) -> list[dict[str, Any]]:
    """Every country group with its members on ``on`` (today by default)."""
    from critmin.data import group_members
    from critmin.data import groups as table

    def build() -> list[dict[str, Any]]:
        names = sorted(set(table()["group"]))
        return [{"group": name, "members": group_members(name, day)} for name in names]

    day = on or date.today()  # part of the key: membership changes with the date
    return cache.response("groups", day, build)  # type: ignore[return-value]


@router.get("/datasets/groups/{name}")
def group(name: str, _: Caller, cache: Reads, on: date | None = None) -> dict[str, Any]:
    """One group's members on a date, with membership rows and sources."""
    from critmin.data import group_members
    from critmin.data import groups as table

    def build() -> dict[str, Any]:
        members = group_members(name, day)
        rows = table()
        return {"group": name, "on": day.isoformat(), "members": members,
                "rows": records(rows[rows["group"] == name])}

    day = on or date.today()
    return cache.response("group", (name, day), build)  # type: ignore[return-value]


@router.get("/figures/map")
def share_map(_: Caller, cache: Reads, commodity: str, stage: str | None = None,
              year: int | None = None) -> dict[str, Any]:
    """Plotly figure: world map of production shares for a commodity and stage."""
    from critmin.api.figures import share_map as figure

    return cache.response("map", (commodity, stage, year),  # type: ignore[return-value]
                          lambda: figure(commodity, stage, year))


@router.get("/figures/sankey")
def sankey(_: Caller, cache: Reads, commodity: str, year: int | None = None) -> dict[str, Any]:
    """Plotly figure: mine → refinery → use by country."""
    from critmin.api.figures import chain_sankey

    return cache.response("sankey", (commodity, year),  # type: ignore[return-value]
                          lambda: chain_sankey(commodity, year))
