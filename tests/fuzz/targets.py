"""Fuzz targets shared by the hypothesis properties (CI) and the atheris harnesses (long runs).

Each target takes raw bytes, feeds them to one reader the way a user's file would reach it, and
lets through only the errors that reader documents. Any other exception — or a documented
error whose message spans several lines or does not name the file — is a finding: keep the
input in ``corpus/<target>/`` and fix the reader.

The seeds are real inputs: slices of the raw USGS files, the shipped scenario files and group
files, and valid overlay rows built from the curated facts. A target whose leading byte picks a
file name (legacy readers, group files) gets the seed's index as that byte.
"""

from __future__ import annotations

import atexit
import functools
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RAW = Path(os.environ.get("CRITMIN_RAW", REPO.parent / "shared" / "data" / "raw"))
SCENARIOS = REPO / "scenarios"
MCS2026 = "usgs_mcs/mcs2026/MCS2026_Commodities_Data.csv"
#: Legacy files mutated: (path under the raw root, reader). One world and one salient table
#: per edition layout, chosen for their quirks (footnotes, glued ``e``, W/NA cells, BOM).
LEGACY_FILES = (
    ("usgs_mcs/mcs2023/world/mcs2023-raree_world.csv", "world"),
    ("usgs_mcs/mcs2023/world/mcs2023-galli_world.csv", "world"),
    ("usgs_mcs/mcs2022_subset/world/mcs2022-cobal_world.csv", "world"),
    ("usgs_mcs/mcs2023/salient/mcs2023-raree_salient.csv", "salient"),
    ("usgs_mcs/mcs2022_subset/salient/mcs2022-lithi_salient.csv", "salient"),
)
GROUP_SUFFIXES = (".yaml", ".csv")


@dataclass(frozen=True)
class Target:
    """One reader under fuzzing: ``run(data)`` and the exceptions it may raise."""

    name: str
    run: Callable[[bytes], object]
    allowed: tuple[type[BaseException], ...]
    seeds: Callable[[], list[bytes]]
    names_file: bool = True  # the documented error must name the file it read
    one_line: bool = True  # UnmappedCountry carries the raw name, not a message


class Finding(AssertionError):
    """A broken contract: the input and what went wrong."""


@functools.cache
def workdir() -> Path:
    """A private folder for the files the targets write (one per process)."""
    folder = Path(tempfile.mkdtemp(prefix="critmin-fuzz-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def check(target: Target, data: bytes) -> None:
    """Run ``target`` on ``data``; raise :class:`Finding` unless it returns or fails as told."""
    try:
        target.run(data)
    except target.allowed as err:
        message = str(err)
        if target.one_line and ("\n" in message or not message.strip()):
            raise Finding(f"{target.name}: {type(err).__name__} message is not one line: "
                          f"{message!r}") from err
        if target.names_file and str(workdir()) not in message and "usgs_mcs/" not in message:
            raise Finding(f"{target.name}: message names no file: {message!r}") from err
    except Finding:
        raise
    except RecursionError as err:  # a subclass of RuntimeError: never allowed
        raise Finding(f"{target.name}: RecursionError on {len(data)} bytes") from err
    except Exception as err:
        raise Finding(f"{target.name}: {type(err).__name__}: {err}") from err


# --------------------------------------------------------------------------- parse_cell


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def run_parse_cell(data: bytes) -> object:
    """Cells are text from a CSV or values from a workbook; the result is finite or NaN."""
    from critmin.data.parsing import parse_cell, strip_footnotes
    from critmin.data.schema import FLAGS

    cell = parse_cell(_text(data))
    if not (math.isnan(cell.value) or math.isfinite(cell.value)) or cell.flag not in FLAGS:
        raise Finding(f"parse_cell({_text(data)!r}) = {cell!r}")
    strip_footnotes(_text(data))
    return cell


def seeds_parse_cell() -> list[bytes]:
    samples = ["45,500", "W", "NA", "XX", "—", "--", ">95", "<25", "1,200e", "E", "Large",
               "330 - 390", "0", "(NA)", "0.5", "-3", ".25", "12,000,000"]
    return [s.encode() for s in samples]


# --------------------------------------------------------------------------- country names


def run_country_name(data: bytes) -> object:
    """Any label maps to a three-letter code or raises UnmappedCountry."""
    from critmin.data.country_names import split_estimate_mark, to_iso3

    text = _text(data)
    name, marked = split_estimate_mark(text)
    if not isinstance(name, str) or not isinstance(marked, bool):
        raise Finding(f"split_estimate_mark({text!r}) = {(name, marked)!r}")
    code = to_iso3(text)
    if not (isinstance(code, str) and len(code) == 3 and code.isupper()):
        raise Finding(f"to_iso3({text!r}) = {code!r}")
    return code


def seeds_country_name() -> list[bytes]:
    samples = ["Burma", "Congo (Kinshasa)", "Korea, Republic of", "Japane", "Ukraine",
               "Other countries6", "World total (rounded)", "United States and Canada",
               "Trinidad and Tobago", "Türkiye", "Congo, Dem. Rep.", "Russia"]
    return [s.encode() for s in samples]


# --------------------------------------------------------------------------- MCS 2026


def run_mcs2026(data: bytes) -> object:
    """The MCS 2026 reader on a mutated copy of the release (header and a few rows)."""
    from critmin.data.usgs_mcs2026 import read_mcs2026

    root = workdir() / "mcs2026"
    path = root / MCS2026
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return read_mcs2026(root)


def seeds_mcs2026() -> list[bytes]:
    """Header plus three rows of every section for a few commodities: real rows, small files."""
    lines = (RAW / MCS2026).read_bytes().splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    out = []
    for chapter in (b"RARE EARTHS", b"GALLIUM", b"COBALT", b"LITHIUM", b"GRAPHITE (NATURAL)",
                    b"NICKEL"):
        rows = [r for r in body if r.startswith(chapter + b",")]
        by_section: dict[bytes, list[bytes]] = {}
        for r in rows:
            by_section.setdefault(r.split(b",")[1], []).append(r)
        out.append(header + b"".join(r for rs in by_section.values() for r in rs[:3]))
    return out


# --------------------------------------------------------------------------- legacy MCS


def run_legacy(data: bytes) -> object:
    """The legacy world or salient reader; the first byte picks which real file name it has."""
    from critmin.data import usgs_mcs_legacy as legacy

    pick = data[0] % len(LEGACY_FILES) if data else 0
    rel, part = LEGACY_FILES[pick]
    root = workdir() / "legacy"
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[1:])
    edition = legacy.file_code(path)[0]
    reader = legacy.read_world_file if part == "world" else legacy.read_salient_file
    return reader(path, root, edition, [])


def seeds_legacy() -> list[bytes]:
    return [bytes([i]) + (RAW / rel).read_bytes() for i, (rel, _) in enumerate(LEGACY_FILES)]


# --------------------------------------------------------------------------- scenario YAML


def run_scenario(data: bytes) -> object:
    """A scenario file as ``critmin scenario validate`` and the web app read it."""
    from critmin.scenario.model import load_scenario

    path = workdir() / "scenario.yaml"
    path.write_bytes(data)
    return load_scenario(path)


def seeds_scenario() -> list[bytes]:
    return [p.read_bytes() for p in sorted(SCENARIOS.glob("*.yaml"))]


# --------------------------------------------------------------------------- user groups


def run_groups(data: bytes) -> object:
    """A user group file, YAML or CSV (the first byte picks the suffix)."""
    from critmin.data.country_groups import read_user_groups

    suffix = GROUP_SUFFIXES[data[0] % len(GROUP_SUFFIXES)] if data else ".yaml"
    path = workdir() / f"groups{suffix}"
    path.write_bytes(data[1:])
    return read_user_groups(path)


def seeds_groups() -> list[bytes]:
    from critmin.data.country_groups import GROUPS_DIR

    yaml_seeds = [b"\x00" + p.read_bytes() for p in sorted(GROUPS_DIR.glob("*.yaml"))[:3]]
    csv_seed = (b"\x01group,iso3,since,until,source,status\n"
                b"my-club,USA,2024-01-01,,https://example.org/a,user\n"
                b"my-club,JPN,2024-01-01,2025-06-30,,\n")
    return [*yaml_seeds, csv_seed]


# --------------------------------------------------------------------------- overlay rows


def run_overlay(data: bytes) -> object:
    """The web app's overlay importer on any JSON value (one row or a list of rows)."""
    from critmin.api.overlay import validate_rows

    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return None  # not JSON: the API answers 422 before the importer sees it
    rows = value if isinstance(value, list) else [value]
    return validate_rows(rows)


def seeds_overlay() -> list[bytes]:
    rows = [{"commodity": "rare-earths", "stage": "mine", "iso3": "CHN", "year": 2024,
             "value": 135000.0, "note": "own estimate"},
            {"commodity": "Gallium", "stage": "primary", "iso3": "jpn", "year": 2023,
             "statistic": "capacity", "value": 3.5, "unit": "t"},
            {"commodity": "lithium", "stage": "mine", "iso3": "AUS", "year": 2025,
             "statistic": "stockpile", "value": 0}]
    return [json.dumps(rows).encode(), json.dumps(rows[0]).encode()]


def _errors() -> dict[str, tuple[type[BaseException], ...]]:
    from critmin.data.country_names import UnmappedCountry
    from critmin.errors import CritminError, DataBuildError
    from critmin.scenario.yamlio import ScenarioFileError

    return {"parse_cell": (ValueError,), "country_name": (UnmappedCountry,),
            "mcs2026": (DataBuildError,), "legacy": (DataBuildError,),
            "scenario": (ScenarioFileError,), "groups": (CritminError,),
            "overlay": (CritminError,)}


@functools.cache
def targets() -> dict[str, Target]:
    """Every target by name (the atheris harnesses are ``fuzz_<name>.py``)."""
    errors = _errors()
    found = {name: Target(name, globals()[f"run_{name}"], errors[name],
                          globals()[f"seeds_{name}"],
                          names_file=name not in ("parse_cell", "country_name", "overlay"),
                          one_line=name != "country_name")
             for name in errors}
    return found


def fuzz_main(name: str) -> None:
    """Entry point of an atheris harness: instrument critmin, then fuzz one target."""
    import sys

    import atheris

    with atheris.instrument_imports(include=["critmin"]):
        import critmin.api.overlay
        import critmin.data.country_groups
        import critmin.data.country_names
        import critmin.data.parsing
        import critmin.data.usgs_mcs2026
        import critmin.data.usgs_mcs_legacy
        import critmin.scenario.model
        import critmin.scenario.yamlio  # noqa: F401
    target = targets()[name]
    if "--write-seeds" in sys.argv:  # run.sh: seed corpus folder
        folder = Path(sys.argv[sys.argv.index("--write-seeds") + 1])
        folder.mkdir(parents=True, exist_ok=True)
        for i, seed in enumerate(target.seeds()):
            (folder / f"seed-{i}").write_bytes(seed)
        return
    atheris.Setup(sys.argv, lambda data: check(target, data))
    atheris.Fuzz()
