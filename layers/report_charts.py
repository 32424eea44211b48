"""Charts and map images of the leadership summary, drawn with matplotlib.

The dashboard shows the charts as inline SVG (:func:`roles_chart`,
:func:`seen_chart`); the report embeds the same charts and two maps as images
(:func:`beats_map_png`, :func:`estates_map_png`), so nothing is fetched when either is
opened. Colours come from :data:`PALETTE`, chosen to stay apart for the common forms
of colour blindness (Okabe & Ito's set, with Paul Tol's wine for the worst level) and
shared with the dashboard's maps.

Examples
--------
>>> from beatgrid.gis import Project
>>> from beatgrid.layers.leadership import leadership_summary
>>> s = leadership_summary(Project.open("sample-geodata/ningbo-jiangbei.gpkg"),
...                        proposal_estates=0)
>>> roles_chart(s.figures(), lang="en").startswith("<svg")
True
>>> beats_map_png(s, lang="zh")[:4]
b'\\x89PNG'
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
from matplotlib import font_manager, rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from beatgrid.gis.policing.rules import ROLES
from beatgrid.layers.leadership import KeyFigures, LeadershipSummary
from beatgrid.layers.report_i18n import label, role_label, severity_label

#: Colour-blind-safe colours of the dashboard and the report (one meaning each).
PALETTE: Mapping[str, str] = MappingProxyType({
    "ok": "#f2f2f2",
    "not judged": "#56b4e9",
    "low": "#f0e442",
    "medium": "#e69f00",
    "high": "#d55e00",
    "critical": "#882255",
    "required": "#999999",
    "actual": "#0072b2",
    "short": "#d55e00",
    "seen": "#0072b2",
    "seen_after": "#56b4e9",
    "old_estate": "#e69f00",
    "risky_estate": "#d55e00",
    "other_estate": "#e8e8e8",
    "blind_spot": "#cc79a7",
    "camera": "#000000",
    "proposed": "#009e73",
    "street": "#bbbbbb",
    "building": "#dddddd",
    "boundary": "#333333",
})
#: Fonts tried in order: Latin, then Chinese (the sample's names are Chinese).
FONTS = ("DejaVu Sans", "WenQuanYi Micro Hei", "Noto Sans CJK SC", "Droid Sans Fallback")
#: Where the maps' legends go: right of the map, outside it.
LEGEND: Mapping[str, object] = MappingProxyType(
    {"loc": "upper center", "bbox_to_anchor": (0.5, 0.0), "fontsize": 8, "frameon": False,
     "ncols": 3})
#: Pixels per inch of the map images.
MAP_DPI = 110


def _fonts() -> list[str]:
    """The fonts of :data:`FONTS` that matplotlib can find (DejaVu Sans always)."""
    have = {f.name for f in font_manager.fontManager.ttflist}
    return [f for f in FONTS if f in have] or ["DejaVu Sans"]


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _text_style(fig: Figure) -> None:
    for text in fig.findobj(match=lambda a: hasattr(a, "set_fontfamily")):
        text.set_fontfamily(_fonts())


def _svg(fig: Figure) -> str:
    _text_style(fig)
    buf = io.StringIO()
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "beatgrid"}):
        fig.savefig(buf, format="svg",
                    metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _png(fig: Figure, *, dpi: int = MAP_DPI) -> bytes:
    _text_style(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def percent(share: float) -> str:
    """A share as a percentage for reading (``-`` when unknown).

    Examples
    --------
    >>> percent(0.0325), percent(float("nan"))
    ('3.2%', '-')
    """
    return "-" if share is None or not np.isfinite(share) else f"{100 * share:.1f}%"


# -- charts ------------------------------------------------------------------------------

def roles_chart(figures: KeyFigures, *, lang: str) -> str:
    """Required against on-duty staff per role, shortfall marked (SVG text)."""
    fig = _figure(5.2, 2.4)
    ax = fig.add_subplot()
    y = np.arange(len(ROLES))[::-1]
    req = [figures.required[r] for r in ROLES]
    act = [figures.actual[r] for r in ROLES]
    ax.barh(y + 0.2, req, height=0.38, color=PALETTE["required"], label=label("required", lang))
    ax.barh(y - 0.2, act, height=0.38, color=PALETTE["actual"], label=label("actual", lang))
    for yi, r in zip(y, ROLES):
        short = figures.short[r]
        if short:
            ax.annotate(f"{label('short', lang)} {short}",
                        (max(figures.required[r], figures.actual[r]), yi),
                        xytext=(4, 0), textcoords="offset points", va="center", fontsize=8,
                        color=PALETTE["short"])
    ax.set_yticks(y, [role_label(r, lang) for r in ROLES], fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlim(0, max(req + act + [1]) * 1.25)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(fontsize=8, frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0),
              ncols=2)
    return _svg(fig)


def seen_chart(summary: LeadershipSummary, *, station: str | None = None, lang: str) -> str:
    """Seen share of each old estate now, and after its proposed cameras (SVG text)."""
    table = summary.estate_table(station)
    n = max(len(table), 1)
    fig = _figure(5.2, 1.0 + 0.22 * n)
    ax = fig.add_subplot()
    y = np.arange(len(table))[::-1]
    now = table["seen_share_all"].to_numpy(dtype=float) * 100
    after = table["seen_share_after"].to_numpy(dtype=float) * 100
    has_after = np.isfinite(after)
    ax.barh(y, now, height=0.7, color=PALETTE["seen"], label=label("seen_now", lang))
    ax.barh(y[has_after], (after - now)[has_after], left=now[has_after], height=0.7,
            color=PALETTE["seen_after"], label=label("seen_after", lang))
    ax.set_yticks(y, [f"{e} {nm}" for e, nm in zip(table["estate_id"], table["name"])],
                  fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.xaxis.set_major_formatter("{x:.0f}%")
    ax.set_xlim(0, max(25.0, float(np.nanmax(np.r_[now, after, 0])) * 1.1))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if len(table):
        ax.legend(fontsize=8, frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0),
                  ncols=2)
    return _svg(fig)


# -- maps --------------------------------------------------------------------------------

def _context(ax: Axes, summary: LeadershipSummary, crs: object) -> None:
    """Buildings, streets and station boundaries under the data."""
    bld = summary.context.get("buildings")
    if bld is not None and len(bld):
        bld.to_crs(crs).plot(ax=ax, color=PALETTE["building"], linewidth=0)
    streets = summary.context.get("streets")
    if streets is not None and len(streets):
        streets.to_crs(crs).plot(ax=ax, color=PALETTE["street"], linewidth=0.5)


def _frame_map(ax: Axes, summary: LeadershipSummary, station: str | None,
               crs: object) -> None:
    st = summary.stations
    if station is not None:
        st = st[st["id"].astype(str) == station]
    if len(st):
        st.to_crs(crs).boundary.plot(ax=ax, color=PALETTE["boundary"], linewidth=1.2)
        x0, y0, x1, y1 = st.to_crs(crs).total_bounds
        pad = 0.03 * max(x1 - x0, y1 - y0)
        ax.set_xlim(x0 - pad, x1 + pad)
        ax.set_ylim(y0 - pad, y1 + pad)
    ax.set_axis_off()


def beats_map_png(summary: LeadershipSummary, *, station: str | None = None,
                  lang: str) -> bytes:
    """The beats coloured by staffing severity, labelled with their ids (PNG)."""
    station = summary.check_station(station)
    beats = summary.beats
    crs = beats.crs
    fig = _figure(6.0, 5.0)
    ax = fig.add_subplot()
    _context(ax, summary, crs)
    shown = beats if station is None else beats[beats["station_id"].astype(str) == station]
    colours = shown["severity"].astype(str).map(lambda s: PALETTE.get(s, PALETTE["ok"]))
    if len(shown):
        shown.plot(ax=ax, color=colours.tolist(), alpha=0.8, edgecolor="#555555",
                   linewidth=0.6)
    for bid, pt in zip(shown["beat_id"], shown.geometry.representative_point()):
        ax.annotate(str(bid), (pt.x, pt.y), ha="center", va="center", fontsize=8,
                    color="#000000")
    _frame_map(ax, summary, station, crs)
    levels = [s for s in ("critical", "high", "medium", "low", "not judged", "ok")
              if (shown["severity"].astype(str) == s).any()]
    ax.legend(handles=[Patch(facecolor=PALETTE[s], edgecolor="#555555",
                             label=severity_label(s, lang)) for s in levels],
              **LEGEND)
    return _png(fig)


def estates_map_png(summary: LeadershipSummary, *, station: str | None = None,
                    lang: str) -> bytes:
    """Old estates by risk, their blind spots, the cameras and the proposed ones (PNG)."""
    station = summary.check_station(station)
    risk = summary.estates
    crs = risk.crs
    fig = _figure(6.0, 5.0)
    ax = fig.add_subplot()
    _context(ax, summary, crs)
    shown = summary.estate_table(station)
    old = risk[risk["estate_id"].isin(set(shown["estate_id"]))]
    proposed = old["proposed_cameras"] > 0
    for part, colour, edge in ((old[~proposed], PALETTE["old_estate"], "#555555"),
                               (old[proposed], PALETTE["risky_estate"], "#000000")):
        if len(part):
            part.plot(ax=ax, color=colour, alpha=0.8, edgecolor=edge, linewidth=0.6)
    bs = summary.blind_spots
    bs = bs[bs["zone_id"].astype(str).isin(set(shown["estate_id"]))]
    if len(bs):
        bs.to_crs(crs).plot(ax=ax, facecolor="none", edgecolor=PALETTE["blind_spot"],
                            hatch="////", linewidth=0.4)
    cams = summary.cameras if station is None else summary.cameras[
        summary.cameras["station_id"] == station]
    if len(cams):
        cams.to_crs(crs).plot(ax=ax, color=PALETTE["camera"], markersize=3)
    props = summary.proposals_in(station)
    if len(props):
        props.to_crs(crs).plot(ax=ax, color=PALETTE["proposed"], markersize=30, marker="^",
                               edgecolor="#ffffff", linewidth=0.6)
    for eid, pt in zip(old["estate_id"], old.geometry.representative_point()):
        ax.annotate(str(eid), (pt.x, pt.y), xytext=(0, 7), textcoords="offset points",
                    ha="center", fontsize=7)
    _frame_map(ax, summary, station, crs)
    ax.legend(handles=[
        Patch(facecolor=PALETTE["risky_estate"], edgecolor="#000000",
              label=label("old_estate_proposed", lang)),
        Patch(facecolor=PALETTE["old_estate"], edgecolor="#555555",
              label=label("old_estate", lang)),
        Patch(facecolor="none", edgecolor=PALETTE["blind_spot"], hatch="////",
              label=label("blind_spot", lang)),
        Line2D([], [], marker="o", linestyle="", color=PALETTE["camera"], markersize=3,
               label=label("existing_camera", lang)),
        Line2D([], [], marker="^", linestyle="", color=PALETTE["proposed"], markersize=7,
               label=label("proposed_camera", lang)),
    ], **LEGEND)
    return _png(fig)
