"""The scalar reference solver: the same equilibrium, one problem at a time, with scipy.

It shares only the model equations (:func:`critmin.engine.kernels.respond`) with the vectorised
solver and finds the equilibrium another way, so the two can check each other:

1. The spatial equilibrium is the minimum of a convex function of bloc log prices (the dual of
   the trade problem): ``Σ_b Φ_b(y_b) + Σ_links cap · max(0, y_j − y_i − w)`` with
   ``Φ_b' = supply − demand − build`` of bloc ``b`` and hard constraints ``y_j − y_i ≤ w`` on
   uncapped links. Solved with ``scipy.optimize.minimize`` (SLSQP, slack variables for the kinks,
   ``Φ`` by ``scipy.integrate.quad``).
2. The optimum tells which links are shut, price-linked or capped up to a small ambiguity; each
   candidate regime is solved exactly with ``scipy.optimize.brentq`` per component, flows from the
   balances by least squares, and the first candidate that meets every equilibrium condition wins.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import integrate, optimize

from critmin.engine import network
from critmin.engine.kernels import Array, MarketArrays, region_volume, respond
from critmin.errors import CritminError

#: Width of the band (log price) within which the optimum leaves a link's state ambiguous.
AMBIGUITY = 1e-4
CHECK_TOL = 1e-8


@dataclass(frozen=True)
class ScalarSolution:
    """Equilibrium of one problem."""

    log_price: Array  # (B,)
    flow: Array  # (P,)
    state: Array  # (P,)


class _Problem:
    """One row of a :class:`MarketArrays` with scalar bloc functions."""

    def __init__(self, m: MarketArrays, row: int) -> None:
        self.m = m.take(np.array([row]))
        self.n_blocs = m.n_blocs
        self.pi, self.pj = network.pairs(m.n_blocs)
        self.w = self.m.wedge[0]  # (P, 2)
        self.cap = self.m.cap[0]
        self.y0 = float(self.m.log_p0.ravel()[0])
        extra = self.m.extra_demand[0] - self.m.extra_supply[0]
        self.extra = np.bincount(m.bloc_of, weights=extra, minlength=m.n_blocs)
        vol = np.bincount(m.bloc_of, weights=region_volume(self.m)[0], minlength=m.n_blocs)
        self.volume = vol
        self.scale = float(vol.sum()) or 1.0
        self._phi_known: list[dict[float, float]] = [{self.y0: 0.0} for _ in range(m.n_blocs)]

    def excess(self, b: int, y: float) -> float:
        """Excess demand of bloc ``b`` at log price ``y`` (t per period)."""
        prices = np.full((1, len(self.m.bloc_of)), y)
        resp = respond(self.m, prices)
        mask = self.m.bloc_of == b
        return float(resp.excess[0, mask].sum() + self.extra[b])

    def phi(self, b: int, y: float) -> float:
        """∫ from p0 to y of (supply − demand − build) of bloc b: convex, Φ' = −excess.

        Integrated from the nearest point already known, so that the optimiser's nearby
        evaluations cost short integrals.
        """
        known = self._phi_known[b]
        start = min(known, key=lambda k: abs(k - y))
        part, _ = integrate.quad(lambda s: -self.excess(b, s), start, y, limit=200,
                                 epsabs=1e-13 * self.scale, epsrel=1e-12)
        known[float(y)] = known[start] + part
        return known[float(y)]


def clear_one(m: MarketArrays, row: int) -> ScalarSolution:
    """Equilibrium of problem ``row`` of ``m`` (raises CritminError if none is found)."""
    prob = _Problem(m, row)
    with warnings.catch_warnings():  # quad's round-off notes at kinks of the supply curve
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        y_dual = _dual_optimum(prob)
    for states in _candidate_regimes(prob, y_dual):
        sol = _solve_regime_exact(prob, states, y_dual)
        if sol is not None and _satisfies_equilibrium(prob, sol):
            return sol
    raise CritminError(f"reference solver: no equilibrium found for problem {row}")


def _dual_optimum(prob: _Problem) -> Array:
    n_b, n_p = prob.n_blocs, len(prob.pi)
    capped = [(p, d) for p in range(n_p) for d in (0, 1) if np.isfinite(prob.cap[p, d])]
    n_s = len(capped)

    def direction(p: int, d: int, x: Array) -> float:  # price gap minus wedge for p in dir d
        gap = x[prob.pj[p]] - x[prob.pi[p]]
        return (gap if d == 0 else -gap) - prob.w[p, d]

    def objective(x: Array) -> float:
        val = sum(prob.phi(b, x[b]) for b in range(n_b))
        val += sum(prob.cap[p, d] * x[n_b + k] for k, (p, d) in enumerate(capped))
        return val / prob.scale

    def gradient(x: Array) -> Array:
        grad = np.zeros_like(x)
        for b in range(n_b):
            grad[b] = -prob.excess(b, x[b])
        for k, (p, d) in enumerate(capped):
            grad[n_b + k] = prob.cap[p, d]
        return grad / prob.scale

    constraints = []
    for p in range(n_p):
        for d in (0, 1):
            if np.isfinite(prob.cap[p, d]):
                k = n_b + capped.index((p, d))
                constraints.append({"type": "ineq",
                                    "fun": lambda x, p=p, d=d, k=k: x[k] - direction(p, d, x)})
            else:
                constraints.append({"type": "ineq",
                                    "fun": lambda x, p=p, d=d: -direction(p, d, x)})
    x0 = np.concatenate([np.full(n_b, prob.y0), np.zeros(n_s)])
    bounds = [(prob.y0 - 300, prob.y0 + 300)] * n_b + [(0.0, None)] * n_s
    res = optimize.minimize(objective, x0, jac=gradient, bounds=bounds, constraints=constraints,
                            method="SLSQP", options={"ftol": 1e-15, "maxiter": 1000})
    return np.asarray(res.x[:n_b])


def _candidate_regimes(prob: _Problem, y: Array) -> list[tuple[int, ...]]:
    options: list[list[int]] = []
    for p in range(len(prob.pi)):
        gap = y[prob.pj[p]] - y[prob.pi[p]]
        w_pos, w_neg = prob.w[p]
        c_pos, c_neg = prob.cap[p]
        opts: list[int] = []
        if abs(gap - w_pos) <= AMBIGUITY:
            opts += [network.POS_INT] if c_pos > 0 else []
            opts += [network.POS_CAP] if np.isfinite(c_pos) and c_pos > 0 else []
            opts += [network.ZERO]
        elif gap > w_pos:
            opts += [network.POS_CAP] if np.isfinite(c_pos) and c_pos > 0 else [network.ZERO]
        if abs(-gap - w_neg) <= AMBIGUITY:
            opts += [network.NEG_INT] if c_neg > 0 else []
            opts += [network.NEG_CAP] if np.isfinite(c_neg) and c_neg > 0 else []
            opts += [network.ZERO]
        elif -gap > w_neg:
            opts += [network.NEG_CAP] if np.isfinite(c_neg) and c_neg > 0 else [network.ZERO]
        if not opts:
            opts = [network.ZERO]
        options.append(list(dict.fromkeys(opts)))
    return list(itertools.product(*options))


def _solve_regime_exact(prob: _Problem, states: tuple[int, ...], y_hint: Array
                        ) -> ScalarSolution | None:
    n_b = prob.n_blocs
    parent = list(range(n_b))

    def find(a: int) -> int:
        while parent[a] != a:
            a = parent[a]
        return a

    links = [p for p, s in enumerate(states) if s in (network.POS_INT, network.NEG_INT)]
    offset = {b: 0.0 for b in range(n_b)}
    for p in links:  # union by attaching j's tree below i's, shifting offsets
        i, j = int(prob.pi[p]), int(prob.pj[p])
        shift = prob.w[p, 0] if states[p] == network.POS_INT else -prob.w[p, 1]
        ri, rj = find(i), find(j)
        if ri == rj:
            continue  # a cycle: its tie is checked by _satisfies_equilibrium
        # want y_j - y_i = shift; y_b = y_root + offset[b]
        delta = offset[i] + shift - offset[j]
        for b in range(n_b):
            if find(b) == rj:
                offset[b] += delta
        parent[rj] = ri
    fixed = np.zeros(len(states))
    for p, s in enumerate(states):
        if s == network.POS_CAP:
            fixed[p] = prob.cap[p, 0]
        elif s == network.NEG_CAP:
            fixed[p] = -prob.cap[p, 1]
    inc = network.incidence(n_b)
    fixed_nx = inc @ fixed
    y = np.zeros(n_b)
    for root in {find(b) for b in range(n_b)}:
        members = [b for b in range(n_b) if find(b) == root]

        def balance(z: float, members: list[int] = members) -> float:
            return sum(prob.excess(b, z + offset[b]) + fixed_nx[b] for b in members)

        z_root = _root(balance, float(y_hint[root] - offset[root]), prob.y0,
                       1e-13 * sum(prob.volume[b] + abs(fixed_nx[b]) for b in members))
        if z_root is None:
            return None
        for b in members:
            y[b] = z_root + offset[b]
    flow = fixed.copy()
    if links:
        need = np.array([-(prob.excess(b, y[b]) + fixed_nx[b]) for b in range(n_b)])
        flow[links] = np.linalg.lstsq(inc[:, links], need, rcond=None)[0]
    return ScalarSolution(y, flow, np.array(states, dtype=np.int8))


def _root(fun, start: float, centre: float, tol: float) -> float | None:
    """Root of a decreasing function by bracketing from ``start`` and brentq."""
    f0 = fun(start)
    if abs(f0) <= tol:
        return start
    step = 0.5 if f0 > 0 else -0.5
    a, fa = start, f0
    for _ in range(60):
        b = float(np.clip(a + step, centre - 300, centre + 300))
        fb = fun(b)
        if fa * fb <= 0:
            lo, hi = sorted((a, b))
            return optimize.brentq(fun, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps,
                                   maxiter=500)
        if b in (centre - 300, centre + 300):
            return None
        a, fa, step = b, fb, step * 2
    return None


def _satisfies_equilibrium(prob: _Problem, sol: ScalarSolution) -> bool:
    y, g = sol.log_price, sol.flow
    inc = network.incidence(prob.n_blocs)
    for b in range(prob.n_blocs):  # balances
        if abs(prob.excess(b, y[b]) + inc[b] @ g) > 1e-9 * max(prob.volume[b], 1e-300):
            return False
    for p in range(len(prob.pi)):
        gap = y[prob.pj[p]] - y[prob.pi[p]]
        (w_pos, w_neg), (c_pos, c_neg) = prob.w[p], prob.cap[p]
        tol_g = 1e-9 * max(prob.volume[prob.pi[p]], prob.volume[prob.pj[p]])
        if g[p] > tol_g and (abs(gap - w_pos) > CHECK_TOL and not (gap > w_pos and
                                                                 abs(g[p] - c_pos) <= tol_g)):
            return False  # i→j flow needs the tie, or the cap with a larger gap
        if g[p] < -tol_g and (abs(-gap - w_neg) > CHECK_TOL and not (-gap > w_neg and
                                                                     abs(-g[p] - c_neg) <= tol_g)):
            return False
        if g[p] > c_pos + tol_g or -g[p] > c_neg + tol_g:
            return False
        if gap > w_pos + CHECK_TOL and g[p] < c_pos - tol_g:
            return False  # unexploited arbitrage i→j
        if -gap > w_neg + CHECK_TOL and -g[p] < c_neg - tol_g:
            return False
    return True
