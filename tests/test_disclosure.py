"""Statistical disclosure control (issue 13): the scan fails closed, shares and survival
tables give no small count back, cohort text is escaped, saved notebooks carry no path."""

from __future__ import annotations

import re

import nbformat
import numpy as np
import pandas as pd
import pytest

from thuiszit_eval.analyse import TABLES, analyse_cohort
from thuiszit_eval.cohort import Cohort
from thuiszit_eval.disclosure import (
    counts_behind_share,
    derived_counts,
    escape_markdown,
    publishable_at_times,
    publishable_survival_table,
    scan_csv,
    scan_report,
    scan_table,
    scan_text,
    scrub_notebook,
    share_is_safe,
    shown_share_is_safe,
)
from thuiszit_eval.narrative import Narrator, markdown, share, share_with_interval
from thuiszit_eval.simulate import write_shape, write_simulated_cohort
from thuiszit_eval.survival import kaplan_meier

MIN_CELL = 10
SCRIPT = "<script>alert(1)</script>"


# --------------------------------------------------------------------------- shares


def test_share_is_safe_needs_numerator_and_complement_of_min_cell():
    assert not share_is_safe(4, 191) and not share_is_safe(187, 191)  # 4 / 4 left
    assert share_is_safe(10, 191) and share_is_safe(181, 191) and not share_is_safe(182, 191)
    assert share_is_safe(0, 191) and share_is_safe(191, 191)  # nobody / everybody
    assert not share_is_safe(0, 9)  # the group itself is too small
    assert not share_is_safe(5, 40, min_cell=6) and share_is_safe(6, 40, min_cell=6)


def test_counts_behind_the_issues_shares():
    # the issue's examples: 2,1% of 191 and 1,3% of 151 imply 4 and 2; 36,4% of 11 implies 4
    assert list(counts_behind_share(2.1, 0.05, 191)) == [4]
    assert list(counts_behind_share(1.3, 0.05, 151)) == [2]
    assert list(counts_behind_share(36.4, 0.05, 11)) == [4]
    # a coarser share is consistent with several counts
    assert list(counts_behind_share(2, 0.5, 191)) == [3, 4]


def test_share_helpers_suppress_unsafe_shares():
    assert share(4, 191, "nl") == "onderdrukt (te weinig leerlingen)"
    assert share(40, 191, "nl") == "21%"
    assert share_with_interval(0.021, 0.001, 0.04, "nl", 1, n=191) == (
        "onderdrukt (te weinig leerlingen)")
    assert share_with_interval(0.40, 0.30, 0.50, "en", n=191) == "40% (30%–50%)"
    assert share_with_interval(0.40, 0.30, 0.50, "en", k=186, n=191) == (
        "suppressed (too few pupils)")  # the complement, 5, is small
    assert share_with_interval(0.40, 0.30, 0.50, "en") == "40% (30%–50%)"  # old callers


def test_a_share_is_shown_only_where_no_count_it_may_stand_for_is_small():
    # "3% of 350": 10.5 pupils is safe, but 3% as written may be 9 (2.6%): suppressed
    assert not shown_share_is_safe(0.03, 350, MIN_CELL)
    assert scan_text("3% of 350", MIN_CELL)  # the scan agrees
    assert shown_share_is_safe(0.10, 350, MIN_CELL)
    assert scan_text("10% of 350", MIN_CELL) == []
    assert shown_share_is_safe(0.03, 350, MIN_CELL, digits=1)  # "3.0%": 10 or 11 pupils
    assert not shown_share_is_safe(0.98, 350, MIN_CELL)  # the rest, 7, is small
    assert not shown_share_is_safe(0.5, 8, MIN_CELL)  # the group itself is small
    assert not shown_share_is_safe(float("nan"), 350, MIN_CELL)
    # the share helpers follow the same rule: k = 10 is safe, its share as written is not
    assert share(10, 350, "en") == "suppressed (too few pupils)"
    assert share(35, 350, "en") == "10%"
    assert share_with_interval(0.03, 0.02, 0.04, "en", n=350) == "suppressed (too few pupils)"


# --------------------------------------------------------------------------- the scan


def _table(rows: list[list[str]]) -> str:
    head, *body = rows
    return ("<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"
            + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in body)
            + "</table>")


def test_scan_finds_shares_that_give_counts_back_in_tables_and_text():
    page = _table([["Groep", "Episodes", "Terug binnen 4 weken"],
                   ["Alle episodes", "342", "20,8% (16,4–25,0)"],
                   ["Back to School", "191", "2,1% (0,1–4,0)"],
                   ["Geen interventie", "151", "1,3% (0,0–2,8)"]])
    found = scan_report(page, set(), MIN_CELL)
    assert any("2,1% of 191 gives back 4" in f for f in found), found
    assert any("1,3% of 151 gives back 2" in f for f in found), found
    assert not any("20,8%" in f for f in found)
    prose = "<p>Van de 11 leerlingen keerde 36,4% van 11 binnen een maand terug.</p>"
    assert scan_report(prose, set(), MIN_CELL) == [
        'text: "36,4% van 11" gives back a count below 10 (4 of 11)']
    # (95% of 120 would leave 6: found)
    assert scan_report("<p>Of all episodes 46% of 1.234 returned; 90% of 120.</p>",
                       set(), MIN_CELL) == []
    # a count beside its share gives its total back: 45 (96%) ⇒ 47, so 2 are left
    t = pd.DataFrame({"level": ["girls"], "n (%)": ["45 (96%)"]})
    assert any("45 (96%)" in f for f in scan_table(t, MIN_CELL))
    assert scan_table(pd.DataFrame({"level": ["girls"], "n (%)": ["45 (50%)"]}), MIN_CELL) == []


def test_scan_finds_a_suppressed_cell_that_a_total_gives_back():
    t = pd.DataFrame({"group": ["All episodes", "a", "b", "c"],
                      "Episodes": ["120", "70", "<10", "45"]})
    assert any("total minus the shown cells" in f for f in scan_table(t, MIN_CELL))
    t.loc[3, "Episodes"] = "<10"  # two suppressed cells: neither can be told apart
    assert scan_table(t, MIN_CELL) == []
    # a cell hidden by secondary suppression ("not shown (small numbers)") counts as
    # suppressed: with it, the total gives back neither hidden cell
    t = pd.DataFrame({"group": ["Alle episodes", "a", "b", "c"],
                      "Episodes": ["120", "70", "<10", "niet getoond (kleine aantallen)"]})
    assert scan_table(t, MIN_CELL) == []
    t.loc[3, "Episodes"] = "45"
    assert any("total minus the shown cells" in f for f in scan_table(t, MIN_CELL))


def test_scan_finds_ids_and_small_counts_as_before():
    page = ("<p>P1234abcd</p>" + _table([["group", "n", "share"], ["a", "7", "3"],
                                         ["b", "40", "5"]]))
    found = scan_report(page, {"P1234abcd", "Pnotthere1"}, MIN_CELL)
    assert any("1 pupil/episode ids" in f for f in found)
    assert any("'n'" in f and "1 counts below 10" in f for f in found)


# --------------------------------------------------------------------------- survival tables


def _km_data(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.ceil(rng.exponential(90, n))
    c = np.ceil(rng.uniform(20, 400, n))
    return pd.DataFrame({"duration": np.minimum(t, c), "event": (t <= c).astype(int),
                         "group": rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1])})


def test_raw_km_table_gives_suppressed_events_back():
    """The problem: with n_event suppressed, n_risk·(1 − S(t)/S(t−)) is the event count."""
    km = kaplan_meier(_km_data(1, 300), "duration", "event", group="group")
    raw = km.table[km.table["n_risk"] >= MIN_CELL]
    d = derived_counts(raw.assign(n_event="<10", n_censor="<10"), MIN_CELL)
    exact = d[(d["kind"] == "surv ratio") & np.isclose(d["value"], d["value"].round())]
    assert len(exact) > 20


@pytest.mark.parametrize("seed,n,min_cell", [(1, 300, 10), (2, 120, 10), (3, 2000, 10),
                                             (4, 300, 5), (5, 60, 10), (6, 800, 15)])
def test_publishable_survival_table_derives_no_small_count(seed, n, min_cell, tmp_path):
    km = kaplan_meier(_km_data(seed, n), "duration", "event", group="group")
    safe = publishable_survival_table(km.table, min_cell, cuts=(28, 91, 182, 365))
    # as a reader gets it: written with 6 significant digits and read back
    safe.to_csv(tmp_path / "km.csv", index=False, float_format="%.6g")
    back = pd.read_csv(tmp_path / "km.csv")
    assert derived_counts(back, min_cell).empty
    assert len(back) or n < 100  # a curve is shown for cohorts of a few hundred
    if not len(back):
        return
    for c in ("n_event", "n_censor"):
        assert ((back[c] == 0) | (back[c] >= min_cell)).all()
    assert (back["n_risk"] >= min_cell).all()
    # the curve is still the Kaplan–Meier estimate at the times it shows
    full = km.table.set_index(["group", "time"])["surv"]
    shown = back.set_index(["group", "time"])["surv"]
    np.testing.assert_allclose(shown, full.loc[shown.index], rtol=1e-5)
    # counts add up: intervals are consecutive and nothing is left out before the end
    for g, rows in back.groupby("group"):
        nr = rows["n_risk"].to_numpy()
        rest = nr - rows["n_event"].to_numpy() - rows["n_censor"].to_numpy()
        np.testing.assert_array_equal(nr[1:], rest[:-1])
        assert nr[0] == km.table.loc[km.table["group"] == g, "n_risk"].iloc[0]  # from the start
    at = publishable_at_times(km.table, safe, (28, 91, 182, 365)).set_index(["group", "time"])
    assert len(at) == 3 * 4  # every group and time, empty where not safe
    at = at[at["surv"].notna()]
    assert len(at) or n < 100
    direct = km.at_times((28, 91, 182, 365)).set_index(["group", "time"])
    np.testing.assert_allclose(at["surv"].astype(float), direct.loc[at.index, "surv"],
                               rtol=1e-5)
    assert derived_counts(at.reset_index(), min_cell).empty


# --------------------------------------------------------------------------- analyse outputs


@pytest.fixture(scope="module", params=["tiny_15", "pupils_300"])
def analysed(request, tmp_path_factory):
    base = tmp_path_factory.mktemp(request.param)
    if request.param == "tiny_15":
        folder = write_shape("tiny_15", base / "cohort", seed=2)
    else:
        folder = write_simulated_cohort(base / "cohort", n_pupils=300, seed=7, progress=False)
    cohort = Cohort.load(folder)
    analyse_cohort(cohort, base / "out", min_cell=MIN_CELL)
    return cohort, base / "out"


def _num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce")


def _small(values) -> list[float]:
    v = np.asarray(values, dtype=float)
    return v[np.isfinite(v) & (v >= 0.5) & (v < MIN_CELL - 0.5)].tolist()


def test_no_small_count_can_be_derived_from_analyse_outputs(analysed):
    """Every count a reader can compute from the written CSVs, within a table and across
    tables, is 0 or at least min_cell."""
    cohort, out = analysed
    ids = set(cohort.pupils.pupil_id) | set(cohort.episodes.episode_id)
    for name in TABLES:
        assert scan_csv(out / f"{name}.csv", ids, MIN_CELL) == [], name
    km = pd.read_csv(out / "km_by_group.csv")
    med = pd.read_csv(out / "medians.csv").drop_duplicates("group").set_index("group")
    lr = pd.read_csv(out / "logrank.csv").set_index("group")
    ra = pd.read_csv(out / "returned_at.csv")
    ra["n_event"] = _num(ra["n_event"]).fillna(0)  # "<10" here stands for 0
    ci = pd.read_csv(out / "cumulative_incidence.csv")
    derived = []
    for g, rows in km.groupby("group"):
        ev, ce = rows["n_event"].sum(), rows["n_censor"].sum()
        n, n_ev = _num(med["n"]).get(g), _num(med["n_events"]).get(g)
        # what is still to come after the curve's last row
        derived += _small([n_ev - ev, n - n_ev - ce, n - rows["n_risk"].iloc[0]])
        obs = _num(lr["observed"]).get(g)
        derived += _small([obs - ev, n - obs])
        for r in ra[ra["group"] == g].itertuples():
            # the curve up to a fixed time against the table at that time
            derived += _small([rows.loc[rows["time"] <= r.time, "n_event"].sum()
                               - ra[(ra["group"] == g) & (ra["time"] <= r.time)]
                               ["n_event"].sum()])
    derived += _small(_num(med["n"]) - _num(med["n_events"]))  # episodes without a return
    # the cumulative incidence times the group size, and its steps between times
    for (g, _state), rows in ci.groupby(["group", "state"]):
        n = _num(med["n"]).get(g)
        if n is None or not np.isfinite(n):
            continue
        p = rows.sort_values("time")["pstate"].to_numpy(float)
        p = p[np.isfinite(p)]  # the times given: a reader subtracts across the gaps
        derived += _small(np.round(n * p)) + _small(np.round(n * np.diff(p)))
        derived += _small(np.round(n * (1 - p)))
    assert derived == []


def test_analyse_curve_is_coarser_but_right(analysed):
    cohort, out = analysed
    km = pd.read_csv(out / "km_by_group.csv")
    assert ((km["n_event"] == 0) | (km["n_event"] >= MIN_CELL)).all()
    assert (km["n_risk"] >= MIN_CELL).all()


# --------------------------------------------------------------------------- escaping


def test_narrator_escapes_cohort_text_but_not_its_own_markdown():
    say = Narrator("01_data_quality", "en")
    section = next(k for k, v in __import__("thuiszit_eval.narrative", fromlist=["x"])
                   .sections("01_data_quality", "en").items() if "{cohort}" in v)
    text = say.text(section, cohort=SCRIPT, pupils="12", episodes="15", **{
        k: "1" for k in re.findall(r"\{(\w+)", say.text(section)) if k not in
        ("cohort", "pupils", "episodes")})
    assert SCRIPT not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert escape_markdown("[x](javascript:alert(1))") == r"\[x\](javascript:alert(1))"
    assert escape_markdown("a\n# heading") == r"a \# heading"
    say4 = Narrator("04_regression", "en")
    assert "*girl*" in say4.text("truth_missed", missed=markdown("*girl*"))
    assert r"\*girl\*" in say4.text("truth_missed", missed="*girl*")
    # numbers keep their format: the narrative formats them itself
    assert "12" in say.text(section, cohort="x", pupils=12, episodes=15, **{
        k: 1 for k in re.findall(r"\{(\w+)", say.text(section)) if k not in
        ("cohort", "pupils", "episodes")})


def test_scrub_notebook_removes_local_paths(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell('cohort_folder = "/home/ana/cohorts/swv23"\nmin_cell = 10',
                                  metadata={"tags": ["injected-parameters"]}),
        nbformat.v4.new_code_cell("1/0"),
    ]
    nb.cells[1].outputs = [nbformat.v4.new_output(
        "error", ename="ZeroDivisionError", evalue="division by zero",
        traceback=['File "/home/ana/.venv/lib/python3.11/site-packages/x.py", line 3',
                   "\x1b[36mFile \x1b[39m\x1b[32m/opt/app/thuiszit_eval/x.py:480\x1b[39m"])]
    nb.metadata["papermill"] = {"parameters": {"cohort_folder": "/home/ana/cohorts/swv23"},
                                "input_path": "/home/ana/repo/nb.ipynb",
                                "output_path": "/home/ana/out/nb.ipynb", "duration": 2.0}
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    assert scrub_notebook(path, ["/home/ana/cohorts/swv23"])
    text = path.read_text()
    assert "/home/ana" not in text and "swv23" not in text and "/opt/app" not in text
    back = nbformat.read(path, 4)
    assert back.metadata["papermill"] == {"duration": 2.0}
    assert "min_cell = 10" in back.cells[0].source
    assert not scrub_notebook(path)  # nothing left to change


def test_the_kernels_log_is_scanned_and_scrubbed_of_local_paths(tmp_path):
    from thuiszit_eval.disclosure import scan_outputs, scrub_log

    log = tmp_path / "notebooks" / "kernels.log"
    log.parent.mkdir()
    log.write_text("[IPKernelApp] WARNING | Kernel is running over TCP\n"
                   "/home/ana/thuiszit/.venv/lib/python3.11/site-packages/x.py:12: "
                   "RuntimeWarning: overflow in exp\n", encoding="utf-8")
    assert scan_outputs(tmp_path, set(), MIN_CELL, ["/home/ana"]) == [
        "notebooks/kernels.log: a local path"]
    assert scrub_log(log, ["/home/ana"])
    text = log.read_text(encoding="utf-8")
    assert "/home" not in text and "RuntimeWarning: overflow in exp" in text
    assert scan_outputs(tmp_path, set(), MIN_CELL, ["/home/ana"]) == []
    assert not scrub_log(log, ["/home/ana"])  # nothing left to remove


def test_confidence_limits_are_not_read_as_shares():
    """Notebook 08's table: 12 sustained returns of 451 episodes, 3,3% (1,8%–5,9%). The
    limits bound the estimate; read as shares of 451 they would "give back" 8 pupils."""
    t = pd.DataFrame({"weeks": ["2", "8"], "episodes": ["451", "451"],
                      "share": ["46.3%", "3.3%"], "95% CI": ["41.4% – 51.9%", "1.8% – 5.9%"]})
    assert scan_table(t, MIN_CELL) == []
    assert scan_table(t.rename(columns={"95% CI": "95%-BI"}), MIN_CELL) == []
    # the same percentage as a share of the row's episodes is a finding
    found = scan_table(t.rename(columns={"95% CI": "share within a year"}), MIN_CELL)
    assert found == ["table, column 'share within a year', row 2: the share 1.8% of 451 "
                     "gives back 8"]
