"""Run backtest cases and score them: model median and 5–95% range against each observed fact.

A case runs once with Monte Carlo draws over the registry's ranges (the scenario's draw count
and seed unless given) and once at the registry's central values. For each target the score
row holds the observed value, the central run's value, the draws' median, 5th and 95th
percentiles, the error of the median in the metric's error measure, whether the observed value
lies in the 5–95% band, whether the error is within the tolerance (a *hit*), and for price
moves whether the direction (up or down) is right.

The case score is the share of scored targets hit; the *loss* (what ``critmin calibrate``
minimises) is the mean of ``(error ÷ tolerance)²`` capped at :data:`LOSS_CAP` per target, so
one wild target cannot outweigh all others, and a target the model cannot produce at all (a
capacity that never arrives) counts as the cap.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from critmin.backtest.case import Case, Target, load_case
from critmin.backtest.metrics import DEFAULT_TOLERANCE, METRICS, Outcome, Spec, error

if TYPE_CHECKING:
    import pandas as pd

    from critmin.engine.loop import Run
    from critmin.params import Registry
    from critmin.world import World

LOSS_CAP: Final = 9.0  # (3 tolerances)²
QUANTILES: Final = (0.05, 0.5, 0.95)
#: The shipped cases: ``backtests/`` at the root of the source tree.
SHIPPED: Final = Path(__file__).resolve().parents[3] / "backtests"


def shipped_cases() -> list[Path]:
    """The case files shipped with critmin (``backtests/*.yaml``), sorted by name."""
    from critmin.errors import CritminError

    files = sorted(SHIPPED.glob("*.yaml")) if SHIPPED.is_dir() else []
    if not files:
        raise CritminError(f"no shipped backtest cases in {SHIPPED}; give case files instead")
    return files


@dataclass
class CaseRun:
    """A simulated case: the engine run, its series by bloc, and every target's value per draw
    (``values``) and at the central parameters (``central``)."""

    case: Case
    run: Run
    outcome: Outcome
    values: dict[str, np.ndarray]
    central: dict[str, float]
    central_outcome: Outcome | None = None


def build_case_world(case: Case, registry: Registry | None = None) -> World:
    """The world of a case: its chains, with the market state of its time."""
    from critmin.world import build_world_for

    return build_world_for(case.run_scenario(), registry)


def simulate_case(case: Case, world: World, *, draws: int | None = None,
                  seed: int | None = None) -> tuple[Run, Outcome]:
    """Simulate a case on ``world`` (its quotas as hooks) and sum the series into blocs."""
    from critmin.backtest.hooks import RelativeQuotaHook
    from critmin.engine import simulate
    from critmin.world import assign_blocs

    scenario = case.run_scenario()
    n_draws = scenario.draws if draws is None else int(draws)
    blocs = assign_blocs(world, scenario.blocs)
    hooks = [RelativeQuotaHook(q, scenario, world, blocs, n_draws) for q in case.quotas]
    run = simulate(world, scenario, draws=n_draws, seed=seed, hooks=hooks)
    quotas = {(h.node, h.exporter): h.record() for h in hooks}
    return run, Outcome.from_run(run, quotas)


def resolve(target: Target, case: Case, outcome: Outcome) -> Spec:
    """The target's stage, blocs and periods as indices of the outcome."""
    scenario = case.scenario
    stage = outcome.stages.index(f"{target.commodity}/{target.stage}")

    def bloc(name: str | None) -> int | None:
        return None if name is None else outcome.blocs.index(name)

    def when(ref: int | str | None) -> int | None:
        return None if ref is None else scenario.index(ref)

    window = None if target.window is None else (when(target.window[0]), when(target.window[1]))
    return Spec(stage=stage, bloc=bloc(target.bloc), other=bloc(target.other),
                at=when(target.at), base=when(target.base), window=window,  # type: ignore[arg-type]
                after=target.after, threshold=target.threshold)


def target_values(case: Case, outcome: Outcome) -> dict[str, np.ndarray]:
    """Every target's metric per draw."""
    return {t.name: np.asarray(METRICS[t.metric].compute(outcome, resolve(t, case, outcome)),
                               dtype=float)
            for t in case.targets}


def run_case(case: Case, *, draws: int | None = None, seed: int | None = None,
             registry: Registry | None = None, world: World | None = None) -> CaseRun:
    """Simulate a case with Monte Carlo draws and at the central parameters."""
    world = world if world is not None else build_case_world(case, registry)
    run, outcome = simulate_case(case, world, draws=draws, seed=seed)
    _, central_outcome = simulate_case(case, world, draws=1, seed=seed)
    central = {name: float(v[0]) for name, v in target_values(case, central_outcome).items()}
    return CaseRun(case, run, outcome, target_values(case, outcome), central, central_outcome)


# -- scoring -----------------------------------------------------------------------------------


def tolerance_of(target: Target, periods_per_year: int) -> float:
    """The target's tolerance, or its error measure's default (periods: one year)."""
    if target.tolerance is not None:
        return float(target.tolerance)
    default = DEFAULT_TOLERANCE[METRICS[target.metric].error]
    return float(periods_per_year) if default is None else default


def observed_value(target: Target, case: Case) -> float:
    """The observed value as a number (a period label becomes its index)."""
    if isinstance(target.observed, str):
        return float(case.scenario.index(target.observed))
    return float(target.observed)


def quantiles(values: np.ndarray) -> np.ndarray:
    """5th, 50th and 95th percentiles over draws; NaN (never happened) counts as +inf, so a
    median is "never" when most draws never get there."""
    v = np.where(np.isnan(values), np.inf, values)
    if np.isfinite(v).all():
        return np.quantile(v, QUANTILES, method="linear")
    return np.quantile(v, QUANTILES, method="nearest")  # no interpolation towards +inf


def target_loss(err: float, tolerance: float) -> float:
    """``(error ÷ tolerance)²``, capped at :data:`LOSS_CAP`; a missing error counts as the cap."""
    if not np.isfinite(err):
        return LOSS_CAP
    return float(min((err / tolerance) ** 2, LOSS_CAP))


def score(case_run: CaseRun) -> pd.DataFrame:
    """One row per target: observed, central, median, p05, p95, error, hit, in range, source."""
    import pandas as pd

    case = case_run.case
    ppy = case.scenario.periods_per_year
    labels = case.scenario.labels()
    rows = []
    for t in case.targets:
        spec = METRICS[t.metric]
        obs = observed_value(t, case)
        lo, med, hi = quantiles(case_run.values[t.name])
        central = case_run.central.get(t.name, np.nan)
        err = float(error(spec.error, med, obs)) if np.isfinite(med) else np.nan
        tol = tolerance_of(t, ppy)
        direction = None
        if spec.price_move and obs != 1.0 and np.isfinite(med):
            direction = bool(np.sign(np.log(med)) == np.sign(np.log(obs)))
        rows.append({
            "case": case.name, "target": t.name, "metric": t.metric,
            "stage": f"{t.commodity}/{t.stage}", "bloc": t.bloc or "",
            "other": t.other or "", "when": _when(t),
            "observed": _show(t, obs, labels), "model_central": _show(t, central, labels),
            "model_median": _show(t, med, labels), "model_p05": _show(t, lo, labels),
            "model_p95": _show(t, hi, labels),
            "error": err, "error_measure": spec.error, "central_error":
                float(error(spec.error, central, obs)) if np.isfinite(central) else np.nan,
            "tolerance": tol, "hit": bool(np.isfinite(err) and abs(err) <= tol),
            "within_range": bool(lo <= obs <= hi), "direction_ok": direction,
            "scored": t.scored, "loss": target_loss(err, tol),
            "central_loss": target_loss(float(error(spec.error, central, obs))
                                        if np.isfinite(central) else np.nan, tol),
            "unit": spec.unit, "source": t.source.cite(),
        })
    return pd.DataFrame(rows)


def _when(t: Target) -> str:
    parts = []
    if t.base is not None:
        parts.append(f"from {t.base}")
    if t.at is not None:
        parts.append(f"at {t.at}")
    if t.window is not None:
        parts.append(f"in {t.window[0]}…{t.window[1]}")
    if t.after is not None:
        parts.append(f"+{t.after}")
    return " ".join(parts)


def _show(t: Target, value: float, labels: Sequence[str]) -> Any:
    """Period-valued metrics print as labels, others as numbers (None = never)."""
    if not np.isfinite(value):
        return None
    if t.metric == "peak_period":
        return labels[round(value)]
    return float(value)


def case_scores(targets: pd.DataFrame) -> pd.DataFrame:
    """One row per case and one for all: targets, hits, in-range, right directions, score,
    loss (mean capped squared error in tolerances, scored targets only)."""
    import pandas as pd

    def one(name: str, rows: pd.DataFrame) -> dict[str, Any]:
        scored = rows[rows.scored]
        moves = scored[scored.direction_ok.notna()]
        return {
            "case": name, "targets": len(rows), "scored": len(scored),
            "hits": int(scored.hit.sum()), "within_range": int(scored.within_range.sum()),
            "price_moves": len(moves), "direction_ok": int(moves.direction_ok.astype(bool).sum()),
            "score": float(scored.hit.mean()) if len(scored) else np.nan,
            "loss": float(scored.loss.mean()) if len(scored) else np.nan,
            "central_loss": float(scored.central_loss.mean()) if len(scored) else np.nan,
            "misses": ", ".join(scored.target[~scored.hit]),
        }

    out = [one(str(name), rows) for name, rows in targets.groupby("case", sort=False)]
    out.append(one("all", targets))
    return pd.DataFrame(out)


def backtest(files: Iterable[Path | str] | None = None, *, draws: int | None = None,
             seed: int | None = None, registry: Registry | None = None
             ) -> tuple[pd.DataFrame, pd.DataFrame, list[CaseRun]]:
    """Run case files (the shipped ones by default): (targets table, case scores, runs)."""
    import pandas as pd

    paths = list(files) if files else shipped_cases()
    cases = [load_case(p) for p in paths]
    runs = [run_case(c, draws=draws, seed=seed, registry=registry) for c in cases]
    targets = pd.concat([score(r) for r in runs], ignore_index=True)
    return targets, case_scores(targets), runs
