"""The criticality matrix: supply risk (y) against US import reliance or economic importance (x).

One point per commodity: the stage with the highest supply risk (the EU stage rule: report the
bottleneck stage) in the chosen year (default: each commodity's latest year), among markets with
a published world total (a commodity that USGS reports only as product forms by country, e.g.
boron, has no world market to place and is left out). x is the US net
import reliance from the USGS salient tables (data), or the EU economic importance parameter
when the user supplies it (``x="importance"``; none is shipped, so none is guessed). Thresholds
drawn: EU SR = 1.0 and EI = 2.8; USGS SR = 0.40.

Static figures use matplotlib (SVG/PNG); the interactive one is plotly HTML with plotly.js
embedded from the plotly package (no CDN).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

import numpy as np
import pandas as pd

from critmin.errors import CritminError
from critmin.metrics.eu_crm import EI_THRESHOLD, SR_THRESHOLD
from critmin.metrics.parameters import parameter_values

USGS_THRESHOLD: Final = 0.40
SUFFIXES: Final = (".svg", ".png", ".html")
AXES: Final = ("nir", "importance")
RiskMethod = Literal["eu", "usgs"]
XAxis = Literal["nir", "importance"]

LABELS: Final = {
    "nir": "US net import reliance (share of apparent consumption, USGS MCS)",
    "importance": "EU economic importance (parameter, 0–10)",
    "eu": "EU CRM supply risk (bottleneck stage)",
    "usgs": "USGS 2022 supply risk (DP·TE·EV)^1/3 (bottleneck stage)",
}


NOTE: Final = {
    "eu": "y: WGI-weighted HHI of USGS MCS production shares (WGI 2024 release) × (1 − EOL-RIR) × "
    "SI_SR; EOL-RIR and SI_SR are parameters (assumptions unless overridden). EU sourcing = "
    "global supply.",
    "usgs": "y: (DP·TE·EV)^1/3 with DP from USGS MCS shares and WGI, TE = US net import "
    "reliance; EV is a parameter (assumption unless overridden).",
}


def matrix_frame(
    table: pd.DataFrame,
    nir: pd.DataFrame,
    params: pd.DataFrame,
    method: RiskMethod = "eu",
    x: XAxis = "nir",
) -> pd.DataFrame:
    """One row per commodity: commodity, year, stage, x, y, hhi (points without x or y dropped).

    ``table``: a risk table (:func:`critmin.metrics.exposure.compute_risk`) holding one year per
    commodity; ``nir`` from :func:`critmin.metrics.reliance.us_net_import_reliance`.
    """
    if x not in AXES:
        raise CritminError(f"unknown x axis {x!r}: use one of {', '.join(AXES)}")
    y_col = {"eu": "sr_eu", "usgs": "sr_usgs"}.get(method)
    if y_col is None:
        raise CritminError(f"unknown matrix method {method!r}: use eu or usgs")
    rows = table.dropna(subset=[y_col])
    if "world_published" in rows:  # product-form splits without a world total: not drawn
        rows = rows[rows["world_published"]]
    rows = rows[rows["year"].eq(rows.groupby("commodity")["year"].transform("max"))]
    rows = rows.sort_values(["commodity", y_col], ascending=[True, False])
    rows = rows.drop_duplicates("commodity").rename(columns={y_col: "y"})
    if x == "nir":
        rows = rows.merge(nir[["commodity", "year", "nir"]], on=["commodity", "year"], how="left")
        rows["x"] = rows["nir"]
    else:
        rows["x"] = parameter_values(params, rows["commodity"], "economic_importance")["value"]
        if rows["x"].isna().all():
            raise CritminError(
                "no economic_importance values: supply them in a parameter override file "
                "(--params FILE with rows commodity,economic_importance,value,…) or use --x nir"
            )
    return rows.dropna(subset=["x", "y"])[["commodity", "year", "stage", "x", "y", "hhi"]]


def _thresholds(method: RiskMethod, x: XAxis) -> tuple[float, float | None]:
    y_line = SR_THRESHOLD if method == "eu" else USGS_THRESHOLD
    return y_line, (EI_THRESHOLD if x == "importance" else None)


def draw_static(frame: pd.DataFrame, path: Path, method: RiskMethod, x: XAxis, title: str) -> None:
    """Scatter with every commodity labelled, threshold lines and labelled axes (SVG or PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(12, 8.5), dpi=110)
    size = 20 + 180 * np.sqrt(frame["hhi"].clip(0, 1).to_numpy())
    points = ax.scatter(
        frame["x"],
        frame["y"],
        s=size,
        c=frame["hhi"] * 10_000,
        cmap="viridis_r",
        alpha=0.75,
        edgecolors="black",
        linewidths=0.4,
        vmin=0,
        vmax=10_000,
    )
    ordered = frame.sort_values(["x", "y"])
    offsets = np.where(np.arange(len(ordered)) % 2 == 0, 3, -9)  # alternate to limit overlap
    for row, dy in zip(ordered.itertuples(index=False), offsets, strict=True):
        ax.annotate(
            row.commodity, (row.x, row.y), xytext=(4, dy), textcoords="offset points", fontsize=7
        )
    y_line, x_line = _thresholds(method, x)
    ax.axhline(y_line, color="firebrick", linestyle="--", linewidth=1)
    ax.annotate(
        f"threshold {y_line:g}",
        (0.5, y_line),
        xycoords=("axes fraction", "data"),
        xytext=(0, 3),
        textcoords="offset points",
        ha="center",
        fontsize=8,
        color="firebrick",
    )
    if x_line is not None:
        ax.axvline(x_line, color="firebrick", linestyle="--", linewidth=1)
    low, high = ax.get_xlim()
    ax.set_xlim(low, high + 0.1 * (high - low))  # room for the labels of the right-most points
    fig.text(0.01, 0.005, NOTE[method], fontsize=7, color="dimgray", ha="left", va="bottom")
    ax.set_xlabel(LABELS[x])
    ax.set_ylabel(LABELS[method])
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    fig.colorbar(points, ax=ax, label="HHI of the bottleneck stage (0–10,000)")
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    fig.savefig(path)
    plt.close(fig)


def draw_html(frame: pd.DataFrame, path: Path, method: RiskMethod, x: XAxis, title: str) -> None:
    """Interactive plotly scatter; plotly.js embedded in the file (works offline)."""
    import plotly.graph_objects as go

    fig = go.Figure(
        go.Scatter(
            x=frame["x"],
            y=frame["y"],
            mode="markers+text",
            text=frame["commodity"],
            textposition="top center",
            textfont={"size": 9},
            marker={
                "size": 8 + 20 * np.sqrt(frame["hhi"].clip(0, 1)),
                "color": frame["hhi"] * 10_000,
                "colorscale": "Viridis",
                "reversescale": True,
                "cmin": 0,
                "cmax": 10_000,
                "colorbar": {"title": "HHI"},
            },
            customdata=np.column_stack([frame["stage"], frame["year"], frame["hhi"] * 10_000]),
            hovertemplate=(
                "%{text}<br>stage %{customdata[0]}, %{customdata[1]}<br>"
                "x %{x:.2f}, y %{y:.3f}<br>HHI %{customdata[2]:,.0f}<extra></extra>"
            ),
        )
    )
    y_line, x_line = _thresholds(method, x)
    fig.add_hline(
        y=y_line, line_dash="dash", line_color="firebrick", annotation_text=f"threshold {y_line:g}"
    )
    if x_line is not None:
        fig.add_vline(x=x_line, line_dash="dash", line_color="firebrick")
    fig.update_layout(
        title=title,
        xaxis_title=LABELS[x],
        yaxis_title=LABELS[method],
        template="plotly_white",
        annotations=[
            {
                "text": NOTE[method],
                "showarrow": False,
                "xref": "paper",
                "yref": "paper",
                "x": 0,
                "y": -0.12,
                "font": {"size": 10, "color": "gray"},
            }
        ],
        width=1100,
        height=780,
    )
    fig.write_html(path, include_plotlyjs=True, full_html=True)


def write_matrix(
    frame: pd.DataFrame,
    out: str | Path,
    method: RiskMethod = "eu",
    x: XAxis = "nir",
    title: str | None = None,
) -> Path:
    """Write the matrix by suffix: .svg/.png (matplotlib) or .html (plotly)."""
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise CritminError(f"cannot write {path.name}: use a file ending in {', '.join(SUFFIXES)}")
    if frame.empty:
        raise CritminError("nothing to draw: no commodity has both a supply risk and an x value")
    if path.parent and not path.parent.exists():
        raise CritminError(f"folder {path.parent} does not exist")
    years = sorted(frame["year"].unique())
    span = f"{years[0]}" if len(years) == 1 else f"{years[0]}–{years[-1]}"
    title = title or f"Criticality matrix, {len(frame)} commodities, {span}"
    (draw_html if suffix == ".html" else draw_static)(frame, path, method, x, title)
    return path


def criticality_matrix(
    out: str | Path,
    year: int | None = None,
    method: RiskMethod = "eu",
    x: XAxis = "nir",
    params: str | pd.DataFrame | None = None,
    missing_wgi: str = "error",
) -> tuple[Path, pd.DataFrame]:
    """Draw the matrix for all commodities from the curated data; returns the file and points."""
    from critmin import data
    from critmin.metrics.exposure import latest_per_market, risk_table
    from critmin.metrics.parameters import load_parameters
    from critmin.metrics.reliance import us_net_import_reliance

    table = risk_table(year=year, method=method, params=params, missing_wgi=missing_wgi)  # type: ignore[arg-type]
    if year is None:
        table = latest_per_market(table)
    nir = us_net_import_reliance(data.us_salient())
    frame = matrix_frame(table, nir, load_parameters(params), method, x)
    return write_matrix(frame, out, method, x), frame
