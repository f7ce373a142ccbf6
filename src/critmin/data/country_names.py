"""Country names → ISO3, for every spelling the raw sources use.

USGS writes ``Burma``, ``Congo (Kinshasa)``, ``Korea, Republic of``; the World Bank writes
``Congo, Dem. Rep.``. country_converter knows most; :data:`OVERRIDES` pins the rest and the
aggregates (``World total``, ``Other countries``), so that nothing is dropped silently.
"""

from __future__ import annotations

import functools
import logging
import re

from critmin.data.parsing import strip_footnotes

log = logging.getLogger(__name__)

#: Names country_converter gets wrong or does not know, and the aggregate rows.
OVERRIDES: dict[str, str] = {
    "world total": "WLD",
    "world total (rounded)": "WLD",
    "world total (may be rounded)": "WLD",
    "world": "WLD",
    "other countries": "OTH",
    "other countries (rounded)": "OTH",
    "others": "OTH",
    "other": "OTH",
    "congo (kinshasa)": "COD",
    "congo (brazzaville)": "COG",
    "burma": "MMR",
    "korea, north": "PRK",
    "korea, republic of": "KOR",
    "korea, south": "KOR",
    "kosovo": "XKX",
    "turkey": "TUR",
    "turkiye": "TUR",
    "türkiye": "TUR",
    "eswatini": "SWZ",
    "swaziland": "SWZ",
    "laos": "LAO",
    "czechia": "CZE",
    "czech republic": "CZE",
    "united states": "USA",
    "russia": "RUS",
    "taiwan": "TWN",
    "netherlands antilles": "ANT",
    "europe": "XEU",
}


class UnmappedCountry(LookupError):
    """A name that maps to no ISO3 code and no aggregate."""


def _normalise(name: str) -> str:
    return re.sub(r"\s+", " ", strip_footnotes(name)).strip().lower()


@functools.lru_cache(maxsize=4096)
def to_iso3(name: str) -> str:
    """ISO3 (or WLD/OTH) for a country label; raises :class:`UnmappedCountry`."""
    key = _normalise(name)
    if key in OVERRIDES:
        return OVERRIDES[key]
    if key.startswith("other countries") or key.startswith("other "):
        return "OTH"
    if key.startswith("world total"):
        return "WLD"
    if _names_several_countries(key):
        return "MUL"
    code = _coco_iso3(key)
    if code is None:
        raise UnmappedCountry(name)
    return code


@functools.lru_cache(maxsize=1)
def _converter() -> object:
    """One CountryConverter per process: building one costs ~70 ms (it re-reads its table)."""
    import country_converter as coco  # slow import: only when a name is not in OVERRIDES

    logging.getLogger("country_converter").setLevel(logging.ERROR)
    return coco.CountryConverter()


def _names_several_countries(key: str) -> bool:
    """``'united states and canada'``, ``'china, germany, and russia'``: distinct countries.

    ``'trinidad and tobago'`` or ``'korea, republic of'`` are one country: their parts do not
    map to distinct codes.
    """
    parts = [p for p in re.split(r",\s*(?:and\s+)?|\s+and\s+", key) if p]
    if len(parts) < 2:
        return False
    if not all(p in _exact_names() for p in parts):  # whole names only, never a regex guess
        return False
    codes = [OVERRIDES.get(p) or _coco_iso3(p) for p in parts]
    return None not in codes and len(set(codes)) == len(codes)


def _coco_iso3(key: str) -> str | None:
    code = _converter().convert(key, to="ISO3", not_found=None)  # type: ignore[attr-defined]
    if isinstance(code, list):  # ambiguous name
        return None
    # not_found=None hands an unknown name back unchanged ("foo" → "foo"): keep real codes only
    return code if isinstance(code, str) and code in _iso3_codes() else None


@functools.lru_cache(maxsize=1)
def _iso3_codes() -> frozenset[str]:
    """Every ISO3 code country_converter knows."""
    return frozenset(_converter().data["ISO3"].dropna().astype(str))  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=1)
def _exact_names() -> frozenset[str]:
    """Every spelling known to be a whole country name (coco's short and official names)."""
    import country_converter as coco

    data = coco.CountryConverter().data
    names = {str(n).lower() for col in ("name_short", "name_official") for n in data[col]}
    return frozenset(names | set(OVERRIDES))


def split_estimate_mark(name: str) -> tuple[str, bool]:
    """USGS 2023/2024 glue an ``e`` (estimated) to names: ``'Japane'`` → (``'Japan'``, True).

    The ``e`` is stripped only when the name is not a whole country name and the name without
    it is one, so ``Ukraine`` and ``France`` are left alone.
    """
    clean = strip_footnotes(name)
    key = _normalise(clean)
    if not key.endswith("e") or key in _exact_names():
        return clean, False
    if key[:-1] in _exact_names():
        return clean[:-1], True
    return clean, False
