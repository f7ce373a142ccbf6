"""Exposure and supply-risk metrics (``critmin risk``) and the parameter registry."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter

from critmin.api.auth import Caller
from critmin.api.deps import Reads
from critmin.cli._output import records

router = APIRouter(prefix="/api", tags=["metrics"])


@router.get("/metrics/risk")
async def risk(_: Caller, cache: Reads, commodity: str | None = None, stage: str | None = None,
               year: int | None = None, country: str = "CHN", group: str = "trade-club",
               method: Literal["hhi", "eu", "usgs", "n-1", "all"] = "all",
               denominator: Literal["world-total", "sum-of-countries"] = "world-total",
               as_of: date | None = None,
               missing_wgi: Literal["error", "exclude", "worst"] = "exclude",
               eu_variant: Literal["global", "us"] = "global", edition: int | None = None,
               latest: bool = True, bottleneck: bool = False) -> dict[str, Any]:
    """The risk table, one row per market (commodity, stage, year), ranked by risk.

    Shares are fractions; ``hhi`` is on 0–1 (the CLI shows it on 0–10,000). Without a
    commodity and year only each market's latest year is kept unless ``latest=false``.
    """
    from critmin.metrics import latest_per_market, risk_table

    def build() -> dict[str, Any]:
        table = risk_table(commodity, stage, year, country, group, method, denominator, as_of,
                           missing_wgi, eu_variant, None, edition)
        if commodity is None and year is None and latest:
            table = latest_per_market(table)
        if bottleneck:
            table = table[table["bottleneck"]]
        return {"country": country, "group": group, "method": method, "rows": records(table)}

    # ~200 ms of CPU per table: computed once per data edition and parameters
    params = (commodity, stage, year, country, group, method, denominator, as_of, missing_wgi,
              eu_variant, edition, latest, bottleneck)
    return await cache.serve("risk", params, build)  # type: ignore[return-value]


@router.get("/params")
def params(_: Caller, commodity: str | None = None, parameter: str | None = None
           ) -> dict[str, Any]:
    """Rows of the parameter registry (value, low, high, unit, source) and its version."""
    from critmin.params import load_registry

    registry = load_registry()
    table = registry.table
    if commodity is not None:
        table = table[table.commodity.isin([commodity, "*"])]
    if parameter is not None:
        from critmin.params import PARAMETERS

        if parameter not in PARAMETERS:
            from critmin.errors import UnknownNameError

            raise UnknownNameError("parameter", parameter, PARAMETERS)
        table = table[table.parameter == parameter]
    return {"version": registry.version, "rows": records(table)}


@router.get("/params/definitions")
def definitions(_: Caller) -> list[dict[str, Any]]:
    """Every parameter the engine reads: meaning, allowed range, how many rows use it."""
    from critmin.params import load_registry, parameter_table

    return records(parameter_table(load_registry()))
