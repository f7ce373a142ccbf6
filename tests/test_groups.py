"""Dated country groups: shipped files, membership on a date, user files and their errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from critmin.data import schema
from critmin.data.country_groups import (
    STATUSES,
    group_catalog,
    load_groups,
    members,
    read_user_groups,
    shipped_groups,
)
from critmin.errors import CritminError, UnknownNameError

SHIPPED = {"trade-club", "us-bilateral-frameworks", "pax-silica", "msp", "forge", "g7", "quad",
           "eu27", "oecd"}


@pytest.fixture(scope="module")
def groups() -> pd.DataFrame:
    return load_groups()


# --------------------------------------------------------------------------- shipped groups


def test_shipped_table_contract(groups: pd.DataFrame) -> None:
    assert tuple(groups.columns) == schema.GROUPS_COLUMNS
    assert set(groups["group"]) == SHIPPED
    assert groups.since.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert groups.until.str.fullmatch(r"(\d{4}-\d{2}-\d{2})?").all()
    assert (groups.until.eq("") | (groups.until > groups.since)).all()
    assert groups.source.str.match(r"https?://").all()
    assert set(groups.status) <= set(STATUSES) - {"user"}
    assert not groups.duplicated(["group", "iso3", "since"]).any()
    catalog = group_catalog().set_index("group")
    assert set(catalog.index) == SHIPPED and catalog.title.str.len().gt(0).all()


def test_trade_club_as_reported_feb_2026(groups: pd.DataFrame) -> None:
    assert members(groups, "trade-club", "2026-03-01") == ["AUS", "JPN", "KOR", "SAU", "THA", "USA"]
    assert members(groups, "trade-club", dt.date(2026, 2, 1)) == []  # before the report


def test_eu27_accessions_and_brexit(groups: pd.DataFrame) -> None:
    assert "GBR" in members(groups, "eu27", "2019-06-01")
    assert "GBR" not in members(groups, "eu27", "2021-01-01")
    assert "GBR" in members(groups, "eu27", "2020-01-31")  # left at the end of 31 January 2020
    assert "GBR" not in members(groups, "eu27", "2020-02-01")
    assert len(members(groups, "eu27", "1957-12-31")) == 0
    assert len(members(groups, "eu27", "1958-01-01")) == 6
    assert len(members(groups, "eu27", "1973-01-01")) == 9
    assert len(members(groups, "eu27", "2004-04-30")) == 15
    assert len(members(groups, "eu27", "2004-05-01")) == 25
    assert "HRV" not in members(groups, "eu27", "2013-06-30")
    assert len(members(groups, "eu27", "2013-07-01")) == 28
    assert len(members(groups, "eu27", "2026-03-01")) == 27


def test_oecd_membership_over_time(groups: pd.DataFrame) -> None:
    assert members(groups, "oecd", "1961-09-29") == []  # Convention in force 30 Sep 1961
    assert len(members(groups, "oecd", "1961-09-30")) == 17
    assert len(members(groups, "oecd", "1962-12-31")) == 20  # the 20 founders
    assert len(members(groups, "oecd", "2020-05-01")) == 37
    assert len(members(groups, "oecd", "2026-03-01")) == 38


def test_msp_hands_over_to_forge(groups: pd.DataFrame) -> None:
    founders = ["AUS", "CAN", "DEU", "FIN", "FRA", "GBR", "JPN", "KOR", "SWE", "USA"]
    assert members(groups, "msp", "2022-06-14") == founders
    assert len(members(groups, "msp", "2025-01-01")) == 14
    assert members(groups, "msp", "2026-02-04") == []
    assert members(groups, "forge", "2026-02-04") == members(groups, "msp", "2026-02-03")


def test_standing_groups(groups: pd.DataFrame) -> None:
    assert members(groups, "g7", "2026-03-01") == ["CAN", "DEU", "FRA", "GBR", "ITA", "JPN", "USA"]
    assert "CAN" not in members(groups, "g7", "1976-01-01")
    assert members(groups, "quad", "2026-03-01") == ["AUS", "IND", "JPN", "USA"]
    assert len(members(groups, "pax-silica", "2026-01-13")) == 8  # before the UAE (9th)
    assert len(members(groups, "pax-silica", "2026-02-20")) == 11  # India 10th; Greece by then


def test_default_date_is_today(groups: pd.DataFrame) -> None:
    assert members(groups, "oecd") == members(groups, "oecd", dt.date.today())


def test_unknown_group_and_bad_date(groups: pd.DataFrame) -> None:
    with pytest.raises(UnknownNameError, match="unknown group 'trade-clob': did you mean "
                                               "'trade-club'"):
        members(groups, "trade-clob")
    with pytest.raises(CritminError, match="date: '2026-13-01' is not an ISO date"):
        members(groups, "g7", "2026-13-01")


# --------------------------------------------------------------------------- user files


def test_user_csv_adds_a_member_and_a_group(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text("group,iso3,since,until,source\n"
                    "trade-club,GBR,2026-02-05,,https://example.org/uk\n"
                    "my-club,chl,,,\n"
                    "my-club,ARG,2024-01-01,2025-01-01,\n")
    extra = read_user_groups(path)
    assert tuple(extra.columns) == schema.GROUPS_COLUMNS
    assert (extra.status == "user").all()
    df = load_groups([path])
    assert members(df, "trade-club", "2026-03-01") == ["AUS", "GBR", "JPN", "KOR", "SAU", "THA",
                                                       "USA"]
    assert members(df, "trade-club", "2026-02-04") == ["AUS", "JPN", "KOR", "SAU", "THA", "USA"]
    assert members(df, "my-club", "1900-01-01") == ["CHL"]  # no since: no start bound
    assert members(df, "my-club", "2024-06-01") == ["ARG", "CHL"]
    row = df[(df["group"] == "my-club") & (df.iso3 == "CHL")].iloc[0]
    assert row.source == str(path) and row.since == "" and row.until == ""


def test_user_yaml_new_group(tmp_path: Path) -> None:
    path = tmp_path / "lithium.yaml"
    path.write_text(
        "name: lithium-triangle\n"
        "title: Lithium triangle\n"
        "sources:\n"
        "  mine: {url: 'https://example.org/triangle', read: 2026-11-30}\n"
        "members:\n"
        "  - {iso3: ARG, since: 2020-01-01, source: mine}\n"
        "  - {iso3: BOL, since: 2020-01-01, source: mine, status: unverified}\n"
        "  - {iso3: CHL, since: 2020-01-01}\n")
    df = load_groups([path])
    sub = df[df["group"] == "lithium-triangle"].set_index("iso3")
    assert sub.source.to_dict() == {"ARG": "https://example.org/triangle",
                                    "BOL": "https://example.org/triangle", "CHL": str(path)}
    assert sub.status.to_dict() == {"ARG": "user", "BOL": "unverified", "CHL": "user"}
    assert members(df, "lithium-triangle", "2026-01-01") == ["ARG", "BOL", "CHL"]


YAML_HEAD = "name: my-club\nmembers:\n  - {iso3: USA, since: 2026-01-01}\n"


@pytest.mark.parametrize(("body", "expected"), [
    (YAML_HEAD + "  - {iso3: USA, since: 2026-02-30}\n",
     r":4: members\[1\]\.since: '2026-02-30' is not an ISO date \(YYYY-MM-DD\)"),
    (YAML_HEAD + "  - {iso3: XYZ, since: 2026-01-01}\n",
     r":4: members\[1\]\.iso3: 'XYZ' is not a known ISO 3166 alpha-3 code"),
    (YAML_HEAD + "  - {iso3: WLD}\n",
     r":4: members\[1\]\.iso3: 'WLD' .*aggregates are not members"),
    (YAML_HEAD + "  - {iso3: CAN, since: 2026-01-01, untill: 2027-01-01}\n",
     r":4: members\[1\]\.untill: unknown key \(allowed: iso3, note, since, source, status"),
    (YAML_HEAD + "  - {iso3: CAN, since: 2026-01-01, until: 2025-01-01}\n",
     r":4: members\[1\]\.until: 2025-01-01 is not after since 2026-01-01"),
    (YAML_HEAD + "  - {iso3: CAN, status: sure}\n",
     r":4: members\[1\]\.status: 'sure' not one of verified, unverified, user"),
    (YAML_HEAD + "  - {iso3: CAN, source: somewhere}\n",
     r":4: members\[1\]\.source: 'somewhere' is neither a URL nor one of the source ids"),
    (YAML_HEAD + "  - {iso3: USA, since: 2025-06-01}\n",
     r":4: USA has overlapping membership spells in group 'my-club'"),
    ("name: My Club\nmembers:\n  - {iso3: USA}\n",
     r":1: name: 'My Club' is not a group slug"),
    ("name: my-club\nmembers: []\n", r":1: members: a non-empty list"),
    ("name: my-club\nmembers:\n  - {iso3: USA\n", r":4: not valid YAML"),
])
def test_broken_user_yaml_one_line_error(tmp_path: Path, body: str, expected: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(body)
    with pytest.raises(CritminError, match=expected) as err:
        load_groups([path])
    message = str(err.value)
    assert message.startswith(str(path)) and "\n" not in message


@pytest.mark.parametrize(("body", "expected"), [
    ("group,iso3\nmy-club,USA\nmy-club,XYZ\n", r":3: members\[1\]\.iso3: 'XYZ' is not a known"),
    ("group,iso3,since\nmy-club,USA,01/02/2026\n", r":2: members\[0\]\.since: '01/02/2026'"),
    ("group,country\nmy-club,USA\n", r":1: missing column\(s\) iso3"),
    ("group,iso3,colour\nmy-club,USA,red\n", r":1: unknown column\(s\) colour"),
    ("group,iso3\nMy Club,USA\n", r":2: group: 'My Club' is not a group slug"),
])
def test_broken_user_csv_one_line_error(tmp_path: Path, body: str, expected: str) -> None:
    path = tmp_path / "broken.csv"
    path.write_text(body)
    with pytest.raises(CritminError, match=expected) as err:
        read_user_groups(path)
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


def test_user_file_kind_and_presence(tmp_path: Path) -> None:
    with pytest.raises(CritminError, match="group file not found"):
        read_user_groups(tmp_path / "absent.csv")
    (tmp_path / "groups.txt").write_text("x")
    with pytest.raises(CritminError, match=r"must be \.yaml, \.yml or \.csv"):
        read_user_groups(tmp_path / "groups.txt")


def test_shipped_files_are_strictly_validated() -> None:
    """Shipped files carry a source URL and a status on every membership (checked on load)."""
    for group in shipped_groups():
        assert group["sources"], group["name"]
        assert all(s["url"].startswith(("http://", "https://")) for s in group["sources"].values())
        assert all(m["status"] in ("verified", "unverified") for m in group["members"])
