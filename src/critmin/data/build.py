"""Build the curated dataset from the raw sources: read, validate, report, write atomically.

``critmin data build --raw PATH`` runs :func:`build`. Every raw reader returns tidy frames and a
list of discrepancies; this module joins them, checks the contract of :mod:`critmin.data.schema`
(columns, flags, known ISO3 codes, non-negative values), compares country rows with the
published world totals, and writes one Parquet file per table plus ``manifest.json`` and
``build_report.json``. Files are written to a sibling temporary folder first and swapped in only
when everything succeeded, so a failed build leaves the shipped dataset untouched.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from critmin.data import schema
from critmin.errors import CritminError, DataBuildError

log = logging.getLogger(__name__)

LEGACY_EDITIONS = (2022, 2023, 2024)
#: World totals are rounded: tolerate this relative gap before reporting a mismatch.
WORLD_TOTAL_RTOL = 0.02


@dataclass
class BuildResult:
    """What a build produced: output folder, row counts and the discrepancy report."""

    out_dir: Path
    counts: dict[str, int]
    report: list[dict[str, Any]] = field(default_factory=list)
    data_edition: str = ""


def read_all(
    raw_root: Path,
) -> tuple[dict[str, pd.DataFrame], list[dict[str, Any]], dict[str, Any]]:
    """Run every reader; return the tables, the report and provenance facts for the manifest."""
    from critmin.data import usgs_mcs_legacy
    from critmin.data.country_groups import load_groups
    from critmin.data.governance import read_wgi
    from critmin.data.provenance import sources_table
    from critmin.data.reference import read_countries
    from critmin.data.usgs_mcs2026 import read_mcs2026

    raw_root = Path(raw_root)
    if not raw_root.is_dir():
        raise DataBuildError(str(raw_root), None, "raw data folder not found")
    report: list[dict[str, Any]] = []
    mcs = read_mcs2026(raw_root)
    report += mcs.report
    facts, salient, imports = [mcs.facts], [mcs.salient], [mcs.import_sources]
    for edition in LEGACY_EDITIONS:
        world, rep = usgs_mcs_legacy.read_world(raw_root, edition)
        facts.append(world)
        report += rep
        sal, rep = usgs_mcs_legacy.read_salient(raw_root, edition)
        salient.append(sal)
        report += rep
        trends, rep = usgs_mcs_legacy.read_industry_trends(raw_root, edition)
        report += rep
        salient.append(trends.get("us_salient", pd.DataFrame(columns=schema.SALIENT_COLUMNS)))
        imports.append(
            trends.get("us_import_sources", pd.DataFrame(columns=schema.IMPORT_SOURCES_COLUMNS))
        )
    wgi_df, rep = read_wgi(raw_root)
    report += rep
    tables: dict[str, pd.DataFrame] = {
        "facts": _concat(facts, schema.FACTS_COLUMNS),
        "us_salient": _concat(salient, schema.SALIENT_COLUMNS),
        "us_import_sources": _concat(imports, schema.IMPORT_SOURCES_COLUMNS),
        "wgi": wgi_df,
        "countries": read_countries(raw_root),
        "groups": load_groups(),
    }
    tables["commodities"] = _catalog(mcs.catalog, tables["facts"])
    editions = {
        "facts": sorted(tables["facts"].edition.unique().tolist()),
        "us_salient": sorted(tables["us_salient"].edition.unique().tolist()),
        "us_import_sources": sorted(tables["us_import_sources"].edition.unique().tolist()),
    }
    tables["sources"] = sources_table(editions)
    provenance = {"mcs2026_rows": mcs.rows_read, "mcs2026_rows_by_table": mcs.rows_by_table}
    return tables, report, provenance


def _concat(frames: list[pd.DataFrame], columns: tuple[str, ...]) -> pd.DataFrame:
    frames = [f for f in frames if f is not None and len(f)]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return out[list(columns)]


def _catalog(labels: pd.DataFrame, facts: pd.DataFrame) -> pd.DataFrame:
    """One row per commodity with facts or an MCS 2026 chapter: stages, declared unit, basis."""
    from critmin.data.catalog import commodity_slug

    stage_order = {"mine": 0, "refinery": 1, "smelter": 2, "plant": 3, "primary": 4}
    by_commodity = facts.groupby("commodity")
    rows = []
    slugs = sorted(set(labels.commodity) | set(facts.commodity))
    label_idx = labels.set_index("commodity")
    for slug in slugs:
        if slug in by_commodity.groups:
            group = by_commodity.get_group(slug)
            stages = sorted(
                group.stage.unique(), key=lambda s: (stage_order.get(s.split("-")[0], 9), s)
            )
            unit = group.unit.mode().iloc[0]
            basis = next((b for b in group.basis if b), "")
        else:
            stages, unit, basis = [], "", ""
        name = label_idx.name.get(slug, slug.replace("-", " ").title()) if len(labels) else slug
        rows.append(
            {
                "commodity": slug,
                "name": name,
                "usgs_label": label_idx.usgs_label.get(slug, name) if len(labels) else name,
                "stages": ",".join(stages),
                "unit": unit,
                "basis": basis or (label_idx.basis.get(slug, "") if len(labels) else ""),
                "critical_2025": bool(label_idx.critical_2025.get(slug, False))
                if len(labels)
                else False,
            }
        )
    cat = pd.DataFrame(rows, columns=list(schema.COMMODITIES_COLUMNS))
    assert all(
        commodity_slug(n) == s
        for s, n in zip(cat.commodity, cat.usgs_label, strict=True)
        if n in set(labels.usgs_label)
    ), "catalog slug mismatch"
    return cat


def validate(tables: dict[str, pd.DataFrame]) -> list[dict[str, Any]]:
    """Check the contract; return discrepancies. Raises on a broken contract (a bug, not data)."""
    report: list[dict[str, Any]] = []
    for name, columns in schema.TABLES.items():
        got = tuple(tables[name].columns)
        if got != columns:
            raise CritminError(f"table {name}: columns {got} differ from the schema {columns}")
    facts = tables["facts"]
    bad_flags = set(facts.flag) - set(schema.FLAGS)
    if bad_flags:
        raise CritminError(f"facts: unknown flags {sorted(bad_flags)}")
    known = set(tables["countries"].iso3)
    for name in ("facts", "us_import_sources", "wgi"):
        unknown = sorted(set(tables[name].iso3) - known)
        if unknown:
            raise CritminError(f"{name}: ISO3 codes not in the countries table: {unknown}")
    negative = facts[facts.value < 0]
    report += [
        _row("negative_value", r, f"{r.commodity} {r.stage} {r.iso3} {r.year}: {r.value}")
        for r in negative.itertuples()
    ]
    has_value = facts.value.notna()
    inconsistent = facts[has_value == facts.flag.isin(["withheld", "not_available"])]
    if len(inconsistent):
        raise CritminError(f"facts: {len(inconsistent)} rows whose value and flag disagree")
    key = ["edition", "commodity", "stage", "iso3", "year", "statistic"]
    dups = facts[facts.duplicated(key, keep=False)]
    report += [
        _row(
            "duplicate_key",
            r,
            f"{r.commodity}/{r.stage}/{r.iso3}/{r.year}/{r.statistic} "
            f"published twice in edition {r.edition}",
        )
        for r in dups.itertuples()
    ]
    report += world_total_check(facts)
    return report


def _row(kind: str, r: Any, message: str) -> dict[str, Any]:
    return {"kind": kind, "file": r.raw_file, "line": int(r.raw_line), "message": message}


def world_total_check(facts: pd.DataFrame) -> list[dict[str, Any]]:
    """Country rows (incl. 'Other countries') against the published world total, per series."""
    key = ["edition", "commodity", "stage", "year", "statistic"]
    world = facts[(facts.iso3 == "WLD") & facts.value.notna()].set_index(key)
    countries = facts[(facts.iso3 != "WLD")]
    sums = countries.groupby(key).value.sum(min_count=1)
    withheld = countries.assign(w=countries.flag == "withheld").groupby(key).w.any()
    joined = (
        world[["value", "raw_file", "raw_line", "unit"]]
        .join(sums.rename("sum"), how="inner")
        .join(withheld.rename("withheld"))
    )
    joined = joined[joined["sum"].notna()]
    gap = (joined["sum"] - joined["value"]).abs()
    tol = np.maximum(WORLD_TOTAL_RTOL * joined["value"], _half_last_digit(joined["value"]))
    bad = joined[gap > tol]
    out = []
    for idx, r in bad.iterrows():
        edition, commodity, stage, year, statistic = idx
        rel = (r["sum"] - r["value"]) / r["value"] if r["value"] else math.inf
        out.append(
            {
                "kind": "world_total_mismatch",
                "file": r.raw_file,
                "line": int(r.raw_line),
                "message": (
                    f"{commodity}/{stage}/{statistic} {year} (MCS {edition}): countries sum "
                    f"to {r['sum']:,.6g} {r.unit}, world total {r['value']:,.6g} ({rel:+.1%})"
                    + ("; some countries withheld" if r.withheld else "")
                ),
            }
        )
    return out


def _half_last_digit(values: pd.Series) -> pd.Series:
    """Half a unit of the second significant digit: the rounding of a 'rounded' world total."""
    v = values.abs().where(values.abs() > 0, 1.0)
    return 0.5 * 10 ** (np.floor(np.log10(v)) - 1)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _raw_checksums(raw_root: Path) -> dict[str, str]:
    files = sorted(
        p
        for sub in ("usgs_mcs", "wgi", "country_codes")
        for p in (raw_root / sub).rglob("*")
        if p.is_file()
    )
    return {str(p.relative_to(raw_root)): _sha256(p) for p in files}


def build(raw_root: Path, out_dir: Path | None = None) -> BuildResult:
    """Rebuild the curated dataset from ``raw_root`` into ``out_dir`` (the package copy)."""
    from critmin import __version__
    from critmin.data.store import PACKAGE_DIR

    raw_root = Path(raw_root).resolve()
    out_dir = Path(out_dir or PACKAGE_DIR).resolve()
    tables, report, provenance = read_all(raw_root)
    report += validate(tables)
    checksums = _raw_checksums(raw_root)
    digest = hashlib.sha256(json.dumps(checksums, sort_keys=True).encode()).hexdigest()[:12]
    editions = "/".join(str(e) for e in sorted(tables["facts"].edition.unique(), reverse=True))
    data_edition = f"USGS MCS {editions}; WGI 2024 release; raw sha256 {digest}"
    counts = {name: len(frame) for name, frame in tables.items()}
    manifest = {
        "data_edition": data_edition,
        "critmin_version": __version__,
        "counts": counts,
        "provenance": provenance,
        "raw_files": checksums,
        "report_counts": pd.Series([r["kind"] for r in report]).value_counts().to_dict()
        if report
        else {},
    }
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".curated-build-", dir=out_dir.parent))
    try:
        for name, frame in tables.items():
            frame.to_parquet(tmp / f"{name}.parquet", index=False)
        (tmp / "manifest.json").write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
        )
        (tmp / "build_report.json").write_text(
            json.dumps(
                sorted(report, key=lambda r: (r["kind"], r["file"], r["line"] or 0)),
                indent=1,
                ensure_ascii=False,
            )
            + "\n"
        )
        _swap_in(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    from critmin.data.store import _connect

    _connect.cache_clear()
    return BuildResult(out_dir=out_dir, counts=counts, report=report, data_edition=data_edition)


def _swap_in(tmp: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by ``tmp`` with two renames, so readers never see half a dataset."""
    old = out_dir.with_name(out_dir.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if out_dir.exists():
        out_dir.rename(old)
    tmp.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)
