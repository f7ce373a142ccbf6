"""The commodity catalog: one slug per USGS commodity label, stage names, declared units.

Slugs are what users type (``rare-earths``, ``graphite``); labels are what USGS prints
(``Rare Earths``, ``Graphite (Natural)``). Stages come from the USGS row labels
(``Mine production`` → ``mine``); where USGS publishes several series for one stage
(ilmenite and rutile, kaolin and bentonite), each gets its own stage (``mine-ilmenite``) so that
one (commodity, stage, country, year) has one value and concentration metrics are well defined.
"""

from __future__ import annotations

import re
from typing import Final

#: USGS labels whose slug is not the mechanical one.
SLUG_OVERRIDES: Final = {
    "rare earths": "rare-earths",
    "graphite (natural)": "graphite",
    "niobium (columbium)": "niobium",
    "nitrogen (fixed)—ammonia": "nitrogen",
    "nitrogen (fixed)-ammonia": "nitrogen",
    "diamond (industrial)": "diamond-industrial",
    "mica (natural)": "mica",
    "garnet (industrial)": "garnet",
    "abrasives (manufactured)": "abrasives",
    "sand and gravel (construction)": "sand-gravel-construction",
    "sand and gravel (industrial)": "sand-gravel-industrial",
    "stone (crushed)": "stone-crushed",
    "stone (dimension)": "stone-dimension",
    "tio2 pigment": "titanium-dioxide-pigment",
    "zeolites (natural)": "zeolites",
    "platinum-group metals": "platinum-group-metals",
    "feldspar and nepheline syenite": "feldspar",
}

#: Mass units → factor to metric tons. Every mass is stored in metric tons ("t").
MASS_UNITS_TO_T: Final = {
    "kilograms": 1e-3,
    "kilogram": 1e-3,
    "kg": 1e-3,
    "metric tons": 1.0,
    "tons": 1.0,
    "t": 1.0,
    "thousand metric tons": 1e3,
    "kt": 1e3,
    "thousand metric dry tons": 1e3,
    "million metric tons": 1e6,
}


def commodity_slug(label: str) -> str:
    """Catalog slug for a USGS commodity label: ``'Graphite (Natural)'`` → ``'graphite'``."""
    key = re.sub(r"\s+", " ", str(label).strip()).lower()
    if key in SLUG_OVERRIDES:
        return SLUG_OVERRIDES[key]
    key = key.replace("—", "-").replace("–", "-")
    key = re.sub(r"[()]", "", key)
    return re.sub(r"[^a-z0-9]+", "-", key).strip("-")


def normalise_unit(raw_unit: str) -> tuple[str, float]:
    """(declared unit, factor): mass units become ``'t'``; others are kept as published."""
    key = re.sub(r"\s+", " ", str(raw_unit).strip()).lower()
    if key in MASS_UNITS_TO_T:
        return "t", MASS_UNITS_TO_T[key]
    return key, 1.0
