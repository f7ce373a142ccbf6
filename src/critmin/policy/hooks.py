"""Tools → engine hooks: build the policy tools of a scenario and run them with the engine.

:func:`build` turns a scenario's ``policies:`` into :class:`critmin.engine.PolicyHook` objects
that act on a block of draw rows (``rows``), all booking into one
:class:`~critmin.policy.ledger.Ledger`. Acting on a block of rows is what lets
:mod:`critmin.analysis.menu` run every option of a menu in *one* vectorised simulation: the
draws of each option are a block of the draw axis, and each option's hooks touch only their
block. :func:`simulate_with_policies` is the plain case: one block, the scenario's own draws.

Behavioural numbers a tool leaves out come from the parameter registry, drawn with the same
seed and method as the engine's parameters (so draw *d* of a tool and of the market agree).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from critmin.errors import CritminError
from critmin.policy.ledger import Ledger

if TYPE_CHECKING:
    import pandas as pd

    from critmin.engine.loop import EngineState, PeriodInputs, PeriodOutcome, Run
    from critmin.engine.shocks import ShockPlan
    from critmin.params import Registry
    from critmin.scenario.model import Scenario
    from critmin.world import Blocs, World

Array = np.ndarray
#: Days per year, for days of cover.
DAYS_PER_YEAR = 365.25


class Tool(Protocol):
    """A policy tool: an engine hook that also reports what it did."""

    label: str

    def before_period(self, inputs: PeriodInputs, state: EngineState) -> None: ...

    def after_period(self, outcome: PeriodOutcome, state: EngineState) -> None: ...

    def outputs(self) -> pd.DataFrame: ...


@dataclass
class Context:
    """What every tool needs to know about the run: the world, blocs, time, its draw rows,
    parameter draws and the ledger it books into."""

    scenario: Scenario
    world: World
    blocs: Blocs
    rows: slice
    params: dict[str, Array]  # engine parameter draws (n, N, R) of this block
    registry: Registry
    registry_draws: pd.DataFrame | None  # (n × registry keys); None = central values
    ledger: Ledger
    _plan: ShockPlan | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        return self.rows.stop - self.rows.start

    @property
    def ppy(self) -> int:
        return self.scenario.periods_per_year

    @property
    def horizon(self) -> int:
        return self.scenario.horizon

    @property
    def days_per_period(self) -> float:
        return DAYS_PER_YEAR / self.ppy

    def node(self, commodity: str, stage: str) -> int:
        return self.world.node(commodity, stage)

    def p0(self, node: int) -> float:
        """Reference price of a node, USD/t."""
        return float(self.world.price_ref[node])

    def window(self, tool: Any) -> tuple[int, int]:
        """First and last period (inclusive) a tool acts."""
        start = self.scenario.index(tool.start)
        end = self.horizon - 1 if tool.end is None else self.scenario.index(tool.end)
        return start, end

    def regions(self, codes: Sequence[str], where: str) -> Array:
        """Region indices of ISO3 codes and groups (groups expand to their members on the
        scenario's start date; pseudo-regions such as EU27 count when named or covered)."""
        import critmin.data as data
        from critmin.engine.loop import _start_date  # the date blocs are assigned on

        on = _start_date(self.scenario)
        groups = {g.lower(): g for g in data.groups()["group"]}
        codes_set: set[str] = set()
        named: set[str] = set()
        for c in codes:
            if c.lower() in groups:
                named.add(c.lower())
                codes_set.update(data.group_members(groups[c.lower()], on=on))
            else:
                codes_set.add(c)
        found = []
        for r, code in enumerate(self.world.regions):
            covered = code.lower() in groups and set(
                data.group_members(groups[code.lower()], on=on)) <= codes_set
            if code in codes_set or code.lower() in named or covered:
                found.append(r)
        if not found:
            raise CritminError(f"{where}: {', '.join(codes)} have no activity in this world; "
                               f"allowed: regions {', '.join(self.world.regions)}")
        return np.array(found, dtype=np.intp)

    def bloc_index(self, names: Sequence[str]) -> list[int]:
        return [self.blocs.index(b) for b in names]

    def region_price(self, log_price: Array, node: int, regions: Array) -> Array:
        """(n, k) prices (USD/t) the regions face, from bloc log prices (D, N, B)."""
        return np.exp(log_price[self.rows, node][:, self.blocs.bloc_of[regions]])

    def policy_value(self, name: str, commodity: str = "*", stage: str = "*",
                     region: str = "*") -> Array:
        """(n,) draws of a registry parameter (central values for a single draw)."""
        row = self.registry.row(name, commodity, stage, region)
        key = "|".join(str(row[c]) for c in ("parameter", "commodity", "stage", "region"))
        if self.registry_draws is None:
            return np.full(self.n, float(row["value"]))
        return self.registry_draws[key].to_numpy(float)

    def controls_on(self, commodity: str, regions: Array) -> Array:
        """(T,) bool: an export control (quota, licensing, ban, export tax) on ``commodity``
        hits the bloc of one of ``regions`` in that period."""
        from critmin.scenario.model import TRADE_SHOCKS

        blocs = set(self.blocs.bloc_of[regions].tolist())
        out = np.zeros(self.horizon, dtype=bool)
        for shock in self.scenario.shocks:
            if not isinstance(shock, TRADE_SHOCKS) or shock.commodity != commodity:
                continue
            exporter = self.blocs.index(shock.exporter)
            targets = ({self.blocs.index(b) for b in shock.importers} if shock.importers
                       else set(range(self.blocs.n_blocs)) - {exporter})
            if blocs & targets:
                first = self.scenario.index(shock.start)
                last = self.horizon - 1 if shock.end is None else self.scenario.index(shock.end)
                out[first:last + 1] = True
        return out

    @property
    def plan(self) -> ShockPlan:
        """The scenario's shocks compiled as the engine compiles them."""
        if self._plan is None:
            from critmin.engine.shocks import compile_shocks

            self._plan = compile_shocks(self.scenario, self.world, self.blocs)
        return self._plan

    def link(self, exporter: int, importer: int) -> tuple[int, int]:
        """(pair, direction) of the directed link exporter → importer."""
        from critmin.engine import network

        pi, pj = network.pairs(self.blocs.n_blocs)
        lo, hi = min(exporter, importer), max(exporter, importer)
        p = int(np.flatnonzero((pi == lo) & (pj == hi))[0])
        return p, 0 if exporter < importer else 1

    def directed_flow(self, flow: Array, node: int, links: Sequence[tuple[int, int]]) -> Array:
        """(n, L) tonnes per period on directed links from signed pair flows (D, N, P)."""
        g = flow[self.rows, node]
        cols = [np.maximum(g[:, p], 0.0) if d == 0 else np.maximum(-g[:, p], 0.0)
                for p, d in links]
        return np.stack(cols, axis=1) if cols else np.zeros((self.n, 0))


@dataclass
class Draws:
    """Parameter draws shared by every block of a menu (computed once)."""

    n: int
    seed: int
    params: dict[str, Array]
    registry: Registry
    registry_draws: pd.DataFrame | None

    @classmethod
    def of(cls, scenario: Scenario, world: World, draws: int | None = None,
           seed: int | None = None) -> Draws:
        from critmin.params import load_registry

        n = scenario.draws if draws is None else int(draws)
        seed = scenario.seed if seed is None else int(seed)
        if n < 1:
            raise CritminError(f"draws must be at least 1 (got {n})")
        registry = world.registry if world.registry is not None else load_registry()
        reg_draws = None
        if n > 1:
            reg_draws = registry.draw(n, seed, scenario.sampling)
        return cls(n, seed, world.draw_parameters(n, seed, scenario.sampling), registry,
                   reg_draws)


@dataclass
class PolicySet:
    """The tools of one option acting on one block of draw rows, and their ledger."""

    tools: list[Tool]
    ledger: Ledger
    rows: slice

    @property
    def hooks(self) -> list[Tool]:
        return list(self.tools)

    def fiscal_cost(self) -> Array:
        """(n,) net fiscal cost over the horizon (outlays − revenue), USD."""
        return self.ledger.net_cost().sum(axis=1)

    def tables(self) -> dict[str, pd.DataFrame]:
        """``ledger`` (holder × category × period), ``ledger_summary`` (per holder) and
        ``tools`` (each tool's own series: holdings, days of cover, payouts …, tidy)."""
        import pandas as pd

        parts = [t.outputs() for t in self.tools]
        tools = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(
            len(p) for p in parts) else pd.DataFrame(columns=["policy", "series", "time",
                                                              "value"])
        return {"ledger": self.ledger.frame(), "ledger_summary": self.ledger.summary(),
                "tools": tools}


@dataclass
class PolicyRun:
    """A simulation with policy tools: the engine's run and what the tools did."""

    run: Run
    policies: PolicySet


#: Build order: tools that change wedges and caps first, the club's rules (which lift tariffs
#: and caps between members) last; stockpiles after floors so an offtake's purchase and a
#: release see the same period.
_ORDER = {"tariff": 0, "price_floor": 1, "stockpile": 2, "incentive": 3, "recycling": 4,
          "substitution_rd": 5, "trade_club": 6}


def build(scenario: Scenario, world: World, *, draws: int | Draws | None = None,
          seed: int | None = None, rows: slice | None = None,
          tools: Sequence[str] | None = None, scale: Mapping[str, float] | None = None
          ) -> PolicySet:
    """The hooks of ``scenario``'s tools (all, or those named in ``tools``) on draw ``rows``.

    ``scale`` multiplies a tool's money (budget, financing, research spending) by name, as the
    menu does to put tools on a common budget.
    """
    from critmin.engine.loop import _start_date
    from critmin.policy import club, incentive, price_floor, recycling, stockpile, tariff
    from critmin.world import assign_blocs

    shared = draws if isinstance(draws, Draws) else Draws.of(scenario, world, draws, seed)
    rows = slice(0, shared.n) if rows is None else rows
    if rows.stop - rows.start != shared.n:
        raise CritminError(f"rows {rows} do not hold {shared.n} draws")
    by_name = {t.label: (k, t) for k, t in enumerate(scenario.policies)}
    chosen = list(by_name) if tools is None else list(tools)
    for name in chosen:
        if name not in by_name:
            raise CritminError(f"unknown tool {name!r}; allowed: {', '.join(by_name) or 'none'}")
    blocs = assign_blocs(world, scenario.blocs, on=_start_date(scenario))
    ledger = Ledger(shared.n, scenario.labels())
    ctx = Context(scenario, world, blocs, rows, shared.params, shared.registry,
                  shared.registry_draws, ledger)
    makers: dict[str, Callable[..., Tool]] = {
        "stockpile": stockpile.StockpileTool, "price_floor": price_floor.FloorTool,
        "tariff": tariff.TariffTool, "trade_club": club.ClubTool,
        "incentive": incentive.IncentiveTool, "recycling": recycling.RecyclingTool,
        "substitution_rd": recycling.SubstitutionTool}
    built = []
    for name in sorted(chosen, key=lambda n: (_ORDER[by_name[n][1].kind], by_name[n][0])):
        k, spec = by_name[name]
        where = f"policies[{k}] ({spec.label})"
        built.append(makers[spec.kind](spec, ctx, where=where,
                                       scale=1.0 if scale is None else scale.get(name, 1.0)))
    return PolicySet(built, ledger, rows)


def simulate_with_policies(world: World, scenario: Scenario, *, draws: int | None = None,
                           seed: int | None = None, **options: Any) -> PolicyRun:
    """:func:`critmin.engine.simulate` with the scenario's tools acting in the shocked run
    (the baseline runs without them); ``options`` go to ``simulate`` (detail, solver,
    progress)."""
    from critmin.engine import simulate

    shared = Draws.of(scenario, world, draws, seed)
    policies = build(scenario, world, draws=shared)
    run = simulate(world, scenario, draws=shared.n, seed=shared.seed, hooks=policies.hooks,
                   **options)
    policies.ledger.check()
    return PolicyRun(run, policies)


def series_frame(label: str, labels: Sequence[str], series: Mapping[str, Array]) -> pd.DataFrame:
    """Tidy rows (policy, series, time, value = mean over draws, NaN where a period has no
    value, e.g. before the tool starts) of (n, T) arrays."""
    import pandas as pd

    def mean(values: Array) -> Array:
        seen = np.isfinite(values).sum(axis=0)
        total = np.where(np.isfinite(values), values, 0.0).sum(axis=0)
        return np.where(seen > 0, total / np.maximum(seen, 1), np.nan)

    parts = [pd.DataFrame({"policy": label, "series": name, "time": list(labels),
                           "value": mean(np.asarray(values, float))})
             for name, values in series.items()]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["policy", "series", "time", "value"])
