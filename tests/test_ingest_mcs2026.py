"""MCS 2026 long table: nothing dropped silently, facts match the raw file, cp1252 decoded."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from critmin.data.usgs_mcs2026 import RELATIVE_PATH, read_mcs2026, stage_of
from critmin.errors import DataBuildError


@pytest.fixture(scope="module")
def mcs(raw_root: Path):
    return read_mcs2026(raw_root)


def test_every_data_row_is_accounted_for(mcs, raw_root: Path) -> None:
    with (raw_root / RELATIVE_PATH).open(encoding="cp1252", newline="") as handle:
        raw_rows = sum(1 for row in csv.reader(handle) if any(c.strip() for c in row)) - 1
    assert mcs.rows_read == raw_rows == 8886
    counted = mcs.rows_by_table
    assert sum(counted.values()) == raw_rows
    assert counted["facts"] == len(mcs.facts)
    assert counted["us_salient"] == len(mcs.salient) == 4863  # PROVENANCE.md: 4,863 salient rows
    skipped = [r for r in mcs.report if r["kind"] in ("skipped_row", "unmapped_name")]
    assert len(skipped) == counted["skipped"]


def test_world_rows_count_per_section(mcs, raw_root: Path) -> None:
    with (raw_root / RELATIVE_PATH).open(encoding="cp1252", newline="") as handle:
        reader = csv.DictReader(handle)
        world_lines = {reader.line_num for r in reader if r["Section"].startswith("World")}
    unmapped = {r["line"] for r in mcs.report if r["kind"] == "unmapped_name"} & world_lines
    skipped = {r["line"] for r in mcs.report if r["kind"] == "skipped_row"} & world_lines
    assert len(mcs.facts) + len(unmapped) + len(skipped) == len(world_lines) == 3303
    assert set(mcs.facts.raw_line) <= world_lines


def test_cp1252_section_names_decoded(mcs) -> None:
    # the em dash of "Salient Statistics—United States" is byte 0x97 in cp1252
    assert len(mcs.salient) > 0


def _value(facts, commodity, stage, iso3, year, statistic="production"):
    hit = facts[
        (facts.commodity == commodity)
        & (facts.stage == stage)
        & (facts.iso3 == iso3)
        & (facts.year == year)
        & (facts.statistic == statistic)
    ]
    assert len(hit) == 1, hit
    return hit.iloc[0]


def test_rare_earth_facts(mcs) -> None:
    f = mcs.facts
    assert _value(f, "rare-earths", "mine", "CHN", 2024).value == 270_000
    assert _value(f, "rare-earths", "mine", "AUS", 2024).value == 29_000
    assert _value(f, "rare-earths", "mine", "WLD", 2024).value == 380_000
    assert _value(f, "rare-earths", "mine", "CHN", 2024).flag == "estimated"
    assert _value(f, "rare-earths", "mine", "USA", 2024).flag == "reported"
    assert _value(f, "rare-earths", "mine", "CAN", 2024).flag == "zero"
    assert "REO" in _value(f, "rare-earths", "mine", "CHN", 2024).basis


def test_cobalt_lithium_gallium_facts(mcs) -> None:
    f = mcs.facts
    assert _value(f, "cobalt", "mine", "COD", 2024).value == 226_000
    assert _value(f, "cobalt", "mine", "WLD", 2024).value == 302_000
    assert _value(f, "lithium", "mine", "WLD", 2024).value == 222_000
    # gallium is published in kilograms and stored in metric tons
    ga = _value(f, "gallium", "primary", "CHN", 2024)
    assert (ga.value, ga.unit, ga.raw_unit) == (839.0, "t", "kilograms")
    assert _value(f, "gallium", "primary", "CHN", 2025, "capacity").value == 1600.0


def test_thousand_tonnes_converted(mcs) -> None:
    zinc = _value(mcs.facts, "zinc", "mine", "WLD", 2024)
    assert zinc.unit == "t" and zinc.raw_unit == "thousand metric tons"
    assert zinc.value % 1000 == 0


def test_key_is_unique(mcs) -> None:
    key = ["edition", "commodity", "stage", "iso3", "year", "statistic"]
    assert not mcs.facts.duplicated(key).any()


def test_withheld_and_net_exporter(mcs) -> None:
    assert (mcs.facts.flag == "withheld").sum() > 0
    nir = mcs.salient[(mcs.salient.statistic == "net_import_reliance")]
    assert (nir.note.str.contains("net exporter")).sum() > 0
    bounded = nir[nir.nir_bound == ">"]
    assert len(bounded) > 0 and bounded.value.notna().all()


def test_prices_converted_to_usd_per_t(mcs) -> None:
    co = mcs.salient[
        (mcs.salient.commodity == "cobalt")
        & (mcs.salient.statistic == "price")
        & (mcs.salient.year == 2021)
        & mcs.salient.detail.str.contains("U.S. spot")
    ]
    assert co.iloc[0].unit == "USD/t"
    assert co.iloc[0].value == pytest.approx(24.21 * 2204.62262)


@pytest.mark.parametrize(
    ("detail", "statistic", "stage"),
    [
        ("Mine production", "production", "mine"),
        ("Mine production: rounded", "production", "mine"),
        ("Mine production: Ilmenite", "production", "mine-ilmenite"),
        ("Reserves: Rutile", "reserves", "mine-rutile"),
        ("Alumina, refinery production", "production", "refinery"),
        ("Primary production: rounded", "production", "primary"),
        ("Mica (Sheet): Mine production", "production", "mine-mica-sheet"),
        ("Silicon metal", "production", "silicon-metal"),
    ],
)
def test_stage_names(detail: str, statistic: str, stage: str) -> None:
    assert stage_of(detail, statistic) == stage


def test_corrupted_file_names_file_and_line(raw_root: Path, tmp_path: Path) -> None:
    src = (raw_root / RELATIVE_PATH).read_bytes().splitlines(keepends=True)
    broken = [
        *src[:10],
        b'RARE EARTHS,World Mine Production and Reserves,"unterminated\r\n',
        *src[10:20],
    ]
    target = tmp_path / RELATIVE_PATH
    target.parent.mkdir(parents=True)
    target.write_bytes(b"".join(broken))
    with pytest.raises(DataBuildError, match=r"MCS2026_Commodities_Data\.csv:1[01]"):
        read_mcs2026(tmp_path)


def test_short_row_names_line(raw_root: Path, tmp_path: Path) -> None:
    src = (raw_root / RELATIVE_PATH).read_bytes().splitlines(keepends=True)
    target = tmp_path / RELATIVE_PATH
    target.parent.mkdir(parents=True)
    target.write_bytes(b"".join([*src[:5], b"COBALT,World,Cobalt\r\n", *src[5:8]]))
    with pytest.raises(DataBuildError, match=r"\.csv:6: 3 fields, expected 12"):
        read_mcs2026(tmp_path)
