"""The sources table: for each curated table, where it comes from, under which licence, how to
cite it and which raw files were read (``schema.SOURCES_COLUMNS``).

Licences and DOIs are those stated in ``shared/data/raw/PROVENANCE.md``; group memberships cite
the URL of every public page their files were checked against.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

import pandas as pd

from critmin.data import schema

USGS_LICENCE: Final = "Public domain (U.S. Government work); citation requested"
WGI_LICENCE: Final = ("CC BY 4.0 — attribution: Kaufmann & Kraay, Worldwide Governance "
                      "Indicators, World Bank, 2024 update")
COUNTRY_CODES_LICENCE: Final = "ODC-PDDL-1.0"
GROUPS_LICENCE: Final = ("Facts compiled by critmin (MIT, with the package) from the public pages "
                         "cited per membership in the groups table's source column")

#: MCS data releases: edition → (citation, raw files of world data, raw files of salient data).
MCS_RELEASES: Final = {
    2022: ("U.S. Geological Survey, 2022, Mineral Commodity Summaries 2022 data release (subset "
           "of 12 commodities): https://doi.org/10.5066/P9KKMCP4",
           ("usgs_mcs/mcs2022_subset/world/mcs2022-*_world.csv",),
           ("usgs_mcs/mcs2022_subset/salient/mcs2022-*_salient.csv",)),
    2023: ("U.S. Geological Survey, 2023, Mineral Commodity Summaries 2023 data release: "
           "https://doi.org/10.5066/P9WCYUI6",
           ("usgs_mcs/mcs2023/world/mcs2023-*_world.csv",),
           ("usgs_mcs/mcs2023/salient/*_salient.csv", "usgs_mcs/mcs2023/industry_trends/*.csv")),
    2024: ("U.S. Geological Survey, 2024, Mineral Commodity Summaries 2024 data release (ver. 2.0, "
           "March 2024): https://doi.org/10.5066/P144BA54",
           ("usgs_mcs/mcs2024/world/*_world.csv",),
           ("usgs_mcs/mcs2024/salient/mcs2024-*_salient.csv",
            "usgs_mcs/mcs2024/industry_trends/*.csv")),
    2026: ("U.S. Geological Survey, 2026, Mineral Commodity Summaries 2026 data release "
           "(copy retrieved 2026-07-10; USGS version history up to v1.3 of 27 May 2026)",
           ("usgs_mcs/mcs2026/MCS2026_Commodities_Data.csv",),
           ("usgs_mcs/mcs2026/MCS2026_Commodities_Data.csv",)),
}

WGI_CITATION: Final = ("Kaufmann, D., and Kraay, A., 2024, Worldwide Governance Indicators, "
                       "2024 update (1996–2023), World Bank, www.govindicators.org")
COUNTRY_CODES_CITATION: Final = ("DataHub datasets/country-codes (ISO 3166, UN M49/UNSD, CLDR), "
                                 "commit caa72d1e0e5af8876c170bb36a9e4d64a01bba88 (2026-05-15)")


def sources_table(
    editions_present: Mapping[str, Iterable[object]],
    files: Mapping[str, Iterable[str]] | None = None,
) -> pd.DataFrame:
    """One row per curated table (``schema.SOURCES_COLUMNS``).

    ``editions_present`` maps a table name to the MCS editions it holds (facts, us_salient,
    us_import_sources; others fall back to their single release). ``files`` overrides the raw
    file list of a table (the build knows exactly what it read); by default the MCS files of
    the editions present are listed as glob patterns relative to the raw folder.
    """
    from critmin.data.country_groups import group_source_urls
    from critmin.data.governance import WGI_FILE
    from critmin.data.reference import COUNTRY_CODES_FILE

    files = files or {}

    def mcs_row(table: str, kind: int, default: Iterable[object]) -> dict[str, str]:
        editions = _editions(editions_present.get(table, default))
        unknown = [e for e in editions if e not in MCS_RELEASES]
        if unknown:
            raise ValueError(f"{table}: no citation for MCS edition(s) {unknown}")
        raw = [f for e in editions for f in MCS_RELEASES[e][kind]]
        return {
            "table": table, "source": "USGS Mineral Commodity Summaries",
            "editions": ", ".join(str(e) for e in editions), "licence": USGS_LICENCE,
            "citation": " | ".join(MCS_RELEASES[e][0] for e in editions),
            "files": _join(files.get(table, list(dict.fromkeys(raw)))),
        }

    latest = [max(MCS_RELEASES)]
    group_urls = group_source_urls()
    rows = [
        mcs_row("facts", 1, MCS_RELEASES),
        mcs_row("us_salient", 2, MCS_RELEASES),
        mcs_row("us_import_sources", 2, latest),
        {"table": "wgi", "source": "World Bank Worldwide Governance Indicators",
         "editions": _join_editions(editions_present.get("wgi"), "2024 release (1996–2023)"),
         "licence": WGI_LICENCE, "citation": WGI_CITATION,
         "files": _join(files.get("wgi", [WGI_FILE]))},
        {"table": "countries", "source": "ISO 3166 / UN M49 country codes (DataHub)",
         "editions": _join_editions(editions_present.get("countries"), "2026-05-15"),
         "licence": COUNTRY_CODES_LICENCE, "citation": COUNTRY_CODES_CITATION,
         "files": _join(files.get("countries", [COUNTRY_CODES_FILE]))},
        {"table": "groups", "source": "critmin group files (public announcements and lists)",
         "editions": _join_editions(editions_present.get("groups"), "shipped group files"),
         "licence": GROUPS_LICENCE,
         "citation": " | ".join(f"{g}: {'; '.join(urls)}" for g, urls in group_urls.items()),
         "files": _join(files.get("groups",
                                  [f"critmin/data/groups/{g}.yaml" for g in group_urls]))},
        {**mcs_row("commodities", 1, editions_present.get("facts", MCS_RELEASES)),
         "source": "critmin commodity catalog from USGS MCS labels"},
    ]
    return pd.DataFrame(rows, columns=list(schema.SOURCES_COLUMNS))


def _editions(values: Iterable[object]) -> list[int]:
    return sorted({int(v) for v in values})  # type: ignore[call-overload]


def _join_editions(values: Iterable[object] | None, default: str) -> str:
    return ", ".join(str(v) for v in values) if values else default


def _join(items: Iterable[str]) -> str:
    return "; ".join(items)
