"""The shipped dataset is exactly what the build makes from the raw files; a bad raw file
fails the build with file and line and leaves the shipped dataset untouched."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest

from critmin.data import schema
from critmin.data.build import build
from critmin.data.store import PACKAGE_DIR
from critmin.errors import DataBuildError


@pytest.fixture(scope="module")
def rebuilt(raw_root: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("rebuilt") / "curated"
    return build(raw_root, out)


def test_rebuild_equals_shipped(rebuilt) -> None:
    for name in schema.TABLES:
        shipped = pd.read_parquet(PACKAGE_DIR / f"{name}.parquet")
        fresh = pd.read_parquet(rebuilt.out_dir / f"{name}.parquet")
        pd.testing.assert_frame_equal(fresh, shipped, check_dtype=False, obj=name)
    assert (PACKAGE_DIR / "manifest.json").read_text() == (
        rebuilt.out_dir / "manifest.json"
    ).read_text()


def test_build_writes_report(rebuilt) -> None:
    kinds = {r["kind"] for r in rebuilt.report}
    assert {"unit_conversion", "world_total_mismatch", "unparsed_value"} <= kinds
    for r in rebuilt.report:
        assert r["file"] and "message" in r


def test_every_mcs2026_world_commodity_is_in_catalog(rebuilt) -> None:
    facts = pd.read_parquet(rebuilt.out_dir / "facts.parquet")
    cat = pd.read_parquet(rebuilt.out_dir / "commodities.parquet")
    produced = set(facts[(facts.edition == 2026) & (facts.statistic == "production")].commodity)
    assert len(produced) >= 85
    assert produced <= set(cat.commodity)
    for slug in ("rare-earths", "lithium", "cobalt", "gallium", "germanium", "graphite", "nickel"):
        assert slug in set(cat.commodity)
    assert cat.set_index("commodity").loc["gallium", "unit"] == "t"


def test_every_country_maps(rebuilt) -> None:
    facts = pd.read_parquet(rebuilt.out_dir / "facts.parquet")
    countries = pd.read_parquet(rebuilt.out_dir / "countries.parquet")
    assert facts.iso3.str.len().eq(3).all()
    assert set(facts.iso3) <= set(countries.iso3)
    # labels naming several countries are kept under the explicit aggregate MUL
    assert "MUL" in set(facts.iso3)
    assert not [r for r in rebuilt.report if r["kind"] == "unmapped_name"]


def test_api_names_do_not_shadow_modules() -> None:
    """``critmin.data.groups()`` must stay a function even after ``import critmin.data.x``."""
    import pkgutil

    import critmin.data as api

    modules = {m.name for m in pkgutil.iter_modules(api.__path__)}
    assert not modules & set(api.__all__)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_corrupted_raw_file_fails_and_keeps_dataset(raw_root: Path, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(
        raw_root,
        raw,
        ignore=shutil.ignore_patterns(
            "un_comtrade*", "usitc*", "usgs_ds140", "usgs_myb", "worldbank*"
        ),
    )
    target = raw / "usgs_mcs/mcs2024/world/mcs2024-lithi_world.csv"
    lines = target.read_bytes().splitlines(keepends=True)
    target.write_bytes(
        b"".join([*lines[:3], b'MCS2024,"Chile,Lithium\xff\xfe broken\r\n', *lines[3:]])
    )
    out = tmp_path / "curated"
    shutil.copytree(PACKAGE_DIR, out)
    before = _digest(out)
    with pytest.raises(DataBuildError, match=r"mcs2024-lithi_world\.csv:4"):
        build(raw, out)
    assert _digest(out) == before
    assert not list(tmp_path.glob(".curated-build-*"))
