"""The curated dataset as queried: DuckDB views over the Parquet files shipped in the package.

``critmin data sql`` and the Python API read the same tables. The default view of facts takes,
for each (commodity, stage, year, statistic), the latest edition that publishes it, so a year's
country breakdown always comes from one edition; every edition stays queryable.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from critmin.data import schema
from critmin.errors import CritminError, UnknownNameError

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

PACKAGE_DIR = Path(__file__).resolve().parent / "curated"
MANIFEST = "manifest.json"

_LATEST_VIEW = """
CREATE VIEW facts_latest AS
SELECT f.* FROM facts f
JOIN (
    SELECT commodity, stage, year, statistic, max(edition) AS edition
    FROM facts GROUP BY ALL
) l USING (commodity, stage, year, statistic, edition)
"""


def data_dir() -> Path:
    """Where the curated tables are read from: ``$CRITMIN_DATA_DIR`` or the package copy."""
    return Path(os.environ.get("CRITMIN_DATA_DIR") or PACKAGE_DIR)


@functools.lru_cache(maxsize=4)
def _connect(directory: str) -> duckdb.DuckDBPyConnection:
    import duckdb

    folder = Path(directory)
    missing = [t for t in schema.TABLES if not (folder / f"{t}.parquet").exists()]
    if missing:
        raise CritminError(
            f"curated dataset incomplete in {folder} (missing {', '.join(missing)}); "
            "rebuild it with `critmin data build --raw PATH`"
        )
    con = duckdb.connect(":memory:")
    for name in schema.TABLES:
        path = str(folder / f"{name}.parquet").replace("'", "''")
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
    con.execute(_LATEST_VIEW)
    return con


_local = threading.local()


def connection() -> duckdb.DuckDBPyConnection:
    """A DuckDB cursor with one view per curated table plus ``facts_latest``.

    One cursor per thread over a shared in-memory database: a DuckDB connection serves one
    thread at a time, and the web app answers requests from several.
    """
    key = str(data_dir())
    cursors = _local.__dict__.setdefault("cursors", {})
    if key not in cursors or cursors[key][0] is not _connect(key):
        base = _connect(key)
        cursors[key] = (base, base.cursor())
    return cursors[key][1]


def sql(query: str, params: list[Any] | None = None) -> pd.DataFrame:
    """Run a SQL query against the curated tables; errors become one-line CritminErrors.

    Only SELECT statements run: the in-memory database could otherwise write files (COPY …
    TO, ATTACH, EXPORT), load extensions, or replace the views every later query reads.
    """
    import duckdb

    try:
        cursor = connection()
        kinds = {s.type for s in cursor.extract_statements(query)}
        if not kinds:
            raise CritminError("SQL error: empty query; give a SELECT statement")
        refused = sorted(str(k).rsplit(".", 1)[-1] for k in kinds - {duckdb.StatementType.SELECT})
        if refused:
            raise CritminError(f"SQL error: the curated data are read-only; only SELECT queries "
                               f"run (got {', '.join(refused)})")
        return cursor.execute(query, params or []).df()
    except duckdb.Error as err:
        first = str(err).strip().splitlines()[0]
        raise CritminError(f"SQL error: {first}") from err


def table(name: str) -> pd.DataFrame:
    """A whole curated table (``facts`` holds every edition)."""
    if name not in schema.TABLES and name != "facts_latest":
        raise UnknownNameError("table", name, [*schema.TABLES, "facts_latest"])
    return sql(f"SELECT * FROM {name}")


def manifest() -> dict[str, Any]:
    """Build metadata: data edition string, raw-file checksums, row counts."""
    path = data_dir() / MANIFEST
    if not path.exists():
        raise CritminError(f"no {MANIFEST} in {data_dir()}; rebuild with `critmin data build`")
    return dict(json.loads(path.read_text()))


def data_edition() -> str:
    """The identifier recorded in every result: sources, editions and the build's hash."""
    return str(manifest()["data_edition"])


def commodities() -> pd.DataFrame:
    """The commodity catalog: slug, USGS name, stages, unit, basis, critical-mineral flag."""
    return sql("SELECT * FROM commodities ORDER BY commodity")


def resolve_commodity(name: str) -> str:
    """Catalog slug for a user's spelling (slug, USGS label, any case); close matches if none."""
    cat = commodities()
    key = name.strip().lower()
    for col in ("commodity", "usgs_label", "name"):
        hit = cat[cat[col].str.lower() == key]
        if len(hit):
            return str(hit.commodity.iloc[0])
    from critmin.data.catalog import commodity_slug

    if commodity_slug(name) in set(cat.commodity):
        return commodity_slug(name)
    raise UnknownNameError("commodity", name, cat.commodity)


def stages(commodity: str) -> list[str]:
    """Stages the data publish for a commodity (all editions)."""
    cat = commodities().set_index("commodity")
    return [s for s in str(cat.loc[commodity, "stages"]).split(",") if s]


def resolve_stage(commodity: str, stage: str) -> str:
    """Validate a stage name for a commodity."""
    known = stages(commodity)
    if stage not in known:
        raise UnknownNameError(f"stage of {commodity}", stage, known)
    return stage


def facts(
    commodity: str | None = None,
    stage: str | None = None,
    statistic: str | None = "production",
    year: int | None = None,
    edition: int | None = None,
) -> pd.DataFrame:
    """Facts filtered; latest edition per (commodity, stage, year, statistic) unless ``edition``."""
    where: list[str] = []
    params: list[Any] = []
    if commodity is not None:
        commodity = resolve_commodity(commodity)
        where.append("commodity = ?")
        params.append(commodity)
        if stage is not None:
            stage = resolve_stage(commodity, stage)
    if stage is not None:
        where.append("stage = ?")
        params.append(stage)
    if statistic is not None:
        where.append("statistic = ?")
        params.append(statistic)
    if year is not None:
        where.append("year = ?")
        params.append(int(year))
    if edition is not None:
        known = sql("SELECT DISTINCT edition FROM facts").edition.astype(int).tolist()
        if int(edition) not in known:
            raise UnknownNameError("edition", str(edition), [str(e) for e in known])
        where.append("edition = ?")
        params.append(int(edition))
    source = "facts" if edition is not None else "facts_latest"
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    return sql(
        f"SELECT * FROM {source} {clause} "
        "ORDER BY commodity, stage, statistic, year, iso3 IN ('WLD', 'OTH'), value DESC NULLS LAST",
        params,
    )


def countries() -> pd.DataFrame:
    """ISO3 codes with names and UN M49 regions (plus aggregate codes)."""
    return sql("SELECT * FROM countries ORDER BY iso3")


def wgi() -> pd.DataFrame:
    """World Governance Indicators (six indicators, estimates on −2.5…2.5) by ISO3 and year."""
    return sql("SELECT * FROM wgi ORDER BY iso3, year, indicator")


def us_salient(commodity: str | None = None) -> pd.DataFrame:
    """US salient statistics (production, trade, consumption, price, net import reliance)."""
    if commodity is None:
        return sql("SELECT * FROM us_salient ORDER BY commodity, edition, year")
    return sql(
        "SELECT * FROM us_salient WHERE commodity = ? ORDER BY edition, year, statistic",
        [resolve_commodity(commodity)],
    )


def us_import_sources(commodity: str | None = None) -> pd.DataFrame:
    """US import sources (share of imports by country over a period)."""
    if commodity is None:
        return sql("SELECT * FROM us_import_sources ORDER BY commodity, edition")
    return sql(
        "SELECT * FROM us_import_sources WHERE commodity = ? ORDER BY edition, share_pct DESC",
        [resolve_commodity(commodity)],
    )


def groups() -> pd.DataFrame:
    """Country groups with membership dates (shipped groups; see :func:`group_members`)."""
    return sql('SELECT * FROM groups ORDER BY "group", iso3')


def group_members(name: str, on: date | str | None = None) -> list[str]:
    """ISO3 members of a group on a date (today by default)."""
    from critmin.data.country_groups import members

    return members(groups(), name, on)


def sources() -> pd.DataFrame:
    """Sources, editions and licences of every curated table."""
    return sql('SELECT * FROM sources ORDER BY "table"')


def show(
    commodity: str,
    stage: str | None = None,
    year: int | None = None,
    edition: int | None = None,
    statistic: str = "production",
) -> pd.DataFrame:
    """Country rows of one series with each country's share of the published world total.

    Defaults: the commodity's first stage (mine where there is one) and the latest year with
    data. The world-total row comes last; shares use it as denominator, or the sum of country
    rows when USGS publishes no total.
    """
    slug = resolve_commodity(commodity)
    stage = resolve_stage(slug, stage) if stage else stages(slug)[0]
    frame = facts(slug, stage=stage, statistic=statistic, edition=edition)
    if frame.empty:
        raise CritminError(f"no {statistic} data for {slug} at stage {stage!r}")
    if year is None:
        year = int(frame.loc[frame.value.notna(), "year"].max())
    elif year not in set(frame.year):
        raise UnknownNameError(
            f"year for {slug}/{stage}", str(year), [str(y) for y in sorted(set(frame.year))]
        )
    rows = frame[frame.year == year].copy()
    world = rows.loc[rows.iso3 == "WLD", "value"]
    denominator = (
        world.iloc[0]
        if len(world) and world.notna().iloc[0]
        else rows.loc[rows.iso3 != "WLD", "value"].sum()
    )
    rows["share"] = rows.value / denominator if denominator else float("nan")
    rows = rows.sort_values(
        ["iso3"], key=lambda s: s.isin(["OTH", "WLD"]).astype(int) + (s == "WLD"), kind="stable"
    )
    return rows[
        ["iso3", "country", "value", "unit", "share", "flag", "year", "stage", "edition"]
    ].reset_index(drop=True)
