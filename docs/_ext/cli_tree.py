"""The typer app as data: every command with its usage line, help text and parameters.

Shared by the CLI reference directive (``critmin_docs``) and ``tests/test_docs.py``, so the page
and the check that every option is documented read the same tree. Works on the command object
typer builds (``typer.main.get_command``), whether typer uses click itself or its vendored copy.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ParamDoc:
    """One argument or option as ``--help`` shows it."""

    name: str
    kind: str  # "argument" | "option"
    declaration: str  # e.g. "-f, --format <table|csv|json>"
    help: str  # the parameter's own help text ("" when missing)
    extra: str  # what the help screen appends: "[default: table]", "[required]"


@dataclass(frozen=True)
class CommandDoc:
    """One command or group of the app."""

    path: tuple[str, ...]  # ("critmin", "data", "show")
    usage: str
    help: str
    params: tuple[ParamDoc, ...]
    subcommands: tuple[str, ...]

    @property
    def name(self) -> str:
        return " ".join(self.path)

    @property
    def is_group(self) -> bool:
        return bool(self.subcommands)


def app_command(app: Any = None) -> Any:
    """The click-style command object of a typer app (critmin's by default)."""
    import typer

    if app is None:
        from critmin.cli import app
    return typer.main.get_command(app)


def walk(command: Any, name: str = "critmin", parent: Any = None) -> Iterator[CommandDoc]:
    """Every non-hidden command under ``command``, depth first, in registration order."""
    ctx = command.context_class(command, info_name=name, parent=parent)
    params = tuple(_param(p, ctx) for p in command.get_params(ctx)
                   if not getattr(p, "hidden", False) and p.name != "help")
    subs = {n: c for n, c in (getattr(command, "commands", None) or {}).items()
            if not getattr(c, "hidden", False)}
    path = (*parent.command_path.split(), name) if parent is not None else (name,)
    yield CommandDoc(
        path=path,
        usage=command.get_usage(ctx).removeprefix("Usage:").strip(),
        help=inspect.cleandoc(command.help or "").replace("\b\n", ""),
        params=params,
        subcommands=tuple(subs),
    )
    for sub_name, sub in subs.items():
        yield from walk(sub, sub_name, ctx)


def undocumented(commands: Iterator[CommandDoc] | list[CommandDoc]) -> list[str]:
    """``"critmin data show --year"``-style names of commands and parameters without help."""
    missing = []
    for cmd in commands:
        if not cmd.help.strip():
            missing.append(cmd.name)
        missing += [f"{cmd.name} {p.declaration.split()[0].rstrip(',')}"
                    for p in cmd.params if not p.help.strip()]
    return missing


def _param(param: Any, ctx: Any) -> ParamDoc:
    kind = "option" if param.opts[0].startswith("-") else "argument"
    record = param.get_help_record(ctx) or (param.name, "")
    own = (getattr(param, "help", None) or "").strip()
    shown = (record[1] or "").strip()
    extra = shown.removeprefix(own).strip() if shown.startswith(own) else ""
    return ParamDoc(name=str(param.name), kind=kind, declaration=record[0], help=own, extra=extra)
