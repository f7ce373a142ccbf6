"""The criticality matrix from invented risk rows: point selection, axes, files by suffix."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from critmin.errors import CritminError
from critmin.metrics import load_parameters
from critmin.metrics.matrix import LABELS, matrix_frame, write_matrix

TABLE = pd.DataFrame(
    {
        "commodity": ["alpha", "alpha", "beta", "gamma"],
        "stage": ["mine", "refinery", "mine", "mine"],
        "year": [2024, 2024, 2024, 2024],
        "sr_eu": [0.8, 2.5, 1.2, float("nan")],
        "sr_usgs": [0.3, 0.5, 0.45, 0.2],
        "hhi": [0.2, 0.9, 0.4, 0.3],
    }
)
NIR = pd.DataFrame(
    {"commodity": ["alpha", "beta", "gamma"], "year": [2024] * 3, "nir": [1.0, 0.5, 0.1]}
)


def test_bottleneck_stage_and_nir_axis() -> None:
    frame = matrix_frame(TABLE, NIR, load_parameters()).set_index("commodity")
    assert frame.loc["alpha", "stage"] == "refinery"  # the stage with the higher SR
    assert frame.loc["alpha", "y"] == 2.5 and frame.loc["alpha", "x"] == 1.0
    assert "gamma" not in frame.index  # no EU supply risk → not drawn
    usgs = matrix_frame(TABLE, NIR, load_parameters(), "usgs").set_index("commodity")
    assert usgs.loc["gamma", "y"] == 0.2


def test_importance_axis_needs_values() -> None:
    with pytest.raises(CritminError, match="no economic_importance values"):
        matrix_frame(TABLE, NIR, load_parameters(), x="importance")
    extra = pd.DataFrame(
        [
            {
                "commodity": "beta",
                "parameter": "economic_importance",
                "value": 4.0,
                "low": 3.0,
                "high": 5.0,
                "unit": "index",
                "since": None,
                "source": "test",
                "note": "",
            }
        ]
    )
    frame = matrix_frame(TABLE, NIR, load_parameters(extra), x="importance")
    assert frame["commodity"].tolist() == ["beta"] and frame["x"].tolist() == [4.0]


def test_svg_has_labelled_axes_and_commodities(tmp_path: Path) -> None:
    frame = matrix_frame(TABLE, NIR, load_parameters())
    svg = write_matrix(frame, tmp_path / "m.svg").read_text()
    assert svg.startswith("<?xml") and "<svg" in svg
    for text in ("alpha", "beta", "threshold 1"):
        assert text in svg


def test_html_embeds_plotly_js(tmp_path: Path) -> None:
    frame = matrix_frame(TABLE, NIR, load_parameters())
    html = write_matrix(frame, tmp_path / "m.html").read_text()
    assert '<script src="http' not in html and "<script src='http" not in html
    assert "plotly.js" in html.lower() and len(html) > 1_000_000  # the library is inline
    assert LABELS["nir"] in html and "alpha" in html


def test_png_and_bad_suffix(tmp_path: Path) -> None:
    frame = matrix_frame(TABLE, NIR, load_parameters())
    png = write_matrix(frame, tmp_path / "m.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(CritminError, match=r"m\.pdf: use a file ending in \.svg, \.png, \.html"):
        write_matrix(frame, tmp_path / "m.pdf")
