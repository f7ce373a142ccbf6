"""Figures of the dashboard as plotly JSON (``{"data": …, "layout": …}``), built from the
curated data by the same functions whatever shows them (web page, notebook, report).

* :func:`share_map`: each country's share of world output for one commodity, stage and year;
* :func:`chain_sankey`: the chain from mine to refinery to use, by country. The data give each
  country's output per stage, not who ships to whom, so stages meet in a world pool node
  (labelled as such) instead of invented country-to-country links; use is the US apparent
  consumption (USGS salient statistics) and the rest of the world by difference.
"""

from __future__ import annotations

import json
import re
from typing import Any

from critmin.errors import CritminError

AGGREGATE_CODES = ("WLD", "OTH", "MUL", "XEU")
_APPARENT = re.compile(r"appar", re.IGNORECASE)


def _figure_json(fig: Any) -> dict[str, Any]:
    return dict(json.loads(fig.to_json()))


def share_map(commodity: str, stage: str | None = None, year: int | None = None
              ) -> dict[str, Any]:
    """A world choropleth of each country's share (%) of world output."""
    import plotly.graph_objects as go

    from critmin.data import resolve_commodity
    from critmin.data.store import show

    slug = resolve_commodity(commodity)
    table = show(slug, stage, year)
    rows = table[~table.iso3.isin(AGGREGATE_CODES) & table.share.notna()]
    stage_name, year_shown = str(table.stage.iloc[0]), int(table.year.iloc[0])
    unit = str(table.unit.dropna().iloc[0]) if table.unit.notna().any() else ""
    fig = go.Figure(go.Choropleth(
        locations=rows.iso3.tolist(), z=(rows.share * 100).round(2).tolist(),
        locationmode="ISO-3", text=rows.country.tolist(), colorscale="YlOrRd", zmin=0,
        customdata=rows.value.tolist(),
        hovertemplate="%{text}: %{z:.1f}% of world<br>%{customdata:,.0f} " + unit
                      + "<extra></extra>",
        colorbar={"title": {"text": "% of world"}}))
    edition = int(table.edition.dropna().max()) if table.edition.notna().any() else None
    fig.update_layout(
        title={"text": f"{slug} — {stage_name} production {year_shown}: share of world total"
                       + (f" (USGS MCS {edition})" if edition else "")},
        geo={"showframe": False, "showcoastlines": True, "showland": True,
             "landcolor": "#eeeeee", "showcountries": True,
             "projection": {"type": "natural earth", "rotation": {"lon": 10}},
             "center": {"lon": 10, "lat": 15}, "lataxis": {"range": [-58, 85]}},
        margin={"l": 0, "r": 0, "t": 50, "b": 0})
    out = _figure_json(fig)
    out["meta"] = {"commodity": slug, "stage": stage_name, "year": year_shown,
                   "countries": len(rows), "unit": unit}
    return out


def _us_use(commodity: str, year: int, unit: str) -> float | None:
    """US apparent consumption in ``unit`` for ``year`` from the salient statistics, if any."""
    from critmin.data import us_salient

    table = us_salient(commodity)
    rows = table[(table.statistic == "consumption") & (table.year == year)
                 & table.detail.astype(str).str.contains(_APPARENT) & (table.unit == unit)
                 & table.value.notna()]
    if rows.empty:
        return None
    return float(rows.sort_values("edition").value.iloc[-1])


def chain_sankey(commodity: str, year: int | None = None, top: int = 8) -> dict[str, Any]:
    """Sankey: producers of each stage → world pool of that stage → next stage → use."""
    import plotly.graph_objects as go

    from critmin.data import resolve_commodity, stages
    from critmin.data.store import show

    slug = resolve_commodity(commodity)
    labels: list[str] = []
    source: list[int] = []
    target: list[int] = []
    value: list[float] = []

    def node(label: str) -> int:
        if label not in labels:
            labels.append(label)
        return labels.index(label)

    previous_pool: int | None = None
    unit, year_used, total = "", year, 0.0
    used_stages: list[str] = []
    for stage in stages(slug):
        try:
            table = show(slug, stage, year_used)
        except CritminError:
            continue
        year_used = int(table.year.iloc[0])
        unit = str(table.unit.dropna().iloc[0])
        producers = table[~table.iso3.isin(AGGREGATE_CODES) & table.value.gt(0)]
        producers = producers.sort_values("value", ascending=False)
        head, rest = producers.iloc[:top], producers.iloc[top:]
        pool = node(f"{stage}: world output")
        for row in head.itertuples():
            here = node(f"{stage}: {row.country}")
            if previous_pool is not None:
                source.append(previous_pool)
                target.append(here)
                value.append(float(row.value))
            source.append(here)
            target.append(pool)
            value.append(float(row.value))
        others = float(rest.value.sum()) + float(
            table.loc[table.iso3 == "OTH", "value"].fillna(0).sum())
        if others > 0:
            here = node(f"{stage}: other countries")
            if previous_pool is not None:
                source.append(previous_pool)
                target.append(here)
                value.append(others)
            source.append(here)
            target.append(pool)
            value.append(others)
        total = float(head.value.sum()) + others
        previous_pool = pool
        used_stages.append(stage)
    if previous_pool is None or year_used is None:
        raise CritminError(f"no production data for {slug} to draw its chain")
    us = _us_use(slug, year_used, unit)
    if us is not None and 0 < us <= total:
        for label, amount in (("use: United States (apparent consumption)", us),
                              ("use: rest of world (by difference)", total - us)):
            source.append(previous_pool)
            target.append(node(label))
            value.append(amount)
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node={"label": labels, "pad": 12, "thickness": 14},
        link={"source": source, "target": target, "value": value},
        valueformat=",.0f", valuesuffix=f" {unit}"))
    fig.update_layout(
        title={"text": f"{slug} {year_used}: {' → '.join(used_stages)} → use, by country "
                       "(stages meet in world pools: the data have no country-to-country flows)"},
        margin={"l": 10, "r": 10, "t": 60, "b": 10}, font={"size": 11})
    out = _figure_json(fig)
    out["meta"] = {"commodity": slug, "year": year_used, "stages": used_stages, "unit": unit,
                   "us_use": us}
    return out


def run_figures(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Figures of a run's results: price paths by bloc per stage, and the shortfall."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative

    periods, blocs = result["periods"], result["blocs"]
    colours = {b: qualitative.Plotly[i % 10] for i, b in enumerate(blocs)}
    figures = []
    for node, by_bloc in result["series"]["price"].items():
        fig = go.Figure()
        for bloc in blocs:
            shocked = by_bloc[bloc]
            if "p05" in shocked:
                fig.add_trace(go.Scatter(
                    x=periods + periods[::-1], y=shocked["p95"] + shocked["p05"][::-1],
                    fill="toself", line={"width": 0}, fillcolor=colours[bloc], opacity=0.15,
                    hoverinfo="skip", showlegend=False, name=f"{bloc} 5–95%"))
            fig.add_trace(go.Scatter(x=periods, y=shocked["mean"], name=bloc,
                                     line={"color": colours[bloc], "width": 2}))
            fig.add_trace(go.Scatter(
                x=periods, y=result["series"]["baseline_price"][node][bloc]["mean"],
                name=f"{bloc} baseline", line={"color": colours[bloc], "dash": "dot",
                                               "width": 1}))
        fig.update_layout(title={"text": f"{node}: price by bloc (USD/t), scenario vs baseline"},
                          yaxis={"title": {"text": "USD/t"}}, margin={"t": 50, "r": 10},
                          legend={"orientation": "h"})
        out = _figure_json(fig)
        out["meta"] = {"name": f"price:{node}", "node": node}
        figures.append(out)
    fig = go.Figure()
    for node, by_bloc in result["series"]["shortfall"].items():
        for bloc in blocs:
            values = by_bloc[bloc]["mean"]
            if any(v for v in values if v):
                fig.add_trace(go.Bar(x=periods, y=values, name=f"{node} · {bloc}"))
    fig.update_layout(barmode="stack", title={"text": "Shortfall caused by the shock "
                                                      "(unmet final demand above baseline, t)"},
                      yaxis={"title": {"text": "t per period"}}, margin={"t": 50, "r": 10},
                      legend={"orientation": "h"})
    out = _figure_json(fig)
    out["meta"] = {"name": "shortfall"}
    figures.append(out)
    return figures
