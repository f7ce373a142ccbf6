"""The ``critmin`` command: a thin typer app; every verb calls the library.

Sub-apps live one per module (``critmin.cli.data`` …) and import heavy libraries inside their
commands, so ``critmin --help`` stays fast. Any :class:`critmin.errors.CritminError` becomes one
line on stderr and exit code 1.
"""

from __future__ import annotations

import sys

import typer

from critmin.cli import analysis, backtest, data, menu, params, report, risk, run, scenario, serve

app = typer.Typer(
    name="critmin",
    help="critmin — critical-minerals supply-chain security lab: exposure, shocks, policy tools.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data.app, name="data")
app.add_typer(risk.app, name="risk")
app.add_typer(params.app, name="params")
app.add_typer(scenario.app, name="scenario")
run.register(app)
serve.register(app)
analysis.register(app)
report.register(app)
backtest.register(app)
menu.register(app)


def main() -> None:
    """Entry point: run the app, turning user errors into one line and exit code 1."""
    from critmin.errors import CritminError

    try:
        code = app(standalone_mode=False)  # typer returns 130 for Ctrl-C in this mode
        if isinstance(code, int) and code:
            sys.exit(code)
    except CritminError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(1)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as err:  # usage errors (typer's own click) carry their exit code
        from typer._click.exceptions import ClickException

        if isinstance(err, ClickException):
            err.show()
            sys.exit(err.exit_code)
        raise
