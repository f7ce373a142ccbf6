"""The parameter registry: every behavioural number of the market model, with range and source.

Numbers that no data table gives (elasticities, lead times, inventory cover, shares of stages
the USGS tables do not cover …) live in ``registry.csv`` beside this module, one row per
(commodity, stage, region, parameter); ``*`` means "applies to all". Each row carries
``value, low, high, unit, source, note``: ``source`` is a citation or the word
``assumption``, and Monte Carlo draws cover every ``[low, high]``. The file is versioned by its
SHA-256, which every result records.

Lookups take the most specific row: an exact commodity beats a commodity ``*``, then an exact
stage beats a stage ``*``, then an exact region beats a region ``*``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, ValidationError

from critmin.errors import CritminError, UnknownNameError

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_PATH: Final = Path(__file__).resolve().parent / "registry.csv"
COLUMNS: Final = ("commodity", "stage", "region", "parameter", "value", "low", "high", "unit",
                  "source", "note")
KEY_FIELDS: Final = ("parameter", "commodity", "stage", "region")
ANY: Final = "*"
SHARE_TOLERANCE: Final = 1e-6
Method = Literal["lhs", "sobol", "random"]
Key = tuple[str, str, str, str]


@dataclass(frozen=True)
class ParamSpec:
    """What a parameter means and the values it can take at all (checked on low, value, high)."""

    description: str
    lower: float = -math.inf
    upper: float = math.inf
    regional: bool = False  # rows name a region, and values sum to 1 per commodity and stage
    positive: bool = False  # the lower bound itself is excluded (a yield of 0 divides by 0)

    def allows(self, number: float) -> bool:
        """Whether ``number`` is a value this parameter can take."""
        above = self.lower < number if self.positive else self.lower <= number
        return math.isfinite(number) and above and number <= self.upper


_INF = math.inf
#: Every parameter the engine reads. A row with another name is an error.
PARAMETERS: Final[dict[str, ParamSpec]] = {
    "supply_elasticity": ParamSpec(
        "short-run price elasticity of supply from installed capacity", 0),
    "demand_elasticity": ParamSpec("short-run price elasticity of demand", -_INF, 0),
    "choke_price_multiple": ParamSpec(
        "choke price ÷ reference price: no one buys (or stocks) at or above it", 1,
        positive=True),
    "choke_taper_ratio": ParamSpec(
        "choke price ÷ the price at which buyers start to leave (demand tapers to zero "
        "linearly in log price in between)", 1, positive=True),
    "utilisation_ref": ParamSpec("share of capacity used at the reference price", 0, 1),
    "price_ref": ParamSpec("reference price p0 where the data have none (USD/t)", 0),
    "inventory_cover_months": ParamSpec("commercial inventory target, months of demand", 0),
    "inventory_adjust_rate": ParamSpec(
        "fraction of the gap to target cover closed per quarter", 0, 1),
    "inventory_price_sensitivity": ParamSpec("fall in desired cover per unit log price rise", 0),
    "announce_cover_uplift": ParamSpec(
        "fractional rise of desired cover once a control is announced", 0),
    "substitution_max_rate": ParamSpec(
        "fastest substitution and thrifting, share of demand per year", 0, 1),
    "substitution_price_elasticity": ParamSpec(
        "target substitution share per unit log price multiple", 0),
    "substitution_cap": ParamSpec("largest share of demand that can be substituted", 0, 1),
    "lead_time_years": ParamSpec("years from a start decision to first output of new capacity", 0),
    "restart_lead_time_years": ParamSpec("years to restart capacity in care and maintenance", 0),
    "ramp_up_years": ParamSpec("years from first output to the achieved share of nameplate", 0),
    "ramp_achievement": ParamSpec("share of nameplate capacity new projects reach", 0, 1),
    "incentive_price_multiple": ParamSpec(
        "incentive price ÷ reference price at which projects start", 0),
    "cash_cost_multiple": ParamSpec("cash cost ÷ reference price of marginal capacity", 0),
    "closure_quarters": ParamSpec("quarters below cash cost before care and maintenance", 0),
    "capacity_growth_max": ParamSpec("largest share of capacity that can be started per year", 0),
    "demand_growth": ParamSpec("baseline demand growth per year", -1),
    "stage_yield": ParamSpec("t of this stage's output per t of upstream input", 0,
                             positive=True),
    "byproduct_recovery": ParamSpec("t of by-product per t of host output (note: host=<slug>)", 0),
    "capacity_share": ParamSpec(
        "share of stage capacity by region where the data have none", 0, 1, regional=True),
    "demand_share": ParamSpec("share of stage demand by region or bloc", 0, 1, regional=True),
    "transport_wedge": ParamSpec("ad valorem price wedge between regions", 0),
    "leakage_share": ParamSpec(
        "share of a destination ban that leaks through third countries", 0, 1),
    "value_added_per_t": ParamSpec("downstream value added at risk per t of shortfall (USD/t)", 0),
    "price_expectation_weight": ParamSpec(
        "share of the gap between expected and last price closed per quarter", 0, 1),
    "downstream_intensity": ParamSpec(
        "t of this stage per unit of a downstream product (see unit)", 0),
    # policy tools (critmin.policy)
    "stockpile_loan_rate": ParamSpec("interest per year on a stockpile's (or project's) loan",
                                     0, 1),
    "stockpile_storage_cost": ParamSpec("storage and insurance of stockpiled material, USD per "
                                        "t-year", 0),
    "recycling_cost_multiple": ParamSpec("recyclers' cost per t recovered ÷ reference price", 0),
    "product_lifetime_years": ParamSpec("years from use to end-of-life scrap", 0),
    "project_discount_rate": ParamSpec("cost of capital of new capacity, share per year", 0, 1),
    "project_life_years": ParamSpec("years over which project capital is recovered", 0,
                                    positive=True),
    "rd_substitution_cap_gain": ParamSpec(
        "rise of the substitution cap per USD 1 billion of research", 0, 1),
    "rd_substitution_speed_gain": ParamSpec(
        "rise of the fastest substitution rate per USD 1 billion of research", 0, 1),
    "rd_lag_years": ParamSpec("years from research spending to substitutes in use", 0),
}

_SLUG = r"^(\*|[a-z0-9][a-z0-9-]*)$"
_REGION = r"^(\*|[A-Za-z0-9][A-Za-z0-9_-]*)$"
_HOST = re.compile(r"\bhost=([a-z0-9-]+)")
_FORMATS = {
    "commodity": "a lowercase slug such as rare-earths, or *",
    "stage": "a lowercase slug such as mine, or *",
    "region": "an ISO3 code, a bloc name such as EU27, ROW, or *",
}


class RegistryError(CritminError):
    """A registry file that does not validate: ``FILE:LINE: field 'x': …``."""

    def __init__(self, path: Path | str, line: int | None, field_name: str | None,
                 message: str) -> None:
        self.path, self.line, self.field = str(path), line, field_name
        where = f"{path}:{line}" if line is not None else str(path)
        what = f"field {field_name!r}: {message}" if field_name else message
        super().__init__(f"{where}: {what}")


class RegistryRow(BaseModel):
    """One row of the registry as read from the CSV (types and formats; ranges come after)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    commodity: str = Field(pattern=_SLUG)
    stage: str = Field(pattern=_SLUG)
    region: str = Field(pattern=_REGION)
    parameter: str
    value: FiniteFloat
    low: FiniteFloat
    high: FiniteFloat
    unit: str = Field(min_length=1)
    source: str = Field(min_length=1)
    note: str = ""


@dataclass(frozen=True, eq=False)
class Registry:
    """The validated registry: ``table`` (the CSV's columns) and its ``version`` string."""

    table: pd.DataFrame
    version: str
    path: Path | None = None
    lines: tuple[int, ...] = ()
    _index: dict[Key, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys = zip(*(self.table[c] for c in KEY_FIELDS), strict=True)
        object.__setattr__(self, "_index", {k: i for i, k in enumerate(keys)})

    # -- lookups ---------------------------------------------------------------------------

    @property
    def commodities(self) -> list[str]:
        """Commodities with rows of their own (``*`` excluded)."""
        return sorted(set(self.table.commodity) - {ANY})

    @property
    def keys(self) -> list[str]:
        """One ``parameter|commodity|stage|region`` key per row, in file order."""
        return ["|".join(k) for k in self._index]

    def value(self, parameter: str, commodity: str, stage: str = ANY, region: str = ANY) -> float:
        """The value of the most specific row for (commodity, stage, region)."""
        return float(self.table.value.iat[self._lookup(parameter, commodity, stage, region)])

    def bounds(self, parameter: str, commodity: str, stage: str = ANY, region: str = ANY
               ) -> tuple[float, float]:
        """(low, high) of the row :meth:`value` would use."""
        i = self._lookup(parameter, commodity, stage, region)
        return float(self.table.low.iat[i]), float(self.table.high.iat[i])

    def row(self, parameter: str, commodity: str, stage: str = ANY, region: str = ANY) -> pd.Series:
        """The whole row :meth:`value` would use (unit, source and note included)."""
        return self.table.iloc[self._lookup(parameter, commodity, stage, region)]

    def rows(self, commodity: str, stage: str | None = None) -> pd.DataFrame:
        """Rows that apply to a commodity (its own and the ``*`` ones), optionally one stage."""
        table = self.table
        mask = table.commodity.isin([commodity, ANY])
        if stage is not None:
            mask &= table.stage.isin([stage, ANY])
        return table[mask].reset_index(drop=True)

    def shares(self, parameter: str, commodity: str, stage: str) -> pd.Series:
        """Regional shares (``capacity_share`` / ``demand_share``) of one stage: region → share."""
        self._spec(parameter)
        table = self.table
        hit = table[(table.parameter == parameter) & (table.commodity == commodity)
                    & (table.stage == stage)]
        if hit.empty:
            known = table[table.parameter == parameter]
            raise UnknownNameError(f"{parameter} stage", f"{commodity}/{stage}",
                                   known.commodity + "/" + known.stage)
        return hit.set_index("region").value.rename(parameter)

    def _spec(self, parameter: str) -> ParamSpec:
        if parameter not in PARAMETERS:
            raise UnknownNameError("parameter", parameter, PARAMETERS)
        return PARAMETERS[parameter]

    def _lookup(self, parameter: str, commodity: str, stage: str, region: str) -> int:
        self._spec(parameter)
        for c in dict.fromkeys((commodity, ANY)):
            for s in dict.fromkeys((stage, ANY)):
                for r in dict.fromkeys((region, ANY)):
                    i = self._index.get((parameter, c, s, r))
                    if i is not None:
                        return i
        have = [k for k in self._index if k[0] == parameter]
        raise UnknownNameError(f"{parameter} row for", f"{commodity}/{stage}/{region}",
                               ["/".join(k[1:]) for k in have])

    # -- variants and draws ------------------------------------------------------------------

    def with_overrides(self, overrides: Mapping[Key | str, float]) -> Registry:
        """A copy with some values fixed (``low = value = high``, source ``override``).

        Keys are ``(parameter, commodity, stage, region)`` tuples or ``"p|c|s|r"`` strings. A
        key without a row of its own gets a new row (unit copied from the row it overrides).
        """
        import pandas as pd

        table = self.table.copy()
        added: list[dict[str, object]] = []
        index = dict(self._index)
        clean: dict[str, float] = {}
        for raw_key, raw_value in overrides.items():
            key = _parse_key(raw_key)
            parameter, commodity, stage, region = key
            value = float(raw_value)
            spec = self._spec(parameter)
            if not spec.allows(value):
                raise CritminError(f"override {'|'.join(key)} = {value}: allowed "
                                   f"{spec.lower} {'<' if spec.positive else '≤'} value ≤ "
                                   f"{spec.upper}")
            clean["|".join(key)] = value
            if key in index:
                i = index[key]
                old = table.iloc[i]
                table.loc[table.index[i], ["value", "low", "high", "source", "note"]] = [
                    value, value, value, "override",
                    f"was {old.value:g} [{old.low:g}, {old.high:g}] ({old.source})"]
            else:
                base = self.row(parameter, commodity, stage, region)
                added.append({**dict(zip(KEY_FIELDS, key, strict=True)), "value": value,
                              "low": value, "high": value, "unit": base.unit, "source": "override",
                              "note": f"added; the general row is {base.value:g} "
                                      f"[{base.low:g}, {base.high:g}]"})
                index[key] = len(index)
        if added:
            table = pd.concat([table, pd.DataFrame(added)[list(COLUMNS)]], ignore_index=True)
        digest = hashlib.sha256(json.dumps(clean, sort_keys=True).encode()).hexdigest()[:8]
        new = Registry(table, f"{self.version}+overrides@{digest}", self.path,
                       self.lines + (0,) * len(added))
        _check_shares(new, self.path or "<overrides>")
        return new

    def central(self) -> pd.DataFrame:
        """One row of central values, with the columns of :meth:`draw`."""
        import pandas as pd

        return pd.DataFrame([self.table.value.to_numpy()], columns=self.keys).rename_axis("draw")

    def draw(self, n_draws: int, seed: int, method: Method = "lhs") -> pd.DataFrame:
        """``n_draws`` × one column per row, uniform on each row's [low, high].

        ``lhs`` (Latin hypercube) and ``sobol`` (scrambled; needs a power-of-two count) come from
        ``scipy.stats.qmc``; ``random`` is plain uniform. The same seed gives the same draws.
        Shares are drawn row by row; renormalise them per stage where they must sum to 1.
        """
        import numpy as np
        import pandas as pd
        from scipy.stats import qmc

        if n_draws < 1:
            raise CritminError(f"n_draws must be at least 1 (got {n_draws})")
        dims = len(self.table)
        if method == "lhs":
            unit = qmc.LatinHypercube(dims, rng=np.random.default_rng(seed)).random(n_draws)
        elif method == "sobol":
            if n_draws & (n_draws - 1):
                raise CritminError(f"sobol draws need a power of two (got {n_draws}); use "
                                   f"{1 << n_draws.bit_length()} or method 'lhs'")
            with warnings.catch_warnings():  # Sobol warns above 2**30 dims·draws only
                warnings.simplefilter("ignore", UserWarning)
                sobol = qmc.Sobol(dims, scramble=True, rng=np.random.default_rng(seed))
                unit = sobol.random(n_draws)
        elif method == "random":
            unit = np.random.default_rng(seed).random((n_draws, dims))
        else:
            raise CritminError(f"unknown draw method {method!r}; allowed: lhs, sobol, random")
        low = self.table.low.to_numpy(float)
        high = self.table.high.to_numpy(float)
        return pd.DataFrame(low + unit * (high - low), columns=self.keys).rename_axis("draw")

    def renormalise_shares(self, draws: pd.DataFrame) -> pd.DataFrame:
        """Draws with each stage's regional shares divided by their sum, so they sum to 1 again.

        Independent uniform draws of shares do not add up; the relative weights do carry the
        uncertainty, so dividing by the per-draw total keeps it and restores mass balance.
        """
        import numpy as np

        table = self.table
        regional = table.parameter.map(lambda p: PARAMETERS[p].regional).to_numpy(bool)
        out = draws.copy()
        groups = table[regional].groupby(["parameter", "commodity", "stage"], sort=False).indices
        values = out.to_numpy(float)
        for positions in groups.values():
            columns = np.flatnonzero(regional)[positions]
            values[:, columns] /= values[:, columns].sum(axis=1, keepdims=True)
        out.iloc[:, :] = values
        return out


def load_registry(path: Path | str | None = None) -> Registry:
    """Read and validate a registry CSV (the shipped one by default)."""
    import pandas as pd

    path = Path(path) if path is not None else DEFAULT_PATH
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CritminError(f"{path}: registry file not found") from None
    except IsADirectoryError:
        raise CritminError(f"{path}: is a directory, expected a registry CSV") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise RegistryError(path, None, None, f"not UTF-8 text (byte {err.start})") from None
    rows, lines = _parse_rows(text, path)
    table = pd.DataFrame([r.model_dump() for r in rows], columns=list(COLUMNS))
    table = table.astype({"value": float, "low": float, "high": float})
    registry = Registry(table, f"{path.name}@{hashlib.sha256(raw).hexdigest()[:12]}", path,
                        tuple(lines))
    _check_shares(registry, path)
    return registry


# ---------------------------------------------------------------------------------------------


def _parse_key(key: Key | str) -> Key:
    parts = tuple(key.split("|")) if isinstance(key, str) else tuple(key)
    if len(parts) != 4:
        raise CritminError(f"override key {key!r}: expected parameter|commodity|stage|region")
    return (str(parts[0]), str(parts[1]), str(parts[2]), str(parts[3]))


def _parse_rows(text: str, path: Path) -> tuple[list[RegistryRow], list[int]]:
    """Rows with the line each starts on; blank lines and ``#`` comment lines are skipped."""
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    rows: list[RegistryRow] = []
    lines: list[int] = []
    seen: dict[Key, int] = {}
    end = 0
    for record in reader:
        start, end = end + 1, reader.line_num
        if not record or not "".join(record).strip() or record[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = [c.strip() for c in record]
            if tuple(header) != COLUMNS:
                raise RegistryError(path, start, None, f"header must be {','.join(COLUMNS)}")
            continue
        if len(record) != len(COLUMNS):
            raise RegistryError(path, start, None,
                                f"expected {len(COLUMNS)} columns, found {len(record)}")
        try:
            row = RegistryRow.model_validate(dict(zip(COLUMNS, record, strict=True)))
        except ValidationError as err:
            detail = err.errors(include_url=False)[0]
            name = str(detail["loc"][0]) if detail["loc"] else None
            pattern = detail["type"] == "string_pattern_mismatch"
            what = _FORMATS.get(name or "", "") if pattern else ""
            raise RegistryError(path, start, name, f"{detail['input']!r} is not allowed; allowed: "
                                f"{what}" if what else f"{detail['msg']} (got {detail['input']!r})"
                                ) from None
        _check_row(row, path, start)
        key = (row.parameter, row.commodity, row.stage, row.region)
        if key in seen:
            raise RegistryError(path, start, "region", f"duplicate of line {seen[key]} for "
                                f"{'|'.join(key)}")
        seen[key] = start
        rows.append(row)
        lines.append(start)
    if header is None:
        raise RegistryError(path, 1, None, f"empty file; header must be {','.join(COLUMNS)}")
    return rows, lines


def _check_row(row: RegistryRow, path: Path, line: int) -> None:
    """Ranges and per-parameter rules that the pydantic types cannot say."""
    if row.parameter not in PARAMETERS:
        close = UnknownNameError("parameter", row.parameter, PARAMETERS)
        raise RegistryError(path, line, "parameter", str(close))
    spec = PARAMETERS[row.parameter]
    for name in ("low", "value", "high"):
        number = getattr(row, name)
        if not spec.allows(number):
            raise RegistryError(path, line, name, f"{number:g} is not allowed for {row.parameter}; "
                                f"allowed: {_allowed_text(spec)}")
    if not row.low <= row.value <= row.high:
        raise RegistryError(path, line, "value", f"need low ≤ value ≤ high, got "
                            f"{row.low:g} ≤ {row.value:g} ≤ {row.high:g}")
    if spec.regional and row.region == ANY:
        raise RegistryError(path, line, "region", f"{row.parameter} rows must name a region "
                            "(ISO3, a bloc name or ROW), not '*'")
    if spec.regional and ANY in (row.commodity, row.stage):
        raise RegistryError(path, line, "stage" if row.stage == ANY else "commodity",
                            f"{row.parameter} rows must name their commodity and stage")
    if row.parameter == "byproduct_recovery" and not _HOST.search(row.note):
        raise RegistryError(path, line, "note", "byproduct_recovery needs host=<commodity> in note")


def _check_shares(registry: Registry, path: Path | str) -> None:
    """Regional shares sum to 1 per (parameter, commodity, stage)."""
    table = registry.table
    regional = [p for p, spec in PARAMETERS.items() if spec.regional]
    sub = table[table.parameter.isin(regional)]
    if sub.empty:
        return
    totals = sub.groupby(["parameter", "commodity", "stage"], sort=False).value.sum()
    for (parameter, commodity, stage), total in totals.items():
        if abs(total - 1.0) > SHARE_TOLERANCE:
            first = sub.index[(sub.parameter == parameter) & (sub.commodity == commodity)
                              & (sub.stage == stage)][0]
            line = registry.lines[first] if first < len(registry.lines) else None
            raise RegistryError(path, line or None, "value",
                                f"{parameter} of {commodity}/{stage} sums to {total:.6g}; "
                                f"the regions' shares must sum to 1 (±{SHARE_TOLERANCE:g})")


def parameter_table(registry: Registry | None = None) -> pd.DataFrame:
    """One row per parameter: description, allowed range, and how many rows/commodities use it."""
    import pandas as pd

    rows: Iterable[dict[str, object]] = (
        {"parameter": name, "description": spec.description,
         "allowed": _allowed_text(spec), "regional": spec.regional}
        for name, spec in PARAMETERS.items())
    frame = pd.DataFrame(list(rows))
    if registry is not None:
        use = registry.table.groupby("parameter").agg(
            rows=("value", "size"), commodities=("commodity", lambda c: ",".join(sorted(set(c)))))
        frame = frame.join(use, on="parameter")
        frame["rows"] = frame["rows"].fillna(0).astype(int)
        frame["commodities"] = frame["commodities"].fillna("")
    return frame


def _allowed_text(spec: ParamSpec) -> str:
    lo = "" if spec.lower == -math.inf else f"{spec.lower:g} {'<' if spec.positive else '≤'} "
    hi = "" if spec.upper == math.inf else f" ≤ {spec.upper:g}"
    return f"{lo}x{hi}" if lo or hi else "any"
