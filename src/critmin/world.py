"""World: the labelled arrays the engine runs on, built from the curated data and the registry.

A world is a set of chains (:data:`critmin.engine.chains.CHAINS`) over regions. Each
(commodity, stage) is a *node*; regions are countries with at least ``threshold`` of any stage
of a chosen chain (production, capacity share or demand share), plus any country a scenario
names, plus ``ROW`` for the rest and demand-only pseudo-regions for registry blocs such as
``EU27``. Where numbers come from:

* first-stage production by country: ``critmin.data.facts`` (USGS, latest edition, latest year);
  withheld or unavailable values count as zero and are listed in :attr:`World.notes`;
* capacity where the data publish it (gallium): installed capacity above what reference output
  needs starts in care and maintenance, restartable when prices pay;
* later stages: upstream output × ``stage_yield``, split by the registry's ``capacity_share``;
* by-products: gallium from its own data, its capacity following alumina output by country;
  germanium (no country data) = ``byproduct_recovery`` × world zinc output × ``capacity_share``;
* final demand at the last stage: world reference output split by ``demand_share``;
* reference prices: the USGS salient price series of the stage where one exists
  (:data:`PRICE_SERIES`), else the central value of the registry's ``price_ref`` row. The
  reference price is a fixed property of the world, not a drawn parameter: the market model
  works in multiples of it (supply and demand curves in ``p/p0``, incentive, cash-cost and
  choke prices as multiples), so a drawn level would only relabel the USD axis of every draw.
  The ``price_ref`` range documents how uncertain the level is for what is priced in USD
  (policy strikes and budgets, fiscal costs).

Behavioural parameters stay as registry row positions per (node, region), so Monte Carlo draws
of the registry map onto arrays without any lookup in the engine's hot path.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from critmin.engine.chains import CHAINS, Chain
from critmin.errors import CritminError, UnknownNameError

if TYPE_CHECKING:
    import pandas as pd

    from critmin.params import Registry
    from critmin.scenario.model import Scenario

log = logging.getLogger(__name__)

ROW: Final = "ROW"
REST: Final = "rest"

#: USGS salient price series per (commodity, stage): a substring of the ``detail`` column.
PRICE_SERIES: Final[dict[tuple[str, str], str]] = {
    ("rare-earths", "separated"): "Neodymium-praseodymium (NdPr) oxide",
    ("lithium", "chemical"): "battery-grade lithium carbonate",
    ("cobalt", "refined"): "London Metal Exchange (LME), cash",
    ("nickel", "refined"): "London Metal Exchange (LME), cash: Dollars per metric ton",
    ("graphite", "mine"): "Flake",
    ("gallium", "primary"): "average unit value of imports",
    ("germanium", "refined"): "Germanium metal",
}


@dataclass(frozen=True)
class Assumption:
    """An engine parameter the registry does not carry (yet): value, range, why."""

    value: float
    low: float
    high: float
    unit: str
    note: str
    source: str = "assumption"


#: Parameters the engine needs beyond the registry's vocabulary. Used only while the registry has
#: no row of that name (then its rows win, drawn like any other); every run lists the ones it
#: used (``World.notes``).
ENGINE_ASSUMPTIONS: Final[dict[str, Assumption]] = {}

#: Parameters read per (node, region) and whether every node must have them.
NODE_PARAMETERS: Final[dict[str, bool]] = {
    "price_expectation_weight": True,
    "supply_elasticity": True,
    "demand_elasticity": True,
    "utilisation_ref": True,
    "inventory_cover_months": True,
    "inventory_adjust_rate": True,
    "inventory_price_sensitivity": True,
    "announce_cover_uplift": True,
    "substitution_max_rate": True,
    "substitution_price_elasticity": True,
    "substitution_cap": True,
    "lead_time_years": True,
    "restart_lead_time_years": True,
    "ramp_up_years": True,
    "ramp_achievement": True,
    "incentive_price_multiple": True,
    "cash_cost_multiple": True,
    "closure_quarters": True,
    "capacity_growth_max": True,
    "demand_growth": True,
    "transport_wedge": True,
    "leakage_share": True,
    "choke_price_multiple": True,
    "choke_taper_ratio": True,
    "stage_yield": False,
    "byproduct_recovery": False,
    "value_added_per_t": False,
    "downstream_intensity": False,
}
SHARE_PARAMETERS: Final = ("capacity_share", "demand_share")


@dataclass(frozen=True)
class Node:
    """One (commodity, stage) market."""

    commodity: str
    stage: str
    level: int  # position in its chain (0 = first stage)
    upstream: int  # index of the upstream node, −1 for a first stage
    unit: str
    basis: str
    byproduct: bool = False

    @property
    def label(self) -> str:
        return f"{self.commodity}/{self.stage}"


@dataclass(frozen=True)
class Parameters:
    """Behavioural parameters resolved onto (node, region).

    ``rows[name]`` holds registry row positions (−1 where no row applies), ``central`` the
    values used for a single central run; ``shares`` map registry rows onto (node, region)
    cells (several rows fall into ROW) so drawn shares can be summed per cell.
    """

    rows: dict[str, np.ndarray]  # name → (N, R) int
    central: dict[str, np.ndarray]  # name → (N, R) float (NaN where none)
    fallback: dict[str, Assumption] = field(default_factory=dict)
    share_cells: dict[str, np.ndarray] = field(default_factory=dict)  # name → (k, 3) row,node,reg


@dataclass(frozen=True)
class World:
    """Labelled arrays of a set of chains over regions (annual tonnes, USD/t)."""

    chains: tuple[str, ...]
    nodes: tuple[Node, ...]
    regions: tuple[str, ...]
    base_year: dict[str, int]  # per chain
    production: np.ndarray  # (N, R) reference output of first stages (NaN for later stages)
    capacity: np.ndarray  # (N, R) installed capacity where the data give it, else NaN
    host_production: np.ndarray  # (N, R) host output by region for by-product nodes, else 0
    price_ref: np.ndarray  # (N,) USD per t of the node's product
    price_source: tuple[str, ...]
    parameters: Parameters
    registry: Registry | None = None
    data_edition: str = "hand-built"
    registry_version: str = "none"
    notes: tuple[str, ...] = ()

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def n_regions(self) -> int:
        return len(self.regions)

    @property
    def labels(self) -> list[str]:
        return [n.label for n in self.nodes]

    def node(self, commodity: str, stage: str) -> int:
        """Index of a node; UnknownNameError naming the known ones."""
        for i, n in enumerate(self.nodes):
            if n.commodity == commodity and n.stage == stage:
                return i
        raise UnknownNameError("stage", f"{commodity}/{stage}", self.labels)

    def region(self, code: str) -> int:
        """Index of a region (ISO3, pseudo-region or ROW)."""
        try:
            return self.regions.index(code)
        except ValueError:
            raise UnknownNameError("region", code, self.regions) from None

    def draw_parameters(self, n_draws: int, seed: int = 0, method: str = "lhs"
                        ) -> dict[str, np.ndarray]:
        """Parameter arrays (D, N, R): central values for one draw, registry draws otherwise.

        Regional shares are renormalised per draw (the registry's rule) and summed into their
        cells; engine assumptions without a registry row are drawn uniformly in their range
        from a generator seeded by ``seed``.
        """
        p = self.parameters
        if n_draws == 1 or self.registry is None:
            out = {k: np.broadcast_to(v, (n_draws, *v.shape)).copy() for k, v in p.central.items()}
            for name, cells in p.share_cells.items():
                values = self.registry.table.value.to_numpy(float) if self.registry else None
                if values is not None:
                    out[name] = np.broadcast_to(_share_array(self, cells, values[None, :]),
                                                (n_draws, self.n_nodes, self.n_regions)).copy()
            return out
        reg = self.registry
        draws = reg.renormalise_shares(
            reg.draw(n_draws, seed, method)).to_numpy(float)  # type: ignore[arg-type]
        out = {}
        for name, rows in p.rows.items():
            central = p.central[name]
            picked = draws[:, np.maximum(rows, 0)]
            out[name] = np.where(rows >= 0, picked, central[None])
        rng = np.random.default_rng([seed, 1_000_003])
        for name, spec in p.fallback.items():
            u = rng.random((n_draws, 1, 1))
            out[name] = np.broadcast_to(spec.low + u * (spec.high - spec.low),
                                        (n_draws, self.n_nodes, self.n_regions)).copy()
        for name, cells in p.share_cells.items():
            out[name] = _share_array(self, cells, draws)
        return out

    def summary(self) -> pd.DataFrame:
        """One row per (stage, region): reference output, capacity and the central shares."""
        import pandas as pd

        cap_share = self.parameters.central.get("capacity_share")
        dem_share = self.parameters.central.get("demand_share")
        rows = []
        for i, n in enumerate(self.nodes):
            for r, code in enumerate(self.regions):
                rows.append({
                    "stage": n.label, "region": code,
                    "production_t": self.production[i, r],
                    "capacity_t": self.capacity[i, r],
                    "capacity_share": np.nan if cap_share is None else cap_share[i, r],
                    "demand_share": np.nan if dem_share is None else dem_share[i, r],
                })
        return pd.DataFrame(rows)


def _share_array(world: World, cells: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sum registry share rows (columns of ``values``, shape (D, rows)) into (D, N, R) cells."""
    out = np.zeros((values.shape[0], world.n_nodes, world.n_regions))
    if len(cells):
        flat = cells[:, 1] * world.n_regions + cells[:, 2]
        acc = np.zeros((values.shape[0], world.n_nodes * world.n_regions))
        np.add.at(acc, (slice(None), flat), values[:, cells[:, 0]])  # type: ignore[arg-type]
        out = acc.reshape(out.shape)
    return out


# -- building from the data ----------------------------------------------------------------


def build_world(
    chains: Sequence[str],
    threshold: float = 0.01,
    keep: Iterable[str] = (),
    registry: Registry | None = None,
) -> World:
    """The world of ``chains`` from the curated data and the registry (the shipped one by
    default). ``threshold`` is the share at any stage above which a country stands alone;
    ``keep`` lists codes that stand alone whenever they have any activity."""
    import critmin.data as data
    from critmin.params import load_registry

    reg = registry if registry is not None else load_registry()
    for name in chains:
        if name not in CHAINS:
            raise UnknownNameError("chain", name, CHAINS)
    catalog = data.commodities().set_index("commodity")
    notes: list[str] = []
    nodes: list[Node] = []
    for name in chains:
        chain = CHAINS[name]
        first = len(nodes)
        for level, stage in enumerate(chain.stages):
            unit = str(catalog.loc[name, "unit"]) if level == 0 else "t"
            basis = str(catalog.loc[name, "basis"]) if level == 0 else _yield_unit(reg, name, stage)
            nodes.append(Node(name, stage, level, first + level - 1 if level else -1, unit,
                              basis, byproduct=chain.host is not None))
    # country-level inputs, by node: {code: value}
    production: dict[int, dict[str, float]] = {}
    capacity: dict[int, dict[str, float]] = {}
    host: dict[int, dict[str, float]] = {}
    base_year: dict[str, int] = {}
    for i, n in enumerate(nodes):
        chain = CHAINS[n.commodity]
        if n.level == 0 and not _registry_shared(reg, chain):
            year, prod, cap = _first_stage_facts(chain, notes)
            base_year[n.commodity] = year
            production[i], capacity[i] = prod, cap
        if chain.host is not None:
            year_h, host[i] = _host_facts(chain, base_year.get(n.commodity), notes)
            base_year.setdefault(n.commodity, year_h)
    shares = {name: _share_rows(reg, name, nodes) for name in SHARE_PARAMETERS}
    regions = _choose_regions(production, shares, reg.table.value.to_numpy(float), threshold,
                              set(keep))
    index = {code: r for r, code in enumerate(regions)}

    def to_array(values: Mapping[int, Mapping[str, float]], fill: float) -> np.ndarray:
        out = np.full((len(nodes), len(regions)), fill)
        for i, by_code in values.items():
            out[i] = 0.0
            for code, v in by_code.items():
                out[i, index.get(code, index[ROW])] += v
        return out

    prod_arr = to_array(production, np.nan)
    cap_arr = to_array(capacity, np.nan)
    cap_arr[np.isnan(prod_arr)] = np.nan
    for i in capacity:
        if not capacity[i]:
            cap_arr[i] = np.nan
    host_arr = np.nan_to_num(to_array(host, 0.0))
    params = _resolve_parameters(reg, nodes, tuple(regions), shares, index, notes)
    prices, price_sources = _prices(reg, nodes, base_year)
    world = World(
        chains=tuple(chains), nodes=tuple(nodes), regions=tuple(regions), base_year=base_year,
        production=prod_arr, capacity=cap_arr, host_production=host_arr,
        price_ref=prices, price_source=tuple(price_sources), parameters=params, registry=reg,
        data_edition=data.data_edition(), registry_version=reg.version, notes=tuple(notes),
    )
    check_world(world)
    return world


def build_world_for(scenario: Scenario, registry: Registry | None = None) -> World:
    """The world a scenario needs: its chains, threshold, and every country it names."""
    from critmin.params import load_registry

    reg = registry if registry is not None else load_registry()
    if scenario.overrides:
        reg = reg.with_overrides({(o.parameter, o.commodity, o.stage, o.region): o.value
                                  for o in scenario.overrides})
    keep = set(scenario.regions.keep)
    for members in scenario.blocs.values():
        keep.update(members)
    for shock in scenario.shocks:
        region = getattr(shock, "region", None)
        if region:
            keep.add(region)
    return build_world(scenario.chains, scenario.regions.threshold, keep, reg)


def check_world(world: World) -> None:
    """Every node has reference output somewhere and final demand at its chain's end."""
    for i, n in enumerate(world.nodes):
        if n.level == 0 and not n.byproduct and not np.nansum(world.production[i]) > 0:
            raise CritminError(f"{n.label}: the data give no production in the base year; "
                               "check `critmin data show`")


def _registry_shared(reg: Registry, chain: Chain) -> bool:
    """A by-product without country data: its split comes from capacity_share rows."""
    table = reg.table
    return chain.host is not None and bool(
        ((table.parameter == "capacity_share") & (table.commodity == chain.commodity)
         & (table.stage == chain.stages[0])).any())


def _first_stage_facts(chain: Chain, notes: list[str]
                       ) -> tuple[int, dict[str, float], dict[str, float]]:
    """(base year, production by ISO3/OTH, capacity by ISO3/OTH) of a chain's first stage."""
    import critmin.data as data

    stage = chain.first_data_stage
    frame = data.facts(chain.commodity, stage=stage, statistic="production")
    frame = frame[frame.iso3 != "WLD"]
    valued = frame[frame.value.notna()]
    if valued.empty:
        raise CritminError(f"{chain.commodity}/{stage}: no production values in the data")
    year = int(valued.year.max())
    rows = frame[frame.year == year]
    missing = rows[rows.value.isna()]
    if len(missing):
        notes.append(f"{chain.commodity}/{stage} {year}: {', '.join(missing.iso3)} "
                     f"{'/'.join(sorted(set(missing.flag)))}, counted as 0")
    prod = {str(r.iso3): float(r.value) for r in rows.itertuples() if np.isfinite(r.value)}
    caps = data.facts(chain.commodity, stage=stage, statistic="capacity", year=year)
    caps = caps[(caps.iso3 != "WLD") & caps.value.notna()]
    cap = {str(r.iso3): float(r.value) for r in caps.itertuples()}
    if cap:
        notes.append(f"{chain.commodity}/{stage} {year}: capacity from the data; capacity above "
                     "reference output starts in care and maintenance")
    return year, prod, cap


def _host_facts(chain: Chain, year: int | None, notes: list[str]) -> tuple[int, dict[str, float]]:
    """Host output by ISO3 in ``year`` (or the host's latest year)."""
    import critmin.data as data

    assert chain.host is not None
    commodity, stage = chain.host
    frame = data.facts(commodity, stage=stage, statistic="production")
    frame = frame[(frame.iso3 != "WLD") & frame.value.notna()]
    if frame.empty:
        raise CritminError(f"host {commodity}/{stage} of {chain.commodity}: no data")
    use = year if year is not None and (frame.year == year).any() else int(frame.year.max())
    if year is not None and use != year:
        notes.append(f"host {commodity}/{stage}: {year} missing, {use} used")
    rows = frame[frame.year == use]
    return use, {str(r.iso3): float(r.value) for r in rows.itertuples()}


def _share_rows(reg: Registry, name: str, nodes: Sequence[Node]) -> list[tuple[int, int, str]]:
    """(registry row, node, region code) for every share row of the world's nodes."""
    table = reg.table
    out = []
    for i, n in enumerate(nodes):
        hit = table[(table.parameter == name) & (table.commodity == n.commodity)
                    & (table.stage == n.stage)]
        out += [(int(pos), i, str(code)) for pos, code in zip(hit.index, hit.region, strict=True)]
    return out


def _choose_regions(production: Mapping[int, Mapping[str, float]],
                    shares: Mapping[str, list[tuple[int, int, str]]], values: np.ndarray,
                    threshold: float, keep: set[str]) -> list[str]:
    """Countries (and pseudo-regions) with ≥ threshold of any stage, plus kept ones, plus ROW."""
    import critmin.data as data

    table = data.countries()
    countries = set(table.iso3[table.region != "Aggregate"])
    groups = {g.lower() for g in data.groups()["group"]}
    biggest: dict[str, float] = {}
    for by_code in production.values():
        total = sum(by_code.values())
        for code, v in by_code.items():
            if total > 0:
                biggest[code] = max(biggest.get(code, 0.0), v / total)
    for rows in shares.values():
        for pos, _, code in rows:
            biggest[code] = max(biggest.get(code, 0.0), float(values[pos]))
    chosen = {code for code, share in biggest.items()
              if (code in countries or code.lower() in groups)
              and share > 0 and (share >= threshold or code in keep)}
    pseudo = sorted(c for c in chosen if c not in countries)
    return sorted(chosen - set(pseudo)) + pseudo + [ROW]


def _resolve_parameters(reg: Registry, nodes: Sequence[Node], regions: tuple[str, ...],
                        shares: Mapping[str, list[tuple[int, int, str]]],
                        index: Mapping[str, int], notes: list[str]) -> Parameters:
    """Registry row positions and central values for every (parameter, node, region)."""
    table = reg.table
    key_to_pos = {k: i for i, k in enumerate(reg.keys)}
    shape = (len(nodes), len(regions))
    rows: dict[str, np.ndarray] = {}
    central: dict[str, np.ndarray] = {}
    # engine assumptions come from the registry as soon as it carries rows for them
    known = set(table.parameter)
    wanted = {**NODE_PARAMETERS, **{n: True for n in ENGINE_ASSUMPTIONS if n in known}}
    for name, required in wanted.items():
        pos = np.full(shape, -1, dtype=np.intp)
        for i, n in enumerate(nodes):
            for r, code in enumerate(regions):
                try:
                    row = reg.row(name, n.commodity, n.stage, code)
                except UnknownNameError:
                    if required:
                        raise CritminError(f"registry has no {name} row for {n.label} "
                                           f"(region {code}); add one to the registry") from None
                    continue
                key = "|".join(str(row[c]) for c in ("parameter", "commodity", "stage", "region"))
                pos[i, r] = key_to_pos[key]
        rows[name] = pos
        values = table.value.to_numpy(float)
        central[name] = np.where(pos >= 0, values[np.maximum(pos, 0)], np.nan)
    fallback: dict[str, Assumption] = {}
    for name, spec in ENGINE_ASSUMPTIONS.items():
        if name in wanted:
            continue
        central[name] = np.full(shape, spec.value)
        fallback[name] = spec
        notes.append(f"{name} = {spec.value:g} [{spec.low:g}, {spec.high:g}] ({spec.source}: "
                     f"{spec.note})")
    share_cells: dict[str, np.ndarray] = {}
    groups_index = {code.lower(): r for code, r in index.items()}
    values = table.value.to_numpy(float)
    for name, share_rows in shares.items():
        cells = [(pos, i, groups_index.get(code.lower(), index[ROW]))
                 for pos, i, code in share_rows]
        share_cells[name] = np.array(cells, dtype=np.intp).reshape(-1, 3)
        arr = np.zeros(shape)
        for row, i, r in cells:
            arr[i, r] += values[row]
        central[name] = arr
    return Parameters(rows, central, fallback, share_cells)


def _yield_unit(reg: Registry, commodity: str, stage: str) -> str:
    try:
        return str(reg.row("stage_yield", commodity, stage).unit)
    except UnknownNameError:
        return ""


def _prices(reg: Registry, nodes: Sequence[Node], base_year: Mapping[str, int]
            ) -> tuple[np.ndarray, list[str]]:
    """Reference price per node (USD/t): USGS salient series where mapped, else price_ref."""
    import critmin.data as data

    prices = np.full(len(nodes), np.nan)
    sources: list[str] = []
    for i, n in enumerate(nodes):
        pattern = PRICE_SERIES.get((n.commodity, n.stage))
        found = None
        if pattern is not None:
            salient = data.us_salient(n.commodity)
            hit = salient[(salient.statistic == "price") & salient.value.notna()
                          & salient.detail.str.contains(pattern, regex=False)]
            year = base_year.get(n.commodity)
            if year is not None:
                hit = hit[hit.year <= year]
            if len(hit):
                latest = hit.sort_values(["year", "edition"]).iloc[-1]
                found = (float(latest.value), f"USGS MCS {int(latest.edition)} salient price "
                         f"{int(latest.year)}: {latest.detail} ({latest.unit})")
        if found is None:
            try:
                row = reg.row("price_ref", n.commodity, n.stage)
            except UnknownNameError:
                raise CritminError(f"{n.label}: no USGS price series and no price_ref row in "
                                   "the registry; add one") from None
            found = (float(row.value), f"registry price_ref ({row.unit}; {row.source})")
        prices[i], source = found
        sources.append(source)
    return prices, sources


# -- blocs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Blocs:
    """Regions grouped into blocs: names and each region's bloc index."""

    names: tuple[str, ...]
    bloc_of: np.ndarray  # (R,) int

    @property
    def n_blocs(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise UnknownNameError("bloc", name, self.names) from None


def assign_blocs(world: World, blocs: Mapping[str, Sequence[str]], on: date | str | None = None
                 ) -> Blocs:
    """Put each region into the bloc that lists it (group names expand to members on ``on``);
    regions no bloc lists, and ROW, form ``rest``. Pseudo-regions (EU27) join a bloc that lists
    their group or all of its members."""
    import critmin.data as data

    groups = {g.lower(): g for g in data.groups()["group"]} if blocs else {}
    expanded: dict[str, set[str]] = {}
    named_groups: dict[str, set[str]] = {}
    for name, members in blocs.items():
        codes: set[str] = set()
        group_names: set[str] = set()
        for m in members:
            if m.lower() in groups:
                group_names.add(m.lower())
                codes.update(data.group_members(groups[m.lower()], on=on))
            else:
                codes.add(m)
        expanded[name], named_groups[name] = codes, group_names
    names = [*blocs, REST]
    bloc_of = np.full(world.n_regions, len(names) - 1, dtype=np.intp)
    for r, code in enumerate(world.regions):
        for b, name in enumerate(blocs):
            listed = code in expanded[name] or code.lower() in named_groups[name]
            covered = code.lower() in groups and set(
                data.group_members(groups[code.lower()], on=on)) <= expanded[name]
            if listed or covered:
                bloc_of[r] = b
    used = set(bloc_of.tolist())
    empty = [names[b] for b in range(len(blocs)) if b not in used]
    if empty:
        raise CritminError(f"bloc {empty[0]!r} has no region in this world (its countries have "
                           "no production, capacity or demand share in these chains); allowed: "
                           f"regions {', '.join(world.regions)}")
    return Blocs(tuple(names), bloc_of)


def hand_built(
    *,
    chains: Mapping[str, Sequence[str]],
    regions: Sequence[str],
    production: Mapping[str, Sequence[float]],
    price_ref: Mapping[str, float],
    parameters: Mapping[str, Any],
    capacity_share: Mapping[str, Sequence[float]] | None = None,
    demand_share: Mapping[str, Sequence[float]] | None = None,
    host_production: Mapping[str, Sequence[float]] | None = None,
    capacity: Mapping[str, Sequence[float]] | None = None,
) -> World:
    """A small world from explicit numbers (tests, worked examples): no data, no registry.

    Parameters left out are NaN; for ``choke_price_multiple``/``choke_taper_ratio`` that means
    no choke (isoelastic demand at any price), so hand-worked answers stay exact.
    ``chains`` maps commodity → stages; ``production``/``capacity`` are keyed by the commodity
    (its first stage), ``capacity_share``/``demand_share``/``host_production`` by
    ``"commodity/stage"``; ``parameters`` maps a parameter name to a scalar or an (N, R) array.
    """
    nodes: list[Node] = []
    for commodity, stages in chains.items():
        first = len(nodes)
        for level, stage in enumerate(stages):
            nodes.append(Node(commodity, stage, level, first + level - 1 if level else -1, "t",
                              "", byproduct=host_production is not None
                              and f"{commodity}/{stage}" in host_production))
    shape = (len(nodes), len(regions))
    labels = [n.label for n in nodes]

    def by_label(values: Mapping[str, Sequence[float]] | None, fill: float) -> np.ndarray:
        out = np.full(shape, fill)
        for key, vec in (values or {}).items():
            i = labels.index(key) if "/" in key else next(
                k for k, n in enumerate(nodes) if n.commodity == key and n.level == 0)
            out[i] = np.asarray(vec, float)
        return out

    central = {name: np.broadcast_to(np.asarray(v, float), shape).copy()
               for name, v in parameters.items()}
    for name in NODE_PARAMETERS:
        central.setdefault(name, np.full(shape, np.nan))
    for name, spec in ENGINE_ASSUMPTIONS.items():
        central.setdefault(name, np.full(shape, spec.value))
    central["capacity_share"] = by_label(capacity_share, 0.0)
    central["demand_share"] = by_label(demand_share, 0.0)
    rows = {name: np.full(shape, -1, dtype=np.intp) for name in central}
    return World(
        chains=tuple(chains), nodes=tuple(nodes), regions=tuple(regions),
        base_year={c: 0 for c in chains},
        production=by_label(production, np.nan), capacity=by_label(capacity, np.nan),
        host_production=by_label(host_production, 0.0),
        price_ref=np.array([price_ref[n.label] if n.label in price_ref else price_ref[n.commodity]
                            for n in nodes], float),
        price_source=tuple("hand-built" for _ in nodes),
        parameters=Parameters(rows, central),
    )
