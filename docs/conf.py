"""Sphinx configuration of the critmin docs (build: ``bash docs/build.sh``).

Warnings are errors (``-W``) and every cross-reference must resolve (``-n``); notebooks are
executed on every build and a failing cell fails it. Nothing is fetched from the network:
MathJax comes from the ``sphinx-mathjax-offline`` package and no intersphinx inventories are
read, so references to other projects' objects (pandas, numpy …) are listed as external below.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
SRC = DOCS.parent / "src"
sys.path[:0] = [str(SRC), str(DOCS / "_ext")]
# The notebook kernel is a subprocess: it finds critmin the same way (also without `pip -e`).
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p
)

import critmin  # noqa: E402

project = "critmin"
author = "the critmin authors"
copyright = "the critmin authors, MIT licence"
release = version = getattr(critmin, "__version__", "0.1.0")

extensions = [
    "myst_nb",  # MyST markdown pages and executed notebooks (includes myst_parser)
    "sphinx.ext.autodoc",  # no napoleon: no docstring here uses Google/NumPy sections, and
    # napoleon reads a `#: Text: more` attribute comment as "type: description"
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # ships MathJax 3 into _static/mathjax: no CDN
    "critmin_docs",  # docs/_ext: directives that render the code and data
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
exclude_patterns = ["_build", "README.md", "jupyter_execute", ".jupyter_cache"]
nitpicky = True
smartquotes = False  # CLI help says --format: keep "--" as typed

# -- MyST and notebooks ----------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = "force"  # run every notebook on every build
nb_execution_raise_on_error = True  # a failing cell fails the build
nb_execution_show_tb = True
nb_execution_timeout = 180
nb_merge_streams = True

# -- autodoc ---------------------------------------------------------------------------------
autodoc_default_options = {"member-order": "bysource"}  # members: set per directive
autodoc_typehints = "signature"
autodoc_preserve_defaults = True

# Objects of other projects: no inventories are fetched (no network), so these are not links.
nitpick_ignore_regex = [
    ("py:.*", r"(pd|pandas|np|numpy|npt|xr|xarray|duckdb|pyarrow|pa|pydantic|typer|click|yaml|"
              r"scipy|matplotlib|plotly|collections|typing|pathlib|datetime|dt|enum|io)\b.*"),
    ("py:.*", r"(ArrayLike|NDArray|DataFrame|Series|Path|date|datetime|Iterable|Iterator|"
              r"Sequence|Mapping|Callable|Any|Final|Literal|Self|TypeVar|BaseModel|Field|"
              r"FiniteFloat|ConfigDict|ValidationError|StrEnum|Enum)"),
    ("py:.*", r"(_Pydantic\w+|annotated_types\..*|pydantic_core\..*|FieldInfo)"),  # pydantic
    ("py:.*", r"(types\..*|NoneType)"),
    ("py:.*", r"(go|plotly\.graph_objects)\.Figure"),  # plotly
    ("py:.*", r"(distributed\.|dask\.)?(Client|LocalCluster)"),  # dask.distributed
]

# -- HTML ------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"critmin {release}"
html_static_path = ["_static"]
html_css_files = ["critmin.css"]
html_show_sourcelink = False
