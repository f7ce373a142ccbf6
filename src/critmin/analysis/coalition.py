"""Coalition designer: which k countries to add to a group to raise its hold on world supply.

Shares come from the curated data (USGS production, latest edition, world-total denominator as
in :func:`critmin.metrics.shares.market_shares`); one *market* is a (commodity, stage, year).
A club's value in a market is, by ``objective``:

* ``share``: the club's share of world production;
* ``non-china``: its share of world production outside China (China's output leaves the
  denominator, and China never counts for the club);
* ``n-1``: the share it keeps if its largest supplier drops out (club share − largest member
  share), an N−1 test run on the club instead of on the world.

Markets are combined by ``aggregate``: the weighted ``mean`` (equal weights by default) or the
worst market (``min``). The choice of k countries is an integer program (linopy + HiGHS):
binary ``x_c``, ``Σ x_c = k``, the largest member share in ``n-1`` as a variable bounded below
by every chosen share, the worst market as a variable bounded above by every market. Greedy
(add the best single country k times) is computed beside it: with ``share``/``non-china`` and
``mean`` the objective is linear and greedy is optimal; with ``min`` or ``n-1`` it can fall
short, which is why the integer program exists. Every reported number is recomputed from the
selection by :meth:`CoalitionProblem.score`, so the solver's and greedy's answers are judged by
the same arithmetic.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Final, Literal

import numpy as np

from critmin.errors import CritminError

if TYPE_CHECKING:
    import pandas as pd

Objective = Literal["share", "non-china", "n-1"]
Aggregate = Literal["mean", "min"]
OBJECTIVES: Final = ("share", "non-china", "n-1")
AGGREGATES: Final = ("mean", "min")
CHINA: Final = "CHN"
#: Objective values closer than this are ties (broken by the weighted mean over markets).
TIE: Final = 1e-9
#: Largest number of subsets :func:`exhaustive` will enumerate.
EXHAUSTIVE_LIMIT: Final = 2_000_000


@dataclass(frozen=True)
class CoalitionProblem:
    """Shares of every country in every market, the group today, and who may join.

    ``shares`` is (markets, countries) as fractions of world production; ``weights`` sum to 1.
    """

    markets: tuple[str, ...]
    countries: tuple[str, ...]
    shares: np.ndarray
    members: tuple[str, ...]
    candidates: tuple[str, ...]
    weights: np.ndarray
    objective: Objective = "share"
    aggregate: Aggregate = "mean"
    other: np.ndarray | None = None  # (markets,) share of rows that are no country (OTH)

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise CritminError(f"unknown objective {self.objective!r}; allowed: "
                               f"{', '.join(OBJECTIVES)}")
        if self.aggregate not in AGGREGATES:
            raise CritminError(f"unknown aggregate {self.aggregate!r}; allowed: "
                               f"{', '.join(AGGREGATES)}")

    @property
    def effective(self) -> np.ndarray:
        """(markets, countries) shares as the objective counts them."""
        s = np.asarray(self.shares, dtype=float)
        if self.objective != "non-china" or CHINA not in self.countries:
            return s
        china = self.countries.index(CHINA)
        other = np.zeros(len(s)) if self.other is None else np.asarray(self.other, float)
        rest = s.sum(axis=1) - s[:, china] + other  # listed output outside China
        out = np.divide(s, rest[:, None], out=np.zeros_like(s), where=rest[:, None] > 0)
        out[:, china] = 0.0
        return out

    def club_mask(self, chosen: np.ndarray) -> np.ndarray:
        """(S, countries) membership of S clubs: members plus each row of ``chosen``
        ((S, candidates) booleans)."""
        chosen = np.atleast_2d(np.asarray(chosen, dtype=bool))
        col = {c: i for i, c in enumerate(self.countries)}
        mask = np.zeros((chosen.shape[0], len(self.countries)), dtype=bool)
        mask[:, [col[c] for c in self.members if c in col]] = True
        mask[:, [col[c] for c in self.candidates]] |= chosen
        return mask

    def market_values(self, chosen: np.ndarray) -> np.ndarray:
        """(S, markets) value of each club in each market."""
        mask = self.club_mask(chosen).astype(float)
        s = self.effective
        total = mask @ s.T
        if self.objective == "n-1":
            total = total - (mask[:, None, :] * s[None, :, :]).max(axis=2)
        return total

    def score(self, chosen: np.ndarray) -> np.ndarray:
        """(S,) the objective of each club: weighted mean or worst market."""
        values = self.market_values(chosen)
        if self.aggregate == "min":
            return values.min(axis=1)
        return values @ self.weights

    def mean(self, chosen: np.ndarray) -> np.ndarray:
        """(S,) weighted mean over markets: the tie-break among equal worst markets."""
        return self.market_values(chosen) @ self.weights

    def best(self, chosen: np.ndarray) -> int:
        """Row of ``chosen`` with the highest score, ties (within :data:`TIE`) broken by the
        weighted mean, then by order."""
        score = self.score(chosen)
        tied = score >= score.max() - TIE
        return int(np.argmax(np.where(tied, self.mean(chosen), -np.inf)))

    def selection(self, added: Sequence[str]) -> np.ndarray:
        """Boolean (candidates,) vector for a list of added countries."""
        unknown = sorted(set(added) - set(self.candidates))
        if unknown:
            raise CritminError(f"{unknown[0]} is not a candidate; allowed: "
                               f"{', '.join(self.candidates)}")
        return np.isin(np.array(self.candidates), list(added))


@dataclass(frozen=True)
class CoalitionDesign:
    """The group today, the integer program's additions and greedy's."""

    problem: CoalitionProblem
    k: int
    ip_added: tuple[str, ...]
    greedy_added: tuple[str, ...]

    def table(self) -> pd.DataFrame:
        """One row per answer (today, integer program, greedy): added countries, the objective,
        and the value in each market."""
        import pandas as pd

        p = self.problem
        rows = []
        for method, added in (("today", ()), ("integer program", self.ip_added),
                              ("greedy", self.greedy_added)):
            chosen = p.selection(added)[None]
            row: dict[str, object] = {"method": method, "added": ",".join(added),
                                      "objective": float(p.score(chosen)[0])}
            row.update(zip(p.markets, (float(v) for v in p.market_values(chosen)[0]),
                           strict=True))
            rows.append(row)
        return pd.DataFrame(rows)

    @property
    def ip_value(self) -> float:
        return float(self.problem.score(self.problem.selection(self.ip_added)[None])[0])

    @property
    def greedy_value(self) -> float:
        return float(self.problem.score(self.problem.selection(self.greedy_added)[None])[0])


# -- building a problem ------------------------------------------------------------------------


def build_problem(
    shares: pd.DataFrame,
    members: Sequence[str],
    *,
    exclude: Sequence[str] = (CHINA,),
    objective: Objective = "share",
    aggregate: Aggregate = "mean",
    weights: Mapping[str, float] | None = None,
) -> CoalitionProblem:
    """A problem from a share frame (columns commodity, stage, year, iso3, share; one row per
    country and market). Aggregate codes (OTH, WLD, …) are not countries and never join
    (OTH still counts in the non-China denominator);
    ``weights`` map a commodity or ``commodity/stage`` to a relative weight (default 1)."""
    from critmin.data.schema import AGGREGATES as AGGREGATE_CODES

    rows = shares[shares["share"].notna() & shares["iso3"].ne("WLD")]
    rows = rows.assign(market=rows["commodity"] + "/" + rows["stage"] + " "
                       + rows["year"].astype(str))
    aggregate_row = rows["iso3"].isin(list(AGGREGATE_CODES))
    frame = rows[~aggregate_row]
    if frame.empty:
        raise CritminError("no country shares in the chosen markets")
    firsts = frame.drop_duplicates("market")
    table = frame.pivot_table(index="market", columns="iso3", values="share", aggfunc="sum",
                              fill_value=0.0).reindex(firsts["market"])
    markets = tuple(str(m) for m in table.index)
    countries = tuple(str(c) for c in table.columns)
    s = table.to_numpy(float)
    other = (rows[aggregate_row].groupby("market")["share"].sum()
             .reindex(list(markets), fill_value=0.0).to_numpy(float))
    w = _weights(firsts, weights)
    banned = set(exclude) | set(members) | ({CHINA} if objective == "non-china" else set())
    useful = (s > 0).any(axis=0)
    candidates = tuple(c for c, ok in zip(countries, useful, strict=True)
                       if ok and c not in banned)
    return CoalitionProblem(markets, countries, s, tuple(sorted(set(members))), candidates, w,
                            objective, aggregate, other)


def _weights(rows: pd.DataFrame, weights: Mapping[str, float] | None) -> np.ndarray:
    """Normalised market weights from commodity or commodity/stage keys (default equal)."""
    keys = [(str(r.commodity), f"{r.commodity}/{r.stage}") for r in rows.itertuples()]
    given = dict(weights or {})
    known = {k for pair in keys for k in pair}
    unknown = sorted(set(given) - known)
    if unknown:
        raise CritminError(f"weight for {unknown[0]!r} matches no market; allowed: "
                           f"{', '.join(sorted(known))}")
    w = np.array([float(given.get(stage_key, given.get(commodity, 1.0)))
                  for commodity, stage_key in keys])
    if (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
        raise CritminError("weights must be finite, non-negative and not all zero")
    return w / w.sum()


def market_shares_for(commodities: Sequence[str], stage: str = "mine",
                      year: int | None = None) -> pd.DataFrame:
    """Country shares of world production per (commodity, stage, year) from the curated data.

    Items of ``commodities`` may name their own stage (``gallium:primary``); ``year`` defaults
    to each market's latest year with values.
    """
    import pandas as pd

    import critmin.data as data
    from critmin.data.store import stages
    from critmin.metrics.shares import market_shares

    frames = []
    for item in commodities:
        name, _, own_stage = item.partition(":")
        slug = data.resolve_commodity(name.strip())
        use_stage = (own_stage or stage).strip()
        facts = data.facts(slug, stage=use_stage, statistic="production")
        valued = facts[facts["value"].notna() & facts["iso3"].ne("WLD")]
        if valued.empty:
            with_data = [s for s in stages(slug)
                         if data.facts(slug, stage=s)["value"].notna().any()]
            raise CritminError(f"no production data for {slug} at stage {use_stage!r}; stages "
                               f"with data: {', '.join(with_data) or 'none'} (write "
                               f"{slug}:STAGE)")
        use_year = int(valued["year"].max()) if year is None else int(year)
        rows = facts[facts["year"] == use_year]
        if not rows["value"].notna().any():
            years = sorted(set(valued["year"].astype(int)))
            raise CritminError(f"no {slug}/{use_stage} production in {use_year}; years with "
                               f"data: {', '.join(map(str, years))}")
        frames.append(market_shares(rows))
    return pd.concat(frames, ignore_index=True)


def design_coalition(
    commodities: Sequence[str],
    k: int,
    *,
    stage: str = "mine",
    group: str = "trade-club",
    on: date | str | None = None,
    year: int | None = None,
    exclude: Sequence[str] = (CHINA,),
    objective: Objective = "share",
    aggregate: Aggregate = "mean",
    weights: Mapping[str, float] | None = None,
) -> CoalitionDesign:
    """Which ``k`` countries to add to ``group`` (members on ``on``, today by default)."""
    import critmin.data as data

    if not commodities:
        raise CritminError("name at least one commodity (e.g. rare-earths,cobalt)")
    members = data.group_members(group, on=on)
    problem = build_problem(market_shares_for(commodities, stage, year), members,
                            exclude=[c.strip().upper() for c in exclude if c.strip()],
                            objective=objective, aggregate=aggregate, weights=weights)
    return solve(problem, k)


# -- solving ------------------------------------------------------------------------------------


def solve(problem: CoalitionProblem, k: int) -> CoalitionDesign:
    """Integer program and greedy answers for adding ``k`` countries."""
    _check_k(problem, k)
    return CoalitionDesign(problem, k, integer_program(problem, k), greedy(problem, k))


def _check_k(problem: CoalitionProblem, k: int) -> None:
    n = len(problem.candidates)
    if k < 1:
        raise CritminError(f"--add must be at least 1 (got {k})")
    if k > n:
        raise CritminError(f"only {n} countries outside the group (and the exclusions) produce "
                           f"in these markets; ask for --add {n} or fewer")


def greedy(problem: CoalitionProblem, k: int) -> tuple[str, ...]:
    """Add, k times, the country that raises the objective most (ties: the weighted mean,
    then candidate order)."""
    _check_k(problem, k)
    n = len(problem.candidates)
    chosen = np.zeros(n, dtype=bool)
    for _ in range(k):
        free = np.flatnonzero(~chosen)
        trial = np.repeat(chosen[None], len(free), axis=0)
        trial[np.arange(len(free)), free] = True
        chosen[free[problem.best(trial)]] = True
    return _names(problem, chosen)


def exhaustive(problem: CoalitionProblem, k: int) -> tuple[str, ...]:
    """The best k-subset by enumeration (a check for small problems)."""
    _check_k(problem, k)
    n = len(problem.candidates)
    if math.comb(n, k) > EXHAUSTIVE_LIMIT:
        raise CritminError(f"{math.comb(n, k):,} subsets is too many to enumerate; use the "
                           "integer program")
    subsets = np.array(list(itertools.combinations(range(n), k)), dtype=np.intp)
    chosen = np.zeros((len(subsets), n), dtype=bool)
    chosen[np.arange(len(subsets))[:, None], subsets] = True
    return _names(problem, chosen[problem.best(chosen)])


def integer_program(problem: CoalitionProblem, k: int) -> tuple[str, ...]:
    """The optimal k-subset: a mixed-integer program solved by HiGHS through linopy."""
    import linopy
    import pandas as pd
    import xarray as xr

    _check_k(problem, k)
    s = problem.effective
    col = {c: i for i, c in enumerate(problem.countries)}
    cand = [col[c] for c in problem.candidates]
    mem = [col[c] for c in problem.members if c in col]
    market_index = pd.Index(range(len(problem.markets)), name="market")
    country_index = pd.Index(list(problem.candidates), name="country")
    s_cand = xr.DataArray(s[:, cand], coords=[market_index, country_index])
    base = xr.DataArray(s[:, mem].sum(axis=1), coords=[market_index])

    bound = float(s.sum(axis=1).max()) + 1.0  # shares of a rounded world total may pass 1
    model = linopy.Model()
    x = model.add_variables(binary=True, coords=[country_index], name="add")
    model.add_constraints(x.sum() == k, name="k")
    gain = (s_cand * x).sum("country")  # the members' own shares are a constant: ``base``
    if problem.objective == "n-1":
        floor = s[:, mem].max(axis=1) if mem else np.zeros(len(problem.markets))
        largest = model.add_variables(lower=xr.DataArray(floor, coords=[market_index]),
                                      upper=bound, coords=[market_index], name="largest")
        model.add_constraints(largest - s_cand * x >= 0, name="largest_bound")
        gain = gain - largest
    weights = xr.DataArray(problem.weights, coords=[market_index])
    if problem.aggregate == "min":  # max the worst market, then the mean among ties
        worst = model.add_variables(lower=-bound, upper=bound, name="worst")
        model.add_constraints(worst - gain <= base, name="worst_bound")
        model.add_objective(1.0 * worst, sense="max")
        _solve(model)
        level = float(worst.solution.values) - TIE
        model.add_constraints(gain >= level - base, name="keep_worst")
        model.add_objective((weights * gain).sum(), sense="max", overwrite=True)
    else:
        model.add_objective((weights * gain).sum(), sense="max")
    _solve(model)
    chosen = np.asarray(x.solution.values) > 0.5
    return _names(problem, chosen)


def _solve(model: object) -> None:
    with _stdout_to_stderr():  # HiGHS prints its banner on the C-level stdout
        status, condition = model.solve(solver_name="highs",  # type: ignore[attr-defined]
                                        io_api="direct", output_flag=False, mip_rel_gap=0.0)
    if status != "ok":
        raise CritminError(f"the integer program did not solve ({status}: {condition})")


def _names(problem: CoalitionProblem, chosen: np.ndarray) -> tuple[str, ...]:
    return tuple(c for c, on in zip(problem.candidates, chosen, strict=True) if on)


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send file descriptor 1 to stderr for the duration (keeps JSON on stdout clean)."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no real stdout (embedded interpreters): nothing to protect
        yield
        return
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
