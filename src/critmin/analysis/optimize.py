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

The policy tools themselves (critmin.policy) are not built yet; wiring the menu's tools into
``loss``/``cost`` through :func:`critmin.analysis.sweep.evaluate` hooks is left to that work.
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
