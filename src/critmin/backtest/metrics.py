"""Target metrics: what a backtest compares with history, computed from a run for every draw.

History is scored on ratios, never on absolute prices (reference/calibration_cases.md: China
domestic, FOB export and Rotterdam prices differ by multiples during controls, and the model's
prices are on today's scale): price multiples against a pre-shock period, the period of the
peak, the price wedge between two blocs, the share of a quota used, the time until new capacity
outside the restricting bloc produces, the price change after the peak, export volumes against
an earlier month, and Sprecher et al.'s response speeds.

:class:`Outcome` holds a run's series summed into blocs; each metric is a pure function
``(outcome, spec) → values per draw``, so tests can hand-build an outcome of a few numbers.
Every metric names its error measure (:data:`ERRORS`): ``log`` for multiples and ratios
(ln(model ÷ observed): +0.69 is twice too high), ``absolute`` for shares and rates, ``periods``
for timing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal

import numpy as np
from numpy.typing import ArrayLike

from critmin.metrics.resilience import ramp_rate, response_lag, substitution_rate

if TYPE_CHECKING:
    from critmin.engine.loop import Run

Array = np.ndarray
ErrorKind = Literal["log", "absolute", "periods"]

#: How each error measure compares model and history, and its default tolerance (a reporting
#: choice, overridable per target): a factor of 2, 0.10 of a share, one year.
ERRORS: Final[dict[str, str]] = {
    "log": "ln(model ÷ observed)",
    "absolute": "model − observed",
    "periods": "model − observed, in periods",
}
DEFAULT_TOLERANCE: Final[dict[str, float | None]] = {
    "log": float(np.log(2.0)), "absolute": 0.1, "periods": None}  # periods: one year


@dataclass(frozen=True)
class Quota:
    """A quota a backtest imposed: caps in t per period (D, T), NaN where inactive."""

    exporter: int
    importers: tuple[int, ...]
    caps: Array


@dataclass(frozen=True)
class Outcome:
    """A run's series by bloc (D draws × T periods × N stages × B blocs; flows B × B)."""

    labels: tuple[str, ...]
    stages: tuple[str, ...]  # "commodity/stage"
    blocs: tuple[str, ...]
    periods_per_year: int
    price: Array  # (D, T, N, B) USD/t
    baseline_price: Array
    flow: Array  # (D, T, N, B, B) t per period from bloc → to bloc
    capacity: Array  # (D, T, N, B) t/yr, active
    baseline_capacity: Array
    production: Array  # (D, T, N, B) t per period
    substitution: Array  # (D, T, N, B) share of final demand substituted (0 off final stages)
    quotas: Mapping[tuple[int, int], Quota] = field(default_factory=dict)  # (stage, exporter)

    @property
    def n_draws(self) -> int:
        return int(self.price.shape[0])

    @classmethod
    def from_run(cls, run: Run, quotas: Mapping[tuple[int, int], Quota] | None = None
                 ) -> Outcome:
        """Sum a region-detail run into its blocs."""
        from critmin.engine import network

        if run.detail != "region":
            raise ValueError("backtest metrics need a run with detail='region'")
        blocs = run.blocs
        member = np.zeros((run.world.n_regions, blocs.n_blocs))
        member[np.arange(run.world.n_regions), blocs.bloc_of] = 1.0
        shocked, base = run.shocked, run.baseline
        pi, pj = network.pairs(blocs.n_blocs)
        g = np.asarray(shocked.flow)
        flow = np.zeros((*g.shape[:3], blocs.n_blocs, blocs.n_blocs))
        flow[..., pi, pj] = np.maximum(g, 0.0)
        flow[..., pj, pi] = np.maximum(-g, 0.0)
        # substitution share by bloc, weighted by the baseline's final consumption (at p0 the
        # baseline serves notional demand, so these are the regions' demand weights)
        weight = np.asarray(base.final_consumption)
        wsum = weight @ member
        sub = np.divide((np.asarray(shocked.substitution) * weight) @ member, wsum,
                        out=np.zeros_like(wsum), where=wsum > 0)
        return cls(
            labels=tuple(run.labels), stages=tuple(run.world.labels), blocs=blocs.names,
            periods_per_year=run.scenario.periods_per_year,
            price=np.asarray(shocked.price), baseline_price=np.asarray(base.price), flow=flow,
            capacity=np.asarray(shocked.capacity) @ member,
            baseline_capacity=np.asarray(base.capacity) @ member,
            production=np.asarray(shocked.production) @ member, substitution=sub,
            quotas=dict(quotas or {}))


@dataclass(frozen=True)
class Spec:
    """A target resolved onto an outcome's indices (what the metric functions read)."""

    stage: int
    bloc: int | None = None
    other: int | None = None  # second bloc (ratios, flows)
    at: int | None = None
    base: int | None = None
    window: tuple[int, int] | None = None  # inclusive
    after: int | None = None
    threshold: float = 0.001


# -- the metrics -------------------------------------------------------------------------------


def _span(o: Outcome, s: Spec) -> tuple[int, int]:
    return s.window if s.window is not None else (0, len(o.labels) - 1)


def _bloc_price(o: Outcome, s: Spec) -> Array:
    assert s.bloc is not None
    return o.price[:, :, s.stage, s.bloc]  # (D, T)


def price_multiple(o: Outcome, s: Spec) -> Array:
    """Price of ``bloc`` at ``at`` ÷ its price at ``base``."""
    p = _bloc_price(o, s)
    return p[:, s.at] / p[:, s.base]


def _peak_index(o: Outcome, s: Spec) -> Array:
    lo, hi = _span(o, s)
    return lo + _bloc_price(o, s)[:, lo:hi + 1].argmax(axis=1)


def peak_price_multiple(o: Outcome, s: Spec) -> Array:
    """Highest price of ``bloc`` within ``window`` ÷ its price at ``base``."""
    p = _bloc_price(o, s)
    lo, hi = _span(o, s)
    return p[:, lo:hi + 1].max(axis=1) / p[:, s.base]


def peak_period(o: Outcome, s: Spec) -> Array:
    """Period index of the highest price of ``bloc`` within ``window``."""
    return _peak_index(o, s).astype(float)


def price_ratio(o: Outcome, s: Spec) -> Array:
    """Price of ``bloc`` ÷ price of ``other`` at ``at`` (the wedge a control opens)."""
    return o.price[:, s.at, s.stage, s.bloc] / o.price[:, s.at, s.stage, s.other]


def peak_price_ratio(o: Outcome, s: Spec) -> Array:
    """Widest wedge within ``window``: max over time of price of ``bloc`` ÷ price of ``other``."""
    lo, hi = _span(o, s)
    ratio = o.price[:, lo:hi + 1, s.stage, s.bloc] / o.price[:, lo:hi + 1, s.stage, s.other]
    return ratio.max(axis=1)


def post_peak_change(o: Outcome, s: Spec) -> Array:
    """Price of ``bloc`` ``after`` periods after its peak within ``window`` ÷ the peak price
    (0.15 = 85% below the peak). A peak closer than ``after`` to the end reads the last period."""
    p = _bloc_price(o, s)
    peak = _peak_index(o, s)
    later = np.minimum(peak + int(s.after or 0), p.shape[1] - 1)
    rows = np.arange(p.shape[0])
    return p[rows, later] / p[rows, peak]


def trough_after_peak(o: Outcome, s: Spec) -> Array:
    """Lowest price of ``bloc`` from its peak to the end of ``window`` ÷ the peak price."""
    p = _bloc_price(o, s)
    hi = _span(o, s)[1]
    peak = _peak_index(o, s)
    t = np.arange(p.shape[1])[None, :]
    later = (t >= peak[:, None]) & (t <= hi)
    return np.where(later, p, np.inf).min(axis=1) / p[np.arange(p.shape[0]), peak]


def _exports(o: Outcome, s: Spec, importers: tuple[int, ...] | None = None) -> Array:
    """Flows (D, T) from ``bloc`` to ``other`` (or to ``importers``, or to every other bloc)."""
    assert s.bloc is not None
    flows = o.flow[:, :, s.stage, s.bloc, :]  # (D, T, B)
    if importers is None:
        importers = (s.other,) if s.other is not None else tuple(
            b for b in range(len(o.blocs)) if b != s.bloc)
    return flows[:, :, list(importers)].sum(axis=2)


def export_ratio(o: Outcome, s: Spec) -> Array:
    """Exports of ``bloc`` (to ``other``, or to all) at ``at`` ÷ those at ``base``."""
    x = _exports(o, s)
    return x[:, s.at] / x[:, s.base]


def quota_used(o: Outcome, s: Spec) -> Array:
    """Exports under a backtest quota within ``window`` ÷ the quota over the same periods."""
    assert s.bloc is not None
    quota = o.quotas.get((s.stage, s.bloc))
    if quota is None:
        raise KeyError(f"no quota on stage {o.stages[s.stage]} from bloc {o.blocs[s.bloc]}")
    lo, hi = _span(o, s)
    x = _exports(o, s, quota.importers)[:, lo:hi + 1]
    cap = quota.caps[:, lo:hi + 1]
    active = np.isfinite(cap)
    total = np.where(active, cap, 0.0).sum(axis=1)
    used = np.where(active, x, 0.0).sum(axis=1)
    return np.divide(used, total, out=np.full_like(total, np.nan), where=total > 0)


def capacity_lag(o: Outcome, s: Spec) -> Array:
    """Periods from ``base`` (the shock) until ``bloc``'s capacity first exceeds its baseline
    capacity by more than ``threshold`` (share): new capacity outside the restricting bloc
    produces. NaN if it never does within the horizon."""
    assert s.bloc is not None and s.base is not None
    return response_lag(o.capacity[:, :, s.stage, s.bloc],
                        o.baseline_capacity[:, :, s.stage, s.bloc], s.base, s.threshold, axis=1)


def production_share(o: Outcome, s: Spec) -> Array:
    """``bloc``'s share of world production at the stage over ``window`` (totals summed)."""
    lo, hi = _span(o, s)
    prod = o.production[:, lo:hi + 1, s.stage].sum(axis=1)  # (D, B)
    total = prod.sum(axis=1)
    return np.divide(prod[:, s.bloc], total, out=np.full_like(total, np.nan), where=total > 0)


def substitution_speed(o: Outcome, s: Spec) -> Array:
    """Largest one-year rise within ``window`` of the share of ``bloc``'s final demand
    substituted or thrifted (Sprecher et al. 2017: up to ~0.10 a year after 2010)."""
    lo, hi = _span(o, s)
    return substitution_rate(o.substitution[:, lo:hi + 1, s.stage, s.bloc],
                             o.periods_per_year, axis=1)


def supply_ramp(o: Outcome, s: Spec) -> Array:
    """Largest one-year rise within ``window`` of ``bloc``'s production as a share of world
    production at the stage (Sprecher et al. 2017: non-China supply ~0.04 of the market a
    year)."""
    lo, hi = _span(o, s)
    prod = o.production[:, lo:hi + 1, s.stage]  # (D, T, B)
    return ramp_rate(prod[:, :, s.bloc], prod.sum(axis=2), o.periods_per_year, axis=1)


@dataclass(frozen=True)
class Metric:
    """A target metric: its function, error measure and which target fields it needs."""

    compute: Callable[[Outcome, Spec], Array]
    error: ErrorKind
    needs: tuple[str, ...]
    unit: str
    price_move: bool = False  # a price (or flow) ratio whose direction history fixes

    @property
    def description(self) -> str:
        return (self.compute.__doc__ or "").split("\n\n")[0].replace("\n", " ")


#: Every metric a case may name (the case file's ``metric`` field allows exactly these).
METRICS: Final[dict[str, Metric]] = {
    "price_multiple": Metric(price_multiple, "log", ("bloc", "at", "base"), "ratio", True),
    "peak_price_multiple": Metric(peak_price_multiple, "log", ("bloc", "base", "window"),
                                  "ratio", True),
    "peak_period": Metric(peak_period, "periods", ("bloc", "window"), "period"),
    "price_ratio": Metric(price_ratio, "log", ("bloc", "other", "at"), "ratio", True),
    "peak_price_ratio": Metric(peak_price_ratio, "log", ("bloc", "other", "window"), "ratio",
                               True),
    "post_peak_change": Metric(post_peak_change, "log", ("bloc", "window", "after"), "ratio",
                               True),
    "trough_after_peak": Metric(trough_after_peak, "log", ("bloc", "window"), "ratio", True),
    "export_ratio": Metric(export_ratio, "log", ("bloc", "at", "base"), "ratio", True),
    "quota_used": Metric(quota_used, "absolute", ("bloc", "window"), "share"),
    "production_share": Metric(production_share, "absolute", ("bloc", "window"), "share"),
    "capacity_lag": Metric(capacity_lag, "periods", ("bloc", "base"), "periods"),
    "substitution_rate": Metric(substitution_speed, "absolute", ("bloc", "window"),
                                "share of demand per year"),
    "supply_ramp_rate": Metric(supply_ramp, "absolute", ("bloc", "window"),
                               "share of the market per year"),
}


def error(kind: ErrorKind, model: ArrayLike, observed: float) -> Array:
    """Model against history in the metric's error measure (see :data:`ERRORS`)."""
    m = np.asarray(model, dtype=float)
    if kind == "log":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(m / observed)
    return m - observed

