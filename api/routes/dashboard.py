"""``/dashboard``: the leadership view in the browser, and the report to download.

==========================================  ===============================================
``GET /dashboard``                          the page (HTML; MapLibre GL JS, served here)
``GET /dashboard/data?station=&lang=``      key figures, cards, ranked tables, charts
                                            (SVG), findings, labels (JSON)
``GET /dashboard/layers``                   the maps' layers: ``{name: FeatureCollection}``
                                            in EPSG:4326 (beats, estates, blind spots,
                                            cameras, proposals, streets, buildings...)
``GET /dashboard/report.html?station=&lang=``  the report (a download, self-contained)
``GET /dashboard/report.pdf?station=&lang=``   the same printed by Chromium
``GET /dashboard/assets/{name}``            the page's script and style and MapLibre's
==========================================  ===============================================

Every figure comes from one
:func:`~beatgrid.layers.leadership.leadership_summary` per project state, kept in the
app's result cache (``app.state.cache``), so the page, the layers and the reports agree
with each other and with ``beatgrid staffing``, ``beatgrid coverage`` and ``beatgrid
report``. ``station`` is a station id (empty: the whole project; unknown: 404);
``lang`` is ``en`` or ``zh``. The page, its assets and the report downloads are left out
of the OpenAPI (they are files, not data); the data routes are documented. All routes
need the viewer role.
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from beatgrid.api.auth import Reader
from beatgrid.api.cache import ResultCache
from beatgrid.api.deps import CacheDep, ProjectDep, known_params
from beatgrid.api.errors import COMMON_ERRORS, error_responses
from beatgrid.api.params import Blank
from beatgrid.gis.coverage.workflow import LAYERS as COVERAGE_LAYERS
from beatgrid.gis.errors import NotFoundError
from beatgrid.gis.policing.workflow import STAFFING_LAYERS
from beatgrid.gis.project import Project
from beatgrid.layers.leadership import LeadershipSummary, leadership_summary
from beatgrid.layers.report import report_html
from beatgrid.layers.report_pdf import print_pdf
from beatgrid.layers.report_tables import dashboard_data, map_layers

router = APIRouter(tags=["dashboard"], responses=error_responses(*COMMON_ERRORS))

#: Layers the summary reads (a write to any of them recomputes it).
SUMMARY_LAYERS = tuple(dict.fromkeys((*STAFFING_LAYERS, *COVERAGE_LAYERS, "stations")))
#: Files served under ``/dashboard/assets/``: name -> (path in beatgrid.layers.assets,
#: media type).
ASSETS = {
    "dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
    "dashboard.css": ("dashboard.css", "text/css; charset=utf-8"),
    "maplibre-gl.js": ("maplibre/maplibre-gl.js", "text/javascript; charset=utf-8"),
    "maplibre-gl.css": ("maplibre/maplibre-gl.css", "text/css; charset=utf-8"),
    "maplibre-LICENSE.txt": ("maplibre/LICENSE.txt", "text/plain; charset=utf-8"),
}
#: How long a browser may keep an asset (they change only with the installed version).
ASSET_MAX_AGE_S = 3600

Lang = Literal["en", "zh"]
StationQ = Annotated[str | None, Query(
    max_length=64, description="a station id (empty: the whole project)")]
LangQ = Annotated[Lang | None, Blank, Query(description="en or zh (default en)")]
_PARAMS = [Depends(known_params("station", "lang"))]
_NONE = [Depends(known_params())]


def summary_of(project: Project, cache: ResultCache) -> LeadershipSummary:
    """The project's :class:`LeadershipSummary`, reused while the project is unchanged."""
    result: LeadershipSummary = cache.get(project, ("leadership",), SUMMARY_LAYERS,
                                          lambda _layers: leadership_summary(project))
    return result


def _asset(path: str) -> bytes:
    return resources.files("beatgrid.layers.assets").joinpath(path).read_bytes()


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False,
            dependencies=_PARAMS)
def dashboard_page(principal: Reader) -> HTMLResponse:
    """The dashboard page (it asks ``/dashboard/data`` and ``/dashboard/layers``)."""
    return HTMLResponse(_asset("dashboard.html").decode("utf-8"),
                        headers={"Cache-Control": "no-cache"})


@router.get("/dashboard/assets/{name}", include_in_schema=False, dependencies=_NONE)
def dashboard_asset(principal: Reader, name: Annotated[str, Path(max_length=64)]) -> Response:
    """One of the page's files (:data:`ASSETS`)."""
    if name not in ASSETS:
        raise NotFoundError(f"no dashboard asset {name!r}",
                            fix="the page loads " + ", ".join(ASSETS))
    path, media = ASSETS[name]
    return Response(_asset(path), media_type=media,
                    headers={"Cache-Control": f"max-age={ASSET_MAX_AGE_S}"})


@router.get("/dashboard/data", dependencies=_PARAMS)
def dashboard_json(principal: Reader, project: ProjectDep, cache: CacheDep,
                   station: StationQ = None, lang: LangQ = None) -> JSONResponse:
    """Key figures, cards, ranked beats and old estates, charts, findings and labels."""
    summary = summary_of(project, cache)
    return JSONResponse(dashboard_data(summary, station=station, lang=lang or "en"))


@router.get("/dashboard/layers", dependencies=_NONE)
def dashboard_layers(principal: Reader, project: ProjectDep, cache: CacheDep) -> JSONResponse:
    """The maps' layers, ``{name: FeatureCollection}`` in EPSG:4326, each feature with its
    ``station_id`` where it has one."""
    summary = summary_of(project, cache)
    layers = cache.get(project, ("leadership-layers",), SUMMARY_LAYERS,
                       lambda _layers: map_layers(summary))
    return JSONResponse(layers)


def _download(body: bytes, media: str, name: str) -> Response:
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _file_name(station: str | None, lang: str, suffix: str) -> str:
    return "beatgrid-report" + (f"-{station}" if station else "") + f"-{lang}{suffix}"


@router.get("/dashboard/report.html", include_in_schema=False, dependencies=_PARAMS)
def dashboard_report_html(principal: Reader, project: ProjectDep, cache: CacheDep,
                          station: StationQ = None, lang: LangQ = None) -> Response:
    """The report as one self-contained HTML file (a download)."""
    summary = summary_of(project, cache)
    code = summary.check_station(station)
    language = lang or "en"
    page: str = cache.get(project, ("leadership-report", code, language), SUMMARY_LAYERS,
                          lambda _l: report_html(summary, station=code, lang=language))
    return _download(page.encode("utf-8"), "text/html; charset=utf-8",
                     _file_name(code, language, ".html"))


@router.get("/dashboard/report.pdf", include_in_schema=False, dependencies=_PARAMS)
def dashboard_report_pdf(principal: Reader, project: ProjectDep, cache: CacheDep,
                         station: StationQ = None, lang: LangQ = None) -> Response:
    """The report printed to PDF by Chromium (a download)."""
    summary = summary_of(project, cache)
    code = summary.check_station(station)
    language = lang or "en"
    pdf: bytes = cache.get(project, ("leadership-pdf", code, language), SUMMARY_LAYERS,
                           lambda _l: print_pdf(report_html(summary, station=code,
                                                            lang=language)))
    return _download(pdf, "application/pdf", _file_name(code, language, ".pdf"))
