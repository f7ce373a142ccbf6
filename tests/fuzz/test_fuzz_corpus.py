"""Regression tests: every input a fuzzer found crashing (tests/fuzz/corpus/<target>/<name>) is
replayed through its target and must now return or raise the documented error."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzz.targets import RAW, check, targets

CORPUS = Path(__file__).with_name("corpus")
CASES = sorted(p for p in CORPUS.glob("*/*") if p.is_file())


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_crashing_input_now_fails_as_documented(path: Path) -> None:
    if path.parent.name in ("mcs2026", "legacy") and not RAW.is_dir():
        pytest.skip("raw data folder not present")
    check(targets()[path.parent.name], path.read_bytes())


def test_the_corpus_covers_the_findings_named_in_reliability_md() -> None:
    assert {p.parent.name for p in CASES} >= {"parse_cell", "country_name", "mcs2026",
                                              "scenario", "groups"}


@pytest.mark.parametrize(("target", "case", "error", "message"), [
    ("mcs2026", "year-W", "DataBuildError", r"MCS2026_Commodities_Data\.csv:2: Year 'W' is not"),
    ("mcs2026", "empty-file", "DataBuildError", r"\.csv:1: empty file"),
    ("country_name", "three-letters-unknown", "UnmappedCountry", "Foo"),
    ("parse_cell", "400-digits", "ValueError", "not a finite number"),
    ("scenario", "nul-character.yaml", "ScenarioFileError", r"nul-character\.yaml.*YAML error"),
    ("groups", "csv-not-utf8", "CritminError", r"not UTF-8 text .* at byte 19"),
])
def test_what_each_finding_now_says(target: str, case: str, error: str, message: str) -> None:
    if target == "mcs2026" and not RAW.is_dir():
        pytest.skip("raw data folder not present")
    data = (CORPUS / target / case).read_bytes()
    if target == "scenario":  # load the file under its own name: the message names it
        from critmin.scenario.model import load_scenario

        with pytest.raises(Exception) as caught:
            load_scenario(CORPUS / target / case)
    else:
        with pytest.raises(Exception) as caught:
            targets()[target].run(data)
    assert type(caught.value).__name__ == error
    assert caught.match(message)
