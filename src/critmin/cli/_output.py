"""Printing tables: ``--format table|csv|json``. JSON and CSV go to stdout alone."""

from __future__ import annotations

import enum
import json
import math
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


class Format(enum.StrEnum):
    """Output formats every table command accepts."""

    table = "table"
    csv = "csv"
    json = "json"


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if hasattr(value, "item"):  # numpy scalar
        return _jsonable(value.item())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (NaN → null, numpy scalars → Python)."""
    return [{k: _jsonable(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def emit(frame: pd.DataFrame, fmt: Format, title: str | None = None) -> None:
    """Print a DataFrame as a rich table, CSV or a JSON array of objects."""
    if fmt is Format.json:
        json.dump(records(frame), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    elif fmt is Format.csv:
        frame.to_csv(sys.stdout, index=False)
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, show_lines=False)
        for col in frame.columns:
            numeric = frame[col].dtype.kind in "fiu"
            # fold rather than truncate: a narrow terminal wraps cells, it never hides digits
            table.add_column(str(col), justify="right" if numeric else "left", overflow="fold")
        for row in frame.itertuples(index=False):
            table.add_row(*(_cell(v) for v in row))
        Console(soft_wrap=False, width=max(120, Console().width)).print(table)


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return (
            f"{value:,.4g}"
            if abs(value) < 1
            else f"{value:,.0f}"
            if abs(value) >= 100
            else f"{value:,.2f}"
        )
    return str(value)
