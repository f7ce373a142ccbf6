"""Scenario files: what to simulate (chains, time, blocs) and which shocks hit it.

A scenario is YAML validated by these pydantic models (``extra="forbid"`` everywhere, so a
misspelt key is an error). :func:`load_scenario` reads a file through
:func:`critmin.scenario.yamlio.load_yaml_model`, so every mistake becomes one line naming the
file, the line and the field, with what is allowed. Checks that need the rest of the file (is
this date inside the horizon? is this bloc defined? is this stage in the chain?) read the
scenario's own time and names from the validation context, filled before the fields are
validated, so their errors still point at the offending key.

Times are period indices (0 = ``start``) or labels: ``2026Q3`` for quarterly scenarios,
``2026-07`` for monthly ones (either spelling is accepted and mapped onto the time step).

Policy tools (``policies:``) and the menu comparison (``menu:``) are modelled in
:mod:`critmin.policy.schema`, which reuses the checks here (``check_commodity``, ``check_stage``,
``check_bloc``, ``check_period``, ``check_member``) through the same validation context.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from critmin.engine.chains import CHAINS, HOSTS
from critmin.policy.schema import Menu, Policy

REST: str = "rest"
PERIODS_PER_YEAR = {"quarter": 4, "month": 12}
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.I)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")

PeriodRef = int | str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- time ----------------------------------------------------------------------------------


def parse_label(label: str, time_step: str) -> int:
    """Absolute period number of a label (months or quarters since year 0); ValueError if bad."""
    text = str(label).strip()
    quarter, month = _QUARTER.match(text), _MONTH.match(text)
    if quarter:
        year, q = int(quarter.group(1)), int(quarter.group(2))
        return year * 4 + q - 1 if time_step == "quarter" else year * 12 + 3 * (q - 1)
    if month and 1 <= int(month.group(2)) <= 12:
        year, m = int(month.group(1)), int(month.group(2))
        return year * 4 + (m - 1) // 3 if time_step == "quarter" else year * 12 + m - 1
    example = "2026Q3" if time_step == "quarter" else "2026-07"
    raise ValueError(f"{label!r} is not a period; allowed: a label such as {example} "
                     "or a period index (0 = start)")


def period_label(absolute: int, time_step: str) -> str:
    """Label of an absolute period number (inverse of :func:`parse_label`)."""
    if time_step == "quarter":
        return f"{absolute // 4}Q{absolute % 4 + 1}"
    return f"{absolute // 12}-{absolute % 12 + 1:02d}"


def period_index(ref: PeriodRef, start: str, time_step: str) -> int:
    """Index of ``ref`` (an index or a label) counted from ``start``."""
    if isinstance(ref, int):
        return ref
    return parse_label(ref, time_step) - parse_label(start, time_step)


def period_labels(start: str, horizon: int, time_step: str) -> list[str]:
    """Labels of the ``horizon`` periods from ``start``."""
    first = parse_label(start, time_step)
    return [period_label(first + k, time_step) for k in range(horizon)]


# -- names known to the dataset --------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def known_countries() -> frozenset[str]:
    """ISO3 codes of the curated country table (aggregates excluded)."""
    from critmin.data import countries

    table = countries()
    return frozenset(table.iso3[table.region != "Aggregate"])


@functools.lru_cache(maxsize=1)
def known_groups() -> frozenset[str]:
    """Names of the country groups shipped with the data (EU27, G7, …)."""
    from critmin.data import groups

    return frozenset(groups()["group"])


def check_member(code: str) -> str:
    """An ISO3 code, ROW, or a group name (any case; returned as the data spell it)."""
    if code == "ROW" or code in known_countries():
        return code
    by_lower = {g.lower(): g for g in known_groups()}
    if code.lower() in by_lower:
        return by_lower[code.lower()]
    if code.upper() in known_countries():
        raise ValueError(f"unknown country {code!r}; did you mean {code.upper()!r}? "
                         "allowed: ISO3 codes in capitals or a group name")
    groups = ", ".join(sorted(known_groups()))
    raise ValueError(f"unknown country or group {code!r}; allowed: an ISO3 code "
                     f"(e.g. CHN, USA) or a group: {groups}")


Member = Annotated[str, AfterValidator(check_member)]

# -- validation against the rest of the file ------------------------------------------------


def _facts(info: ValidationInfo) -> dict[str, Any]:
    return info.context if isinstance(info.context, dict) else {}


def check_period(ref: PeriodRef, info: ValidationInfo) -> int | None:
    """Index of ``ref`` when the file's time is known; ValueError if outside the horizon."""
    facts = _facts(info)
    if "horizon" not in facts:
        return None
    index = period_index(ref, facts["start"], facts["time_step"])
    last = facts["horizon"] - 1
    if not 0 <= index <= last:
        labels = period_labels(facts["start"], facts["horizon"], facts["time_step"])
        raise ValueError(f"{ref!r} is outside the horizon; allowed: {labels[0]}…{labels[-1]} "
                         f"or 0…{last}")
    return index


def check_end(v: PeriodRef | None, info: ValidationInfo) -> PeriodRef | None:
    """An ``end`` inside the horizon and not before the model's ``start`` (shocks, tools)."""
    if v is None:
        return v
    end = check_period(v, info)
    start = info.data.get("start")
    facts = _facts(info)
    if end is not None and start is not None and end < period_index(
            start, facts["start"], facts["time_step"]):
        raise ValueError(f"end {v!r} is before start {start!r}; allowed: end at or after start")
    return v


def check_importers(v: list[str] | None, info: ValidationInfo) -> list[str] | None:
    """Importer blocs declared in the file, none of them the exporter."""
    for name in v or []:
        check_bloc(name, info)
        if name == info.data.get("exporter"):
            raise ValueError(f"importer {name!r} is the exporter; allowed: other blocs")
    return v


class PathPoint(_Strict):
    """From period ``at`` on, the shock takes ``value`` (until the next point)."""

    at: PeriodRef = Field(description="period from which the value holds (index or label)")
    value: float = Field(description="the shock's value from that period on")

    @field_validator("at")
    @classmethod
    def _within_horizon(cls, v: PeriodRef, info: ValidationInfo) -> PeriodRef:
        check_period(v, info)
        return v


def check_commodity(v: str, info: ValidationInfo, hosts_allowed: bool = False) -> str:
    """A commodity of the file's chains (or, with ``hosts_allowed``, a by-product's host)."""
    chains = _facts(info).get("chains")
    if chains is None:
        return v
    allowed = list(chains)
    if hosts_allowed:
        allowed += [h for h, s in HOSTS if any(c in chains for c in HOSTS[(h, s)])]
    if v not in allowed:
        raise ValueError(f"unknown commodity {v!r} for this scenario; allowed: "
                         f"{', '.join(allowed)} (add it to chains first)")
    return v


def check_stage(v: str, commodity: str | None) -> str:
    """A stage of ``commodity``'s chain (or of its host); unchecked while the commodity is."""
    if commodity is None:
        return v
    stages = list(CHAINS[commodity].stages) if commodity in CHAINS else [
        s for (h, s) in HOSTS if h == commodity]
    if v not in stages:
        raise ValueError(f"unknown stage {v!r} of {commodity}; allowed: {', '.join(stages)}")
    return v


class _Shock(_Strict):
    """Fields shared by every shock."""

    commodity: str = Field(description="chain commodity slug (or a by-product host for outages)")
    stage: str = Field(description="stage of the commodity's chain the shock hits")
    start: PeriodRef = Field(description="first period of the shock (index or label)")
    end: PeriodRef | None = Field(None, description="last period (inclusive); default: horizon")
    note: str | None = Field(None, description="context and sources of the shock's numbers")

    hosts_allowed: ClassVar[bool] = False  # outages may hit a by-product's host metal

    @field_validator("commodity")
    @classmethod
    def _known_commodity(cls, v: str, info: ValidationInfo) -> str:
        return check_commodity(v, info, cls.hosts_allowed)

    @field_validator("stage")
    @classmethod
    def _known_stage(cls, v: str, info: ValidationInfo) -> str:
        return check_stage(v, info.data.get("commodity"))

    @field_validator("start")
    @classmethod
    def _start_in_horizon(cls, v: PeriodRef, info: ValidationInfo) -> PeriodRef:
        check_period(v, info)
        return v

    _end_after_start = field_validator("end")(check_end)


def check_bloc(name: str, info: ValidationInfo) -> str:
    """A bloc declared in the file (or ``rest``)."""
    blocs = _facts(info).get("blocs")
    if blocs is not None and name not in blocs:
        raise ValueError(f"unknown bloc {name!r}; allowed: {', '.join(blocs)}")
    return name


class _TradeShock(_Shock):
    """A measure on exports from one bloc (to some or all others)."""

    exporter: str = Field(description="bloc whose exports are restricted")
    importers: list[str] | None = Field(None, description="destination blocs; default: all others")
    announced: PeriodRef | None = Field(
        None, description="announcement period before start: importers build stocks ahead")

    @field_validator("exporter")
    @classmethod
    def _exporter_bloc(cls, v: str, info: ValidationInfo) -> str:
        return check_bloc(v, info)

    _importer_blocs = field_validator("importers")(check_importers)

    @field_validator("announced")
    @classmethod
    def _announced_first(cls, v: PeriodRef | None, info: ValidationInfo) -> PeriodRef | None:
        if v is not None:
            when = check_period(v, info)
            start = info.data.get("start")
            facts = _facts(info)
            if when is not None and start is not None and when > period_index(
                    start, facts["start"], facts["time_step"]):
                raise ValueError(f"announced {v!r} is after start {start!r}; allowed: at or "
                                 "before start")
        return v


class _ValueOrPath(BaseModel):
    """``value`` (constant from start to end) or ``path`` (steps), exactly one of them."""

    path_bounds: ClassVar[tuple[float, float]] = (0.0, float("inf"))

    @field_validator("path", check_fields=False)
    @classmethod
    def _path_values(cls, v: list[PathPoint] | None) -> list[PathPoint] | None:
        lo, hi = cls.path_bounds
        for point in v or []:
            if not lo <= point.value <= hi:
                bound = f"{lo:g} … {hi:g}" if hi != float("inf") else f">= {lo:g}"
                raise ValueError(f"path value {point.value:g} at {point.at!r} is out of range; "
                                 f"allowed: {bound}")
        return v

    @model_validator(mode="after")
    def _one_of(self) -> _ValueOrPath:
        value, path = getattr(self, "value", None), getattr(self, "path", None)
        if (value is None) == (path is None):
            raise ValueError("give either value or path; allowed: value: NUMBER or "
                             "path: [{at: PERIOD, value: NUMBER}, …]")
        return self


class ExportQuota(_TradeShock, _ValueOrPath):
    """A cap on the exporter's total exports (t per year), shared among destinations in
    proportion to their baseline flows (as 2010–2014 rare-earth quotas)."""

    kind: Literal["export_quota"] = Field(description="the shock: export_quota")
    value: float | None = Field(None, ge=0, description="quota, t per year")
    path: list[PathPoint] | None = Field(None, description="quota in steps, t per year")


class LicenceApproval(_TradeShock, _ValueOrPath):
    """Exports need licences; only a share of the normal (baseline) flow is approved."""

    kind: Literal["licence_approval"] = Field(description="the shock: licence_approval")
    value: float | None = Field(None, ge=0, le=1, description="approval rate, 0–1")
    path: list[PathPoint] | None = Field(None, description="approval rate in steps, 0–1")
    path_bounds: ClassVar[tuple[float, float]] = (0.0, 1.0)


class DestinationBan(_TradeShock):
    """Exports to the named importers are banned; ``leakage_share`` of the normal flow still
    arrives (transshipment, smuggling). Default: the registry's ``leakage_share``."""

    kind: Literal["destination_ban"] = Field(description="the shock: destination_ban")
    importers: list[str] = Field(min_length=1, description="banned destination blocs")  # type: ignore[assignment]
    leakage_share: float | None = Field(
        None, ge=0, le=1, description="share of the normal flow that still arrives; default: "
                                      "the registry's leakage_share")


class ExportTax(_TradeShock, _ValueOrPath):
    """An ad valorem tax on the exporter's exports (adds to the price wedge)."""

    kind: Literal["export_tax"] = Field(description="the shock: export_tax")
    value: float | None = Field(None, ge=0, description="ad valorem rate, e.g. 0.25")
    path: list[PathPoint] | None = Field(None, description="ad valorem rate in steps")


class _Located(_Shock):
    """A shock on one region or bloc (or all, where allowed)."""

    region: Member | None = Field(None, description="ISO3 code or ROW")
    bloc: str | None = Field(None, description="a bloc of the file (instead of a region)")

    @field_validator("bloc")
    @classmethod
    def _known_bloc(cls, v: str | None, info: ValidationInfo) -> str | None:
        return None if v is None else check_bloc(v, info)

    @model_validator(mode="after")
    def _not_both(self) -> _Located:
        if self.region is not None and self.bloc is not None:
            raise ValueError("give region or bloc, not both")
        return self


class ProductionOutage(_Located, _ValueOrPath):
    """A share of capacity lost (mine failure, permit halt). On a by-product host (alumina,
    zinc) it cuts the by-product's capacity too."""

    kind: Literal["production_outage"] = Field(description="the shock: production_outage")
    value: float | None = Field(None, ge=0, le=1, description="share of capacity lost")
    path: list[PathPoint] | None = Field(None, description="share of capacity lost, in steps")
    hosts_allowed: ClassVar[bool] = True
    path_bounds: ClassVar[tuple[float, float]] = (0.0, 1.0)

    @model_validator(mode="after")
    def _somewhere(self) -> ProductionOutage:
        if self.region is None and self.bloc is None:
            raise ValueError("a production outage needs region or bloc")
        return self


class DemandSurge(_Located, _ValueOrPath):
    """Demand changes by a fraction (0.3 = +30%) in a region, a bloc or everywhere."""

    kind: Literal["demand_surge"] = Field(description="the shock: demand_surge")
    value: float | None = Field(None, ge=-1, description="fractional change of demand")
    path: list[PathPoint] | None = Field(None, description="fractional change of demand, in "
                                                           "steps")

    @field_validator("stage")
    @classmethod
    def _final_stage(cls, v: str, info: ValidationInfo) -> str:
        commodity = info.data.get("commodity")
        if commodity in CHAINS and v != CHAINS[commodity].stages[-1]:
            raise ValueError(f"demand surges act on final demand; allowed stage: "
                             f"{CHAINS[commodity].stages[-1]}")
        return v
    path_bounds: ClassVar[tuple[float, float]] = (-1.0, float("inf"))


class Dumping(_Located):
    """A dominant supplier runs at least ``value`` of its capacity whatever the price, with
    capacity scaled by ``capacity_multiple``: output pushed to hold prices below rivals' costs."""

    kind: Literal["dumping"] = Field(description="the shock: dumping")
    value: float = Field(gt=0, le=1, description="minimum utilisation of the supplier")
    capacity_multiple: float = Field(1.0, ge=1, description="capacity expansion factor")

    @model_validator(mode="after")
    def _supplier(self) -> Dumping:
        if self.region is None and self.bloc is None:
            raise ValueError("dumping needs the supplier's region or bloc")
        return self


Shock = Annotated[
    ExportQuota | LicenceApproval | DestinationBan | ExportTax | ProductionOutage | DemandSurge
    | Dumping,
    Field(discriminator="kind"),
]
TRADE_KINDS = ("export_quota", "licence_approval", "destination_ban", "export_tax")
#: Shock models on exports from one bloc (they have ``exporter`` and ``importers``).
TRADE_SHOCKS = (ExportQuota, LicenceApproval, DestinationBan, ExportTax)


class Regions(_Strict):
    """How countries become regions: those with at least ``threshold`` of any stage of a chain
    (production, capacity or demand) stand alone, the rest form ROW."""

    threshold: float = Field(0.01, ge=0, lt=1, description="share of any stage from which a "
                                                         "country stands alone")
    keep: list[Member] = Field(default_factory=list, description="ISO3 codes kept as regions")


class Override(_Strict):
    """Fix one registry parameter for this scenario (no Monte Carlo range)."""

    parameter: str = Field(description="registry parameter name (see critmin params show)")
    commodity: str = Field("*", description="commodity slug, or * for all")
    stage: str = Field("*", description="stage, or * for all")
    region: str = Field("*", description="ISO3 code, bloc name, ROW, or * for all")
    value: float = Field(description="the value used instead of the registry's range")


class Scenario(_Strict):
    """A simulation: chains, time, blocs, shocks and policy tools (the YAML file's top level)."""

    name: str = Field(min_length=1, description="short title of the scenario")
    description: str = Field("", description="what the scenario asks, in a few sentences")
    time_step: Literal["quarter", "month"] = Field("quarter", description="length of a period")
    start: str = Field(description="first period, e.g. 2025Q1 (quarter) or 2025-01 (month)")
    horizon: int = Field(ge=1, le=480, description="number of periods")
    chains: list[str] = Field(min_length=1, description="commodity slugs")
    regions: Regions = Field(default_factory=lambda: Regions.model_validate({}),
                             description="which countries stand alone as regions")
    blocs: dict[str, list[Member]] = Field(
        default_factory=dict,
        description="named lists of ISO3 codes or group names; the others form 'rest'")
    shocks: list[Shock] = Field(default_factory=list, description="what hits the market")
    policies: list[Policy] = Field(default_factory=list,
                                   description="policy tools acting in the shocked run")
    menu: Menu | None = Field(None, description="how critmin menu compares the tools")
    seed: int = Field(0, ge=0, description="seed of the parameter draws")
    draws: int = Field(1, ge=1, le=1_000_000, description="Monte Carlo draws (1 = central "
                                                          "values)")
    sampling: Literal["lhs", "sobol", "random"] = Field(
        "lhs", description="how draws cover the registry's ranges")
    overrides: list[Override] = Field(default_factory=list,
                                      description="registry values fixed for this scenario")

    @model_validator(mode="wrap")
    @classmethod
    def _share_facts(cls, data: Any, handler: Any, info: ValidationInfo) -> Scenario:
        """Put the file's own time and names into the context before the fields validate."""
        facts = info.context if isinstance(info.context, dict) else None
        if facts is not None and isinstance(data, dict):
            facts.update(_raw_facts(data))
        return handler(data)

    @field_validator("start")
    @classmethod
    def _label(cls, v: str, info: ValidationInfo) -> str:
        parse_label(v, info.data.get("time_step", "quarter"))
        return v

    @field_validator("chains")
    @classmethod
    def _chains(cls, v: list[str]) -> list[str]:
        for name in v:
            if name not in CHAINS:
                raise ValueError(f"unknown commodity {name!r}; allowed: {', '.join(CHAINS)}")
        if len(set(v)) != len(v):
            raise ValueError("a chain is listed twice")
        return v

    @field_validator("blocs")
    @classmethod
    def _blocs(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        seen: dict[str, str] = {}
        for name, members in v.items():
            if name == REST:
                raise ValueError(f"bloc name {REST!r} is reserved for regions outside every bloc; "
                                 "allowed: any other name")
            for code in members:
                if code in seen:
                    raise ValueError(f"{code} is in blocs {seen[code]!r} and {name!r}; "
                                     "allowed: one bloc per country")
                seen[code] = name
        if len(v) > 3:
            raise ValueError(f"{len(v)} blocs given; allowed: at most 3 (plus {REST!r})")
        return v

    @field_validator("policies")
    @classmethod
    def _unique_names(cls, v: list[Any]) -> list[Any]:
        seen: set[str] = set()
        for tool in v:
            if tool.label in seen:
                raise ValueError(f"two tools are named {tool.label!r}; allowed: a distinct name "
                                 "for each tool")
            seen.add(tool.label)
        return v

    @field_validator("menu")
    @classmethod
    def _known_tools(cls, v: Menu | None, info: ValidationInfo) -> Menu | None:
        names = [t.label for t in info.data.get("policies", [])]
        for combo in v.combinations if v is not None else []:
            for name in combo.policies:
                if name not in names:
                    raise ValueError(f"combination {combo.name!r} names unknown tool {name!r}; "
                                     f"allowed: {', '.join(names) or 'tools listed in policies'}")
        if v is not None and not names:
            raise ValueError("a menu needs tools; allowed: list them under policies")
        return v

    @property
    def periods_per_year(self) -> int:
        return PERIODS_PER_YEAR[self.time_step]

    @property
    def bloc_names(self) -> list[str]:
        """Declared blocs plus ``rest`` (regions outside every bloc)."""
        return [*self.blocs, REST]

    def labels(self) -> list[str]:
        """Period labels of the horizon."""
        return period_labels(self.start, self.horizon, self.time_step)

    def index(self, ref: PeriodRef) -> int:
        """Period index of a reference (an index or a label)."""
        return period_index(ref, self.start, self.time_step)

    def without_shocks(self) -> Scenario:
        """The same scenario with no shocks: the baseline every run also computes."""
        return self.model_copy(update={"shocks": []})

    def without_policies(self) -> Scenario:
        """The same scenario with no policy tools (the shock alone)."""
        return self.model_copy(update={"policies": [], "menu": None})

    def hash(self) -> str:
        """12 hex digits identifying the content (formatting and comments ignored)."""
        return scenario_hash(self)


def _raw_facts(data: dict[str, Any]) -> dict[str, Any]:
    """Best-effort reading of time and names from the raw mapping (before validation)."""
    facts: dict[str, Any] = {}
    step = data.get("time_step", "quarter")
    if not isinstance(step, str) or step not in PERIODS_PER_YEAR:  # a list is unhashable
        return facts
    try:
        start, horizon = str(data["start"]), int(data["horizon"])
        parse_label(start, step)
        if horizon >= 1:
            facts.update(time_step=step, start=start, horizon=horizon)
    except (KeyError, TypeError, ValueError):
        pass
    chains = data.get("chains")
    if isinstance(chains, list) and all(isinstance(c, str) and c in CHAINS for c in chains):
        facts["chains"] = list(chains)
    blocs = data.get("blocs", {})
    if isinstance(blocs, dict) and all(isinstance(k, str) for k in blocs):
        facts["blocs"] = [*blocs, REST]
    return facts


def scenario_hash(scenario: Scenario) -> str:
    """12 hex digits of the SHA-256 of the scenario's canonical JSON."""
    from critmin.scenario.yamlio import model_hash

    return model_hash(scenario)


def load_scenario(path: Path | str) -> Scenario:
    """Read and validate a scenario file; errors name the file, line, field and what is allowed."""
    from critmin.scenario.yamlio import load_yaml_model

    return load_yaml_model(path, Scenario, context={})


def validate_scenario(data: dict[str, Any]) -> Scenario:
    """Validate a scenario given as plain data (with the same cross-field checks as files)."""
    return Scenario.model_validate(data, context={})
