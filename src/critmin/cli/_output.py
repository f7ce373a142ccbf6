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

        console = Console(soft_wrap=False, width=max(120, Console().width))
        cells = [[_cell(v) for v in row] for row in frame.itertuples(index=False)]
        console.print(_table(frame, cells, title, console.width))


#: Narrowest a text column may be squeezed to before the table is shown record by record.
_MIN_TEXT = 10
#: Up to this many rows, a table too wide for the terminal is shown with records as columns.
_MAX_RECORDS = 12


def _records_table(frame: pd.DataFrame, cells: list[list[str]], title: str | None) -> Any:
    """Fields down, records across: a few wide rows stay readable in a narrow terminal."""
    from rich.table import Table

    table = Table(title=title, show_lines=True)
    table.add_column("", style="bold", overflow="fold")
    for i in range(len(cells)):
        table.add_column(str(i + 1), overflow="fold")
    for j, col in enumerate(frame.columns):
        table.add_row(str(col), *(r[j] for r in cells))
    return table


def _table(frame: pd.DataFrame, cells: list[list[str]], title: str | None, width: int) -> Any:
    """A rich table whose numbers stay on one line where they fit; a few rows too wide for the
    terminal are shown record-wise instead, many rows fold."""
    from rich.table import Table

    numeric = [frame[c].dtype.kind in "fiu" for c in frame.columns]
    longest = [max([len(r[j]) for r in cells] + [1]) for j in range(len(frame.columns))]
    needed = sum(n if num else min(n, _MIN_TEXT) for n, num in zip(longest, numeric, strict=True))
    too_wide = needed + 3 * len(frame.columns) + 1 > width
    if too_wide and len(frame.columns) > 2 and len(cells) <= _MAX_RECORDS:
        return _records_table(frame, cells, title)
    table = Table(title=title)
    for j, col in enumerate(frame.columns):
        if numeric[j]:
            # min_width keeps every digit on one line (the header may fold)
            table.add_column(
                str(col),
                justify="right",
                overflow="fold",
                min_width=None if too_wide else longest[j],
            )
        else:
            table.add_column(str(col), overflow="fold", min_width=min(longest[j], _MIN_TEXT))
    for row in cells:
        table.add_row(*row)
    return table


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        if abs(value) >= 1e7:
            return f"{value:.3g}"  # 1.65e+09 reads better than 1,648,584,772 in a table
        if abs(value) < 1:
            return f"{value:,.4g}"
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    return str(value)
