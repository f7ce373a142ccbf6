"""HTML → PDF with headless Chromium's print engine.

Why Chromium's ``--print-to-pdf`` rather than static images (kaleido): the PDF is then the very
page the HTML shows, charts included, printed by one browser process in a few seconds; plotly's
SVG charts stay vector (sharp at any zoom), and the print CSS of the briefing (A4, rows that never
split, running page numbers in ``@page`` margin boxes) applies as written. Kaleido would drive the
same Chromium once per chart and still need a second layout engine for the text and tables.

The browser is ``$CRITMIN_CHROMIUM`` or ``/usr/bin/chromium`` (Debian's package: ``apt-get install
chromium``), run without network access to anything: the HTML embeds plotly.js and all data.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from critmin.errors import CritminError

DEFAULT_CHROMIUM = "/usr/bin/chromium"
#: Milliseconds of virtual time the page gets to run its scripts (plotly draws the charts).
VIRTUAL_TIME_MS = 10_000
#: Seconds before a hung browser is stopped.
TIMEOUT_S = 180.0


def chromium_path() -> Path:
    """The Chromium binary to print with (``$CRITMIN_CHROMIUM`` overrides the default)."""
    return Path(os.environ.get("CRITMIN_CHROMIUM", DEFAULT_CHROMIUM))


def html_to_pdf(html: Path, pdf: Path, *, chromium: Path | None = None,
                timeout: float = TIMEOUT_S) -> Path:
    """Print ``html`` (a local file) to ``pdf`` with headless Chromium; returns ``pdf``.

    The PDF is written beside its final name and renamed when complete, so a failed print leaves
    no partial file behind.
    """
    browser = chromium or chromium_path()
    if not (browser.is_file() and os.access(browser, os.X_OK)):
        raise CritminError(f"no Chromium at {browser} to print the PDF; install it (apt-get "
                           "install chromium), set CRITMIN_CHROMIUM, or pass --no-pdf")
    html = html.resolve()
    pdf = pdf.resolve()
    partial = pdf.with_name(f".{pdf.name}.partial")
    profile = tempfile.mkdtemp(prefix="critmin-chromium-")
    command = [str(browser), "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--no-first-run", "--no-pdf-header-footer", f"--user-data-dir={profile}",
               f"--virtual-time-budget={VIRTUAL_TIME_MS}", f"--print-to-pdf={partial}",
               html.as_uri()]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              check=False)
        if done.returncode != 0 or not partial.is_file() or partial.stat().st_size == 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise CritminError(f"Chromium could not print {html.name} to PDF (exit "
                               f"{done.returncode}): {last}")
        os.replace(partial, pdf)
    except subprocess.TimeoutExpired:
        raise CritminError(f"Chromium did not finish printing {html.name} within "
                           f"{timeout:g} s") from None
    finally:
        partial.unlink(missing_ok=True)
        shutil.rmtree(profile, ignore_errors=True)
    return pdf
