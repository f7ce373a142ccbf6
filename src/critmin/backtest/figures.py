"""One figure per case: the observed facts as points over the model's 5–95% band.

Panels: each price series a case's targets read (stage × bloc), as a multiple of its first
period; the wedge between two blocs; exports under a quota as a share of the quota; exports
against a base month. An observed multiple measured from ``base`` is drawn at the model's
median level at ``base`` times the observed multiple, so history and model share one scale.
Targets that are not series (lags, rates, shares, peak quarters) are listed under the panels.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from critmin.backtest.metrics import METRICS
from critmin.backtest.runner import CaseRun, quantiles, resolve

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from critmin.backtest.case import Target

PRICE = ("price_multiple", "peak_price_multiple", "post_peak_change", "trough_after_peak")
WEDGE = ("price_ratio", "peak_price_ratio")


def _band(ax: Axes, x: np.ndarray, series: np.ndarray, central: np.ndarray | None,
          label: str) -> np.ndarray:
    """Draw p05–p95 and the median of ``series`` (D, T); return the median."""
    with warnings.catch_warnings():  # periods where the series is undefined (no quota yet)
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, med, hi = np.nanquantile(series, [0.05, 0.5, 0.95], axis=0)
    ax.fill_between(x, lo, hi, alpha=0.25, color="tab:blue", label="model 5–95%")
    ax.plot(x, med, color="tab:blue", lw=1.5, label="model median")
    if central is not None:
        ax.plot(x, central, color="tab:blue", lw=1, ls=":", label="central run")
    ax.set_title(label, fontsize=9)
    return med


def _observed(ax: Axes, x: Any, y: Any, name: str) -> None:
    """An observed fact at period ``x`` and level ``y`` (numbers or numpy scalars)."""
    at, level = float(x), float(y)
    ax.plot([at], [level], marker="o", color="tab:red", ms=6, ls="none")
    ax.annotate(name, (at, level), fontsize=7, xytext=(4, 4), textcoords="offset points",
                color="tab:red")


def case_figure(case_run: CaseRun, path: Path | str) -> Path:
    """Write the case's figure (PNG) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    case, o = case_run.case, case_run.outcome
    co = case_run.central_outcome
    x = np.arange(len(o.labels))
    peaks = {(t.commodity, t.stage, t.bloc): case.scenario.index(t.observed)  # type: ignore[arg-type]
             for t in case.targets if t.metric == "peak_period"}
    panels: dict[tuple[str, ...], list[Target]] = {}
    scalars: list[Target] = []
    for t in case.targets:
        if t.metric in PRICE:
            panels.setdefault(("price", t.commodity, t.stage, t.bloc or ""), []).append(t)
        elif t.metric in WEDGE:
            panels.setdefault(("wedge", t.commodity, t.stage, t.bloc or "", t.other or ""),
                              []).append(t)
        elif t.metric in ("quota_used", "export_ratio"):
            panels.setdefault((t.metric, t.commodity, t.stage, t.bloc or ""), []).append(t)
        else:
            scalars.append(t)
    n = max(len(panels), 1)
    cols = min(n, 2)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.5 * cols, 3.6 * rows + 0.14 * len(scalars)
                                                  + 0.6), squeeze=False)
    for ax, (key, targets) in zip(axes.ravel(), panels.items(), strict=False):
        kind = key[0]
        spec = resolve(targets[0], case, o)
        stage = spec.stage
        if kind == "price":
            b = spec.bloc
            series = o.price[:, :, stage, b] / o.price[:, :1, stage, b]
            central = None if co is None else co.price[0, :, stage, b] / co.price[0, 0, stage, b]
            med = _band(ax, x, series, central, f"{o.stages[stage]} price, {key[3]} "
                        "(× first period)")
            ax.set_yscale("log")
            for t in targets:
                s = resolve(t, case, o)
                peak = peaks.get((t.commodity, t.stage, t.bloc))
                if t.metric == "price_multiple":
                    _observed(ax, s.at, med[s.base] * float(t.observed), t.name)
                elif t.metric == "peak_price_multiple":
                    when = peak if peak is not None else sum(s.window) / 2  # type: ignore[arg-type]
                    _observed(ax, when, med[s.base] * float(t.observed), t.name)
                elif peak is not None:  # post-peak facts hang on the observed peak
                    level = np.nanmax(med[s.window[0]:s.window[1] + 1])  # type: ignore[index]
                    when = min(peak + (t.after or 0), len(x) - 1) if t.metric == \
                        "post_peak_change" else s.window[1]  # type: ignore[index]
                    _observed(ax, when, level * float(t.observed), t.name)
        elif kind == "wedge":
            b, other = spec.bloc, spec.other
            series = o.price[:, :, stage, b] / o.price[:, :, stage, other]
            central = None if co is None else co.price[0, :, stage, b] / co.price[0, :, stage,
                                                                                   other]
            _band(ax, x, series, central, f"{o.stages[stage]}: price {key[3]} ÷ {key[4]}")
            ax.set_yscale("log")
            for t in targets:
                s = resolve(t, case, o)
                peak = peaks.get((t.commodity, t.stage, t.bloc))
                when = s.at if s.at is not None else (
                    peak if peak is not None else sum(s.window) / 2)  # type: ignore[arg-type]
                _observed(ax, when, float(t.observed), t.name)
        elif kind == "quota_used":
            quota = o.quotas[(stage, spec.bloc)]  # type: ignore[index]
            flows = o.flow[:, :, stage, spec.bloc][:, :, list(quota.importers)].sum(axis=2)
            with np.errstate(invalid="ignore", divide="ignore"):
                _band(ax, x, flows / quota.caps, None, f"{o.stages[stage]}: exports of "
                      f"{key[3]} ÷ quota")
            for t in targets:
                s = resolve(t, case, o)
                _observed(ax, sum(s.window) / 2, float(t.observed), t.name)  # type: ignore[arg-type]
        else:  # export_ratio
            b = spec.bloc
            flows = o.flow[:, :, stage, b].sum(axis=2)
            base = flows[:, spec.base][:, None]
            med = _band(ax, x, flows / base, None, f"{o.stages[stage]}: exports of {key[3]} "
                        "(× base period)")
            for t in targets:
                s = resolve(t, case, o)
                _observed(ax, s.at, float(t.observed), t.name)
        step = max(1, len(x) // 8)
        ax.set_xticks(x[::step], [o.labels[i] for i in x[::step]], fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    if panels:
        axes.ravel()[0].legend(fontsize=7, loc="best")
    lines = []
    for t in scalars:
        lo, med, hi = quantiles(case_run.values[t.name])
        unit = METRICS[t.metric].unit
        fmt = (lambda v: o.labels[int(v)] if np.isfinite(v) else "never") \
            if t.metric == "peak_period" else (lambda v: f"{v:.3g}" if np.isfinite(v)
                                               else "never")
        lines.append(f"{t.name}: observed {t.observed} · model median {fmt(med)} "
                     f"[{fmt(lo)} – {fmt(hi)}] ({unit})")
    fig.suptitle(f"{case.name} — observed (red) over the model ({o.n_draws} draws)",
                 fontsize=10)
    if lines:
        fig.text(0.01, 0.01, "\n".join(lines), fontsize=7, va="bottom", family="monospace")
    bottom = min(0.45, (0.14 * len(lines) + 0.15) / fig.get_figheight())
    fig.tight_layout(rect=(0, bottom, 1, 0.95))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
