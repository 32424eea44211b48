"""``beatgrid report``: the leadership report, as one HTML page or a PDF.

``beatgrid report --project P --out report.html|report.pdf [--station S01] [--lang zh]``
assesses staffing (``project.policing.assess()``) and camera coverage
(``project.coverage.analyse()``), proposes cameras for the riskiest old estates, and
writes the report of :mod:`beatgrid.layers.report`: key figures, maps and charts as
images, ranked tables, and one paragraph per finding (what is short, where, by how
much, what would close it). A ``.pdf`` is the same page printed by Debian's Chromium
(``BEATGRID_CHROMIUM`` or ``--chromium``). The dashboard (``beatgrid serve``, then
``/dashboard``) shows the same figures and offers the same report.
"""

from __future__ import annotations

import argparse
from typing import Any

from beatgrid.api.commands._common import IntArg, add_project, ensure_parent
from beatgrid.gis.errors import NotFoundError
from beatgrid.gis.policing.policy import policy_sections
from beatgrid.gis.project import Project
from beatgrid.layers.leadership import PROPOSAL_CAMERAS, PROPOSAL_ESTATES, leadership_summary
from beatgrid.layers.report_i18n import LANGS

#: ``--proposals``: old estates per station given new cameras, 0 = none.
PROPOSALS = IntArg("a number of old estates per station (0: none)", minimum=0, maximum=100)
#: ``--cameras``: new cameras per such estate.
CAMERAS = IntArg("a number of cameras per estate", minimum=1, maximum=50)


def register(sub: Any) -> None:
    """Add ``report`` to the subcommands ``sub``."""
    p = sub.add_parser(
        "report", help="leadership report: understaffed beats, under-monitored old estates "
                       "(HTML or PDF)",
        description="Write the leadership report: key figures, maps of the understaffed "
                    "beats and of the under-monitored old estates, ranked tables, and one "
                    "paragraph per finding with the staff to add and the cameras to place. "
                    ".html is one self-contained page; .pdf is printed with Chromium.")
    add_project(p)
    p.add_argument("--out", required=True, metavar="report.html|report.pdf",
                   help="the report file: .html (self-contained page) or .pdf")
    p.add_argument("--station", metavar="ID", help="only this police station (default: all)")
    p.add_argument("--lang", choices=LANGS, default="en", help="language (default en; zh: 中文)")
    p.add_argument("--policy", metavar="FILE.toml",
                   help="staffing policy overriding the shipped defaults (see docs/staffing.md)")
    p.add_argument("--settings", metavar="FILE.toml",
                   help="coverage settings overriding the shipped defaults")
    p.add_argument("--proposals", type=PROPOSALS, default=PROPOSAL_ESTATES, metavar="N",
                   help="propose cameras for the N riskiest old estates of each station "
                        f"(default {PROPOSAL_ESTATES}; 0: none)")
    p.add_argument("--cameras", type=CAMERAS, default=PROPOSAL_CAMERAS, metavar="K",
                   help=f"new cameras proposed per such estate (default {PROPOSAL_CAMERAS})")
    p.add_argument("--chromium", metavar="PATH",
                   help="Chromium for the PDF (default: $BEATGRID_CHROMIUM, else chromium "
                        "on the PATH)")
    p.set_defaults(func=run_report)


def run_report(args: argparse.Namespace) -> int:
    """``beatgrid report``: compute the summary, write the report, print the key figures."""
    # imported here: matplotlib takes 0.7 s to import, which every other command paid
    from beatgrid.layers.report import check_out, write_report
    from beatgrid.layers.report_charts import percent

    check_out(args.out)
    project = Project.open(args.project, coverage=args.settings,
                           **policy_sections(args.policy))
    if args.station is not None:  # an unknown station is refused before computing
        stations = [str(s) for s in project.layer("stations")["id"]]
        if args.station not in stations:
            raise NotFoundError(f"--station {args.station!r} is not in the project",
                                fix="use one of " + ", ".join(stations)
                                    + " (or omit --station for the whole project)")
    summary = leadership_summary(project, proposal_estates=args.proposals,
                                 proposal_cameras=args.cameras)
    station = summary.check_station(args.station)
    path = write_report(summary, ensure_parent(args.out), station=station, lang=args.lang,
                        chromium=args.chromium)
    f = summary.figures(station)
    where = f"station {station}" if station else "the project"
    print(f"{f.beats:,} beats assessed in {where}; {f.understaffed:,} understaffed, "
          f"{f.clearly_understaffed:,} clearly (high or critical)")
    print("staff short: " + ", ".join(f"{role} {n:,}" for role, n in f.short.items()))
    print(f"{f.cameras_in_estates:,} of {f.cameras:,} cameras inside estates "
          f"({f.cameras_in_old_estates:,} in old estates); open space seen: "
          f"{percent(f.seen_share)}")
    print(f"old estates: {f.old_estates:,}, {f.old_estates_without_camera:,} with no camera "
          f"inside; their open space seen: {percent(f.old_estates_seen_share)}; "
          f"{f.proposed_cameras:,} cameras proposed")
    print(f"report written to {path}")
    return 0
