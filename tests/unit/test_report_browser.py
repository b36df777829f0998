"""The report in a real browser: headless Chromium opens it without a console message (script error, blocked
external asset), and its charts are drawn (pixels in the series' colours, not a blank page).

    pytest tests/unit/test_report_browser.py          # needs Debian's `chromium` (.ci/run installs it)

How errors are caught without a DevTools client: `--enable-logging=stderr --v=0` prints every console message
(errors, uncaught exceptions, Content-Security-Policy violations) as an `INFO:CONSOLE` line, and the report's
first inline script copies any uncaught error into #report-errors, which `--dump-dom` shows. A page with a broken
script and an external image checks that both detectors do fire. Each test starts Chromium once or twice (~1-2 s).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from steep.report import svg
from steep.report.build import write_report
from tests.report_run import write_run

CHROMIUM = next((path for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable") if (path := shutil.which(name))), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on PATH (Debian: apt-get install chromium; .ci/run installs it)")
# the full report of the synthetic run is ~4,000 px tall at this width
WINDOW = "1200,5000"


def _chromium(tmp_path: Path, page: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"  # own profile: parallel runs never share a lock
    command = [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--no-first-run", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args, page.as_uri()]
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)


def open_page(tmp_path: Path, page: Path) -> tuple[str, list[str]]:
    """(the DOM after scripts ran, the console messages)."""
    done = _chromium(tmp_path, page, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


def screenshot(tmp_path: Path, page: Path, size: str = WINDOW) -> Image.Image:
    png = tmp_path / f"{page.stem}.png"
    done = _chromium(tmp_path, page, f"--screenshot={png}", f"--window-size={size}")
    assert png.exists(), done.stderr[-2000:]
    return Image.open(png).convert("RGB")


def pixels_near(image: Image.Image, color: str, tolerance: int = 6) -> int:
    """How many pixels are within `tolerance` (per channel) of a #rrggbb colour."""
    target = tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))
    return sum(count for count, rgb in image.getcolors(image.width * image.height) if all(abs(a - b) <= tolerance for a, b in zip(rgb, target)))


def non_white_share(image: Image.Image) -> float:
    white = sum(count for count, rgb in image.getcolors(image.width * image.height) if min(rgb) >= 245)
    return 1 - white / (image.width * image.height)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    return write_report(write_run(tmp_path_factory.mktemp("browser") / "run"))[0]


def test_report_opens_without_console_messages(report, tmp_path):
    dom, console = open_page(tmp_path, report)
    assert console == []
    assert 'data-report-ready="1"' in dom  # the last inline script ran to its end
    assert '<div id="report-errors"></div>' in dom
    assert dom.count("<svg") >= 12


def test_the_detectors_catch_a_broken_page(report, tmp_path):
    broken = tmp_path / "broken.html"
    page = report.read_text().replace("</body>", "<script>notDefined();</script><img src='https://example.com/x.png'></body>")
    broken.write_text(page)
    dom, console = open_page(tmp_path, broken)
    assert re.search(r'<div id="report-errors">[^<]*notDefined', dom)
    assert any("notDefined" in line for line in console)
    assert any("Content Security Policy" in line for line in console)  # the external image was blocked, and said so


def test_one_chart_draws_its_line(tmp_path):
    chart = svg.line_chart({"train": [(step, 3.0 - 0.1 * step) for step in range(1, 21)]}, title="loss", x_label="step", y_label="loss")
    page = tmp_path / "chart.html"
    page.write_text(f"<!doctype html><meta charset='utf-8'><body style='margin:0;background:#fff'>{chart}</body>")
    image = screenshot(tmp_path, page, "600,300")
    line = pixels_near(image, svg.PALETTE[0])
    assert line > 500, line  # 20 dots and a polyline across ~480 px, 2 px wide
    assert 0.01 < non_white_share(image) < 0.5  # axes, labels and the line; not blank, not a black page
    blank = tmp_path / "blank.html"
    blank.write_text("<!doctype html><body style='margin:0;background:#fff'></body>")
    assert pixels_near(screenshot(tmp_path, blank, "600,300"), svg.PALETTE[0]) == 0  # the measure sees nothing in nothing


def test_full_report_screenshot_shows_every_model_colour(report, tmp_path):
    image = screenshot(tmp_path, report)
    assert non_white_share(image) > 0.03
    for stage, color in svg.STAGE_COLORS.items():  # answer-length histograms, coherence lines: one colour per model
        assert pixels_near(image, color, tolerance=3) > 300, stage
    assert pixels_near(image, svg.DROPPED_COLOR, tolerance=3) > 100  # the funnel's dropped segments
