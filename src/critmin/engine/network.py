"""Bloc pairs and trade *regimes*: which links are shut, price-linked or at their cap.

Trade between blocs runs over pairs ``p = (i, j), i < j`` with a signed flow ``g`` (``g > 0``:
i exports to j). Each pair is in one of five states; a combination of states (a regime) fixes the
structure of the equilibrium:

* ``NEG_CAP`` j→i at its cap, ``NEG_INT`` j→i below its cap (so ``y_i = y_j + w_ji``),
  ``ZERO`` no trade (prices inside the no-arbitrage band), ``POS_INT`` i→j below its cap
  (``y_j = y_i + w_ij``), ``POS_CAP`` i→j at its cap.

Blocs joined by interior (price-linked) pairs form a component with one free price; capped pairs
carry fixed flows. :func:`regime` turns a regime code into the small matrices the vectorised
solver needs; it is pure graph bookkeeping on at most four blocs, cached per code.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from itertools import combinations

import numpy as np

NEG_CAP, NEG_INT, ZERO, POS_INT, POS_CAP = 0, 1, 2, 3, 4
N_STATES = 5


@functools.lru_cache(maxsize=16)
def pairs(n_blocs: int) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays ``(i, j)`` of the bloc pairs in canonical order (i < j)."""
    idx = list(combinations(range(n_blocs), 2))
    i = np.array([a for a, _ in idx], dtype=np.intp)
    j = np.array([b for _, b in idx], dtype=np.intp)
    return i, j


@functools.lru_cache(maxsize=16)
def incidence(n_blocs: int) -> np.ndarray:
    """(B, P) matrix: net exports of each bloc = incidence @ signed pair flows."""
    i, j = pairs(n_blocs)
    inc = np.zeros((n_blocs, len(i)))
    inc[i, np.arange(len(i))] = 1.0
    inc[j, np.arange(len(i))] = -1.0
    return inc


@functools.lru_cache(maxsize=16)
def path_signs(n_blocs: int) -> np.ndarray:
    """Tree paths for every forest of price links: ``(2**P, B, B, P)`` int8.

    ``out[mask, s, t, p]`` is +1 if the path from bloc ``s`` to bloc ``t`` in the forest whose
    links are the bits of ``mask`` crosses pair ``p`` from its ``i`` to its ``j``, −1 if it
    crosses from ``j`` to ``i``, 0 if it does not use ``p`` (or ``s`` and ``t`` are not joined).
    Used for the cycle pivots of the regime iteration (a network-simplex step).
    """
    pi, pj = pairs(n_blocs)
    n_pairs = len(pi)
    out = np.zeros((2**n_pairs, n_blocs, n_blocs, n_pairs), dtype=np.int8)
    for mask in range(2**n_pairs):
        adj: dict[int, list[tuple[int, int, int]]] = {b: [] for b in range(n_blocs)}
        for p in range(n_pairs):
            if mask >> p & 1:
                adj[int(pi[p])].append((int(pj[p]), p, 1))
                adj[int(pj[p])].append((int(pi[p]), p, -1))
        for s in range(n_blocs):
            route = {s: np.zeros(n_pairs, dtype=np.int8)}
            queue = [s]
            while queue:
                a = queue.pop(0)
                for b, p, sign in adj[a]:
                    if b not in route:
                        route[b] = route[a].copy()
                        route[b][p] = sign
                        queue.append(b)
            for t, signs in route.items():
                out[mask, s, t] = signs
    return out


@functools.lru_cache(maxsize=16)
def component_labels(n_blocs: int) -> np.ndarray:
    """``(2**P, B)``: for every set of price links (bit mask), each bloc's component label
    (the smallest bloc index it is linked to)."""
    pi, pj = pairs(n_blocs)
    n_pairs = len(pi)
    out = np.zeros((2**n_pairs, n_blocs), dtype=np.intp)
    for mask in range(2**n_pairs):
        label = list(range(n_blocs))
        for _ in range(n_blocs):
            for p in range(n_pairs):
                if mask >> p & 1:
                    low = min(label[pi[p]], label[pj[p]])
                    label[pi[p]] = label[pj[p]] = low
        out[mask] = label
    return out


def encode(states: np.ndarray) -> np.ndarray:
    """Regime code of each row of pair states (n, P) → (n,) int64 (base-5 digits)."""
    weights = N_STATES ** np.arange(states.shape[-1], dtype=np.int64)
    return states.astype(np.int64) @ weights


def decode(code: int, n_pairs: int) -> np.ndarray:
    """Pair states of one regime code."""
    return np.array([(code // N_STATES**p) % N_STATES for p in range(n_pairs)], dtype=np.int8)


@dataclass(frozen=True)
class Regime:
    """Matrices of one regime on ``B`` blocs with ``K`` components.

    ``y = z @ comp.T + w_pos @ off_pos.T + w_neg @ off_neg.T`` gives bloc log prices from the
    component prices ``z``; fixed flows are ``cap_pos * fix_pos - cap_neg * fix_neg``; interior
    flows are ``(-(excess + fixed net exports)) @ flow_map.T`` on the pairs ``interior``.
    """

    comp: np.ndarray  # (B, K) one-hot membership
    roots: np.ndarray  # (K,) root bloc of each component
    off_pos: np.ndarray  # (B, P) coefficient of each pair's i→j wedge in the bloc offset
    off_neg: np.ndarray  # (B, P) coefficient of each pair's j→i wedge
    fix_pos: np.ndarray  # (P,) bool: i→j at cap
    fix_neg: np.ndarray  # (P,) bool: j→i at cap
    interior: np.ndarray  # (P_int,) pair indices with a price link
    flow_map: np.ndarray  # (P_int, B) pseudo-inverse of the interior incidence


@functools.lru_cache(maxsize=4096)
def regime(n_blocs: int, code: int) -> Regime:
    """The structure of regime ``code`` (see module doc): components, offsets, flow recovery."""
    pi, pj = pairs(n_blocs)
    n_pairs = len(pi)
    states = decode(code, n_pairs)
    interior = np.flatnonzero((states == POS_INT) | (states == NEG_INT))
    # adjacency of the price links: (neighbour, pair, direction of travel)
    adj: dict[int, list[tuple[int, int, int]]] = {b: [] for b in range(n_blocs)}
    for q in interior.tolist():
        adj[int(pi[q])].append((int(pj[q]), q, +1))
        adj[int(pj[q])].append((int(pi[q]), q, -1))
    comp_of = -np.ones(n_blocs, dtype=np.intp)
    off_pos = np.zeros((n_blocs, n_pairs))
    off_neg = np.zeros((n_blocs, n_pairs))
    roots: list[int] = []
    for root in range(n_blocs):  # breadth-first spanning forest; at most four blocs
        if comp_of[root] >= 0:
            continue
        k = len(roots)
        roots.append(root)
        comp_of[root] = k
        queue = [root]
        while queue:
            a = queue.pop(0)
            for b, p, travel in adj[a]:
                if comp_of[b] >= 0:
                    continue  # a cycle edge: its price tie is checked after solving
                comp_of[b] = k
                off_pos[b], off_neg[b] = off_pos[a], off_neg[a]
                if states[p] == POS_INT:  # y_j = y_i + w_pos
                    off_pos[b, p] += 1.0 if travel > 0 else -1.0
                else:  # y_i = y_j + w_neg
                    off_neg[b, p] += -1.0 if travel > 0 else 1.0
                queue.append(b)
    comp = np.zeros((n_blocs, len(roots)))
    comp[np.arange(n_blocs), comp_of] = 1.0
    inc_int = incidence(n_blocs)[:, interior]
    flow_map = np.linalg.pinv(inc_int) if len(interior) else np.zeros((0, n_blocs))
    return Regime(
        comp=comp,
        roots=np.array(roots, dtype=np.intp),
        off_pos=off_pos,
        off_neg=off_neg,
        fix_pos=states == POS_CAP,
        fix_neg=states == NEG_CAP,
        interior=interior,
        flow_map=flow_map,
    )


@dataclass(frozen=True)
class RegimeTables:
    """Several regimes stacked for the compiled solver: ``U`` regimes on ``B`` blocs.

    Row ``u`` describes regime ``codes[u]`` in the form the per-problem kernel reads: each
    bloc's component (components numbered from the smallest bloc up, so a component's root is
    its first bloc), the wedge coefficients of the offsets, the capped directions, and the flow
    recovery with a zero row for every pair that carries no price link.
    """

    comp_of: np.ndarray  # (U, B) component of each bloc
    n_comp: np.ndarray  # (U,)
    off_pos: np.ndarray  # (U, B, P)
    off_neg: np.ndarray  # (U, B, P)
    fix_pos: np.ndarray  # (U, P) bool
    fix_neg: np.ndarray  # (U, P) bool
    flow_map: np.ndarray  # (U, P, B)


@functools.lru_cache(maxsize=4096)
def _packed(n_blocs: int, code: int) -> tuple[np.ndarray, ...]:
    reg = regime(n_blocs, code)
    flow = np.zeros((len(pairs(n_blocs)[0]), n_blocs))
    flow[reg.interior] = reg.flow_map
    return (np.argmax(reg.comp, axis=1), np.array(reg.comp.shape[1]), reg.off_pos, reg.off_neg,
            reg.fix_pos, reg.fix_neg, flow)


def tables(n_blocs: int, codes: np.ndarray) -> RegimeTables:
    """The regimes ``codes`` (distinct regime codes) stacked (see :class:`RegimeTables`)."""
    parts = [_packed(n_blocs, int(c)) for c in codes]
    return RegimeTables(*(np.ascontiguousarray(np.stack(column)) for column in zip(*parts,
                                                                                   strict=True)))


def index_codes(codes: np.ndarray, n_pairs: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct regime codes and each row's position among them, without sorting the rows
    when the code space is small (a presence table over all 5**P codes)."""
    size = N_STATES**n_pairs
    if size > 1 << 16:
        distinct, which = np.unique(codes, return_inverse=True)
        return distinct, which.ravel()
    present = np.zeros(size, dtype=bool)
    present[codes] = True
    distinct = np.flatnonzero(present)
    position = np.empty(size, dtype=np.intp)
    position[distinct] = np.arange(len(distinct))
    return distinct, position[codes]
