"""The report: every notebook on a cohort → one HTML page; privacy scan; a real browser."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import nbformat
import pandas as pd
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
def demo_report(report_builds):
    """The Dutch demo report, built once per session (tests/conftest.py)."""
    return report_builds("demo", "nl")


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


def test_report_on_a_second_cohort_in_english(report_builds):
    from thuiszit_eval.describe import cohort_name

    rep = report_builds("n300", "en")
    assert not rep.failed, rep.summary()
    page = rep.html_path.read_text(encoding="utf-8")
    assert "Key figures" in page and "Median days to return" in page
    folder = report_builds.folder("n300")
    assert f"<strong>{cohort_name(Cohort.load(folder), 'en')}</strong>" in page
    assert "Simulated cohort (seed 3" in page
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


def test_report_in_headless_chromium(demo_report, tmp_path):
    from test_report_page import _chrome  # one way to start headless Chromium

    browser = _chrome(1200)
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


@pytest.mark.demo_report
def test_demo_report_fits_1280_px_and_describes_its_images(demo_report):
    """The full Dutch demo report in headless Chromium at 1280 px: no section wider than the
    page or hidden in a scroll box (Table 1 of notebook 02 was cut off), one font, every
    image with Dutch alt text (see tests/test_report_page.py)."""
    from test_report_page import page_problems

    assert page_problems(demo_report.html_path, "nl") == []


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


# --------------------------------------------------------------------------- the front page


@pytest.fixture(scope="module")
def demo_figures():
    from thuiszit_eval.report import key_figures

    return key_figures(Cohort.load(demo_cohort_path()), min_cell=10, lang="en")


def test_back_within_is_the_cumulative_incidence_not_one_minus_km(demo_figures):
    """'Back within 4 weeks / 3 months' is the Aalen-Johansen incidence of return (cause 1,
    R-checked in test_survival), with its interval — not 1 − Kaplan-Meier, which counts
    pupils with a competing outcome as still able to return."""
    from thuiszit_eval.formatting import estimate_with_interval
    from thuiszit_eval.outcomes import OutcomeDefinition, survival_table
    from thuiszit_eval.survival import aalen_johansen, kaplan_meier

    data = survival_table(Cohort.load(demo_cohort_path()), OutcomeDefinition()).data
    aj = aalen_johansen(data, "duration", "event").at_times((28, 91), state=1)
    km = kaplan_meier(data, "duration", "event").at_times((28, 91))
    kf = demo_figures.set_index("Group")
    for i, col in enumerate(("Back within 4 weeks", "Back within 3 months")):
        r = aj.iloc[i]
        assert kf.loc["All episodes", col] == estimate_with_interval(
            r["pstate"], r["lower"], r["upper"], "en", 1, pct=True)
        assert abs(km["returned"].iloc[i] - r["pstate"]) > 0.002  # the two really differ


def test_a_share_that_gives_a_small_count_away_is_not_shown(demo_figures):
    """agenda item 4: 191 episodes, a handful back within 4 weeks — '2,1% of 191' would say
    4 pupils. The 3-month share (dozens back) is shown."""
    from thuiszit_eval.outcomes import OutcomeDefinition, survival_table
    from thuiszit_eval.report import key_figures

    data = survival_table(Cohort.load(demo_cohort_path()), OutcomeDefinition(),
                          group="intervention").data
    g = data[data["intervention"] == "agendapunt_4"]
    back_4w = int(((g["event"] == 1) & (g["duration"] <= 28)).sum())
    assert 0 < back_4w < 10
    row = demo_figures.set_index("Group").loc["agenda item 4"]
    assert row["Back within 4 weeks"] == "not shown (small numbers)"
    assert row["Back within 3 months"].endswith(")") and "%" in row["Back within 3 months"]
    loose = key_figures(Cohort.load(demo_cohort_path()), min_cell=back_4w, lang="en")
    assert "%" in loose.set_index("Group").loc["agenda item 4", "Back within 4 weeks"]


def test_front_page_leads_with_adjusted_sentences_and_states_the_caveat(demo_figures):
    kf = demo_figures.set_index("Group")
    hr = kf.loc["Back to School", "Adjusted hazard ratio of return (95% CI)"]  # "1.52 (1.33–1.73)"
    est, lo, hi = re.match(r"([\d.]+) \(([\d.]+)–([\d.]+)\)", hr).groups()
    sentences = demo_figures.attrs["adjusted"]
    assert sentences[0] == (f"Pupils with Back to School return to school {est} times as fast "
                            f"({lo}–{hi}) as comparable pupils without it.")
    assert len(sentences) == len(kf) - 2  # every intervention, not the total or usual care
    assert any("neither clearly faster nor clearly slower" in s for s in sentences)
    caveat = demo_figures.attrs["caveat"]
    med = kf["Median days to return"].str.split(" ").str[0]
    assert (f"the median of {med['Back to School']} days with Back to School against "
            f"{med['usual care']} days for usual care") in caveat
    assert "time before an intervention starts counts for the intervention group" in caveat
    assert kf.loc["usual care", "Adjusted hazard ratio of return (95% CI)"] == "reference group"


def test_the_no_intervention_group_has_one_name():
    """The front page's name for episodes without an intervention is the code list's label
    of usual_care, which notebook 02 and the narratives use."""
    from thuiszit_eval.messages import t
    from thuiszit_eval.schema import labels

    for lang in ("nl", "en"):
        assert t("no_intervention", lang) == labels("intervention", lang)["usual_care"]


def test_page_layout_front_page_and_contents(tmp_path, demo_figures):
    """The page built from sections: adjusted answers first, the caveat right before the
    unadjusted table, contents as a plain list (titles carry their own numbers), every image
    with alt text in the report's language, the follow-up end as a date in words."""
    from thuiszit_eval.report import Section, _page

    img = '<img alt="No description has been provided for this image" src="data:x">'
    sections = [Section("03_x.ipynb", "03 — Tijd tot terugkeer", True, body=f"<p>a</p>{img}"),
                Section("04_y.ipynb", "04 — Regressie", True, body='<img alt="Figuur: b.">')]
    page = _page(Cohort.load(demo_cohort_path()), sections, demo_figures, "", "nl", 10)
    assert "<ol" not in page and '<ul class="toc">' in page
    assert page.index("Pupils with Back to School") < page.index('<p class="caveat">') \
        < page.index('<table') < page.index("<h2>Inhoud")
    assert "No description" not in page
    assert 'alt="Figuur in hoofdstuk 03 — Tijd tot terugkeer."' in page
    assert 'alt="Figuur: b."' in page
    assert "30 juni 2025" in page


def test_small_cohort_front_page_gives_no_count_away(tmp_path):
    """A 15-pupil cohort: every group but one is under min_cell, so the total minus the one
    shown count would give their sum away; that count is hidden too. No model can be fitted:
    no sentence per intervention."""
    from thuiszit_eval.report import _hidden_counts, key_figures

    folder = write_simulated_cohort(tmp_path / "tiny", n_pupils=15, seed=5, progress=False)
    kf = key_figures(Cohort.load(folder), min_cell=10, lang="nl")
    shown = [int(v.replace(".", "")) for v in kf["Episodes"] if v.replace(".", "").isdigit()]
    total, groups = shown[0], shown[1:]
    assert total >= 10 and not 0 < total - sum(groups) < 10, kf["Episodes"].tolist()
    assert "niet getoond (kleine aantallen)" in kf["Episodes"].tolist()
    assert kf.attrs["adjusted"] == []
    assert _hidden_counts(pd.Series({"a": 11, "b": 4, "c": 50}), 10) == {"a"}
    assert _hidden_counts(pd.Series({"a": 11, "b": 4, "c": 3, "d": 50}), 10) == {"a"}
    assert _hidden_counts(pd.Series({"a": 11, "b": 12}), 10) == set()
# ------------------------------------------------------------------ privacy gate (issue 13)

SCRIPT = "<script>alert(1)</script>"


def _inject(folder: Path) -> Path:
    """Put SCRIPT in every metadata field a cohort gives: datapackage name, title,
    description, cohort name, region, and an extra field's name, title, description and
    values."""
    import pandas as pd

    dp = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    dp.update(name=SCRIPT, title=SCRIPT, description=SCRIPT)
    # not marked simulated: a simulated cohort is named by its seed in the report's
    # language, and here the cohort's own name must reach every place that shows it
    dp["thuiszit"].update(cohort_name=SCRIPT, region=SCRIPT, simulated=False)
    field = SCRIPT + "_buurt"
    for r in dp["resources"]:
        for e in r.get("extra_fields", []):
            if e["name"] == "neighbourhood_type":
                e.update(name=field, title=SCRIPT, description=SCRIPT)
    (folder / "datapackage.json").write_text(json.dumps(dp), encoding="utf-8")
    pupils = pd.read_csv(folder / "pupils.csv", dtype=str, keep_default_na=False)
    pupils = pupils.rename(columns={"neighbourhood_type": field})
    pupils.loc[pupils.index[: len(pupils) // 2], field] = SCRIPT
    pupils.to_csv(folder / "pupils.csv", index=False)
    return folder


def _html_outputs(nb_path: Path) -> str:
    """What a notebook shows as HTML or Markdown (plain-text outputs are escaped anyway)."""
    nb = nbformat.read(nb_path, 4)
    out = []
    for c in nb.cells:
        if c.cell_type == "markdown":
            out.append(c.source)
        for o in c.get("outputs", []):
            data = o.get("data", {})
            out += ["".join(data.get(k, "")) for k in ("text/html", "text/markdown")]
    return "\n".join(out)


@pytest.fixture(scope="module")
def injected_cohort(tmp_path_factory):
    from thuiszit_eval.simulate import write_shape

    return _inject(write_shape("tiny_15", tmp_path_factory.mktemp("inj") / "c", seed=2))


def _assert_only_escaped(rep) -> None:
    out = rep.html_path.parent
    page = rep.html_path.read_text(encoding="utf-8")
    assert SCRIPT not in page and "alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown, as text
    for nb in (out / "notebooks").glob("*.ipynb"):
        shown = _html_outputs(nb)
        assert SCRIPT not in shown and "alert(1)</script>" not in shown, nb.name
        # and the executed notebook carries no local path of the cohort or the output
        text = nb.read_text(encoding="utf-8")
        repo = str(notebook_paths()[0].parent.parent)
        assert str(out.resolve()) not in text and "/tmp/" not in text, nb.name
        assert repo not in text and sys.prefix not in text, nb.name  # tracebacks too


def test_injected_script_is_only_escaped_in_page_and_notebooks(injected_cohort, tmp_path):
    nbs = notebook_paths()[:3]  # 00, 01, 02: the cohort's name and fields in the narrative
    rep = build_report(injected_cohort, tmp_path / "out", notebooks=nbs, progress=False,
                       lang="en")
    assert [s.status for s in rep.sections] == ["ok", "ok", "ok"], rep.summary()
    _assert_only_escaped(rep)
    nb1 = _html_outputs(tmp_path / "out" / "notebooks" / "01_data_quality.ipynb")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in nb1  # the narrative names the cohort


def test_full_report_on_injected_15_pupil_cohort(report_builds):
    rep = report_builds("n15_injected", "nl")
    _assert_only_escaped(rep)
    page = rep.html_path.read_text(encoding="utf-8")
    assert "Traceback" not in page and str(rep.html_path.parent) not in page
    assert not rep.failed, rep.summary()


def _leaky_notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 98 — Leaky"),
                nbformat.v4.new_code_cell("cohort_folder = ''", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(
                    "import pandas as pd\n"
                    "pd.DataFrame({'groep': ['a', 'b'], 'n': [3, 40]})")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = folder / "98_leaky.ipynb"
    nbformat.write(nb, path)
    return path


def test_leaky_table_fails_closed(tmp_path, monkeypatch, capsys):
    """A count of 3 on the page: exit 3, the finding printed and written, a banner."""
    from thuiszit_eval import report as report_mod
    from thuiszit_eval.cli import EXIT_NOT_PUBLISHABLE, main

    leaky = _leaky_notebook(tmp_path)
    monkeypatch.setattr(report_mod, "notebook_paths", lambda: [leaky])
    out = tmp_path / "out"
    code = main(["report", str(demo_cohort_path()), "--out", str(out), "--quiet"])
    assert code == EXIT_NOT_PUBLISHABLE == 3
    printed = capsys.readouterr().out
    finding = "report.html: table 2, column 'n': 1 counts below 10"
    assert "NOT PUBLISHABLE" in printed and finding in printed
    assert finding in (out / "privacy_findings.txt").read_text(encoding="utf-8").splitlines()
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Niet publiceerbaar" in page and "Privacycontrole geslaagd" not in page
    # the section rendered the count: the banner is what stops it being published
    assert "<td>3</td>" in page


def test_privacy_check_passes_a_clean_report_and_says_so(tmp_path):
    from thuiszit_eval.report import FINDINGS_FILE, privacy_check

    cohort = Cohort.load(demo_cohort_path())
    out = tmp_path / "out"
    (out / "notebooks").mkdir(parents=True)
    (out / "report.html").write_text(
        "<html><body><table><tr><th>Groep</th><th>Episodes</th><th>Terug</th></tr>"
        "<tr><td>a</td><td>191</td><td>21,5% (16,0–27,0)</td></tr></table></body></html>",
        encoding="utf-8")
    (out / FINDINGS_FILE).write_text("stale\n", encoding="utf-8")
    assert privacy_check(out, cohort, "en", 10) == []
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Privacy check passed" in page and not (out / FINDINGS_FILE).exists()
    # a share that gives 4 pupils back is a finding, on the page and in the file
    (out / "report.html").write_text(page.replace("21,5% (16,0–27,0)", "2,1% (0,1–4,0)"),
                                     encoding="utf-8")
    found = privacy_check(out, cohort, "en", 10)
    assert found == ["report.html: table 1, column 'Terug', row 1: the share 2,1% of 191 "
                     "gives back 4"]
    assert "Not publishable" in (out / "report.html").read_text(encoding="utf-8")
    assert (out / FINDINGS_FILE).read_text(encoding="utf-8").strip() == found[0]


def test_demo_report_is_publishable(demo_report):
    assert demo_report.publishable, demo_report.findings
    page = demo_report.html_path.read_text(encoding="utf-8")
    assert "Privacycontrole geslaagd" in page


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


def test_a_kernel_that_fails_to_start_is_started_again_but_a_failing_cell_is_not(
        tmp_path, monkeypatch):
    """Kernels starting in parallel can race for a TCP port ("Address already in use"):
    the notebook is run again, up to KERNEL_RETRIES times; an error in a cell is final."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from thuiszit_eval import report as report_mod

    calls = []

    def flaky(nb, out, **kwargs):
        calls.append(nb)
        if len(calls) < 3:
            raise RuntimeError("Kernel didn't respond in 60 seconds")
        Path(out).write_text(Path(nb).read_text(encoding="utf-8"), encoding="utf-8")

    monkeypatch.setattr(pm, "execute_notebook", flaky)
    nb = notebook_paths()[0]
    sec = report_mod._run_notebook(nb, tmp_path / nb.name, {"lang": "en"})
    assert sec.status == "ok" and len(calls) == 3

    calls.clear()
    monkeypatch.setattr(pm, "execute_notebook", lambda *a, **k: (_ for _ in ()).throw(
        RuntimeError("still no kernel")) if not calls.append(1) else None)
    sec = report_mod._run_notebook(nb, tmp_path / "again.ipynb", {"lang": "en"})
    assert sec.status == "failed" and len(calls) == report_mod.KERNEL_RETRIES + 1

    calls.clear()

    def cell_error(*args, **kwargs):
        calls.append(1)
        raise PapermillExecutionError(2, 3, "1 / 0", "ZeroDivisionError", "division by zero", [])

    monkeypatch.setattr(pm, "execute_notebook", cell_error)
    sec = report_mod._run_notebook(nb, tmp_path / "cell.ipynb", {"lang": "en"})
    assert sec.status == "failed" and "ZeroDivisionError" in sec.error and calls == [1]
