"""The menu: a scenario's policy tools side by side, at a common budget (DESIGN.md §6).

:func:`compare` runs the shock alone, the shock with each tool, and the packages the file's
``menu:`` names, all in **one** vectorised simulation: option *k*'s draws are block *k* of the
draw axis (every block repeats the same parameter draws, so options are compared draw by draw)
and each option's tools act on their block only. Tools whose size is money (stockpile budget
and financing, floor and subsidy caps, grants, research) are scaled so that each alone gets the
common budget, and a package shares it in proportion to its tools' own money.

Outcomes are measured at the final stage of the menu's commodity (final demand, where GDP is at
risk) for the *focus* blocs (default: every bloc that is not the exporter of a trade shock),
region by region, against the same run's no-shock baseline:

* ``shortfall`` = final demand lost to the shock, ``Σ_t max(0, lost − lost_baseline)``: what
  final users go without (substitution is adaptation and not counted; ``unserved_t`` in
  ``critmin run``), summed over the focus regions; ``shortfall_avoided_t`` = shock alone −
  option, mean over draws;
* ``peak_price_reduction`` = share of the price spike avoided, ``(m_alone − m) / (m_alone − 1)``
  with ``m`` the highest peak price multiple (price ÷ baseline price) among the focus blocs
  (median over draws);
* ``gdp_at_risk_avoided_usd`` = shortfall avoided × value added per t (registry);
* ``fiscal_cost_usd`` = outlays − revenue over the horizon (cash; financing flows excluded, stock
  still held at the end reported apart as ``assets_end_usd``);
* ``usd_per_t_avoided`` = fiscal cost ÷ shortfall avoided (only where something is avoided);
* ``members_gaining`` = focus regions whose own shortfall falls by more than
  :data:`GAIN_TOLERANCE` of it.

Options are ranked by net benefit, GDP at risk avoided − fiscal cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from critmin.errors import CritminError
from critmin.world import World

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from critmin.engine.loop import Run
    from critmin.policy.hooks import PolicySet
    from critmin.scenario.model import Scenario

MENU_COLUMNS = ("option", "fiscal_cost_usd", "shortfall_avoided_t", "peak_price_reduction",
                "gdp_at_risk_avoided_usd", "usd_per_t_avoided", "members_gaining")
SHOCK_ALONE = "shock alone"
#: A region gains when its shortfall falls by more than this share of its shock-alone value.
GAIN_TOLERANCE = 0.005


@dataclass(frozen=True)
class Option:
    """One row of the menu: which tools run, how their money is scaled, what they get."""

    name: str
    tools: tuple[str, ...]
    kinds: tuple[str, ...]
    scale: dict[str, float]
    budget_usd: float | None


def money(tool: Any) -> float | None:
    """A tool's size in money (USD), or None if its size is not money (tariffs)."""
    if getattr(tool, "kind", None) == "trade_club":
        parts = [money(p) for p in (tool.stockpile, tool.floor) if p is not None]
        given = [p for p in parts if p is not None]
        return sum(given) if given else None
    if hasattr(tool, "financing"):  # a stockpile, or a club's pooled one
        return tool.budget_usd + tool.financing.loan_usd + tool.financing.private_usd
    return getattr(tool, "budget_usd", None)


def options(scenario: Scenario, budget: float | None) -> list[Option]:
    """The shock alone, each tool alone (its money scaled to ``budget``), then the packages
    (sharing ``budget`` in proportion to their tools' own money)."""
    tools = {t.label: t for t in scenario.policies}
    out = [Option(SHOCK_ALONE, (), (), {}, None)]
    for name, tool in tools.items():
        size = money(tool)
        if budget is not None and size:
            out.append(Option(name, (name,), (tool.kind,), {name: budget / size}, budget))
        else:
            out.append(Option(name, (name,), (tool.kind,), {}, size))
    for combo in scenario.menu.combinations if scenario.menu else []:
        sizes = {n: money(tools[n]) or 0.0 for n in combo.policies}
        total = sum(sizes.values())
        kinds = tuple(tools[n].kind for n in combo.policies)
        if budget is not None and total > 0:
            scale = {n: budget / total for n, s in sizes.items() if s}
            out.append(Option(combo.name, tuple(combo.policies), kinds, scale, budget))
        else:
            out.append(Option(combo.name, tuple(combo.policies), kinds, {}, total or None))
    return out


@dataclass(frozen=True)
class _Tiled(World):
    """A world whose parameter draws repeat ``copies`` times along the draw axis."""

    copies: int = 1

    def draw_parameters(self, n_draws: int, seed: int = 0, method: str = "lhs"
                        ) -> dict[str, np.ndarray]:
        base = World.draw_parameters(self, n_draws // self.copies, seed, method)
        return {k: np.tile(v, (self.copies,) + (1,) * (v.ndim - 1)) for k, v in base.items()}


def tiled(world: World, copies: int) -> World:
    """``world`` with its draws repeated ``copies`` times (one block per menu option)."""
    return _Tiled(**{f.name: getattr(world, f.name) for f in fields(world)}, copies=copies)


def compare(scenario: Scenario | str | Path, budget: float | None = None,
            draws: int | None = None) -> pd.DataFrame:
    """One row per option (the shock alone first, then by rank): the columns of
    :data:`MENU_COLUMNS` and more (see the module doc)."""
    from critmin.engine import simulate
    from critmin.policy.hooks import Draws, build
    from critmin.scenario.model import Scenario as ScenarioModel
    from critmin.scenario.model import load_scenario
    from critmin.world import build_world_for

    if not isinstance(scenario, ScenarioModel):
        scenario = load_scenario(scenario)
    if not scenario.policies:
        raise CritminError(f"scenario {scenario.name!r} names no policy tools; allowed: a file "
                           "with a policies: section")
    if budget is None and scenario.menu is not None:
        budget = scenario.menu.budget_usd
    if budget is not None and not (math.isfinite(budget) and budget >= 0):
        raise CritminError(f"budget {budget:g} is not allowed; allowed: a number of USD >= 0")
    n = draws if draws is not None else (scenario.menu.draws if scenario.menu else 1)
    if n < 1:
        raise CritminError(f"draws must be at least 1 (got {n})")
    opts = options(scenario, budget)
    world = build_world_for(scenario)
    shared = Draws.of(scenario, world, n)
    sets = [build(scenario, world, draws=shared, rows=slice(k * n, (k + 1) * n),
                  tools=opt.tools, scale=opt.scale) for k, opt in enumerate(opts)]
    run = simulate(tiled(world, len(opts)), scenario, draws=n * len(opts), seed=shared.seed,
                   hooks=[h for s in sets for h in s.hooks])
    for s in sets:
        s.ledger.check()
    return measure(run, scenario, opts, sets, n)


def focus_blocs(scenario: Scenario, names: list[str]) -> list[str]:
    """The menu's focus, or every bloc that is not the exporter of a trade shock."""
    from critmin.scenario.model import TRADE_SHOCKS

    if scenario.menu is not None and scenario.menu.focus:
        return list(scenario.menu.focus)
    exporters = {s.exporter for s in scenario.shocks if isinstance(s, TRADE_SHOCKS)}
    chosen = [b for b in names if b not in exporters]
    return chosen or list(names)


def measure(run: Run, scenario: Scenario, opts: list[Option], sets: list[PolicySet], n: int
            ) -> pd.DataFrame:
    """The menu table from a tiled run (block k of the draw axis = option k)."""
    import pandas as pd

    from critmin.engine.chains import CHAINS

    world, blocs = run.world, run.blocs
    commodity = (scenario.menu.commodity if scenario.menu and scenario.menu.commodity
                 else scenario.chains[0])
    node = world.node(commodity, CHAINS[commodity].stages[-1])
    focus = focus_blocs(scenario, list(blocs.names))
    focus_idx = [blocs.index(b) for b in focus]
    regions = np.flatnonzero(np.isin(blocs.bloc_of, focus_idx))
    shocked, base = run.shocked, run.baseline
    lost = np.maximum(shocked.demand_destroyed[:, :, node, regions]
                      - base.demand_destroyed[:, :, node, regions], 0.0).sum(axis=1)  # (D, R')
    short = np.maximum(base.consumption[:, :, node, regions]
                       - shocked.consumption[:, :, node, regions], 0.0).sum(axis=1)
    ratio = shocked.price[:, :, node][:, :, focus_idx] / base.price[:, :, node][:, :, focus_idx]
    peak = ratio.max(axis=(1, 2))  # (D,)
    va = np.nan_to_num(run.parameters["value_added_per_t"][:, node, 0])

    def block(a: np.ndarray, k: int) -> np.ndarray:
        return a[k * n:(k + 1) * n]

    lost0, short0, peak0 = block(lost, 0), block(short, 0), block(peak, 0)
    rows = []
    for k, (opt, pset) in enumerate(zip(opts, sets, strict=True)):
        lk, sk, pk = block(lost, k), block(short, k), block(peak, k)
        avoided = (lost0 - lk).sum(axis=1)  # (n,)
        gdp_avoided = avoided * block(va, k)
        outlays = sum((pset.ledger.total(h, _outlays()).sum(axis=1) for h in pset.ledger.holders),
                      np.zeros(n))
        cost = pset.fiscal_cost()
        cost = np.where(np.abs(cost) <= 1e-9 * np.maximum(outlays, 1.0), 0.0, cost)  # rounding
        assets = sum((t.assets() for t in pset.tools if hasattr(t, "assets")), np.zeros(n))
        spike = np.where(peak0 > 1.0, (peak0 - pk) / np.where(peak0 > 1.0, peak0 - 1.0, 1.0),
                         np.nan)
        gains = zip((lost0 - lk).mean(axis=0), lost0.mean(axis=0), regions, strict=True)
        gaining = [world.regions[r] for g, ref, r in sorted(gains, key=lambda x: -x[0])
                   if g > 0 and g > GAIN_TOLERANCE * ref]
        mean_cost, mean_avoided = float(cost.mean()), float(avoided.mean())
        mean_gdp = float(gdp_avoided.mean())
        days = [np.nanmax(t.record["days_of_cover"].mean(axis=0))
                for t in _stockpiles(pset.tools) if np.isfinite(t.record["days_of_cover"]).any()]
        rows.append({
            "option": opt.name,
            "fiscal_cost_usd": mean_cost,
            "shortfall_avoided_t": mean_avoided,
            "peak_price_reduction": float(np.nanmedian(spike)) if np.isfinite(spike).any()
            else math.nan,
            "gdp_at_risk_avoided_usd": mean_gdp,
            "usd_per_t_avoided": mean_cost / mean_avoided if mean_avoided > 0 else math.nan,
            "members_gaining": gaining,
            "tools": list(opt.tools),
            "kinds": list(opt.kinds),
            "budget_usd": math.nan if opt.budget_usd is None else float(opt.budget_usd),
            "shortfall_t": float(lk.sum(axis=1).mean()),
            "consumption_shortfall_avoided_t": float((short0 - sk).sum(axis=1).mean()),
            "peak_price_multiple": float(np.median(pk)),
            "gdp_at_risk_usd": float((lk.sum(axis=1) * block(va, k)).mean()),
            "outlays_usd": float(outlays.mean()),
            "revenue_usd": float((outlays - cost).mean()),
            "assets_end_usd": float(assets.mean()),
            "usd_per_usd_gdp_avoided": mean_cost / mean_gdp if mean_gdp > 0 else math.nan,
            "days_of_cover_max": float(max(days)) if days else math.nan,
            "net_benefit_usd": mean_gdp - mean_cost,
            "draws": n,
            "stage": world.nodes[node].label,
            "focus": ", ".join(focus),
        })
    frame = pd.DataFrame(rows)
    others = frame.index[1:]
    ranks = frame.loc[others, "net_benefit_usd"].rank(ascending=False, method="min")
    frame["rank"] = np.nan
    frame.loc[others, "rank"] = ranks
    order = [0, *frame.loc[others].sort_values(["rank", "option"]).index]
    return frame.loc[order].reset_index(drop=True)


def _outlays() -> tuple[str, ...]:
    from critmin.policy.ledger import OUTLAYS

    return OUTLAYS


def _stockpiles(tools: list[Any]) -> list[Any]:
    """Stockpile tools, including those inside a club."""
    from critmin.policy.stockpile import StockpileTool

    found: list[Any] = []
    for t in tools:
        found += [t] if isinstance(t, StockpileTool) else _stockpiles(getattr(t, "parts", []))
    return found


def cost_risk_figure(frame: pd.DataFrame) -> go.Figure:
    """Cost against risk reduced: net fiscal cost (x) against shortfall avoided (y), one point
    per option, sized by GDP at risk avoided."""
    import plotly.graph_objects as go

    missing = {"option", "fiscal_cost_usd", "shortfall_avoided_t"} - set(frame.columns)
    if missing:
        raise CritminError(f"menu table lacks column(s) {', '.join(sorted(missing))}; allowed: "
                           "the table of critmin.analysis.menu.compare")
    cost = frame.fiscal_cost_usd.to_numpy(float)
    largest = float(np.nanmax(np.abs(cost))) if np.isfinite(cost).any() else 0.0
    divisor, unit = next(((d, u) for d, u in ((1e9, "USD billion"), (1e6, "USD million"))
                          if largest >= d), (1.0, "USD"))
    gdp = frame.get("gdp_at_risk_avoided_usd", frame.fiscal_cost_usd * 0).to_numpy(float)
    positive = np.clip(np.nan_to_num(gdp), 0.0, None)
    size = 12 + 30 * np.sqrt(positive / positive.max()) if positive.max() > 0 else np.full(
        len(frame), 14.0)
    fig = go.Figure(go.Scatter(
        x=cost / divisor, y=frame.shortfall_avoided_t.to_numpy(float),
        mode="markers+text", text=frame.option.astype(str).tolist(), textposition="top center",
        marker={"size": size.tolist(), "color": "#1f77b4", "opacity": 0.75},
        hovertemplate="%{text}<br>net fiscal cost %{x:,.2f} " + unit
                      + "<br>shortfall avoided %{y:,.0f} t<extra></extra>"))
    fig.update_layout(
        title={"text": "Cost against risk reduced<br><sup>net fiscal cost and final demand lost "
                       "that each option avoids; marker area ~ GDP at risk avoided</sup>"},
        xaxis={"title": {"text": f"net fiscal cost, {unit}"}, "zeroline": True},
        yaxis={"title": {"text": "shortfall avoided, t"}, "zeroline": True},
        template="plotly_white", height=480, meta={"name": "cost_risk"})
    return fig
