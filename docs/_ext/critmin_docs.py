"""Sphinx directives that render critmin's own code and data, so the docs cannot drift from them.

Each directive reads the thing it documents at build time: the typer app, the parameter
registry, the curated tables and their manifest and build report, the group files, the scenario
JSON Schema, the package's modules, or the output of a real CLI run. A directive that cannot
read its source reports an error, which ``sphinx-build -W`` turns into a failed build.
"""

from __future__ import annotations

import contextlib
import csv
import importlib
import importlib.util
import io
import json
import pkgutil
import re
import shlex
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import cli_tree
import schema_fields
from docutils import nodes
from docutils.parsers.rst import directives
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective
from sphinx.util.parsing import nested_parse_to_nodes

Cell = str | nodes.Node | Sequence[nodes.Node]

REPO = Path(__file__).resolve().parents[2]

_URL = re.compile(r"https?://[^\s<>\"',;|]+[^\s<>\"',;|.)\]]")
_URL_TEXT = 48  # longest URL shown in full inside a table cell
_CODE = re.compile(r"``(.+?)``|`([^`\s][^`]*)`")


# --------------------------------------------------------------------------- node helpers


def inline(text: str) -> list[nodes.Node]:
    """Text with back-quoted spans (double or single quotes) as literals and http(s) URLs as
    links, long ones shortened."""
    out: list[nodes.Node] = []
    pos = 0
    for match in _CODE.finditer(text):
        out += _linked(text[pos:match.start()])
        out.append(code(match.group(1) or match.group(2)))
        pos = match.end()
    out += _linked(text[pos:])
    return [n for n in out if not (isinstance(n, nodes.Text) and not str(n))]


def _linked(text: str) -> list[nodes.Node]:
    out: list[nodes.Node] = []
    pos = 0
    for match in _URL.finditer(text):
        out.append(nodes.Text(text[pos:match.start()]))
        url = match.group(0)
        shown = url if len(url) <= _URL_TEXT else url[: _URL_TEXT - 1] + "…"
        out.append(nodes.reference(shown, shown, refuri=url))
        pos = match.end()
    out.append(nodes.Text(text[pos:]))
    return out


def code(text: str) -> nodes.literal:
    return nodes.literal(text, text)


def para(content: Cell) -> nodes.paragraph:
    if isinstance(content, str):
        return nodes.paragraph("", "", *inline(content))
    if isinstance(content, nodes.Node):
        return content if isinstance(content, nodes.paragraph) else nodes.paragraph("", "", content)
    return nodes.paragraph("", "", *content)


def table(headers: Sequence[str], rows: Iterable[Sequence[Cell]], classes: Sequence[str] = (),
          ) -> nodes.table:
    """A docutils table: header row plus body rows of text (URLs linked) or nodes."""
    node = nodes.table(classes=["critmin-table", "colwidths-auto", *classes])
    group = nodes.tgroup(cols=len(headers))
    node += group
    for _ in headers:
        group += nodes.colspec(colwidth=1)
    head = nodes.thead()
    group += head
    head += _row(headers)
    body = nodes.tbody()
    group += body
    count = 0
    for row in rows:
        body += _row(row)
        count += 1
    if not count:  # docutils needs one body row
        body += _row(["–"] * len(headers))
    return node


def _row(cells: Sequence[Cell]) -> nodes.row:
    row = nodes.row()
    for cell in cells:
        entry = nodes.entry()
        entry += para(cell)
        row += entry
    return row


def section(directive: SphinxDirective, title: str, key: str | None = None) -> nodes.section:
    """A section with an id (``key`` or the title) registered as a link target."""
    ident = nodes.make_id(key or title)
    sec = nodes.section(ids=[ident], names=[nodes.fully_normalize_name(key or title)])
    sec += nodes.title(title, title)
    directive.state.document.note_implicit_target(sec, sec)
    return sec


def field_list(items: Iterable[tuple[str, Cell]]) -> nodes.field_list:
    out = nodes.field_list()
    for name, value in items:
        field = nodes.field()
        field += nodes.field_name(name, name)
        body = nodes.field_body()
        body += para(value)
        field += body
        out += field
    return out


def text_block(text: str, language: str = "text") -> nodes.literal_block:
    block = nodes.literal_block(text, text)
    block["language"] = language
    return block


def _depends(directive: SphinxDirective, *paths: Path) -> None:
    """Rebuild the page when a file it renders changes."""
    for path in paths:
        directive.env.note_dependency(str(path))


# --------------------------------------------------------------------------- CLI


class CliDirective(SphinxDirective):
    """Every command of the typer app: usage, help, and a table of its arguments and options."""

    def run(self) -> list[nodes.Node]:
        import critmin.cli

        _depends(self, *Path(critmin.cli.__file__).parent.glob("*.py"))
        out: list[nodes.Node] = []
        parents: dict[tuple[str, ...], nodes.Element] = {}
        for cmd in cli_tree.walk(cli_tree.app_command()):
            if len(cmd.path) == 1:  # the root: its help and usage; its commands are top sections
                out += [para(cmd.help), text_block(cmd.usage, "console")]
                continue
            sec = section(self, cmd.name, "cli-" + "-".join(cmd.path[1:]))
            sec += [para(p) for p in cmd.help.split("\n\n") if p.strip()]
            sec += text_block(cmd.usage, "console")
            if cmd.params:
                sec += table(["argument / option", "description"],
                             ([code(p.declaration), _param_text(p)] for p in cmd.params))
            if cmd.subcommands:
                sec += para([nodes.Text("Commands: "), *_joined(
                    code(f"{cmd.name} {s}") for s in cmd.subcommands)])
            if len(cmd.path) == 2:
                out.append(sec)
            else:
                parents[cmd.path[:-1]] += sec
            parents[cmd.path] = sec
        return out


def _param_text(param: cli_tree.ParamDoc) -> list[nodes.Node]:
    text = [nodes.Text(param.help)]
    if param.extra:
        text += [nodes.Text(" "), nodes.emphasis(param.extra, param.extra)]
    return text


def _joined(items: Iterable[nodes.Node], sep: str = ", ") -> list[nodes.Node]:
    out: list[nodes.Node] = []
    for i, item in enumerate(items):
        if i:
            out.append(nodes.Text(sep))
        out.append(item)
    return out


class CommandOutputDirective(SphinxDirective):
    """Run a ``critmin …`` command in-process and show it with its real output.

    ``:table:`` parses CSV output (the command must say ``--format csv``) into a table;
    ``:max-rows:`` keeps the first rows (the command line is still shown whole);
    ``:expect-error:`` shows the one-line error of a command that must fail with a
    :class:`critmin.errors.CritminError`. Commands run from the repository root.
    """

    required_arguments = 1
    final_argument_whitespace = True
    option_spec: ClassVar[dict[str, Any]] = {
        "table": directives.flag,
        "max-rows": directives.positive_int,
        "columns": directives.unchanged,
        "expect-error": directives.flag,
    }

    def run(self) -> list[nodes.Node]:
        from typer.testing import CliRunner

        from critmin.cli import app
        from critmin.errors import CritminError

        line = self.arguments[0]
        args = shlex.split(line)
        if args[:1] != ["critmin"]:
            raise self.error(f"critmin-output: command must start with 'critmin': {line}")
        with contextlib.chdir(REPO):
            result = CliRunner().invoke(app, args[1:])
        shown = text_block(f"$ {line}", "console")
        if "expect-error" in self.options:
            if not isinstance(result.exception, CritminError):
                raise self.error(f"critmin-output: `{line}` was expected to fail with a "
                                 f"CritminError, got exit {result.exit_code}: {result.exception}")
            return [shown, text_block(f"error: {result.exception}")]
        if result.exit_code != 0 or result.exception is not None:
            why = result.exception or result.output.strip().splitlines()[-1:]
            raise self.error(f"critmin-output: `{line}` failed (exit {result.exit_code}): {why}")
        limit = self.options.get("max-rows")
        if "table" in self.options:
            rows = list(csv.reader(io.StringIO(result.stdout)))
            header, body = rows[0], rows[1:]
            wanted = self.options["columns"].split() if "columns" in self.options else header
            unknown = [c for c in wanted if c not in header]
            if unknown:
                raise self.error(f"critmin-output: no column {', '.join(unknown)} in the output "
                                 f"of `{line}`; columns: {', '.join(header)}")
            keep = [header.index(c) for c in wanted]
            cut = body[:limit] if limit else body
            note = [para(f"({len(body) - len(cut)} more rows not shown)")] if len(cut) < len(
                body) else []
            return [shown, table([header[i] for i in keep],
                                 ([_number(r[i]) for i in keep] for r in cut)), *note]
        lines = result.stdout.rstrip("\n").splitlines()
        cut_lines = lines[:limit] if limit else lines
        if len(cut_lines) < len(lines):
            cut_lines.append(f"… ({len(lines) - len(cut_lines)} more lines)")
        return [shown, text_block("\n".join(cut_lines))]


def _number(cell: str) -> str:
    """Floats for reading: thousands separators, four significant digits (integers and text,
    such as years, are left as they are; the CSV keeps full precision)."""
    if not re.fullmatch(r"-?\d+\.\d+(e-?\d+)?", cell):
        return cell
    value = float(cell)
    if value.is_integer():
        return f"{value:,.0f}"
    return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"


# --------------------------------------------------------------------------- parameters


class RegistryDirective(SphinxDirective):
    """The parameter registry, one section per commodity (``*`` rows first): value, range,
    unit, source and note of every row, as the engine reads them."""

    def run(self) -> list[nodes.Node]:
        from critmin.params import load_registry
        from critmin.params.registry import DEFAULT_PATH

        _depends(self, DEFAULT_PATH)
        reg = load_registry()
        t = reg.table.assign(line=list(reg.lines))
        out: list[nodes.Node] = [para(
            f"Registry version {reg.version}: {len(t)} rows, "
            f"{int(t.source.eq('assumption').sum())} of them marked assumption.")]
        for commodity in ["*", *reg.commodities]:
            rows = t[t.commodity == commodity]
            title = "All commodities (*)" if commodity == "*" else commodity
            sec = section(self, title, f"registry-{commodity if commodity != '*' else 'all'}")
            sec += table(
                ["parameter", "stage · region", "value [low, high]", "unit", "source", "note",
                 "line"],
                ([code(r.parameter), f"{r.stage} · {r.region}",
                  f"{r.value:g} [{r.low:g}, {r.high:g}]", r.unit, r.source, r.note, str(r.line)]
                 for r in rows.itertuples()),
                classes=["critmin-wide"],
            )
            out.append(sec)
        return out


class ParameterSpecsDirective(SphinxDirective):
    """What each registry parameter means and the values it may take."""

    def run(self) -> list[nodes.Node]:
        from critmin.params import load_registry, parameter_table

        frame = parameter_table(load_registry())
        return [table(["parameter", "meaning", "allowed", "rows", "commodities"],
                      ([code(r.parameter), r.description, r.allowed, str(r.rows),
                        r.commodities.replace(",", ", ")] for r in frame.itertuples()))]


class MetricParametersDirective(SphinxDirective):
    """The EU/USGS method parameters (``critmin/metrics/eu_parameters.csv``) with sources."""

    def run(self) -> list[nodes.Node]:
        import pandas as pd

        from critmin.metrics.parameters import DEFAULT_PATH

        _depends(self, DEFAULT_PATH)
        frame = pd.read_csv(DEFAULT_PATH, comment="#", dtype=str).fillna("")
        return [table(["commodity", "parameter", "value", "low – high", "unit", "since",
                       "source", "note"],
                      ([r.commodity, code(r.parameter), r.value or "(not known)",
                        f"{r.low} – {r.high}" if r.low or r.high else "", r.unit, r.since,
                        r.source, r.note] for r in frame.itertuples()),
                      classes=["critmin-wide"])]


# --------------------------------------------------------------------------- curated data


def _curated_dir() -> Path:
    from critmin.data import store

    return store.data_dir()


class TablesDirective(SphinxDirective):
    """Each curated table: what it holds (from ``critmin.data.schema``), its columns with their
    Parquet types, and its row count in the shipped build."""

    def run(self) -> list[nodes.Node]:
        import pyarrow.parquet as pq
        from sphinx.pycode import ModuleAnalyzer

        from critmin.data import schema

        _depends(self, Path(schema.__file__), _curated_dir() / "manifest.json")
        docs = ModuleAnalyzer.for_module(schema.__name__).find_attr_docs()
        constant = {id(v): k for k, v in vars(schema).items() if k.endswith("COLUMNS")}
        counts = json.loads((_curated_dir() / "manifest.json").read_text())["counts"]
        out: list[nodes.Node] = []
        for name, columns in schema.TABLES.items():
            sec = section(self, name, f"table-{name}")
            var = constant[id(columns)]
            comment = " ".join(docs.get(("", var), [])).strip()
            if comment:
                sec += para(comment)
            parquet = pq.read_schema(_curated_dir() / f"{name}.parquet")
            types = {f.name: str(f.type) for f in parquet}
            target = f"critmin.data.schema.{var}"
            ref = addnodes.pending_xref("", code(target), refdomain="py", reftype="data",
                                        reftarget=target, refwarn=True)
            sec += para([nodes.Text(f"{counts.get(name, 0):,} rows; columns in "), ref,
                         nodes.Text(":")])
            sec += table(["column", "Parquet type"],
                         ([code(c), types.get(c, "(missing!)")] for c in columns))
            out.append(sec)
        return out


class SourcesDirective(SphinxDirective):
    """``critmin.data.sources()``: source, editions, licence, citation and raw files per table."""

    def run(self) -> list[nodes.Node]:
        from critmin import data

        _depends(self, _curated_dir() / "sources.parquet")
        out: list[nodes.Node] = [para(f"Data edition: {data.data_edition()}")]
        for row in data.sources().itertuples():
            sec = section(self, row.table, f"source-{row.table}")
            sec += field_list([("source", row.source), ("editions", row.editions),
                               ("licence", row.licence)])
            cites = nodes.bullet_list()
            for part in str(row.citation).split(" | "):
                cites += nodes.list_item("", para(part))
            sec += nodes.rubric("", "Citation")
            sec += cites
            files = nodes.bullet_list()
            for part in str(row.files).split("; "):
                files += nodes.list_item("", para(code(part)))
            sec += nodes.rubric("", "Raw files")
            sec += files
            out.append(sec)
        return out


class GroupsDirective(SphinxDirective):
    """Every shipped country group: title, description, and each membership spell with its
    dates, status and source."""

    def run(self) -> list[nodes.Node]:
        from critmin import data
        from critmin.data.country_groups import GROUPS_DIR, shipped_groups

        _depends(self, *GROUPS_DIR.glob("*.yaml"))
        names = data.countries().set_index("iso3")["name"]
        out: list[nodes.Node] = []
        for group in shipped_groups():
            sec = section(self, f"{group['title']} ({group['name']})", f"group-{group['name']}")
            sec += para(group["description"])
            sec += field_list([("file", code(f"critmin/data/groups/{group['name']}.yaml")),
                               ("spells", str(len(group["members"])))])
            sec += table(["iso3", "country", "since", "until", "status", "source"],
                         ([code(m["iso3"]), str(names.get(m["iso3"], "")), m["since"],
                           m["until"] or "(member)", m["status"], m["source"]]
                          for m in group["members"]), classes=["critmin-dates"])
            out.append(sec)
        return out


#: What each kind of build-report entry means, read off the readers that write them
#: (``critmin.data.build``, ``usgs_mcs2026``, ``usgs_mcs_legacy``, ``governance``); a kind not
#: listed here is still shown, with its count and first message.
REPORT_KINDS = {
    "unit_conversion": "raw columns converted to the commodity's declared unit (factor given)",
    "header_fixed": "a raw column header read under a corrected name (reason given)",
    "unparsed_value": "a cell that is not a number; kept with flag not_available",
    "skipped_value": "a cell not loaded: reserves of another series, or an empty cell that "
                     "repeats a key which has a value elsewhere",
    "world_total_mismatch": "country rows that do not add up to the published world total "
                            "within the build's tolerance",
    "wgi_missing": "a country with missing WGI estimates ('..') in some years; kept as NaN",
    "numeric_note": "a notes cell holding a bare number; not used as a note",
    "unnamed_column": "a raw column with values but no header; ignored",
    "wrong_layout": "a raw file whose header is not the expected table layout; skipped",
    "skipped_file": "a raw file not loaded (no per-commodity data, or no table in it)",
    "skipped_row": "a raw row not loaded (reason given)",
    "unmapped_name": "a country name that could not be mapped to ISO3",
}


class BuildReportDirective(SphinxDirective):
    """The shipped build's manifest and its discrepancy report, counted by kind, each kind with
    its first example (file, line, message)."""

    option_spec: ClassVar[dict[str, Any]] = {"examples": directives.flag}

    def run(self) -> list[nodes.Node]:
        folder = _curated_dir()
        _depends(self, folder / "build_report.json", folder / "manifest.json")
        manifest = json.loads((folder / "manifest.json").read_text())
        report = json.loads((folder / "build_report.json").read_text())
        kinds: dict[str, list[dict[str, Any]]] = {}
        for item in report:
            kinds.setdefault(item["kind"], []).append(item)
        folders: dict[str, int] = {}
        for path in manifest["raw_files"]:
            top = path.split("/")[0]
            folders[top] = folders.get(top, 0) + 1
        out: list[nodes.Node] = [field_list([
            ("data edition", manifest["data_edition"]),
            ("raw files", f"{len(manifest['raw_files'])} (SHA-256 of each in manifest.json): "
                          + ", ".join(f"{k}/ {v}" for k, v in sorted(folders.items()))),
            ("rows", ", ".join(f"{k} {v:,}" for k, v in manifest["counts"].items())),
            ("report entries", f"{len(report):,}"),
        ])]
        ordered = sorted(kinds.items(), key=lambda kv: -len(kv[1]))
        rows = []
        for kind, items in ordered:
            first = items[0]
            row: list[Cell] = [code(kind), str(len(items)), REPORT_KINDS.get(kind, "")]
            if "examples" in self.options:
                row.append([code(f"{first['file']}:{first.get('line') or ''}"),
                            nodes.Text(" — " + str(first["message"]))])
            rows.append(row)
        headers = ["kind", "entries", "meaning"] + (["first example"] if "examples" in
                                                    self.options else [])
        out.append(table(headers, rows, classes=["critmin-wide"]))
        return out


class ConstantDirective(SphinxDirective):
    """A module constant of critmin rendered as a table: a dict as key/value rows, a sequence
    as one row per item. The argument is the dotted name (``critmin.data.schema.AGGREGATES``)."""

    required_arguments = 1
    option_spec: ClassVar[dict[str, Any]] = {"headers": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        module_name, _, attr = name.rpartition(".")
        value = getattr(importlib.import_module(module_name), attr)
        headers = (self.options.get("headers") or "key value").split()
        if isinstance(value, dict):
            rows = ([code(str(k)), str(v)] for k, v in value.items())
        else:
            headers = headers[:1]
            rows = ([code(str(v))] for v in value)
        return [table(headers, rows)]


class ChainsDirective(SphinxDirective):
    """The supply chains the engine simulates (``critmin.engine.chains.CHAINS``)."""

    def run(self) -> list[nodes.Node]:
        if importlib.util.find_spec("critmin.engine.chains") is None:
            return [para("The chains are not in this build of critmin yet.")]
        from critmin.engine.chains import CHAINS

        return [table(["commodity", "stages (upstream → downstream)", "by-product of"],
                      ([code(c.commodity), " → ".join(c.stages),
                        " ".join(c.host) if c.host else ""] for c in CHAINS.values()))]


class CommoditiesDirective(SphinxDirective):
    """The commodity catalog (``critmin.data.commodities()``); ``:critical:`` keeps the 2025 US
    critical minerals only."""

    option_spec: ClassVar[dict[str, Any]] = {"critical": directives.flag}

    def run(self) -> list[nodes.Node]:
        from critmin import data

        frame = data.commodities()
        if "critical" in self.options:
            frame = frame[frame.critical_2025.astype(bool)]
        return [para(f"{len(frame)} commodities."),
                table(["commodity", "USGS label", "stages", "unit", "basis"],
                      ([code(r.commodity), r.usgs_label, r.stages.replace(",", ", "), r.unit,
                        r.basis] for r in frame.itertuples()))]


# --------------------------------------------------------------------------- scenario schema


class ScenarioSchemaDirective(SphinxDirective):
    """Every model and field of the scenario JSON Schema (``critmin scenario schema``).

    With an argument ``module:Model`` it renders that pydantic model instead (a backtest case
    …); ``:models:`` keeps only the named models (a reference to another one stays plain text).
    """

    optional_arguments = 1
    option_spec: ClassVar[dict[str, Any]] = {"models": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        if self.arguments:
            return self._render(self.arguments[0])
        if importlib.util.find_spec("critmin.scenario.model") is None:
            note = nodes.admonition(classes=["warning"])
            note += nodes.title("", "Not yet available")
            note += para([nodes.Text("The scenario model "), code("critmin.scenario.model"),
                          nodes.Text(" is not in this build of critmin yet; this page will list "
                                     "every field of its JSON Schema once it lands.")])
            return [note]
        return self._render("critmin.scenario.model:Scenario")

    def _render(self, target: str) -> list[nodes.Node]:
        module_name, _, model_name = target.partition(":")
        try:
            module = importlib.import_module(module_name)
            model_class = getattr(module, model_name)
        except (ImportError, AttributeError) as err:
            raise self.error(f"critmin-scenario-schema: cannot import {target}: {err}") from None
        _depends(self, Path(str(module.__file__)))
        schema = model_class.model_json_schema()
        wanted = set((self.options.get("models") or "").split())
        out: list[nodes.Node] = []
        for model in schema_fields.models(schema):
            if wanted and model.name not in wanted:
                continue
            sec = section(self, model.name, f"schema-{model.name}")
            if model.description:
                sec += [para(p) for p in model.description.split("\n\n")]
            sec += table(["field", "type", "required / default", "constraints", "description"],
                         ([code(f.name), self._type(f.type, wanted),
                           "required" if f.required else (f.default or "optional"),
                           f.constraints, f.description] for f in model.fields))
            out.append(sec)
        return out

    @staticmethod
    def _type(pieces: Sequence[str | schema_fields.Ref], wanted: set[str]) -> list[nodes.Node]:
        out: list[nodes.Node] = []
        for piece in pieces:
            if isinstance(piece, schema_fields.Ref):
                ref = nodes.reference(piece.model, piece.model,
                                      refid=nodes.make_id(f"schema-{piece.model}"))
                out.append(ref if not wanted or piece.model in wanted
                           else nodes.Text(piece.model))
            else:
                out.append(nodes.Text(piece))
        return out


# --------------------------------------------------------------------------- API and status


class ApiDirective(SphinxDirective):
    """autodoc for a package and each of its public modules (found, not listed by hand).

    A package that is not there yet gets a note; a module that fails to import fails the build.
    """

    required_arguments = 1
    option_spec: ClassVar[dict[str, Any]] = {"exclude": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        if importlib.util.find_spec(name) is None:
            return [para([code(name), nodes.Text(" is not in this build of critmin yet.")])]
        package = importlib.import_module(name)
        exclude = set((self.options.get("exclude") or "").split())
        submodules = sorted(m.name for m in pkgutil.iter_modules(getattr(package, "__path__", []))
                            if not m.name.startswith("_") and m.name not in exclude)
        out: list[nodes.Node] = []
        if not hasattr(package, "__path__"):  # a plain module: all of it
            return nested_parse_to_nodes(self.state, _automodule(name),
                                         allow_section_headings=False)
        if getattr(package, "__file__", None):  # a regular package: its own public API first
            out += nested_parse_to_nodes(self.state, _package_rst(package, submodules),
                                         allow_section_headings=False)
        for sub in submodules:
            full = f"{name}.{sub}"
            sec = section(self, full, f"api-{full}")
            sec += nested_parse_to_nodes(self.state, _automodule(full),
                                         allow_section_headings=False)
            out.append(sec)
        return out


def _package_rst(package: Any, submodules: Sequence[str]) -> str:
    """The package's public names (``__all__``): its own objects indexed under the package,
    re-exported ones shown here unindexed (their home module's entry is the link target, so a
    name never has two), and a function named like a submodule (``critmin.metrics.coverage``)
    unindexed too, the module keeping the name."""
    name = package.__name__
    public = list(getattr(package, "__all__", ()))
    own = [n for n in public if getattr(getattr(package, n), "__module__", name) == name
           and n not in submodules]
    text = _automodule(name, members=own)
    for member in public:
        if member in own:
            continue
        obj = getattr(package, member)
        kind = ("autoclass" if isinstance(obj, type) else
                "autofunction" if callable(obj) else "autodata")
        text += f"\n.. {kind}:: {name}::{member}\n   :no-index:\n"
    return text


def _automodule(name: str, members: Sequence[str] | None = None) -> str:
    """An automodule directive: all public members, or only ``members`` (none if empty)."""
    lines = [f".. automodule:: {name}", "   :show-inheritance:"]
    if members is None:
        lines.append("   :members:")
    elif members:
        lines.append(f"   :members: {', '.join(members)}")
    return "\n".join(lines) + "\n"


def factory_defaults(app: Sphinx, what: str, name: str, obj: Any, options: Any,
                     signature: str | None, return_annotation: str | None
                     ) -> tuple[str | None, str | None]:
    """Dataclass fields with ``default_factory`` show as ``=<factory>``, which is not Python and
    makes Sphinx split the signature on every comma; show ``=...`` instead."""
    if signature:
        signature = re.sub(r"=\s*<factory>", "=...", signature)
    return signature, return_annotation


class ModuleStatusDirective(SphinxDirective):
    """Which parts of the design exist in this build: each content line is
    ``module.path | what it is`` (or ``cli:critmin COMMAND | …`` for a CLI command); the table
    says implemented or not yet."""

    has_content = True

    def run(self) -> list[nodes.Node]:
        commands = {c.name for c in cli_tree.walk(cli_tree.app_command())}
        rows = []
        for line in self.content:
            if not line.strip():
                continue
            module, _, what = (s.strip() for s in line.partition("|"))
            if module.startswith("cli:"):
                module = module.removeprefix("cli:")
                present = module in commands
                rows.append([code(module), what, _status(present)])
                continue
            try:
                present = importlib.util.find_spec(module) is not None
            except ModuleNotFoundError:
                present = False
            rows.append([code(module), what, _status(present)])
        return [table(["module", "what it does", "status"], rows)]


def _status(present: bool) -> nodes.Node:
    if present:
        return nodes.strong("implemented", "implemented")
    return nodes.emphasis("not yet", "not yet")


# --------------------------------------------------------------------------- references


def resolve_like_python(app: Sphinx, env: Any, node: nodes.Element, contnode: nodes.Element
                        ) -> nodes.Node | None:
    """Resolve a Python reference that Sphinx cannot, the way Python would resolve the name.

    Docstrings write ``:class:`CritminError``` where the module imports it. When the name
    (looked up in the module the reference is written in, or as a dotted path) is a critmin
    object documented under its own name, link there. When it exists but is not documented
    (a private helper, a type alias), show it as code without a link. When it does not exist at
    all, return nothing, so ``-n -W`` reports the broken reference and fails the build.
    """
    if node.get("refdomain") != "py":
        return None
    target = str(node["reftarget"]).lstrip("~.")
    obj = _lookup(target, node.get("py:module"), node.get("py:class"))
    if obj is _MISSING:
        return None
    canonical = _canonical_name(obj)
    domain = env.get_domain("py")
    if canonical and canonical != target and canonical in domain.objects:
        copy = node.deepcopy()
        copy["reftarget"] = canonical
        found = domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], canonical,
                                    copy, contnode)
        if found is not None:
            return found
    return contnode


_MISSING = object()


def _lookup(target: str, module: str | None, cls: str | None) -> Any:
    """The object a dotted name denotes inside ``module`` (and ``module.cls``), else absolute."""
    scopes = [s for s in (f"{module}.{cls}" if module and cls else None, module) if s]
    for scope in [*scopes, ""]:
        found = _import_dotted(f"{scope}.{target}" if scope else target)
        if found is not _MISSING:
            return found
    if "." not in target:  # re-exported objects: their annotations name their home module's
        import sys

        homes = [m for n, m in list(sys.modules.items()) if n.startswith("critmin.")
                 and m is not None and hasattr(m, target)]
        if homes:
            return getattr(homes[0], target)
    return _MISSING


def _import_dotted(name: str) -> Any:
    """Import the longest module prefix of ``name`` and walk the rest as attributes."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return _MISSING
            obj = getattr(obj, attr)
        return obj
    return _MISSING


def _canonical_name(obj: Any) -> str | None:
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    return f"{module}.{qualname}" if isinstance(module, str) and isinstance(qualname, str) else None


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("missing-reference", resolve_like_python)
    app.connect("autodoc-process-signature", factory_defaults)
    for name, directive in {
        "critmin-cli": CliDirective,
        "critmin-output": CommandOutputDirective,
        "critmin-registry": RegistryDirective,
        "critmin-parameter-specs": ParameterSpecsDirective,
        "critmin-metric-parameters": MetricParametersDirective,
        "critmin-tables": TablesDirective,
        "critmin-sources": SourcesDirective,
        "critmin-groups": GroupsDirective,
        "critmin-build-report": BuildReportDirective,
        "critmin-commodities": CommoditiesDirective,
        "critmin-constant": ConstantDirective,
        "critmin-chains": ChainsDirective,
        "critmin-scenario-schema": ScenarioSchemaDirective,
        "critmin-api": ApiDirective,
        "critmin-module-status": ModuleStatusDirective,
    }.items():
        app.add_directive(name, directive)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
