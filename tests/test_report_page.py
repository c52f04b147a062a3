"""The report page in a real browser (headless Chromium) at 1280 px: nothing is wider than
the page or hidden in a scroll box, one font, and every image has alt text in the report's
language.

:func:`page_problems` is the check; the tests run it on the full reports of a 300-pupil cohort
in Dutch and English, and ``tests/test_report.py`` on the full demo report (marked
``demo_report``); ``tests/conftest.py`` builds each report once per session.
"""

from __future__ import annotations

import re
import shutil
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest

from thuiszit_eval.messages import LANGS, t

#: The width of a laptop screen; the issue found Table 1 cut off at 1400 px.
WIDTH = 1280

#: What the page says about its own layout, measured by the browser.
_MEASURE = """
const out = {problems: []};
const de = document.documentElement;
out.viewport = de.clientWidth;
if (de.scrollWidth > de.clientWidth)
  out.problems.push(`page: scroll width ${de.scrollWidth} > ${de.clientWidth}`);
const blocks = [...document.querySelectorAll('#front, section')];
if (!blocks.length) out.problems.push('not a report page: no front page, no sections');
for (const s of blocks) {
  if (s.scrollWidth > s.clientWidth + 1)
    out.problems.push(`${s.id}: scroll width ${s.scrollWidth} > ${s.clientWidth}`);
  const right = s.getBoundingClientRect().right;
  for (const el of s.querySelectorAll('table, img, pre, div, p, ul')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > right + 1)
      out.problems.push(`${s.id}: ${el.tagName.toLowerCase()} sticks out by ` +
                        `${Math.round(r.right - right)} px`);
    const ox = getComputedStyle(el).overflowX;
    if (ox !== 'visible' && el.scrollWidth > el.clientWidth + 1)
      out.problems.push(`${s.id}: ${el.tagName.toLowerCase()}.${el.className} hides ` +
                        `${el.scrollWidth - el.clientWidth} px in a scroll box`);
  }
}
out.images = [...document.images].map(i => [i.closest('section, #front')?.id || '',
                                             i.getAttribute('alt')]);
const font = getComputedStyle(document.body).fontFamily;
out.fonts = [...new Set([...document.querySelectorAll('p, li, td, th, h1, h2, h3, h4')]
  .filter(e => !e.closest('pre, code') && e.textContent.trim())
  .map(e => getComputedStyle(e).fontFamily))];
out.bodyFont = font;
return out;
"""


def _chrome(width: int = WIDTH):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("headless Chromium not installed (Debian packages chromium, "
                    "chromium-driver; .ci/run installs them)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--hide-scrollbars",
                 "--disable-component-update", "--disable-sync", f"--window-size={width},1000"):
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=opts)


def page_problems(html_path: Path, lang: str, width: int = WIDTH) -> list[str]:
    """Everything wrong with the page's layout and images at ``width`` px in Chromium: a page
    or section wider than the window, an element sticking out of its section or hiding part
    of itself in a scroll box, an image without alt text in ``lang`` (nbconvert's English
    placeholder counts as none), text in another font than the page's. Empty = fine."""
    browser = _chrome(width)
    try:
        browser.get(Path(html_path).resolve().as_uri())
        got = browser.execute_script(_MEASURE)
    finally:
        browser.quit()
    problems = list(got["problems"])
    if abs(got["viewport"] - width) > 20:
        problems.append(f"the window is {got['viewport']} px wide, not {width}")
    start = t("figure_alt_plain", lang).rstrip(".")  # "Figuur" / "Figure"
    others = [t("figure_alt_plain", o).rstrip(".") for o in LANGS if o != lang]
    for where, alt in got["images"]:
        alt = (alt or "").strip()
        if not alt or "No description" in alt:
            problems.append(f"{where}: an image without alt text")
        elif not alt.startswith(start) or any(alt.startswith(o) for o in others):
            problems.append(f"{where}: alt text not in {lang}: {alt[:60]!r}")
    if got["fonts"] != [got["bodyFont"]]:
        problems.append(f"more than one font: {got['fonts']}")
    return problems


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_small_report_fits_1280_px_and_describes_its_images(report_builds, lang):
    """The whole report of a 300-pupil cohort (tests/conftest.py builds it once)."""
    rep = report_builds("n300", lang)
    assert not rep.failed, rep.summary()
    page = rep.html_path.read_text(encoding="utf-8")
    assert page.count("<img") >= 2 and "<table" in page
    assert page_problems(rep.html_path, lang) == []
    # the notebooks' tables: no positional index column, no NaN/None, no ungrouped count
    tables = pd.read_html(StringIO(page), thousands=None, keep_default_na=False)
    assert len(tables) >= 5
    for table in tables:
        if table.empty:  # headers only (e.g. no rejected rows): no index to show
            continue
        first = table.iloc[:, 0].astype(str).tolist()
        assert first != [str(i) for i in range(len(table))], table.head()
        cells = table.astype(str).to_numpy().ravel().tolist()
        assert not [c for c in cells if c in ("nan", "NaN", "None")], table.head()
        assert not [c for c in cells if re.match(r"\d{4,}(\D|$)", c)], table.head()


def test_the_check_finds_a_cut_table_and_a_missing_alt(tmp_path):
    """The check itself: a table wider than the page in a scroll box, an image with
    nbconvert's placeholder, and a second font are each found."""
    cells = "".join(f"<th>column_{i}_with_a_long_name_that_does_not_wrap</th>" for i in range(30))
    png = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJ"
           "RU5ErkJggg==")
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><body style='font-family: serif'><section id='sec-1'>"
        f"<div style='overflow-x:auto'><table><tr>{cells}</tr></table></div>"
        f"<img alt='No description has been provided for this image' "
        f"src='data:image/png;base64,{png}'>"
        "<p style='font-family: monospace'>text</p></section></body></html>",
        encoding="utf-8")
    problems = page_problems(page, "nl")
    assert any("scroll box" in p for p in problems), problems
    assert any("without alt text" in p for p in problems), problems
    assert any("more than one font" in p for p in problems), problems
