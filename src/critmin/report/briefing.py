"""The briefing: one HTML page for a minister's desk, and the same page printed to PDF.

:func:`prepare` simulates a scenario (its baseline too, same draws) and, when the scenario names
policy tools (a ``menu:`` or ``policies:`` section) and ``critmin.analysis.menu`` is installed,
compares them; :func:`render_html` writes the page — the question, the bottom line, the shock,
the menu table, results by stage and bloc, the charts of :mod:`critmin.report.figures`, the
assumptions (the registry rows the run used, with their sources), the sources, and what
reproduces the run (data edition, registry version, scenario hash, seed); :func:`write_report`
puts ``report.html`` and ``report.pdf`` into a folder.

The page is self-contained: plotly.js is embedded from the installed plotly package (no CDN),
so it opens offline and prints the same anywhere. Every number on it comes from the run, the
curated data or the registry; the text around the numbers is generated from them.
"""

from __future__ import annotations

import datetime as dt
import html
import importlib
import importlib.util
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from critmin.errors import CritminError, UnknownNameError
from critmin.report import figures as charts

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go
    import xarray as xr

    from critmin.engine.loop import Run
    from critmin.scenario.model import Scenario
    from critmin.world import World

HTML_NAME = "report.html"
PDF_NAME = "report.pdf"
MENU_MODULE = "critmin.analysis.menu"
#: Columns of the menu table (``critmin.analysis.menu.compare``), in the order shown.
MENU_COLUMNS = ("option", "fiscal_cost_usd", "shortfall_avoided_t", "peak_price_reduction",
                "gdp_at_risk_avoided_usd", "usd_per_t_avoided", "members_gaining")
#: Chart width in CSS pixels: A4 (210 mm) less 2 × 12 mm margins is 186 mm ≈ 703 px at 96 px/in.
FIGURE_WIDTH = 690
FONT = '"Liberation Sans", "DejaVu Sans", Arial, sans-serif'
#: Curated tables the world builder reads (production and capacity facts, salient prices,
#: country names, groups named in blocs): the data sources a run rests on.
DATA_TABLES = ("facts", "us_salient", "countries", "groups")
_URL = re.compile(r"(https?://[^\s)<>\"']+)")


@dataclass
class Menu:
    """The menu comparison of a scenario's tools, or why there is none."""

    table: pd.DataFrame | None
    figures: dict[str, go.Figure] = field(default_factory=dict)
    note: str = ""


@dataclass
class Briefing:
    """Everything the page shows: the scenario, its run and summary, the menu."""

    scenario: Scenario
    run: Run
    dataset: xr.Dataset
    summary: pd.DataFrame
    menu: Menu
    source: str = ""
    created: str = field(default_factory=lambda: dt.date.today().isoformat())

    @property
    def world(self) -> World:
        return self.run.world


# -- building ----------------------------------------------------------------------------------


def prepare(scenario: Scenario, *, source: str = "", draws: int | None = None,
            budget: float | None = None,
            progress: Callable[[str, int, int], None] | None = None) -> Briefing:
    """Simulate ``scenario`` (and its baseline) and compare its tools if it names any."""
    from critmin.engine import simulate
    from critmin.results import summarize, to_dataset
    from critmin.world import build_world_for

    if budget is not None and not (math.isfinite(budget) and budget >= 0):
        raise CritminError(f"budget {budget:g} is not allowed; allowed: a number of USD >= 0")
    world = build_world_for(scenario)
    run = simulate(world, scenario, draws=draws, progress=progress)
    dataset = to_dataset(run)
    return Briefing(scenario, run, dataset, summarize(dataset),
                    menu_comparison(scenario, budget=budget, draws=draws), source)


def menu_section(scenario: Scenario) -> Any:
    """The scenario's ``menu:`` (or ``policies:``) section, or None if it names no tools."""
    for name in ("menu", "policies"):
        value = getattr(scenario, name, None)
        if value:
            return value
    return None


def menu_available() -> bool:
    """Whether the menu comparison (``critmin.analysis.menu``) is installed."""
    try:
        return importlib.util.find_spec(MENU_MODULE) is not None
    except ModuleNotFoundError:
        return False


def menu_comparison(scenario: Scenario, *, budget: float | None = None,
                    draws: int | None = None) -> Menu:
    """The scenario's tools side by side (``critmin.analysis.menu.compare``), when possible."""
    if menu_section(scenario) is None:
        return Menu(None, note="This scenario names no policy tools (no menu: or policies: "
                               "section), so the briefing shows the shock alone.")
    if not menu_available():
        return Menu(None, note=f"The scenario names policy tools, but the menu comparison "
                               f"({MENU_MODULE}) is not installed in this build.")
    menu = importlib.import_module(MENU_MODULE)
    table = menu.compare(scenario, budget=budget, draws=draws)
    missing = [c for c in MENU_COLUMNS if c not in table.columns]
    if missing:
        raise CritminError(f"{MENU_MODULE}.compare returned no column(s) {', '.join(missing)}; "
                           f"allowed: a table with {', '.join(MENU_COLUMNS)}")
    found: dict[str, go.Figure] = {"fiscal_cost": charts.fiscal_cost(table)}
    if hasattr(menu, "cost_risk_figure"):
        found["cost_risk"] = menu.cost_risk_figure(table)
    what = f"within a common budget of {_money(budget)}" if budget is not None else (
        "at the sizes the scenario gives")
    return Menu(table, found, note=f"Each option is the shock plus one tool (or a combination "
                                   f"the scenario names), {what}, measured against the shock "
                                   "alone with the same parameter draws.")


def briefing_figures(b: Briefing) -> dict[str, tuple[go.Figure, str]]:
    """Name → (figure, caption) of every chart on the page, in page order."""
    step = b.scenario.time_step
    out: dict[str, tuple[go.Figure, str]] = {
        "price_paths": (charts.price_paths(b.dataset), (
            "Price paths by bloc for each stage of the chain. Solid: the median of the "
            f"{b.run.n_draws} parameter draws; shaded: the range of 90% of them; dotted: the "
            "same draws without the shock. A gap between blocs is the wedge the export "
            "control opens.")),
        "shortfall_by_bloc": (charts.shortfall_by_bloc(b.dataset), (
            f"Shortfall per {step}: the normal (no-shock) use of each stage that a bloc does "
            "not get, processors and final users together; the sum over time is the "
            "cumulative shortfall in the results table.")),
        "days_of_cover": (charts.days_of_cover(b.dataset), (
            "Days of cover: commercial stocks held in each bloc divided by its normal use per "
            "day. Stocks run down in the shock and rebuild afterwards; stockpiles held by "
            "governments appear with the stockpile tool.")),
    }
    for name, fig in b.menu.figures.items():
        caption = ("Net fiscal cost of each option: outlays less revenue (tariffs, stockpile "
                   "sales, contract-for-difference paybacks)." if name == "fiscal_cost" else
                   "Cost against risk reduced for each option of the menu.")
        out[name] = (fig, caption)
    return out


def registry_rows_used(world: World) -> pd.DataFrame:
    """The registry rows a world's parameters come from (file order), reference prices aside.

    ``price_ref`` rows are left out: a node's reference price may come from the USGS data
    instead, and the page lists every node's price with its actual source.
    """
    import pandas as pd

    from critmin.params.registry import COLUMNS

    if world.registry is None:
        return pd.DataFrame(columns=list(COLUMNS))
    params = world.parameters
    positions = [v[v >= 0].ravel() for name, v in params.rows.items() if name != "price_ref"]
    positions += [cells[:, 0] for cells in params.share_cells.values()]
    used = np.unique(np.concatenate(positions)) if positions else np.array([], int)
    return world.registry.table.iloc[used].reset_index(drop=True)


def write_report(path: Path | str, out: Path | str, *, draws: int | None = None,
                 budget: float | None = None, pdf: bool = True, overwrite: bool = False,
                 progress: Callable[[str, int, int], None] | None = None) -> dict[str, Path]:
    """Write ``report.html`` (and ``report.pdf``) for the scenario file ``path`` into ``out``."""
    from critmin.report.pdf import html_to_pdf
    from critmin.scenario.model import load_scenario

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise CritminError(f"{out} exists and is not a folder; allowed: a folder for the report")
    for target in (out / HTML_NAME, out / PDF_NAME):
        if target.exists() and not overwrite:
            raise CritminError(f"{target} exists; choose another --out or pass --overwrite")
    targets = {"html": out / HTML_NAME, **({"pdf": out / PDF_NAME} if pdf else {})}
    scenario = load_scenario(path)
    briefing = prepare(scenario, source=str(path), draws=draws, budget=budget,
                       progress=progress)
    page = render_html(briefing)
    out.mkdir(parents=True, exist_ok=True)
    partial = out / f".{HTML_NAME}.partial"
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, targets["html"])
    (out / PDF_NAME).unlink(missing_ok=True)  # never leave an old PDF beside a new page
    if pdf:
        html_to_pdf(targets["html"], targets["pdf"])
    return targets


# -- the page ----------------------------------------------------------------------------------


def render_html(b: Briefing) -> str:
    """The whole briefing as one self-contained HTML document."""
    from plotly.offline import get_plotlyjs

    cites = _Citations()
    body = [
        _header(b),
        _section("question", "The question", _question(b)),
        _section("bottom-line", "Bottom line", _bottom_line(b)),
        _section("shock", "The shock", _shock(b)),
        _section("menu", "The menu of tools", _menu(b)),
        _section("results", "Results by stage and bloc", _results(b)),
        _section("figures", "Figures", _figures(b)),
        _section("assumptions", "Assumptions", _assumptions(b, cites)),
        _section("sources", "Sources", _sources(b, cites)),
        _section("reproduce", "Reproducing this briefing", _reproduce(b)),
    ]
    title = f"Briefing: {b.scenario.name}"
    digest = _e(b.dataset.attrs["scenario_hash"])
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{_e(title)}</title>\n"
        f"<meta name=\"critmin-scenario-hash\" content=\"{digest}\">\n"
        f"<style>{_css(b)}</style>\n"
        f"<script type=\"text/javascript\">{get_plotlyjs()}</script>\n"
        "</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n")


def _header(b: Briefing) -> str:
    a = b.dataset.attrs
    facts = [("Data edition", a["data_edition"]), ("Registry", a["registry_version"]),
             ("Scenario hash", a["scenario_hash"]), ("Seed", a["seed"]),
             ("Draws", a["draws"]), ("Prepared", b.created)]
    strip = " · ".join(f"<span class=\"fact\"><b>{_e(k)}:</b> {_e(v)}</span>" for k, v in facts)
    return (f"<header><p class=\"kicker\">critmin briefing</p>"
            f"<h1>{_e(b.scenario.name)}</h1><p class=\"facts\">{strip}</p></header>")


def _section(anchor: str, title: str, content: str) -> str:
    return f"<section id=\"{anchor}\"><h2>{_e(title)}</h2>\n{content}\n</section>"


def _question(b: Briefing) -> str:
    s = b.scenario
    blocs = ", ".join(s.bloc_names)
    clauses = "; ".join(dict.fromkeys(_shock_phrase(b, k, market=True) for k in s.shocks))
    clauses = clauses or "nothing is shocked"
    span = f"{s.labels()[0]}–{s.labels()[-1]}"
    tools = (" Which of the tools on the menu protects best, and at what fiscal cost?"
             if b.menu.table is not None else "")
    text = (f"<p class=\"question\">What happens to prices, supplies and output at risk in "
            f"each bloc ({_e(blocs)}) of the {_e(', '.join(s.chains))} "
            f"chain{'s' if len(s.chains) > 1 else ''} over {_e(span)} "
            f"if {_e(clauses)}?{_e(tools)}</p>")
    if s.description.strip():
        text += f"<p>{_e(s.description.strip())}</p>"
    return text


def _bottom_line(b: Briefing) -> str:
    """Sentences built from the summary: the worst spike, then each final stage's losses."""
    sm = b.summary
    step = b.scenario.time_step
    items = []
    worst = sm.loc[sm.peak_price_multiple.idxmax()]
    items.append(
        f"Worst price spike: {_e(worst.stage)} in bloc {_e(worst.bloc)}, "
        f"{_multiple(worst.peak_price_multiple)} its no-shock level at the median draw "
        f"(90% of draws: {_multiple(worst.peak_price_multiple_p05)} to "
        f"{_multiple(worst.peak_price_multiple_p95)}), peaking in {_e(worst.peak_period)}.")
    feeds = {m.upstream for m in b.world.nodes}
    finals = [n.label for i, n in enumerate(b.world.nodes) if i not in feeds]  # last stages
    for row in sm[sm.stage.isin(finals)].itertuples():
        if row.unserved_t <= 0:
            items.append(f"Final users of {_e(row.stage)} in {_e(row.bloc)} lose no demand "
                         "to the shock (mean of draws).")
            continue
        if not math.isfinite(row.recovery_periods):
            recovered = "not recovered by the end of the horizon"
        elif row.recovery_periods > 0:
            recovered = (f"recovery (demand lost back under 1% of normal use) takes "
                         f"{_plural(row.recovery_periods, step)} on average")
        else:
            recovered = f"demand lost stays under 1% of normal use every {step}"
        output = (f", about {_num(row.downstream_output_at_risk)} "
                  f"{_e(row.downstream_unit)}s not made"
                  if math.isfinite(row.downstream_output_at_risk) and row.downstream_unit
                  else "")
        items.append(
            f"Final users of {_e(row.stage)} in {_e(row.bloc)} go without "
            f"{_num(row.unserved_t)} t over the horizon (mean of draws), "
            f"{_money(row.gdp_at_risk_usd)} of value added at risk{output}; {recovered}. "
            f"In all, {_pct(row.shortfall_share)} of the bloc's normal use of the stage goes "
            "unmet.")
    items.extend(_menu_findings(b))
    items.append(_value_added_caveat(b, finals))
    return "<ul class=\"findings\">" + "".join(f"<li>{i}</li>" for i in items if i) + "</ul>"


def _menu_findings(b: Briefing) -> list[str]:
    """The menu's best buys: most shortfall avoided, and the lowest cost per tonne avoided."""
    table = b.menu.table
    if table is None or table.empty:
        return []
    helps = table[table.shortfall_avoided_t.astype(float) > 0]
    if helps.empty:
        return ["None of the tools on the menu reduces the shortfall in this scenario."]
    most = helps.loc[helps.shortfall_avoided_t.astype(float).idxmax()]
    out = [f"Most shortfall avoided: {_e(most.option)}, {_num(most.shortfall_avoided_t)} t, "
           f"at a net fiscal cost of {_money(most.fiscal_cost_usd)}."]
    per_t = helps.usd_per_t_avoided.astype(float)
    if np.isfinite(per_t).any():
        cheapest = helps.loc[per_t[np.isfinite(per_t)].idxmin()]
        out.append(f"Lowest cost per tonne avoided: {_e(cheapest.option)}, "
                   f"{_money(cheapest.usd_per_t_avoided)} per t.")
    return out


def _value_added_caveat(b: Briefing, finals: Sequence[str]) -> str:
    """Say where the GDP-at-risk figure comes from (often an assumption, with its range)."""
    reg = b.world.registry
    if reg is None:
        return ""
    parts = []
    for label in finals:
        commodity, stage = label.split("/", 1)
        try:
            row = reg.row("value_added_per_t", commodity, stage)
        except UnknownNameError:
            continue
        origin = "an assumption" if row.source == "assumption" else "from the registry"
        parts.append(f"value added at risk uses {_num(row.value)} {_e(row.unit)} for "
                     f"{_e(label)} ({origin}; range {_num(row.low)}–{_num(row.high)})")
    return ("Read the money figures with care: " + "; ".join(parts) + ".") if parts else ""


def _shock(b: Briefing) -> str:
    s = b.scenario
    labels = s.labels()
    rows = []
    for k, shock in enumerate(s.shocks, 1):
        end = labels[s.index(shock.end)] if shock.end is not None else labels[-1]
        announced = getattr(shock, "announced", None)
        rows.append([str(k), f"{shock.commodity}/{shock.stage}", _shock_phrase(b, shock),
                     labels[s.index(shock.start)], end,
                     labels[s.index(announced)] if announced is not None else "–"])
    table = (_table(["#", "Market", "Measure", "From", "To", "Announced"], rows,
                    numeric=(0,), css="keep shock") if rows
             else "<p>The scenario has no shocks: the run is its own baseline.</p>")
    bloc_rows = [[name, ", ".join(members)] for name, members in s.blocs.items()]
    rest = [r for r, bloc in zip(b.world.regions, b.run.blocs.bloc_of, strict=True)
            if b.run.blocs.names[bloc] == "rest"]
    bloc_rows.append(["rest", "every other country (model regions: " + ", ".join(rest) + ")"])
    notes = [f"<li>{_e(sh.note)}</li>" for sh in s.shocks if sh.note]
    return (table + "<h3>Blocs</h3>" + _table(["Bloc", "Members"], bloc_rows, css="keep blocs")
            + (f"<ul>{''.join(notes)}</ul>" if notes else ""))


def _shock_phrase(b: Briefing, shock: Any, *, market: bool = False) -> str:
    """One clause saying what a shock does, in words (the table's and, with the market named,
    the question's)."""
    kind = shock.kind
    of = f" of {shock.commodity}/{shock.stage}" if market else ""
    if kind in ("export_quota", "licence_approval", "destination_ban", "export_tax"):
        dest = ", ".join(shock.importers) if shock.importers else "all other blocs"
        if kind == "licence_approval":
            return (f"{shock.exporter} licenses exports{of} to {dest}, approving "
                    f"{_size(b, shock, '{:.0%}')} of the normal flow")
        if kind == "export_quota":
            return (f"{shock.exporter} caps exports{of} to {dest} at "
                    f"{_size(b, shock, '{:,.0f}')} t a year")
        if kind == "export_tax":
            return f"{shock.exporter} taxes exports{of} to {dest} at {_size(b, shock, '{:.0%}')}"
        leak = (_registry_share(b, "leakage_share", shock) if shock.leakage_share is None
                else f"{shock.leakage_share:.0%}")
        return (f"{shock.exporter} bans exports{of} to {dest}, but {leak} of the normal flow "
                "still arrives through third countries")
    where = shock.region or (f"bloc {shock.bloc}" if shock.bloc else "everywhere")
    if kind == "production_outage":
        return f"{where} loses {_size(b, shock, '{:.0%}')} of its capacity{of}"
    if kind == "demand_surge":
        place = where if where == "everywhere" else f"in {where}"
        return f"demand{of} {place} changes by {_size(b, shock, '{:+.0%}')}"
    if kind == "dumping":
        more = (f", with capacity ×{shock.capacity_multiple:g}"
                if shock.capacity_multiple != 1 else "")
        return (f"{where} runs at least {shock.value:.0%} of its capacity{of} whatever the "
                f"price{more}")
    return kind.replace("_", " ")


def _size(b: Briefing, shock: Any, fmt: str) -> str:
    """The shock's value, or its path as "0% (from 2025-08), 27% (from 2025-10) and …"."""
    if shock.path is None:
        return fmt.format(shock.value)
    labels = b.scenario.labels()
    steps = [f"{fmt.format(p.value)} (from {labels[b.scenario.index(p.at)]})"
             for p in shock.path]
    return steps[0] if len(steps) == 1 else ", ".join(steps[:-1]) + " and " + steps[-1]


def _registry_share(b: Briefing, parameter: str, shock: Any) -> str:
    """A registry share in words: "30% (the registry's leakage_share, drawn in 5–60%)"."""
    reg = b.world.registry
    if reg is None:
        return f"the registry's {parameter}"
    row = reg.row(parameter, shock.commodity, shock.stage)
    return (f"{row.value:.0%} (the registry's {parameter}, drawn in {row.low:.0%}–"
            f"{row.high:.0%})")


def _menu(b: Briefing) -> str:
    menu = b.menu
    if menu.table is None:
        return f"<p class=\"note\">{_e(menu.note)}</p>"
    formats: dict[str, Callable[[Any], str]] = {
        "fiscal_cost_usd": _money, "shortfall_avoided_t": _num,
        "peak_price_reduction": _pct, "gdp_at_risk_avoided_usd": _money,
        "usd_per_t_avoided": _money, "members_gaining": _members}
    head = ["Option", "Net fiscal cost", "Shortfall avoided, t", "Peak price reduction",
            "GDP at risk avoided", "USD per t avoided", "Members gaining"]
    rows = [[formats.get(c, str)(getattr(r, c)) for c in MENU_COLUMNS]
            for r in menu.table.itertuples()]
    return (f"<p>{_e(menu.note)}</p>"
            + _table(head, rows, numeric=(1, 2, 3, 4, 5), css="keep menu", escape=False))


def _results(b: Briefing) -> str:
    step = b.scenario.time_step
    head = ["Stage", "Bloc", "Peak price ÷ no-shock (median; 90% of draws)", "Peak in",
            "Cumulative shortfall, t (mean; 90% of draws)", "Share of normal use",
            "Final demand lost, t", f"Recovery, {step}s", "Value added at risk",
            "Downstream output at risk"]
    rows = []
    for r in b.summary.itertuples():
        output = (f"{_num(r.downstream_output_at_risk)} {_e(r.downstream_unit)}s"
                  if math.isfinite(r.downstream_output_at_risk) else "–")
        rows.append([
            _label(r.stage), _e(r.bloc),
            f"{_multiple(r.peak_price_multiple)}<br><span class=\"small\">"
            f"{_multiple(r.peak_price_multiple_p05)} – {_multiple(r.peak_price_multiple_p95)}"
            "</span>", _e(r.peak_period),
            f"{_num(r.cumulative_shortfall_t)}<br><span class=\"small\">"
            f"{_num(r.cumulative_shortfall_t_p05)} – {_num(r.cumulative_shortfall_t_p95)}"
            "</span>",
            _pct(r.shortfall_share), _num(r.unserved_t),
            _num(r.recovery_periods) if math.isfinite(r.recovery_periods) else "not by the end",
            _money(r.gdp_at_risk_usd), output])
    return (_table(head, rows, numeric=(2, 4, 5, 6, 7, 8, 9), css="keep results", escape=False)
            + f"<p class=\"note\">Measured against the same {b.run.n_draws} parameter draws "
              "without the shock. Cumulative shortfall: normal use of the stage not met "
              "(processors and final users, substitution included); final demand lost: what "
              "final users give up beyond the no-shock run; recovery: "
              f"{step}s from the first with demand lost beyond 1% of normal use until it "
              "stays below; value added at risk: final demand lost × value added per "
              f"tonne.{_without_tools(b)}</p>")


def _without_tools(b: Briefing) -> str:
    """A reminder, when the scenario names tools, that run results are the shock alone."""
    if menu_section(b.scenario) is None:
        return ""
    return (" These results and the charts of the shock show it without the policy tools; "
            "the menu table shows what each tool changes.")


def _figures(b: Briefing) -> str:
    reminder = _without_tools(b).strip()
    parts = [f"<p class=\"note\">{_e(reminder)}</p>"] if reminder else []
    for name, (fig, caption) in briefing_figures(b).items():
        parts.append(_figure_html(name, fig, caption))
    return "\n".join(parts)


def _figure_html(name: str, fig: go.Figure, caption: str) -> str:
    """A chart as a ``<figure>``: plotly div at print width (the page's plotly.js draws it)."""
    import plotly.graph_objects as go

    sized = go.Figure(fig)
    sized.update_layout(width=FIGURE_WIDTH, autosize=False,
                        font={"family": FONT.replace('"', ""), "size": 11})
    div = sized.to_html(full_html=False, include_plotlyjs=False, div_id=f"fig-{name}",
                        config={"displayModeBar": False, "responsive": False})
    return (f"<figure class=\"chart\" data-figure=\"{_e(name)}\">{div}"
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _assumptions(b: Briefing, cites: _Citations) -> str:
    from critmin.params.registry import PARAMETERS

    used = registry_rows_used(b.world)
    n_assumed = int((used.source == "assumption").sum())
    rows = []
    for r in used.itertuples():
        spec = PARAMETERS.get(r.parameter)
        what = f"<b>{_e(r.parameter)}</b>" + (
            f"<br><span class=\"small\">{_e(spec.description)}</span>" if spec else "")
        scope = "/".join("all" if v == "*" else v for v in (r.commodity, r.stage, r.region))
        if r.source in ("assumption", "override"):
            origin = f"<i>{_e(r.source)}</i>"
        else:
            origin = f"[{cites.cite(r.source)}]"
        note = f" {_linkify(r.note)}" if r.note else ""
        rows.append([what, _label(scope), _num(r.value), f"{_num(r.low)} –<br>{_num(r.high)}",
                     _e(r.unit), f"{origin}<span class=\"small\">{note}</span>"])
    intro = (f"<p>The run used {len(used)} rows of the parameter registry "
             f"({_e(b.world.registry_version)}); {n_assumed} of them are marked "
             "<i>assumption</i> (no source gives the number), and every row's range is "
             f"sampled across the {b.run.n_draws} draws ({_e(b.scenario.sampling)}). Numbers in "
             "brackets refer to the sources below.</p>")
    table = _table(["Parameter", "Applies to (commodity/stage/region)", "Value", "Range",
                    "Unit", "Source and note"], rows, numeric=(2, 3), css="assumptions",
                   escape=False)
    prices = [[_label(n.label), _num(p), f"[{cites.cite(src)}]"]
              for n, p, src in zip(b.world.nodes, b.world.price_ref, b.world.price_source,
                                   strict=True)]
    price_table = ("<h3>Reference prices</h3><p>The no-shock price of each stage, USD/t "
                   "(price paths start here).</p>"
                   + _table(["Stage", "USD/t", "Source"], prices, numeric=(1,), css="keep",
                            escape=False))
    overrides = [[_e(o.parameter), _e(f"{o.commodity}/{o.stage}/{o.region}"), _num(o.value)]
                 for o in b.scenario.overrides]
    override_table = ("<h3>Fixed by the scenario</h3>" + _table(
        ["Parameter", "Applies to", "Value"], overrides, numeric=(2,), css="keep",
        escape=False)) if overrides else ""
    notes = [f"<li>{_e(n)}</li>" for n in b.run.notes]
    note_list = ("<h3>Notes from the model build</h3><ul>" + "".join(notes) + "</ul>"
                 if notes else "")
    return intro + table + price_table + override_table + note_list


def _sources(b: Briefing, cites: _Citations) -> str:
    from critmin.data import sources

    data = sources()
    data = data[data["table"].isin(DATA_TABLES)]
    if not _uses_groups(b):
        data = data[data["table"] != "groups"]
    items = [f"<li><b>{_e(r.source)}</b> ({_e(r.editions)}; curated table {_e(r.table)}): "
             f"{_linkify(r.citation)} <span class=\"small\">Licence: {_e(r.licence)}</span></li>"
             for r in data.itertuples()]
    data_list = ("<h3>Data</h3><p>Edition: " + _e(b.world.data_edition) + "</p><ul>"
                 + "".join(items) + "</ul>")
    refs = "".join(f"<li value=\"{k}\">{_linkify(text)}</li>" for k, text in cites.items())
    return data_list + "<h3>Parameters and prices</h3><ol class=\"refs\">" + refs + "</ol>"


def _uses_groups(b: Briefing) -> bool:
    from critmin.scenario.model import known_groups

    named = {m for members in b.scenario.blocs.values() for m in members}
    return bool(named & set(known_groups()))


def _reproduce(b: Briefing) -> str:
    a = b.dataset.attrs
    s = b.scenario
    rows = [["Scenario file", _e(b.source or "(given as data)")],
            ["Scenario hash", _e(a["scenario_hash"])],
            ["Seed; draws; sampling", _e(f"{a['seed']}; {a['draws']}; {a['sampling']}")],
            ["Time", _e(f"{s.horizon} {s.time_step}s from {s.start}")],
            ["Data edition", _e(a["data_edition"])],
            ["Parameter registry", _e(a["registry_version"])],
            ["critmin version", _e(a["critmin_version"])]]
    command = f"critmin report {b.source or 'FILE'} --out DIR --draws {b.run.n_draws}"
    return (_table(["", ""], rows, css="keep meta", escape=False, header=False)
            + f"<p>Command: <code>{_e(command)}</code></p>")


# -- helpers -----------------------------------------------------------------------------------


class _Citations:
    """Numbered citations, each text once, in order of first use."""

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}

    def cite(self, text: str) -> int:
        return self._numbers.setdefault(text, len(self._numbers) + 1)

    def items(self) -> list[tuple[int, str]]:
        return [(k, t) for t, k in self._numbers.items()]


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], *, numeric: Sequence[int] = (),
           css: str = "", escape: bool = True, header: bool = True) -> str:
    """An HTML table; ``escape=False`` when cells are already HTML (built with :func:`_e`)."""
    def cell(tag: str, k: int, text: str) -> str:
        cls = " class=\"num\"" if k in numeric else ""
        return f"<{tag}{cls}>{_e(text) if escape else text}</{tag}>"

    thead = ("<thead><tr>" + "".join(cell("th", k, h) for k, h in enumerate(head))
             + "</tr></thead>") if header else ""
    body = "".join("<tr>" + "".join(cell("td", k, c) for k, c in enumerate(row)) + "</tr>"
                   for row in rows)
    return f"<table class=\"{css}\">{thead}<tbody>{body}</tbody></table>"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _label(value: Any) -> str:
    """Escaped ``commodity/stage`` label that may wrap after its slashes."""
    return _e(value).replace("/", "/<wbr>")


def _linkify(text: str) -> str:
    """Escaped text with its URLs as links."""
    parts = _URL.split(str(text))
    return "".join(f"<a href=\"{_e(p)}\">{_e(p)}</a>" if k % 2 else _e(p)
                   for k, p in enumerate(parts))


def _num(x: Any) -> str:
    """Three significant figures, thousands separated; "–" for a missing value."""
    x = float(x)
    if not math.isfinite(x):
        return "–"
    if x == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(x)))
    if magnitude >= 3:
        return f"{round(x, 2 - magnitude):,.0f}"
    return f"{x:.3g}"


def _plural(x: Any, unit: str) -> str:
    return f"{_num(x)} {unit}" + ("" if float(x) == 1 else "s")


def _multiple(x: Any) -> str:
    return f"{_num(x)}×"


def _pct(x: Any) -> str:
    x = float(x)
    return f"{_num(100 * x)}%" if math.isfinite(x) else "–"


def _money(x: Any) -> str:
    x = float(x) if x is not None else math.nan
    if not math.isfinite(x):
        return "–"
    divisor, word = charts.money_scale(np.array([x]))
    return f"USD {_num(x / divisor)} {word}".rstrip()


def _members(value: Any) -> str:
    if isinstance(value, list | tuple | set | np.ndarray):
        return _e(", ".join(str(v) for v in value)) or "–"
    return _e(value) if value not in (None, "") else "–"


def _css_string(text: str) -> str:
    """Text inside a double-quoted CSS string (no way out of the string or the style tag)."""
    return "".join(c if c.isalnum() or c in " ·.,;:-_()/" else f"\\{ord(c):x} " for c in text)


def _css(b: Briefing) -> str:
    footer = _css_string(f"critmin briefing · {b.scenario.name} · "
                         f"{b.dataset.attrs['scenario_hash']}")
    return f"""
@page {{ size: A4; margin: 14mm 12mm 16mm 12mm;
  @bottom-left {{ content: "{footer}"; font: 7.5pt {FONT}; color: #666; }}
  @bottom-right {{ content: "page " counter(page) " of " counter(pages);
                   font: 7.5pt {FONT}; color: #666; }} }}
html {{ font-family: {FONT}; font-size: 10pt; color: #1a1a1a; line-height: 1.35; }}
body {{ margin: 0 auto; max-width: {FIGURE_WIDTH + 20}px; padding: 0 4px; }}
header {{ border-bottom: 2px solid #1f3b5a; margin-bottom: 8px; }}
.kicker {{ text-transform: uppercase; letter-spacing: .08em; color: #1f3b5a; font-size: 8pt;
          margin: 0; }}
h1 {{ font-size: 17pt; margin: 2px 0 4px; }}
h2 {{ font-size: 12.5pt; color: #1f3b5a; border-bottom: 1px solid #c9d3de; margin: 16px 0 6px;
      break-after: avoid; page-break-after: avoid; }}
h3 {{ font-size: 10.5pt; margin: 10px 0 4px; break-after: avoid; page-break-after: avoid; }}
.facts {{ font-size: 8pt; color: #444; margin: 2px 0 6px; }}
.question {{ font-size: 11pt; font-weight: bold; }}
.findings li {{ margin-bottom: 4px; }}
.note, .small {{ font-size: 8pt; color: #444; }}
table {{ border-collapse: collapse; width: 100%; font-size: 8pt; margin: 4px 0 8px; }}
th, td {{ border: 1px solid #c9d3de; padding: 2px 4px; vertical-align: top; text-align: left; }}
th {{ background: #eef2f6; }}
td.num, th.num {{ text-align: right; }}
table {{ table-layout: fixed; }}
td {{ overflow-wrap: break-word; }}
table.shock :is(th, td):nth-child(1) {{ width: 4%; }}
table.shock :is(th, td):nth-child(2) {{ width: 20%; }}
table.shock :is(th, td):nth-child(3) {{ width: 40%; }}
table.blocs :is(th, td):nth-child(1) {{ width: 15%; }}
table.results :is(th, td):nth-child(1) {{ width: 14%; }}
table.results :is(th, td):nth-child(2) {{ width: 7%; }}
table.assumptions :is(th, td):nth-child(2) {{ width: 15%; }}
table.assumptions :is(th, td):nth-child(3) {{ width: 9%; }}
table.assumptions :is(th, td):nth-child(4) {{ width: 11%; }}
table.assumptions :is(th, td):nth-child(5) {{ width: 12%; }}
table.keep, figure, header, .findings li {{ break-inside: avoid; page-break-inside: avoid; }}
tr, th, td {{ break-inside: avoid; page-break-inside: avoid; }}
thead {{ display: table-header-group; }}
table.assumptions :is(th, td):nth-child(1) {{ width: 22%; }}
table.meta td:first-child {{ width: 28%; font-weight: bold; }}
figure {{ margin: 8px 0 14px; }}
figcaption {{ font-size: 8pt; color: #444; margin-top: 2px; }}
ol.refs li, section#sources li {{ font-size: 8pt; margin-bottom: 3px; overflow-wrap: anywhere;
                                  break-inside: avoid; page-break-inside: avoid; }}
a {{ color: #1f4f8a; text-decoration: none; }}
code {{ font-size: 8.5pt; }}
@media print {{ body {{ max-width: none; padding: 0; }} section#figures {{ break-before: page; }}
               section#assumptions {{ break-before: page; }} }}
"""
