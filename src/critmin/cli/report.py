"""`critmin report FILE --out DIR`: an HTML and a PDF briefing of a scenario."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Attach the top-level ``report`` command to the main app."""

    @app.command()
    def report(
        file: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
        out: Annotated[Path, typer.Option("--out", help="Folder for report.html and "
                                          "report.pdf (created if missing).")],
        draws: Annotated[int | None, typer.Option(
            "--draws", min=1, help="Monte Carlo draws (default: the scenario's).")] = None,
        budget: Annotated[float | None, typer.Option(
            "--budget", min=0, help="Common budget (USD) for the menu of tools, if the "
                                    "scenario names tools.")] = None,
        pdf: Annotated[bool, typer.Option(
            "--pdf/--no-pdf", help="Also print the page to PDF with headless Chromium.")] = True,
        overwrite: Annotated[bool, typer.Option(
            "--overwrite", help="Replace an existing report in --out.")] = False,
    ) -> None:
        """Simulate FILE and write a briefing: the question, the shock, the menu of tools,
        charts, assumptions with their sources, and the data edition."""
        from critmin.cli.run import _progress
        from critmin.report.briefing import write_report

        with _progress() as tick:
            written = write_report(file, out, draws=draws, budget=budget, pdf=pdf,
                                   overwrite=overwrite, progress=tick)
        for path in written.values():
            typer.echo(str(path))
