"""The supply chains the engine simulates: stages in order, by-product hosts.

Pure data, imported by the scenario model (to validate names) and the world builder. The first
stage of each chain is the one the USGS data publish by country; later stages take their
regional split from the registry's ``capacity_share`` rows and their volume from the upstream
output times ``stage_yield``. By-products (gallium, germanium) take their capacity from a host
metal's output (``byproduct_recovery``), so a host outage cuts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Chain:
    """One commodity's chain of stages; ``host`` = (commodity, stage) for a by-product."""

    commodity: str
    stages: tuple[str, ...]
    host: tuple[str, str] | None = None
    data_stage: str | None = None  # curated-data stage of the first stage, if named otherwise

    @property
    def first_data_stage(self) -> str:
        return self.data_stage or self.stages[0]


CHAINS: Final[dict[str, Chain]] = {
    "rare-earths": Chain("rare-earths", ("mine", "separated", "magnet")),
    "lithium": Chain("lithium", ("mine", "chemical")),
    "cobalt": Chain("cobalt", ("mine", "refined")),
    "nickel": Chain("nickel", ("mine", "refined")),
    "graphite": Chain("graphite", ("mine", "anode")),
    "gallium": Chain("gallium", ("primary",), host=("alumina", "refinery")),
    "germanium": Chain("germanium", ("refined",), host=("zinc", "mine"), data_stage="refinery"),
}

#: Host (commodity, stage) → the chains whose by-product capacity follows it.
HOSTS: Final[dict[tuple[str, str], tuple[str, ...]]] = {
    host: tuple(c.commodity for c in CHAINS.values() if c.host == host)
    for host in {c.host for c in CHAINS.values() if c.host is not None}
}
