"""Property-based fuzzing in CI: every reader of user or raw input, a few hundred inputs each.

The contract (targets.py): a reader returns, or raises its documented error with a one-line
message naming the file; nothing else. ``FUZZ_EXAMPLES`` raises the example count for a longer
local run; the atheris harnesses (run.sh) do the 100,000-input runs.
"""

from __future__ import annotations

import json
import math
import os

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.targets import RAW, Finding, check, targets

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "250"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])
#: Cell texts and bytes that readers treat specially: spliced into real files by the mutator.
TOKENS = [b"W", b"NA", b"XX", b"--", b"\xe2\x80\x94", b">95", b"<5", b"e", b"E", b"1,000",
          b"9" * 400, b"inf", b"nan", b"-1", b"1e5", b"", b",", b'"', b'""', b"\r\n", b"\n",
          b"\x00", b"\xff", b"\xef\xbb\xbf", b"\x96", b"Large", b"2024", b"0", b"World total",
          b"Other countries6", b"Japane", b"::", b"- ", b"{", b"[", b"&a", b"*a", b"!!python",
          b"? ", b"<<: ", b"~", b"\t", b"#"]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes], keep_first: bool = False) -> bytes:
    """A seed with a few edits: delete, duplicate or replace a span or a CSV cell, splice bytes."""
    data = bytearray(draw(st.sampled_from(seeds)))
    lo = 1 if keep_first else 0
    for _ in range(draw(st.integers(1, 6))):
        if len(data) <= lo:
            break
        at = draw(st.integers(lo, len(data) - 1))
        span = draw(st.integers(0, min(64, len(data) - at)))
        kind = draw(st.sampled_from(["delete", "duplicate", "token", "bytes", "line", "cell",
                                     "cell"]))
        if kind == "cell":  # replace one comma-separated field: the row keeps its shape
            start = data.rfind(b"\n", lo, at) + 1 or lo
            end = data.find(b"\n", at) % (len(data) + 1)
            cells = bytes(data[start:end]).split(b",")
            cells[draw(st.integers(0, len(cells) - 1))] = draw(st.sampled_from(TOKENS))
            data[start:end] = b",".join(cells)
        elif kind == "delete":
            del data[at:at + span]
        elif kind == "duplicate":
            data[at:at] = data[at:at + span]
        elif kind == "token":
            data[at:at + draw(st.integers(0, 4))] = draw(st.sampled_from(TOKENS))
        elif kind == "bytes":
            data[at:at + span] = draw(st.binary(max_size=16))
        else:  # cut the file after a line: truncated downloads
            cut = data.find(b"\n", at)
            del data[cut if cut >= 0 else len(data):]
    return bytes(data)


def fuzz(name: str, data: bytes) -> None:
    check(targets()[name], data)


needs_raw = pytest.mark.skipif(not RAW.is_dir(), reason=f"raw data folder {RAW} not present")


# --------------------------------------------------------------------------- parse_cell


@FUZZ
@given(st.one_of(st.text(max_size=40), st.from_regex(r"\A[<>]?=?\s*[-+]?[\d,.]{0,420}e?\Z"),
                 st.lists(st.sampled_from([t.decode("latin-1") for t in TOKENS]),
                          max_size=4).map("".join)))
def test_parse_cell_text_is_a_cell_or_value_error(text: str) -> None:
    fuzz("parse_cell", text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(st.one_of(st.floats(), st.integers(), st.none()))
def test_parse_cell_numbers_are_finite_cells_or_value_error(value: object) -> None:
    from critmin.data.parsing import parse_cell

    try:
        cell = parse_cell(value)
    except ValueError as err:
        assert isinstance(value, float) and math.isinf(value), err
        return
    assert math.isnan(cell.value) or math.isfinite(cell.value)
    if isinstance(value, int | float) and not math.isnan(value):
        assert cell.value == float(value)


def test_parse_cell_rejects_a_number_too_large_for_a_float() -> None:
    """Found by fuzzing: 400 digits parsed to inf and entered the data as a reported value."""
    with pytest.raises(ValueError, match="finite"):
        targets()["parse_cell"].run(b"9" * 400)


# --------------------------------------------------------------------------- country names


@FUZZ
@given(st.one_of(st.text(max_size=60), mutated(targets()["country_name"].seeds())))
def test_country_names_map_or_raise_unmapped(name: str | bytes) -> None:
    fuzz("country_name", name if isinstance(name, bytes) else name.encode("utf-8", "replace"))


# --------------------------------------------------------------------------- raw readers


@needs_raw
@settings(FUZZ, max_examples=max(EXAMPLES // 3, 20))
@given(st.data())
def test_mcs2026_reader_on_mutated_release_slices(data: st.DataObject) -> None:
    fuzz("mcs2026", data.draw(mutated(targets()["mcs2026"].seeds())))


@needs_raw
@settings(FUZZ, max_examples=max(EXAMPLES // 3, 20))
@given(st.data())
def test_legacy_readers_on_mutated_world_and_salient_files(data: st.DataObject) -> None:
    fuzz("legacy", data.draw(mutated(targets()["legacy"].seeds(), keep_first=True)))


def test_the_seeds_read_cleanly_with_rows() -> None:
    """The unmutated seeds are valid: the fuzzers start from inputs that reach deep code."""
    if not RAW.is_dir():
        pytest.skip(f"raw data folder {RAW} not present")
    seeds = targets()["mcs2026"].seeds()
    results = [targets()["mcs2026"].run(s) for s in seeds]
    for result, seed in zip(results, seeds, strict=True):
        assert result.rows_read == seed.count(b"\n") - 1 == sum(result.rows_by_table.values())
        assert len(result.facts) > 0 and result.rows_by_table["skipped"] == 0
    for seed in targets()["legacy"].seeds():
        frame, rows = targets()["legacy"].run(seed)
        assert rows > 0 and len(frame) > 0


# --------------------------------------------------------------------------- scenario YAML


def _scenario_dicts() -> list[dict]:
    return [yaml.safe_load(s) for s in targets()["scenario"].seeds()]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**12) | st.floats()
    | st.text(max_size=12) | st.sampled_from(["2026Q1", "2026-02", "2026", "china", "CHN",
                                              "gallium", "refined", "destination_ban", "usa"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12)


@st.composite
def edited_scenario(draw: st.DrawFn) -> bytes:
    """A shipped scenario with one value, key or list item replaced by anything JSON-like."""
    doc = draw(st.sampled_from(_scenario_dicts()))
    node: object = doc
    for _ in range(draw(st.integers(0, 4))):
        children = (list(node) if isinstance(node, dict) else list(range(len(node)))
                    if isinstance(node, list) else [])
        if not children:
            break
        key = draw(st.sampled_from(children))
        if draw(st.booleans()) or not isinstance(node[key], dict | list):  # type: ignore[index]
            if isinstance(node, dict) and draw(st.booleans()):
                node[draw(st.text(max_size=10))] = node.pop(key)  # rename a key
            else:
                node[key] = draw(json_values)  # type: ignore[index]
            break
        node = node[key]  # type: ignore[index]
    return yaml.safe_dump(doc, allow_unicode=True).encode()


@FUZZ
@given(st.one_of(edited_scenario(), mutated(targets()["scenario"].seeds()),
                 json_values.map(lambda v: yaml.safe_dump(v).encode()), st.binary(max_size=64)))
def test_scenario_loader_raises_only_scenario_file_errors(data: bytes) -> None:
    fuzz("scenario", data)


# --------------------------------------------------------------------------- groups, overlays


@FUZZ
@given(mutated(targets()["groups"].seeds(), keep_first=True))
def test_user_group_files_raise_only_critmin_errors(data: bytes) -> None:
    fuzz("groups", data)


overlay_row = st.fixed_dictionaries(
    {"commodity": st.sampled_from(["rare-earths", "Gallium", "lithium", "unobtainium"])
     | json_values,
     "stage": st.sampled_from(["mine", "primary", "refined", "separated"]) | json_values,
     "iso3": st.sampled_from(["CHN", "usa", "WLD", "XXX"]) | json_values,
     "year": st.integers(1850, 2150) | st.floats() | st.text(max_size=6),
     "value": st.floats() | st.integers(-5, 10**30) | st.text(max_size=6)},
    optional={"statistic": st.sampled_from(["production", "stockpile", "price"]) | json_values,
              "unit": st.sampled_from(["t", "kg", None]) | json_values,
              "note": json_values})


@FUZZ
@given(st.one_of(st.lists(overlay_row | json_values, max_size=4).map(json.dumps),
                 mutated(targets()["overlay"].seeds()).map(lambda b: b.decode("latin-1"))))
def test_overlay_importer_raises_only_critmin_errors(text: str) -> None:
    fuzz("overlay", text.encode("utf-8", "surrogatepass"))


def test_a_finding_is_reported_with_its_cause() -> None:
    """The checker itself: an undocumented exception is a Finding, a documented one is not."""
    from fuzz.targets import Target

    def raiser(err: Exception):
        def run(data: bytes) -> None:
            raise err
        return run

    def target(err: Exception) -> Target:
        return Target("t", raiser(err), (ValueError,), list, names_file=False)

    with pytest.raises(Finding, match="KeyError"):
        check(target(KeyError("x")), b"")
    with pytest.raises(Finding, match="not one line"):
        check(target(ValueError("two\nlines")), b"")
    check(target(ValueError("one line")), b"")  # documented: passes
