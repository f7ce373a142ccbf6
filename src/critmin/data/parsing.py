"""Reading USGS cells and labels: the quirks listed in shared/data/raw/PROVENANCE.md.

``W`` withheld, ``NA``/``XX`` not available, dashes zero, thousands separators, ``>``/``<``
bounds on net import reliance, a trailing ``e`` for estimated, footnote digits glued to names,
qualitative reserves ("Large"). One function per quirk family, used by every reader.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple


class Cell(NamedTuple):
    """A parsed cell: ``value`` is NaN unless ``flag`` is reported, estimated or zero."""

    value: float
    flag: str
    bound: str | None = None  # '>' or '<' when USGS printed a bound such as ">95"
    text: str | None = None  # qualitative text kept for the note ("Large", "Small", …)


_ZERO = {"—", "–", "-", "--", "---", "0"}
_NOT_AVAILABLE = {"NA", "N/A", "XX", "..", "…", "(NA)"}
_QUALITATIVE = re.compile(
    r"^((very\s+)?(large|small|moderate|moderate to large|negligible)"
    r"|s|\d[\d,.]*\s*[-–]\s*\d[\d,.]*)$",
    re.I,
)  # "s" = included elsewhere / less than ½ unit; "330 - 390" = a published range
_NUMBER = re.compile(
    r"^(?P<bound>[<>]=?)?\s*(?P<num>[-+]?\d[\d,]*(\.\d+)?|[-+]?\.\d+)\s*(?P<est>e)?$"
)


def parse_cell(raw: object) -> Cell:
    """Parse one USGS value cell; raises ``ValueError`` on text it does not understand."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return Cell(math.nan, "not_available")
    if isinstance(raw, int | float):
        if not math.isfinite(float(raw)):
            raise ValueError(f"value {raw!r} is not a finite number")
        return Cell(float(raw), "zero" if raw == 0 else "reported")
    text = str(raw).strip().replace("\u00a0", " ")
    if text == "":
        return Cell(math.nan, "not_available")
    if text in _ZERO:
        return Cell(0.0, "zero")
    if text.upper() == "W":
        return Cell(math.nan, "withheld")
    if text == "E":  # net import reliance of a net exporter: 0 by definition
        return Cell(0.0, "zero", text="E (net exporter)")
    if text.upper() in _NOT_AVAILABLE:
        return Cell(math.nan, "not_available")
    if _QUALITATIVE.match(text):
        return Cell(math.nan, "not_available", text=text)
    m = _NUMBER.match(text)
    if m is None:
        raise ValueError(f"cannot parse value {text!r}")
    value = float(m["num"].replace(",", ""))
    if not math.isfinite(value):  # hundreds of digits: too large for a float, not data
        raise ValueError(f"value {text[:20]!r}… ({len(text)} characters) is not a finite number")
    bound = m["bound"][0] if m["bound"] else None
    if value == 0 and bound is None:
        return Cell(0.0, "zero")
    return Cell(value, "estimated" if m["est"] else "reported", bound)


_FOOTNOTE_TAIL = re.compile(r"[\s,]*\d+(,\d+)*\s*$")


def strip_footnotes(label: str) -> str:
    """Remove footnote digits glued to a label: ``'Other countries6'`` → ``'Other countries'``."""
    return _FOOTNOTE_TAIL.sub("", str(label).replace("\u00a0", " ").strip()).strip()
