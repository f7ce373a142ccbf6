"""Bad policy input in scenario files: one line naming the file, the line and the field (a tool
with a negative budget, a floor without covered producers or two strikes, a club with an
unknown member, a menu naming an unknown tool)."""

from __future__ import annotations

from pathlib import Path

import pytest

from critmin.scenario.model import load_scenario
from critmin.scenario.yamlio import ScenarioFileError

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def _error(tmp_path: Path, shipped: str, old: str, new: str) -> tuple[str, str]:
    """Load a shipped scenario with ``old`` replaced by ``new``; return the message and the
    ``FILE:LINE:`` prefix it must start with (the first line holding ``new``)."""
    text = (SCENARIOS / shipped).read_text()
    assert old in text
    text = text.replace(old, new)
    path = tmp_path / shipped
    path.write_text(text)
    line = next(k for k, row in enumerate(text.splitlines(), 1) if new.splitlines()[0] in row)
    with pytest.raises(ScenarioFileError) as err:
        load_scenario(path)
    message = str(err.value)
    assert "\n" not in message
    return message, f"{path}:{line}: "


def test_a_negative_stockpile_budget(tmp_path: Path) -> None:
    message, where = _error(tmp_path, "project-vault-rare-earths.yaml", "    budget_usd: 0\n",
                            "    budget_usd: -5\n")
    assert message.startswith(where + "field 'policies[0].budget_usd'") and ">= 0" in message


def test_a_negative_financing(tmp_path: Path) -> None:
    message, where = _error(tmp_path, "project-vault-rare-earths.yaml", "loan_usd: 10.0e9",
                            "loan_usd: -1")
    assert message.startswith(where + "field 'policies[0].financing.loan_usd'")


def test_a_floor_without_covered_producers(tmp_path: Path) -> None:
    message, where = _error(tmp_path, "ndpr-floor-us-producer.yaml", "    regions: [USA]\n",
                            "    regions: []\n")
    assert message.startswith(where + "field 'policies[0].regions'")
    assert "a floor needs covered producers" in message


def test_a_floor_with_two_strikes(tmp_path: Path) -> None:
    message, _ = _error(tmp_path, "ndpr-floor-us-producer.yaml", "    strike_usd_per_t: 110000\n",
                        "    strike_usd_per_t: 110000\n    strike_multiple: 1.5\n")
    assert "give exactly one of strike_usd_per_t, strike_multiple" in message


def test_a_club_with_an_unknown_member(tmp_path: Path) -> None:
    message, where = _error(tmp_path, "trade-club-external-tariff.yaml",
                            "    members: [trade-club]\n", "    members: [trade-club, XXX]\n")
    assert message.startswith(where + "field 'policies[0].members[1]'")
    assert "unknown country or group 'XXX'" in message


def test_a_menu_naming_an_unknown_tool(tmp_path: Path) -> None:
    message, _ = _error(
        tmp_path, "combined-package-12b.yaml",
        "      policies: [project-vault, ndpr-floor, eneabba-loans, magnet-recycling, "
        "substitution-research]\n", "      policies: [project-vault, nothing]\n")
    assert "combination 'package' names unknown tool 'nothing'" in message
    path = tmp_path / "combined-package-12b.yaml"
    line = path.read_text().splitlines().index("menu:") + 1
    assert message.startswith(f"{path}:{line}: field 'menu'")
