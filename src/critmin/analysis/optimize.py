"""The policy optimiser: sizes of tools that minimise risk plus fiscal cost within a budget.

Generic on purpose: a :class:`Portfolio` problem is a box of decision variables (stockpile
tonnes, floor strike, covered tonnage, incentive dollars, tariff rate …), a *batch* loss
function ``loss(X) -> (n, draws)`` that evaluates ``n`` candidate portfolios at once over the
same scenario draws (common random numbers, so comparisons are not blurred by sampling
noise; with the simulator, candidates × draws ride on its draw axis), and a fiscal cost
``cost(X) -> (n,)``. The objective of a candidate is ``risk(loss) + cost_weight × cost`` with
``risk`` the expected loss or its CVaR; candidates over the budget are infeasible.

The search (:func:`optimise`) is a batched pattern search: a scrambled Sobol batch over the
whole box (plus its corners' cheapest point), then rounds of Sobol batches in a shrinking box
around the best candidate, with coordinate steps; the box halves when a round brings no
improvement. Deterministic for a seed; no gradients needed (the simulator's losses have kinks
at capacity and trade caps). :func:`frontier` traces fiscal cost against risk by optimising
risk alone under a range of budgets; :func:`pareto_front` marks the non-dominated points.

With the policy tools (:func:`size_policies`, the ``critmin optimize`` command) the decisions
are the sizes of the tools a scenario names (:func:`policy_decisions`); each batch of candidates
runs as **one** vectorised simulation, candidate *k* on block *k* of the draw axis with the same
parameter draws (the menu's tiling, :func:`critmin.analysis.menu.tiled`). The loss is the GDP at
risk (or the shortfall, t) of the focus blocs at the final stage; the fiscal cost is the mean
net cost in the tools' ledger (outlays − revenue), so a candidate is known feasible only after
its run: :class:`PolicyEvaluator` simulates in ``cost`` and keeps the losses for ``loss``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal

import numpy as np
from numpy.typing import ArrayLike

from critmin.analysis.montecarlo import ALPHA, cvar
from critmin.errors import CritminError

if TYPE_CHECKING:
    import pandas as pd

    from critmin.engine.loop import Run
    from critmin.scenario.model import Scenario

Risk = Literal["expected", "cvar"]
RISKS: Final = ("expected", "cvar")
BATCH: Final = 32
ROUNDS: Final = 60
TOLERANCE: Final = 1e-5  # stop when the search box is this small (share of each range)


@dataclass(frozen=True)
class Decision:
    """One tool size: name, bounds and unit."""

    name: str
    lower: float
    upper: float
    unit: str = ""

    def __post_init__(self) -> None:
        if not (np.isfinite(self.lower) and np.isfinite(self.upper)) or self.upper < self.lower:
            raise CritminError(f"decision {self.name!r}: need finite lower ≤ upper, got "
                               f"[{self.lower}, {self.upper}]")


@dataclass(frozen=True)
class Portfolio:
    """What to optimise: decisions, batch loss over draws, fiscal cost, budget and risk."""

    decisions: Sequence[Decision]
    loss: Callable[[np.ndarray], np.ndarray]  # (n, k) → (n, draws)
    cost: Callable[[np.ndarray], np.ndarray]  # (n, k) → (n,)
    budget: float | None = None
    risk: Risk = "expected"
    alpha: float = ALPHA
    cost_weight: float | None = None  # default: 1 with expected loss, 0 with CVaR

    def __post_init__(self) -> None:
        if self.risk not in RISKS:
            raise CritminError(f"unknown risk {self.risk!r}; allowed: {', '.join(RISKS)}")
        if not self.decisions:
            raise CritminError("a portfolio needs at least one decision")
        if self.budget is not None and not np.isfinite(self.budget):
            raise CritminError(f"budget must be a finite number of USD (got {self.budget})")

    @property
    def lower(self) -> np.ndarray:
        return np.array([d.lower for d in self.decisions], float)

    @property
    def upper(self) -> np.ndarray:
        return np.array([d.upper for d in self.decisions], float)

    @property
    def weight(self) -> float:
        if self.cost_weight is not None:
            return float(self.cost_weight)
        return 1.0 if self.risk == "expected" else 0.0

    def measure(self, losses: np.ndarray) -> np.ndarray:
        """Risk of each candidate's loss draws (n, draws) → (n,)."""
        losses = np.asarray(losses, float)
        if losses.ndim != 2:
            raise CritminError(f"loss must return (candidates, draws), got shape {losses.shape}")
        if self.risk == "cvar":
            return cvar(losses.T, self.alpha)
        return losses.mean(axis=1)


@dataclass
class Evaluated:
    """Every candidate evaluated: decisions, cost, risk and objective (inf if infeasible)."""

    x: list[np.ndarray] = field(default_factory=list)
    cost: list[np.ndarray] = field(default_factory=list)
    risk: list[np.ndarray] = field(default_factory=list)
    objective: list[np.ndarray] = field(default_factory=list)

    def add(self, x: np.ndarray, cost: np.ndarray, risk: np.ndarray,
            objective: np.ndarray) -> None:
        self.x.append(x)
        self.cost.append(cost)
        self.risk.append(risk)
        self.objective.append(objective)

    def frame(self, names: Sequence[str]) -> pd.DataFrame:
        import pandas as pd

        x = np.concatenate(self.x)
        frame = pd.DataFrame(x, columns=list(names))
        frame["cost"] = np.concatenate(self.cost)
        frame["risk"] = np.concatenate(self.risk)
        frame["objective"] = np.concatenate(self.objective)
        return frame


@dataclass
class Optimum:
    """The best portfolio found and everything evaluated on the way."""

    x: np.ndarray
    objective: float
    risk: float
    cost: float
    names: list[str]
    evaluations: int
    rounds: int
    history: pd.DataFrame

    def as_dict(self) -> dict[str, float]:
        return {**dict(zip(self.names, map(float, self.x), strict=True)),
                "cost": self.cost, "risk": self.risk, "objective": self.objective}


def cheapest(problem: Portfolio) -> tuple[np.ndarray, float]:
    """The least costly portfolio (tool sizes at their lower bounds: costs grow with size)."""
    x = problem.lower[None]
    return problem.lower, float(np.asarray(problem.cost(x), float).ravel()[0])


def _evaluate(problem: Portfolio, x: np.ndarray, log: Evaluated
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Objective, risk and cost of a batch; losses computed for feasible rows only."""
    cost = np.asarray(problem.cost(x), float).reshape(-1)
    feasible = np.ones(len(x), bool) if problem.budget is None else cost <= problem.budget
    risk = np.full(len(x), np.nan)
    if feasible.any():
        risk[feasible] = problem.measure(problem.loss(x[feasible]))
    objective = np.where(feasible, risk + problem.weight * cost, np.inf)
    log.add(x, cost, risk, objective)
    return objective, risk, cost


def optimise(problem: Portfolio, *, batch: int = BATCH, rounds: int = ROUNDS, seed: int = 0,
             tolerance: float = TOLERANCE) -> Optimum:
    """Minimise ``risk(loss) + cost_weight × cost`` subject to ``cost ≤ budget``."""
    from scipy.stats import qmc

    lo, hi = problem.lower, problem.upper
    span = hi - lo
    k = len(lo)
    names = [d.name for d in problem.decisions]
    x_min, cost_min = cheapest(problem)
    if problem.budget is not None and cost_min > problem.budget:
        desc = ", ".join(f"{n}={v:g}" for n, v in zip(names, x_min, strict=True))
        raise CritminError(f"budget {problem.budget:,.0f} USD is below the cheapest option "
                           f"({cost_min:,.0f} USD at {desc}); raise --budget or lower the "
                           "tools' minimum sizes")
    sobol = qmc.Sobol(k, scramble=True, rng=np.random.default_rng(seed))
    batch = max(2, int(batch))
    log = Evaluated()
    start = np.vstack([x_min, lo + sobol.random(batch) * span, (lo + hi) / 2.0])
    obj, risk, cost = _evaluate(problem, start, log)
    i = int(np.argmin(obj))
    best, best_obj, best_risk, best_cost = start[i], float(obj[i]), risk[i], cost[i]
    half = 0.25  # half-width of the search box, as a share of each range
    used = 0
    for used in range(1, rounds + 1):  # noqa: B007 - the count is reported
        if half < tolerance or not np.any(span > 0):
            break
        steps = np.vstack([(2.0 * sobol.random(batch) - 1.0),
                           np.eye(k), -np.eye(k)]) * half
        cand = np.clip(best + steps * span, lo, hi)
        obj, risk, cost = _evaluate(problem, cand, log)
        i = int(np.argmin(obj))
        if obj[i] < best_obj:
            best, best_obj, best_risk, best_cost = cand[i], float(obj[i]), risk[i], cost[i]
        else:
            half *= 0.5
    if not np.isfinite(best_obj):
        raise CritminError("no candidate within the budget could be evaluated")
    history = log.frame(names)
    return Optimum(best, best_obj, float(best_risk), float(best_cost), names, len(history),
                   used, history)


def frontier(problem: Portfolio, budgets: ArrayLike, **kwargs: object) -> pd.DataFrame:
    """Least risk (cost weight 0) under each budget: one row per budget with the decisions,
    the cost actually spent and the risk."""
    import dataclasses

    import pandas as pd

    rows = []
    for budget in np.asarray(budgets, float):
        sub = dataclasses.replace(problem, budget=float(budget), cost_weight=0.0)
        best = optimise(sub, **kwargs)  # type: ignore[arg-type]
        rows.append({"budget": float(budget), **best.as_dict()})
    frame = pd.DataFrame(rows)
    frame["pareto"] = pareto_front(frame["cost"], frame["risk"])
    return frame


def pareto_front(cost: ArrayLike, risk: ArrayLike) -> np.ndarray:
    """True for points no other point dominates (another is ≤ on both cost and risk and < on
    one). Quadratic in the number of points, which stay few (a frontier, a search history)."""
    c = np.asarray(cost, float)[:, None]
    r = np.asarray(risk, float)[:, None]
    no_worse = (c >= c.T) & (r >= r.T)  # [i, j]: j is no worse than i on both
    better = (c > c.T) | (r > r.T)
    return np.asarray(~(no_worse & better).any(axis=1))


# -- the policy tools as decisions -------------------------------------------------------------

Loss = Literal["gdp", "shortfall"]
LOSSES: Final = ("gdp", "shortfall")
#: Search range of a non-money size, as multiples of the file's own value (a search box, not a
#: behavioural number: the optimiser may pick anywhere inside it).
SIZE_RANGE: Final = (0.0, 2.0)
#: Strikes and covered tonnage must stay positive (the schema's gt=0): their box starts here.
POSITIVE_RANGE: Final = (0.5, 2.0)


@dataclass(frozen=True)
class PolicyDecision(Decision):
    """A tool size: which tool (``label``) and which field (``field``; ``usd`` = its money)."""

    tool: str = ""
    field: str = ""


def policy_decisions(scenario: Scenario, budget: float) -> list[PolicyDecision]:
    """The sizes of ``scenario``'s tools: each tool's money in [0, budget] (where it has money)
    and its own size fields (stockpile target days, floor strike and tranche, incentive per t,
    tariff rate) in :data:`SIZE_RANGE` / :data:`POSITIVE_RANGE` times the file's value."""
    from critmin.analysis.menu import money

    fields_by_kind = {"stockpile": (("target_days", SIZE_RANGE, "days"),),
                      "price_floor": (("strike_multiple", POSITIVE_RANGE, "× ref. price"),
                                      ("strike_usd_per_t", POSITIVE_RANGE, "USD/t"),
                                      ("tranche_t_per_year", POSITIVE_RANGE, "t/yr")),
                      "incentive": (("usd_per_t_year", SIZE_RANGE, "USD per t/yr"),),
                      "tariff": (("rate", SIZE_RANGE, "ad valorem"),
                                 ("reference_price_usd_per_t", POSITIVE_RANGE, "USD/t"))}
    out: list[PolicyDecision] = []
    for tool in scenario.policies:
        if money(tool):
            out.append(PolicyDecision(f"{tool.label}.usd", 0.0, float(budget), "USD",
                                      tool.label, "usd"))
        for name, (lo, hi), unit in fields_by_kind.get(tool.kind, ()):
            value = getattr(tool, name, None)
            if value:
                out.append(PolicyDecision(f"{tool.label}.{name}", lo * value, hi * value, unit,
                                          tool.label, name))
    if not out:
        raise CritminError(f"scenario {scenario.name!r}: its tools have no size to optimise; "
                           "allowed: tools with money (budget_usd, financing) or a stockpile "
                           "target, floor strike, incentive per t or tariff rate")
    return out


class PolicyEvaluator:
    """Runs batches of candidate sizes through the engine (one tiled simulation per batch) and
    remembers each candidate's per-draw loss and fiscal cost (``cost`` runs, ``loss`` reads)."""

    def __init__(self, scenario: Scenario, decisions: Sequence[PolicyDecision], draws: int,
                 loss: Loss = "gdp") -> None:
        from critmin.policy.hooks import Draws
        from critmin.world import build_world_for

        if loss not in LOSSES:
            raise CritminError(f"unknown loss {loss!r}; allowed: {', '.join(LOSSES)}")
        if draws < 1:
            raise CritminError(f"draws must be at least 1 (got {draws})")
        self.scenario, self.decisions, self.n, self.kind = scenario, list(decisions), draws, loss
        self.world = build_world_for(scenario)
        self.shared = Draws.of(scenario, self.world, draws)
        self.losses: dict[bytes, np.ndarray] = {}
        self.costs: dict[bytes, float] = {}

    def _variant(self, x: np.ndarray) -> tuple[Scenario, dict[str, float]]:
        """The scenario with row ``x``'s sizes written into its tools, and the money scales."""
        from critmin.analysis.menu import money

        updates: dict[str, dict[str, float]] = {}
        scale: dict[str, float] = {}
        for d, v in zip(self.decisions, x, strict=True):
            if d.field == "usd":
                tool = next(t for t in self.scenario.policies if t.label == d.tool)
                scale[d.tool] = float(v) / (money(tool) or 1.0)  # > 0 for every usd decision
            else:
                updates.setdefault(d.tool, {})[d.field] = float(v)
        policies = [t.model_copy(update=updates[t.label]) if t.label in updates else t
                    for t in self.scenario.policies]
        return self.scenario.model_copy(update={"policies": policies}), scale

    def run(self, x: np.ndarray) -> None:
        """Simulate the rows of ``x`` not seen yet, all in one tiled run."""
        from critmin.analysis.menu import tiled
        from critmin.engine import simulate
        from critmin.policy.hooks import build

        fresh = {r.tobytes(): r for r in np.atleast_2d(x) if r.tobytes() not in self.costs}
        if not fresh:
            return
        n, rows = self.n, list(fresh.values())
        sets = []
        for k, r in enumerate(rows):
            variant, scale = self._variant(r)
            sets.append(build(variant, self.world, draws=self.shared,
                              rows=slice(k * n, (k + 1) * n), scale=scale))
        run = simulate(tiled(self.world, len(rows)), self.scenario, draws=n * len(rows),
                       seed=self.shared.seed, hooks=[h for s in sets for h in s.hooks])
        loss = focus_loss(run, self.scenario, self.kind).reshape(len(rows), n)
        for k, (key, pset) in enumerate(zip(fresh, sets, strict=True)):
            pset.ledger.check()
            self.losses[key] = loss[k]
            # to the cent: the ledger's float sums leave ~1e-8 USD where outlays and fees cancel
            self.costs[key] = round(float(pset.fiscal_cost().mean()), 2)

    def cost(self, x: np.ndarray) -> np.ndarray:
        self.run(x)
        return np.array([self.costs[r.tobytes()] for r in np.atleast_2d(x)])

    def loss(self, x: np.ndarray) -> np.ndarray:
        self.run(x)
        return np.stack([self.losses[r.tobytes()] for r in np.atleast_2d(x)])


def focus_loss(run: Run, scenario: Scenario, kind: Loss = "gdp") -> np.ndarray:
    """(draws,) loss of the focus blocs at the final stage of the menu's commodity: final
    demand lost to the shock (t, beyond the baseline's), times value added per t if ``gdp``."""
    from critmin.analysis.menu import focus_blocs
    from critmin.engine.chains import CHAINS

    world, blocs = run.world, run.blocs
    commodity = (scenario.menu.commodity if scenario.menu and scenario.menu.commodity
                 else scenario.chains[0])
    node = world.node(commodity, CHAINS[commodity].stages[-1])
    focus = [blocs.index(b) for b in focus_blocs(scenario, list(blocs.names))]
    regions = np.flatnonzero(np.isin(blocs.bloc_of, focus))
    shocked, base = run.shocked, run.baseline
    lost = np.maximum(shocked.demand_destroyed[:, :, node, regions]
                      - base.demand_destroyed[:, :, node, regions], 0.0).sum(axis=(1, 2))
    if kind == "shortfall":
        return lost
    return lost * np.nan_to_num(run.parameters["value_added_per_t"][:, node, 0])


@dataclass
class Sizing:
    """The best sizes found, the no-tool point, and the Pareto frontier of cost against risk."""

    optimum: Optimum
    table: pd.DataFrame  # rows: best, smallest sizes (no tool where 0), Pareto points
    decisions: list[PolicyDecision]


def size_policies(scenario: Scenario | str, budget: float, *, risk: Risk = "expected",
                  draws: int | None = None, loss: Loss = "gdp", batch: int = 8,
                  rounds: int = 4, seed: int = 0, frontier_points: int = 6) -> Sizing:
    """Optimise the sizes of ``scenario``'s tools within ``budget`` (USD of mean net fiscal
    cost): minimise expected loss + fiscal cost, or the loss's CVaR (cost weight 0)."""
    import pandas as pd

    from critmin.scenario.model import Scenario as ScenarioModel
    from critmin.scenario.model import load_scenario

    if not isinstance(scenario, ScenarioModel):
        scenario = load_scenario(scenario)
    if not scenario.policies:
        raise CritminError(f"scenario {scenario.name!r} names no policy tools; allowed: a file "
                           "with a policies: section")
    if not (np.isfinite(budget) and budget >= 0):
        raise CritminError(f"budget {budget:g} is not allowed; allowed: a number of USD >= 0")
    decisions = policy_decisions(scenario, budget)
    ev = PolicyEvaluator(scenario, decisions, scenario.draws if draws is None else draws, loss)
    problem = Portfolio(decisions, ev.loss, ev.cost, budget=budget, risk=risk)
    best = optimise(problem, batch=batch, rounds=rounds, seed=seed)
    hist = best.history.drop_duplicates(subset=[d.name for d in decisions])
    hist = hist[np.isfinite(hist["objective"])].sort_values("cost")
    hist = hist.loc[~hist[["cost", "risk"]].round(6).duplicated()]  # one point per outcome
    front = hist[pareto_front(hist["cost"], hist["risk"])].sort_values("cost")
    if len(front) > frontier_points:  # keep a small, evenly spread subset (ends included)
        front = front.iloc[np.unique(np.linspace(0, len(front) - 1, frontier_points).round()
                                     .astype(int))]
    points = [("best", best.x), ("smallest", problem.lower),
              *(("pareto", r) for r in front[[d.name for d in decisions]].to_numpy(float))]
    rows = []
    for label, x in points:
        lost = ev.loss(x[None])
        rows.append({"point": label, **dict(zip(best.names, map(float, x), strict=True)),
                     "fiscal_cost_usd": float(ev.cost(x[None])[0]),
                     "expected_loss": float(lost.mean()),
                     "cvar_loss": float(cvar(lost.T, problem.alpha)[0])})
    return Sizing(best, pd.DataFrame(rows), decisions)
