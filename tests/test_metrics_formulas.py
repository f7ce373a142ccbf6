"""Each published formula on a small invented market, computed by hand.

Market (fractions): A 0.6, B 0.3, C 0.1. WGI means: A −1.5, B 0.5, C 2.0, so the EU scores
(2.5 − m)·2 are 8, 4, 1 and the USGS scores (2.5 − m)/5 are 0.8, 0.4, 0.1.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmin.metrics import (
    disruption_potential,
    eu_supply_risk,
    hhi,
    hhi_points,
    import_reliance,
    is_critical,
    n_minus_1_coverage,
    remaining_share,
    rescale_eu,
    rescale_usgs,
    top_n_share,
    trade_exposure,
    usgs_supply_risk,
)
from critmin.metrics.concentration import hhi_band
from critmin.metrics.governance import weighted_hhi

SHARES = np.array([0.6, 0.3, 0.1])
WGI = np.array([-1.5, 0.5, 2.0])


def test_hhi_and_top_n_by_hand() -> None:
    assert hhi(SHARES) == pytest.approx(0.36 + 0.09 + 0.01)
    assert hhi_points(hhi(SHARES)) == pytest.approx(4600.0)
    assert top_n_share(SHARES, 1) == pytest.approx(0.6)
    assert top_n_share(SHARES, 2) == pytest.approx(0.9)
    assert top_n_share([0.1, 0.5, 0.2, 0.15, 0.05], 3) == pytest.approx(0.85)


def test_one_producer_and_equal_producers() -> None:
    assert hhi_points(hhi([1.0])) == pytest.approx(10_000.0)
    assert remaining_share(1.0) == pytest.approx(0.0)
    for n in (2, 4, 5, 10):
        assert hhi_points(hhi(np.full(n, 1.0 / n))) == pytest.approx(10_000.0 / n)


def test_hhi_bands_follow_antitrust_cut_offs() -> None:
    assert list(hhi_band([0.1499, 0.15, 0.2, 0.25, 0.2501, np.nan])) == [
        "low",
        "low",
        "moderate",
        "moderate",
        "high",
        "",
    ]


def test_n_minus_1_by_hand() -> None:
    assert remaining_share(0.6) == pytest.approx(0.4)
    # IEA form: supply 100, largest 60, demand 80 → 40/80
    assert n_minus_1_coverage(100.0, 60.0, 80.0) == pytest.approx(0.5)
    assert np.isnan(n_minus_1_coverage(100.0, 60.0, 0.0))


def test_wgi_rescaling() -> None:
    assert list(rescale_eu(WGI)) == pytest.approx([8.0, 4.0, 1.0])
    assert list(rescale_usgs(WGI)) == pytest.approx([0.8, 0.4, 0.1])
    assert list(rescale_eu(np.array([-3.0, 3.0]))) == [10.0, 0.0]  # clipped to the scale
    assert list(rescale_usgs(np.array([-2.5, 2.5]))) == [1.0, 0.0]


def test_eu_supply_risk_by_hand() -> None:
    gs = weighted_hhi(SHARES, rescale_eu(WGI))
    assert gs == pytest.approx(0.36 * 8 + 0.09 * 4 + 0.01 * 1)  # 3.25
    with_t = weighted_hhi(SHARES, rescale_eu(WGI), [1.1, 1.0, 1.0])
    assert with_t == pytest.approx(0.36 * 8 * 1.1 + 0.36 + 0.01)
    # IR 0.6, EU sourcing 2.0, EOL-RIR 0.1, SI 0.9: (3.25·0.3 + 2.0·0.7)·0.9·0.9
    assert eu_supply_risk(gs, 2.0, 0.6, 0.1, 0.9) == pytest.approx(1.92375)
    # EU sourcing = global supply: IR drops out
    assert eu_supply_risk(gs, gs, 0.0) == pytest.approx(eu_supply_risk(gs, gs, 1.0))
    # IR outside [0, 1] is clipped
    assert eu_supply_risk(gs, 2.0, 1.7) == pytest.approx(eu_supply_risk(gs, 2.0, 1.0))


def test_eu_criticality_rule() -> None:
    assert list(is_critical([1.0, 0.99, 1.5, 2.0], [2.8, 5.0, 2.79, np.nan])) == [
        True,
        False,
        False,
        False,
    ]


def test_usgs_dp_te_sr_by_hand() -> None:
    dp = disruption_potential(SHARES, rescale_usgs(WGI))
    assert dp == pytest.approx(0.288 + 0.036 + 0.001)
    te = trade_exposure(production=20, imports=100, exports=40)  # 60 / 80
    assert te == pytest.approx(0.75)
    assert usgs_supply_risk(dp, te, 0.5) == pytest.approx((0.325 * 0.75 * 0.5) ** (1 / 3))
    # stock drawdown adds to supply and to reliance: (60 + 20) / (20 + 80)
    assert trade_exposure(20, 100, 40, 20) == pytest.approx(0.8)


def test_net_exporter_gets_zero_import_reliance() -> None:
    assert import_reliance(production=100, imports=10, exports=50) == 0.0
    assert trade_exposure(0, 0, 0) == 0.0
    assert import_reliance(0, 10, 0) == 1.0  # all imported


@given(st.lists(st.floats(0.0, 1e6), min_size=1, max_size=30).filter(lambda v: sum(v) > 0))
def test_hhi_bounds(values: list[float]) -> None:
    shares = np.asarray(values) / np.sum(values)
    h = hhi(shares)
    n = int(np.count_nonzero(shares))
    assert 1.0 / n - 1e-9 <= h <= 1.0 + 1e-9
    assert h <= top_n_share(shares, 1) + 1e-9  # Σ S² ≤ max S when Σ S = 1
