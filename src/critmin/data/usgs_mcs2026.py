"""Reader for the USGS MCS 2026 data release: one long cp1252 table of every commodity.

It yields three curated tables: world facts (production, capacity, reserves by country),
US salient statistics, and US import sources. Every data row of the file ends in exactly one
of them or in the build report; :func:`read_mcs2026` returns the count so tests can check it.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from critmin.data import schema
from critmin.data.catalog import commodity_slug, normalise_unit
from critmin.data.country_names import UnmappedCountry, to_iso3
from critmin.data.parsing import Cell, parse_cell, strip_footnotes
from critmin.errors import DataBuildError

RELATIVE_PATH = "usgs_mcs/mcs2026/MCS2026_Commodities_Data.csv"
EDITION = 2026
SOURCE = "USGS MCS"
COLUMNS = (
    "MCS chapter",
    "Section",
    "Commodity",
    "Country",
    "Statistics",
    "Statistics_detail",
    "Unit",
    "Year",
    "Value",
    "Notes",
    "Is critical mineral 2025",
    "Other notes",
)

#: USGS ``Statistics`` in the salient section → curated statistic.
SALIENT_STATISTICS = {
    "Production": "production",
    "Import": "imports",
    "Export": "exports",
    "Consumption": "consumption",
    "Price": "price",
    "Net import reliance": "net_import_reliance",
    "Stock": "stocks",
    "Employment": "employment",
}

#: Price units → factor to US dollars per metric ton.
PRICE_UNITS_TO_USD_PER_T = {
    "dollars per pound": 2204.62262,
    "dollars per kilogram": 1000.0,
    "dollars per metric ton": 1.0,
    "dollars per ton": 1.0,
}

_STAGE_WORDS = ("mine", "refinery", "smelter", "plant", "primary", "sponge")
_ROUNDED = re.compile(r"[\s,:]*\(?rounded\)?\s*$", re.I)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def stage_of(detail: str, statistic: str) -> str:
    """Stage for a USGS series label: ``'Mine production: Ilmenite'`` → ``'mine-ilmenite'``.

    The stage word (mine, refinery, smelter, plant, primary) gives the stage; a sub-series after
    a colon or dash (ilmenite, rutile, kaolin…) is appended so each series has its own stage.
    Reserves are in the ground: they take the ``mine`` stage. Capacity labels without a stage
    word (``Production capacity``) get ``production``; :func:`_align_capacity_stages` then moves
    them onto the commodity's only production stage.
    """
    text = _ROUNDED.sub("", strip_footnotes(detail)).strip()
    parts = [p.strip() for p in re.split(r"[:—]", text) if p.strip()]
    base_idx = next(
        (i for i, p in enumerate(parts) if any(w in p.lower() for w in _STAGE_WORDS)), None
    )
    if statistic == "reserves":
        base = "mine"
        subs = [p for p in parts if "reserve" not in p.lower()]
    elif base_idx is not None:
        low = parts[base_idx].lower()
        base = next(w for w in _STAGE_WORDS if w in low)
        subs = parts[:base_idx] + parts[base_idx + 1 :]
    else:
        head = (
            re.sub(r"\b(production|capacity|yearend)\b", "", parts[0], flags=re.I) if parts else ""
        )
        base = _slug(head) or "production"
        subs = parts[1:]
    sub = _slug(" ".join(subs))
    return f"{base}-{sub}" if sub else base


def _basis(other_notes: str) -> str:
    """``'(Data in metric tons, rare-earth-oxide (REO) equivalent, unless …)'`` → the basis.

    The parenthesis is matched by depth, since the basis itself may hold one ("(REO)").
    """
    text = other_notes or ""
    begin = text.find("(Data in ")
    if begin < 0:
        return ""
    depth, stop = 0, len(text)
    for i in range(begin, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            stop = i
            break
    inner = re.sub(r",?\s*unless otherwise specified\s*$", "", text[begin + 9 : stop]).strip()
    _, _, basis = inner.partition(",")
    return basis.strip().rstrip(",")


@dataclass
class Mcs2026:
    """What the reader produced; ``rows_read`` counts data rows in the file."""

    facts: pd.DataFrame
    salient: pd.DataFrame
    import_sources: pd.DataFrame
    catalog: pd.DataFrame
    report: list[dict[str, object]] = field(default_factory=list)
    rows_read: int = 0
    rows_by_table: dict[str, int] = field(default_factory=dict)


def _read_rows(path: Path, rel: str) -> list[tuple[int, dict[str, str]]]:
    """Rows with their 1-based line numbers; a malformed row raises DataBuildError."""
    start = 1
    try:
        with path.open(encoding="cp1252", newline="") as handle:
            reader = csv.reader(handle, strict=True)
            header = next(reader, None)
            if header is None:
                raise DataBuildError(rel, 1, "empty file: expected the header row")
            if tuple(h.strip() for h in header) != COLUMNS:
                raise DataBuildError(
                    rel, 1, f"unexpected header {header!r}; expected {list(COLUMNS)}"
                )
            rows = []
            start = reader.line_num + 1  # a quoted field may span lines: report where it began
            for record in reader:
                line, start = start, reader.line_num + 1
                if not any(cell.strip() for cell in record):
                    continue
                if len(record) != len(COLUMNS):
                    raise DataBuildError(
                        rel, line, f"{len(record)} fields, expected {len(COLUMNS)}: {record[:4]!r}…"
                    )
                rows.append((line, dict(zip(COLUMNS, record, strict=True))))
    except FileNotFoundError as err:
        raise DataBuildError(rel, None, "file not found") from err
    except UnicodeDecodeError as err:
        raise DataBuildError(rel, None, f"not cp1252 text: {err}") from err
    except csv.Error as err:
        raise DataBuildError(rel, start, f"malformed CSV: {err}") from err
    return rows


class _Skip(Exception):
    """A row that becomes a report entry instead of a curated row."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _iso3(country: str) -> str:
    try:
        return to_iso3(country)
    except UnmappedCountry:
        raise _Skip("unmapped_name", f"country {country!r} maps to no ISO3 code") from None


def _year(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"Year {text!r} is not a year") from None


def _world_row(r: dict[str, str], slug: str, cell: Cell, note: str) -> dict[str, object]:
    statistic = r["Statistics"].strip().lower()
    if statistic not in ("production", "capacity", "reserves"):
        raise _Skip("skipped_row", f"world statistic {statistic!r} not curated")
    unit, factor = normalise_unit(r["Unit"])
    return {
        "commodity": slug, "stage": stage_of(r["Statistics_detail"], statistic),
        "iso3": _iso3(r["Country"]), "country": strip_footnotes(r["Country"]),
        "year": _year(r["Year"]), "statistic": statistic, "value": cell.value * factor,
        "unit": unit, "basis": _basis(r["Other notes"]), "flag": cell.flag, "note": note,
        "raw_unit": r["Unit"].strip(), "detail": r["Statistics_detail"].strip(),
    }  # fmt: skip


def _salient_row(r: dict[str, str], slug: str, cell: Cell, note: str) -> dict[str, object]:
    raw_unit = r["Unit"].strip()
    unit, factor = normalise_unit(raw_unit)
    if raw_unit.lower() in PRICE_UNITS_TO_USD_PER_T:
        unit, factor = "USD/t", PRICE_UNITS_TO_USD_PER_T[raw_unit.lower()]
    return {
        "commodity": slug, "year": _year(r["Year"]),
        "statistic": SALIENT_STATISTICS.get(r["Statistics"].strip(), "other"),
        "detail": r["Statistics_detail"].strip(), "value": cell.value * factor, "unit": unit,
        "flag": cell.flag, "nir_bound": cell.bound or "", "note": note,
    }  # fmt: skip


def _import_row(r: dict[str, str], slug: str, cell: Cell, note: str) -> dict[str, object]:
    return {
        "commodity": slug, "detail": r["Statistics_detail"].strip(),
        "period": r["Year"].strip(), "iso3": _iso3(r["Country"]),
        "country": strip_footnotes(r["Country"]), "share_pct": cell.value, "note": note,
    }  # fmt: skip


def _table_of(section: str) -> str | None:
    if section.startswith("World"):
        return "facts"
    if section.startswith("Salient"):
        return "us_salient"
    return "us_import_sources" if section == "Import Sources" else None


_ROW_BUILDERS = {"facts": _world_row, "us_salient": _salient_row, "us_import_sources": _import_row}


def read_mcs2026(raw_root: Path) -> Mcs2026:
    """Read MCS 2026 into facts, salient statistics, import sources and catalog rows."""
    rel = RELATIVE_PATH
    rows = _read_rows(Path(raw_root) / rel, rel)
    report: list[dict[str, object]] = []
    out: dict[str, list[dict[str, object]]] = {name: [] for name in _ROW_BUILDERS}
    labels: dict[str, tuple[str, dict[str, str]]] = {}
    counted = dict.fromkeys([*_ROW_BUILDERS, "skipped"], 0)
    for line, r in rows:
        label = r["Commodity"].strip()
        slug = commodity_slug(label)
        labels.setdefault(slug, (label, r))
        try:
            cell = parse_cell(r["Value"])
        except ValueError as err:
            report.append(
                {"kind": "unparsed_value", "file": rel, "line": line, "message": str(err)}
            )
            cell = parse_cell(None)._replace(text=r["Value"].strip())
        if cell.flag == "reported" and r["Notes"].strip().lower().startswith("estimated"):
            cell = cell._replace(flag="estimated")
        note = " -- ".join(
            x for x in (r["Notes"].strip(), cell.text and f"published: {cell.text}") if x
        )
        table = _table_of(r["Section"].strip())
        try:
            if table is None:
                raise _Skip("skipped_row", f"section {r['Section'].strip()!r} not curated")
            row = _ROW_BUILDERS[table](r, slug, cell, note)
        except _Skip as skip:
            report.append({"kind": skip.kind, "file": rel, "line": line, "message": str(skip)})
            counted["skipped"] += 1
            continue
        except ValueError as err:  # a malformed row (a Year that is not a number)
            raise DataBuildError(rel, line, str(err)) from None
        out[table].append(
            {"source": SOURCE, "edition": EDITION, **row, "raw_file": rel, "raw_line": line}
        )
        counted[table] += 1
    facts, salient, imports = out["facts"], out["us_salient"], out["us_import_sources"]
    facts_df = fold_country_qualifiers(
        _align_capacity_stages(pd.DataFrame(facts, columns=list(schema.FACTS_COLUMNS)))
    )
    catalog = pd.DataFrame(
        [
            {
                "commodity": slug,
                "name": label,
                "usgs_label": label,
                "basis": _basis(row["Other notes"]),
                "critical_2025": row["Is critical mineral 2025"].strip() == "Yes",
            }
            for slug, (label, row) in sorted(labels.items())
        ]
    )
    report.extend(_conversion_report(facts_df, rel))
    return Mcs2026(
        facts=facts_df,
        salient=pd.DataFrame(salient, columns=list(schema.SALIENT_COLUMNS)),
        import_sources=pd.DataFrame(imports, columns=list(schema.IMPORT_SOURCES_COLUMNS)),
        catalog=catalog,
        report=report,
        rows_read=len(rows),
        rows_by_table=counted,
    )


def _align_capacity_stages(facts: pd.DataFrame) -> pd.DataFrame:
    """Put capacity series with no stage word on the commodity's single production stage."""
    prod_stages = facts[facts.statistic == "production"].groupby("commodity")["stage"].unique()
    generic = (facts.statistic == "capacity") & facts.stage.isin(["production", "yearend"])
    for commodity in facts.loc[generic, "commodity"].unique():
        stages = prod_stages.get(commodity, [])
        if len(stages) == 1:
            facts.loc[generic & (facts.commodity == commodity), "stage"] = stages[0]
    return facts


def fold_country_qualifiers(facts: pd.DataFrame) -> pd.DataFrame:
    """Put one country's qualified row (``'Mine production: processed'``) back in its series.

    USGS qualifies some countries' figures (Denmark's diatomite is "processed"); those rows
    count in the series' world total. A sub-stage with no world-total row of its own, whose
    countries are absent from the base stage that has one, is such a qualifier: it is folded
    into the base stage, and ``detail`` keeps the qualifier.
    """
    key = ["edition", "commodity", "year", "statistic"]
    base = facts.stage.str.split("-").str[0]
    is_sub = facts.stage != base
    has_world = set(facts[facts.iso3 == "WLD"].groupby([*key, "stage"]).size().index)
    countries = facts.groupby([*key, "stage"]).iso3.agg(set)
    for (*series, stage), rows in facts[is_sub].groupby([*key, "stage"]):
        root = stage.split("-")[0]
        if (*series, stage) in has_world or (*series, root) not in has_world:
            continue  # a series of its own (ilmenite, rutile…), or nothing to fold into
        if set(rows.iso3) & countries.get((*series, root), set()):
            continue
        facts.loc[rows.index, "stage"] = root
    return facts


def _conversion_report(facts: pd.DataFrame, rel: str) -> list[dict[str, object]]:
    """One line per (commodity, raw unit) that was converted to metric tons."""
    conv = facts[facts.raw_unit.str.lower() != facts.unit].drop_duplicates(
        ["commodity", "raw_unit"]
    )
    return [
        {
            "kind": "unit_conversion",
            "file": rel,
            "line": int(r.raw_line),
            "message": f"{r.commodity}: {r.raw_unit} → {r.unit} "
            f"(×{normalise_unit(r.raw_unit)[1]:g})",
        }
        for r in conv.itertuples()
    ]
