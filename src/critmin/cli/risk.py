"""`critmin risk`: exposure and supply-risk metrics, and the criticality matrix.

``critmin risk [COMMODITY] [options]`` runs the default command ``show``; ``critmin risk matrix
--out FILE`` draws the matrix. A small click group routes any first argument that is not a
subcommand name to ``show``, so the commodity can come straight after ``risk``.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from critmin.cli._output import Format, emit


class _DefaultShow(TyperGroup):
    """A group whose first argument falls through to ``show`` unless it names a subcommand."""

    default = "show"

    def parse_args(self, ctx, args):  # type: ignore[no-untyped-def]
        help_only = bool(args) and args[0] in ctx.help_option_names
        if not help_only and (not args or args[0] not in self.commands):
            args = [self.default, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_DefaultShow,
    help=(
        "Exposure and supply risk: concentration, coalition coverage, N−1, EU CRM, USGS. "
        "`critmin risk [COMMODITY] [OPTIONS]` runs `show`; see `critmin risk show --help`."
    ),
    no_args_is_help=False,
)


class Method(enum.StrEnum):
    hhi = "hhi"
    eu = "eu"
    usgs = "usgs"
    n_1 = "n-1"
    all = "all"


class DenominatorChoice(enum.StrEnum):
    world_total = "world-total"
    sum_of_countries = "sum-of-countries"


class MissingWgi(enum.StrEnum):
    error = "error"
    exclude = "exclude"
    worst = "worst"


class EuVariant(enum.StrEnum):
    global_ = "global"
    us = "us"


class MatrixMethod(enum.StrEnum):
    eu = "eu"
    usgs = "usgs"


class XAxis(enum.StrEnum):
    nir = "nir"
    importance = "importance"


#: The narrower set shown as a terminal table (csv/json carry every column).
COMPACT = {
    "hhi": [
        "hhi",
        "top1",
        "top1_share",
        "top3_share",
        "oth_share",
        "country_share",
        "group_share",
        "consumption_coverage",
        "bottleneck",
    ],
    "n-1": ["n1_basis", "n1_removed", "n1_remaining", "n1_country_remaining"],
    "eu": ["hhi_wgi", "eol_rir", "si_sr", "sr_eu", "wgi_missing"],
    "usgs": ["dp", "te", "te_bound", "ev", "sr_usgs"],
    "all": [
        "hhi",
        "top1",
        "top1_share",
        "country_share",
        "group_share",
        "n1_remaining",
        "sr_eu",
        "dp",
        "te",
        "sr_usgs",
        "bottleneck",
    ],
}


@app.command("show")
def show(
    commodity: Annotated[
        str | None, typer.Argument(help="Commodity (slug or USGS name); all if omitted.")
    ] = None,
    stage: Annotated[str | None, typer.Option(help="Stage, e.g. mine, refinery.")] = None,
    year: Annotated[
        int | None,
        typer.Option(
            help="Year; default: every year for one commodity, the latest year per market for all."
        ),
    ] = None,
    country: Annotated[
        str, typer.Option(help="Country whose share is shown (ISO3 or name).")
    ] = "CHN",
    group: Annotated[
        str, typer.Option(help="Country group for share and coverage.")
    ] = "trade-club",
    as_of: Annotated[
        str,
        typer.Option(
            "--as-of",
            help="Group membership applied to every year: 'today' (the group as it is now), "
            "a date (YYYY-MM-DD), or 'year-end' (the members on 31 December of each year).",
        ),
    ] = "today",
    method: Annotated[Method, typer.Option(help="Metric family.")] = Method.all,
    denominator: Annotated[
        DenominatorChoice,
        typer.Option(
            help="Share denominator: the published world total, or the sum of country rows."
        ),
    ] = DenominatorChoice.world_total,
    eu_variant: Annotated[
        EuVariant,
        typer.Option(
            "--eu-variant",
            help="EU sourcing: global supply (EU trade not in data) or the US view "
            "(US import sources + NIR).",
        ),
    ] = EuVariant.global_,
    missing_wgi: Annotated[
        MissingWgi,
        typer.Option(
            "--missing-wgi",
            help="Producer without WGI: error, exclude it, or give it the worst score.",
        ),
    ] = MissingWgi.error,
    rank_by: Annotated[
        str | None,
        typer.Option(
            "--rank-by", help="Column to rank by (descending), e.g. hhi, group_share, sr_usgs."
        ),
    ] = None,
    bottleneck_only: Annotated[
        bool,
        typer.Option("--bottleneck", help="Only each commodity's bottleneck stage (highest HHI)."),
    ] = False,
    all_years: Annotated[
        bool,
        typer.Option(
            "--all-years", help="Without a commodity: keep every year, not just the latest."
        ),
    ] = False,
    params: Annotated[
        Path | None,
        typer.Option(
            help="CSV overriding EU/USGS parameters (same columns as metrics/eu_parameters.csv)."
        ),
    ] = None,
    edition: Annotated[
        int | None, typer.Option(help="Use one MCS edition instead of the latest per year.")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="table | csv | json")] = Format.table,
) -> None:
    """Concentration, coverage, N−1 and supply risk per commodity, stage and year, ranked by risk.

    Shares are fractions of the world total; HHI is shown on 0–10,000.
    """
    from datetime import date

    from critmin.errors import UnknownNameError
    from critmin.metrics.concentration import hhi_points
    from critmin.metrics.exposure import latest_per_market, method_columns, risk_table

    membership_date = (
        None if as_of == "year-end" else date.today().isoformat() if as_of == "today" else as_of
    )
    table = risk_table(
        commodity,
        stage,
        year,
        country,
        group,
        method.value,
        denominator.value,
        membership_date,
        missing_wgi.value,
        eu_variant.value,
        str(params) if params else None,
        edition,
    )
    if commodity is None and year is None and not all_years:
        table = latest_per_market(table)
    if bottleneck_only:
        table = table[table["bottleneck"]]
    columns = COMPACT[method.value] if fmt is Format.table else method_columns(method.value)
    shown = ["commodity", "stage", "year", *[c for c in columns if c in table]]
    if rank_by is not None:
        if rank_by not in table:
            raise UnknownNameError("column to rank by", rank_by, table.columns)
        table = table.sort_values(
            ["world_published", rank_by, "commodity", "stage", "year"],
            ascending=[False, False, True, True, True],
            na_position="last",
        )
    elif commodity is not None:  # one commodity: a trend, stage by stage
        table = table.sort_values(["stage", "year"])
    out = table[shown].reset_index(drop=True)
    if "hhi" in out:
        out["hhi"] = hhi_points(out["hhi"]).round(0)
    if fmt is Format.table and "group_size" in table and table["group_size"].eq(0).any():
        typer.echo(
            f"note: {group} had no members at the end of some years shown (group_share 0); "
            "use --as-of today or a DATE to apply a later membership",
            err=True,
        )
    members = (
        f"members on {membership_date}" if membership_date else "members on 31 Dec of each year"
    )
    title = (
        f"critmin risk — {method.value}; country_share: {country}; "
        f"group_share: {group} ({members}); HHI 0–10,000"
    )
    emit(out, fmt, title=title)


@app.command("matrix")
def matrix(
    out: Annotated[
        Path, typer.Option("--out", help="Output file: .svg, .png or .html (interactive).")
    ],
    year: Annotated[
        int | None, typer.Option(help="Year; default: each commodity's latest.")
    ] = None,
    method: Annotated[
        MatrixMethod, typer.Option(help="Supply-risk method on the y axis.")
    ] = MatrixMethod.eu,
    x: Annotated[
        XAxis,
        typer.Option(
            help="x axis: US net import reliance, or EU economic importance (needs --params)."
        ),
    ] = XAxis.nir,
    missing_wgi: Annotated[
        MissingWgi,
        typer.Option("--missing-wgi", help="Producer without WGI: error | exclude | worst."),
    ] = MissingWgi.error,
    params: Annotated[Path | None, typer.Option(help="CSV overriding EU/USGS parameters.")] = None,
) -> None:
    """Draw the criticality matrix: supply risk against US import reliance (or importance)."""
    from critmin.metrics.matrix import criticality_matrix

    path, frame = criticality_matrix(
        out, year, method.value, x.value, str(params) if params else None, missing_wgi.value
    )
    typer.echo(f"wrote {path} ({len(frame)} commodities)", err=True)
