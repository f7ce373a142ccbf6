"""`critmin backtest` (score the model against history) and `critmin calibrate` (fit the
registry's shared central values to the cases), attached with :func:`register`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from critmin.cli._output import Format, emit

if TYPE_CHECKING:
    import pandas as pd

#: What the JSON and CSV carry per target (the table shows a narrower set).
TARGET_COLUMNS = ("case", "target", "metric", "stage", "bloc", "other", "when", "observed",
                  "model_central", "model_median", "model_p05", "model_p95", "error",
                  "error_measure", "tolerance", "hit", "within_range", "direction_ok", "scored",
                  "unit", "source")
TABLE_COLUMNS = ("case", "target", "observed", "model_central", "model_median", "model_p05",
                 "model_p95", "error", "hit", "within_range", "direction_ok")
SCORE_COLUMNS = ("case", "targets", "scored", "hits", "within_range", "price_moves",
                 "direction_ok", "score", "loss", "central_loss", "misses")

Files = Annotated[list[Path] | None, typer.Argument(
    help="Case YAML files (default: the shipped cases in backtests/).")]


def misses_text(targets: pd.DataFrame) -> str:
    """Plain lines naming every scored target that misses, and every wrong price direction."""
    lines = []
    for row in targets[targets.scored & ~targets.hit].itertuples(index=False):
        band = f"[{_num(row.model_p05)} – {_num(row.model_p95)}]"
        wrong = " WRONG DIRECTION" if row.direction_ok is False else ""
        lines.append(f"MISS{wrong} {row.case} / {row.target}: observed {_num(row.observed)}, "
                     f"model median {_num(row.model_median)} {band}")
    return "\n".join(lines) if lines else "every scored target is within its tolerance"


def _num(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "never"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def register(app: typer.Typer) -> None:
    """Attach the top-level ``backtest`` and ``calibrate`` commands to the main app."""

    @app.command()
    def backtest(
        files: Files = None,
        fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
        draws: Annotated[int | None, typer.Option(
            "--draws", min=1, help="Monte Carlo draws per case (default: each case's).")] = None,
        seed: Annotated[int | None, typer.Option(
            "--seed", help="Seed of the draws (default: each case's).")] = None,
        figures: Annotated[Path | None, typer.Option(
            "--figures", help="Folder for one PNG per case (observed points over the "
            "model's band).")] = None,
        registry: Annotated[Path | None, typer.Option(
            "--registry", help="Registry CSV to use (e.g. one written by critmin "
            "calibrate).")] = None,
        scores: Annotated[bool, typer.Option(
            "--scores", help="Print the score per case (and in total) instead of the "
            "targets.")] = False,
    ) -> None:
        """Replay historical episodes and score each observed fact against the model."""
        from critmin.backtest.runner import backtest as run_backtest
        from critmin.params import load_registry

        reg = load_registry(registry) if registry is not None else None
        targets, per_case, runs = run_backtest(files, draws=draws, seed=seed, registry=reg)
        if figures is not None:
            from critmin.backtest.figures import case_figure

            for r in runs:
                name = "".join(c if c.isalnum() else "-" for c in r.case.name.lower())
                written = case_figure(r, figures / f"{name}.png")
                typer.echo(f"figure: {written}", err=True)
        if scores:
            emit(per_case[list(SCORE_COLUMNS)], fmt, title="backtest scores")
        elif fmt is Format.table:
            emit(targets[list(TABLE_COLUMNS)], fmt, title="backtest targets (error: ln(model "
                 "÷ observed) for ratios, model − observed otherwise)")
            emit(per_case[list(SCORE_COLUMNS[:-1])], fmt, title="scores (score = share of "
                 "scored targets within tolerance)")
            typer.echo(misses_text(targets))
        else:
            emit(targets[list(TARGET_COLUMNS)], fmt)

    @app.command()
    def calibrate(
        files: Files = None,
        out: Annotated[Path, typer.Option(
            "--out", help="Calibrated registry CSV to write (a JSON sidecar records the "
            "fit).")] = Path("registry-calibrated.csv"),
        seed: Annotated[int, typer.Option("--seed", help="Seed of the optimiser.")] = 0,
        parameters: Annotated[str | None, typer.Option(
            "--parameters", help="Comma-separated rows to fit: parameter names (their *|*|* "
            "row) or keys parameter|commodity|stage|region (default: the most influential "
            "shared rows).")] = None,
        top: Annotated[int, typer.Option("--top", min=1, help="How many rows to fit when "
                                         "--parameters is not given.")] = 4,
        maxiter: Annotated[int, typer.Option("--maxiter", min=1, help="Generations of "
                                             "differential evolution.")] = 10,
        popsize: Annotated[int, typer.Option("--popsize", min=1, help="Population per row "
                                             "fitted.")] = 6,
        fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
        overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace --out if it "
                                                "exists.")] = False,
    ) -> None:
        """Fit the registry's shared central values, inside their ranges, to the cases."""
        from critmin.backtest.calibrate import calibrate as run_calibrate
        from critmin.backtest.calibrate import write_registry
        from critmin.errors import CritminError

        if out.exists() and not overwrite:
            raise CritminError(f"{out} exists; choose another --out or pass --overwrite")
        names = [p.strip() for p in parameters.split(",") if p.strip()] if parameters else None
        cal = run_calibrate(files, seed=seed, parameters=names, top=top, maxiter=maxiter,
                            popsize=popsize)
        csv_path, sidecar = write_registry(cal, out)
        typer.echo(f"loss {cal.loss_before:.4g} -> {cal.loss_after:.4g} in {cal.evaluations} "
                   f"evaluations; wrote {csv_path} and {sidecar}", err=True)
        emit(cal.table(), fmt, title=f"calibrated rows (loss {cal.loss_before:.4g} → "
             f"{cal.loss_after:.4g}, seed {seed})")
