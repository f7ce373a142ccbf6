"""Sprecher et al. resilience metrics on hand-computed series (and draws × time arrays)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from critmin.metrics.resilience import (
    cumulative_shortfall,
    ramp_rate,
    recovery_time,
    response_lag,
    substitution_rate,
)


def test_substitution_rate_is_the_largest_one_year_rise() -> None:
    share = [0.0, 0.02, 0.05, 0.09, 0.12, 0.13]
    # quarterly: s[4] - s[0] = 0.12, s[5] - s[1] = 0.11
    assert substitution_rate(share, 4) == pytest.approx(0.12)
    # yearly data: the largest step is 0.04
    assert substitution_rate(share, 1) == pytest.approx(0.04)


def test_substitution_rate_of_a_series_shorter_than_a_year_is_scaled_to_a_year() -> None:
    # 0.06 over 2 quarters → 0.12 a year
    assert substitution_rate([0.0, 0.03, 0.06], 4) == pytest.approx(0.12)
    assert np.isnan(substitution_rate([0.1], 4))


def test_substitution_rate_over_draws_on_the_time_axis() -> None:
    share = np.array([[0.0, 0.1, 0.2], [0.0, 0.0, 0.05]])  # 2 draws × 3 years
    np.testing.assert_allclose(substitution_rate(share, 1, axis=1), [0.1, 0.05])
    np.testing.assert_allclose(substitution_rate(share.T, 1, axis=0), [0.1, 0.05])


def test_ramp_rate_is_new_alternative_supply_per_year_over_the_market() -> None:
    alt = [10.0, 12.0, 15.0, 20.0]
    market = [100.0, 100.0, 110.0, 120.0]
    # half-yearly: (15 − 10) / 100 = 0.05, (20 − 12) / 100 = 0.08
    assert ramp_rate(alt, market, 2) == pytest.approx(0.08)
    # quarterly, 3 quarters only: (20 − 10) / 100 × 4/3
    assert ramp_rate(alt, market, 4) == pytest.approx(10 / 100 * 4 / 3)
    with pytest.raises(ValueError, match="differ"):
        ramp_rate(alt, market[:3], 2)


def test_ramp_rate_skips_windows_without_a_market() -> None:
    assert ramp_rate([0.0, 5.0, 9.0], [0.0, 50.0, 60.0], 1) == pytest.approx(4 / 50)
    assert np.isnan(ramp_rate([1.0, 2.0], [0.0, 0.0], 1))


def test_response_lag_counts_periods_from_the_shock_to_the_first_response() -> None:
    series = [1.0, 1.0, 1.0, 1.005, 1.02, 1.5]
    assert response_lag(series, np.ones(6), start=1, threshold=0.01) == 3
    assert response_lag(series, np.ones(6), start=4, threshold=0.01) == 0
    assert np.isnan(response_lag(series, np.ones(6), start=1, threshold=0.6))
    with pytest.raises(ValueError, match="outside"):
        response_lag(series, np.ones(6), start=6, threshold=0.01)


def test_recovery_time_waits_until_the_series_stays_back() -> None:
    x = [1.0, 1.5, 1.2, 1.0, 1.3, 1.0, 1.0]
    # away at periods 1, 2 and 4 (tolerance 5%): back for good from period 5 → 4 periods
    assert recovery_time(x, 1.0, start=1, tolerance=0.05) == 4
    assert recovery_time([1.0, 1.01, 1.0], 1.0, start=0, tolerance=0.05) == 0
    assert np.isnan(recovery_time([1.0, 1.0, 2.0], 1.0, start=0, tolerance=0.05))


def test_cumulative_shortfall_sums_only_what_is_missing() -> None:
    assert cumulative_shortfall([10.0, 8.0, 9.0, 12.0], [10.0] * 4) == pytest.approx(3.0)
    draws = np.array([[10.0, 8.0], [5.0, 15.0]])
    np.testing.assert_allclose(cumulative_shortfall(draws, [10.0, 10.0], axis=1), [2.0, 5.0])


@pytest.fixture(scope="module")
def licensing_run():
    """The shipped rare-earth licensing scenario, 4 draws, cut to 12 quarters."""
    from critmin.engine import simulate
    from critmin.results import to_dataset
    from critmin.scenario.model import load_scenario
    from critmin.world import build_world_for

    repo = Path(__file__).resolve().parents[1]
    scenario = load_scenario(repo / "scenarios" / "rare-earth-licensing.yaml")
    scenario = scenario.model_copy(update={"horizon": 12})
    return to_dataset(simulate(build_world_for(scenario), scenario, draws=4))


def test_run_resilience_agrees_with_the_run_summary(licensing_run) -> None:
    from critmin.metrics.resilience import run_resilience
    from critmin.results import summarize

    ds = licensing_run
    table = run_resilience(ds, "rare-earths/magnet", "rest", "2025Q2")
    assert list(table.columns) == ["substitution_rate", "ramp_rate", "response_lag",
                                   "recovery_time", "cumulative_shortfall"]
    assert len(table) == 4
    summary = summarize(ds).set_index(["stage", "bloc"]).loc[("rare-earths/magnet", "rest")]
    # the run summary sums the same shortfall (its mean over draws)
    assert table.cumulative_shortfall.mean() == pytest.approx(summary.cumulative_shortfall_t)
    assert (table.cumulative_shortfall > 0).all()
    # licences cut magnets reaching the rest: substitution rises there, at most the registry's
    # fastest rate (0.15 a year for rare earths)
    assert ((table.substitution_rate > 0) & (table.substitution_rate <= 0.15 + 1e-9)).all()
    # the licences end in 2027Q1, 8 quarters after 2025Q2: no draw is back before, and the
    # ones that come back within this 12-quarter run do so once they are lifted
    assert (table.recovery_time.dropna() >= 8).all()
    assert (table.response_lag.dropna() >= 0).all()
    by_label = run_resilience(ds, "rare-earths/magnet", "rest", 1)
    np.testing.assert_allclose(by_label.to_numpy(), table.to_numpy(), equal_nan=True)
