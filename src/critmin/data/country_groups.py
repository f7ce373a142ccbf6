"""Country groups as dated data: shipped YAML files plus user files (YAML or CSV).

A group file (``critmin/data/groups/<name>.yaml``) holds ``name`` (a slug), ``title``,
``description``, ``sources`` (id → url, read date, note) and ``members``: one entry per
membership spell ``{iso3, since, until, source, status}``. Membership holds on
``[since, until)``: ``until`` is the first day outside (the UK left the EU on 31 January 2020,
so its EU27 row ends ``2020-02-01``); an empty ``until`` means still a member. ``status`` says
whether the membership and its date were read in the cited public source (``verified``) or are
carried from general knowledge or an earlier list (``unverified``); user rows default to
``user``.

User files can add members to a shipped group or define new groups; every error names the
file, the line and the field (:class:`CritminError`, one line).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import pandas as pd
import yaml

from critmin.data import schema
from critmin.errors import CritminError, UnknownNameError

GROUPS_DIR: Final = Path(__file__).with_name("groups")
STATUSES: Final = ("verified", "unverified", "user")
_SLUG: Final = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_GROUP_KEYS: Final = {"name", "title", "description", "sources", "members"}
_MEMBER_KEYS: Final = {"iso3", "since", "until", "source", "status", "note"}
_SOURCE_KEYS: Final = {"url", "read", "title", "note"}
_CSV_COLUMNS: Final = ("group", "iso3", "since", "until", "source", "status")
_LINE: Final = "__line__"


# --------------------------------------------------------------------------- loading


def load_groups(extra_files: Iterable[Path] = ()) -> pd.DataFrame:
    """All shipped groups plus the members in ``extra_files`` (``schema.GROUPS_COLUMNS``)."""
    frames = [_group_rows(g) for g in shipped_groups()]
    frames += [read_user_groups(Path(p)) for p in extra_files]
    out = pd.concat(frames, ignore_index=True) if frames else _empty()
    out = out.drop_duplicates(["group", "iso3", "since", "until"])
    out = out.sort_values(["group", "since", "iso3"], ignore_index=True)
    return out[list(schema.GROUPS_COLUMNS)]


@functools.lru_cache(maxsize=1)
def shipped_groups() -> tuple[dict[str, Any], ...]:
    """The parsed shipped group files (validated strictly: sources and statuses required)."""
    files = sorted(GROUPS_DIR.glob("*.yaml"))
    groups = tuple(g for f in files for g in _read_yaml(f, shipped=True))
    names = [g["name"] for g in groups]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise CritminError(f"{GROUPS_DIR}: group {sorted(dup)[0]!r} is defined in two files")
    return groups


def group_catalog() -> pd.DataFrame:
    """One row per shipped group: name, title, description and its source URLs."""
    return pd.DataFrame(
        [{"group": g["name"], "title": g["title"], "description": g["description"],
          "sources": "; ".join(s["url"] for s in g["sources"].values())}
         for g in shipped_groups()],
        columns=["group", "title", "description", "sources"],
    )


def group_source_urls() -> dict[str, list[str]]:
    """Shipped group → the URLs its memberships cite (for the sources table)."""
    return {g["name"]: [s["url"] for s in g["sources"].values()] for g in shipped_groups()}


def read_user_groups(path: Path) -> pd.DataFrame:
    """Members from a user file: YAML (same format as the shipped files; several groups may be
    given as YAML documents separated by ``---``) or CSV with columns
    ``group,iso3[,since,until,source,status]``."""
    path = Path(path)
    if not path.is_file():
        raise CritminError(f"{path}: group file not found")
    suffix = path.suffix.lower()
    try:
        if suffix in (".yaml", ".yml"):
            frames = [_group_rows(g) for g in _read_yaml(path, shipped=False)]
            return pd.concat(frames, ignore_index=True) if frames else _empty()
        if suffix == ".csv":
            return _read_csv(path)
    except UnicodeDecodeError as err:
        raise CritminError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start}); "
                           "save the file as UTF-8") from None
    except csv.Error as err:
        raise CritminError(f"{path}: malformed CSV ({err}); check its quotes") from None
    raise CritminError(f"{path}: group files must be .yaml, .yml or .csv")


# --------------------------------------------------------------------------- queries


def members(groups_df: pd.DataFrame, name: str, on: dt.date | str | None = None) -> list[str]:
    """ISO3 members of group ``name`` on date ``on`` (today when None), sorted."""
    known = groups_df["group"].unique()
    if name not in set(known):
        raise UnknownNameError("group", name, known)
    day = _as_date(on if on is not None else dt.date.today(), "date").isoformat()
    g = groups_df[groups_df["group"] == name]
    # ISO dates compare correctly as strings; "" since = no start bound, "" until = open.
    active = (g["since"] <= day) & ((g["until"] == "") | (g["until"] > day))
    return sorted(set(g.loc[active, "iso3"]))


# --------------------------------------------------------------------------- YAML


class _LineLoader(yaml.SafeLoader):
    """A safe loader that records each mapping's 1-based line under ``__line__``."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping[_LINE] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# Dates stay text so that an impossible one (2026-02-30) is reported with its field and line.
_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_scalar)


def _read_yaml(path: Path, shipped: bool) -> list[dict[str, Any]]:
    """Parse and validate every group document in a YAML file."""
    try:
        docs = [d for d in yaml.load_all(path.read_text(encoding="utf-8"), Loader=_LineLoader)
                if d is not None]
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise CritminError(f"{where}: not valid YAML ({problem})") from None
    if not docs:
        raise CritminError(f"{path}: empty group file")
    return [_parse_group(doc, path, shipped) for doc in docs]


def _parse_group(doc: Any, path: Path, shipped: bool) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise CritminError(f"{path}: a group file must be a mapping with name, members, …")
    line = doc.get(_LINE)
    _check_keys(doc, _GROUP_KEYS, path, line, "")
    name = doc.get("name")
    if not isinstance(name, str) or not _SLUG.match(name):
        raise _err(path, line, "name", f"{name!r} is not a group slug (lower-case letters, "
                   "digits and hyphens, e.g. 'trade-club')")
    required = ("title", "description", "sources") if shipped else ()
    for key in required:
        if not doc.get(key):
            raise _err(path, line, key, "required in a shipped group file")
    sources = _parse_sources(doc.get("sources") or {}, path, line)
    raw_members = doc.get("members")
    if not isinstance(raw_members, list) or not raw_members:
        raise _err(path, line, "members", "a non-empty list of {iso3, since, …} entries")
    rows = [_parse_member(m, i, name, sources, path, line, shipped)
            for i, m in enumerate(raw_members)]
    _check_overlaps(rows, path)
    return {"name": name, "title": doc.get("title", name), "sources": sources,
            "description": " ".join(str(doc.get("description", "")).split()), "members": rows}


def _parse_sources(raw: Any, path: Path, line: int | None) -> dict[str, dict[str, str]]:
    if not isinstance(raw, dict):
        raise _err(path, line, "sources", "a mapping of source id → {url, read, note}")
    out = {}
    for sid, spec in raw.items():
        if sid == _LINE:
            continue
        where = f"sources.{sid}"
        if not isinstance(spec, dict):
            raise _err(path, line, where, "must be a mapping with url and read")
        sline = spec.get(_LINE, line)
        _check_keys(spec, _SOURCE_KEYS, path, sline, where)
        url = spec.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise _err(path, sline, f"{where}.url", f"{url!r} is not an http(s) URL")
        read = _as_date(spec.get("read"), f"{where}.read", path, sline)
        out[str(sid)] = {"url": url, "read": read.isoformat(), "note": str(spec.get("note", ""))}
    return out


def _parse_member(m: Any, i: int, group: str, sources: Mapping[str, Mapping[str, str]],
                  path: Path, gline: int | None, shipped: bool) -> dict[str, str]:
    where = f"members[{i}]"
    if not isinstance(m, dict):
        raise _err(path, gline, where, "must be a mapping like {iso3: USA, since: 2026-02-02}")
    line = m.get(_LINE, gline)
    _check_keys(m, _MEMBER_KEYS, path, line, where)
    iso3 = _iso3(m.get("iso3"), path, line, f"{where}.iso3")
    if shipped and "since" not in m:
        raise _err(path, line, f"{where}.since", "required in a shipped group file")
    since = _as_date(m["since"], f"{where}.since", path, line).isoformat() if "since" in m else ""
    until = ""
    if m.get("until") not in (None, ""):
        until = _as_date(m["until"], f"{where}.until", path, line).isoformat()
        if since and until <= since:
            raise _err(path, line, f"{where}.until", f"{until} is not after since {since}")
    source = str(m.get("source") or "")
    if source in sources:
        source = sources[source]["url"]
    elif not source and not shipped:
        source = str(path)  # a user row without a source cites the user's file
    elif not source.startswith(("http://", "https://")):
        raise _err(path, line, f"{where}.source", f"{source!r} is neither a URL nor one of the "
                   f"source ids ({', '.join(sources) or 'none defined'})")
    status = m.get("status", "unverified" if shipped else "user")
    if status not in STATUSES:
        raise _err(path, line, f"{where}.status", f"{status!r} not one of {', '.join(STATUSES)}")
    return {"group": group, "iso3": iso3, "since": since, "until": until, "source": source,
            "status": status, "_line": str(line)}


# --------------------------------------------------------------------------- CSV


def _read_csv(path: Path) -> pd.DataFrame:
    """CSV rows ``group,iso3[,since,until,source,status]``; line numbers count the header."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in reader.fieldnames or []]
        reader.fieldnames = header
        missing = [c for c in ("group", "iso3") if c not in header]
        if missing:
            raise CritminError(f"{path}:1: missing column(s) {', '.join(missing)} "
                               f"(columns: {', '.join(_CSV_COLUMNS)})")
        unknown = [" ".join(c.split()) for c in header if c not in _CSV_COLUMNS]  # one line
        if unknown:
            raise CritminError(f"{path}:1: unknown column(s) {', '.join(unknown)} "
                               f"(allowed: {', '.join(_CSV_COLUMNS)})")
        rows: list[dict[str, str]] = []
        for row in reader:
            line = reader.line_num
            cells = {k: (v or "").strip() for k, v in row.items() if k is not None}
            if not any(cells.values()):
                continue
            group = cells["group"]
            if not _SLUG.match(group):
                raise _err(path, line, "group", f"{group!r} is not a group slug (lower-case "
                           "letters, digits and hyphens, e.g. 'trade-club')")
            member = {k: v for k, v in cells.items() if k != "group" and v != ""}
            member[_LINE] = line
            rows.append(_parse_member(member, len(rows), group, {}, path, line, shipped=False))
    if not rows:
        raise CritminError(f"{path}: no member rows")
    _check_overlaps(rows, path)
    return pd.DataFrame(rows)[list(schema.GROUPS_COLUMNS)]


# --------------------------------------------------------------------------- helpers


def _group_rows(group: Mapping[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(group["members"], columns=list(schema.GROUPS_COLUMNS))


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=list(schema.GROUPS_COLUMNS))


def _err(path: Path, line: int | None, field: str, message: str) -> CritminError:
    where = f"{path}:{line}" if line is not None else str(path)
    return CritminError(f"{where}: {field}: {message}")


def _check_keys(d: Mapping[str, Any], allowed: set[str], path: Path, line: int | None,
                where: str) -> None:
    unknown = sorted((k for k in d if k != _LINE and k not in allowed), key=str)  # null, 1, …
    if unknown:
        field = f"{where}.{unknown[0]}" if where else str(unknown[0])
        raise _err(path, line, field, f"unknown key (allowed: {', '.join(sorted(allowed))})")


def _as_date(value: Any, field: str, path: Path | None = None, line: int | None = None) -> dt.date:
    """A date from a YAML date, a ``datetime.date`` or an ISO string; anything else is an error."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        msg = f"{value!r} is not an ISO date (YYYY-MM-DD)"
        if path is None:
            raise CritminError(f"{field}: {msg}") from None
        raise _err(path, line, field, msg) from None


@functools.lru_cache(maxsize=1)
def known_iso3() -> frozenset[str]:
    """ISO3 codes a member may have: every country_converter ISO3 plus the non-ISO codes the
    countries table carries (Kosovo XKX, former Netherlands Antilles ANT)."""
    import country_converter as coco

    from critmin.data.reference import EXTRA_CODES

    codes = coco.CountryConverter().data["ISO3"].dropna().astype(str)
    return frozenset(codes) | frozenset(EXTRA_CODES)


def _iso3(value: Any, path: Path, line: int | None, field: str) -> str:
    code = str(value or "").strip().upper()
    if code not in known_iso3():
        hint = " (aggregates are not members)" if code in schema.AGGREGATES else ""
        raise _err(path, line, field, f"{value!r} is not a known ISO 3166 alpha-3 code{hint}; "
                   "e.g. 'DEU' for Germany")
    return code


def _check_overlaps(rows: list[dict[str, str]], path: Path) -> None:
    """Two spells of one member in one group must not overlap (a typo in since/until)."""
    df = pd.DataFrame(rows)
    for (group, iso3), g in df.groupby(["group", "iso3"]):
        if len(g) < 2:
            continue
        g = g.sort_values("since")
        ends = g["until"].replace("", "9999-12-31").to_numpy()
        starts = g["since"].to_numpy()
        clash = [k for k in range(1, len(g)) if starts[k] < ends[k - 1]]
        if clash:
            lines = sorted(int(x) for x in g["_line"].iloc[[clash[0] - 1, clash[0]]])
            raise CritminError(f"{path}:{lines[1]}: {iso3} has overlapping membership spells in "
                               f"group {group!r} (also line {lines[0]}); fix since/until")
