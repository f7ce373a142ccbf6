"""Data overlays: an organisation's own figures laid over the curated facts for its runs.

A row keyed by (commodity, stage, iso3, year, statistic) replaces that fact in every edition
(so the organisation's figure wins whatever edition a query picks) or, when the curated data
have no such fact, is added in the edition that the default "latest edition" view shows for
its (commodity, stage, year, statistic). A run with an overlay reads a private copy of the
curated folder whose ``facts.parquet`` has the overlay applied (``$CRITMIN_DATA_DIR``), so every
part of the library that reads facts sees the same figures and no other run does.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from critmin.errors import CritminError

if TYPE_CHECKING:
    import pandas as pd

KEY: Final = ("commodity", "stage", "iso3", "year", "statistic")
#: Statistics an overlay may carry: the curated ones plus holdings of strategic stockpiles.
STATISTICS: Final = ("production", "capacity", "reserves", "stockpile")
SOURCE: Final = "overlay"


def validate_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Check every row against the catalog; the message names the row and the field to fix."""
    from critmin.data import commodities, countries, resolve_commodity, stages

    catalog = commodities().set_index("commodity")
    known_iso3 = set(countries().iso3)
    out: list[dict[str, Any]] = []
    seen: set[tuple[Any, ...]] = set()
    for i, raw in enumerate(rows):
        where = f"rows[{i}]"
        try:
            slug = resolve_commodity(str(raw["commodity"]))
            stage = str(raw["stage"])
            if stage not in stages(slug):
                raise CritminError(f"{where}.stage: {stage!r} is not a stage of {slug}; "
                                   f"allowed: {', '.join(stages(slug))}")
            iso3 = str(raw["iso3"]).upper()
            if iso3 not in known_iso3:
                raise CritminError(f"{where}.iso3: {iso3!r} is not a known ISO3 code")
            statistic = str(raw.get("statistic", "production"))
            if statistic not in STATISTICS:
                raise CritminError(f"{where}.statistic: {statistic!r} not allowed; allowed: "
                                   f"{', '.join(STATISTICS)}")
            year = int(raw["year"])
            if not 1900 <= year <= 2100:
                raise CritminError(f"{where}.year: {year} out of range; allowed: 1900..2100")
            value = float(raw["value"])
            if not math.isfinite(value) or value < 0:
                raise CritminError(f"{where}.value: {value} not allowed; allowed: >= 0")
            unit = str(raw.get("unit") or catalog.loc[slug, "unit"])
            if unit != catalog.loc[slug, "unit"]:
                raise CritminError(f"{where}.unit: {unit!r} differs from the catalog unit "
                                   f"{catalog.loc[slug, 'unit']!r} of {slug}; convert the value")
        except KeyError as err:
            if isinstance(err, CritminError):
                raise
            raise CritminError(f"{where}: field {err.args[0]!r} is missing; each row needs "
                               "commodity, stage, iso3, year, value") from None
        except (TypeError, ValueError) as err:
            raise CritminError(f"{where}: {err}") from None
        key = (slug, stage, iso3, year, statistic)
        if key in seen:
            raise CritminError(f"{where}: duplicate of an earlier row for {key}")
        seen.add(key)
        out.append({"commodity": slug, "stage": stage, "iso3": iso3, "year": year,
                    "statistic": statistic, "value": value, "unit": unit,
                    "note": str(raw.get("note") or "")})
    return out


def apply(facts: pd.DataFrame, rows: Sequence[Mapping[str, Any]], label: str) -> pd.DataFrame:
    """``facts`` with the overlay rows replacing matching facts and added where none match."""
    import numpy as np
    import pandas as pd

    if not rows:
        return facts
    over = pd.DataFrame(list(rows))
    over["year"] = over["year"].astype(facts["year"].dtype)
    keys = list(KEY)
    merged = facts.merge(over[[*keys, "value", "unit", "note"]], on=keys, how="left",
                         suffixes=("", "_overlay"), indicator=True)
    hit = (merged.pop("_merge") == "both").to_numpy()
    out = facts.copy()
    out.loc[hit, "value"] = merged.loc[hit, "value_overlay"].to_numpy()
    out.loc[hit, "unit"] = merged.loc[hit, "unit_overlay"].to_numpy()
    out.loc[hit, "flag"] = "reported"
    out.loc[hit, "source"] = SOURCE
    out.loc[hit, "note"] = _notes(label, merged.loc[hit, "note_overlay"])
    matched = facts.loc[hit, keys].drop_duplicates()
    new = over.merge(matched, on=keys, how="left", indicator=True)
    new = new[new.pop("_merge") == "left_only"]
    if len(new):
        group = ["commodity", "stage", "year", "statistic"]
        latest = facts.groupby(group, as_index=False)["edition"].max()
        new = new.merge(latest, on=group, how="left")
        newest = facts["edition"].max() if len(facts) else _newest_edition()
        new["edition"] = new["edition"].fillna(newest).astype(facts["edition"].dtype)
        names = _country_names()
        added = pd.DataFrame({
            "source": SOURCE, "edition": new["edition"].to_numpy(),
            "commodity": new["commodity"].to_numpy(), "stage": new["stage"].to_numpy(),
            "iso3": new["iso3"].to_numpy(),
            "country": new["iso3"].map(names).fillna(new["iso3"]).to_numpy(),
            "year": new["year"].to_numpy(), "statistic": new["statistic"].to_numpy(),
            "value": new["value"].to_numpy(float), "unit": new["unit"].to_numpy(),
            "basis": "", "flag": "reported",
            "note": _notes(label, new["note"]),
            "raw_unit": new["unit"].to_numpy(), "detail": "organisation overlay",
            "raw_file": "", "raw_line": np.zeros(len(new), dtype=facts["raw_line"].dtype),
        })
        out = pd.concat([out, added[facts.columns]], ignore_index=True)
    return out


def _newest_edition() -> int:
    from critmin.data import sql

    return int(sql("SELECT max(edition) AS e FROM facts").e.iloc[0])


def _notes(label: str, notes: pd.Series) -> list[str]:
    return [f"{label}: {n}" if n else label for n in notes.fillna("").astype(str)]


def _country_names() -> dict[str, str]:
    from critmin.data import countries

    table = countries()
    return dict(zip(table.iso3, table.name, strict=True))


def fingerprint(rows: Sequence[Mapping[str, Any]]) -> str:
    """12 hex digits identifying an overlay's content (recorded in the data edition)."""
    canonical = json.dumps(sorted(json.dumps(dict(r), sort_keys=True) for r in rows))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def materialise(rows: Sequence[Mapping[str, Any]], label: str, folder: Path) -> Path:
    """A curated-data folder with the overlay applied (other tables linked, not copied)."""
    from critmin.data import store

    source = store.data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        if path.name in ("facts.parquet", store.MANIFEST):
            continue
        target = folder / path.name
        if not target.exists():
            try:
                os.symlink(path, target)
            except OSError:
                shutil.copy2(path, target)
    facts = store.table("facts")
    apply(facts, rows, label).to_parquet(folder / "facts.parquet", index=False)
    manifest = store.manifest()
    manifest["data_edition"] = f"{manifest['data_edition']}; overlay {fingerprint(rows)}"
    (folder / store.MANIFEST).write_text(json.dumps(manifest, indent=1))
    return folder
