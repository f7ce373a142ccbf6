"""Policy tools as scenario YAML: the ``policies:`` and ``menu:`` sections.

One pydantic model per tool, told apart by ``kind`` (a discriminated union, so an error names the
tool's own fields). Like the shock models in :mod:`critmin.scenario.model`, every model forbids
unknown keys and checks names against the rest of the file (chains, stages, blocs, the
horizon) through the validation context the scenario fills before its fields validate, so a
mistake is reported as one line with the file, the line and the field.

Behavioural numbers a tool needs but the file may leave out (the loan rate, storage cost per
tonne-year, recycling cost …) default to the parameter registry, with its sources and ranges.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

PeriodRef = int | str


def _member(code: str) -> str:
    from critmin.scenario.model import check_member

    return check_member(code)


def _period(ref: PeriodRef, info: ValidationInfo) -> int | None:
    from critmin.scenario.model import check_period

    return check_period(ref, info)


def _bloc(name: str, info: ValidationInfo) -> str:
    from critmin.scenario.model import check_bloc

    return check_bloc(name, info)


Member = Annotated[str, AfterValidator(_member)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Tool(_Strict):
    """Fields every tool has: its name, who pays, when it acts."""

    name: str | None = Field(
        None, min_length=1,
        description="label of the tool in the menu and the results (unique); default: its kind")
    holder: str | None = Field(
        None, min_length=1,
        description="who pays and receives: the fiscal ledger the tool books into; "
                    "default: the name")
    start: PeriodRef = Field(0, description="first period the tool acts (index or label)")
    end: PeriodRef | None = Field(
        None, description="last period the tool acts (inclusive); default: the horizon")
    note: str | None = Field(None, description="context and sources of the tool's numbers")

    @property
    def label(self) -> str:
        """The tool's name, or its kind when it has none."""
        return self.name or str(getattr(self, "kind", type(self).__name__))

    @property
    def payer(self) -> str:
        """The ledger holder."""
        return self.holder or self.label

    @field_validator("start")
    @classmethod
    def _start_in_horizon(cls, v: PeriodRef, info: ValidationInfo) -> PeriodRef:
        _period(v, info)
        return v

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, v: PeriodRef | None, info: ValidationInfo) -> PeriodRef | None:
        from critmin.scenario.model import check_end

        return check_end(v, info)
        end = _period(v, info)
        start = info.data.get("start")
        facts = info.context if isinstance(info.context, dict) else {}
        if end is not None and start is not None and "start" in facts:
            from critmin.scenario.model import period_index

            if end < period_index(start, facts["start"], facts["time_step"]):
                raise ValueError(f"end {v!r} is before start {start!r}; allowed: end at or "
                                 "after start")
        return v


class _OnCommodity(_Tool):
    """A tool on one commodity of the scenario's chains."""

    commodity: str = Field(description="chain commodity slug, one of the scenario's chains")

    @field_validator("commodity")
    @classmethod
    def _known_commodity(cls, v: str, info: ValidationInfo) -> str:
        from critmin.scenario.model import check_commodity

        return check_commodity(v, info)


class _OnStage(_OnCommodity):
    """A tool on one (commodity, stage) market."""

    stage: str = Field(description="stage of the commodity's chain, e.g. separated or magnet")

    @field_validator("stage")
    @classmethod
    def _known_stage(cls, v: str, info: ValidationInfo) -> str:
        from critmin.scenario.model import check_stage

        return check_stage(v, info.data.get("commodity"))


def _blocs(v: list[str] | None, info: ValidationInfo) -> list[str] | None:
    for name in v or []:
        _bloc(name, info)
    return v


def _one_of(model: BaseModel, *names: str) -> None:
    given = [n for n in names if getattr(model, n) is not None]
    if len(given) != 1:
        raise ValueError(f"give exactly one of {', '.join(names)}"
                         + (f" (got {', '.join(given)})" if given else ""))


# -- stockpile -----------------------------------------------------------------------------------


class Financing(_Strict):
    """Where a stockpile's money comes from beyond its own budget (drawn as purchases need it:
    own budget first, then private capital, then the loan)."""

    loan_usd: float = Field(0.0, ge=0, description="loan principal available (USD)")
    loan_rate: float | None = Field(
        None, ge=0, le=1,
        description="interest per year on the drawn loan; default: the registry's "
                    "stockpile_loan_rate")
    term_years: float = Field(
        15.0, gt=0, description="years from the tool's start until the loan falls due")
    private_usd: float = Field(0.0, ge=0, description="private capital committed (USD)")


class BuyRule(_Strict):
    """When and how fast the holder buys (never beyond its target, storage or money)."""

    days_per_year: float = Field(
        gt=0, description="procurement speed: days of the members' normal consumption bought "
                          "per year at most")
    max_price_multiple: float = Field(
        1.2, gt=0, description="buy only while the members' price is at most this multiple of "
                               "the stage's reference price")
    refill: bool = Field(True, description="buy back after releases; false: buy only until the "
                                         "target is first reached")
    max_shortage_share: float | None = Field(
        None, ge=0, lt=1, description="buy only while the members' consumption is at most this "
                                      "share below normal (no rebuilding during a shortage); "
                                      "default: no such condition")


class ReleaseRule(_Strict):
    """When the holder releases stock to its members, how much, and at what price."""

    on_export_control: bool = Field(
        True, description="release while an export control on this commodity hits a "
                          "member's bloc")
    price_multiple_above: float | None = Field(
        None, gt=0, description="release while the members' price is at least this multiple "
                                "of the reference price")
    shortage_share_above: float | None = Field(
        None, gt=0, lt=1, description="release while the members' consumption is at least this "
                                      "share below normal")
    days_per_year: float = Field(
        365.0, gt=0, description="release cap: days of the members' normal consumption "
                                 "released per year at most (365 = their whole rate of use)")
    price: Literal["market", "cost"] = Field(
        "market", description="what members pay: the market price, or the holder's average "
                              "purchase cost (fixed-price access)")
    allocation: Literal["consumption", "equal"] = Field(
        "consumption", description="how releases (and purchases) are split among members")

    @model_validator(mode="after")
    def _some_trigger(self) -> ReleaseRule:
        if not (self.on_export_control or self.price_multiple_above is not None
                or self.shortage_share_above is not None):
            raise ValueError("a release rule needs a trigger; allowed: on_export_control: true, "
                             "price_multiple_above: NUMBER or shortage_share_above: SHARE")
        return self


class _StockpileBody(_OnStage):
    """A strategic stockpile's holdings, money and rules (without its members)."""

    initial_t: float = Field(0.0, ge=0, description="holdings at the start (t)")
    target_days: float = Field(
        gt=0, description="days of the members' normal consumption the holder buys up to")
    capacity_t: float | None = Field(None, gt=0, description="storage capacity (t); default: "
                                                             "no limit beyond the target")
    budget_usd: float = Field(
        0.0, ge=0, description="own funds for purchases (USD); the holder never spends more "
                               "than budget + financing + what it earns")
    financing: Financing = Field(default_factory=lambda: Financing.model_validate({}),
                                 description="loan and private capital")
    storage_cost_usd_per_t_year: float | None = Field(
        None, ge=0, description="storage and insurance per tonne-year; default: the registry's "
                                "stockpile_storage_cost")
    member_fee_share: float = Field(
        0.0, ge=0, le=1, description="share of the carrying costs (storage + interest) members "
                                     "pay as fees")
    buy: BuyRule = Field(description="purchase rule")
    release: ReleaseRule = Field(default_factory=lambda: ReleaseRule.model_validate({}),
                                 description="release rule")


class Stockpile(_StockpileBody):
    """A strategic stockpile (Project Vault, JOGMEC): buys for its members, releases in need."""

    kind: Literal["stockpile"] = Field(description="the tool: stockpile")
    members: list[Member] = Field(
        min_length=1, description="regions covered (ISO3 codes or groups): whose consumption "
                                  "sets days of cover and who receive releases")


class PooledStockpile(_StockpileBody):
    """A club's pooled stockpile: a stockpile whose members are the club's."""


# -- price floor ---------------------------------------------------------------------------------


class _FloorBody(_OnStage):
    """Strike, form and money of a producer price floor."""

    strike_usd_per_t: float | None = Field(None, gt=0, description="strike price, USD per t of "
                                                                   "the stage's product")
    strike_multiple: float | None = Field(
        None, gt=0, description="strike as a multiple of the stage's reference price")
    form: Literal["put", "cfd", "offtake"] = Field(
        "put", description="put: pays max(0, F − p)·q; cfd: pays (F − p)·q both ways; offtake: "
                           "the holder buys the covered output at F into a stockpile while "
                           "p < F")
    tranche_t_per_year: float | None = Field(
        None, gt=0, description="a covered plant of this capacity (t/yr), added in each covered "
                                "region at start; payouts cover its share of the region's output "
                                "(default: the region's whole output)")
    budget_usd: float | None = Field(
        None, ge=0, description="payout cap (USD); the floor lapses once it is spent; default: "
                                "no cap")

    @model_validator(mode="after")
    def _one_strike(self) -> _FloorBody:
        _one_of(self, "strike_usd_per_t", "strike_multiple")
        return self


def _covered(v: list[str] | None) -> list[str] | None:
    if v is not None and not v:
        raise ValueError("a floor needs covered producers; allowed: a list of ISO3 codes or "
                         "groups, e.g. [USA]")
    return v


class PriceFloor(_FloorBody):
    """A producer price floor (the DoD–MP Materials $110/kg NdPr floor)."""

    kind: Literal["price_floor"] = Field(description="the tool: price_floor")
    regions: list[Member] = Field(
        description="covered producers: regions (ISO3 codes or groups) whose output at this "
                    "stage the floor covers")

    @field_validator("regions")
    @classmethod
    def _some_producer(cls, v: list[str]) -> list[str]:
        return _covered(v) or v


class ClubFloor(_FloorBody):
    """A club's shared floor; covered regions default to the members."""

    regions: list[Member] | None = Field(
        None, description="covered producers; default: the club's members")

    @field_validator("regions")
    @classmethod
    def _some_producer(cls, v: list[str] | None) -> list[str] | None:
        return _covered(v)


# -- tariffs ---------------------------------------------------------------------------------------


class _TariffBody(_Strict):
    """An ad valorem tariff, or a variable levy that lifts landed prices to a reference."""

    rate: float | None = Field(None, ge=0, description="ad valorem rate, e.g. 0.25")
    reference_price_usd_per_t: float | None = Field(
        None, gt=0, description="variable levy: the levy lifts the landed price of covered "
                                "imports to this price (USD/t); set each period from the last "
                                "prices")
    exporters: list[str] | None = Field(
        None, description="exporting blocs the tariff applies to; default: all other blocs")

    @field_validator("exporters")
    @classmethod
    def _exporter_blocs(cls, v: list[str] | None, info: ValidationInfo) -> list[str] | None:
        return _blocs(v, info)

    @model_validator(mode="after")
    def _one_rate(self) -> _TariffBody:
        _one_of(self, "rate", "reference_price_usd_per_t")
        return self


class Tariff(_TariffBody, _OnStage):
    """A tariff on imports of one stage into some blocs (coordinated Section 232 tariffs)."""

    kind: Literal["tariff"] = Field(description="the tool: tariff")
    importers: list[str] = Field(min_length=1, description="importing blocs that levy it")

    @field_validator("importers")
    @classmethod
    def _importer_blocs(cls, v: list[str], info: ValidationInfo) -> list[str]:
        return _blocs(v, info) or v

    @model_validator(mode="after")
    def _disjoint(self) -> Tariff:
        both = set(self.importers) & set(self.exporters or [])
        if both:
            raise ValueError(f"bloc(s) {', '.join(sorted(both))} both import and export; "
                             "allowed: separate blocs")
        return self


class ClubTariff(_TariffBody):
    """The club's common external tariff on imports from outside."""

    commodity: str | None = Field(None, description="chain it applies to; default: all chains")
    stages: list[str] | None = Field(None, description="stages it applies to; default: all")

    @field_validator("commodity")
    @classmethod
    def _known_commodity(cls, v: str | None, info: ValidationInfo) -> str | None:
        from critmin.scenario.model import check_commodity

        return None if v is None else check_commodity(v, info)

    @field_validator("stages")
    @classmethod
    def _known_stages(cls, v: list[str] | None, info: ValidationInfo) -> list[str] | None:
        from critmin.scenario.model import check_stage

        commodity = info.data.get("commodity")
        if commodity is not None:
            for s in v or []:
                check_stage(s, commodity)
        return v


# -- trade club ------------------------------------------------------------------------------------


class TradeClub(_Tool):
    """A club of countries: free trade and a pledge among members, a common external tariff, a
    sourcing preference, a pooled stockpile and a shared floor."""

    kind: Literal["trade_club"] = Field(description="the tool: trade_club")
    members: list[Member] = Field(min_length=1, description="member countries (ISO3 or groups)")
    free_trade: bool = Field(True, description="no tariffs among members (other tools' tariffs "
                                               "on links between member blocs are lifted)")
    pledge: bool = Field(True, description="members do not restrict exports to each other "
                                           "(caps and export taxes between member blocs lifted)")
    external_tariff: ClubTariff | None = Field(
        None, description="common external tariff on imports from non-members")
    preference_margin: float = Field(
        0.0, ge=0, description="sourcing preference: an ad valorem margin non-members' goods "
                               "must beat (a wedge without revenue)")
    stockpile: PooledStockpile | None = Field(None, description="pooled stockpile for members")
    floor: ClubFloor | None = Field(None, description="shared producer price floor")
    cost_sharing: Literal["consumption", "equal"] | dict[str, float] = Field(
        "consumption", description="how members share the net cost: by consumption, equally, "
                                   "or explicit shares by ISO3 (e.g. GDP shares from your source)")

    @field_validator("cost_sharing")
    @classmethod
    def _shares(cls, v: Any) -> Any:
        if isinstance(v, dict):
            for code, share in v.items():
                _member(code)
                if not share >= 0:
                    raise ValueError(f"share {share:g} of {code} is negative; allowed: >= 0")
            if not sum(v.values()) > 0:
                raise ValueError("cost shares sum to 0; allowed: shares with a positive sum")
        return v


# -- investment incentive --------------------------------------------------------------------------


class Project(_Strict):
    """A capacity project the incentive supports."""

    region: Member = Field(description="where it is built (ISO3)")
    stage: str = Field(description="stage of the tool's commodity")
    capacity_t_per_year: float = Field(gt=0, description="nameplate capacity, t per year")


class Incentive(_OnCommodity):
    """Grants or concessional loans per tonne of capacity, or shorter permitting, for chosen
    projects: they start earlier, or start at all, with the support."""

    kind: Literal["incentive"] = Field(description="the tool: incentive")
    projects: list[Project] = Field(min_length=1, description="supported projects")
    form: Literal["grant", "loan"] = Field("grant", description="grant or concessional loan")
    usd_per_t_year: float = Field(
        0.0, ge=0, description="support per t/yr of capacity: grant, or loan principal")
    loan_rate: float | None = Field(
        None, ge=0, le=1, description="concessional loan rate per year; default: the registry's "
                                      "stockpile_loan_rate (a government lending rate)")
    loan_term_years: float = Field(15.0, gt=0, description="years to repay a loan (annuity)")
    permitting_cut_years: float = Field(
        0.0, ge=0, description="years cut from the lead time by faster permitting")
    committed: bool = Field(
        False, description="true: the projects start at start whatever the prices; false: each "
                           "starts once expected prices beat its incentive price net of support")
    budget_usd: float | None = Field(
        None, ge=0, description="cap on grants or loans disbursed (USD); projects beyond it do "
                                "not start; default: no cap")

    @field_validator("projects")
    @classmethod
    def _project_stages(cls, v: list[Project], info: ValidationInfo) -> list[Project]:
        from critmin.scenario.model import check_stage

        commodity = info.data.get("commodity")
        for p in v:
            check_stage(p.stage, commodity)
        return v


# -- recycling and substitution --------------------------------------------------------------------


class Recycling(_OnStage):
    """A recovery-rate target with a ramp: end-of-life scrap recovered and sold at this stage;
    the programme pays recyclers the gap between their cost and the market price."""

    kind: Literal["recycling"] = Field(description="the tool: recycling")
    members: list[Member] = Field(min_length=1, description="where scrap is collected and the "
                                                            "recovered material is sold")
    recovery_rate: float = Field(gt=0, le=1, description="target share of end-of-life scrap "
                                                         "recovered")
    ramp_years: float = Field(0.0, ge=0, description="years to reach the target from start")
    cost_usd_per_t: float | None = Field(
        None, gt=0, description="recyclers' cost per t recovered; default: the registry's "
                                "recycling_cost_multiple × the reference price")
    budget_usd: float | None = Field(None, ge=0, description="cap on subsidies (USD); recovery "
                                                             "stops once spent; default: no cap")


class SubstitutionRD(_OnCommodity):
    """Research that raises how much demand can be substituted and how fast (after a lag)."""

    kind: Literal["substitution_rd"] = Field(description="the tool: substitution_rd")
    regions: list[Member] | None = Field(None, description="where the results are used; "
                                                           "default: everywhere")
    budget_usd: float = Field(gt=0, description="research spending (USD)")
    years: float = Field(5.0, gt=0, description="years over which it is spent, from start")


Policy = Annotated[
    Stockpile | PriceFloor | Tariff | TradeClub | Incentive | Recycling | SubstitutionRD,
    Field(discriminator="kind"),
]
#: Tools whose size is money (the menu scales them to the common budget).
BUDGETED = ("stockpile", "price_floor", "incentive", "recycling", "substitution_rd", "trade_club")


# -- the menu --------------------------------------------------------------------------------------


class Combination(_Strict):
    """A package of tools run together."""

    name: str = Field(min_length=1, description="label of the package in the menu")
    policies: list[str] = Field(min_length=2, description="names of the tools in the package")


class Menu(_Strict):
    """How ``critmin menu`` compares the tools: the common budget, where to measure, packages."""

    budget_usd: float | None = Field(
        None, ge=0, description="common budget (USD): each tool with a money size gets it alone; "
                                "a package shares it in proportion to its tools' own budgets")
    draws: int = Field(1, ge=1, le=10_000, description="Monte Carlo draws per option (1 = "
                                                       "central values)")
    commodity: str | None = Field(
        None, description="chain whose final stage outcomes are measured at (final demand, "
                          "where GDP is at risk); default: the first chain")
    focus: list[str] | None = Field(
        None, description="blocs whose outcomes count; default: every bloc that is not the "
                          "exporter of a trade shock")
    combinations: list[Combination] = Field(default_factory=list,
                                            description="packages to run besides each tool alone")

    @field_validator("commodity")
    @classmethod
    def _known_commodity(cls, v: str | None, info: ValidationInfo) -> str | None:
        from critmin.scenario.model import check_commodity

        return None if v is None else check_commodity(v, info)

    @field_validator("focus")
    @classmethod
    def _focus_blocs(cls, v: list[str] | None, info: ValidationInfo) -> list[str] | None:
        return _blocs(v, info)
