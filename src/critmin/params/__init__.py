"""The parameter registry: every behavioural number with value, range, unit and source.

``load_registry()`` reads the shipped ``registry.csv`` (or another file) and validates it;
``Registry.value/bounds/shares/draw`` are what the world builder and the engine use.
"""

from critmin.params.registry import (
    PARAMETERS,
    ParamSpec,
    Registry,
    RegistryError,
    load_registry,
    parameter_table,
)

__all__ = ["PARAMETERS", "ParamSpec", "Registry", "RegistryError", "load_registry",
           "parameter_table"]
