"""Charts of a simulation, one function per chart, each returning a plotly ``Figure``.

The briefing (:mod:`critmin.report.briefing`) and the web app draw the same charts with these
functions: they take the results Dataset of :func:`critmin.results.to_dataset` (region or bloc
detail) or the menu table of ``critmin.analysis.menu.compare``, and leave the size to the caller
(``fig.update_layout(width=…, height=…)`` for print, autosize on a page; a web page can ship
``fig.to_plotly_json()``).

* :func:`price_paths`: price by bloc per stage, median of the draws with the 5–95% band and the
  baseline (no shock, same draws) dotted; log scale, as shocked prices span orders of magnitude;
* :func:`shortfall_by_bloc`: baseline use not met per period, by bloc and stage — the per-period
  series whose sum over time is :func:`critmin.results.summarize`'s ``cumulative_shortfall_t``;
* :func:`days_of_cover`: stocks ÷ normal (baseline) use per day, by bloc and stage: commercial
  inventories by default, or a stockpile's holdings when a tool provides them;
* :func:`fiscal_cost`: each policy option's net fiscal cost (menu table).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from critmin.errors import CritminError
from critmin.scenario.model import PERIODS_PER_YEAR

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go
    import xarray as xr

#: Percentiles of the draws shown as a band around the central line.
BAND = (5.0, 95.0)
#: Days in a calendar year (Julian), to turn per-period use into use per day.
DAYS_PER_YEAR = 365.25
#: Height of one stage's panel in pixels (plus :data:`_CHROME` for title and legend).
ROW_HEIGHT = 210
_CHROME = 140
_BAND_TEXT = f"shaded: {BAND[0]:g}th–{BAND[1]:g}th percentile"


def bloc_colours(blocs: list[str]) -> dict[str, str]:
    """One colour per bloc, by position, so every chart of a run uses the same ones."""
    from plotly.colors import qualitative

    palette = qualitative.D3
    return {b: palette[i % len(palette)] for i, b in enumerate(blocs)}


def by_bloc(ds: xr.Dataset, name: str) -> np.ndarray:
    """(draw, time, stage, bloc) values of a quantity, regions summed into their blocs."""
    values = ds[name].values
    if "region" not in ds[name].dims:
        return values
    member = np.equal.outer(ds.region_bloc.values, ds.bloc.values).astype(float)
    return values @ member


def shortfall(ds: xr.Dataset) -> np.ndarray:
    """(draw, time, stage, bloc) t per period of baseline use not met: max(0, base − use)."""
    return np.maximum(by_bloc(ds, "baseline_consumption") - by_bloc(ds, "consumption"), 0.0)


def cover_days(ds: xr.Dataset, stocks: np.ndarray) -> np.ndarray:
    """(draw, time, stage, bloc) days of normal use that ``stocks`` (t, same shape) cover.

    Normal use is the baseline's consumption of the same period and draw (a stockpile target
    such as "60 days" is set against normal use, not against a shock-depressed one); NaN where
    a bloc uses none of that stage.
    """
    per_year = PERIODS_PER_YEAR[str(ds.attrs.get("time_step", "quarter"))]
    per_day = by_bloc(ds, "baseline_consumption") * per_year / DAYS_PER_YEAR
    return np.divide(stocks, per_day, out=np.full_like(stocks, np.nan), where=per_day > 0)


def price_paths(ds: xr.Dataset) -> go.Figure:
    """Price by bloc (USD/t, log scale): median of the draws, 5–95% band, baseline dotted."""
    lo, mid, hi = np.percentile(ds.price.values, [BAND[0], 50.0, BAND[1]], axis=0)
    base = np.median(ds.baseline_price.values, axis=0)
    fig = _panels(ds, lo, mid, hi, base, value_format=",.4~s", baseline_name="baseline")
    fig.update_yaxes(type="log", title_text="USD/t")
    fig.update_layout(title=_title("Price by bloc, USD/t (log scale)",
                                   f"median of draws, {_BAND_TEXT}; dotted: no shock"))
    fig.layout.meta = {"name": "price_paths"}
    return fig


def shortfall_by_bloc(ds: xr.Dataset) -> go.Figure:
    """Baseline use not met, t per period, by bloc and stage: mean of the draws and band."""
    short = shortfall(ds)
    lo, hi = np.percentile(short, BAND, axis=0)
    step = str(ds.attrs.get("time_step", "quarter"))
    fig = _panels(ds, lo, short.mean(axis=0), hi, None, value_format=",.3~s")
    fig.update_yaxes(title_text=f"t per {step}", rangemode="tozero")
    fig.update_layout(title=_title(f"Shortfall: normal use not met, t per {step}",
                                   f"mean of draws, {_BAND_TEXT}"))
    fig.layout.meta = {"name": "shortfall_by_bloc"}
    return fig


def days_of_cover(ds: xr.Dataset, holdings: np.ndarray | None = None,
                  what: str = "commercial stocks") -> go.Figure:
    """Days of normal use covered by stocks, by bloc and stage (median, band, baseline dotted).

    ``holdings`` (t; draw × time × stage × bloc) are a stockpile's holdings from a policy tool
    (no baseline then); by default the commercial inventories the engine keeps.
    """
    if holdings is None:
        days = cover_days(ds, by_bloc(ds, "inventory"))
        base = np.nanmedian(cover_days(ds, by_bloc(ds, "baseline_inventory")), axis=0)
    else:
        expected = ds.price.shape
        if holdings.shape != expected:
            raise CritminError(f"stockpile holdings have shape {holdings.shape}; allowed: "
                               f"{expected} (draw, time, stage, bloc)")
        days, base = cover_days(ds, holdings), None
    lo, mid, hi = np.nanpercentile(days, [BAND[0], 50.0, BAND[1]], axis=0)
    fig = _panels(ds, lo, mid, hi, base, value_format=",.0f", baseline_name="baseline")
    fig.update_yaxes(title_text="days", rangemode="tozero")
    dotted = "; dotted: no shock" if base is not None else ""
    fig.update_layout(title=_title(f"Days of cover: {what} ÷ normal use per day",
                                   f"median of draws, {_BAND_TEXT}{dotted}"))
    fig.layout.meta = {"name": "days_of_cover", "what": what}
    return fig


def fiscal_cost(frame: pd.DataFrame) -> go.Figure:
    """Net fiscal cost of each option of a menu table (``option``, ``fiscal_cost_usd``)."""
    import plotly.graph_objects as go

    missing = {"option", "fiscal_cost_usd"} - set(frame.columns)
    if missing:
        raise CritminError(f"menu table lacks column(s) {', '.join(sorted(missing))}; "
                           "allowed: the columns of critmin.analysis.menu.compare")
    cost = frame.fiscal_cost_usd.to_numpy(float)
    divisor, word = money_scale(cost)
    unit = f"USD {word}".rstrip()
    colours = np.where(cost < 0, "#2ca02c", "#1f77b4")
    fig = go.Figure(go.Bar(
        x=cost / divisor, y=frame.option.astype(str).tolist(), orientation="h",
        marker={"color": colours.tolist()},
        text=[f"{v:,.2f}" for v in cost / divisor], textposition="auto",
        hovertemplate="%{y}: %{x:,.2f} " + unit + "<extra></extra>"))
    fig.update_layout(
        title=_title(f"Net fiscal cost by option, {unit}",
                     "outlays net of revenue; negative = net revenue"),
        xaxis={"title": {"text": unit}, "zeroline": True},
        yaxis={"autorange": "reversed", "automargin": True},
        height=_CHROME + 40 * max(len(frame), 2), margin={"t": 85, "r": 20, "b": 50},
        template="plotly_white", meta={"name": "fiscal_cost"})
    return fig


def money_scale(values: np.ndarray) -> tuple[float, str]:
    """(divisor, word) showing these USD amounts in readable numbers: (1e9, "billion")."""
    finite = np.abs(values[np.isfinite(values)])
    largest = float(finite.max()) if finite.size else 0.0
    for divisor, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if largest >= divisor:
            return divisor, word
    return 1.0, ""


def _title(text: str, subtitle: str) -> dict[str, object]:
    return {"text": text, "subtitle": {"text": subtitle, "font": {"size": 11}}}


def _panels(ds: xr.Dataset, lo: np.ndarray, mid: np.ndarray, hi: np.ndarray,
            base: np.ndarray | None, *, value_format: str,
            baseline_name: str = "baseline") -> go.Figure:
    """One panel per stage: a line per bloc with its band, optionally a dotted baseline.

    Arrays are (time, stage, bloc). Blocs share a colour and a legend group across panels.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    stages = [str(s) for s in ds.stage.values]
    blocs = [str(b) for b in ds.bloc.values]
    periods = [str(t) for t in ds.time.values]
    colours = bloc_colours(blocs)
    fig = make_subplots(rows=len(stages), cols=1, shared_xaxes=True, subplot_titles=stages,
                        vertical_spacing=min(0.3 / max(len(stages), 1), 0.12))
    has_band = ds.sizes["draw"] > 1
    hover = "%{x}: %{y:" + value_format + "}"
    for i in range(len(stages)):
        for b, bloc in enumerate(blocs):
            colour, first = colours[bloc], i == 0
            if has_band:
                fig.add_trace(go.Scatter(
                    x=periods + periods[::-1], y=np.r_[hi[:, i, b], lo[::-1, i, b]],
                    fill="toself", fillcolor=colour, opacity=0.18, line={"width": 0},
                    hoverinfo="skip", legendgroup=bloc, showlegend=False,
                    name=f"{bloc} {BAND[0]:g}–{BAND[1]:g}%"), row=i + 1, col=1)
            fig.add_trace(go.Scatter(
                x=periods, y=mid[:, i, b], name=bloc, legendgroup=bloc,
                showlegend=first, line={"color": colour, "width": 2},
                hovertemplate=f"{bloc} {hover}<extra></extra>"), row=i + 1, col=1)
            if base is not None:
                fig.add_trace(go.Scatter(
                    x=periods, y=base[:, i, b], name=f"{bloc} {baseline_name}",
                    legendgroup=bloc, showlegend=first,
                    line={"color": colour, "width": 1.2, "dash": "dot"},
                    hovertemplate=f"{bloc} {baseline_name} {hover}<extra></extra>"),
                    row=i + 1, col=1)
    fig.update_layout(height=_CHROME + ROW_HEIGHT * len(stages), template="plotly_white",
                      legend={"orientation": "h", "y": -0.06, "yanchor": "top"},
                      margin={"t": 110, "r": 20, "b": 40, "l": 70}, hovermode="x unified")
    fig.update_xaxes(nticks=12)
    return fig
