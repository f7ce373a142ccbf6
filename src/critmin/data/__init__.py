"""The curated dataset: built from the raw sources by :mod:`critmin.data.build`, shipped as
Parquet in the package, queried through DuckDB (:mod:`critmin.data.store`).

The functions below answer the same queries as ``critmin data …`` and return DataFrames.
"""

from critmin.data.store import (
    commodities,
    connection,
    countries,
    data_edition,
    facts,
    group_members,
    groups,
    manifest,
    resolve_commodity,
    show,
    sources,
    sql,
    stages,
    table,
    us_import_sources,
    us_salient,
    wgi,
)

__all__ = [
    "commodities",
    "connection",
    "countries",
    "data_edition",
    "facts",
    "group_members",
    "groups",
    "manifest",
    "resolve_commodity",
    "show",
    "sources",
    "sql",
    "stages",
    "table",
    "us_import_sources",
    "us_salient",
    "wgi",
]
