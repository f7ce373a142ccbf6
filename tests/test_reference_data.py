"""Reference data: WGI reader and rescalings, the countries table, the sources table."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmin.data import schema
from critmin.data.country_groups import GROUPS_DIR
from critmin.data.country_names import OVERRIDES
from critmin.data.governance import (
    INDICATORS,
    WB_NAMES,
    WGI_FILE,
    read_wgi,
    rescale_eu,
    rescale_usgs,
    wgi_mean,
)
from critmin.data.provenance import sources_table
from critmin.data.reference import COUNTRY_CODES_FILE, EXTRA_CODES, read_countries
from critmin.errors import DataBuildError, UnknownNameError

# Values read from the raw workbook by hand (openpyxl, sheet rows given): year 2023.
CHINA_2023 = {"cc": -0.005370104685425758, "ge": 0.6790140271186829, "pv": -0.5130970478057861,
              "rl": -0.040129970759153366, "rq": -0.356507807970047, "va": -1.5045541524887085}
DRC_2023_CC = -1.4805119037628174  # 'Congo, Dem. Rep.', 2023, cc — sheet row 30861


@pytest.fixture(scope="module")
def wgi_read(raw_root: Path) -> tuple[pd.DataFrame, list[dict]]:
    return read_wgi(raw_root)


@pytest.fixture(scope="module")
def countries(raw_root: Path) -> pd.DataFrame:
    return read_countries(raw_root)


# --------------------------------------------------------------------------- WGI, real file


def test_wgi_every_row_kept_and_every_economy_mapped(wgi_read, raw_root: Path) -> None:
    df, _ = wgi_read
    ws = openpyxl.load_workbook(raw_root / WGI_FILE, read_only=True).worksheets[0]
    assert len(df) == ws.max_row - 1 == 32_100  # rows in = rows out (header excluded)
    assert tuple(df.columns) == schema.WGI_COLUMNS
    assert df.wb_name.nunique() == 214
    assert df.iso3.nunique() == 214  # one code per economy: no two names collapse
    assert df.iso3.str.fullmatch(r"[A-Z]{3}").all()
    assert not df.duplicated(["iso3", "year", "indicator"]).any()
    assert set(df.indicator) == set(INDICATORS)
    assert sorted(df.year.unique()) == [1996, 1998, 2000, *range(2002, 2024)]


def test_wgi_world_bank_spellings(wgi_read) -> None:
    df, _ = wgi_read
    names = df.drop_duplicates("wb_name").set_index("wb_name").iso3
    expected = {"Congo, Dem. Rep.": "COD", "Congo, Rep.": "COG", "Bahamas, The": "BHS",
                "Korea, Dem. Rep.": "PRK", "Korea, Rep.": "KOR", "Micronesia, Fed. Sts.": "FSM",
                "Jersey, Channel Islands": "JEY", "West Bank and Gaza": "PSE", "Kosovo": "XKX",
                "Netherlands Antilles (former)": "ANT", "Taiwan, China": "TWN", "Türkiye": "TUR"}
    assert {k: names[k] for k in expected} == expected


def test_wgi_facts_from_the_raw_file(wgi_read) -> None:
    df, _ = wgi_read
    cod = df[(df.iso3 == "COD") & (df.year == 2023) & (df.indicator == "cc")]
    assert cod.estimate.item() == pytest.approx(DRC_2023_CC, abs=1e-12)
    assert cod.nsource.item() == 12
    chn = df[(df.iso3 == "CHN") & (df.year == 2023)].set_index("indicator").estimate
    assert chn.to_dict() == pytest.approx(CHINA_2023, abs=1e-12)


def test_wgi_missing_values_kept_as_nan_and_reported(wgi_read) -> None:
    df, report = wgi_read
    assert df.estimate.isna().sum() == 1126  # cells holding the string '..'
    assert df.nsource.isna().sum() == 1126
    ant = df[df.iso3 == "ANT"]
    assert len(ant) == 25 * 6 and ant.estimate.isna().sum() == 15 * 6  # data only 2004–2013
    assert all(r["kind"] == "wgi_missing" and r["file"] == WGI_FILE for r in report)
    ant_msgs = [r["message"] for r in report if "(ANT)" in r["message"]]
    assert ant_msgs == ["Netherlands Antilles (former) (ANT): 90 estimates are '..' "
                        "(1996–2003, 2014–2023); kept as NaN"]
    assert sum(int(r["message"].split(": ")[1].split()[0]) for r in report) == 1126


def test_wgi_mean_real_year(wgi_read) -> None:
    df, _ = wgi_read
    mean = wgi_mean(df, 2023)
    assert mean["CHN"] == pytest.approx(sum(CHINA_2023.values()) / 6, abs=1e-12)
    assert mean.notna().sum() == 205  # economies with all six estimates in 2023
    assert math.isnan(mean["GUM"])  # Guam has five of six in 2023
    assert wgi_mean(df, 2023, min_indicators=1).notna().sum() == 213  # ANT has none
    with pytest.raises(UnknownNameError, match="unknown WGI year '1997'"):
        wgi_mean(df, 1997)


# --------------------------------------------------------------------------- WGI, pure functions


def test_wgi_mean_hand_computed() -> None:
    rows = [("AAA", ind, v) for ind, v in zip(INDICATORS, [0, 1, -1, 0.5, -0.5, 0.3], strict=True)]
    rows += [("BBB", ind, 1.0) for ind in INDICATORS[:5]]  # one indicator missing
    rows += [("AAA", "va", 9.0)]  # another year: must not leak into 2020
    frame = pd.DataFrame(rows, columns=["iso3", "indicator", "estimate"])
    frame["year"] = [2020] * 11 + [2021]
    mean = wgi_mean(frame, 2020)
    assert mean["AAA"] == pytest.approx(0.3 / 6)
    assert math.isnan(mean["BBB"])
    assert wgi_mean(frame, 2020, min_indicators=5)["BBB"] == 1.0
    with pytest.raises(ValueError, match="min_indicators"):
        wgi_mean(frame, 2020, min_indicators=7)


@pytest.mark.parametrize(("est", "eu", "usgs"), [
    (-2.5, 10.0, 1.0), (2.5, 0.0, 0.0), (0.0, 5.0, 0.5), (-1.0, 7.0, 0.7), (1.25, 2.5, 0.25),
    (-3.1, 10.0, 1.0), (2.9, 0.0, 0.0),  # clipped outside the scale
])
def test_rescalings_hand_values(est: float, eu: float, usgs: float) -> None:
    assert rescale_eu(est) == pytest.approx(eu)
    assert rescale_usgs(est) == pytest.approx(usgs)


def test_rescalings_vectorised_keep_type_and_nan() -> None:
    s = pd.Series([-2.5, np.nan, 2.5], index=["COD", "ANT", "NOR"])
    eu = rescale_eu(s)
    assert isinstance(eu, pd.Series) and list(eu.index) == ["COD", "ANT", "NOR"]
    assert eu["COD"] == 10.0 and math.isnan(eu["ANT"]) and eu["NOR"] == 0.0
    np.testing.assert_allclose(rescale_usgs(np.array([-2.5, 0.0, 2.5])), [1.0, 0.5, 0.0])


@given(st.floats(min_value=-10, max_value=10, allow_nan=False))
def test_rescalings_bounded_and_consistent(est: float) -> None:
    eu, usgs = rescale_eu(est), rescale_usgs(est)
    assert 0.0 <= eu <= 10.0 and 0.0 <= usgs <= 1.0
    assert eu == pytest.approx(10.0 * usgs)
    assert rescale_eu(est + 0.1) <= eu  # better governance never scores worse


# --------------------------------------------------------------------------- WGI, bad input


def _wgi_workbook(root: Path, rows: list[tuple]) -> Path:
    path = root / WGI_FILE
    path.parent.mkdir(parents=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(("countryname", "year", "indicator", "estimate", "stddev", "nsource"))
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_wgi_small_file_through_the_reader(tmp_path: Path) -> None:
    _wgi_workbook(tmp_path, [("Korea, Rep.", 2023, "va", 1.0, 0.1, 9),
                             ("Congo, Dem. Rep.", 2023, "va", "..", "..", "..")])
    df, report = read_wgi(tmp_path)
    assert df.iso3.tolist() == ["KOR", "COD"]
    assert df.estimate.iloc[0] == 1.0 and math.isnan(df.estimate.iloc[1])
    assert report == [{"kind": "wgi_missing", "file": WGI_FILE, "line": 3,
                       "message": "Congo, Dem. Rep. (COD): 1 estimates are '..' (2023); "
                                  "kept as NaN"}]


@pytest.mark.parametrize(("row", "message"), [
    (("Atlantis", 2023, "va", 0.1, 0.1, 3), "World Bank name 'Atlantis' maps to no ISO3"),
    (("Chile", 2023, "xx", 0.1, 0.1, 3), "indicator 'xx' not one of va, pv, ge, rq, rl, cc"),
    (("Chile", 2023, "va", "n/a", 0.1, 3), "estimate 'n/a' is neither a number nor '..'"),
])
def test_wgi_bad_rows_name_file_and_line(tmp_path: Path, row: tuple, message: str) -> None:
    path = _wgi_workbook(tmp_path, [("Chile", 2023, "cc", 0.1, 0.1, 3), row])
    with pytest.raises(DataBuildError, match=message) as err:
        read_wgi(tmp_path)
    assert str(err.value).startswith(f"{path}:3: ")
    assert "\n" not in str(err.value)


def test_wgi_two_names_for_one_code_is_an_error(tmp_path: Path) -> None:
    _wgi_workbook(tmp_path, [("Korea, Rep.", 2023, "va", 1.0, 0.1, 9),
                             ("South Korea", 2023, "va", 1.0, 0.1, 9)])
    with pytest.raises(DataBuildError, match=r":3: 'South Korea' 2023 va: a second row .*KOR"):
        read_wgi(tmp_path)


# --------------------------------------------------------------------------- countries


def test_countries_table(countries: pd.DataFrame, raw_root: Path) -> None:
    with (raw_root / COUNTRY_CODES_FILE).open(encoding="utf-8") as fh:
        iso_rows = sum(1 for _ in csv.DictReader(fh))
    assert iso_rows == 249
    assert tuple(countries.columns) == schema.COUNTRIES_COLUMNS
    assert len(countries) == 249 + len(schema.AGGREGATES) + len(EXTRA_CODES)
    assert countries.iso3.is_unique
    by = countries.set_index("iso3")
    assert by.loc["CHN", "region"] == "Asia" and by.loc["CHN", "m49"] == 156
    assert "Congo" in by.loc["COD", "name"] and "Congo" in by.loc["COG", "name"]
    assert by.loc["USA", "name"] == "United States of America"  # not CLDR's bare "US"
    assert by.loc["NAM", "iso2"] == "NA"  # Namibia, not a missing value
    assert by.loc["CAN", "continent"] == "NA"  # North America, not a missing value
    assert by.loc["TWN", "name"] == "Taiwan"
    for code, name in schema.AGGREGATES.items():
        assert by.loc[code, "name"] == name and by.loc[code, "region"] == "Aggregate"
    assert by.loc["WLD", "m49"] == 1  # UN M49 'World', from the file's Global Code
    assert (by.loc["XKX", ["region", "subregion"]] == by.loc["SRB", ["region", "subregion"]]).all()
    assert by.loc["ANT", "region"] == "Americas"


def test_every_mapped_code_is_a_country(countries: pd.DataFrame, wgi_read) -> None:
    """The build rejects ISO3 codes missing from the countries table: keep the mapping closed."""
    known = set(countries.iso3)
    assert set(OVERRIDES.values()) <= known
    assert set(WB_NAMES.values()) <= known
    assert set(wgi_read[0].iso3) <= known


# --------------------------------------------------------------------------- sources


def test_sources_table_licences_and_citations(raw_root: Path) -> None:
    editions = {"facts": [np.int64(2026), 2022, 2023, 2024], "us_salient": [2023, 2024, 2026],
                "us_import_sources": [2026]}
    table = sources_table(editions)
    assert tuple(table.columns) == schema.SOURCES_COLUMNS
    assert set(table.table) == set(schema.TABLES) - {"sources"}
    assert table.licence.str.len().gt(0).all() and table.citation.str.len().gt(0).all()
    by = table.set_index("table")
    assert by.loc["wgi", "licence"].startswith("CC BY 4.0")
    assert "Kaufmann & Kraay" in by.loc["wgi", "licence"]
    assert by.loc["countries", "licence"] == "ODC-PDDL-1.0"
    assert by.loc["facts", "licence"].startswith("Public domain")
    assert by.loc["facts", "editions"] == "2022, 2023, 2024, 2026"
    for doi in ("10.5066/P9KKMCP4", "10.5066/P9WCYUI6", "10.5066/P144BA54"):
        assert doi in by.loc["facts", "citation"]
    assert "10.5066/P9KKMCP4" not in by.loc["us_salient", "citation"]
    assert "https://d2233.cms.socastsrm.com/?p=2462685" in by.loc["groups", "citation"]
    for name in ("facts", "us_salient", "us_import_sources", "wgi", "countries", "commodities"):
        for pattern in by.loc[name, "files"].split("; "):
            assert list(raw_root.glob(pattern)), f"{name}: {pattern} matches no raw file"
    for path in by.loc["groups", "files"].split("; "):
        assert (GROUPS_DIR / Path(path).name).is_file()


def test_sources_table_unknown_edition() -> None:
    with pytest.raises(ValueError, match=r"facts: no citation for MCS edition\(s\) \[2025\]"):
        sources_table({"facts": [2025]})


def test_sources_table_explicit_files() -> None:
    table = sources_table({"facts": [2026]}, files={"facts": ["a.csv", "b.csv"]})
    assert table.set_index("table").loc["facts", "files"] == "a.csv; b.csv"
