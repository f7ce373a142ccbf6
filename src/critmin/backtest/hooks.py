"""Historical export quotas as a policy hook: a cap relative to the trade of a reference window.

The scenario model's ``export_quota`` is in tonnes per year, on the scale of the world the data
give today; a quota of 2010 is known in the tonnes of 2010. What carries over is the quota's
size against the trade of its time: 30,258 t in 2010 against ~33 kt exported in 2009. The hook
records, in every draw, the mean flow on the quota's links over the ``reference`` window of the
shocked run (no shock acts there yet, so it is that draw's normal trade), and from the quota's
first period caps each link at ``share × that flow``. Caps and flows are recorded so
``quota_used`` can read how much of the quota was used.

It uses the engine's ``PolicyHook`` protocol (``before_period`` may lower ``inputs.cap``); the
baseline run has no hooks, so it stays the unrestricted market.
"""

from __future__ import annotations

import numpy as np

from critmin.backtest.case import RelativeQuota
from critmin.backtest.metrics import Quota
from critmin.engine.loop import EngineState, PeriodInputs, PeriodOutcome
from critmin.engine.shocks import _links
from critmin.scenario.model import Scenario
from critmin.world import Blocs, World

Array = np.ndarray


class RelativeQuotaHook:
    """Caps exports of one stage from one bloc at a share of their reference-window mean."""

    def __init__(self, quota: RelativeQuota, scenario: Scenario, world: World, blocs: Blocs,
                 n_draws: int) -> None:
        self.node = world.node(quota.commodity, quota.stage)
        self.exporter = blocs.index(quota.exporter)
        self.importers = tuple(blocs.index(b) for b in quota.importers) if quota.importers else (
            tuple(b for b in range(blocs.n_blocs) if b != self.exporter))
        # (P, 2) directed links exporter → importers, as the engine's own trade shocks mark them
        self.links = _links(blocs, quota.exporter, quota.importers)
        self.first_ref, self.last_ref = (scenario.index(r) for r in quota.reference)
        n_t = scenario.horizon
        self.share = np.full(n_t, np.nan)
        end = n_t - 1 if quota.end is None else scenario.index(quota.end)
        for point in sorted(quota.path, key=lambda pt: scenario.index(pt.at)):
            self.share[scenario.index(point.at):end + 1] = point.value
        self.share[end + 1:] = np.nan
        self.reference = np.zeros((n_draws, *self.links.shape))  # mean directed flow
        self.caps = np.full((n_draws, n_t), np.nan)  # total cap per period, t per period

    def before_period(self, inputs: PeriodInputs, state: EngineState) -> None:
        share = self.share[inputs.t]
        if np.isnan(share):
            return
        view = inputs.cap[:, self.node]  # (D, P, 2), a view: writing caps the market
        cap = share * self.reference
        view[:, self.links] = np.minimum(view[:, self.links], cap[:, self.links])
        self.caps[:, inputs.t] = cap[:, self.links].sum(axis=1)

    def after_period(self, outcome: PeriodOutcome, state: EngineState) -> None:
        if not self.first_ref <= outcome.t <= self.last_ref:
            return
        g = outcome.flow[:, self.node]  # (D, P) signed
        directed = np.stack([np.maximum(g, 0.0), np.maximum(-g, 0.0)], axis=-1)
        self.reference += directed / (self.last_ref - self.first_ref + 1)

    def record(self) -> Quota:
        """The caps imposed, for the ``quota_used`` metric."""
        return Quota(self.exporter, self.importers, self.caps)
