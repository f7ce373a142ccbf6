"""Sensitivity: which registry parameters drive peak price, shortfall and losses (SALib).

*Factors* are the registry rows the world actually reads (their ``[low, high]`` ranges, rows
with ``low == high`` left out) plus the engine's own assumptions
(:data:`critmin.world.ENGINE_ASSUMPTIONS`). They are grouped by parameter name by default
(``by="parameter"``: all ``capacity_share`` rows move as one factor), or kept one per row.

* ``morris`` (elementary effects; ``samples`` trajectories, ``samples × (groups + 1)`` runs):
  screening on a small budget; ``mu_star`` is the mean absolute effect of moving a factor
  across its range, in the outcome's unit.
* ``sobol`` (Saltelli/Sobol' design, first-order and total indices, no second order;
  ``samples × (groups + 2)`` runs, ``samples`` a power of two): ``S1``/``ST`` are shares of the
  outcome's variance.

Every design point runs through the same block machinery as a sweep
(:func:`critmin.analysis.sweep.evaluate`), so executors, progress and resuming work the same.
A tornado chart ranks factors by how far the outcome swings when a factor goes from the low to
the high end of its range (:func:`tornado`; from the same runs, no extra simulations), drawn
around the outcome's mean.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np

from critmin.errors import CritminError
from critmin.params import Registry

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

    from critmin.run import Executor
    from critmin.scenario.model import Scenario
    from critmin.world import World

Method = Literal["morris", "sobol"]
Grouping = Literal["parameter", "row"]
METHODS: Final = ("morris", "sobol")
DEFAULT_SAMPLES: Final = {"morris": 10, "sobol": 64}
MORRIS_LEVELS: Final = 4
#: Share of design points at each end of a factor's range for the tornado's conditional means.
TORNADO_TAIL: Final = 0.2
DEFAULT_OUTCOMES: Final = ("peak_price_multiple", "cumulative_shortfall_t")


@dataclass(frozen=True)
class Factors:
    """What varies: SALib's problem plus where each factor lands."""

    names: list[str]  # registry keys p|c|s|r (or the assumption's name)
    groups: list[str]
    bounds: np.ndarray  # (F, 2)
    rows: list[int]  # registry row position, −1 for engine assumptions

    @property
    def problem(self) -> dict[str, Any]:
        return {"num_vars": len(self.names), "names": list(self.names),
                "bounds": self.bounds.tolist(), "groups": list(self.groups)}

    @property
    def group_names(self) -> list[str]:
        return list(dict.fromkeys(self.groups))


def factors(world: World, by: Grouping = "parameter") -> Factors:
    """The registry rows ``world`` reads that have a range, and the engine's assumptions."""
    if by not in ("parameter", "row"):
        raise CritminError(f"unknown grouping {by!r}; allowed: parameter, row")
    reg = world.registry
    if reg is None:
        raise CritminError("this world has no parameter registry (hand-built); nothing to vary")
    p = world.parameters
    used: set[int] = set()
    for rows in p.rows.values():
        used.update(int(r) for r in rows[rows >= 0].ravel())
    for cells in p.share_cells.values():
        used.update(int(r) for r in cells[:, 0])
    table = reg.table
    keys = reg.keys
    names, groups, bounds, positions = [], [], [], []
    for pos in sorted(used):
        low, high = float(table.low.iat[pos]), float(table.high.iat[pos])
        if high > low:
            names.append(keys[pos])
            groups.append(str(table.parameter.iat[pos]) if by == "parameter" else keys[pos])
            bounds.append((low, high))
            positions.append(pos)
    for name, spec in p.fallback.items():
        if spec.high > spec.low:
            names.append(name)
            groups.append(name)
            bounds.append((spec.low, spec.high))
            positions.append(-1)
    if not names:
        raise CritminError("no parameter of this world has a range to vary")
    return Factors(names, groups, np.array(bounds, float), positions)


def design(f: Factors, method: Method, samples: int, seed: int) -> np.ndarray:
    """SALib design points (n, F) in parameter units."""
    if method not in METHODS:
        raise CritminError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    if (samples < 2 and method == "morris") or samples < 1:
        raise CritminError(f"--samples must be at least 2 for morris, 1 for sobol "
                           f"(got {samples})")
    if method == "sobol":
        if samples & (samples - 1):
            raise CritminError(f"sobol needs a power of two for --samples (got {samples}); "
                               f"use {1 << samples.bit_length()}")
        from SALib.sample import sobol

        return np.asarray(sobol.sample(f.problem, samples, calc_second_order=False, seed=seed))
    from SALib.sample import morris

    return np.asarray(morris.sample(f.problem, samples, num_levels=MORRIS_LEVELS, seed=seed))


@dataclass(frozen=True, eq=False)
class _FixedDraws(Registry):
    """A registry whose ``draw`` returns a given matrix: how a design reaches the world's
    parameter mapping (``World.draw_parameters`` samples ``world.registry``)."""

    fixed: Any = None

    def draw(self, n_draws: int, seed: int, method: str = "lhs") -> Any:  # type: ignore[override]
        if self.fixed is None or len(self.fixed) != n_draws:
            raise CritminError("internal: fixed draws do not match the requested count")
        return self.fixed


def design_parameters(world: World, f: Factors, x: np.ndarray, seed: int = 0
                      ) -> dict[str, np.ndarray]:
    """Parameter arrays (D, N, R) for design points: registry central values everywhere, the
    factors' columns from ``x``; shares renormalised per draw as in any Monte Carlo draw."""
    import pandas as pd

    reg = world.registry
    if reg is None:
        raise CritminError("this world has no parameter registry (hand-built)")
    n = x.shape[0]
    if n < 2:
        raise CritminError("a design needs at least two points")
    matrix = np.broadcast_to(reg.table.value.to_numpy(float), (n, len(reg.table))).copy()
    from_registry = [i for i, pos in enumerate(f.rows) if pos >= 0]
    matrix[:, [f.rows[i] for i in from_registry]] = x[:, from_registry]
    fixed = _FixedDraws(reg.table, reg.version, reg.path, reg.lines,
                        fixed=pd.DataFrame(matrix, columns=reg.keys))
    params = dataclasses.replace(world, registry=fixed).draw_parameters(n, seed)
    shape = next(iter(params.values())).shape
    for i, pos in enumerate(f.rows):
        if pos < 0:  # an engine assumption: one value per draw everywhere
            params[f.names[i]] = np.broadcast_to(x[:, i, None, None], shape).copy()
    return params


def analyse(method: Method, f: Factors, x: np.ndarray, y: np.ndarray, seed: int = 0
            ) -> pd.DataFrame:
    """Indices of every factor group for one outcome vector ``y`` (n,). A constant outcome
    gets zeros (nothing drives it)."""
    import pandas as pd

    names = f.group_names
    y = np.asarray(y, float)
    if not np.isfinite(y).all():
        raise CritminError("the outcome has non-finite values; sensitivity needs finite ones")
    constant = bool(np.ptp(y) <= 1e-12 * max(1.0, float(np.abs(y).max())))
    if method == "sobol":
        cols = ("S1", "S1_conf", "ST", "ST_conf")
        if constant:
            return pd.DataFrame({"factor": names, **{c: 0.0 for c in cols}})
        from SALib.analyze import sobol

        si = sobol.analyze(f.problem, y, calc_second_order=False, seed=seed)
        return pd.DataFrame({"factor": names, **{c: np.asarray(si[c], float) for c in cols}})
    cols = ("mu_star", "mu_star_conf", "sigma", "mu")
    if constant:
        return pd.DataFrame({"factor": names, **{c: 0.0 for c in cols}})
    from SALib.analyze import morris

    si = morris.analyze(f.problem, x, y, num_levels=MORRIS_LEVELS, seed=seed)
    return pd.DataFrame({"factor": list(si["names"]),
                         **{c: np.asarray(si[c], float) for c in cols}})


def positions(f: Factors, x: np.ndarray) -> np.ndarray:
    """(n, groups): where each group sits in its range, 0 = low, 1 = high (mean of members)."""
    unit = (x - f.bounds[:, 0]) / (f.bounds[:, 1] - f.bounds[:, 0])
    groups = np.array(f.groups)
    return np.stack([unit[:, groups == g].mean(axis=1) for g in f.group_names], axis=1)


def tornado(method: Method, f: Factors, x: np.ndarray, y: np.ndarray,
            indices: pd.DataFrame | None = None, tail: float = TORNADO_TAIL) -> pd.DataFrame:
    """Per factor group: the outcome with the factor low and high, and the swing (high − low),
    drawn around the outcome's mean.

    Morris: the signed mean elementary effect ``mu`` (the average change of the outcome when
    the factor moves across its whole range) split around the mean. Sobol: the mean outcome
    over design points where the factor sits in its bottom and top ``tail`` (conditional means
    of the same runs; enough points for them to settle).
    """
    import pandas as pd

    y = np.asarray(y, float)
    base = float(y.mean())
    if method == "morris":
        table = analyse(method, f, x, y) if indices is None else indices
        mu = table.set_index("factor")["mu"].reindex(f.group_names).to_numpy(float)
        low, high = base - mu / 2.0, base + mu / 2.0
    else:
        pos = positions(f, x)
        low_mask = pos <= np.quantile(pos, tail, axis=0)
        high_mask = pos >= np.quantile(pos, 1.0 - tail, axis=0)
        low = (low_mask * y[:, None]).sum(axis=0) / np.maximum(low_mask.sum(axis=0), 1)
        high = (high_mask * y[:, None]).sum(axis=0) / np.maximum(high_mask.sum(axis=0), 1)
    frame = pd.DataFrame({"factor": f.group_names, "low": low, "high": high,
                          "swing": high - low, "base": base})
    return _by_swing(frame)


def _by_swing(frame: pd.DataFrame) -> pd.DataFrame:
    order = frame["swing"].abs().sort_values(ascending=False, kind="stable").index
    return frame.loc[order].reset_index(drop=True)


@dataclass
class SensitivityResult:
    """Indices per (outcome, stage, bloc, factor), the design and the outcomes."""

    method: str
    factors: Factors
    x: np.ndarray
    outcomes: xr.Dataset
    indices: pd.DataFrame

    @property
    def importance(self) -> str:
        return "ST" if self.method == "sobol" else "mu_star"

    def top(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` strongest factors of every target, strongest first."""
        key = self.importance
        ranked = self.indices.sort_values(["outcome", "stage", "bloc", key],
                                          ascending=[True, True, True, False])
        return ranked.groupby(["outcome", "stage", "bloc"], sort=False).head(n
                                                                             ).reset_index(
            drop=True)

    def tornado(self, outcome: str, stage: str, bloc: str) -> pd.DataFrame:
        """Tornado rows of one target (computed with the indices), largest swing first."""
        hit = self.indices[(self.indices.outcome == outcome) & (self.indices.stage == stage)
                           & (self.indices.bloc == bloc)]
        if hit.empty:
            raise CritminError(f"no indices for {outcome} at {stage}, bloc {bloc}")
        return _by_swing(hit[["factor", "low", "high", "swing", "base"]])


def pick_targets(outcomes: xr.Dataset, names: Sequence[str], stage: str | None = None,
                 bloc: str | None = None) -> list[tuple[str, str, str]]:
    """(outcome, stage, bloc) per outcome: the given stage/bloc, else where its mean is
    largest (the market and bloc the shock hits hardest)."""
    targets = []
    for name in names:
        if name not in outcomes:
            raise CritminError(f"unknown outcome {name!r}; allowed: "
                               f"{', '.join(map(str, outcomes.data_vars))}")
        mean = outcomes[name].mean("draw")
        for dim, value in (("stage", stage), ("bloc", bloc)):
            if value is not None:
                known = [str(v) for v in outcomes[dim].values]
                if value not in known:
                    raise CritminError(f"unknown {dim} {value!r}; allowed: {', '.join(known)}")
                mean = mean.sel({dim: [value]})
        flat = int(np.nanargmax(mean.values))
        i, j = np.unravel_index(flat, mean.shape)
        targets.append((name, str(mean.stage.values[i]), str(mean.bloc.values[j])))
    return targets


def sensitivity(
    scenario: Scenario | Path | str,
    method: Method = "morris",
    samples: int | None = None,
    seed: int | None = None,
    *,
    by: Grouping = "parameter",
    outcomes: Sequence[str] = DEFAULT_OUTCOMES,
    stage: str | None = None,
    bloc: str | None = None,
    world: World | None = None,
    executor: Executor = "local",
    scheduler: str | None = None,
    workers: int | None = None,
    chunks: int | None = None,
    block_size: int | None = None,
    store: Path | str | None = None,
    progress: bool = False,
) -> SensitivityResult:
    """Sensitivity indices of ``outcomes`` at the chosen (or hardest-hit) stage and bloc."""
    import pandas as pd

    from critmin.analysis.montecarlo import BLOCK_SIZE, parameter_plan
    from critmin.analysis.sweep import evaluate
    from critmin.scenario.model import Scenario, load_scenario
    from critmin.world import build_world_for

    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    use_seed = sc.seed if seed is None else int(seed)
    n = DEFAULT_SAMPLES.get(method, 0) if samples is None else int(samples)
    w = world if world is not None else build_world_for(sc)
    _check_targets(outcomes, stage, bloc, w.labels, sc.bloc_names)
    f = factors(w, by)
    x = design(f, method, n, use_seed)
    params = design_parameters(w, f, x, use_seed)
    plan = parameter_plan(params, use_seed, block_size or BLOCK_SIZE, method)
    result = evaluate(w, sc, plan, executor=executor, scheduler=scheduler, workers=workers,
                      chunks=chunks, store=store, progress=progress,
                      key_extra={"design": f"{method}:{n}:{by}"})
    ds = result.outcomes
    rows = []
    for name, st, bl in pick_targets(ds, outcomes, stage, bloc):
        y = ds[name].sel(stage=st, bloc=bl).values
        found = analyse(method, f, x, y, use_seed)
        frame = found.merge(tornado(method, f, x, y, found), on="factor")
        rows.append(frame.assign(outcome=name, stage=st, bloc=bl))
    indices = pd.concat(rows, ignore_index=True)
    front = ["outcome", "stage", "bloc", "factor"]
    indices = indices[front + [c for c in indices.columns if c not in front]]
    return SensitivityResult(method, f, x, ds, indices)


def _check_targets(outcomes: Sequence[str], stage: str | None, bloc: str | None,
                   stages: Sequence[str], blocs: Sequence[str]) -> None:
    """Fail before any run on a misspelt outcome, stage or bloc."""
    from critmin.analysis.sweep import OUTCOMES

    if not outcomes:
        raise CritminError(f"name at least one outcome; allowed: {', '.join(OUTCOMES)}")
    for name in outcomes:
        if name not in OUTCOMES:
            raise CritminError(f"unknown outcome {name!r}; allowed: {', '.join(OUTCOMES)}")
    for what, value, known in (("stage", stage, stages), ("bloc", bloc, blocs)):
        if value is not None and value not in known:
            raise CritminError(f"unknown {what} {value!r}; allowed: {', '.join(known)}")


def plot_tornado(frames: Mapping[str, pd.DataFrame], path: Path | str, top: int = 10,
                 title: str = "") -> Path:
    """Tornado chart(s), one panel per outcome, written to ``path`` (.svg, .png or .pdf)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    if path.suffix.lower() not in (".svg", ".png", ".pdf"):
        raise CritminError(f"{path}: chart files must end in .svg, .png or .pdf")
    n = len(frames)
    fig, axes = plt.subplots(n, 1, figsize=(7.5, 0.45 * top * n + 1.2 * n), squeeze=False)
    for ax, (label, frame) in zip(axes[:, 0], frames.items(), strict=True):
        shown = frame.head(top).iloc[::-1]
        base = float(shown.base.iloc[0]) if len(shown) else 0.0
        ypos = np.arange(len(shown))
        ax.barh(ypos, shown.low - base, left=base, color="#4c72b0", label="factor low")
        ax.barh(ypos, shown.high - base, left=base, color="#dd8452", label="factor high")
        ax.axvline(base, color="black", linewidth=0.8)
        ax.set_yticks(ypos, [str(v) for v in shown.factor])
        ax.set_title(label, fontsize=10)
        ax.legend(loc="lower right", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
