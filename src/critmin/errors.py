"""User-facing errors: one line that says what is wrong and what to do about it.

The CLI turns any :class:`CritminError` into that one line on stderr and a non-zero exit;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class CritminError(Exception):
    """An error the user can fix; ``str(err)`` is the one-line message shown by the CLI."""


class UnknownNameError(CritminError, KeyError):
    """A commodity, country, group or stage that is not in the dataset."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        self.kind, self.name = kind, name
        self.known = sorted(set(known))
        close = difflib.get_close_matches(name.lower(), [k.lower() for k in self.known], n=3)
        by_lower = {k.lower(): k for k in self.known}
        hint = (
            "did you mean " + ", ".join(repr(by_lower[c]) for c in close) + "?"
            if close
            else f"known: {', '.join(self.known[:12])}{', …' if len(self.known) > 12 else ''}"
        )
        super().__init__(f"unknown {kind} {name!r}: {hint}")

    def __str__(self) -> str:  # KeyError would add quotes
        return str(self.args[0])


class DataBuildError(CritminError):
    """A raw file could not be read; names the file and line."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")
        self.path, self.line = path, line
