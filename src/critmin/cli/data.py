"""`critmin data`: the curated dataset — list, show, SQL, groups, sources, build."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from critmin.cli._output import Format, emit

app = typer.Typer(help="The curated dataset: browse, query and rebuild it.", no_args_is_help=True)

FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="table, csv or json.")]


@app.command("list")
def list_commodities(fmt: FormatOpt = Format.table) -> None:
    """List the commodities in the catalog with their stages and declared unit."""
    from critmin import data

    emit(data.commodities(), fmt, title="critmin commodity catalog")


@app.command()
def show(
    commodity: Annotated[str, typer.Argument(help="Commodity slug, e.g. rare-earths.")],
    stage: Annotated[str | None, typer.Option(help="Stage, e.g. mine, refinery, primary.")] = None,
    year: Annotated[int | None, typer.Option(help="Year (default: latest with data).")] = None,
    edition: Annotated[int | None, typer.Option(help="MCS edition (default: latest).")] = None,
    statistic: Annotated[
        str, typer.Option(help="production, capacity or reserves.")
    ] = "production",
    fmt: FormatOpt = Format.table,
) -> None:
    """Who produces a commodity: country, value, unit, share of the world total, flag."""
    from critmin.data import store

    frame = store.show(commodity, stage=stage, year=year, edition=edition, statistic=statistic)
    first = frame.iloc[0]
    title = f"{commodity} · {first.stage} · {statistic} · {first.year} (MCS {frame.edition.max()})"
    emit(frame, fmt, title=title)


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="A DuckDB SQL query over the curated tables.")],
    fmt: FormatOpt = Format.table,
) -> None:
    """Run SQL on the curated tables (facts, facts_latest, us_salient, wgi, groups, …)."""
    from critmin import data

    emit(data.sql(query), fmt)


@app.command()
def groups(
    name: Annotated[str | None, typer.Argument(help="A group; omit to list all groups.")] = None,
    on: Annotated[str | None, typer.Option(help="Membership on this date (YYYY-MM-DD).")] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Country groups (trade club, MSP, G7, EU27, Quad, OECD…) and their dated members."""
    import pandas as pd

    from critmin import data

    if name is None:
        table = data.groups()
        summary = table.groupby("group").agg(members=("iso3", "nunique")).reset_index()
        emit(summary, fmt, title="country groups")
        return
    members = data.group_members(name, on)
    countries = data.countries().set_index("iso3")
    frame = pd.DataFrame({"iso3": members})
    frame["name"] = frame.iso3.map(countries["name"])
    emit(frame, fmt, title=f"{name} on {on or 'today'}")


@app.command()
def sources(fmt: FormatOpt = Format.table) -> None:
    """Sources, editions and licences of every curated table."""
    from critmin import data

    emit(data.sources(), fmt, title=f"sources — {data.data_edition()}")


@app.command()
def build(
    raw: Annotated[Path, typer.Option(help="Folder of raw source files (shared/data/raw).")],
    out: Annotated[Path | None, typer.Option(help="Output folder (default: the package).")] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Rebuild the curated dataset from the raw files; writes a discrepancy report."""
    import pandas as pd

    from critmin.data.build import build as run_build

    result = run_build(raw, out)
    typer.echo(f"built {result.data_edition} into {result.out_dir}", err=True)
    kinds = pd.Series([r["kind"] for r in result.report], dtype=object).value_counts()
    summary = pd.DataFrame(
        [{"item": f"rows:{k}", "count": v} for k, v in result.counts.items()]
        + [{"item": f"report:{k}", "count": int(v)} for k, v in kinds.items()]
    )
    emit(summary, fmt, title="build summary (details in build_report.json)")
