"""The dashboard: static pages, plotly.js from the installed plotly package (no CDN), and the
map geometry plotly.js would otherwise fetch from its CDN (``topojsonURL`` points here)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

from critmin.api.auth import Caller
from critmin.api.errors import ApiError

WEB = Path(__file__).resolve().parents[1] / "web"
router = APIRouter(tags=["dashboard"])
_CACHE = {"Cache-Control": "public, max-age=86400"}


@functools.cache
def plotly_js() -> Path:
    """plotly.min.js shipped inside the plotly Python package."""
    import plotly

    path = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
    if not path.exists():
        raise ApiError(500, f"plotly.min.js not found at {path}; reinstall plotly")
    return path


@router.get("/", include_in_schema=False)
def index() -> FileResponse:
    return FileResponse(WEB / "index.html", media_type="text/html")


@router.get("/static/plotly.min.js", include_in_schema=False)
def plotly() -> FileResponse:
    return FileResponse(plotly_js(), media_type="text/javascript", headers=_CACHE)


@router.get("/static/geo/{name}", include_in_schema=False)
def geometry(name: str) -> FileResponse:
    """Topojson files for plotly.js geo plots (``world_110m.json``)."""
    path = WEB / "geo" / name
    if not name.endswith(".json") or "/" in name or not path.is_file():
        raise ApiError(404, f"no map geometry {name!r}; available: world_110m.json")
    return FileResponse(path, media_type="application/json", headers=_CACHE)


@router.get("/static/{name}", include_in_schema=False)
def asset(name: str) -> FileResponse:
    path = WEB / name
    kinds = {".js": "text/javascript", ".css": "text/css", ".html": "text/html",
             ".svg": "image/svg+xml"}
    if "/" in name or path.suffix not in kinds or not path.is_file():
        raise ApiError(404, f"no static file {name!r}")
    return FileResponse(path, media_type=kinds[path.suffix])


@router.get("/dashboard", include_in_schema=False)
def dashboard() -> RedirectResponse:
    return RedirectResponse("/")


menu = APIRouter(prefix="/api", tags=["menu"])


@menu.get("/menu")
def menu_status(_: Caller) -> dict[str, Any]:
    """The menu comparison of policy tools: not in this build yet (the dashboard says so)."""
    return {"available": False,
            "message": "the menu of policy tools (stockpile, price floor, tariff, club …) is "
                       "not part of this build yet; runs of single scenarios are"}
