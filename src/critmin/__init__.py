"""critmin: an open lab for critical-minerals supply-chain security.

Layers (data flows one way): ``critmin.data`` (curated dataset) → ``critmin.metrics``
(exposure and supply risk) and ``critmin.engine`` (market simulator) → analysis → interfaces.
"""

__version__ = "0.1.0"
