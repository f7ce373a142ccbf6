"""Documentation completeness: every CLI command, argument and option has help text, and every
field of the scenario JSON Schema has a description.

The reference pages are generated from the same walks (``docs/_ext/cli_tree.py`` and
``docs/_ext/schema_fields.py``), so what these tests require is what the pages show. The docs
build itself (``bash docs/build.sh``: warnings, broken references and failing notebooks are
errors) is a separate CI step, too slow for the test suite.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import pytest
import typer
from pydantic import BaseModel, Field

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs" / "_ext"))

import cli_tree
import schema_fields
from schema_fields import Ref

# --------------------------------------------------------------------------- the CLI


@pytest.fixture(scope="module")
def commands() -> list[cli_tree.CommandDoc]:
    return list(cli_tree.walk(cli_tree.app_command()))


def test_every_cli_command_and_option_has_help(commands: list[cli_tree.CommandDoc]) -> None:
    assert cli_tree.undocumented(commands) == []


def test_walk_reaches_every_registered_command(commands: list[cli_tree.CommandDoc]) -> None:
    by_path = {c.path: c for c in commands}
    assert {"data", "risk", "params", "scenario", "serve"} <= set(by_path[("critmin",)].subcommands)
    for cmd in commands:  # each group's subcommands are walked, nothing else is
        for sub in cmd.subcommands:
            assert (*cmd.path, sub) in by_path
    assert len(by_path) == len(commands) == 1 + sum(len(c.subcommands) for c in commands)
    assert {"critmin data show", "critmin data build", "critmin risk show", "critmin risk matrix",
            "critmin params show", "critmin scenario validate"} <= {c.name for c in commands}


def test_walk_reads_declarations_defaults_and_required(commands: list[cli_tree.CommandDoc]
                                                       ) -> None:
    show = next(c for c in commands if c.name == "critmin data show")
    params = {p.name: p for p in show.params}
    assert "help" not in params  # --help is typer's, not documented per command
    assert params["commodity"].kind == "argument"
    assert params["commodity"].extra == "[required]"
    assert params["fmt"].kind == "option"
    assert params["fmt"].declaration == "-f, --format <table|csv|json>"
    assert params["fmt"].extra == "[default: table]"
    assert params["statistic"].extra == "[default: production]"
    assert show.usage.startswith("critmin data show [OPTIONS]")


def test_checker_names_each_command_and_parameter_without_help() -> None:
    app = typer.Typer()

    @app.command()
    def good(x: Annotated[int, typer.Option(help="An x.")] = 1) -> None:
        """Documented."""

    @app.command()
    def bad(z: Annotated[str, typer.Argument()] = "a", y: int = 2) -> None:
        pass

    walked = list(cli_tree.walk(cli_tree.app_command(app), "demo"))
    assert [c.name for c in walked] == ["demo", "demo good", "demo bad"]
    assert cli_tree.undocumented(walked) == ["demo", "demo bad", "demo bad z", "demo bad --y"]


# --------------------------------------------------------------------------- the scenario schema


def test_every_scenario_field_has_a_description() -> None:
    model = pytest.importorskip(
        "critmin.scenario.model", reason="critmin.scenario.model is not in this build yet")
    schema = model.Scenario.model_json_schema()
    walked = list(schema_fields.models(schema))
    assert walked[0].name == "Scenario"
    assert {"name", "start", "horizon", "chains", "shocks"} <= {f.name for f in walked[0].fields}
    missing = schema_fields.undocumented_fields(schema)
    assert missing == [], f"{len(missing)} scenario fields have no description: {missing}"


class _Point(BaseModel):
    """A point."""

    at: int = Field(ge=0, description="when")
    value: float


class _Toy(BaseModel):
    """A toy scenario."""

    name: str = Field(min_length=1, description="what it is called")
    kind: Literal["a", "b"] = Field("a", description="which kind")
    points: list[_Point] = Field(default_factory=list, description="the steps")
    share: float | None = Field(None, ge=0, le=1, description="a share")
    tags: dict[str, list[str]] = Field(default_factory=dict)


def test_schema_walk_on_a_known_model() -> None:
    schema = _Toy.model_json_schema()
    toy, point = schema_fields.models(schema)
    assert (toy.name, toy.description, point.name) == ("_Toy", "A toy scenario.", "_Point")
    fields = {f.name: f for f in toy.fields}
    assert fields["name"].required and fields["name"].constraints == "length ≥ 1"
    assert fields["kind"].type == ('one of "a", "b"',) and fields["kind"].default == '"a"'
    assert fields["points"].type == ("list of ", Ref("_Point"))
    assert fields["share"].type == ("number", " | ", "null")
    assert fields["share"].constraints == "≥ 0, ≤ 1" and fields["share"].default == "null"
    assert fields["tags"].type == ("mapping of string → ", "list of ", "string")
    assert [(f.name, f.constraints) for f in point.fields] == [("at", "≥ 0"), ("value", "")]


def test_schema_checker_names_fields_without_description() -> None:
    assert schema_fields.undocumented_fields(_Toy.model_json_schema()) == [
        "_Toy.tags", "_Point.value"]


# --------------------------------------------------------------------------- the narrative pages

DOCS = Path(__file__).resolve().parents[1] / "docs"
NARRATIVE = ("getting-started", "how-to", "tutorials", "methods")


def test_every_top_level_command_is_used_in_a_guide(commands: list[cli_tree.CommandDoc]) -> None:
    """The reference lists every command; a newcomer also needs to see each one used in a
    getting-started page, a how-to, a tutorial or a methods page."""
    text = "\n".join(p.read_text(encoding="utf-8") for part in NARRATIVE
                     for p in (DOCS / part).rglob("*.md"))
    top = next(c for c in commands if c.path == ("critmin",)).subcommands
    assert len(top) >= 15  # data … user: the walk found the whole app
    unused = [name for name in top if f"critmin {name}" not in text]
    assert unused == [], f"commands no guide shows: {unused}"


def test_every_page_is_in_a_table_of_contents() -> None:
    """Sphinx warns (and -W fails) on an orphan page only at build time; this names it fast."""
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    pages = sorted(str(p.relative_to(DOCS).with_suffix("")) for part in (*NARRATIVE, "reference")
                   for p in (DOCS / part).glob("*.md"))
    assert len(pages) >= 25  # the pages of issue 11 (getting started … reference)
    assert [p for p in pages if f"\n{p}\n" not in index] == []
