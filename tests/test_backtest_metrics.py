"""Backtest target metrics on a hand-built outcome: every value computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from critmin.backtest.metrics import METRICS, Outcome, Quota, Spec, error
from critmin.backtest.runner import LOSS_CAP, quantiles, target_loss

LABELS = ("2010Q1", "2010Q2", "2010Q3", "2010Q4", "2011Q1", "2011Q2")
# two draws, six quarters, one stage, blocs china (0) and rest (1)
REST_PRICE = np.array([[1.0, 1.0, 4.0, 8.0, 6.0, 2.0],
                       [1.0, 2.0, 3.0, 3.0, 9.0, 4.5]])
CHINA_PRICE = np.array([[1.0, 1.0, 0.8, 0.8, 1.0, 1.0],
                        [1.0, 1.0, 1.0, 1.5, 1.5, 1.5]])
EXPORTS = np.array([[10.0, 10.0, 20.0, 6.0, 6.0, 6.0],
                    [10.0, 10.0, 10.0, 5.0, 8.0, 8.0]])  # china → rest, t per period
CAPS = np.array([[np.nan, np.nan, np.nan, 6.0, 6.0, 12.0],
                 [np.nan, np.nan, np.nan, 6.0, 8.0, 8.0]])


def outcome() -> Outcome:
    d, t = REST_PRICE.shape
    price = np.stack([CHINA_PRICE, REST_PRICE], axis=-1)[:, :, None, :]  # (D, T, 1, 2)
    flow = np.zeros((d, t, 1, 2, 2))
    flow[:, :, 0, 0, 1] = EXPORTS
    capacity = np.full((d, t, 1, 2), 100.0)
    base_capacity = capacity.copy()
    capacity[0, 3:, 0, 1] = [100.05, 101.0, 103.0]  # draw 0: new capacity in rest from 2010Q4
    production = np.zeros((d, t, 1, 2))
    production[..., 0, 0] = [[90, 90, 90, 85, 80, 80], [90, 90, 90, 90, 90, 90]]
    production[..., 0, 1] = [[10, 10, 10, 15, 20, 20], [10, 10, 10, 10, 10, 10]]
    substitution = np.zeros((d, t, 1, 2))
    substitution[0, :, 0, 1] = [0.0, 0.0, 0.01, 0.03, 0.05, 0.08]
    return Outcome(labels=LABELS, stages=("x/refined",), blocs=("china", "rest"),
                   periods_per_year=4, price=price, baseline_price=np.ones_like(price),
                   flow=flow, capacity=capacity, baseline_capacity=base_capacity,
                   production=production, substitution=substitution,
                   quotas={(0, 0): Quota(0, (1,), CAPS)})


def value(metric: str, **spec: object) -> np.ndarray:
    return METRICS[metric].compute(outcome(), Spec(stage=0, **spec))  # type: ignore[arg-type]


def test_price_multiple_and_its_peak() -> None:
    np.testing.assert_allclose(value("price_multiple", bloc=1, at=3, base=1), [8.0, 1.5])
    np.testing.assert_allclose(value("peak_price_multiple", bloc=1, base=0, window=(1, 5)),
                               [8.0, 9.0])
    np.testing.assert_allclose(value("peak_price_multiple", bloc=1, base=0, window=(1, 3)),
                               [8.0, 3.0])
    np.testing.assert_array_equal(value("peak_period", bloc=1, window=(0, 5)), [3, 4])
    # a tie keeps the first peak: draw 1 reaches 3.0 at 2010Q3 and 2010Q4
    np.testing.assert_array_equal(value("peak_period", bloc=1, window=(0, 3)), [3, 2])


def test_wedges_between_blocs() -> None:
    np.testing.assert_allclose(value("price_ratio", bloc=1, other=0, at=3), [10.0, 2.0])
    np.testing.assert_allclose(value("peak_price_ratio", bloc=1, other=0, window=(0, 5)),
                               [10.0, 6.0])


def test_after_the_peak() -> None:
    # draw 0 peaks at 8 (2010Q4): one period later 6 → 0.75; draw 1 peaks at 9 (2011Q1) → 4.5
    np.testing.assert_allclose(value("post_peak_change", bloc=1, window=(0, 5), after=1),
                               [0.75, 0.5])
    # two periods after: draw 0 → 2 / 8; draw 1 runs past the end and reads the last period
    np.testing.assert_allclose(value("post_peak_change", bloc=1, window=(0, 5), after=2),
                               [0.25, 0.5])
    np.testing.assert_allclose(value("trough_after_peak", bloc=1, window=(0, 5)), [0.25, 0.5])
    # the trough is sought only up to the end of the window
    np.testing.assert_allclose(value("trough_after_peak", bloc=1, window=(0, 4)), [0.75, 1.0])


def test_exports_and_the_quota() -> None:
    np.testing.assert_allclose(value("export_ratio", bloc=0, other=1, at=2, base=1), [2.0, 1.0])
    np.testing.assert_allclose(value("export_ratio", bloc=0, at=3, base=0), [0.6, 0.5])
    # 2010Q4–2011Q2: draw 0 exports 18 of a quota of 24, draw 1 21 of 22
    np.testing.assert_allclose(value("quota_used", bloc=0, window=(3, 5)), [18 / 24, 21 / 22])
    # periods without a quota do not count
    np.testing.assert_allclose(value("quota_used", bloc=0, window=(0, 3)), [1.0, 5 / 6])
    with pytest.raises(KeyError, match="no quota"):
        value("quota_used", bloc=1, window=(0, 5))


def test_new_capacity_lag_and_shares() -> None:
    # draw 0: +0.05% at 2010Q4 (below the 0.1% threshold), +1% at 2011Q1 → 3 periods after
    # 2010Q2; draw 1 never adds capacity
    lag = value("capacity_lag", bloc=1, base=1, threshold=0.001)
    assert lag[0] == 3 and np.isnan(lag[1])
    assert value("capacity_lag", bloc=1, base=1, threshold=0.0001)[0] == 2
    # production share of rest over 2011: draw 0 (20 + 20) / 200, draw 1 20 / 200
    np.testing.assert_allclose(value("production_share", bloc=1, window=(4, 5)), [0.2, 0.1])
    # ramp: largest one-year rise of rest output over world output at the window's start
    np.testing.assert_allclose(value("supply_ramp_rate", bloc=1, window=(0, 5)), [0.1, 0.0])
    # substitution 0.0 → 0.05 in the year 2010Q1→2011Q1, 0.0 → 0.08 in 2010Q2→2011Q2
    np.testing.assert_allclose(value("substitution_rate", bloc=1, window=(0, 5)), [0.08, 0.0])


def test_error_measures_and_losses() -> None:
    assert error("log", 8.0, 4.0) == pytest.approx(np.log(2.0))
    assert error("absolute", 0.3, 0.56) == pytest.approx(-0.26)
    assert error("periods", 12.0, 10.0) == 2.0
    assert target_loss(np.log(2.0), np.log(2.0)) == pytest.approx(1.0)
    assert target_loss(10.0, 1.0) == LOSS_CAP
    assert target_loss(float("nan"), 1.0) == LOSS_CAP


def test_quantiles_treat_never_as_later_than_any_period() -> None:
    np.testing.assert_allclose(quantiles(np.array([1.0, 2.0, 3.0])), [1.1, 2.0, 2.9])
    lo, med, hi = quantiles(np.array([4.0, np.nan, np.nan]))
    assert lo == 4.0 and np.isinf(med) and np.isinf(hi)


def test_every_metric_documents_itself_and_its_fields() -> None:
    for name, metric in METRICS.items():
        assert metric.description, name
        assert metric.error in ("log", "absolute", "periods")
        assert set(metric.needs) <= {"bloc", "other", "at", "base", "window", "after"}
