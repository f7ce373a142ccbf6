"""`critmin menu FILE`: the scenario's policy tools side by side, at a common budget."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from critmin.cli._output import Format, emit

#: Columns printed as a table (JSON and CSV carry every column of the comparison).
_TABLE_COLUMNS = ("rank", "option", "fiscal_cost_usd", "shortfall_avoided_t",
                  "peak_price_reduction", "gdp_at_risk_avoided_usd", "usd_per_t_avoided",
                  "days_of_cover_max", "members_gaining")


def register(app: typer.Typer) -> None:
    """Attach the top-level ``menu`` command to the main app."""

    @app.command()
    def menu(
        file: Annotated[Path, typer.Argument(help="Scenario YAML file with a policies: section.")],
        budget: Annotated[float | None, typer.Option(
            "--budget", help="Common budget in USD (default: the file's menu.budget_usd).")] = None,
        draws: Annotated[int | None, typer.Option(
            "--draws", help="Monte Carlo draws per option (default: the file's menu.draws, "
                            "else 1 = central values).")] = None,
        fmt: Annotated[Format, typer.Option("--format", help="How to print the comparison.")] = (
            Format.table),
    ) -> None:
        """Run the shock alone, with each tool and with the file's packages; rank them."""
        from critmin.analysis.menu import compare
        from critmin.scenario.model import load_scenario

        scenario = load_scenario(file)
        frame = compare(scenario, budget=budget, draws=draws)
        if fmt is Format.json:
            emit(frame, fmt)
            return
        shown = frame.copy()
        for col in ("members_gaining", "tools", "kinds"):
            shown[col] = shown[col].map(", ".join)
        if fmt is Format.table:
            shown = shown[list(_TABLE_COLUMNS)]
        common = budget if budget is not None else (
            scenario.menu.budget_usd if scenario.menu is not None else None)
        what = f"common budget USD {common:,.0f}" if common is not None else "tools as specified"
        emit(shown, fmt, title=f"{scenario.name}: menu ({what}; {int(frame.draws.iloc[0])} "
                               "draw(s) per option)")
