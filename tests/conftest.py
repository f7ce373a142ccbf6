"""Shared fixtures: where the raw sources are (``../shared/data/raw`` from the repo root)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RAW = Path(os.environ.get("CRITMIN_RAW", REPO.parent / "shared" / "data" / "raw"))


@pytest.fixture(scope="session")
def raw_root() -> Path:
    """The raw source folder; tests that read raw files skip (with the reason) if it is absent."""
    if not RAW.is_dir():
        pytest.skip(f"raw data folder {RAW} not present (set CRITMIN_RAW)")
    return RAW
