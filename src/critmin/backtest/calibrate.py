"""`critmin calibrate`: fit the registry's central values to the shipped cases, inside their ranges.

The procedure (the same parameters for every case, nothing per case):

1. **Candidates**: registry rows that apply to every commodity (``commodity = *``), that carry a
   range (low < high) and that are behavioural (not regional shares, prices, yields, by-product
   recoveries, value added, intensities, demand growth), minus any row a case sets as the
   market of its time. A row for one commodity would in effect be tuned to the one case of that
   commodity, which calibration_cases.md forbids.
2. **Screening**: each candidate is set to its low and to its high end, all others central, and
   the loss is computed; candidates are ranked by how much the loss moves (``top`` are kept;
   rows that do not move it at all, such as policy parameters the cases never use, never are).
3. **Fit**: ``scipy.optimize.differential_evolution`` over the kept rows, bounded by their
   [low, high] (so no value can leave its range), seeded, Latin-hypercube start, no gradient
   polish. The central values are in the first population; if nothing beats them they stay.
4. **Loss**: each case's central run (draws = 1) scored as in ``critmin backtest``: the mean
   over the case's scored targets of ``(error ÷ tolerance)²`` capped at 9; cases weigh equally.

Monte Carlo draws are uniform on each row's [low, high], so central values move the central run,
not the band of the draws: the fit shows in ``model_central`` of ``critmin backtest
--registry FILE``. The result is a new registry CSV (the input file with the fitted values and a
note on each changed row) and a sidecar JSON recording the fit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from critmin.backtest.case import MARKET_PARAMETERS, Case, load_case
from critmin.backtest.metrics import METRICS, error
from critmin.backtest.runner import (
    build_case_world,
    observed_value,
    shipped_cases,
    simulate_case,
    target_loss,
    target_values,
    tolerance_of,
)
from critmin.errors import CritminError

if TYPE_CHECKING:
    import pandas as pd

    from critmin.params import Registry
    from critmin.world import World

#: Parameters never calibrated: market state, data-like numbers, and outputs' units.
NOT_CALIBRATED: Final = frozenset({
    "capacity_share", "demand_share", "price_ref", "stage_yield", "byproduct_recovery",
    "value_added_per_t", "downstream_intensity", *MARKET_PARAMETERS})
DEFAULT_TOP: Final = 4


def candidate_rows(registry: Registry, cases: Sequence[Case]) -> list[int]:
    """Registry row positions that may be calibrated (see the module doc, step 1)."""
    table = registry.table
    set_by_cases = {(m.parameter, m.commodity, m.stage, m.region)
                    for c in cases for m in c.market}
    out = []
    for pos, row in enumerate(table.itertuples(index=False)):
        key = (row.parameter, row.commodity, row.stage, row.region)
        if (row.commodity == "*" and row.parameter not in NOT_CALIBRATED
                and row.low < row.high and key not in set_by_cases):
            out.append(pos)
    return out


def row_key(registry: Registry, pos: int) -> str:
    return registry.keys[pos]


def resolve_rows(registry: Registry, names: Sequence[str]) -> list[int]:
    """Row positions of ``parameter`` names (their ``*|*|*`` row) or full keys ``p|c|s|r``."""
    keys = registry.keys
    out = []
    for name in names:
        key = name if "|" in name else f"{name}|*|*|*"
        if key not in keys:
            known = [k for k in keys if k.split("|")[1] == "*"]
            raise CritminError(f"no registry row {key!r} to calibrate; allowed: "
                               f"{', '.join(known)}")
        out.append(keys.index(key))
    return out


@dataclass
class Problem:
    """The shipped (or given) cases on their worlds: the loss of a vector of central values."""

    cases: list[Case]
    worlds: list[World]
    registry: Registry
    rows: list[int] = field(default_factory=list)
    evaluations: int = 0

    @classmethod
    def build(cls, cases: Sequence[Case], registry: Registry) -> Problem:
        return cls(list(cases), [build_case_world(c, registry) for c in cases], registry)

    def central(self, rows: Sequence[int]) -> np.ndarray:
        return self.registry.table.value.to_numpy(float)[list(rows)]

    def bounds(self, rows: Sequence[int]) -> list[tuple[float, float]]:
        table = self.registry.table
        return [(float(table.low.iat[p]), float(table.high.iat[p])) for p in rows]

    def case_losses(self, rows: Sequence[int], values: Sequence[float] | np.ndarray
                    ) -> list[float]:
        """Each case's loss with the registry rows ``rows`` at ``values`` (central runs)."""
        self.evaluations += 1
        out = []
        for case, world in zip(self.cases, self.worlds, strict=True):
            _, outcome = simulate_case(case, with_central(world, rows, values), draws=1)
            got = target_values(case, outcome)
            losses = []
            for t in case.targets:
                if not t.scored:
                    continue
                model = float(got[t.name][0])
                err = float(error(METRICS[t.metric].error, model, observed_value(t, case))) \
                    if np.isfinite(model) else np.nan
                losses.append(target_loss(err, tolerance_of(t, case.scenario.periods_per_year)))
            out.append(float(np.mean(losses)) if losses else 0.0)
        return out

    def loss(self, rows: Sequence[int], values: Sequence[float] | np.ndarray) -> float:
        """Mean of the case losses (cases weigh equally)."""
        return float(np.mean(self.case_losses(rows, values)))


def with_central(world: World, rows: Sequence[int], values: Sequence[float] | np.ndarray
                 ) -> World:
    """The world with registry rows ``rows`` at new central values (arrays rewritten where the
    world reads those rows), for central runs; the world's row positions are the registry's."""
    if not len(rows):
        return world
    p = world.parameters
    central = dict(p.central)
    for name, positions in p.rows.items():
        hit = np.isin(positions, rows)
        if hit.any():
            lookup = dict(zip(rows, values, strict=True))
            new = central[name].copy()
            for pos in set(positions[hit].tolist()):
                new[positions == pos] = lookup[pos]
            central[name] = new
    return dataclasses.replace(world, parameters=dataclasses.replace(p, central=central))


@dataclass
class Calibration:
    """What ``calibrate`` found: the rows, their values before and after, losses, settings."""

    registry: Registry
    rows: list[int]
    before: np.ndarray
    after: np.ndarray
    screening: pd.DataFrame
    case_names: list[str]
    losses_before: list[float]
    losses_after: list[float]
    seed: int
    settings: dict[str, Any]
    evaluations: int

    @property
    def loss_before(self) -> float:
        return float(np.mean(self.losses_before))

    @property
    def loss_after(self) -> float:
        return float(np.mean(self.losses_after))

    def table(self) -> pd.DataFrame:
        """One row per calibrated registry row: key, low, high, before, after."""
        import pandas as pd

        t = self.registry.table
        return pd.DataFrame({
            "parameter": [self.registry.keys[p] for p in self.rows],
            "low": [float(t.low.iat[p]) for p in self.rows],
            "high": [float(t.high.iat[p]) for p in self.rows],
            "before": self.before, "after": self.after,
            "source": [str(t.source.iat[p]) for p in self.rows],
        })


def screen(problem: Problem, rows: Sequence[int]) -> pd.DataFrame:
    """Loss with each row at its low and at its high end (others central), most influential
    first."""
    import pandas as pd

    bounds = problem.bounds(rows)
    records = []
    for pos, (lo, hi) in zip(rows, bounds, strict=True):
        loss_lo = problem.loss([pos], [lo])
        loss_hi = problem.loss([pos], [hi])
        records.append({"parameter": problem.registry.keys[pos], "row": pos, "low": lo,
                        "high": hi, "loss_at_low": loss_lo, "loss_at_high": loss_hi,
                        "influence": abs(loss_hi - loss_lo)})
    frame = pd.DataFrame(records)
    return frame.sort_values("influence", ascending=False, kind="stable").reset_index(drop=True)


def calibrate(files: Sequence[Path | str] | None = None, *, seed: int = 0,
              parameters: Sequence[str] | None = None, top: int = DEFAULT_TOP,
              maxiter: int = 10, popsize: int = 6, registry: Registry | None = None
              ) -> Calibration:
    """Fit central values of the most influential shared registry rows to the cases."""
    from scipy.optimize import differential_evolution

    from critmin.params import load_registry

    reg = registry if registry is not None else load_registry()
    paths = list(files) if files else shipped_cases()
    cases = [load_case(p) for p in paths]
    problem = Problem.build(cases, reg)
    allowed = candidate_rows(reg, cases)
    if parameters:
        rows = resolve_rows(reg, parameters)
        bad = [reg.keys[p] for p in rows if p not in allowed]
        if bad:
            raise CritminError(f"{bad[0]} cannot be calibrated (a share, price, state or "
                               "commodity-specific row, or set by a case); allowed: "
                               f"{', '.join(reg.keys[p] for p in allowed)}")
        screening = screen(problem, rows)
    else:
        screening = screen(problem, allowed)
        moving = screening[screening.influence > 0]  # rows the cases never read stay out
        rows = [int(r) for r in moving.row[:top]]
        if not rows:
            raise CritminError("no shared registry row changes the loss of these cases; "
                               "nothing to calibrate")
    rows = sorted(rows)
    before = problem.central(rows)
    losses_before = problem.case_losses(rows, before)
    bounds = problem.bounds(rows)
    result = differential_evolution(
        lambda x: problem.loss(rows, x), bounds, seed=seed, maxiter=maxiter, popsize=popsize,
        init="latinhypercube", polish=False, x0=before, updating="deferred", tol=1e-6)
    after = np.clip(np.asarray(result.x, dtype=float), [b[0] for b in bounds],
                    [b[1] for b in bounds])
    losses_after = problem.case_losses(rows, after)
    if np.mean(losses_after) >= np.mean(losses_before):  # nothing better than the start
        after, losses_after = before.copy(), list(losses_before)
    return Calibration(reg, rows, before, after, screening, [c.name for c in cases],
                       losses_before, losses_after, seed,
                       {"top": top, "maxiter": maxiter, "popsize": popsize,
                        "parameters": list(parameters or []),
                        "cases": [str(p) for p in paths]},
                       problem.evaluations)


def write_registry(cal: Calibration, out: Path | str) -> tuple[Path, Path]:
    """Write the calibrated registry CSV (the input file, fitted values and a note on each
    changed row) and its sidecar JSON; returns both paths. The CSV is re-read to check it."""
    import csv
    import io

    from critmin import __version__
    from critmin.params import load_registry

    reg = cal.registry
    if reg.path is None:
        raise CritminError("the registry has no file to derive the calibrated version from")
    out = Path(out)
    if out.suffix != ".csv":
        raise CritminError(f"{out}: the calibrated registry is a CSV file; allowed: a .csv path")
    lines = reg.path.read_text(encoding="utf-8-sig").splitlines()
    today = dt.date.today().isoformat()
    for pos, old, new in zip(cal.rows, cal.before, cal.after, strict=True):
        if new == old:
            continue
        number = reg.lines[pos]
        cells = next(csv.reader([lines[number - 1]]))
        row = dict(zip(reg.table.columns, cells, strict=True))
        row["value"] = f"{new:.6g}"
        row["note"] = (f"{row['note']} | calibrated {today} by critmin calibrate (seed "
                       f"{cal.seed}) from {old:g}; see {out.with_suffix('.json').name}").strip(" |")
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="").writerow([row[c] for c in reg.table.columns])
        lines[number - 1] = buffer.getvalue()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    new_reg = load_registry(out)  # validates: every value inside its range
    sidecar = out.with_suffix(".json")
    record = {
        "procedure": "critmin.backtest.calibrate: screen shared rows at their range ends, "
                     "then differential evolution within [low, high] on the central runs",
        "date": today,
        "critmin_version": __version__,
        "registry_in": reg.version,
        "registry_out": new_reg.version,
        "seed": cal.seed,
        "settings": cal.settings,
        "evaluations": cal.evaluations,
        "cases": [{"name": n, "loss_before": b, "loss_after": a} for n, b, a in
                  zip(cal.case_names, cal.losses_before, cal.losses_after, strict=True)],
        "loss_before": cal.loss_before,
        "loss_after": cal.loss_after,
        "parameters": [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
                       for r in cal.table().to_dict(orient="records")],
        "screening": cal.screening.drop(columns="row").to_dict(orient="records"),
        "case_files_sha256": {str(p): hashlib.sha256(Path(p).read_bytes()).hexdigest()[:12]
                              for p in cal.settings["cases"]},
    }
    sidecar.write_text(json.dumps(record, indent=2, default=float) + "\n", encoding="utf-8")
    return out, sidecar
