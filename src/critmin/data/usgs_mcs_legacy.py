"""Reader for the USGS MCS 2022 (subset), 2023 and 2024 data releases: one CSV per commodity.

Each edition ships ``world/`` files (production, capacity, reserves by country; units inside the
column names: ``Prod_kt_est_2023``), ``salient/`` files (US statistics by year; the statistic and
unit inside the column names: ``Imports_t``, ``Price_dt``, ``NIR_pct``) and a few
``industry_trends/`` tables. The quirks (PROVENANCE.md §1b–1d) are handled here: UTF-8 BOM,
CRLF, trailing empty rows and columns, footnote digits and a glued ``e`` (estimated) on country
names, ``W``/``NA``/dash cells, thousands separators, column headers USGS got wrong
(:data:`critmin.data.usgs_codes.HEADER_FIXES`, each with its evidence).

Every reader returns curated rows plus a discrepancy report (dicts ``kind, file, line,
message``). Nothing is dropped silently: a value cell becomes a row or a report entry; a file
that cannot be read, or a malformed row, raises :class:`~critmin.errors.DataBuildError`.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from critmin.data import schema, usgs_codes
from critmin.data.catalog import commodity_slug, normalise_unit
from critmin.data.country_names import OVERRIDES, UnmappedCountry, split_estimate_mark, to_iso3
from critmin.data.parsing import Cell, parse_cell
from critmin.data.usgs_mcs2026 import fold_country_qualifiers, stage_of
from critmin.errors import DataBuildError

SOURCE = "USGS MCS"
#: Edition → folder under the raw root.
EDITION_DIRS = {2022: "usgs_mcs/mcs2022_subset", 2023: "usgs_mcs/mcs2023", 2024: "usgs_mcs/mcs2024"}

Report = dict[str, object]

#: Unit token in a world column name → the unit in USGS words (then ``normalise_unit``).
#: ``mt``/``Mt``/``mmt`` are million metric tons in these files: the iron-ore reserve notes say
#: "Crude ore, million metric tons" and the iron-and-steel labels "million metric tons".
WORLD_UNITS = {
    "t": "metric tons", "kt": "thousand metric tons", "kg": "kilograms",
    "mt": "million metric tons", "mmt": "million metric tons",
    "mct": "million carats", "kct": "thousands of carats", "mcm": "million cubic meters",
}

_LB_PER_T = 2204.62262
#: Unit token ending a salient column name → (curated unit, factor). Masses become metric tons;
#: prices per mass become US dollars per metric ton, as in the MCS 2026 reader.
SALIENT_UNITS: dict[str, tuple[str, float]] = {
    "t": ("t", 1.0), "kt": ("t", 1e3), "kg": ("t", 1e-3), "mmt": ("t", 1e6),
    "mct": ("million carats", 1.0), "mcm": ("million cubic meters", 1.0),
    "dt": ("USD/t", 1.0), "dkg": ("USD/t", 1e3), "dg": ("USD/t", 1e6),
    "dlb": ("USD/t", _LB_PER_T), "ctslb": ("USD/t", _LB_PER_T / 100),
    "dst": ("USD/t", 1 / 0.90718474),  # per short ton
    "dto": ("USD/troy oz", 1.0), "dtoz": ("USD/troy oz", 1.0), "dct": ("USD/carat", 1.0),
    "df": ("USD/flask", 1.0), "mdol": ("million USD", 1.0), "pct": ("percent", 1.0),
    "num": ("count", 1.0), "msqft": ("million square feet", 1.0), "index": ("index", 1.0),
}
_GLUED_UNITS = sorted(SALIENT_UNITS, key=len, reverse=True)  # "USprod_Minet", "Price_WO3dt"

#: Salient column-name token → statistic (the first token that names one wins).
SALIENT_STATISTICS = {
    "usprod": "production", "prod": "production", "production": "production",
    "imports": "imports", "imp": "imports", "exports": "exports", "exp": "exports",
    "consump": "consumption", "price": "price", "nir": "net_import_reliance",
    "stocks": "stocks", "employment": "employment",
}

_WORLD_VALUE = re.compile(
    r"^(?P<kind>prod|cap|reserves)_(?:(?P<sub>[a-z][a-z0-9]*(?:_[a-z0-9]+)*?)_)?"
    rf"(?P<unit>{'|'.join(WORLD_UNITS)})(?:_(?P<est>est))?(?:_(?P<year>\d{{4}}))?$",
    re.I,
)
_WORLD_NOTES = re.compile(r"^(?P<kind>prod|cap|reserves)_notes?$", re.I)
_KINDS = {"prod": "production", "cap": "capacity", "reserves": "reserves"}
_ALSO_ESTIMATED = re.compile(
    r"estimated in (?P<a>\d{4})|(?P<b>\d{4}) (?:is )?also estimated", re.I
)
_ESTIMATED_ONLY = re.compile(r"^\s*estimated(\s+capacity)?\.?\s*$", re.I)
_LEADING_E = re.compile(r"^e\s*(?=\d)")  # "e20,000": estimated, printed before the number
_HALF_UNIT = re.compile(r"^less than (?:½|1/2|a half|one-half) unit\.?$", re.I)
_QUALIFIER = re.compile(r"^(?P<base>[^(,]+?)\s*(?:\((?P<paren>[^)]*)\)|,\s*(?P<comma>.+))$")
_FILE = re.compile(r"^mcs(?P<edition>\d{4})-?(?P<code>[a-z][a-z-]*?)_(?P<part>world|salient)"
                   r"\.(?P<ext>csv|xlsx)$", re.I)
_NUMERIC = re.compile(r"^\s*[\d,.]+\s*$")


# --------------------------------------------------------------------------------------------
# reading files


class Table(NamedTuple):
    """A raw table: header cells and the non-empty data rows with their 1-based line numbers."""

    header: list[str]
    rows: list[tuple[int, list[str]]]


def read_table(path: Path, rel: str) -> Table:
    """Read one USGS CSV (or the CSV-shaped sheet of an XLSX); raise DataBuildError if broken.

    Drops all-empty rows (the trailing ``,,,,`` lines). A row whose field count differs from the
    header's is malformed (every released file is rectangular, trailing empties included).
    """
    if path.suffix.lower() == ".xlsx":
        return _read_xlsx(path, rel)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DataBuildError(rel, None, f"cannot read file: {err.strerror or err}") from err
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DataBuildError(
            rel, line, f"byte 0x{data[err.start]:02x} is not UTF-8 text; re-save the file as UTF-8"
        ) from err
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for record in reader:
            records.append((start, record))
            start = reader.line_num + 1
    except csv.Error as err:
        raise DataBuildError(rel, start, f"malformed CSV row ({err}); check its quotes") from err
    if not records:
        raise DataBuildError(rel, 1, "empty file: expected a header row")
    header = records[0][1]
    width = len(header)
    rows = []
    for line, cells in records[1:]:
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != width:
            raise DataBuildError(
                rel, line, f"row has {len(cells)} fields but the header has {width}; "
                "fix the row's commas or quotes"
            )
        rows.append((line, cells))
    return Table(header, rows)


def _read_xlsx(path: Path, rel: str) -> Table:
    """The sheet laid out like the CSV files (``DataSource`` in A1); lines are sheet rows."""
    import openpyxl  # only two 2023 salient files are XLSX

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises many types for a damaged file
        raise DataBuildError(rel, None, f"cannot open workbook: {err}") from err
    try:
        for sheet in book.worksheets:
            rows = [
                (i, ["" if c is None else str(c) for c in row])
                for i, row in enumerate(sheet.iter_rows(values_only=True), start=1)
            ]
            if rows and rows[0][1] and rows[0][1][0].strip() == "DataSource":
                width = max(i for i, c in enumerate(rows[0][1]) if c.strip()) + 1
                body = [(i, r[:width]) for i, r in rows[1:] if any(c.strip() for c in r)]
                return Table(rows[0][1][:width], body)
    finally:
        book.close()
    return Table([], [])


def _parse(raw: str, rel: str, line: int, column: str, report: list[Report]) -> Cell:
    """parse_cell plus the legacy quirks; text it cannot read → not_available and a report.

    Quirks: ``e20,000`` (estimate mark before the number), ``−76`` (U+2212 minus: government
    stock acquisitions), ``>50%``, and USGS's "Less than ½ unit" wordings.
    """
    text = raw.strip().replace("\u00a0", " ").replace("\u2212", "-")
    if _HALF_UNIT.match(text):
        return Cell(math.nan, "not_available", text=text)
    text = text.removesuffix("%").strip()
    if _LEADING_E.match(text):
        cell = parse_cell(_LEADING_E.sub("", text))
        return cell._replace(flag="estimated") if cell.flag == "reported" else cell
    try:
        return parse_cell(text)
    except ValueError:
        report.append(_entry("unparsed_value", rel, line,
                             f"{column}: {text!r} is not a number; kept as not_available"))
        return Cell(math.nan, "not_available", text=text)


def _entry(kind: str, file: str, line: int | None, message: str) -> Report:
    return {"kind": kind, "file": file, "line": line, "message": message}


def file_code(path: Path) -> tuple[int, str, str]:
    """(edition, code, part) of a legacy file name: ``mcs2024-raree_world.csv`` → (2024, 'raree',
    'world'); USGS's spellings ``MCS2024-bismu``, ``mcs2023tellu`` included."""
    m = _FILE.match(path.name)
    if m is None:
        raise DataBuildError(str(path), None, "not a USGS MCS per-commodity file name")
    return int(m["edition"]), m["code"].lower(), m["part"].lower()


def edition_files(raw_root: Path, edition: int, part: str) -> list[Path]:
    """The ``world`` or ``salient`` files of one edition, sorted by name."""
    if edition not in EDITION_DIRS:
        raise DataBuildError(str(raw_root), None, f"edition {edition} is not a legacy MCS "
                             "edition; use 2022, 2023 or 2024")
    folder = Path(raw_root) / EDITION_DIRS[edition] / part
    if not folder.is_dir():
        raise DataBuildError(str(folder), None, "folder not found")
    return sorted(p for p in folder.iterdir() if _FILE.match(p.name))


def _relative(path: Path, raw_root: Path) -> str:
    return Path(path).relative_to(raw_root).as_posix()


def _label(code: str, rel: str) -> str:
    try:
        return usgs_codes.LABELS[code]
    except KeyError:
        raise DataBuildError(rel, None, f"unknown USGS file code {code!r}; add it to "
                             "critmin.data.usgs_codes.LABELS") from None


def _fix_header(header: list[str], edition: int, code: str, part: str, rel: str,
                report: list[Report]) -> list[str]:
    """Apply HEADER_FIXES; a fix whose printed name is not found is a stale table (error)."""
    fixed = [h.strip() for h in header]
    fixes = usgs_codes.HEADER_FIXES.get((edition, code, part), {})
    for (col, printed), (name, why) in fixes.items():
        if col >= len(fixed) or fixed[col] != printed:
            raise DataBuildError(rel, 1, f"expected column {col + 1} to be {printed!r} "
                                 "(usgs_codes.HEADER_FIXES); the file changed")
        fixed[col] = name
        report.append(_entry("header_fixed", rel, 1,
                             f"column {col + 1} {printed!r} read as {name!r}: {why}"))
    return fixed


# --------------------------------------------------------------------------------------------
# countries


class Country(NamedTuple):
    name: str
    iso3: str
    estimated: bool
    label: str  # the label as printed, when a qualifier was split off ("Brazil (beneficiated)")


def resolve_country(label: str) -> Country:
    """Clean a USGS country label and map it; raises UnmappedCountry.

    ``'Japane'`` → Japan, estimated. A qualifier (``'Brazil (beneficiated)'``,
    ``'Argentina, crude ore'``) is split off when the part before it is a country; names that
    contain one (``'Korea, Republic of'``, ``'Congo (Kinshasa)'``) are tried whole first.
    Aggregates keep their label: ``'United States and Canada'`` → MUL, ``'Europe'`` → XEU.
    """
    name, estimated = split_estimate_mark(label)
    name = re.sub(r"\s+", " ", name).strip()
    iso3 = _code(name)
    if iso3 in schema.AGGREGATES:
        return Country(name, iso3, estimated, "")
    m = None if name.lower() in OVERRIDES else _QUALIFIER.match(name)
    if m is not None and (m["paren"] or m["comma"]):
        base_iso3 = _code(m["base"])
        if base_iso3 and (not iso3 or base_iso3 == iso3):
            return Country(m["base"].strip(), base_iso3, estimated, name)
    if not iso3:
        raise UnmappedCountry(name)
    return Country(name, iso3, estimated, "")


def _code(name: str) -> str:
    """ISO3 or aggregate code of a name, "" if it maps to none."""
    try:
        return to_iso3(name)
    except UnmappedCountry:
        return ""


# --------------------------------------------------------------------------------------------
# world files


class ValueColumn(NamedTuple):
    col: int
    name: str
    statistic: str  # production | capacity | reserves
    sub: str  # column sub-series ("sponge", "ore"), lower case, "" if none
    raw_unit: str
    estimated: bool
    year: int


def _world_columns(header: list[str], edition: int, rel: str
                   ) -> tuple[list[ValueColumn], dict[str, int], list[int]]:
    """Value columns, notes columns by kind, and unnamed columns of a world file header."""
    if len(header) < 4 or header[1].strip().lower() != "country":
        raise DataBuildError(rel, 1, "expected a world table header 'Source, Country, Type, …'")
    values, notes, unnamed = [], {}, []
    for i, name in enumerate(header[3:], start=3):
        if not name:
            unnamed.append(i)
        elif m := _WORLD_VALUE.match(name):
            statistic = _KINDS[m["kind"].lower()]
            if m["year"]:
                year = int(m["year"])
            elif statistic == "reserves":
                year = edition - 1  # MCS 2024 reserves are as of the end of 2023
            else:
                raise DataBuildError(rel, 1, f"column {name!r} names no year")
            values.append(ValueColumn(i, name, statistic, (m["sub"] or "").lower(),
                                      WORLD_UNITS[m["unit"].lower()], bool(m["est"]), year))
        elif m := _WORLD_NOTES.match(name):
            notes[_KINDS[m["kind"].lower()]] = i
        else:
            raise DataBuildError(
                rel, 1, f"unrecognised column {name!r}: expected Prod_/Cap_/Reserves_<unit>"
                f"[_est][_year] with unit in {', '.join(WORLD_UNITS)}, or *_notes"
            )
    if not values:
        raise DataBuildError(rel, 1, "no Prod_/Cap_/Reserves_ value columns")
    return values, notes, unnamed


_MAIN = usgs_codes.Series()


def _row_series(spec: usgs_codes.WorldSpec, country: str, type_text: str) -> usgs_codes.Series:
    text = f"{country} | {type_text}".lower()
    return next((series for pattern, series in spec.rules if re.search(pattern, text)), _MAIN)


def _column_series(spec: usgs_codes.WorldSpec, col: ValueColumn) -> usgs_codes.Series:
    if not col.sub:
        return _MAIN
    return spec.columns.get(col.sub) or usgs_codes.Series(sub=col.sub.replace("_", " "))


def series_label(spec: usgs_codes.WorldSpec, row: usgs_codes.Series,
                 column: usgs_codes.Series, stage_word: str, statistic: str) -> str | None:
    """The MCS 2026 ``Statistics_detail`` of a legacy value's series; None when the cell is not
    the series' own (a reserves cell printed on the rows of another series).

    ``stage_word`` is the legacy row label's (:func:`usgs_codes.stage_from_label`).
    ``usgs_mcs2026.stage_of`` names the stage from this label, as for MCS 2026 itself.
    """
    sub = " ".join(s.sub for s in (row, column) if s.sub)
    if statistic == "reserves":
        label = column.reserves if column.reserves is not None else row.reserves
        if label == "":
            return None
        return label or (f"Reserves: {sub}" if sub else "Reserves")
    head = spec.detail or ("Production" if stage_word == "production"
                           else f"{stage_word.capitalize()} production")
    return column.detail or row.detail or (f"{head}: {sub}" if sub else head)


def _join(*parts: str | None) -> str:
    return " -- ".join(p.strip() for p in parts if p and p.strip())


def read_world_file(path: Path, raw_root: Path, edition: int,
                    report: list[Report]) -> tuple[pd.DataFrame, int]:
    """Facts of one world file and the number of its non-empty data rows."""
    rel = _relative(path, raw_root)
    _, code, _ = file_code(path)
    label = _label(code, rel)
    spec = usgs_codes.world_spec(code, edition)
    table = read_table(path, rel)
    header = _fix_header(table.header, edition, code, "world", rel, report)
    columns, notes_at, unnamed = _world_columns(header, edition, rel)
    _report_unnamed(table, unnamed, rel, report)
    detected = Counter(s for _, r in table.rows if (s := usgs_codes.stage_from_label(r[2])))
    default_stage = detected.most_common(1)[0][0] if detected else "production"
    has_production = any(c.statistic == "production" for c in columns)

    out = []
    for line, cells in table.rows:
        raw_country, type_text = cells[1], cells[2].strip()
        try:
            country = resolve_country(raw_country)
        except UnmappedCountry as err:
            report.append(_entry("unmapped_name", rel, line,
                                 f"country {raw_country.strip()!r} ({err}) maps to no ISO3 code; "
                                 f"row skipped ({len(columns)} values)"))
            continue
        row = _row_series(spec, raw_country, type_text)
        stage_word = usgs_codes.stage_from_label(type_text) or default_stage
        basis = usgs_codes.basis_from_label(type_text)
        for col in columns:
            column = _column_series(spec, col)
            statistic = col.statistic
            if statistic == "production" and "capacity" in type_text.lower() \
                    and "production" not in type_text.lower():
                statistic = "capacity"  # cement: "Clinker capacity" rows sit in Prod_ columns
            notes_col = notes_at.get(statistic)
            if notes_col is None and statistic == "capacity" and not has_production:
                notes_col = notes_at.get("production")
            note_text = _note(cells, header, notes_col, rel, line, report)
            detail = series_label(spec, row, column, stage_word, statistic)
            if detail is None:
                report.append(_entry(
                    "skipped_value", rel, line,
                    f"{col.name} of '{type_text}' ({cells[col.col].strip()!r}, "
                    f"{note_text or 'no note'}): reserves of another series; skipped"))
                continue
            cell = _parse(cells[col.col], rel, line, col.name, report)
            flag = cell.flag
            if flag == "reported" and (col.estimated or country.estimated
                                       or _says_estimated(note_text, col.year)):
                flag = "estimated"
            unit, factor = normalise_unit(col.raw_unit)
            # reserves sit on the main series' rows and are the file's commodity's (PGM)
            own = column.label or (label if statistic == "reserves" else row.label)
            out.append({
                "source": SOURCE, "edition": edition, "commodity": commodity_slug(own or label),
                "stage": stage_of(detail, statistic), "iso3": country.iso3,
                "country": country.name, "year": col.year, "statistic": statistic,
                "value": cell.value * factor, "unit": unit, "basis": column.basis or basis,
                "flag": flag,
                "note": _join(note_text, cell.text and f"published: {cell.text}",
                              country.label and f"USGS label: {country.label}"),
                "raw_unit": col.raw_unit, "detail": type_text, "raw_file": rel, "raw_line": line,
            })
    frame = _drop_empty_duplicates(pd.DataFrame(out, columns=list(schema.FACTS_COLUMNS)), report)
    report += _conversion_report(columns, rel)
    return frame, len(table.rows)


_KEY = ["edition", "commodity", "stage", "iso3", "year", "statistic"]


def _drop_empty_duplicates(frame: pd.DataFrame, report: list[Report]) -> pd.DataFrame:
    """Drop empty cells that repeat a key, reporting each one.

    Files with a mine and a refinery series (copper) or two series without reserves (cement)
    carry a reserves column on every row; reserves belong to the mine series, so the empty
    reserves cells of the other rows would repeat its key.
    """
    dup = frame.duplicated(_KEY, keep=False) & frame.value.isna()
    ordered = frame[_KEY].assign(_v=frame.value.isna()).sort_values("_v", kind="stable")
    keep_first = ~ordered.duplicated(_KEY)  # a value if any, else the first in the file
    drop = dup & ~keep_first.reindex(frame.index)
    for r in frame[drop].itertuples():
        report.append(_entry("skipped_value", r.raw_file, int(r.raw_line),
                             f"empty {r.statistic} cell of '{r.detail}' repeats "
                             f"{r.commodity}/{r.stage}/{r.iso3}/{r.year}; dropped"))
    return frame[~drop]


def _note(cells: list[str], header: list[str], col: int | None, rel: str, line: int,
          report: list[Report]) -> str:
    """The notes cell; a bare number there (vermiculite 2024: spilled cells) is reported."""
    if col is None:
        return ""
    text = cells[col].strip()
    if _NUMERIC.match(text):
        report.append(_entry("numeric_note", rel, line,
                             f"{header[col]} holds a bare number {text!r}; not used as a note"))
        return ""
    return text


def _says_estimated(note: str, year: int) -> bool:
    """Notes such as "Production in 2022 is also estimated." or "Estimated capacity"."""
    if _ESTIMATED_ONLY.match(note):
        return True
    return any(int(m["a"] or m["b"]) == year for m in _ALSO_ESTIMATED.finditer(note))


def _report_unnamed(table: Table, unnamed: list[int], rel: str, report: list[Report]) -> None:
    for i in unnamed:
        filled = [(line, cells[i]) for line, cells in table.rows if cells[i].strip()]
        if filled:
            report.append(_entry(
                "unnamed_column", rel, filled[0][0],
                f"column {i + 1} has no header but {len(filled)} values "
                f"(first {filled[0][1].strip()[:60]!r}); ignored",
            ))


def _conversion_report(columns: list[ValueColumn], rel: str) -> list[Report]:
    """One entry per file whose values were converted to the curated unit."""
    done = []
    for col in columns:
        unit, factor = normalise_unit(col.raw_unit)
        if factor != 1.0:
            done.append(f"{col.name}: {col.raw_unit} → {unit} (×{factor:g})")
    return [_entry("unit_conversion", rel, 1, "; ".join(done))] if done else []


def read_world(raw_root: Path, edition: int) -> tuple[pd.DataFrame, list[Report]]:
    """World production, capacity and reserves of one legacy edition (2022, 2023 or 2024).

    Returns facts with exactly ``schema.FACTS_COLUMNS`` (values in metric tons for masses) and
    the discrepancy report: unmapped names (row skipped), unparsed values (kept as
    not_available), skipped cells, unit conversions (one per file), header fixes. Stages are
    named as MCS 2026 names the same series (:func:`series_label`). Country sums against the
    world totals are checked for all editions at once by ``build.world_total_check``.
    """
    raw_root = Path(raw_root)
    report: list[Report] = []
    frames = [read_world_file(path, raw_root, edition, report)[0]
              for path in edition_files(raw_root, edition, "world")]
    frames = [f for f in frames if len(f)]
    facts = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=list(schema.FACTS_COLUMNS))
    facts = facts.astype({"edition": int, "year": int, "raw_line": int, "value": float})
    return fold_country_qualifiers(facts[list(schema.FACTS_COLUMNS)]), report


# --------------------------------------------------------------------------------------------
# salient files


class SalientColumn(NamedTuple):
    col: int
    name: str
    statistic: str
    unit: str
    factor: float
    commodity: str


def salient_column(name: str) -> tuple[str, str | None, float]:
    """(statistic, unit, factor) of a salient column name; unit None when the suffix is unknown.

    ``'Imports_t'`` → ('imports', 't', 1.0); ``'Price_dkg'`` → ('price', 'USD/t', 1000.0);
    ``'NIR_pct'`` → ('net_import_reliance', 'percent', 1.0). Employment is a count and net
    import reliance a percentage whatever the suffix says (``Employment_um``, ``NIR_ct``).
    """
    tokens = name.split("_")
    statistic = next((SALIENT_STATISTICS[t.lower()] for t in tokens
                      if t.lower() in SALIENT_STATISTICS), None)
    if statistic is None and tokens[0].lower().startswith("usprod"):
        statistic = "production"
    statistic = statistic or "other"
    if statistic == "employment":
        return statistic, "count", 1.0
    if statistic == "net_import_reliance":
        return statistic, "percent", 1.0
    last = tokens[-1].lower()
    token = last if last in SALIENT_UNITS else next(
        (u for u in _GLUED_UNITS if last.endswith(u) and len(last) > len(u)), None)
    if token is None:
        return statistic, None, 1.0
    unit, factor = SALIENT_UNITS[token]
    if statistic == "price" and not unit.startswith(("USD", "million USD", "index")):
        return statistic, None, 1.0  # a price in "t" is a header error: see HEADER_FIXES
    return statistic, unit, factor


def _salient_label(code: str, column: str, default: str) -> str:
    for pattern, label in usgs_codes.SALIENT_COLUMN_LABELS.get(code, ()):
        if re.search(pattern, column, re.I):
            return label
    return default


def read_salient_file(path: Path, raw_root: Path, edition: int,
                      report: list[Report]) -> tuple[pd.DataFrame, int]:
    """Salient rows of one file and its number of value cells (data rows × value columns)."""
    rel = _relative(path, raw_root)
    _, code, _ = file_code(path)
    default = usgs_codes.SALIENT_LABELS.get(code) or _label(code, rel)
    table = read_table(path, rel)
    if not table.header:
        report.append(_entry("skipped_file", rel, None,
                             "no sheet laid out as a salient table (DataSource in A1)"))
        return pd.DataFrame(columns=list(schema.SALIENT_COLUMNS)), 0
    header = _fix_header(table.header, edition, code, "salient", rel, report)
    if header[0].lower() != "datasource":
        report.append(_entry("wrong_layout", rel, 1,
                             f"header {header[:3]!r} is not a salient table "
                             "(DataSource, Commodity, Year, …); file skipped"))
        return pd.DataFrame(columns=list(schema.SALIENT_COLUMNS)), 0
    if [h.lower() for h in header[1:3]] != ["commodity", "year"]:
        raise DataBuildError(rel, 1, "expected a salient header 'DataSource, Commodity, Year, …'")
    columns, seen = [], Counter(h for h in header[3:] if h)
    unnamed = []
    for i, name in enumerate(header[3:], start=3):
        if not name:
            unnamed.append(i)
            continue
        statistic, unit, factor = salient_column(name)
        if unit is None:
            report.append(_entry("unknown_unit", rel, 1,
                                 f"column {name!r}: no known unit suffix; unit left empty"))
        detail = name if seen[name] == 1 else f"{name} (column {i + 1})"
        if seen[name] > 1:
            report.append(_entry("duplicate_column", rel, 1,
                                 f"column {i + 1} repeats the name {name!r}; detail {detail!r}"))
        columns.append(SalientColumn(i, detail, statistic, unit or "", factor,
                                     commodity_slug(_salient_label(code, name, default))))
    _report_unnamed(table, unnamed, rel, report)
    out = []
    for line, cells in table.rows:
        try:
            year = int(float(cells[2].strip()))
        except ValueError:
            raise DataBuildError(rel, line, f"Year {cells[2]!r} is not a year") from None
        for col in columns:
            cell = _parse(cells[col.col], rel, line, col.name, report)
            flag = cell.flag
            if flag == "reported" and year == edition - 1:
                flag = "estimated"  # USGS: "Data are estimated for the most recent year."
            out.append({
                "source": SOURCE, "edition": edition, "commodity": col.commodity, "year": year,
                "statistic": col.statistic, "detail": col.name, "value": cell.value * col.factor,
                "unit": col.unit, "flag": flag, "nir_bound": cell.bound or "",
                "note": _join(cell.text and f"published: {cell.text}"),
                "raw_file": rel, "raw_line": line,
            })
    return pd.DataFrame(out, columns=list(schema.SALIENT_COLUMNS)), len(table.rows) * len(columns)


def read_salient(raw_root: Path, edition: int) -> tuple[pd.DataFrame, list[Report]]:
    """US salient statistics of one legacy edition: ``schema.SALIENT_COLUMNS`` and a report.

    The statistic and unit come from the column name (``Imports_kt`` → imports in t × 1000);
    ``detail`` keeps the column name. The latest year is flagged estimated, as USGS marks it.
    """
    raw_root = Path(raw_root)
    report: list[Report] = []
    frames = [read_salient_file(path, raw_root, edition, report)[0]
              for path in edition_files(raw_root, edition, "salient")]
    frames = [f for f in frames if len(f)]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=list(schema.SALIENT_COLUMNS))
    return out.astype({"edition": int, "year": int, "raw_line": int, "value": float}), report


# --------------------------------------------------------------------------------------------
# industry trends


def _known_slugs() -> set[str]:
    labels = [*usgs_codes.LABELS.values(), *usgs_codes.SALIENT_LABELS.values(),
              *usgs_codes.FIGURE_LABELS.values(), *usgs_codes.EXTRA_LABELS,
              *(label for rules in usgs_codes.SALIENT_COLUMN_LABELS.values() for _, label in rules)]
    return {commodity_slug(label) for label in labels}


def figure_commodity(label: str) -> tuple[str, str] | None:
    """(slug, qualifier) of an industry-trend commodity label; None if it maps to no commodity.

    ``'MICA (NATURAL), sheet'`` → ('mica', 'sheet'); ``'Aluminum (bauxite)'`` → ('bauxite', '').
    """
    text = re.sub(r"\s+", " ", label).strip()
    base, _, qualifier = text.partition(",")
    key = text.lower()
    special = next((v for k, v in usgs_codes.FIGURE_LABELS.items()
                    if key == k or key.startswith((k + ",", k + " ("))), None)
    if special is None and base.lower() in usgs_codes.FIGURE_LABELS:
        special = usgs_codes.FIGURE_LABELS[base.lower()]
    known = _known_slugs()
    for candidate in (special, base, base.split("(")[0]):
        if candidate and commodity_slug(candidate) in known:
            return commodity_slug(candidate), qualifier.strip()
    return None


def _period(first: str, last: str) -> str:
    return f"{first}–{last[-2:]}"


def read_industry_trends(raw_root: Path, edition: int
                         ) -> tuple[dict[str, pd.DataFrame], list[Report]]:
    """Net import reliance (Fig2) and the critical-minerals table (T5) of one edition.

    Returns ``{"us_salient": …, "us_import_sources": …}``. Fig2 gives net import reliance per
    commodity and its major import sources in descending order of import share (no shares:
    ``share_pct`` is NaN, the rank is in ``detail``). T5 (MCS 2024) gives US primary and
    secondary production and apparent consumption in metric tons, net import reliance and the
    primary import source. Fig3 (country counts over all commodities) is skipped.
    """
    raw_root = Path(raw_root)
    report: list[Report] = []
    salient: list[dict] = []
    sources: list[dict] = []
    folder = raw_root / EDITION_DIRS.get(edition, "") / "industry_trends"
    if edition in EDITION_DIRS and folder.is_dir():
        for path in sorted(folder.glob("*.csv")):
            name = path.name.lower()
            if "_fig2_" in name:
                _read_fig2(path, raw_root, edition, salient, sources, report)
            elif "_t5_" in name:
                _read_t5(path, raw_root, edition, salient, sources, report)
            elif "_fig3_" in name:
                report.append(_entry("skipped_file", _relative(path, raw_root), None,
                                     "counts of commodities per source country; no "
                                     "per-commodity data"))
    return {
        "us_salient": pd.DataFrame(salient, columns=list(schema.SALIENT_COLUMNS)),
        "us_import_sources": pd.DataFrame(sources, columns=list(schema.IMPORT_SOURCES_COLUMNS)),
    }, report


def _column(header: list[str], pattern: str, rel: str) -> tuple[int, re.Match[str]]:
    for i, name in enumerate(header):
        if m := re.fullmatch(pattern, name.strip(), re.I):
            return i, m
    raise DataBuildError(rel, 1, f"no column matching {pattern!r} in {header!r}")


def _source_rows(edition: int, commodity: str, countries: list[str], detail: str, period: str,
                 note: str, rel: str, line: int, report: list[Report]) -> list[dict]:
    rows = []
    for rank, raw in enumerate(countries, start=1):
        try:
            country = resolve_country(raw)
        except UnmappedCountry:
            report.append(_entry("unmapped_name", rel, line,
                                 f"import source {raw!r} maps to no ISO3 code; skipped"))
            continue
        rows.append({
            "source": SOURCE, "edition": edition, "commodity": commodity,
            "detail": detail.format(rank=rank), "period": period, "iso3": country.iso3,
            "country": country.name, "share_pct": math.nan, "note": note,
            "raw_file": rel, "raw_line": line,
        })
    return rows


def _read_fig2(path: Path, raw_root: Path, edition: int, salient: list[dict],
               sources: list[dict], report: list[Report]) -> None:
    rel = _relative(path, raw_root)
    table = read_table(path, rel)
    i_com, _ = _column(table.header, "Commodity", rel)
    i_nir, m_nir = _column(table.header, r"Net_Import_Reliance_pct_(\d{4})", rel)
    i_src, m_src = _column(table.header, r"Major_Import_Sources_(\d{4})_(\d{4})", rel)
    i_note = next((i for i, h in enumerate(table.header) if h.strip().lower() == "notes"), None)
    year, period = int(m_nir[1]), _period(m_src[1], m_src[2])
    for line, cells in table.rows:
        mapped = figure_commodity(cells[i_com])
        if mapped is None:
            report.append(_entry("unmapped_commodity", rel, line,
                                 f"commodity {cells[i_com].strip()!r} maps to no catalog slug"))
            continue
        slug, qualifier = mapped
        detail = f"Fig2: {qualifier}" if qualifier else "Fig2"
        note = cells[i_note].strip() if i_note is not None else ""
        cell = _parse(cells[i_nir], rel, line, table.header[i_nir], report)
        salient.append(_salient_row(edition, slug, year, "net_import_reliance", detail, cell,
                                    "percent", 1.0, note, rel, line))
        names = [c.strip() for c in cells[i_src].split(",") if c.strip()]
        sources += _source_rows(
            edition, slug, names, detail + " rank {rank}", period,
            _join("listed in descending order of import share", note), rel, line, report)


def _salient_row(edition: int, slug: str, year: int, statistic: str, detail: str, cell: Cell,
                 unit: str, factor: float, note: str, rel: str, line: int) -> dict:
    """One us_salient row; the edition's latest year is an estimate, as in the salient files."""
    if cell.flag == "reported" and year == edition - 1:
        cell = cell._replace(flag="estimated")
    return {
        "source": SOURCE, "edition": edition, "commodity": slug, "year": year,
        "statistic": statistic, "detail": detail, "value": cell.value * factor, "unit": unit,
        "flag": cell.flag, "nir_bound": cell.bound or "",
        "note": _join(note, cell.text and f"published: {cell.text}"),
        "raw_file": rel, "raw_line": line,
    }


#: T5 columns → (statistic, unit). Quantities are metric tons (USGS Table 5; the tests check
#: them against the per-commodity files).
_T5_COLUMNS = {
    "Primary_prod": ("production", "t"),
    "Secondary_prod": ("production", "t"),
    "Apparent_Consuption": ("consumption", "t"),
    "Net_Import_Reliance": ("net_import_reliance", "percent"),
}


def _read_t5(path: Path, raw_root: Path, edition: int, salient: list[dict],
             sources: list[dict], report: list[Report]) -> None:
    rel = _relative(path, raw_root)
    table = read_table(path, rel)
    at = {h.strip(): i for i, h in enumerate(table.header)}
    missing = [c for c in ("Year", "Critical_mineral", "Primary_import_source", *_T5_COLUMNS)
               if c not in at]
    if missing:
        raise DataBuildError(rel, 1, f"missing columns {missing}")
    notes = {"Primary_prod": "Prod_notes", "Secondary_prod": "Prod_notes",
             "Apparent_Consuption": "Contsumption_Notes"}
    for line, cells in table.rows:
        label = cells[at["Critical_mineral"]]
        mapped = figure_commodity(label)
        if mapped is None:
            report.append(_entry("unmapped_commodity", rel, line,
                                 f"commodity {label.strip()!r} maps to no catalog slug"))
            continue
        slug, _ = mapped
        metal = label.strip() if slug == "platinum-group-metals" else ""
        year_text = cells[at["Year"]].strip()
        year = int(year_text[:4])
        for column, (statistic, unit) in _T5_COLUMNS.items():
            cell = _parse(cells[at[column]], rel, line, column, report)
            if cell.flag == "reported" and "estimated" in year_text.lower():
                cell = cell._replace(flag="estimated")
            note = cells[at[notes[column]]].strip() if column in notes and notes[column] in at \
                else ""
            salient.append(_salient_row(edition, slug, year, statistic,
                                        _join(f"T5 {column}", metal), cell, unit, 1.0,
                                        note, rel, line))
        source_note = cells[at["Import_source_notes"]].strip() if "Import_source_notes" in at \
            else ""
        years = re.findall(r"\d{4}", source_note)
        period = _period(years[0], years[-1]) if len(years) >= 2 else year_text
        sources += _source_rows(edition, slug, [cells[at["Primary_import_source"]]],
                                _join("T5 primary import source", metal), period, source_note,
                                rel, line, report)
