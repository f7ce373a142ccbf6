"""`critmin run` on a scenario with policy tools keeps the tools' ledger beside the results."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from critmin.cli import app

REPO = Path(__file__).resolve().parents[1]


def test_run_with_project_vault_writes_ledger(tmp_path: Path) -> None:
    out = tmp_path / "vault"
    result = CliRunner().invoke(
        app, ["run", str(REPO / "scenarios/project-vault-rare-earths.yaml"), "--out", str(out),
              "--draws", "2", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)  # the summary, JSON alone on stdout
    ledger = pd.read_parquet(out / "ledger.parquet")
    tools = pd.read_parquet(out / "tools.parquet")
    assert len(ledger) > 0 and len(tools) > 0
    assert "days_of_cover" in set(tools.series) or tools.series.str.contains("cover").any()
    manifest = json.loads((out / "manifest.json").read_text())
    assert "ledger.parquet" in manifest["files"]
