"""`critmin scenario`: check scenario files and export their JSON Schema for editors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Scenario files: validate them, print their JSON Schema.",
                  no_args_is_help=True)


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="A scenario YAML file.")],
) -> None:
    """Check a scenario file: prints "ok: NAME (HASH)" or one line naming file, line and field."""
    from critmin.scenario.model import load_scenario
    from critmin.scenario.yamlio import model_hash

    scenario = load_scenario(file)
    name = getattr(scenario, "name", None) or file.stem
    own_hash = getattr(scenario, "hash", None)  # the model's own hash, if it defines one
    digest = own_hash() if callable(own_hash) else model_hash(scenario)
    typer.echo(f"ok: {name} ({digest})")


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (for editors: yaml-language-server)."""
    from critmin.scenario.model import Scenario
    from critmin.scenario.yamlio import dump_json_schema

    typer.echo(dump_json_schema(Scenario))
