"""`critmin run FILE --out DIR`: simulate a scenario, write its results, print the summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from critmin.cli._output import Format, emit

_SUMMARY_COLUMNS = ("stage", "bloc", "peak_price_multiple", "peak_period",
                    "trough_price_multiple", "price_gap",
                    "cumulative_shortfall_t", "shortfall_share", "unserved_t",
                    "recovery_periods",
                    "gdp_at_risk_usd", "downstream_output_at_risk", "downstream_unit")


def register(app: typer.Typer) -> None:
    """Attach the top-level ``run`` command to the main app."""

    @app.command()
    def run(
        file: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
        out: Annotated[Path, typer.Option("--out", help="Folder for the results (NetCDF, "
                                          "Parquet, manifest).")],
        draws: Annotated[int | None, typer.Option(
            "--draws", min=1, help="Monte Carlo draws (default: the scenario's).")] = None,
        fmt: Annotated[Format, typer.Option("--format", help="How to print the summary.")] = (
            Format.table),
        overwrite: Annotated[bool, typer.Option(
            "--overwrite", help="Replace an existing results folder.")] = False,
    ) -> None:
        """Simulate FILE (and its baseline), write results to --out and print the summary."""
        from critmin.engine import simulate
        from critmin.errors import CritminError
        from critmin.policy import simulate_with_policies
        from critmin.results import summarize, to_dataset, write
        from critmin.scenario.model import load_scenario
        from critmin.world import build_world_for

        scenario = load_scenario(file)
        if out.exists() and not overwrite:
            raise CritminError(f"{out} exists; choose another --out or pass --overwrite")
        world = build_world_for(scenario)
        extra = None
        with _progress() as tick:
            if scenario.policies:  # the tools act in the shocked run; their ledger is kept
                with_tools = simulate_with_policies(world, scenario, draws=draws, progress=tick)
                result, extra = with_tools.run, with_tools.policies.tables()
            else:
                result = simulate(world, scenario, draws=draws, progress=tick)
        dataset = to_dataset(result)
        write(dataset, out, overwrite=overwrite, extra=extra)
        summary = summarize(dataset)
        title = (f"{scenario.name}: {result.n_draws} draw(s), {scenario.horizon} "
                 f"{scenario.time_step}s; results in {out}")
        emit(summary[list(_SUMMARY_COLUMNS)], fmt, title=title)


class _progress:
    """A rich progress bar on stderr (never on stdout, which may carry JSON)."""

    def __enter__(self):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                            TextColumn("{task.completed}/{task.total} periods"),
                            TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        self.bar.__enter__()
        self.tasks: dict[str, object] = {}

        def tick(run: str, done: int, total: int) -> None:
            if run not in self.tasks:
                self.tasks[run] = self.bar.add_task(run, total=total)
            self.bar.update(self.tasks[run], completed=done)  # type: ignore[arg-type]

        return tick

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)  # type: ignore[arg-type]
