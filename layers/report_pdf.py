"""Print an HTML page to PDF with Chromium (Debian's, driven by Playwright).

:func:`print_pdf` opens the page in a headless Chromium that may load nothing from
the network (every request other than ``data:`` and ``about:`` is aborted), and
prints it with the page's own ``@page`` size and margins, backgrounds included. The
browser is Debian's Chromium (``apt-get install chromium``), found by
:func:`find_chromium`; Playwright never downloads one.

Examples
--------
>>> LAUNCH_ARGS[0], CHROMIUM_ENV
('--headless', 'BEATGRID_CHROMIUM')
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from beatgrid.gis.errors import InputError

__all__ = ["print_pdf", "find_chromium", "LAUNCH_ARGS", "CHROMIUM_ENV"]

#: Environment variable naming the Chromium binary.
CHROMIUM_ENV = "BEATGRID_CHROMIUM"
#: Names tried on the path when :data:`CHROMIUM_ENV` is not set.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Chromium's arguments: headless, no sandbox (containers), no GPU, no background traffic,
#: and not its address bar's pop-up: headless Chromium 156 builds that pop-up (a page of
#: its own, ``chrome://omnibox-popup.top-chrome``: a second renderer process, about 3 s of
#: CPU and 160 MB) in every new window, beside the page printed. (Chromium ignores the
#: names of features it does not have.)
LAUNCH_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-features=WebUIOmniboxPopup,WebUIOmniboxAimPopup,WebUIOmniboxFullPopup")
#: Longest wait for the page to load and print, in milliseconds.
TIMEOUT_MS = 60_000
#: Request schemes the printed page may use (everything else is aborted).
LOCAL_SCHEMES = ("data:", "about:", "blob:")


def find_chromium(chromium: str | None = None) -> str:
    """The Chromium binary: ``chromium``, else ``$BEATGRID_CHROMIUM``, else the path's.

    Raises
    ------
    InputError
        None found (or the one named is not an executable file).

    Examples
    --------
    >>> find_chromium("/nonexistent/chromium")
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.InputError: no Chromium at '/nonexistent/chromium' to print the PDF Fix: install Debian's chromium (apt-get install chromium) and set BEATGRID_CHROMIUM to its path, or write the report as .html
    """
    named = chromium or os.environ.get(CHROMIUM_ENV, "").strip() or None
    if named is None:
        found = next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)
        if found is None:
            raise InputError("no Chromium found to print the PDF (looked for "
                             + ", ".join(CHROMIUM_NAMES) + ")", fix=_FIX)
        return found
    path = Path(named)
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise InputError(f"no Chromium at {named!r} to print the PDF", fix=_FIX)
    return str(path)


_FIX = ("install Debian's chromium (apt-get install chromium) and set BEATGRID_CHROMIUM to "
        "its path, or write the report as .html")


def print_pdf(page_html: str, *, chromium: str | None = None) -> bytes:
    """``page_html`` printed to PDF by Chromium (its ``@page`` size and margins).

    Raises
    ------
    InputError
        No Chromium (:func:`find_chromium`), or Playwright is not installed.
    """
    binary = find_chromium(chromium)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise InputError("printing the PDF needs the playwright package",
                         fix="pip install playwright (it drives the installed Chromium; "
                             "no browser is downloaded), or write the report as .html"
                         ) from None
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=binary, args=list(LAUNCH_ARGS))
        try:
            context = browser.new_context(service_workers="block")
            context.route("**/*", lambda route: route.continue_()
                          if route.request.url.startswith(LOCAL_SCHEMES) else route.abort())
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.set_content(page_html, wait_until="load")
            pdf: bytes = page.pdf(prefer_css_page_size=True, print_background=True)
        finally:
            browser.close()
    return pdf
