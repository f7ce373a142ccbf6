"""Scenario files: the pydantic model (``critmin.scenario.model``) and YAML loading with
line-numbered errors (``critmin.scenario.yamlio``). Kept import-free so the CLI starts fast."""
