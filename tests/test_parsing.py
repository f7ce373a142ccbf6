"""USGS cell and label quirks (PROVENANCE.md): each has a test."""

from __future__ import annotations

import math

import pytest

from critmin.data.country_names import UnmappedCountry, split_estimate_mark, to_iso3
from critmin.data.parsing import parse_cell, strip_footnotes


@pytest.mark.parametrize(
    ("raw", "value", "flag", "bound"),
    [
        ("16,000", 16000.0, "reported", None),  # thousands separator
        ("1,100,000", 1_100_000.0, "reported", None),
        ("W", math.nan, "withheld", None),  # withheld
        ("NA", math.nan, "not_available", None),
        ("XX", math.nan, "not_available", None),
        ("—", 0.0, "zero", None),  # em dash = zero
        ("--", 0.0, "zero", None),
        (" - ", 0.0, "zero", None),
        ("0", 0.0, "zero", None),
        (">25", 25.0, "reported", ">"),  # bound on net import reliance
        ("<200,000", 200_000.0, "reported", "<"),
        ("600e", 600.0, "estimated", None),
        ("E", 0.0, "zero", None),  # net exporter
        ("Large", math.nan, "not_available", None),
        ("50–300", math.nan, "not_available", None),  # a published range
        ("", math.nan, "not_available", None),
        (None, math.nan, "not_available", None),
    ],
)
def test_parse_cell(raw: object, value: float, flag: str, bound: str | None) -> None:
    cell = parse_cell(raw)
    assert cell.flag == flag
    assert cell.bound == bound
    assert (math.isnan(cell.value) and math.isnan(value)) or cell.value == value


def test_unparseable_cell_raises() -> None:
    with pytest.raises(ValueError, match="cannot parse"):
        parse_cell("Variable, depending on type of product")


def test_qualitative_text_is_kept() -> None:
    assert parse_cell("Very small").text == "Very small"


@pytest.mark.parametrize(
    ("label", "clean"),
    [
        ("Other countries6", "Other countries"),
        ("New Caledonia11", "New Caledonia"),
        ("World total (rounded) 10", "World total (rounded)"),
        ("China", "China"),
    ],
)
def test_strip_footnote_digits(label: str, clean: str) -> None:
    assert strip_footnotes(label) == clean


@pytest.mark.parametrize(
    ("name", "iso3"),
    [
        ("Burma", "MMR"),
        ("Congo (Kinshasa)", "COD"),
        ("Korea, Republic of", "KOR"),
        ("Other countries6", "OTH"),
        ("World total (rounded)", "WLD"),
        ("Côte d’Ivoire", "CIV"),
        ("Korea, North", "PRK"),
        ("Laos", "LAO"),
        ("Turkey", "TUR"),
    ],
)
def test_usgs_names_map_to_iso3(name: str, iso3: str) -> None:
    assert to_iso3(name) == iso3


def test_unmappable_name_raises() -> None:
    with pytest.raises(UnmappedCountry):
        to_iso3("Atlantis")


@pytest.mark.parametrize(
    ("label", "code"),
    [
        ("China, Germany, and Russia", "MUL"),
        ("United States and Canada", "MUL"),
        ("Trinidad and Tobago", "TTO"),
        ("Bosnia and Herzegovina", "BIH"),
        ("Europe", "XEU"),
    ],
)
def test_labels_naming_several_countries_are_an_aggregate(label: str, code: str) -> None:
    assert to_iso3(label) == code


@pytest.mark.parametrize(
    ("name", "clean", "estimated"),
    [
        ("Japane", "Japan", True),
        ("Korea, Republic ofe", "Korea, Republic of", True),
        ("Ukraine", "Ukraine", False),
        ("France", "France", False),
        ("Mozambique", "Mozambique", False),
    ],
)
def test_glued_estimate_mark(name: str, clean: str, estimated: bool) -> None:
    assert split_estimate_mark(name) == (clean, estimated)
