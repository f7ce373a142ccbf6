"""USGS MCS 2022–2024 per-commodity files: file code → commodity, series rules, header fixes.

The MCS 2022–2024 data releases ship one CSV per commodity (``mcs2024-raree_world.csv``); the
five-letter code names the commodity. Each code maps to the label MCS 2026 prints in its
``Commodity`` column, and :func:`critmin.data.catalog.commodity_slug` turns that label into the
catalog slug, so that all editions share one slug per commodity.

Stages are named as MCS 2026 names them: the reader rebuilds the MCS 2026 label of each series
(``"Mine production: Ilmenite"``) and passes it to :func:`critmin.data.usgs_mcs2026.stage_of`.
The generic label takes the stage word of the legacy row label (:func:`stage_from_label`,
which knows the legacy typos: "Mne production", "Mine poduction"); :data:`SERIES` gives the
MCS 2026 labels where a file holds several series (ilmenite and rutile; kaolin, bentonite and
fuller's earth) or where MCS 2026 names the series differently ("Plant production, lime" →
"Production"). :data:`HEADER_FIXES` corrects column names USGS got wrong, each with the
evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

#: File code → the commodity label MCS 2026 prints (slug via ``catalog.commodity_slug``).
LABELS: Final[dict[str, str]] = {
    "abras": "Abrasives (Manufactured)",
    "alum": "Aluminum",
    "alumi": "Aluminum",
    "antim": "Antimony",
    "arsen": "Arsenic",
    "asbes": "Asbestos",
    "barit": "Barite",
    "bauxi": "Bauxite",
    "beryl": "Beryllium",
    "bismu": "Bismuth",
    "boron": "Boron",
    "bromi": "Bromine",
    "cadmi": "Cadmium",
    "cemen": "Cement",
    "chrom": "Chromium",
    "clays": "Clays",
    "cobal": "Cobalt",
    "coppe": "Copper",
    "diamo": "Diamond (Industrial)",
    "diato": "Diatomite",
    "felds": "Feldspar And Nepheline Syenite",
    "feore": "Iron Ore",
    "fepig": "Iron Oxide Pigments",
    "fescr": "Iron And Steel Scrap",
    "fesla": "Iron And Steel Slag",
    "feste": "Iron And Steel",
    "fluor": "Fluorspar",
    "galli": "Gallium",
    "garne": "Garnet (Industrial)",
    "gemst": "Gemstones",
    "germa": "Germanium",
    "gold": "Gold",
    "graph": "Graphite (Natural)",
    "gypsu": "Gypsum",
    "heliu": "Helium",
    "indiu": "Indium",
    "iodin": "Iodine",
    "kyani": "Kyanite And Related Minerals",
    "lead": "Lead",
    "lime": "Lime",
    "lithi": "Lithium",
    "manga": "Manganese",
    "mercu": "Mercury",
    "mgcomp": "Magnesium Compounds",
    "mgmet": "Magnesium Metal",
    "mica": "Mica (Natural)",
    "molyb": "Molybdenum",
    "nicke": "Nickel",
    "niobi": "Niobium (Columbium)",
    "nitro": "Nitrogen (Fixed)—Ammonia",
    "peat": "Peat",
    "perli": "Perlite",
    "phosp": "Phosphate Rock",
    "plati": "Platinum-Group Metals",
    "potas": "Potash",
    "pumic": "Pumice And Pumicite",
    "quartz": "Industrial cultured quartz crystal",
    "raree": "Rare Earths",
    "rheni": "Rhenium",
    "salt": "Salt",
    "sandc": "Sand And Gravel (Construction)",
    "sandi": "Sand And Gravel (Industrial)",
    "scand": "Scandium",
    "scandi": "Scandium",
    "selen": "Selenium",
    "silve": "Silver",
    "simet": "Silicon",
    "sodaa": "Soda Ash",
    "stonec": "Stone (Crushed)",
    "stond": "Stone (Dimension)",
    "stron": "Strontium",
    "sulfu": "Sulfur",
    "talc": "Talc And Pyrophyllite",
    "tanta": "Tantalum",
    "tellu": "Tellurium",
    "thall": "Thallium",
    "thalli": "Thallium",
    "thori": "Thorium",
    "timin": "Titanium Mineral Concentrates",
    "tin": "Tin",
    "titan": "Titanium Sponge Metal",
    "tungs": "Tungsten",
    "vanad": "Vanadium",
    "vermi": "Vermiculite",
    "wolla": "Wollastonite",
    "yttri": "Yttrium",
    "zeoli": "Zeolites (Natural)",
    "zinc": "Zinc",
    "zirco": "Zirconium",
    "zirco-hafni": "Zirconium",
}

#: Salient files whose columns belong to other MCS 2026 commodities: code → ((regex on the
#: column name, label), …); first match wins, else the code's salient label.
SALIENT_COLUMN_LABELS: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "bauxi": ((r"^alumina_", "Alumina"),),
    "titan": ((r"dioxide", "TiO2 pigment"),),
    "diamo": (
        (r"^bort_", "Diamond (Bort, grit, and dust and powder; natural and synthetic)"),
        (r"^stones_", "Diamond (Stones, natural and synthetic)"),
    ),
    "felds": ((r"felds-plus-neph", "Feldspar And Nepheline Syenite"),
              (r"nepheline", "Nepheline Syenite"), (r".", "Feldspar")),
    "quartz": ((r"^hpq_", "Ground high-purity quartz"),),
    "stond": ((r"^granite_", "Granite Only"),),
    "plati": ((r"palladium", "Palladium"), (r"platinum", "Platinum"), (r"iridium", "Iridium"),
              (r"rhodium", "Rhodium"), (r"ruthenium", "Ruthenium"), (r"osmium", "Osmium")),
}

#: Labels of the MCS 2024 "Fig2" and "T5" industry-trend tables that the generic rule (the text
#: before the first comma or parenthesis, through ``commodity_slug``) gets wrong.
FIGURE_LABELS: Final[dict[str, str]] = {
    "abrasives": "Abrasives (Manufactured)",
    "titanium": "Titanium Sponge Metal",
    "titanium (metal)": "Titanium Sponge Metal",
    "aluminum (bauxite)": "Bauxite",
    "magnesium": "Magnesium Metal",
    "diamond (industrial), stones": "Diamond (Stones, natural and synthetic)",
    "diamond (industrial), bort": (
        "Diamond (Bort, grit, and dust and powder; natural and synthetic)"),
}

#: MCS 2026 labels used only by the industry-trend tables.
EXTRA_LABELS: Final = ("Cesium", "Rubidium", "Nepheline Syenite", "Alumina", "Platinum",
                       "Palladium", "Feldspar")

#: Salient label where it differs from the world label (MCS 2026 salient section).
SALIENT_LABELS: Final[dict[str, str]] = {
    "zirco": "Zirconium And Hafnium",
    "zirco-hafni": "Zirconium And Hafnium",
}


@dataclass(frozen=True)
class Series:
    """One USGS series of a world file, described by the labels MCS 2026 prints for it.

    The reader names its stage with :func:`critmin.data.usgs_mcs2026.stage_of` on these labels,
    so that one series has one (commodity, stage) in every edition. The defaults rebuild the
    MCS 2026 label from the legacy row: ``"<Stage> production: <sub>"`` and
    ``"Reserves: <sub>"``.
    """

    sub: str = ""  # sub-series words ("ilmenite", "K2O equivalent"); "" = the main series
    detail: str | None = None  # MCS 2026 label of its production/capacity rows, if not default
    #: MCS 2026 label of its reserves rows, if not default; "" = the row's reserves cell is not
    #: this series' (alumina rows of the bauxite file: "XX"; palladium: "Included with platinum")
    reserves: str | None = None
    label: str | None = None  # commodity label when the series is another MCS 2026 commodity
    basis: str | None = None  # basis when the legacy row label does not state it


@dataclass(frozen=True)
class WorldSpec:
    """How to read one world file beyond the generic rules."""

    #: MCS 2026 label of the file's production rows where the legacy row labels name no stage,
    #: another stage than MCS 2026 ("Plant production, lime" → "Production") or vary per country
    detail: str | None = None
    #: (regex on "country | type" in lower case, series); first match wins, else the main series
    #: ("" matches every row)
    rules: tuple[tuple[str, Series], ...] = ()
    #: column sub-series (``Prod_Sponge_t``, ``Reserves_ore_K2O_equiv_kt``) → series
    columns: dict[str, Series] = field(default_factory=dict)


_S = Series

#: World files with several series, or whose stage MCS 2026 names differently from the legacy
#: row labels. Keyed by code, or by (code, edition) where an edition differs. Each ``detail``
#: and ``reserves`` is a ``Statistics_detail`` MCS 2026 prints for the same series.
SERIES: Final[dict[str | tuple[str, int], WorldSpec]] = {
    "bauxi": WorldSpec(rules=(("alumina", _S(label="Alumina", reserves="")),)),
    # MCS 2026: platinum and palladium are commodities; reserves are PGM reserves (the file's
    # commodity), printed on the platinum rows ("Includes all platinum-group metals").
    "plati": WorldSpec(rules=(
        ("palladium", _S(label="Palladium", detail="Mine production: Palladium", reserves="")),
        ("platinum", _S(label="Platinum", detail="Mine production: Platinum",
                        reserves="PGM reserves")),
    )),
    # The U.S. "Ilmenite and rutile" row is counted in the ilmenite world total (USGS note).
    "timin": WorldSpec(rules=(
        (r"world total.*ilmen\w* and rutile", _S(sub="ilmenite and rutile")),
        ("ilmenite", _S(sub="ilmenite")),
        ("rutile", _S(sub="rutile")),
    )),
    "clays": WorldSpec(rules=(
        ("bentonite", _S(sub="bentonite")), ("fuller", _S(sub="fuller's earth")),
        ("kaolin", _S(sub="kaolin")),
    )),
    # The reserves of the usable-ore rows are crude ore ("Crude ore, million metric tons").
    "feore": WorldSpec(rules=(
        ("usable ore", _S(sub="usable ore", reserves="Reserves: crude ore")),
        ("iron content", _S(sub="iron content")),
    )),
    "feste": WorldSpec(rules=(("pig iron", _S(detail="Pig iron")),
                              ("raw steel", _S(detail="Raw steel")))),
    "mica": WorldSpec(rules=(
        ("scrap and flake", _S(sub="mica scrap and flake",
                               detail="Mica (Scrap and flake): production")),
        ("sheet", _S(sub="mica sheet")),
    )),
    ("simet", 2024): WorldSpec(rules=(
        ("ferrosilicon", _S(detail="Ferrosilicon")), ("silicon metal", _S(detail="Silicon metal")),
    )),
    # 2023: one combined series (no MCS 2026 counterpart); countries that make only
    # ferrosilicon say so in the row label and are counted in the same world total.
    ("simet", 2023): WorldSpec(detail="Ferrosilicon and silicon metal"),
    "sodaa": WorldSpec(detail="Mine production", rules=(
        ("natural and synthetic", _S(sub="natural and synthetic")),
        ("synthetic", _S(sub="synthetic")),
        ("natural", _S(sub="natural")),
    )),
    "abras": WorldSpec(rules=(
        ("fused aluminum oxide", _S(detail="Fused aluminum oxide")),
        ("silicon carbide", _S(detail="Silicon carbide")),
    )),
    # Cliffside Field is the U.S. Federal Helium Reserve, listed beside extraction from gas;
    # MCS 2026 prints one U.S. row, so this sub-series exists only in the legacy editions.
    "heliu": WorldSpec(detail="Helium Production",
                       rules=(("cliffside", _S(sub="Cliffside Field")),)),
    "cemen": WorldSpec(rules=(("clinker", _S(detail="Clinker capacity")),
                              ("cement", _S(detail="Cement production")))),
    # One form per country, no world total ("cannot be calculated"): MCS 2026 names each form.
    "boron": WorldSpec(detail="Production", rules=(
        ("boric oxide", _S(sub="boric oxide equivalent")),
        ("compounds", _S(sub="compounds")),
        ("crude ore", _S(sub="crude ore")),
        ("crude borates", _S(sub="crude borates")),
        ("refined borates", _S(sub="refined borates")),
        ("datolite", _S(sub="datolite ore")),
        ("ulexite", _S(sub="ulexite")),
        (r"borates$|all types|^world total", _S(detail="Production—All forms")),
    )),
    # MCS 2022–2024 reserves are "shipping-grade chromite ore … normalized to 45% Cr2O3" (US 7%,
    # Finland 26%): neither of the MCS 2026 series ("Reserves: Ore", "Reserves: Cr2O3 content").
    "chrom": WorldSpec(rules=(("", _S(reserves="Reserves: shipping-grade chromite ore")),)),
    "talc": WorldSpec(detail="Mine production"),
    "kyani": WorldSpec(detail="Mine production"),
    "fepig": WorldSpec(detail="Mine production"),
    "bromi": WorldSpec(detail="Production"),
    "perli": WorldSpec(detail="Production"),
    "lime": WorldSpec(detail="Production"),
    "sulfu": WorldSpec(detail="Production, all forms"),
    "arsen": WorldSpec(detail="Production (arsenic trioxide, gross weight)"),
    "titan": WorldSpec(columns={
        "sponge": _S(label="Titanium Sponge Metal", detail="Titanium sponge metal production"),
        "pigment": _S(label="TiO2 Pigment", detail="TiO2 Pigment Capacity"),
    }),
    # MCS 2026: "Reserves, Recoverable ore" (stage mine) and "Reserves: K2O equivalent".
    "potas": WorldSpec(columns={
        "ore": _S(basis="ore"),
        "ore_k2o_equiv": _S(sub="K2O equivalent", basis="K2O equivalent"),
    }),
}


def world_spec(code: str, edition: int) -> WorldSpec:
    """The reading rules of one world file (generic when the file needs none)."""
    return SERIES.get((code, edition)) or SERIES.get(code) or WorldSpec()


_SAME_2023 = "MCS 2023 prints the same 2019–22 values under this name"
_SAME_2024 = "MCS 2024 prints the same 2019–22 values under this name"
_SHIFT = ("the data rows have one more field than the header names, so every value sits one "
          "column right of its name; MCS 2023 prints the same 2019–22 values under this name")

#: Column names USGS printed wrongly: (edition, code, "world"|"salient") →
#: {(0-based column, printed name): (name to read, evidence)}. Found by comparing overlapping
#: years between editions (the tests re-check the world units the same way). A name of ""
#: drops a column whose values cannot be attributed.
HEADER_FIXES: Final[dict[tuple[int, str, str], dict[tuple[int, str], tuple[str, str]]]] = {
    # --- world files: units in the column names
    (2023, "chrom", "world"): {
        (3, "Prod_t_2021"): ("Prod_kt_2021", "the file's notes: 'Units are thousand metric tons'"),
        (4, "Prod_t_est_2022"): ("Prod_kt_est_2022",
                                 "the file's notes: 'Units are thousand metric tons'"),
    },
    (2023, "rheni", "world"): {
        (6, "Reserves_kt"): ("Reserves_kg", "MCS 2024 prints the same reserves in kilograms"),
    },
    (2023, "vanad", "world"): {
        (6, "Reserves_t"): ("Reserves_kt", "MCS 2024 prints the same reserves in thousand "
                            "metric tons; 26,000 t would be a quarter of one year's output"),
    },
    (2024, "selen", "world"): {
        (6, "Reserves_kt"): ("Reserves_t", "MCS 2023 prints the same reserves in metric tons"),
    },
    (2024, "talc", "world"): {
        (6, "Reserves_t"): ("Reserves_kt", "MCS 2023 prints the same reserves in thousand "
                            "metric tons"),
    },
    # --- salient files
    (2022, "graph", "salient"): {
        (7, "Price_Flake_t"): ("Price_Flake_dt", "MCS 2023 names these prices dollars per ton"),
        (8, "Price_Lump_t"): ("Price_Lump_dt", "MCS 2023 names these prices dollars per ton"),
        (9, "Price_Amorphous_t"): ("Price_Amorphous_dt",
                                   "MCS 2023 names these prices dollars per ton"),
    },
    (2023, "feste", "salient"): {
        (14, "Exports_Total"): ("Exports_Total_mmt", _SAME_2024),
    },
    (2023, "lead", "salient"): {
        (10, "Consump_t"): ("Consump_kt", "apparent consumption = production + imports − "
                            "exports of the file's kt columns (1,070 + 501 − 25 ≈ 1,550 in 2019)"),
    },
    (2023, "niobi", "salient"): {(9, "Price_kg"): ("Price_dkg", _SAME_2024)},
    (2023, "phosp", "salient"): {
        (4, "CASE STATEMENT ERRORSold_Used_kt"): ("Sold_Used_kt", _SAME_2024),
    },
    (2024, "alum", "salient"): {(11, "CASE STATEMENT ERRORkt"): ("Supply_kt", _SAME_2023)},
    (2024, "bauxi", "salient"): {
        (9, "Bauxite_Price_kt"): ("Bauxite_Price_dt", _SAME_2023),
        (16, "Alumina_Price_kt"): ("Alumina_Price_dt", _SAME_2023),
    },
    (2024, "chrom", "salient"): {
        (10, "CASE STATEMENT ERROROre_dt"): ("Price_Ore_dt", "MCS 2023 names it Price_Ore_dt"),
        (11, "CASE STATEMENT ERRORFerrrochromium_dlb"): (
            "Price_Ferrochromium_dlb", "MCS 2023 names it Price_Ferrrochromium_dt"),
        (12, "CASE STATEMENT ERRORMetal_dlb"): ("Price_Metal_dlb",
                                                "MCS 2023 names it Price_Metal_dt"),
    },
    (2024, "diamo", "salient"): {
        (8, "Bort_Price_Imports_mct"): ("Bort_Price_Imports_dct", _SAME_2023),
        (15, "Stones_Price_Imports_mct"): ("Stones_Price_Imports_dct", _SAME_2023),
    },
    (2024, "felds", "salient"): {
        (7, "Consump_Feldspar_kt"): ("", "an empty column the header does not name"),
        (8, "Consump_Felds-plus-neph_kt"): ("Consump_Feldspar_kt", _SHIFT),
        (9, "Price_Feldspar_dt"): ("Consump_Felds-plus-neph_kt", _SHIFT),
        (10, "Price_Nepheline_syenite_dt"): ("Price_Feldspar_dt", _SHIFT),
        (11, "Employment_num"): ("Price_Nepheline_syenite_dt", _SHIFT),
        (12, "NIR_Feldspar_pct"): ("Employment_num", _SHIFT),
        (13, "NIR_Nepheline_syenite_pct"): ("NIR_Feldspar_pct", _SHIFT),
        (14, ""): ("NIR_Nepheline_syenite_pct", _SHIFT),
    },
    (2024, "fepig", "salient"): {
        (3, "CASE STATEMENT ERRORt"): ("USprodCrude_t", "MCS 2023 names it USprodCrude_t"),
        (4, "CASE STATEMENT ERRORt"): ("SoldFinished_t", _SAME_2023),
    },
    (2024, "feste", "salient"): {
        (5, "Furnace_BOF_mmt"): ("Furnace_BOF_pct", _SAME_2023),
        (6, "Furnace_EAF_mmt"): ("Furnace_EAF_pct", _SAME_2023),
        (7, "Consump_mmt"): ("Continuous_cast_pct",
                             "MCS 2023 prints 99.8 (rounded here to 100) as Continuous_cast_pct"),
        (17, "Price_Index_mmt"): ("Price_Index", _SAME_2023),
        (18, "Employment_Mill_mmt"): ("Employment_Mill_num", _SAME_2023),
        (19, "Employment_mmt"): ("Employment_num", _SAME_2023),
    },
    (2024, "fluor", "salient"): {
        (3, "USprod_Metallurgical_kt"): ("", "an empty column the header does not name"),
        (4, "USprod_H2SiF6_kt"): ("USprod_Metallurgical_kt", _SHIFT),
        (5, "Imports_Acid_kt"): ("USprod_H2SiF6_kt", _SHIFT),
        (6, "Imports_Metallurgical_kt"): ("Imports_Acid_kt", _SHIFT),
        (7, "Imports_Total_Fl_kt"): ("Imports_Metallurgical_kt", _SHIFT),
        (8, "Imports_HF_kt"): ("Imports_Total_Fl_kt", _SHIFT),
        (9, "Imports_AlF3_kt"): ("Imports_HF_kt", _SHIFT),
        (10, "Exports_Cryolite_kt"): ("Imports_AlF3_kt", _SHIFT),
        (11, "Consump_All_kt"): ("Imports_Cryolite_kt", _SHIFT),
        (12, "Price_dt"): ("Exports_All_kt", _SHIFT),
        (13, "Price_Acid_dt"): ("Consump_kt", _SHIFT),
        (14, "Employment_Metallurgical_num"): ("Price_Acid_dt", _SHIFT),
        (15, "NIR_Mine_pct"): ("Price_Metallurgical_dt", _SHIFT),
        (16, ""): ("Employment_Mine_num", _SHIFT),
        (17, ""): ("NIR_pct", _SHIFT),
    },
    (2024, "galli", "salient"): {
        (6, "Exports_g"): ("Exports_kg", "MCS 2023 prints these quantities in kilograms"),
        (7, "Consump_g"): ("Consump_kg", _SAME_2023 + " (kilograms)"),
        (10, "Stocks_g"): ("Stocks_kg", _SAME_2023 + " (kilograms)"),
    },
    (2024, "iodin", "salient"): {
        (6, "Consump_t"): ("Consump_App_t", "MCS 2023 names the first Consump_App_t"),
        (7, "Consump_t"): ("Consump_Rpt_t", _SAME_2023),
    },
    (2024, "lead", "salient"): {
        (4, "USprod_Refinery_Primary_kt"): (
            "", "its values (266 in 2019) match no MCS 2023 series; the header's names are out "
            "of order"),
        (5, "USprod_Refinery_Secondary_kt"): ("USprod_Refinery_Primary_kt",
                                              "MCS 2023 prints the same zeros under this name"),
        (6, "USprod_Concentrates_kt"): ("USprod_Refinery_Secondary_kt",
                                        "MCS 2023 prints close values (1,070 vs 1,150 in 2019)"),
        (7, "Imports_Metal_kt"): ("Imports_Concentrates_kt", _SAME_2023),
        (8, "Imports_Concentrates_kt"): ("Imports_Metal_kt", _SAME_2023),
        (9, "Exports_Metal_kt"): ("Exports_Concentrates_kt", _SAME_2023),
        (10, "Exports_kt"): ("Exports_Metal_kt", _SAME_2023),
        (11, "Consump_North_American_kt"): ("Consump_kt",
                                            "MCS 2023 prints close values as consumption"),
        (12, "Price_LME_ctslb"): ("Price_North_American_ctslb", _SAME_2023),
    },
    (2024, "mercu", "salient"): {(7, "Price_Imports_df"): ("Price_Imports_dkg", _SAME_2023)},
    (2024, "mica", "salient"): {
        (3, "USprod_Flake_t"): ("USprod_Flake_Sold_t", _SAME_2023),
        (4, "USprod_Flake_t"): ("USprod_Flake_Ground_t", _SAME_2023),
        (17, "Price_Sheet-Splittings_dt"): ("Price_Sheet-Splittings_dkg",
                                            _SAME_2023 + " (dollars per kilogram)"),
    },
    (2024, "nicke", "salient"): {
        (15, "Price_dt dlb (both used)"): ("Price_LME_dt", _SAME_2023),
        (16, "Price_dt dlb (both used)"): ("Price_LME_dlb", _SAME_2023),
    },
    (2024, "tin", "salient"): {(12, "Consump_"): ("Consump_t", _SAME_2023)},
    (2024, "tungs", "salient"): {(14, "Stocks_"): ("Stocks_t", "MCS 2023 names it Stocks_t")},
    (2024, "zirco", "salient"): {
        (13, "Price_Zircon_premium_CIF_CN_t"): ("Price_Zircon_premium_CIF_CN_dt",
                                                "MCS 2023 names it …_dt"),
        (14, "Price_Zircon_imported_t"): ("Price_Zircon_imported_dt", _SAME_2023),
        (15, "Price_Zircon_sponge_CN_t"): ("Price_Zircon_sponge_CN_dkg",
                                           "MCS 2023 names it …_dkg (close values: 33 vs 34)"),
        (16, "Price_Hf_unwrought_t"): ("Price_Hf_unwrought_dkg", "MCS 2023 names it …_dkg"),
    },
}


_STAGE_WORDS: Final = (
    (re.compile(r"\bmi?ne\b"), "mine"),  # "Mne production" (chromium 2024) is a USGS typo
    (re.compile(r"\brefinery\b"), "refinery"),
    (re.compile(r"\bsmelter\b"), "smelter"),
    (re.compile(r"\bplant\b"), "plant"),
    (re.compile(r"\bprimary\b|\blow-purity\b"), "primary"),
)


def stage_from_label(label: str) -> str | None:
    """Stage word of a legacy row label: "Mine production, …" → ``mine``; None if absent.

    Legacy-only: the legacy labels carry typos ("Mne production") and the basis after a comma,
    so the reader keeps just the stage word and builds the MCS 2026 label from it. Order
    matters: "Primary and secondary refinery production" (germanium) is ``refinery``.
    """
    text = str(label).lower()
    for pattern, stage in _STAGE_WORDS:
        if pattern.search(text):
            return stage
    return None


#: Element names → symbols for "contained cobalt" / "lithium content" → "Co content".
_SYMBOLS: Final = {
    "antimony": "Sb", "beryllium": "Be", "bromine": "Br", "cobalt": "Co", "copper": "Cu",
    "gold": "Au", "iron": "Fe", "lead": "Pb", "lithium": "Li", "manganese": "Mn",
    "mercury": "Hg", "molybdenum": "Mo", "nickel": "Ni", "niobium": "Nb", "nitrogen": "N",
    "rhenium": "Re", "selenium": "Se", "silicon": "Si", "silver": "Ag", "strontium": "Sr",
    "sulfur": "S", "tantalum": "Ta", "tellurium": "Te", "tin": "Sn", "tungsten": "W",
    "vanadium": "V", "zinc": "Zn", "indium": "In",
}

_BASIS_PATTERNS: Final = (
    (re.compile(r"rare-earth-oxide|\breo\b"), lambda m: "REO"),
    (re.compile(r"\((\w+)\)\s*(content|equivalent)"), lambda m: f"{_formula(m[1])} {m[2]}"),
    (re.compile(r"contained (?:\w+ )?\((\w+)\)"), lambda m: f"{_formula(m[1])} content"),
    (re.compile(r"boric oxide"), lambda m: "B2O3 equivalent"),
    (re.compile(r"arsenic trioxide"), lambda m: "As2O3 equivalent"),
    (re.compile(r"gros+ weight"), lambda m: "gross weight"),  # "grosss weight" (chromium 2024)
    (re.compile(r"calcined equivalent"), lambda m: "calcined equivalent"),
    (re.compile(r"dry tons"), lambda m: "dry weight"),
    (re.compile(r"contained (\w+)\b(?! content)"), lambda m: _symbol_content(m[1])),
    (re.compile(r"(\w+),? metric tons contained"), lambda m: _symbol_content(m[1])),
    (re.compile(r"(\w+) content"), lambda m: _symbol_content(m[1])),
)


def _formula(text: str) -> str:
    return {"tio2": "TiO2", "k2o": "K2O", "mgo": "MgO", "reo": "REO"}.get(text.lower(), text)


def _symbol_content(word: str) -> str:
    symbol = _SYMBOLS.get(word.lower())
    return f"{symbol} content" if symbol else ""


def basis_from_label(label: str) -> str:
    """Basis a USGS series label states: "Mine production, contained cobalt" → "Co content"."""
    text = str(label).lower()
    for pattern, render in _BASIS_PATTERNS:
        m = pattern.search(text)
        if m and (basis := render(m)):
            return basis
    return ""
