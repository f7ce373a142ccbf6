"""YAML loading with line-numbered errors, on a small invented model shaped like scenarios."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, field_validator

from critmin.errors import CritminError, UnknownNameError
from critmin.scenario.yamlio import (
    ScenarioFileError,
    dump_json_schema,
    format_loc,
    load_yaml_model,
    model_hash,
    parse_yaml,
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Quota(Strict):
    kind: Literal["quota"]
    exporter: str
    path: list[float] = Field(min_length=1)


class Outage(Strict):
    kind: Literal["outage"]
    region: str
    loss: float = Field(ge=0, le=1)


class Chain(Strict):
    commodity: Literal["rare-earths", "lithium", "gallium"]
    stages: list[str] = []


class Plan(Strict):
    name: str
    horizon_quarters: int = Field(ge=1)
    seed: int = 0
    chains: list[Chain]
    shocks: list[Annotated[Quota | Outage, Field(discriminator="kind")]] = []
    shares: dict[str, float] = {}


GOOD = """\
# a plan
name: licensing
horizon_quarters: 8
chains:
  - commodity: rare-earths
    stages: [mine, separated]
  - commodity: gallium
shocks:
  - kind: quota
    exporter: CHN
    path: [1.0, 0.25, 0.25]
  - kind: outage
    region: MMR
    loss: 0.3
"""


def load(tmp_path: Path, text: str, name: str = "plan.yaml") -> Plan:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_yaml_model(path, Plan)


def error(tmp_path: Path, text: str) -> ScenarioFileError:
    with pytest.raises(ScenarioFileError) as err:
        load(tmp_path, text)
    message = str(err.value)
    assert "\n" not in message and isinstance(err.value, CritminError)
    return err.value


def test_good_file_loads(tmp_path) -> None:
    plan = load(tmp_path, GOOD)
    assert plan.horizon_quarters == 8 and plan.chains[1].commodity == "gallium"
    assert isinstance(plan.shocks[0], Quota) and plan.shocks[0].path == [1.0, 0.25, 0.25]
    assert isinstance(plan.shocks[1], Outage) and plan.shocks[1].loss == 0.3


def test_unknown_field_names_line_and_the_allowed_fields(tmp_path) -> None:
    err = error(tmp_path, GOOD.replace("    stages: [mine, separated]", "    stage: [mine]"))
    assert str(err) == (f"{tmp_path / 'plan.yaml'}:6: field 'chains[0].stage': unknown field "
                        "'stage'; allowed: commodity, stages")
    assert (err.line, err.field) == (6, "chains[0].stage")


def test_unknown_field_inside_a_discriminated_union_member(tmp_path) -> None:
    err = error(tmp_path, GOOD.replace("    loss: 0.3", "    los: 0.3"))
    # the typo is reported (not the consequent "loss is missing"), with that member's fields
    assert str(err).endswith(":14: field 'shocks[1].los': unknown field 'los'; allowed: kind, "
                             "region, loss (+1 more error)")


def test_bad_literal_lists_allowed_values(tmp_path) -> None:
    err = error(tmp_path, GOOD.replace("commodity: gallium", "commodity: galium"))
    assert str(err).endswith(":7: field 'chains[1].commodity': 'galium' is not allowed; allowed: "
                             "'rare-earths', 'lithium' or 'gallium'")


def test_bad_discriminator_lists_the_kinds(tmp_path) -> None:
    err = error(tmp_path, GOOD.replace("kind: outage", "kind: flood"))
    assert str(err).endswith(":12: field 'shocks[1]': 'flood' is not a known 'kind'; allowed: "
                             "'quota', 'outage'")


def test_negative_number_names_the_bound(tmp_path) -> None:
    err = error(tmp_path, GOOD.replace("loss: 0.3", "loss: -0.2"))
    assert str(err).endswith(":14: field 'shocks[1].loss': -0.2 is out of range; allowed: >= 0")
    err = error(tmp_path, GOOD.replace("horizon_quarters: 8", "horizon_quarters: 0"))
    assert str(err).endswith(":3: field 'horizon_quarters': 0 is out of range; allowed: >= 1")


def test_wrong_type(tmp_path) -> None:
    err = error(tmp_path, GOOD.replace("horizon_quarters: 8", "horizon_quarters: eight"))
    assert str(err).endswith(":3: field 'horizon_quarters': 'eight' is not an integer")
    err = error(tmp_path, GOOD.replace("path: [1.0, 0.25, 0.25]", "path: [1.0, half]"))
    assert str(err).endswith(":11: field 'shocks[0].path[1]': 'half' is not a number")
    err = error(tmp_path, GOOD.replace("    path: [1.0, 0.25, 0.25]", "    path: []"))
    assert str(err).endswith(
        ":11: field 'shocks[0].path': [] has 0 items; allowed: at least 1 items")
    err = error(tmp_path, "name: x\nhorizon_quarters: 1\nchains:\n  commodity: lithium\n")
    assert str(err).endswith(":3: field 'chains': {'commodity': 'lithium'} is not a list")


def test_missing_field_points_at_its_parent(tmp_path) -> None:
    err = error(tmp_path, GOOD.replace("    exporter: CHN\n", ""))
    assert str(err).endswith(":9: field 'shocks[0].exporter': required field is missing")


def test_yaml_syntax_errors_give_the_line(tmp_path) -> None:
    err = error(tmp_path, GOOD.replace("horizon_quarters: 8", "horizon_quarters: 8: 9"))
    assert str(err) == (f"{tmp_path / 'plan.yaml'}:3: YAML syntax error: "
                        "mapping values are not allowed here")
    err = error(tmp_path, GOOD.replace("[mine, separated]", "[mine, separated"))
    assert ":7: YAML syntax error: expected ',' or ']', but got ':' (while parsing a flow " \
        in str(err)
    err = error(tmp_path, GOOD.replace("  - kind: outage", "\t- kind: outage"))
    assert ":12: YAML syntax error: found character '\\t' that cannot start any token" in str(err)


def test_duplicate_keys_empty_files_and_missing_files(tmp_path) -> None:
    err = error(tmp_path, GOOD + "horizon_quarters: 12\n")
    assert str(err).endswith(":15: field 'horizon_quarters': duplicate key (first given at line 3)")
    err = error(tmp_path, "# nothing here\n")
    assert str(err).endswith(":1: file is empty; expected a mapping with fields: name, "
                             "horizon_quarters, seed, chains, shocks, shares")
    err = error(tmp_path, "- a\n- b\n")
    assert "['a', 'b'] is not a mapping; allowed: a mapping with fields: name," in str(err)
    with pytest.raises(ScenarioFileError, match=r"missing.yaml: file not found$"):
        load_yaml_model(tmp_path / "missing.yaml", Plan)
    with pytest.raises(ScenarioFileError, match=r"is a directory"):
        load_yaml_model(tmp_path, Plan)
    (tmp_path / "latin1.yaml").write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ScenarioFileError, match=r"latin1.yaml: not UTF-8 text"):
        load_yaml_model(tmp_path / "latin1.yaml", Plan)


def test_anchors_and_merges_keep_working(tmp_path) -> None:
    text = GOOD + "shares: &base {CHN: 0.9, ROW: 0.1}\n"
    assert load(tmp_path, text).shares == {"CHN": 0.9, "ROW": 0.1}
    merged = GOOD.replace("  - kind: outage\n    region: MMR\n",
                          "  - &o\n    kind: outage\n    region: MMR\n")
    assert load(tmp_path, merged).shocks[1].region == "MMR"


def test_line_map_and_paths() -> None:
    data, lines = parse_yaml(GOOD)
    assert data["shocks"][0]["exporter"] == "CHN"
    assert lines[("chains", 1, "commodity")] == 7 and lines[("shocks", 1)] == 12
    assert format_loc(("shocks", 2, "path", 0)) == "shocks[2].path[0]" and format_loc(()) == ""


def test_hash_ignores_formatting_but_not_values(tmp_path) -> None:
    plan = load(tmp_path, GOOD)
    block = GOOD.replace("[mine, separated]", "\n      - mine\n      - separated")
    reformatted = load(tmp_path, "# other comments\n" + block)
    assert model_hash(plan) == model_hash(reformatted) and len(model_hash(plan)) == 12
    assert model_hash(plan) != model_hash(load(tmp_path, GOOD.replace("seed: 0", "") + "seed: 1\n"))


def test_json_schema_lists_fields_and_allowed_values() -> None:
    schema = json.loads(dump_json_schema(Plan))
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["required"] == ["name", "horizon_quarters", "chains"]
    assert schema["additionalProperties"] is False
    chain = schema["$defs"]["Chain"]
    assert chain["properties"]["commodity"]["enum"] == ["rare-earths", "lithium", "gallium"]
    assert schema["$defs"]["Outage"]["properties"]["loss"]["minimum"] == 0



class Checked(Strict):
    """A validator that turns a CritminError into ValueError keeps the file line."""

    commodity: str

    @field_validator("commodity")
    @classmethod
    def known(cls, value: str) -> str:
        if value not in ("lithium", "cobalt"):
            raise ValueError(str(UnknownNameError("commodity", value, ["lithium", "cobalt"])))
        return value


def test_validator_errors_keep_their_line_and_message(tmp_path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("# c\ncommodity: lithum\n", encoding="utf-8")
    with pytest.raises(ScenarioFileError) as err:
        load_yaml_model(path, Checked)
    assert str(err.value) == (f"{path}:2: field 'commodity': unknown commodity 'lithum': "
                              "did you mean 'lithium'?")
