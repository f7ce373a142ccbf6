"""`critmin calibrate`: reproducible from its seed, every value inside its documented range, the
result a registry file that loads, with the fit recorded beside it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from critmin.backtest.calibrate import (
    NOT_CALIBRATED,
    Problem,
    calibrate,
    candidate_rows,
    resolve_rows,
    with_central,
    write_registry,
)
from critmin.backtest.case import load_case
from critmin.backtest.runner import build_case_world, shipped_cases
from critmin.cli.backtest import register
from critmin.errors import CritminError
from critmin.params import load_registry

GAGE = next(p for p in shipped_cases() if p.stem == "gallium-germanium-licensing-2023")
REE = next(p for p in shipped_cases() if p.stem == "rare-earth-quotas-2010")
FIT = ["demand_elasticity", "inventory_adjust_rate"]
SMALL = {"maxiter": 2, "popsize": 3}


@pytest.fixture(scope="module")
def fitted():
    return calibrate([GAGE], seed=11, parameters=FIT, **SMALL)


def test_candidates_are_shared_behavioural_rows_no_case_sets() -> None:
    reg = load_registry()
    rows = candidate_rows(reg, [load_case(REE)])
    table = reg.table.iloc[rows]
    assert (table.commodity == "*").all()
    assert not set(table.parameter) & NOT_CALIBRATED
    assert (table.low < table.high).all()
    assert "demand_elasticity|*|*|*" in [reg.keys[p] for p in rows]
    assert "substitution_max_rate|rare-earths|*|*" not in [reg.keys[p] for p in rows]
    with pytest.raises(CritminError, match="no registry row 'elasticity"):
        resolve_rows(reg, ["elasticity"])
    with pytest.raises(CritminError, match="cannot be calibrated"):
        calibrate([GAGE], parameters=["lead_time_years|rare-earths|*|*"], **SMALL)


def test_new_central_values_reach_the_world_only_where_the_row_applies() -> None:
    reg = load_registry()
    world = build_case_world(load_case(GAGE), reg)
    (pos,) = resolve_rows(reg, ["supply_elasticity"])
    new = with_central(world, [pos], [0.5])
    old_values = world.parameters.central["supply_elasticity"]
    new_values = new.parameters.central["supply_elasticity"]
    uses = world.parameters.rows["supply_elasticity"] == pos
    assert not uses.all()  # gallium and germanium have rows of their own (0.1)
    np.testing.assert_array_equal(new_values[uses], 0.5)
    np.testing.assert_array_equal(new_values[~uses], old_values[~uses])
    assert world.parameters.central["supply_elasticity"] is old_values  # the world is unchanged


def test_the_loss_is_the_mean_capped_squared_error_in_tolerances() -> None:
    problem = Problem.build([load_case(GAGE)], load_registry())
    (loss,) = problem.case_losses([], [])
    assert 0 < loss <= 9 and problem.evaluations == 1


def test_calibration_is_reproducible_and_stays_inside_the_ranges(fitted) -> None:
    again = calibrate([GAGE], seed=11, parameters=FIT, **SMALL)
    np.testing.assert_array_equal(fitted.after, again.after)
    assert fitted.losses_after == again.losses_after
    table = fitted.table()
    assert list(table.parameter) == ["demand_elasticity|*|*|*", "inventory_adjust_rate|*|*|*"]
    assert ((table.low <= table.after) & (table.after <= table.high)).all()
    assert fitted.loss_after <= fitted.loss_before
    other = calibrate([GAGE], seed=12, parameters=FIT, **SMALL)
    assert ((other.table().low <= other.after) & (other.after <= other.table().high)).all()


def test_the_calibrated_registry_loads_and_records_the_fit(fitted, tmp_path: Path) -> None:
    out, sidecar = write_registry(fitted, tmp_path / "registry-fit.csv")
    reg = load_registry(out)  # validates every row: values inside [low, high]
    base = load_registry()
    for key, value in zip(fitted.table().parameter, fitted.after, strict=True):
        i = reg.keys.index(key)
        assert reg.table.value.iat[i] == pytest.approx(value, rel=1e-5)
        assert (reg.table.low.iat[i], reg.table.high.iat[i]) == (
            base.table.low.iat[i], base.table.high.iat[i])
        if value != base.table.value.iat[i]:
            assert "calibrated" in reg.table.note.iat[i]
    assert len(reg.table) == len(base.table)
    record = json.loads(sidecar.read_text())
    assert record["seed"] == 11 and record["registry_out"] == reg.version
    assert record["loss_after"] == pytest.approx(fitted.loss_after)
    assert [p["parameter"] for p in record["parameters"]] == list(fitted.table().parameter)
    with pytest.raises(CritminError, match=r"a \.csv path"):
        write_registry(fitted, tmp_path / "registry.txt")


def test_cli_calibrate_writes_the_registry_and_refuses_to_overwrite(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    out = tmp_path / "fit.csv"
    args = ["calibrate", str(GAGE), "--out", str(out), "--parameters",
            "demand_elasticity", "--maxiter", "1", "--popsize", "2", "--seed", "5",
            "--format", "json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    assert row["parameter"] == "demand_elasticity|*|*|*"
    assert row["low"] <= row["after"] <= row["high"]
    assert out.exists() and out.with_suffix(".json").exists()
    again = CliRunner().invoke(app, args)
    assert isinstance(again.exception, CritminError) and "exists" in str(again.exception)
