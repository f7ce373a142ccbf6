"""Scenario files: the shipped examples load; every mistake is one line naming file, line,
field and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from critmin.scenario.model import (
    load_scenario,
    period_index,
    period_labels,
    scenario_hash,
    validate_scenario,
)
from critmin.scenario.yamlio import ScenarioFileError

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"

GOOD = """\
name: test
start: 2025Q1
horizon: 12
chains: [rare-earths]
blocs:
  china: [CHN]
  club: [USA, JPN, eu27]
shocks:
  - kind: export_quota
    commodity: rare-earths
    stage: separated
    exporter: china
    start: 2025Q3
    value: 30258
  - kind: production_outage
    commodity: rare-earths
    stage: mine
    region: MMR
    start: 2
    end: 2026Q1
    path: [{at: 2, value: 0.5}, {at: 4, value: 0.2}]
"""


def _load(tmp_path: Path, text: str):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return load_scenario(path)


def test_shipped_scenarios_load_and_each_says_where_it_comes_from() -> None:
    files = sorted(SCENARIOS.glob("*.yaml"))
    assert len(files) >= 5
    for path in files:
        scenario = load_scenario(path)
        first = path.read_text().splitlines()[0]
        assert first.startswith("# Context:"), path.name
        assert "http" in path.read_text() or "calibration_cases" in path.read_text(), path.name
        assert scenario.horizon >= 1 and scenario.shocks


def test_a_good_file_and_its_hash(tmp_path: Path) -> None:
    scenario = _load(tmp_path, GOOD)
    assert scenario.bloc_names == ["china", "club", "rest"]
    assert scenario.blocs["club"] == ["USA", "JPN", "eu27"]
    assert scenario.labels()[:3] == ["2025Q1", "2025Q2", "2025Q3"]
    assert scenario.index("2026Q1") == 4
    reformatted = _load(tmp_path, "# a comment\n" + GOOD.replace("horizon: 12", "horizon:   12"))
    assert scenario_hash(reformatted) == scenario.hash()
    changed = _load(tmp_path, GOOD.replace("30258", "30259"))
    assert scenario_hash(changed) != scenario.hash()
    assert len(scenario.hash()) == 12


@pytest.mark.parametrize(("edit", "line", "field", "allowed"), [
    (("horizon: 12", "horizon: 12\nhorizont: 3"), 4, "horizont", "horizon"),  # unknown field
    (("    exporter: china", "    exporter: china\n    cap: 1"), 13, "shocks[0].cap", "exporter"),
    (("chains: [rare-earths]", "chains: [rare-earth]"), 4, "chains", "rare-earths"),
    (("    stage: separated", "    stage: separation"), 11, "shocks[0].stage", "separated"),
    (("club: [USA, JPN, eu27]", "club: [USA, JPN, XXX]"), 7, "blocs.club[2]", "ISO3"),
    (("club: [USA, JPN, eu27]", "club: [USA, jpn]"), 7, "blocs.club[1]", "JPN"),
    (("    region: MMR", "    region: Burma"), 18, "shocks[1].region", "ISO3"),
    (("    value: 30258", "    value: -5"), 14, "shocks[0].value", ">= 0"),
    (("    start: 2025Q3", "    start: 2031Q1"), 13, "shocks[0].start", "2025Q1…2027Q4"),
    (("    end: 2026Q1", "    end: 12"), 20, "shocks[1].end", "0…11"),
    (("    exporter: china", "    exporter: chna"), 12, "shocks[0].exporter", "china, club, rest"),
    (("{at: 4, value: 0.2}", "{at: 4, value: 1.2}"), 21, "shocks[1].path", "0 … 1"),
    (("  - kind: export_quota", "  - kind: quota"), 9, "shocks[0]", "export_quota"),
])
def test_bad_input_is_one_line_with_file_line_field_and_allowed(
        tmp_path: Path, edit: tuple[str, str], line: int, field: str, allowed: str) -> None:
    with pytest.raises(ScenarioFileError) as err:
        _load(tmp_path, GOOD.replace(*edit))
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{tmp_path / 's.yaml'}:{line}: field '{field}'"), message
    assert "allowed" in message and allowed in message, message


def test_cross_field_rules(tmp_path: Path) -> None:
    surge = GOOD.replace("kind: production_outage", "kind: demand_surge").replace(
        "    region: MMR\n", "")
    with pytest.raises(ScenarioFileError, match="allowed stage: magnet"):
        _load(tmp_path, surge)
    both = GOOD.replace("    value: 30258", "    value: 30258\n    path: [{at: 3, value: 1}]")
    with pytest.raises(ScenarioFileError, match="either value or path"):
        _load(tmp_path, both)
    early = GOOD.replace("    start: 2025Q3", "    start: 2025Q3\n    announced: 2026Q1")
    with pytest.raises(ScenarioFileError, match="announced '2026Q1' is after start"):
        _load(tmp_path, early)
    twice = GOOD.replace("club: [USA, JPN, eu27]", "club: [USA, CHN]")
    with pytest.raises(ScenarioFileError, match="CHN is in blocs 'china' and 'club'"):
        _load(tmp_path, twice)
    with pytest.raises(ScenarioFileError, match="reserved"):
        _load(tmp_path, GOOD.replace("  china: [CHN]", "  rest: [CHN]"))


def test_monthly_time_and_labels() -> None:
    assert period_labels("2025-11", 3, "month") == ["2025-11", "2025-12", "2026-01"]
    assert period_index("2026Q2", "2025-11", "month") == 5  # a quarter label maps to its month
    assert period_index("2026-05", "2025Q4", "quarter") == 2
    scenario = validate_scenario({"name": "m", "time_step": "month", "start": "2025-07",
                                  "horizon": 6, "chains": ["gallium"]})
    assert scenario.periods_per_year == 12 and scenario.labels()[-1] == "2025-12"
