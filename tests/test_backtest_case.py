"""Backtest case files: the shipped cases load and cite their sources; mistakes name the file,
the line and the field."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from critmin.backtest.case import MARKET_PARAMETERS, load_case
from critmin.backtest.metrics import METRICS
from critmin.backtest.runner import shipped_cases
from critmin.scenario.yamlio import ScenarioFileError

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO.parent / "shared" / "reference" / "calibration_cases.md"

CASE = """\
name: tiny lithium case
scenario:
  name: tiny
  time_step: quarter
  start: 2020Q1
  horizon: 8
  chains: [lithium]
  blocs:
    china: [CHN]
targets:
  - name: peak
    metric: {metric}
    commodity: lithium
    stage: chemical
    bloc: china
    base: 2020Q4
    window: [2021Q1, {window_end}]
    observed: 12.3
    source: {{url: "https://example.org/li", line: 178, tag: V}}
"""


def write(tmp_path: Path, text: str, name: str = "case.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def error_of(path: Path) -> ScenarioFileError:
    with pytest.raises(ScenarioFileError) as err:
        load_case(path)
    return err.value


def test_a_valid_case_loads(tmp_path: Path) -> None:
    case = load_case(write(tmp_path, CASE.format(metric="peak_price_multiple",
                                                 window_end="2021Q4")))
    target = case.targets[0]
    assert case.scenario.horizon == 8 and target.window == ("2021Q1", "2021Q4")
    assert target.scored and target.source.cite() == ("https://example.org/li "
                                                      "(calibration_cases.md:178, V)")


def test_an_unknown_metric_names_file_line_field_and_the_metrics(tmp_path: Path) -> None:
    path = write(tmp_path, CASE.format(metric="peak_price", window_end="2021Q4"))
    err = error_of(path)
    assert (err.path, err.line, err.field) == (str(path), 12, "targets[0].metric")
    assert "'peak_price' is not allowed" in str(err)
    assert all(name in str(err) for name in METRICS)


def test_a_target_outside_the_horizon_names_file_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, CASE.format(metric="peak_price_multiple", window_end="2023Q1"))
    err = error_of(path)
    assert (err.line, err.field) == (17, "targets[0].window")
    assert "'2023Q1' is outside the horizon; allowed: 2020Q1…2021Q4" in str(err)
    assert str(err).startswith(f"{path}:17: field 'targets[0].window'")


def test_a_metric_without_its_fields(tmp_path: Path) -> None:
    text = CASE.format(metric="price_ratio", window_end="2021Q4")
    err = error_of(write(tmp_path, text))
    assert err.field == "targets[0]" and err.line == 11
    assert "metric 'price_ratio' needs other, at" in str(err)


def test_unknown_bloc_stage_and_a_string_where_a_number_belongs(tmp_path: Path) -> None:
    base = CASE.format(metric="peak_price_multiple", window_end="2021Q4")
    err = error_of(write(tmp_path, base.replace("bloc: china", "bloc: eu"), "a.yaml"))
    assert err.field == "targets[0].bloc" and "allowed: china, rest" in str(err)
    err = error_of(write(tmp_path, base.replace("stage: chemical", "stage: magnet"), "b.yaml"))
    assert err.field == "targets[0].stage" and "allowed: mine, chemical" in str(err)
    err = error_of(write(tmp_path, base.replace("observed: 12.3", "observed: many"), "c.yaml"))
    assert err.field == "targets[0].observed" and "not a number" in str(err)


def test_behavioural_overrides_are_refused(tmp_path: Path) -> None:
    base = CASE.format(metric="peak_price_multiple", window_end="2021Q4")
    overrides = base.replace("targets:", "  overrides:\n    - {parameter: demand_elasticity, "
                             "value: -0.05}\ntargets:")
    err = error_of(write(tmp_path, overrides, "a.yaml"))
    assert err.field == "scenario" and "no overrides" in str(err)
    market = base.replace("targets:", "market:\n  - {parameter: supply_elasticity, commodity: "
                          "lithium, value: 0.1, source: {url: 'https://example.org', tag: V}}\n"
                          "targets:")
    err = error_of(write(tmp_path, market, "b.yaml"))
    assert err.field == "market[0].parameter"
    assert all(p in str(err) for p in MARKET_PARAMETERS)


def test_market_shares_must_still_sum_to_one(tmp_path: Path) -> None:
    base = CASE.format(metric="peak_price_multiple", window_end="2021Q4")
    market = base.replace("targets:", "market:\n  - {parameter: capacity_share, commodity: "
                          "lithium, stage: chemical, region: CHN, value: 0.9, source: "
                          "{url: 'https://example.org', tag: V}}\ntargets:")
    err = error_of(write(tmp_path, market))
    assert err.field == "market" and "sums to" in str(err)


def test_quota_used_needs_a_quota_and_quotas_start_after_their_reference(tmp_path: Path) -> None:
    base = CASE.format(metric="peak_price_multiple", window_end="2021Q4")
    used = base.replace("metric: peak_price_multiple", "metric: quota_used")
    err = error_of(write(tmp_path, used, "a.yaml"))
    assert "no quota on lithium/chemical from 'china'" in str(err)
    quota = base.replace("targets:", textwrap.dedent("""\
        quotas:
          - commodity: lithium
            stage: chemical
            exporter: china
            reference: [2020Q1, 2020Q4]
            path: [{at: 2020Q3, value: 0.5}]
            source: {url: "https://example.org", tag: D}
        targets:"""))
    err = error_of(write(tmp_path, quota, "b.yaml"))
    assert err.field == "quotas[0].path" and "inside the reference window" in str(err)
    ok = load_case(write(tmp_path, quota.replace("at: 2020Q3", "at: 2021Q1")
                         .replace("metric: peak_price_multiple", "metric: quota_used"), "c.yaml"))
    assert ok.quotas[0].path[0].value == 0.5


def test_a_scenario_file_beside_the_case_sets_the_horizon(tmp_path: Path) -> None:
    scenario = textwrap.dedent(CASE.format(metric="x", window_end="x")).split("scenario:\n")[1]
    scenario = textwrap.dedent(scenario.split("targets:")[0])
    (tmp_path / "episode.yaml").write_text(scenario)
    text = CASE.format(metric="peak_price_multiple", window_end="2021Q4")
    head, tail = text.split("targets:")
    case = load_case(write(tmp_path, "name: by path\nscenario: episode.yaml\ntargets:" + tail))
    assert case.scenario.name == "tiny" and head
    outside = "name: by path\nscenario: episode.yaml\ntargets:" + tail.replace("2021Q4", "2022Q1")
    err = error_of(write(tmp_path, outside, "b.yaml"))
    assert err.field == "targets[0].window" and "2020Q1…2021Q4" in str(err)
    missing = "name: by path\nscenario: nowhere.yaml\ntargets:" + tail
    err = error_of(write(tmp_path, missing, "c.yaml"))
    assert (err.line, err.field) == (2, "scenario") and "nowhere.yaml: file not found" in str(err)


def test_unverified_facts_are_not_scored(tmp_path: Path) -> None:
    text = CASE.format(metric="peak_price_multiple", window_end="2021Q4").replace("tag: V",
                                                                                "tag: U")
    assert not load_case(write(tmp_path, text)).targets[0].scored


def test_shipped_cases_load_and_cover_the_three_episodes() -> None:
    cases = {p.stem: load_case(p) for p in shipped_cases()}
    assert set(cases) == {"rare-earth-quotas-2010", "gallium-germanium-licensing-2023",
                          "lithium-boom-glut-2020"}
    for case in cases.values():
        assert case.targets and all(t.source.line for t in case.targets)
        assert not case.scenario.overrides


def test_shipped_targets_cite_the_line_that_quotes_them() -> None:
    """Each target's line of calibration_cases.md exists, and its URL (the site or the page) or
    the publication its note names is quoted on that line or within the same bullet."""
    if not REFERENCE.exists():
        pytest.skip(f"{REFERENCE} not present")
    lines = REFERENCE.read_text().splitlines()
    for path in shipped_cases():
        for t in load_case(path).targets:
            assert t.source.line <= len(lines), (path.name, t.name)
            near = " ".join(lines[max(0, t.source.line - 7):t.source.line + 4])
            page = re.sub(r"^https?://(www\.)?", "", t.source.url).split("/")
            key = page[-1] or page[-2]
            author = t.source.note.split(" ")[0]
            assert page[0] in near or key[:25] in near or author in near, \
                (path.name, t.name, t.source.url)
