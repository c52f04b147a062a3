"""The report: every notebook on a cohort → one HTML page; privacy scan; a real browser."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest

from thuiszit_eval.cohort import Cohort
from thuiszit_eval.report import build_report, notebook_paths, scan_report
from thuiszit_eval.simulate import demo_cohort_path, write_simulated_cohort


def _ids(folder: Path) -> set[str]:
    c = Cohort.load(folder)
    ids = set(c.pupils.pupil_id) | set(c.episodes.episode_id)
    ids |= set(c.pupils.school_id.dropna())
    if c.interventions is not None:
        ids |= set(c.interventions.intervention_id)
    return ids


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo-report")
    return build_report(demo_cohort_path(), out, progress=False)


def test_demo_report_renders_every_notebook(demo_report):
    assert [s.notebook for s in demo_report.sections] == [p.name for p in notebook_paths()]
    assert not demo_report.failed, demo_report.summary()
    page = demo_report.html_path.read_text(encoding="utf-8")
    assert "Kerncijfers" in page and "Mediaan aantal dagen tot terugkeer" in page
    for i, s in enumerate(demo_report.sections, 1):
        assert f'id="sec-{i}"' in page
        assert (demo_report.html_path.parent / "notebooks" / s.notebook).exists()
    assert "<img" in page and "data:image/png;base64" in page  # figures inline
    assert (demo_report.html_path.parent / "key_figures.csv").exists()


def test_demo_report_passes_the_privacy_scan(demo_report):
    page = demo_report.html_path.read_text(encoding="utf-8")
    assert scan_report(page, _ids(demo_cohort_path()), min_cell=10) == []
    # nor does any output of the executed notebooks beside it hold an id
    ids = _ids(demo_cohort_path())
    for nb in (demo_report.html_path.parent / "notebooks").glob("*.ipynb"):
        outputs = json.dumps([c.get("outputs", []) for c in nbformat.read(nb, 4).cells])
        assert not [i for i in ids if i in outputs], nb.name


def test_scan_finds_leaked_ids_and_small_counts():
    page = ("<p>P1234abcd</p><table><tr><th>group</th><th>n</th><th>share</th></tr>"
            "<tr><td>a</td><td>7</td><td>3</td></tr><tr><td>b</td><td>40</td><td>5</td></tr>"
            "</table>")
    found = scan_report(page, {"P1234abcd", "Pnotthere1"}, min_cell=10)
    assert any("1 pupil/episode ids" in f for f in found)
    assert any("'n'" in f and "1 counts below 10" in f for f in found)
    assert scan_report(page.replace("7", "70").replace("P1234abcd", ""), {"P1234abcd"}) == []


def test_report_on_a_second_cohort_in_english(tmp_path):
    folder = write_simulated_cohort(tmp_path / "other", n_pupils=700, seed=7, progress=False)
    rep = build_report(folder, tmp_path / "out", lang="en", progress=False)
    assert not rep.failed, rep.summary()
    page = rep.html_path.read_text(encoding="utf-8")
    assert "Key figures" in page and "Median days to return" in page
    assert "Simulated cohort (seed 7" in page
    assert scan_report(page, _ids(folder)) == []


def test_failing_notebook_is_named_and_the_rest_renders(tmp_path):
    bad = tmp_path / "99_broken.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 99 — Broken"),
                nbformat.v4.new_code_cell("cohort_folder = ''", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("1 / 0")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, bad)
    rep = build_report(demo_cohort_path(), tmp_path / "out",
                       notebooks=[notebook_paths()[1], bad], progress=False)
    assert [s.status for s in rep.sections] == ["ok", "failed"]
    assert "ZeroDivisionError" in rep.sections[1].error and "cel 3" in rep.sections[1].error
    page = rep.html_path.read_text(encoding="utf-8")
    assert "could not be executed" in page or "kon niet worden uitgevoerd" in page
    # one sentence of cause: no traceback, no local path on the page
    assert "Traceback" not in page and str(tmp_path) not in page
    assert "division by zero" not in page
    assert rep.sections[0].title in page and rep.sections[0].title.startswith("01")


def _chrome():
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
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1200,1600"):
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=opts)


def test_report_in_headless_chromium(demo_report, tmp_path):
    browser = _chrome()
    try:
        browser.get(demo_report.html_path.resolve().as_uri())
        broken = browser.execute_script(
            "return [...document.images].filter(i => !i.complete || i.naturalWidth === 0)"
            ".length")
        assert broken == 0
        n_images = browser.execute_script("return document.images.length")
        assert n_images >= 5
        dangling = browser.execute_script(
            "return [...document.querySelectorAll('a[href^=\"#\"]')]"
            ".filter(a => !document.getElementById(a.getAttribute('href').slice(1)))"
            ".map(a => a.getAttribute('href'))")
        assert dangling == []
        external = browser.execute_script(
            "return [...document.querySelectorAll('a[href]')].map(a => a.href)"
            ".filter(h => !h.startsWith('file:') && !h.startsWith('about:'))")
        assert external == [], "the report must work offline"
        shot = tmp_path / "report.png"
        assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    finally:
        browser.quit()


def test_report_command_exit_codes(tmp_path, capsys):
    from thuiszit_eval.cli import main

    assert main(["report", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_key_figures_front_page(tmp_path):
    """Unadjusted medians equal kaplan_meier; the adjusted HR of Back to School (time-varying
    Cox, no immortal time) covers the simulator's true 1.5; small groups are suppressed."""
    from thuiszit_eval.outcomes import OutcomeDefinition, survival_table
    from thuiszit_eval.report import key_figures
    from thuiszit_eval.survival import kaplan_meier

    cohort = Cohort.load(demo_cohort_path())
    kf = key_figures(cohort, min_cell=10, lang="en").set_index("Group")
    km = kaplan_meier(survival_table(cohort, OutcomeDefinition()).data, "duration", "event")
    med = km.median().iloc[0]
    assert kf.loc["All episodes", "Median days to return"] == (
        f"{med['quantile']:.0f} ({med['lower']:.0f}–{med['upper']:.0f})")
    lo, hi = (float(x) for x in kf.loc["Back to School", "Adjusted hazard ratio of return (95% CI)"]
              .split("(")[1].rstrip(")").split("–"))
    truth = json.loads((demo_cohort_path() / "truth.json").read_text())
    assert lo <= truth["hazard_ratios"]["back_to_school"] <= hi
    big = key_figures(cohort, min_cell=600, lang="en").set_index("Group")
    assert big.loc["Back to School", "Episodes"] == "<600"
    assert big.loc["Back to School", "Median days to return"] == "suppressed (too few pupils)"


# --------------------------------------------------------------------------- speed (issue 15)

def _probe_notebook(folder: Path, name: str, extra: str = "") -> Path:
    """A notebook that shows what its kernel got from the report: the language, whether the
    run's shared cohort served it, and that fd 2 (not the page) receives kernel chatter."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {name}"),
        nbformat.v4.new_code_cell("cohort_folder = ''\nlang = 'nl'",
                                  metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "import os\nfrom pathlib import Path\nfrom IPython.display import Markdown\n"
            "from thuiszit_eval.demo import _cached, load_cohort\n"
            "hit = _cached(Path(cohort_folder)) is not None\n"
            "cohort = load_cohort(cohort_folder)\n"
            "os.write(2, b'probe-fd2-marker\\n')\n"
            "Markdown(f\"lang={os.environ['THUISZIT_EVAL_LANG']} shared={hit} "
            "pupils={len(cohort.pupils)}\")"),
        nbformat.v4.new_code_cell(extra or "None"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def serial_and_parallel(tmp_path_factory):
    """The same small report (two probes, a failing and a not-applicable one, notebook 00)
    built one notebook at a time and two at a time."""
    base = tmp_path_factory.mktemp("jobs")
    nbs = [_probe_notebook(base, "90_probe"),
           _probe_notebook(base, "91_fails", "1 / 0"),
           notebook_paths()[0],
           _probe_notebook(base, "92_not_applicable",
                           "from thuiszit_eval.estimability import NotEstimable\n"
                           "raise NotEstimable('singular', what='bootstrap')")]
    return {jobs: build_report(demo_cohort_path(), base / f"out{jobs}", lang="en",
                               notebooks=nbs, progress=False, jobs=jobs) for jobs in (1, 2)}


def test_parallel_and_serial_reports_are_the_same(serial_and_parallel):
    one, two = serial_and_parallel[1], serial_and_parallel[2]
    assert [s.status for s in one.sections] == ["ok", "failed", "ok", "not_applicable"]
    assert [(s.notebook, s.status, s.title, s.error, s.reason) for s in two.sections] == [
        (s.notebook, s.status, s.title, s.error, s.reason) for s in one.sections]
    assert one.sections[3].reason and "bootstrap" in one.sections[3].reason  # in English
    assert two.html_path.read_text(encoding="utf-8") == one.html_path.read_text(
        encoding="utf-8")


def test_kernels_get_language_shared_cohort_and_quiet_stderr(serial_and_parallel):
    n = len(Cohort.load(demo_cohort_path()).pupils)
    for rep in serial_and_parallel.values():
        page = rep.html_path.read_text(encoding="utf-8")
        assert f"lang=en shared=True pupils={n}" in page  # unpickled, not re-read
        assert "probe-fd2-marker" not in page
        log = (rep.html_path.parent / "notebooks" / "kernels.log").read_text()
        assert log.count("probe-fd2-marker") == 3  # each probe's kernel wrote to the log
        # the run's copy of the cohort is gone with the run
        assert not list(rep.html_path.parent.glob(".cohort-cache-*"))


def test_shared_cohort_is_never_stale(example, tmp_path, monkeypatch):
    """The run's copy serves only the folder it was made from, as its files were then: a
    changed size or modification time of any file means reading the files again."""
    from thuiszit_eval.demo import CACHE_ENV, folder_key, load_cohort, shared_cohort
    from thuiszit_eval.schema import schema_dir

    cached = "served from the run's copy"
    cohort = Cohort.load(example)
    cohort.metadata["cohort_name"] = cached
    with shared_cohort(cohort, folder_key(example), tmp_path / "out") as env:
        monkeypatch.setenv(CACHE_ENV, env[CACHE_ENV])
        assert load_cohort(example).name == cached
        assert load_cohort(schema_dir() / "example").name != cached  # another folder
        pupils = example / "pupils.csv"
        st = pupils.stat()
        os.utime(pupils, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # touched only
        assert load_cohort(example).name != cached
    with shared_cohort(cohort, folder_key(example), tmp_path / "out") as env:
        monkeypatch.setenv(CACHE_ENV, env[CACHE_ENV])
        assert load_cohort(example).name == cached
        pupils.write_text(pupils.read_text(encoding="utf-8").replace("\n", "\r\n"),
                          encoding="utf-8")  # same rows, another size
        fresh = load_cohort(example)
        assert fresh.name != cached and len(fresh.pupils) == len(cohort.pupils)
    assert not Path(env[CACHE_ENV]).exists()  # removed with the run
    assert not list((tmp_path / "out").iterdir())
