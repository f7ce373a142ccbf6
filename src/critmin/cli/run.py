"""`critmin run`: placeholder until the simulator lands."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach the top-level ``run`` command to the main app."""
