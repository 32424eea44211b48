"""Splice the capability pages of ``docs/`` into README.md (one level deeper).

The pages in ``docs/`` are the sources; README.md holds them all between the
``docs:start`` and ``docs:end`` markers so the README documents everything.
``tests/test_readme.py`` fails when the README is out of date.

    python scripts/build_readme.py          # rewrite README.md
    python scripts/build_readme.py --check  # exit 1 when README.md is stale
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The order of the sections in the README.
PAGES = ["architecture.md", "sample.md", "import-export.md", "grids.md", "grids-http.md", "http.md",
         "service.md", "plans.md", "planner.md", "ogc.md", "jobs.md",
         "coverage.md", "staffing.md", "dashboard.md", "notebooks.md", "qgis.md", "batch.md",
         "maps.md", "setup.md"]
START, END = "<!-- docs:start -->\n", "<!-- docs:end -->"


def render_sections(root: Path = ROOT) -> str:
    parts = []
    for name in PAGES:
        page = root / "docs" / name
        if not page.exists():
            continue
        text = page.read_text(encoding="utf-8").strip() + "\n"
        top = min((len(m.group(1)) for m in re.finditer(r"^(#+) ", text, re.M)), default=1)
        shift = max(0, 2 - top)
        in_code = False
        lines = []
        for line in text.splitlines():
            if line.startswith("```"):
                in_code = not in_code
            if not in_code and re.match(r"^#+ ", line):
                line = "#" * shift + line
            lines.append(line)
        parts.append(f"<!-- from docs/{name} -->\n" + "\n".join(lines) + "\n")
    return "\n".join(parts)


def build(readme: str, root: Path = ROOT) -> str:
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return head + START + render_sections(root) + END + tail


def main(argv: list[str]) -> int:
    path = ROOT / "README.md"
    old = path.read_text(encoding="utf-8")
    new = build(old)
    if "--check" in argv:
        if new != old:
            print("README.md is out of date: run python scripts/build_readme.py")
            return 1
        return 0
    path.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
