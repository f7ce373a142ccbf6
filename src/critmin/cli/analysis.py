"""`critmin sweep | sensitivity | optimize | coalition`: analysis verbs over the library.

Thin on purpose: parse options, call :mod:`critmin.analysis`, print with ``--format``. Heavy
imports stay inside the commands. Progress bars go to stderr; JSON alone to stdout.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from critmin.cli._output import Format, emit


class ExecutorName(enum.StrEnum):
    local = "local"
    dask = "dask"


class Risk(enum.StrEnum):
    expected = "expected"
    cvar = "cvar"


class LossName(enum.StrEnum):
    gdp = "gdp"
    shortfall = "shortfall"


class SamplingName(enum.StrEnum):
    lhs = "lhs"
    sobol = "sobol"
    random = "random"


class SensitivityMethod(enum.StrEnum):
    morris = "morris"
    sobol = "sobol"


class Grouping(enum.StrEnum):
    parameter = "parameter"
    row = "row"


class Objective(enum.StrEnum):
    share = "share"
    non_china = "non-china"
    n_1 = "n-1"


class Aggregate(enum.StrEnum):
    mean = "mean"
    min = "min"


ExecutorOpt = Annotated[ExecutorName, typer.Option(
    "--executor", help="local process pool or a dask.distributed cluster.")]
SchedulerOpt = Annotated[str | None, typer.Option(
    "--scheduler", help="dask scheduler address tcp://HOST:PORT (default: a LocalCluster).")]
WorkersOpt = Annotated[int | None, typer.Option(
    "--workers", min=1, help="Worker processes (default: CPUs; LocalCluster: 2).")]
ChunksOpt = Annotated[int | None, typer.Option(
    "--chunks", min=1, help="Tasks to split the blocks into (default: one per block).")]
BlockOpt = Annotated[int, typer.Option(
    "--block-size", min=1, help="Draws simulated together (the unit of resuming).")]
ResumeOpt = Annotated[Path | None, typer.Option(
    "--resume", help="Folder keeping finished blocks; run again with it to continue.")]
FormatOpt = Annotated[Format, typer.Option("--format", help="Output format.")]


def _split(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _weights(text: str | None) -> dict[str, float]:
    from critmin.errors import CritminError

    out: dict[str, float] = {}
    for item in _split(text):
        name, sep, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise CritminError(f"--weights item {item!r}: allowed form COMMODITY[/STAGE]=NUMBER, "
                               "e.g. rare-earths=2,cobalt=1")
    return out


class _Store:
    """The block folder: ``--resume DIR``, or a temporary one kept only if interrupted."""

    def __init__(self, resume: Path | None, prefix: str) -> None:
        import tempfile

        self.temporary = resume is None
        self.path = Path(tempfile.mkdtemp(prefix=prefix)) if resume is None else resume

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        import shutil

        from critmin.run import Interrupted

        if self.temporary and (kind is None or not issubclass(kind, Interrupted)):
            shutil.rmtree(self.path, ignore_errors=True)


def register(app: typer.Typer) -> None:
    """Attach ``sweep``, ``sensitivity``, ``optimize`` and ``coalition`` to the main app."""

    @app.command()
    def sweep(
        file: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
        draws: Annotated[int | None, typer.Option(
            "--draws", min=1, help="Monte Carlo draws (default: the scenario's).")] = None,
        seed: Annotated[int | None, typer.Option(
            "--seed", min=0, help="Seed (default: the scenario's).")] = None,
        method: Annotated[SamplingName | None, typer.Option(
            "--method", help="Sampling of the registry ranges (default: the scenario's).")
        ] = None,
        executor: ExecutorOpt = ExecutorName.local,
        scheduler: SchedulerOpt = None,
        workers: WorkersOpt = None,
        chunks: ChunksOpt = None,
        block_size: BlockOpt = 256,
        resume: ResumeOpt = None,
        threshold: Annotated[float, typer.Option(
            "--threshold", min=0.0,
            help="Report P(shortfall share > this); a reporting choice.")] = 0.05,
        alpha: Annotated[float, typer.Option(
            "--alpha", min=0.0, max=0.999, help="CVaR level.")] = 0.95,
        out: Annotated[Path | None, typer.Option(
            "--out", help="Also write the per-draw outcomes (.nc or .parquet).")] = None,
        fmt: FormatOpt = Format.table,
    ) -> None:
        """Run FILE over many parameter draws; print mean, quantiles, CVaR and P(shortfall)."""
        from critmin.analysis.sweep import sweep as run_sweep
        from critmin.errors import CritminError
        from critmin.scenario.model import load_scenario

        if out is not None and out.suffix.lower() not in (".nc", ".parquet"):
            raise CritminError(f"{out}: --out must end in .nc or .parquet")
        scenario = load_scenario(file)
        with _Store(resume, "critmin-sweep-") as store:
            result = run_sweep(scenario, draws, seed, method.value if method else None,
                               executor=executor.value, scheduler=scheduler, workers=workers,
                               chunks=chunks, block_size=block_size, store=store,
                               progress=True)
        if result.loaded_blocks:
            typer.echo(f"resumed: {result.loaded_blocks} block(s) loaded, "
                       f"{result.computed_blocks} computed", err=True)
        if out is not None:
            _write_outcomes(result.outcomes, out)
        attrs = result.outcomes.attrs
        table = result.risk({"shortfall_share": threshold}, alpha)
        emit(table, fmt, title=f"{scenario.name}: {attrs['draws']} draws ({attrs['method']}, "
                               f"seed {attrs['seed']})")

    @app.command()
    def sensitivity(
        file: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
        method: Annotated[SensitivityMethod, typer.Option(
            "--method", help="morris (screening, small budgets) or sobol (variance shares).")
        ] = SensitivityMethod.morris,
        samples: Annotated[int | None, typer.Option(
            "--samples", min=1, help="Morris trajectories (default 10) or Sobol base samples, "
                                     "a power of two (default 64).")] = None,
        seed: Annotated[int | None, typer.Option(
            "--seed", min=0, help="Seed of the design (default: the scenario's).")] = None,
        by: Annotated[Grouping, typer.Option(
            "--by", help="One factor per parameter name or per registry row.")
        ] = Grouping.parameter,
        outcome: Annotated[str, typer.Option(
            "--outcome", help="Outcomes, comma-separated.")
        ] = "peak_price_multiple,cumulative_shortfall_t",
        stage: Annotated[str | None, typer.Option(
            "--stage", help="Stage label, e.g. rare-earths/separated (default: hardest hit).")
        ] = None,
        bloc: Annotated[str | None, typer.Option(
            "--bloc", help="Bloc (default: hardest hit).")] = None,
        top: Annotated[int, typer.Option("--top", min=1, help="Factors shown per outcome.")
                       ] = 10,
        chart: Annotated[Path | None, typer.Option(
            "--chart", help="Write a tornado chart (.svg, .png or .pdf).")] = None,
        executor: ExecutorOpt = ExecutorName.local,
        scheduler: SchedulerOpt = None,
        workers: WorkersOpt = None,
        resume: ResumeOpt = None,
        fmt: FormatOpt = Format.table,
    ) -> None:
        """Which parameters drive peak price and shortfall in FILE (SALib indices)."""
        from critmin.analysis.sensitivity import plot_tornado
        from critmin.analysis.sensitivity import sensitivity as run_sensitivity
        from critmin.scenario.model import load_scenario

        scenario = load_scenario(file)
        with _Store(resume, "critmin-sensitivity-") as store:
            result = run_sensitivity(scenario, method.value, samples, seed, by=by.value,
                                     outcomes=_split(outcome), stage=stage, bloc=bloc,
                                     executor=executor.value, scheduler=scheduler,
                                     workers=workers, store=store, progress=True)
        if chart is not None:
            targets = result.indices[["outcome", "stage", "bloc"]].drop_duplicates()
            frames = {f"{o} — {s}, {b}": result.tornado(o, s, b)
                      for o, s, b in targets.itertuples(index=False)}
            plot_tornado(frames, chart, top=top, title=f"{scenario.name}: {method.value}")
            typer.echo(f"tornado chart written to {chart}", err=True)
        emit(result.top(top), fmt, title=f"{scenario.name}: {method.value}, "
                                         f"{len(result.x)} runs")

    @app.command()
    def optimize(
        file: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
        budget: Annotated[float, typer.Option("--budget", help="Fiscal budget, USD.")],
        objective: Annotated[Risk, typer.Option(
            "--objective", help="expected (loss + fiscal cost) or cvar (tail loss).")
        ] = Risk.expected,
        draws: Annotated[int | None, typer.Option(
            "--draws", min=1, help="Parameter draws per candidate (default: the file's).")
        ] = None,
        loss: Annotated[LossName, typer.Option(
            "--loss", help="gdp (GDP at risk, USD) or shortfall (t) of the focus blocs.")
        ] = LossName.gdp,
        batch: Annotated[int, typer.Option("--batch", min=2, help="Candidates per run.")] = 8,
        rounds: Annotated[int, typer.Option("--rounds", min=0, help="Search rounds.")] = 4,
        seed: Annotated[int, typer.Option("--seed", help="Search seed.")] = 0,
        fmt: FormatOpt = Format.table,
    ) -> None:
        """Best sizes of the scenario's policy tools within --budget, and a cost-risk frontier."""
        from critmin.analysis.optimize import size_policies
        from critmin.errors import CritminError

        if budget < 0:
            raise CritminError(f"--budget must be zero or more USD (got {budget:g})")
        sizing = size_policies(str(file), budget, risk=objective.value,  # type: ignore[arg-type]
                               draws=draws, loss=loss.value,  # type: ignore[arg-type]
                               batch=batch, rounds=rounds, seed=seed)
        best = sizing.optimum
        emit(sizing.table, fmt, title=f"{file.name}: {objective.value} {loss.value} loss within "
                                      f"{budget:,.0f} USD, {best.evaluations} candidates")

    @app.command()
    def coalition(
        commodities: Annotated[str, typer.Option(
            "--commodities", help="Commodities, comma-separated (COMMODITY[:STAGE]).")],
        add: Annotated[int, typer.Option("--add", min=1, help="How many countries to add.")],
        stage: Annotated[str, typer.Option("--stage", help="Stage for every commodity.")
                         ] = "mine",
        group: Annotated[str, typer.Option("--group", help="The group to extend.")
                         ] = "trade-club",
        on: Annotated[str | None, typer.Option(
            "--on", help="Membership date YYYY-MM-DD (default: today).")] = None,
        year: Annotated[int | None, typer.Option(
            "--year", help="Data year (default: each market's latest).")] = None,
        exclude: Annotated[str, typer.Option(
            "--exclude", help="ISO3 codes that may not join, comma-separated ('' for none).")
        ] = "CHN",
        objective: Annotated[Objective, typer.Option(
            "--objective", help="share | non-china | n-1 (share kept without the largest).")
        ] = Objective.share,
        aggregate: Annotated[Aggregate, typer.Option(
            "--aggregate", help="Combine markets by weighted mean or the worst one.")
        ] = Aggregate.mean,
        weights: Annotated[str | None, typer.Option(
            "--weights", help="Market weights, e.g. rare-earths=2,cobalt=1 (default equal).")
        ] = None,
        fmt: FormatOpt = Format.table,
    ) -> None:
        """Which countries to add to a group: integer program (HiGHS) beside greedy."""
        from critmin.analysis.coalition import design_coalition

        design = design_coalition(_split(commodities), add, stage=stage, group=group, on=on,
                                  year=year, exclude=_split(exclude),
                                  objective=objective.value,  # type: ignore[arg-type]
                                  aggregate=aggregate.value,  # type: ignore[arg-type]
                                  weights=_weights(weights))
        p = design.problem
        emit(design.table(), fmt,
             title=f"{group} ({','.join(p.members)}) + {add}: {objective.value}, "
                   f"{aggregate.value} over {len(p.markets)} market(s)")


def _write_outcomes(outcomes: object, out: Path) -> None:
    import xarray as xr

    assert isinstance(outcomes, xr.Dataset)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".nc":
        outcomes.to_netcdf(out, engine="h5netcdf")
    else:
        outcomes.to_dataframe().reset_index().to_parquet(out, index=False)
    typer.echo(f"per-draw outcomes written to {out}", err=True)
