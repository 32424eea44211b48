"""The leadership report: one self-contained HTML page, and the same page as a PDF.

:func:`report_html` writes the page from a
:class:`~beatgrid.layers.leadership.LeadershipSummary`: the key figures first, then
the staffing section (map of the beats by severity, chart of the staff required and
on duty, the beats ranked by gap), the camera section (map of the old estates with
their blind spots and the proposed cameras, chart of the seen share now and after,
the old estates ranked by risk), one paragraph per finding
(:func:`beatgrid.layers.report_text.findings`) and the notes. Maps and charts are
embedded (PNG as ``data:`` URIs, charts as inline SVG): the file opens anywhere,
offline. :func:`write_report` writes ``.html`` or, printed by Chromium
(:mod:`beatgrid.layers.report_pdf`), ``.pdf``; ``beatgrid report`` and the
dashboard's download links call it.

Examples
--------
>>> from beatgrid.gis import Project
>>> from beatgrid.layers.leadership import leadership_summary
>>> s = leadership_summary(Project.open("sample-geodata/ningbo-jiangbei.gpkg"),
...                        proposal_estates=1)
>>> page = report_html(s, lang="en")
>>> page.startswith("<!DOCTYPE html>"), "4 beats clearly understaffed" in page
(True, True)
>>> import re
>>> re.findall(r'(?:src|href)="(?!data:|#)[^"]*"', page)  # nothing to fetch
[]
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path

from beatgrid.gis.errors import InputError
from beatgrid.layers.leadership import LeadershipSummary
from beatgrid.layers.report_charts import (PALETTE, beats_map_png, estates_map_png,
                                           roles_chart, seen_chart)
from beatgrid.layers.report_i18n import check_lang, label, role_label
from beatgrid.layers.report_pdf import print_pdf
from beatgrid.layers.report_tables import beat_rows, estate_rows
from beatgrid.layers.report_text import figure_cards, findings

__all__ = ["report_html", "write_report", "check_out", "REPORT_FORMATS", "CSS"]

#: File suffixes :func:`write_report` writes.
REPORT_FORMATS = (".html", ".pdf")

#: The page's style: A4 portrait when printed, legible on a screen.
CSS = """
@page { size: A4; margin: 12mm 12mm 14mm 12mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, "WenQuanYi Micro Hei",
       "Noto Sans CJK SC", sans-serif; font-size: 10pt; color: #1a1a1a; margin: 0 auto;
       max-width: 190mm; line-height: 1.35; }
h1 { font-size: 17pt; margin: 0 0 2mm; }
h2 { font-size: 13pt; margin: 4mm 0 2mm; border-bottom: 1.5px solid #333;
     break-after: avoid; }
h3 { break-after: avoid; }
h3 { font-size: 10.5pt; margin: 3mm 0 1mm; }
.meta { color: #555; font-size: 8.5pt; margin: 0 0 3mm; }
.cards { display: grid; grid-template-columns: repeat(5, 1fr); gap: 2.5mm; }
.card { border: 1px solid #bbb; border-left: 4px solid #0072b2; padding: 2mm 2.5mm;
        break-inside: avoid; }
.card .value { font-size: 16pt; font-weight: bold; }
.card .text { font-size: 8.5pt; font-weight: bold; }
.card .sub { font-size: 7.5pt; color: #555; }
.row { display: grid; grid-template-columns: 55% 45%; gap: 3mm; align-items: start;
       break-inside: avoid; }
figure { margin: 0; }
figure img, figure svg { width: 100%; height: auto; }
figcaption { font-size: 8pt; color: #444; }
table { border-collapse: collapse; width: 100%; font-size: 7.5pt; margin: 2mm 0;
        break-inside: auto; }
th, td { border-bottom: 1px solid #ddd; padding: 0.8mm 1.2mm; text-align: left;
         vertical-align: top; }
th { background: #f0f0f0; font-size: 7.5pt; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td:nth-child(2) { white-space: nowrap; }
.finding p { font-size: 9pt; }
tr { break-inside: avoid; }
.sev { display: inline-block; padding: 0 1.5mm; border-radius: 1mm; border: 1px solid #777; }
.finding { break-inside: avoid; margin: 0 0 2mm; }
.finding p { margin: 0.5mm 0 0; }
.notes { font-size: 8pt; color: #444; }
code { font-size: 7.5pt; }
"""


class RawHtml(str):
    """Text already escaped (a table cell holding markup)."""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _png_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _sev(severity: str, text: str) -> str:
    colour = PALETTE.get(severity, PALETTE["ok"])
    dark = severity in ("high", "critical")
    return (f'<span class="sev" style="background:{colour};color:{"#fff" if dark else "#000"}">'
            f"{_e(text)}</span>")


def _table(head: Sequence[tuple[str, bool]], rows: Sequence[Sequence[object]]) -> str:
    """A table: ``head`` is (label, numeric) per column; cells are escaped."""
    th = "".join(f'<th class="num">{_e(h).replace(chr(10), "<br>")}</th>' if num
                 else f"<th>{_e(h)}</th>" for h, num in head)
    body = []
    for row in rows:
        cells = []
        for (_, num), cell in zip(head, row):
            text = cell if isinstance(cell, RawHtml) else _e(cell)
            cells.append(f'<td class="num">{text}</td>' if num else f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _beats_table(summary: LeadershipSummary, station: str | None, lang: str) -> str:
    rows = []
    for r in beat_rows(summary, station=station, lang=lang):
        if not r["failed_rules"]:
            continue
        rows.append([r["rank"], f"{r['beat_id']} {r['name']}", r["station_id"],
                     RawHtml(_sev(r["severity"], r["severity_text"])),
                     "; ".join(r["rules_text"]),
                     f"{r['officers_actual']}/{r['officers_required']}",
                     f"{r['auxiliaries_actual']}/{r['auxiliaries_required']}",
                     f"{r['floating_managers_actual']}/{r['floating_managers_required']}",
                     r["to_add"]])
    head = [(label("rank", lang), True), (label("beat", lang), False),
            (label("station", lang), False), (label("severity", lang), False),
            (label("rules_failed", lang), False),
            (_role_head("officers", lang), True), (_role_head("auxiliaries", lang), True),
            (_role_head("floating_managers", lang), True), (label("to_add", lang), False)]
    return _table(head, rows)


def _role_head(role: str, lang: str) -> str:
    return role_label(role, lang)


def _estates_table(summary: LeadershipSummary, station: str | None, lang: str) -> str:
    rows = []
    for r in estate_rows(summary, station=station, lang=lang):
        best = (label("proposal_cell", lang, n=r["proposed_cameras"], before=r["seen_text"],
                      after=r["after_text"]) if r["proposed_cameras"] else "-")
        rows.append([r["rank"], f"{r['estate_id']} {r['name']}", r["station_id"],
                     f"{r['risk_score']:.1f}", r["seen_text"], r["cameras_inside"],
                     f"{r['households']:,}", best])
    head = [(label("rank", lang), True), (label("estate", lang), False),
            (label("station", lang), False), (label("risk", lang), True),
            (label("seen_share", lang), True), (label("cameras_inside", lang), True),
            (label("households", lang), True), (label("best_cameras", lang), False)]
    return _table(head, rows)


def report_html(summary: LeadershipSummary, *, station: str | None = None,
                lang: str = "en") -> str:
    """The report as one self-contained HTML page (for ``station``, or all)."""
    check_lang(lang)
    station = summary.check_station(station)
    fig = summary.figures(station)
    where = f" · {label('station', lang)} {station}" if station else ""
    cards = "".join(
        f'<div class="card"><div class="value">{_e(c["value"])}</div>'
        f'<div class="text">{_e(c["text"])}</div><div class="sub">{_e(c["sub"])}</div></div>'
        for c in figure_cards(fig, lang=lang))
    found = "".join(f'<div class="finding"><h3>{_e(f.title)}</h3><p>{_e(f.text)}</p></div>'
                    for f in findings(summary, station=station, lang=lang))
    notes = "".join(f"<li>{_e(n)}</li>" for n in summary.notes)
    return f"""<!DOCTYPE html>
<html lang="{'zh-CN' if lang == 'zh' else 'en'}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(label('report_title', lang))}</title><style>{CSS}</style></head>
<body>
<h1>{_e(label('report_title', lang))}{_e(where)}</h1>
<p class="meta">{_e(label('generated', lang, project=summary.project,
                             when=summary.computed_at))}</p>
<section class="cards" id="figures">{cards}</section>
<h2>{_e(label('staffing', lang))}</h2>
<div class="row">
<figure><img alt="{_e(label('map_beats', lang))}"
 src="{_png_uri(beats_map_png(summary, station=station, lang=lang))}">
<figcaption>{_e(label('map_beats', lang))}</figcaption></figure>
<figure>{roles_chart(fig, lang=lang)}<figcaption>{_e(label('chart_roles', lang))}</figcaption>
</figure></div>
<h3>{_e(label('table_beats', lang))} ({_e(label('actual_of_required', lang))})</h3>
{_beats_table(summary, station, lang)}
<h2>{_e(label('coverage', lang))}</h2>
<div class="row">
<figure><img alt="{_e(label('map_estates', lang))}"
 src="{_png_uri(estates_map_png(summary, station=station, lang=lang))}">
<figcaption>{_e(label('map_estates', lang))}</figcaption></figure>
<figure>{seen_chart(summary, station=station, lang=lang)}
<figcaption>{_e(label('chart_seen', lang))}</figcaption></figure></div>
<h3>{_e(label('table_estates', lang))}</h3>
{_estates_table(summary, station, lang)}
<h2>{_e(label('findings', lang))}</h2>
{found}
<h2>{_e(label('notes', lang))}</h2>
<ul class="notes">{notes}</ul>
</body></html>
"""


def check_out(out: str | Path) -> Path:
    """``out`` as a path when it names a ``.html`` or ``.pdf`` file, else
    :class:`InputError`.

    Examples
    --------
    >>> check_out("report.PDF").name
    'report.PDF'
    >>> check_out("report.docx")
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.InputError: --out 'report.docx': the report is written as .html or .pdf, not .docx Fix: give a file name ending in .html or .pdf
    """
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in REPORT_FORMATS:
        raise InputError(f"--out {str(out)!r}: the report is written as .html or .pdf, not "
                         f"{suffix or 'a file without a suffix'}",
                         fix="give a file name ending in .html or .pdf")
    return path


def write_report(summary: LeadershipSummary, out: str | Path, *, station: str | None = None,
                 lang: str = "en", chromium: str | None = None) -> Path:
    """Write the report to ``out``: ``.html`` (the page) or ``.pdf`` (printed by Chromium).

    Parameters
    ----------
    summary
        :func:`~beatgrid.layers.leadership.leadership_summary` of the project.
    out
        ``report.html`` or ``report.pdf`` (the folder must exist).
    station
        Only this station (default: the whole project).
    lang
        ``en`` or ``zh``.
    chromium
        Chromium for the PDF (default ``BEATGRID_CHROMIUM``, else ``chromium`` on the
        path; see :func:`beatgrid.layers.report_pdf.find_chromium`).

    Raises
    ------
    InputError
        ``out`` ends neither in ``.html`` nor in ``.pdf``; no Chromium for a PDF.
    """
    path = check_out(out)
    suffix = path.suffix.lower()
    page = report_html(summary, station=station, lang=lang)
    if suffix == ".html":
        path.write_text(page, encoding="utf-8")
    else:
        path.write_bytes(print_pdf(page, chromium=chromium))
    return path
