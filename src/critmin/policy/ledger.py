"""The fiscal ledger: every dollar a policy tool spends or takes in, per holder, period and draw.

Each tool books its flows under a *holder* (the agency, fund or club that pays or receives)
into one of a fixed set of categories, so that tools compare on the same terms:

* **outlays** — purchases, storage, interest, payouts (floors), grants, loans disbursed,
  subsidies (recycling), research;
* **revenue** — sales, fees, receipts (a contract for difference paying back), tariff revenue,
  loan repayments received;
* **funding** — where the money comes from: appropriation (own budget, or the treasury paying as
  it goes), private capital, loan drawn, top-up (the treasury covering carrying costs a fund
  could not meet); and **loan repaid** going back.

Net fiscal cost = outlays − revenue (financing flows are neither). A holder's cash is funding −
loan repaid − outlays + revenue, period by period; :meth:`Ledger.check` verifies that no funded
holder's cash ever goes below zero, which is what "never spends beyond its budget plus
financing" means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import numpy as np

from critmin.errors import CritminError

if TYPE_CHECKING:
    import pandas as pd

Array = np.ndarray

OUTLAYS: Final = ("purchases", "storage", "interest", "payouts", "grants", "loans_disbursed",
                  "subsidies", "research")
REVENUE: Final = ("sales", "fees", "receipts", "tariff_revenue", "loan_repayments")
FUNDING: Final = ("appropriation", "private_capital", "loan_drawn", "topup")
REPAID: Final = ("loan_repaid",)
CATEGORIES: Final = (*OUTLAYS, *REVENUE, *FUNDING, *REPAID)
#: Relative tolerance of the balance checks (cash is a cumulative sum of floats).
TOLERANCE: Final = 1e-9


@dataclass
class Ledger:
    """Flows in USD per (holder, category): arrays (draws, periods)."""

    n_draws: int
    labels: list[str]
    flows: dict[tuple[str, str], Array] = field(default_factory=dict)
    funded: set[str] = field(default_factory=set)  # holders whose cash must stay ≥ 0

    @property
    def holders(self) -> list[str]:
        return list(dict.fromkeys(h for h, _ in self.flows))

    def book(self, holder: str, category: str, t: int, amount: Array | float) -> None:
        """Add ``amount`` (USD, per draw, ≥ 0) to a category in period ``t``."""
        if category not in CATEGORIES:
            raise CritminError(f"unknown ledger category {category!r}; allowed: "
                               f"{', '.join(CATEGORIES)}")
        value = np.broadcast_to(np.asarray(amount, float), (self.n_draws,))
        if (value < -TOLERANCE * np.maximum(1.0, np.abs(value))).any():
            raise ValueError(f"{holder}/{category}: negative booking {value.min():g}")
        key = (holder, category)
        if key not in self.flows and not value.any():
            return  # nothing to book: keep the ledger to categories in use
        if key not in self.flows:
            self.flows[key] = np.zeros((self.n_draws, len(self.labels)))
        self.flows[key][:, t] += np.maximum(value, 0.0)

    def total(self, holder: str, categories: tuple[str, ...]) -> Array:
        """Sum of some categories of one holder (draws, periods)."""
        out = np.zeros((self.n_draws, len(self.labels)))
        for c in categories:
            if (holder, c) in self.flows:
                out += self.flows[(holder, c)]
        return out

    def net_cost(self, holder: str | None = None) -> Array:
        """Outlays − revenue per draw and period (all holders when ``holder`` is None)."""
        holders = self.holders if holder is None else [holder]
        out = np.zeros((self.n_draws, len(self.labels)))
        for h in holders:
            out += self.total(h, OUTLAYS) - self.total(h, REVENUE)
        return out

    def cash(self, holder: str) -> Array:
        """End-of-period cash of a holder: cumulative funding − repaid − outlays + revenue."""
        flow = (self.total(holder, FUNDING) - self.total(holder, REPAID)
                - self.total(holder, OUTLAYS) + self.total(holder, REVENUE))
        return np.cumsum(flow, axis=1)

    def check(self) -> None:
        """Raise if a funded holder's cash goes below zero (it spent money it did not have)."""
        for h in self.funded:
            cash = self.cash(h)
            scale = np.maximum(1.0, np.cumsum(self.total(h, (*FUNDING, *REVENUE)), axis=1))
            if (cash < -TOLERANCE * scale).any():
                d, t = (int(k) for k in np.argwhere(cash < -TOLERANCE * scale)[0])
                raise CritminError(f"ledger of {h!r}: cash {cash[d, t]:,.0f} USD below zero in "
                                   f"{self.labels[t]} (draw {d})")

    def frame(self, per_draw: bool = False) -> pd.DataFrame:
        """Tidy rows: holder, category, kind (outlay/revenue/funding/repaid), time, usd (mean
        over draws, or one row per draw with ``per_draw``)."""
        import pandas as pd

        kinds = {**dict.fromkeys(OUTLAYS, "outlay"), **dict.fromkeys(REVENUE, "revenue"),
                 **dict.fromkeys(FUNDING, "funding"), **dict.fromkeys(REPAID, "repaid")}
        parts = []
        for (h, c), values in self.flows.items():
            if per_draw:
                d, t = np.meshgrid(np.arange(self.n_draws), np.arange(len(self.labels)),
                                   indexing="ij")
                parts.append(pd.DataFrame({"holder": h, "category": c, "kind": kinds[c],
                                           "draw": d.ravel(),
                                           "time": np.asarray(self.labels)[t.ravel()],
                                           "usd": values.ravel()}))
            else:
                parts.append(pd.DataFrame({"holder": h, "category": c, "kind": kinds[c],
                                           "time": self.labels, "usd": values.mean(axis=0)}))
        columns = ["holder", "category", "kind", *(["draw"] if per_draw else []), "time", "usd"]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)

    def summary(self) -> pd.DataFrame:
        """One row per holder: outlays, revenue, net cost, funding drawn, cash at the end
        (USD, means over draws)."""
        import pandas as pd

        rows = []
        for h in self.holders:
            rows.append({
                "holder": h,
                "outlays_usd": float(self.total(h, OUTLAYS).sum(axis=1).mean()),
                "revenue_usd": float(self.total(h, REVENUE).sum(axis=1).mean()),
                "net_cost_usd": float(self.net_cost(h).sum(axis=1).mean()),
                "funding_usd": float(self.total(h, FUNDING).sum(axis=1).mean()),
                "loan_repaid_usd": float(self.total(h, REPAID).sum(axis=1).mean()),
                "cash_end_usd": float(self.cash(h)[:, -1].mean()),
            })
        return pd.DataFrame(rows, columns=["holder", "outlays_usd", "revenue_usd",
                                           "net_cost_usd", "funding_usd", "loan_repaid_usd",
                                           "cash_end_usd"])


@dataclass
class Fund:
    """Money a funded holder may draw, in order: own budget, private capital, loan.

    Outflows are paid from cash first; what cash lacks is drawn from the sources in that order
    (the loan last, so interest runs only on what is needed). All arrays are per draw.
    """

    holder: str
    own: Array  # undrawn own budget
    private: Array
    loan: Array  # undrawn loan
    cash: Array
    loan_balance: Array  # drawn and not repaid

    @classmethod
    def open(cls, holder: str, n: int, own: float | Array, private: float | Array,
             loan: float | Array) -> Fund:
        def arr(v: float | Array) -> Array:
            return np.broadcast_to(np.asarray(v, float), (n,)).copy()
        return cls(holder, arr(own), arr(private), arr(loan), np.zeros(n), np.zeros(n))

    @property
    def available(self) -> Array:
        """Cash plus everything still undrawn."""
        return self.cash + self.own + self.private + self.loan

    def pay(self, ledger: Ledger, t: int, amount: Array) -> Array:
        """Draw what ``amount`` needs beyond cash (never more than available) and take it out
        of cash; returns the part that could not be covered."""
        need = np.maximum(amount - self.cash, 0.0)
        for source, category in ((self.own, "appropriation"), (self.private, "private_capital"),
                                 (self.loan, "loan_drawn")):
            take = np.minimum(need, source)
            if take.any():
                ledger.book(self.holder, category, t, take)
                source -= take
                self.cash += take
                need -= take
                if category == "loan_drawn":
                    self.loan_balance += take
        paid = np.minimum(amount, self.cash)
        self.cash -= paid
        return amount - paid

    def receive(self, amount: Array) -> None:
        self.cash += amount
