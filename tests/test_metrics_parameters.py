"""The EU/USGS parameter file: shipped rows are sourced, overrides replace rows, errors name
the file, line and field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from critmin.errors import CritminError
from critmin.metrics.parameters import (
    COLUMNS,
    DEFAULT_PATH,
    load_parameters,
    parameter_values,
    trade_multipliers,
)


def test_shipped_rows_have_source_and_honest_range() -> None:
    params = load_parameters()
    assert set(params["source"].str.len().gt(0)) == {True}
    known = params.dropna(subset=["value"])
    assert (known["low"] <= known["value"]).all() and (known["value"] <= known["high"]).all()
    # an assumption never has a zero-width range
    assumed = params[params["source"].eq("assumption")]
    assert (assumed["high"] > assumed["low"]).all()
    # economic importance is not guessed: no shipped value
    assert params.loc[params.parameter.eq("economic_importance"), "value"].isna().all()


def test_commodity_row_beats_default() -> None:
    params = load_parameters()
    got = parameter_values(params, pd.Series(["platinum-group-metals", "cobalt"]), "eol_rir")
    assert got["value"].tolist() == [0.11, 0.0]
    assert got["source"].iloc[1] == "assumption"
    assert got["source"].iloc[0].startswith("European Commission JRC (2017)")
    none = parameter_values(params, pd.Series(["cobalt"]), "economic_importance")
    assert np.isnan(none["value"].iloc[0])


def test_trade_multipliers_map_china_and_carry_since() -> None:
    mult = trade_multipliers(load_parameters()).set_index("commodity")
    assert mult.loc["gallium", "iso3"] == "CHN"
    assert mult.loc["gallium", "since"] == 2023
    assert mult.loc["gallium", "t"] == pytest.approx(1.1)


def test_override_file_replaces_rows(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    pd.DataFrame(
        [
            {
                "commodity": "cobalt",
                "parameter": "economic_importance",
                "value": 5.9,
                "low": 5.0,
                "high": 7.0,
                "unit": "index",
                "since": "",
                "source": "a user study",
                "note": "",
            }
        ]
    ).to_csv(path, index=False)
    params = load_parameters(path)
    got = parameter_values(params, pd.Series(["cobalt", "nickel"]), "economic_importance")
    assert got["value"].iloc[0] == 5.9
    assert np.isnan(got["value"].iloc[1])
    assert len(params) == len(load_parameters()) + 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"parameter": "eol"}, r"p\.csv:2: parameter 'eol' unknown; allowed: eol_rir"),
        ({"value": "high"}, r"p\.csv:2: field 'value' is not a number"),
        ({"value": 2.0}, r"p\.csv:2: value 2\.0 outside \[low, high\]"),
        ({"source": ""}, r"p\.csv:2: field 'source' is empty"),
    ],
)
def test_bad_override_names_file_line_field(tmp_path: Path, change: dict, message: str) -> None:
    row = {
        "commodity": "cobalt",
        "parameter": "eol_rir",
        "value": 0.2,
        "low": 0.1,
        "high": 0.3,
        "unit": "fraction",
        "since": "",
        "source": "x",
        "note": "",
    }
    row.update(change)
    path = tmp_path / "p.csv"
    pd.DataFrame([row]).to_csv(path, index=False)
    with pytest.raises(CritminError, match=message):
        load_parameters(path)


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("commodity,parameter,value\ncobalt,eol_rir,0.1\n")
    with pytest.raises(CritminError, match=r"p\.csv:1: missing column\(s\) low, high, unit"):
        load_parameters(path)


def test_shipped_file_has_the_documented_columns() -> None:
    assert tuple(pd.read_csv(DEFAULT_PATH).columns) == COLUMNS
