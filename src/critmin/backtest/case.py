"""Backtest case files: a historical episode to replay and the facts the replay must reproduce.

A case is YAML with

* ``scenario``: the episode as it happened (start, time step, chains, blocs, shocks), inline or
  the path of a scenario file (relative to the case file);
* ``market``: the market state of the time where it differs from today's data (a supplier's
  share of a stage, the trend of demand …), each value with its source. Only state parameters
  are allowed here (:data:`MARKET_PARAMETERS`): behavioural parameters (elasticities, lead
  times, substitution speeds) come from the registry, the same for every case;
* ``quotas``: export quotas given relative to the trade of a reference window (the quota's
  tonnage ÷ the exports of that time), because the model's flows are on today's scale (see
  :mod:`critmin.backtest.hooks`);
* ``targets``: observed facts, each with a metric (:data:`critmin.backtest.metrics.METRICS`),
  the stage and bloc(s) it reads, its date or window, the observed value, an optional tolerance
  in the metric's error measure, and its source (URL, line of
  ``reference/calibration_cases.md``, and the tag V, D or U; U facts are reported, never
  scored).

:func:`load_case` reads a file through :func:`critmin.scenario.yamlio.load_yaml_model`, so a
mistake is one line naming the file, the line and the field with what is allowed (an unknown
metric, a date outside the horizon, a bloc the scenario does not define …).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from critmin.backtest.metrics import METRICS
from critmin.engine.chains import CHAINS
from critmin.scenario.model import (
    Override,
    PathPoint,
    PeriodRef,
    Scenario,
    check_bloc,
    check_importers,
    check_period,
    load_scenario,
    period_index,
)

#: Registry parameters a case may set to the market of its time (state, not behaviour).
MARKET_PARAMETERS: Final = ("capacity_share", "demand_share", "demand_growth", "utilisation_ref")
MetricName = Literal[tuple(METRICS)]  # type: ignore[valid-type]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _facts(info: ValidationInfo) -> dict[str, Any]:
    """The case's scenario (horizon, blocs, chains) passed as the validation context."""
    return info.context if isinstance(info.context, dict) else {}


_index = check_period  # a target's period must lie in the scenario's horizon


def _bloc(name: str | None, info: ValidationInfo) -> str | None:
    return None if name is None else check_bloc(name, info)


def _commodity(name: str, info: ValidationInfo) -> str:
    chains = _facts(info).get("chains")
    if chains is not None and name not in chains:
        raise ValueError(f"unknown commodity {name!r} for this case; allowed: "
                         f"{', '.join(chains)} (the scenario's chains)")
    return name


def _stage(stage: str, info: ValidationInfo) -> str:
    commodity = info.data.get("commodity")
    if commodity in CHAINS and stage not in CHAINS[commodity].stages:
        raise ValueError(f"unknown stage {stage!r} of {commodity}; allowed: "
                         f"{', '.join(CHAINS[commodity].stages)}")
    return stage


class Source(_Strict):
    """Where a number comes from: a public URL, the line of ``calibration_cases.md`` that
    quotes it, and its tag there (V verified, D derived from V numbers, U unverified)."""

    url: str = Field(pattern=r"^https?://\S+$")
    line: int | None = Field(None, ge=1, description="line of reference/calibration_cases.md")
    tag: Literal["V", "D", "U"]
    note: str = ""

    def cite(self) -> str:
        where = f"calibration_cases.md:{self.line}, " if self.line else ""
        return f"{self.url} ({where}{self.tag})"


class MarketState(_Strict):
    """A registry state parameter set to the market of the episode's time, with its source."""

    parameter: Literal[MARKET_PARAMETERS]  # type: ignore[valid-type]
    commodity: str
    stage: str = "*"
    region: str = "*"
    value: float
    source: Source
    note: str = ""

    _commodity = field_validator("commodity")(_commodity)

    @field_validator("stage")
    @classmethod
    def _stage_or_any(cls, v: str, info: ValidationInfo) -> str:
        return v if v == "*" else _stage(v, info)

    def override(self) -> Override:
        return Override(parameter=self.parameter, commodity=self.commodity, stage=self.stage,
                        region=self.region, value=self.value)


class RelativeQuota(_Strict):
    """An export quota as a share of the exporter's mean flow in a ``reference`` window: the
    quota's tonnage ÷ the exports of that time (``path`` values), from each ``at`` on."""

    commodity: str
    stage: str
    exporter: str
    importers: list[str] | None = Field(None, description="destination blocs; default: all")
    reference: tuple[PeriodRef, PeriodRef] = Field(description="first and last period whose "
                                                   "mean flow the path values multiply")
    path: list[PathPoint] = Field(min_length=1)
    end: PeriodRef | None = Field(None, description="last period (inclusive); default: horizon")
    source: Source
    note: str = ""

    _commodity = field_validator("commodity")(_commodity)
    _stage = field_validator("stage")(_stage)
    _exporter = field_validator("exporter")(_bloc)

    _importers = field_validator("importers")(check_importers)

    @field_validator("reference")
    @classmethod
    def _reference(cls, v: tuple[PeriodRef, PeriodRef], info: ValidationInfo
                   ) -> tuple[PeriodRef, PeriodRef]:
        first, last = (_index(r, info) for r in v)
        if first is not None and last is not None and last < first:
            raise ValueError(f"reference window {v[0]!r}…{v[1]!r} ends before it starts")
        return v

    @field_validator("path")
    @classmethod
    def _after_reference(cls, v: list[PathPoint], info: ValidationInfo) -> list[PathPoint]:
        reference = info.data.get("reference")
        facts = _facts(info)
        if reference is None or "start" not in facts:
            return v
        last_ref = period_index(reference[1], facts["start"], facts["time_step"])
        for point in v:
            if period_index(point.at, facts["start"], facts["time_step"]) <= last_ref:
                raise ValueError(f"quota point at {point.at!r} is inside the reference window; "
                                 f"allowed: after {reference[1]!r}")
        return v

    @field_validator("end")
    @classmethod
    def _end(cls, v: PeriodRef | None, info: ValidationInfo) -> PeriodRef | None:
        if v is not None:
            _index(v, info)
        return v


class Target(_Strict):
    """One observed fact and how to read it from a run (fields by metric: see ``METRICS``)."""

    name: str = Field(min_length=1)
    metric: MetricName  # type: ignore[valid-type]
    commodity: str
    stage: str
    bloc: str | None = None
    other: str | None = Field(None, description="second bloc: price_ratio, export_ratio")
    at: PeriodRef | None = None
    base: PeriodRef | None = Field(None, description="period the multiple is measured from "
                                   "(the shock, for capacity_lag)")
    window: tuple[PeriodRef, PeriodRef] | None = None
    after: int | None = Field(None, ge=1, description="periods after the peak")
    threshold: float = Field(0.001, gt=0, description="capacity_lag: share of the "
                             "baseline capacity that counts as new capacity")
    observed: float | str = Field(description="the fact; a period label for peak_period")
    tolerance: float | None = Field(None, gt=0, description="in the metric's error measure")
    source: Source
    note: str = ""

    _commodity = field_validator("commodity")(_commodity)
    _stage = field_validator("stage")(_stage)
    _blocs = field_validator("bloc", "other")(_bloc)

    @field_validator("at", "base")
    @classmethod
    def _period(cls, v: PeriodRef | None, info: ValidationInfo) -> PeriodRef | None:
        if v is not None:
            _index(v, info)
        return v

    @field_validator("window")
    @classmethod
    def _window(cls, v: tuple[PeriodRef, PeriodRef] | None, info: ValidationInfo
                ) -> tuple[PeriodRef, PeriodRef] | None:
        if v is not None:
            first, last = (_index(r, info) for r in v)
            if first is not None and last is not None and last < first:
                raise ValueError(f"window {v[0]!r}…{v[1]!r} ends before it starts")
        return v

    @field_validator("observed")
    @classmethod
    def _observed(cls, v: float | str, info: ValidationInfo) -> float | str:
        metric = info.data.get("metric")
        if metric is None:
            return v
        if metric == "peak_period":
            if not isinstance(v, str):
                raise ValueError(f"{v!r} is not a period; allowed: a period label such as "
                                 "2011Q3 (peak_period)")
            _index(v, info)
            return v
        if isinstance(v, str):
            raise ValueError(f"{v!r} is not a number; allowed: a number ({metric})")
        if METRICS[metric].error == "log" and not v > 0:
            raise ValueError(f"{v:g} is not allowed for a ratio; allowed: > 0")
        return v

    @field_validator("source")
    @classmethod
    def _line(cls, v: Source) -> Source:
        if v.line is None:
            raise ValueError("a target's source needs the line of calibration_cases.md that "
                             "quotes it (line: N)")
        return v

    @model_validator(mode="after")
    def _fields_of_metric(self, info: ValidationInfo) -> Target:
        spec = METRICS[self.metric]
        missing = [f for f in spec.needs if getattr(self, f) is None]
        if missing:
            raise ValueError(f"metric {self.metric!r} needs {', '.join(missing)} (it reads: "
                             f"{', '.join(spec.needs)})")
        if self.other is not None and self.other == self.bloc:
            raise ValueError(f"other {self.other!r} is the same bloc as bloc")
        quotas = _facts(info).get("quotas")
        if self.metric == "quota_used" and quotas is not None and (
                self.commodity, self.stage, self.bloc) not in quotas:
            raise ValueError(f"no quota on {self.commodity}/{self.stage} from {self.bloc!r} in "
                             "this case; allowed: a stage and exporter listed under quotas")
        return self

    @property
    def scored(self) -> bool:
        """Unverified (U) facts are shown beside the model, never scored or fitted."""
        return self.source.tag != "U"


class Case(_Strict):
    """A backtest case (the YAML file's top level)."""

    name: str = Field(min_length=1)
    description: str = ""
    scenario: Scenario
    market: list[MarketState] = Field(default_factory=list)
    quotas: list[RelativeQuota] = Field(default_factory=list)
    targets: Annotated[list[Target], Field(min_length=1)]

    @field_validator("scenario", mode="before")
    @classmethod
    def _scenario_file(cls, v: Any, info: ValidationInfo) -> Any:
        """A string is a scenario file beside the case; its time and names become the facts
        the rest of the case is checked against."""
        facts = info.context if isinstance(info.context, dict) else None
        if facts is not None:
            facts.setdefault("quotas", set())  # until a quotas list says otherwise
        if not isinstance(v, str):
            return v  # inline: the scenario shares its own facts while it validates
        from critmin.errors import CritminError

        base = Path(_facts(info).get("base", "."))
        try:
            scenario = load_scenario(base / v)
        except CritminError as err:  # reported at this case's `scenario:` line
            raise ValueError(str(err)) from None
        if facts is not None:
            facts.update(time_step=scenario.time_step, start=scenario.start,
                         horizon=scenario.horizon, chains=list(scenario.chains),
                         blocs=scenario.bloc_names)
        return scenario

    @field_validator("scenario")
    @classmethod
    def _no_overrides(cls, v: Scenario) -> Scenario:
        if v.overrides:
            raise ValueError("a backtest scenario has no overrides: behavioural parameters come "
                             "from the registry for every case; put the market of the time "
                             f"under market: ({', '.join(MARKET_PARAMETERS)}) with a source")
        return v

    @field_validator("market")
    @classmethod
    def _market_shares(cls, v: list[MarketState]) -> list[MarketState]:
        if v:
            from critmin.errors import CritminError
            from critmin.params import load_registry

            try:
                load_registry().with_overrides(
                    {(m.parameter, m.commodity, m.stage, m.region): m.value for m in v})
            except CritminError as err:
                raise ValueError(str(err)) from None
        return v

    @field_validator("quotas")
    @classmethod
    def _share_quotas(cls, v: list[RelativeQuota], info: ValidationInfo) -> list[RelativeQuota]:
        facts = info.context if isinstance(info.context, dict) else None
        if facts is not None:
            facts["quotas"] = {(q.commodity, q.stage, q.exporter) for q in v}
        return v

    @model_validator(mode="after")
    def _unique_names(self) -> Case:
        names = [t.name for t in self.targets]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"target name {twice[0]!r} is used twice; allowed: unique names")
        return self

    def run_scenario(self) -> Scenario:
        """The scenario to simulate: the episode with the market of its time."""
        if not self.market:
            return self.scenario
        return self.scenario.model_copy(
            update={"overrides": [m.override() for m in self.market]})


def load_case(path: Path | str) -> Case:
    """Read and validate a case file; errors name the file, line and field."""
    from critmin.scenario.yamlio import load_yaml_model

    path = Path(path)
    return load_yaml_model(path, Case, context={"base": path.parent})


def validate_case(data: dict[str, Any], base: Path | str = ".") -> Case:
    """Validate a case given as plain data (scenario paths resolve against ``base``)."""
    return Case.model_validate(data, context={"base": Path(base)})


__all__ = ["MARKET_PARAMETERS", "Case", "MarketState", "RelativeQuota", "Source",
           "Target", "load_case", "validate_case"]
