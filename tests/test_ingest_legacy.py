"""USGS MCS 2022 (subset), 2023 and 2024 per-commodity files, read from the real raw files.

Numbers asserted here are read off the raw CSVs (line numbers given); nothing is dropped
silently; every quirk of PROVENANCE.md §1b–1d has a test.
"""

from __future__ import annotations

import csv
import math
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from critmin.data import schema, usgs_codes
from critmin.data import usgs_mcs_legacy as legacy
from critmin.data.build import world_total_check
from critmin.data.catalog import commodity_slug
from critmin.data.usgs_mcs2026 import read_mcs2026
from critmin.errors import DataBuildError

EDITIONS = (2022, 2023, 2024)
GALLIUM_2024 = "usgs_mcs/mcs2024/world/mcs2024-galli_world.csv"


@pytest.fixture(scope="module")
def world(raw_root: Path) -> dict[int, tuple[pd.DataFrame, list[dict]]]:
    return {edition: legacy.read_world(raw_root, edition) for edition in EDITIONS}


@pytest.fixture(scope="module")
def salient(raw_root: Path) -> dict[int, tuple[pd.DataFrame, list[dict]]]:
    return {edition: legacy.read_salient(raw_root, edition) for edition in EDITIONS}


@pytest.fixture(scope="module")
def trends(raw_root: Path) -> dict[int, tuple[dict[str, pd.DataFrame], list[dict]]]:
    return {edition: legacy.read_industry_trends(raw_root, edition) for edition in EDITIONS}


def _one(frame: pd.DataFrame, **where: object) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for column, value in where.items():
        mask &= frame[column] == value
    rows = frame[mask]
    assert len(rows) == 1, f"{len(rows)} rows for {where}"
    return rows.iloc[0]


def _mcs2026_labels(raw_root: Path) -> set[str]:
    path = raw_root / "usgs_mcs/mcs2026/MCS2026_Commodities_Data.csv"
    with path.open(encoding="cp1252", newline="") as handle:
        return {row["Commodity"].strip() for row in csv.DictReader(handle)}


# --- facts asserted against the raw files ----------------------------------------------------


def test_gallium_primary_production_2023_in_metric_tons(world) -> None:
    facts, _ = world[2024]
    ga = facts[(facts.commodity == "gallium") & (facts.year == 2023)
               & (facts.statistic == "production")]
    china = _one(ga, iso3="CHN")
    assert china.value == 600.0 and china.unit == "t"  # raw: 600000 kg, line 3
    assert china.raw_unit == "kilograms" and china.stage == "primary"
    assert china.flag == "estimated"  # column Prod_kg_est_2023
    assert (china.raw_file, china.raw_line) == (GALLIUM_2024, 3)
    assert _one(ga, iso3="WLD").value == 610.0
    capacity = _one(facts, commodity="gallium", iso3="CHN", statistic="capacity")
    assert (capacity.value, capacity.year, capacity.stage) == (1000.0, 2023, "primary")


def test_rare_earths_burma_2023(world) -> None:
    facts, _ = world[2024]
    burma = _one(facts, commodity="rare-earths", iso3="MMR", year=2023, statistic="production")
    assert burma.value == 38_000.0 and burma.basis == "REO" and burma.stage == "mine"
    assert burma.country == "Burma"


def test_reserves_are_mine_stage_as_of_year_before_edition(world) -> None:
    facts, _ = world[2024]
    reserves = facts[facts.statistic == "reserves"]
    assert set(reserves.year) == {2023}
    assert reserves.stage.str.startswith("mine").all()
    china = _one(reserves, commodity="rare-earths", iso3="CHN")
    assert china.value == 44_000_000.0  # mcs2024-raree_world.csv: "44,000,000" t


def test_lithium_net_import_reliance_2019_is_a_bound(salient) -> None:
    frame, _ = salient[2024]
    nir = _one(frame, commodity="lithium", year=2019, statistic="net_import_reliance")
    assert (nir.value, nir.nir_bound, nir.unit) == (25.0, ">", "percent")
    assert nir.detail == "NIR_pct"
    price = _one(frame, commodity="lithium", year=2023, statistic="price")
    assert (price.value, price.unit, price.flag) == (46_000.0, "USD/t", "estimated")


def test_mcs2022_subset_has_no_reserves_and_reads_kg(world) -> None:
    facts, _ = world[2022]
    assert set(facts.statistic) == {"production"}
    assert len(facts.raw_file.unique()) == 12
    germanium = _one(facts, commodity="germanium", iso3="CHN", year=2020)
    assert (germanium.value, germanium.flag, germanium.stage) == (95.0, "estimated", "refinery")


# --- nothing dropped silently -----------------------------------------------------------------


_VALUE_COLUMN = re.compile(r"^(Prod|Cap|Reserves)_(?!notes?$)", re.I)


@pytest.mark.parametrize("edition", EDITIONS)
def test_every_value_cell_is_a_fact_or_reported(world, raw_root: Path, edition: int) -> None:
    facts, report = world[edition]
    per_file = facts.groupby("raw_file").size()
    for path in legacy.edition_files(raw_root, edition, "world"):
        rel = path.relative_to(raw_root).as_posix()
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
        header = [h.strip() for h in rows[0]]
        n_values = sum(1 for h in header if _VALUE_COLUMN.match(h))
        n_rows = sum(1 for r in rows[1:] if any(c.strip() for c in r))
        unmapped = sum(1 for r in report if r["file"] == rel and r["kind"] == "unmapped_name")
        skipped = sum(1 for r in report if r["file"] == rel and r["kind"] == "skipped_value")
        assert n_rows * n_values == per_file.get(rel, 0) + unmapped * n_values + skipped, rel


@pytest.mark.parametrize("edition", (2023, 2024))
def test_every_salient_cell_is_a_row(raw_root: Path, edition: int) -> None:
    for path in legacy.edition_files(raw_root, edition, "salient"):
        frame, cells = legacy.read_salient_file(path, raw_root, edition, [])
        assert len(frame) == cells, path.name


def test_key_is_unique(world, salient, trends) -> None:
    facts = pd.concat([world[e][0] for e in EDITIONS])
    key = ["edition", "commodity", "stage", "iso3", "year", "statistic"]
    assert not facts.duplicated(key).any()
    frames = [salient[e][0] for e in EDITIONS] + [trends[e][0]["us_salient"] for e in EDITIONS]
    sal = pd.concat([f for f in frames if len(f)])
    assert not sal.duplicated(["edition", "commodity", "year", "statistic", "detail"]).any()


def test_contract(world, salient, trends) -> None:
    for edition in EDITIONS:
        facts, report = world[edition]
        assert tuple(facts.columns) == schema.FACTS_COLUMNS
        assert set(facts.flag) <= set(schema.FLAGS)
        assert (facts.value.isna() == facts.flag.isin(["withheld", "not_available"])).all()
        assert (facts.iso3.str.len() == 3).all() and set(facts.edition) == {edition}
        assert set(facts.statistic) <= {"production", "capacity", "reserves"}
        assert tuple(salient[edition][0].columns) == schema.SALIENT_COLUMNS
        tables, _ = trends[edition]
        assert tuple(tables["us_import_sources"].columns) == schema.IMPORT_SOURCES_COLUMNS
        assert all(set(r) == {"kind", "file", "line", "message"} for r in report)


def test_every_file_code_maps_to_an_mcs2026_commodity(world, salient, raw_root: Path) -> None:
    labels = _mcs2026_labels(raw_root)
    for edition in EDITIONS:
        for part in ("world", "salient"):
            for path in legacy.edition_files(raw_root, edition, part):
                _, code, _ = legacy.file_code(path)
                assert usgs_codes.LABELS[code] in labels, path.name
    used = [*usgs_codes.LABELS.values(), *usgs_codes.SALIENT_LABELS.values(),
            *usgs_codes.FIGURE_LABELS.values(), *usgs_codes.EXTRA_LABELS,
            *(label for rules in usgs_codes.SALIENT_COLUMN_LABELS.values() for _, label in rules)]
    assert set(used) <= labels
    slugs = {commodity_slug(label) for label in labels}
    for edition in EDITIONS:
        assert set(world[edition][0].commodity) <= slugs
        assert set(salient[edition][0].commodity) <= slugs
    assert commodity_slug(usgs_codes.LABELS["graph"]) == "graphite"
    assert commodity_slug(usgs_codes.LABELS["raree"]) == "rare-earths"
    assert commodity_slug(usgs_codes.LABELS["timin"]) == "titanium-mineral-concentrates"


# --- one test per quirk -----------------------------------------------------------------------


def test_quirk_bom_is_stripped(raw_root: Path) -> None:
    path = raw_root / GALLIUM_2024
    assert path.read_bytes().startswith(b"\xef\xbb\xbfSource,")
    assert legacy.read_table(path, GALLIUM_2024).header[:2] == ["Source", "Country"]


def test_quirk_trailing_empty_rows_and_columns_are_dropped(raw_root: Path, world) -> None:
    path = raw_root / "usgs_mcs/mcs2024/world/mcs2024-vermi_world.csv"
    lines = path.read_bytes().split(b"\r\n")
    assert lines[1].count(b",") == 43  # 44 fields: 8 named, 36 empty
    table = legacy.read_table(path, "vermi")
    assert len(table.rows) == 13  # lines 2..14 hold data; the rest are ",,,,"
    facts, _ = world[2024]
    vermi = facts[facts.raw_file.str.endswith("mcs2024-vermi_world.csv")]
    assert len(vermi) == 13 * 3 and vermi.raw_line.max() == 14


def test_quirk_thousands_separators(world) -> None:
    facts, _ = world[2024]
    alumina = _one(facts, commodity="alumina", iso3="AUS", year=2022, statistic="production")
    assert alumina.value == 19_500_000.0  # "19,500" thousand metric tons, line 3
    assert (alumina.stage, alumina.raw_line) == ("refinery", 3)
    bauxite = _one(facts, commodity="bauxite", iso3="AUS", statistic="reserves")
    assert bauxite.value == 3_500_000_000.0  # "3,500,000" kt


def test_quirk_footnote_digits_on_names(world) -> None:
    facts, _ = world[2024]
    other = _one(facts, commodity="gallium", country="Other countries", year=2023,
                 statistic="capacity")
    assert (other.iso3, other.value, other.raw_line) == ("OTH", 88.0, 7)  # "Other countries4"
    germany = _one(facts, commodity="iron-oxide-pigments", iso3="DEU", year=2022,
                   statistic="production")
    assert (germany.country, germany.value) == ("Germany", 323_000.0)  # "Germany6"
    kaolin = _one(facts, commodity="clays", stage="mine-kaolin", iso3="WLD", year=2022,
                  statistic="production")
    assert kaolin.country == "World total (rounded)" and kaolin.value == 51_900_000.0


def test_quirk_glued_e_means_estimated(world) -> None:
    facts, _ = world[2024]
    pd_2022 = facts[(facts.commodity == "palladium") & (facts.stage == "mine-palladium")
                    & (facts.year == 2022) & (facts.statistic == "production")]
    russia = _one(pd_2022, iso3="RUS")  # "Russiae", column Prod_kg_2022 (not estimated)
    assert (russia.country, russia.value, russia.flag) == ("Russia", 87.0, "estimated")
    assert _one(pd_2022, iso3="CAN").flag == "reported"
    korea = _one(facts, commodity="gallium", iso3="KOR", year=2023, statistic="production")
    assert korea.country == "Korea, Republic of"  # "Korea, Republic ofe"
    japan = _one(facts, commodity="gallium", iso3="JPN", year=2022, statistic="production")
    assert (japan.country, japan.flag) == ("Japan", "estimated")  # "Japane"


def test_quirk_leading_e_means_estimated(world) -> None:
    facts, _ = world[2024]
    russia = _one(facts, commodity="vanadium", iso3="RUS", year=2022, statistic="production")
    assert (russia.value, russia.flag) == (20_000.0, "estimated")  # "e20,000"


def test_quirk_w_is_withheld(world) -> None:
    facts, _ = world[2024]
    us = _one(facts, commodity="silicon", stage="ferrosilicon", iso3="USA", year=2022,
              statistic="production")
    assert us.flag == "withheld" and math.isnan(us.value)


def test_quirk_na_is_not_available_and_keeps_notes(world) -> None:
    facts, _ = world[2024]
    china = _one(facts, commodity="germanium", iso3="CHN", year=2023, statistic="production")
    assert china.flag == "not_available" and math.isnan(china.value)
    assert china.note == "leading producer"
    mica = _one(facts, commodity="mica", stage="mine-mica-sheet", iso3="USA", statistic="reserves")
    assert mica.flag == "not_available" and "Very small" in mica.note


def test_quirk_dash_is_zero(raw_root: Path, tmp_path: Path) -> None:
    # The legacy files print zero as "0"; none uses the dash of the PDF tables. A copy with a
    # dash in place of a zero must read the same.
    for edition in EDITIONS:
        for path in legacy.edition_files(raw_root, edition, "world"):
            text = path.read_text(encoding="utf-8-sig")
            assert not re.search(r"(^|,)\s*[—–]\s*(,|$)", text, re.M), path.name
    target = tmp_path / GALLIUM_2024
    target.parent.mkdir(parents=True)
    source = (raw_root / GALLIUM_2024).read_text(encoding="utf-8-sig")
    target.write_text(source.replace("Primary production,0,0,,0,", "Primary production,—,0,,0,"),
                      encoding="utf-8-sig")
    facts, _ = legacy.read_world_file(target, tmp_path, 2024, [])
    us = _one(facts, iso3="USA", year=2022, statistic="production")
    assert (us.value, us.flag) == (0.0, "zero")


def test_quirk_header_units_corrected_with_evidence(world) -> None:
    facts, report = world[2023]
    africa = _one(facts, commodity="chromium", iso3="ZAF", year=2021, statistic="production")
    assert africa.value == 18_600_000.0 and africa.raw_unit == "thousand metric tons"
    fixed = [r for r in report if r["kind"] == "header_fixed" and "chrom" in r["file"]]
    assert len(fixed) == 2 and "Units are thousand metric tons" in fixed[0]["message"]


def test_no_thousandfold_unit_slip_between_editions(world) -> None:
    """The same fact in consecutive editions never differs by ~1000× (a unit error)."""
    key = ["commodity", "stage", "iso3", "statistic"]
    for old, new in ((2022, 2023), (2023, 2024)):
        a, b = world[old][0], world[new][0]
        same_year = a.merge(b, on=[*key, "year"], suffixes=("_a", "_b"))
        res_a, res_b = (f[f.statistic == "reserves"] for f in (a, b))
        both = pd.concat([same_year, res_a.merge(res_b, on=key, suffixes=("_a", "_b"))])
        both = both[(both.value_a > 0) & (both.value_b > 0)]
        ratio = both.value_b / both.value_a
        assert len(both) > 100 or old == 2022
        # revisions exist (gypsum reserves of Thailand: 1,700 → 910,000 kt, "revised based on
        # Government reports"), but none lands near a factor of 1000
        assert not ((ratio > 700) & (ratio < 1400)).any()
        assert not ((ratio < 1 / 700) & (ratio > 1 / 1400)).any()


def test_quirk_salient_headers_fixed(salient) -> None:
    frame, report = salient[2024]
    consumption = _one(frame, commodity="gallium", year=2023, detail="Consump_kg")
    assert (consumption.value, consumption.unit) == (19.0, "t")  # "Consump_g" 19000 → kg
    fluor = _one(frame, commodity="fluorspar", year=2019, detail="NIR_pct")
    assert fluor.value == 100.0  # the shifted file: 2019 NIR is 100 in MCS 2023 and 2024
    assert any(r["kind"] == "wrong_layout" and "cobal" in r["file"] for r in report)


def test_rows_naming_several_countries_are_kept_as_mul(world) -> None:
    facts, report = world[2024]
    abrasives = facts[facts.commodity == "abrasives"]
    both = _one(abrasives, stage="fused-aluminum-oxide", iso3="MUL", year=2023)
    # mcs2024-abras_world.csv line 3: "United States and Canada", 60,000 t, estimated
    assert (both.country, both.value, both.raw_line) == ("United States and Canada", 60_000.0, 3)
    assert _one(abrasives, stage="silicon-carbide", iso3="MUL", year=2023).flag == "zero"
    assert not [r for r in report if r["kind"] in ("unmapped_name", "world_total_mismatch")]
    # with the MUL rows the countries add up to the world totals (1,245,000 t without them)
    assert world_total_check(abrasives) == []
    gaps = world_total_check(abrasives[abrasives.iso3 != "MUL"])
    assert len(gaps) == 2 and "1.245e+06" in gaps[0]["message"]  # 2022 and 2023


# --- industry trends --------------------------------------------------------------------------


def test_fig2_net_import_reliance_and_sources(trends) -> None:
    tables, _ = trends[2024]
    nir = tables["us_salient"]
    assert _one(nir, commodity="gallium", detail="Fig2").value == 100.0
    lithium = _one(nir, commodity="lithium", detail="Fig2")
    assert (lithium.year, lithium.value, lithium.nir_bound) == (2023, 25.0, ">")
    sources = tables["us_import_sources"]
    gallium = sources[sources.commodity == "gallium"].sort_values("detail")
    assert gallium.iso3.tolist()[:2] == ["JPN", "CHN"]  # "Japan, China, Germany, Canada"
    assert set(gallium.period) == {"2019–22"} and gallium.share_pct.isna().all()
    tables_2023, report_2023 = trends[2023]
    europe = _one(tables_2023["us_import_sources"], country="Europe")
    assert (europe.iso3, europe.commodity) == ("XEU", "scandium")
    assert not [r for r in report_2023 if r["kind"] == "unmapped_name"]


def test_t5_quantities_are_metric_tons(trends, salient) -> None:
    t5 = trends[2024][0]["us_salient"]
    t5_gallium = _one(t5, commodity="gallium", detail="T5 Apparent_Consuption")
    per_file = _one(salient[2024][0], commodity="gallium", year=2023, detail="Consump_kg")
    assert t5_gallium.value == per_file.value == 19.0
    nickel = _one(t5, commodity="nickel", detail="T5 Apparent_Consuption")
    nickel_file = _one(salient[2024][0], commodity="nickel", year=2023,
                       detail="Consump_Apparent_Total_t")
    assert nickel.value == nickel_file.value == 190_000.0


# --- labels -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "stage", "basis"), [
    ("Mne production, grosss weight, marketable chromite ore", "mine", "gross weight"),
    ("Primary and secondary refinery production", "refinery", ""),
    ("Rare earths, mine production, rare-earth-oxide equivalent, metric tons", "mine", "REO"),
    ("Mine production, metric tons of contained cobalt", "mine", "Co content"),
    ("Mine production: Ilmenite, titanium dioxide (TiO2) content.", "mine", "TiO2 content"),
    ("Mine production - nickel, metric tons contained", "mine", "Ni content"),
    ("Magnesium smelter production", "smelter", ""),
    ("Pig iron, million metric tons", None, ""),
])
def test_stage_and_basis_from_label(label: str, stage: str | None, basis: str) -> None:
    assert usgs_codes.stage_from_label(label) == stage
    assert usgs_codes.basis_from_label(label) == basis


def test_sub_series_get_their_own_stage(world) -> None:
    facts, _ = world[2024]
    stages = facts.groupby("commodity").stage.unique()
    assert set(stages["titanium-mineral-concentrates"]) == {
        "mine-ilmenite", "mine-rutile", "mine-ilmenite-and-rutile"}
    assert set(stages["platinum"]) == {"mine-platinum"}
    assert set(stages["palladium"]) == {"mine-palladium"}
    assert set(stages["platinum-group-metals"]) == {"mine"}  # reserves only, as in MCS 2026
    assert set(stages["iron-ore"]) == {"mine-usable-ore", "mine-iron-content", "mine-crude-ore"}
    us = _one(facts, commodity="titanium-mineral-concentrates", stage="mine-ilmenite",
              iso3="USA", year=2023, statistic="production")
    assert us.value == 200_000.0


# --- broken files -----------------------------------------------------------------------------


def _broken_copy(raw_root: Path, tmp_path: Path, edit) -> Path:
    target = tmp_path / GALLIUM_2024
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(edit((raw_root / GALLIUM_2024).read_bytes()))
    return target


def test_unterminated_quote_names_file_and_line(raw_root: Path, tmp_path: Path) -> None:
    _broken_copy(raw_root, tmp_path, lambda b: b.replace(b'"Korea, Republic ofe"',
                                                         b'"Korea, Republic ofe'))
    with pytest.raises(DataBuildError) as err:
        legacy.read_world(tmp_path, 2024)
    assert err.value.path == GALLIUM_2024 and err.value.line == 5
    assert f"{GALLIUM_2024}:5" in str(err.value)


def test_undecodable_bytes_name_file_and_line(raw_root: Path, tmp_path: Path) -> None:
    _broken_copy(raw_root, tmp_path, lambda b: b.replace(b"Russiae", b"Russia\x97"))
    with pytest.raises(DataBuildError) as err:
        legacy.read_world(tmp_path, 2024)
    assert (err.value.path, err.value.line) == (GALLIUM_2024, 6)
    assert "UTF-8" in str(err.value)


def test_extra_fields_name_file_and_line(raw_root: Path, tmp_path: Path) -> None:
    _broken_copy(raw_root, tmp_path, lambda b: b.replace(b"Japane,Primary production,3000",
                                                         b"Japane,Primary production,3,000"))
    with pytest.raises(DataBuildError) as err:
        legacy.read_world(tmp_path, 2024)
    assert (err.value.path, err.value.line) == (GALLIUM_2024, 4)
    assert "fields" in str(err.value)


def test_unknown_column_and_missing_folder(raw_root: Path, tmp_path: Path) -> None:
    _broken_copy(raw_root, tmp_path, lambda b: b.replace(b"Cap_kg_2023", b"Capacity2023"))
    with pytest.raises(DataBuildError, match="unrecognised column 'Capacity2023'"):
        legacy.read_world(tmp_path, 2024)
    shutil.rmtree(tmp_path / "usgs_mcs")
    with pytest.raises(DataBuildError, match="folder not found"):
        legacy.read_world(tmp_path, 2024)


# --- stages as MCS 2026 names them ------------------------------------------------------------


_NO_RESERVES_2026 = "MCS 2026 publishes no reserves for this commodity; reserves take 'mine'"
_CLIFFSIDE = ("Cliffside Field (the U.S. Federal Helium Reserve) is a U.S. row of its own in "
              "MCS 2022–2024; MCS 2026 prints one U.S. row")
#: Legacy (commodity, stage, statistic) with no MCS 2026 counterpart, and why.
STAGE_EXCEPTIONS = {
    ("helium", "helium-cliffside-field", "production"): _CLIFFSIDE,
    ("helium", "mine-cliffside-field", "reserves"): _CLIFFSIDE,
    ("chromium", "mine-shipping-grade-chromite-ore", "reserves"): (
        "MCS 2022–2024 reserves are shipping-grade chromite ore normalized to 45% Cr2O3; "
        "MCS 2026 publishes ore and Cr2O3 content instead"),
    ("silicon", "ferrosilicon-and-silicon-metal", "production"): (
        "MCS 2023 prints one combined series; MCS 2024 and 2026 split it"),
    **{(commodity, "mine", "reserves"): _NO_RESERVES_2026 for commodity in (
        "arsenic", "bismuth", "cadmium", "cement", "gallium", "indium", "iron-and-steel", "lime",
        "magnesium-metal", "nitrogen", "selenium", "silicon", "sulfur", "tellurium")},
}


@pytest.fixture(scope="module")
def mcs2026_facts(raw_root: Path) -> pd.DataFrame:
    return read_mcs2026(raw_root).facts


def test_stages_match_mcs2026(world, mcs2026_facts: pd.DataFrame) -> None:
    """Each legacy series has the (commodity, stage) MCS 2026 gives the same USGS series.

    Where MCS 2026 publishes the statistic for the commodity, the (commodity, stage,
    statistic) must exist there; otherwise the (commodity, stage) must.
    """
    new = mcs2026_facts
    triples = set(zip(new.commodity, new.stage, new.statistic, strict=True))
    pairs = {(c, s) for c, s, _ in triples}
    published = {(c, t) for c, _, t in triples}
    unmatched: dict[int, set[tuple[str, str, str]]] = {}
    for edition in EDITIONS:
        facts, _ = world[edition]
        legacy = set(zip(facts.commodity, facts.stage, facts.statistic, strict=True))
        unmatched[edition] = {
            (c, s, t) for c, s, t in legacy
            if c in set(new.commodity) and (c, s, t) not in triples
            and ((c, t) in published or (c, s) not in pairs)
        }
        assert unmatched[edition] <= set(STAGE_EXCEPTIONS), edition
    assert set().union(*unmatched.values()) == set(STAGE_EXCEPTIONS)  # none is stale
    assert {e for e, r in STAGE_EXCEPTIONS.items() if r == _NO_RESERVES_2026}.isdisjoint(
        {(c, "mine", t) for c, t in published})
    facts, _ = world[2024]
    assert ("platinum-group-metals", "mine", "reserves") in triples  # MCS 2026 "PGM reserves"
    assert {"germanium"} == set(facts.commodity) - set(new.commodity)  # no MCS 2026 world table


@pytest.mark.parametrize(("commodity", "stage", "iso3", "year", "statistic", "value", "line"), [
    # mcs2024-<code>_world.csv rows; values in metric tons (or the published unit)
    ("abrasives", "fused-aluminum-oxide", "CHN", 2023, "capacity", 800_000.0, 7),
    ("cement", "cement", "USA", 2023, "production", 91_000_000.0, 2),  # 91,000 kt
    ("cement", "clinker", "USA", 2023, "capacity", 100_000_000.0, 18),
    ("clays", "mine-fuller-s-earth", "USA", 2022, "production", 2_160_000.0, 17),
    ("helium", "helium", "USA", 2023, "production", 60.0, 2),  # extracted from natural gas
    ("helium", "helium-cliffside-field", "USA", 2023, "production", 19.0, 3),
    ("iron-and-steel", "pig-iron", "USA", 2023, "production", 21_000_000.0, 2),  # 21 Mt
    ("iron-ore", "mine-crude-ore", "USA", 2023, "reserves", 3_100_000_000.0, 2),  # crude ore
    ("silicon", "ferrosilicon", "USA", 2023, "production", math.nan, 2),  # W
    ("sulfur", "all-forms", "USA", 2023, "production", 8_600_000.0, 2),
    ("lime", "production", "JPN", 2023, "production", 6_200_000.0, 14),  # (quicklime only)
    ("titanium-sponge-metal", "sponge", "JPN", 2023, "production", 60_000.0, 8),
    ("titanium-dioxide-pigment", "tio2-pigment", "USA", 2023, "capacity", 1_360_000.0, 2),
    ("platinum", "mine-platinum", "ZAF", 2023, "production", 120.0, 12),  # 120,000 kg
    ("palladium", "mine-palladium", "RUS", 2023, "production", 92.0, 4),
    ("platinum-group-metals", "mine", "ZAF", 2023, "reserves", 63_000.0, 12),
    ("potash", "mine", "USA", 2023, "reserves", 970_000_000.0, 2),  # Reserves_ore_kt
    ("potash", "mine-k2o-equivalent", "USA", 2023, "reserves", 220_000_000.0, 2),
    ("boron", "production-refined-borates", "TUR", 2023, "production", 2_200_000.0, 10),
    ("boron", "production-all-forms", "USA", 2023, "production", math.nan, 2),  # W
    ("boron", "mine", "USA", 2023, "reserves", 48_000_000.0, 2),  # MCS 2026: "Reserves"
    ("boron", "mine", "CHL", 2023, "reserves", 35_000_000.0, 5),
    ("mica", "mine-mica-sheet", "IND", 2023, "reserves", 110_000.0, 18),
])
def test_series_named_as_mcs2026(world, commodity: str, stage: str, iso3: str, year: int,
                                 statistic: str, value: float, line: int | None) -> None:
    facts, _ = world[2024]
    fact = _one(facts, commodity=commodity, stage=stage, iso3=iso3, year=year,
                statistic=statistic)
    assert fact.value == value or (math.isnan(value) and fact.flag == "withheld")
    assert line is None or fact.raw_line == line


def test_reserves_printed_on_another_series_are_reported(world) -> None:
    facts, report = world[2024]
    skipped = [r for r in report if r["kind"] == "skipped_value"]
    palladium = [r for r in skipped if "plati" in r["file"]]
    assert [r["line"] for r in palladium] == list(range(2, 9))  # "NA, Included with platinum"
    assert all("Included with platinum" in r["message"] for r in palladium)
    alumina = [r for r in skipped if "bauxi" in r["file"]]
    assert len(alumina) == 22 and all("'XX'" in r["message"] for r in alumina)
    assert not ((facts.commodity.isin(["alumina", "palladium", "platinum"]))
                & (facts.statistic == "reserves")).any()


@pytest.mark.parametrize(("spec", "row", "column", "word", "statistic", "label"), [
    (usgs_codes.WorldSpec(), usgs_codes.Series(), usgs_codes.Series(), "mine", "production",
     "Mine production"),
    (usgs_codes.WorldSpec(), usgs_codes.Series(sub="rutile"), usgs_codes.Series(), "mine",
     "reserves", "Reserves: rutile"),
    (usgs_codes.SERIES["heliu"], usgs_codes.Series(sub="Cliffside Field"), usgs_codes.Series(),
     "mine", "production", "Helium Production: Cliffside Field"),
    (usgs_codes.WorldSpec(), usgs_codes.Series(reserves=""), usgs_codes.Series(), "refinery",
     "reserves", None),
])
def test_series_label(spec, row, column, word: str, statistic: str, label: str | None) -> None:
    assert legacy.series_label(spec, row, column, word, statistic) == label
