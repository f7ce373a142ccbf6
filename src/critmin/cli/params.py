"""`critmin params`: the parameter registry — every behavioural number, its range and source."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from critmin.cli._output import Format, emit

app = typer.Typer(help="The parameter registry: values, ranges, units and sources.",
                  no_args_is_help=True)

FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="table, csv or json.")]
RegistryOpt = Annotated[Path | None, typer.Option(
    "--registry", help="A registry CSV to read instead of the shipped one.")]


@app.command()
def show(
    commodity: Annotated[str, typer.Argument(help="Commodity slug, e.g. rare-earths.")],
    stage: Annotated[str | None, typer.Option(help="Only rows for this stage (and '*').")] = None,
    registry: RegistryOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Every registry row that applies to a commodity ('*' rows included)."""
    from critmin.params import load_registry

    reg = load_registry(registry)
    slug = _resolve(commodity, reg.commodities)
    stages = set(reg.table.stage[reg.table.commodity.isin([slug, "*"])]) - {"*"}
    if stage is not None and stage not in stages:
        from critmin.errors import UnknownNameError

        raise UnknownNameError(f"stage of {slug}", stage, stages)
    frame = reg.rows(slug, stage)
    title = f"{slug}{' · ' + stage if stage else ''} · {reg.version}"
    emit(frame, fmt, title=title)


@app.command("list")
def list_parameters(registry: RegistryOpt = None, fmt: FormatOpt = Format.table) -> None:
    """The parameters the engine reads: meaning, allowed values, rows and commodities."""
    from critmin.params import load_registry, parameter_table

    reg = load_registry(registry)
    emit(parameter_table(reg), fmt, title=f"parameters · {reg.version}")


def _resolve(name: str, registry_commodities: list[str]) -> str:
    """A registry commodity, or a commodity of the data catalog (which gets the '*' rows)."""
    from critmin.errors import CritminError, UnknownNameError

    key = name.strip().lower()
    if key in registry_commodities:
        return key
    catalog: list[str] = []
    try:
        from critmin import data

        return data.resolve_commodity(name)
    except UnknownNameError as err:
        catalog = err.known
    except CritminError:  # curated data not built: the registry's names are all we know
        pass
    raise UnknownNameError("commodity", name, [*registry_commodities, *catalog])
