"""Reading the target-trial results for notebook 07: formatting, tables and sentences.

Notebook 07 stays thin: it calls these functions, shows what they return and explains it.
Every function takes the notebook's :class:`~thuiszit_eval.narrative.Narrator` (``say``)
for the words and ``lang`` for how numbers are written, so the same logic serves nl and en.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from thuiszit_eval.estimability import finite
from thuiszit_eval.messages import t
from thuiszit_eval.narrative import Narrator, number, percent, share

ANALYSES = ("naive", "landmark", "ccw")


def fmt_days(x: float, lang: str = "nl", digits: int = 1) -> str:
    """A number as a reader of ``lang`` writes it, rounded, never "-0,0".

    A value that is not a finite number (a bootstrap that could not be computed on a small
    cohort) is said in words.

    >>> fmt_days(-0.04, "nl"), fmt_days(1234.56, "en"), fmt_days(2.345, "nl", 2)
    ('0,0', '1,234.6', '2,35')
    >>> fmt_days(float("nan"), "en")
    'not available'
    """
    if not finite(x):
        return t("not_available", lang)
    return number(round(float(x), digits) + 0.0, lang, digits)


def suppressed_count(n: int, lang: str = "nl", min_cell: int = 10) -> str:
    """A count for text and tables; below ``min_cell`` it is shown as ``<min_cell``.

    >>> suppressed_count(1234, "nl", 10), suppressed_count(3, "en", 10)
    ('1.234', '<10')
    """
    return number(n, lang) if n >= min_cell else f"<{min_cell}"


def load_cohort(cohort_folder: str | Path = "") -> tuple[Path, Any, bool]:
    """The cohort folder ("" = the simulated demo cohort), the cohort, and whether simulated.

    >>> folder, cohort, simulated = load_cohort()  # doctest: +SKIP
    """
    from thuiszit_eval.demo import cohort_or_demo, load_cohort

    folder = cohort_or_demo(cohort_folder)
    cohort = load_cohort(folder)  # a report run's shared copy, else read and validated
    return folder, cohort, bool(cohort.metadata.get("simulated", False))


def data_reading(cohort: Any, simulated: bool, say: Narrator, lang: str, min_cell: int):
    """The sentence that introduces the data, with suppressed counts.

    >>> data_reading(cohort, simulated, say, "nl", 10)  # doctest: +SKIP
    """
    return say("data_simulated" if simulated else "data_own", cohort_name=cohort.name,
               n_pupils=suppressed_count(len(cohort.pupils), lang, min_cell),
               n_episodes=suppressed_count(len(cohort.episodes), lang, min_cell),
               follow_up_end=f"{cohort.follow_up_end:%Y-%m-%d}", min_cell=min_cell)


def eligibility_table(el: pd.DataFrame, say: Narrator, grace: int, lang: str,
                      min_cell: int) -> pd.DataFrame:
    """Who is eligible and when they started: counts suppressed, shares as percentages.

    >>> eligibility_table(eligible_episodes(cohort, protocol), say, 28, "nl", 10)  # doctest: +SKIP
    """
    start = el["start_day"]
    n = len(el)

    def of_n(k: int) -> str:  # a share only where it and its rest are both >= min_cell
        return share(k, n, lang, min_cell=min_cell)

    return pd.Series({
        say.text("row_eligible"): suppressed_count(n, lang, min_cell),
        t("pupils", lang): suppressed_count(el["pupil_id"].nunique(), lang, min_cell),
        say.text("row_started_within", grace=grace): of_n(int(start.le(grace).sum())),
        say.text("row_started_later"): of_n(int(start.gt(grace).sum())),
        say.text("row_never"): of_n(int(start.isna().sum())),
    }).to_frame(say.text("col_value"))


def rmst_table(res: pd.DataFrame, say: Narrator, grace: int, lang: str) -> pd.DataFrame:
    """Days at home per arm, their difference and its interval, one row per tau.

    ``res`` is ``ccw.rmst`` indexed by ``tau``.

    >>> rmst_table(ccw.rmst.set_index("tau"), say, 28, "nl")  # doctest: +SKIP
    """
    def f(x: float) -> str:
        return fmt_days(x, lang)

    tab = pd.DataFrame({
        say.text("col_days_a", grace=grace): res["rmst_A"].map(f),
        say.text("col_days_b", grace=grace): res["rmst_B"].map(f),
        say.text("col_diff"): res["difference"].map(f),
        say.text("col_lower"): res["lower"].map(f),
        say.text("col_upper"): res["upper"].map(f),
    })
    tab.index.name = say.text("col_up_to_day")
    return tab


def verdict_key(lower: float, upper: float) -> str:
    """Which verdict an interval supports: fewer days, more days, or unclear.

    >>> verdict_key(-5, -1), verdict_key(1, 5), verdict_key(-1, 5)
    ('verdict_fewer', 'verdict_more', 'verdict_unclear')
    """
    if upper < 0:
        return "verdict_fewer"
    if lower > 0:
        return "verdict_more"
    return "verdict_unclear"


def verdict_text(row: Any, say: Narrator, grace: int, lang: str) -> str:
    """The reading of one difference and its interval, true whatever the cohort shows.

    ``row`` has ``difference``, ``lower`` and ``upper``.

    >>> verdict_text(res.loc[91], say, 28, "nl")  # doctest: +SKIP
    """
    key = verdict_key(row.lower, row.upper)
    if key == "verdict_unclear":
        return say.text(key)
    days = -row.difference if key == "verdict_fewer" else row.difference
    return say.text(key, grace=grace, days=fmt_days(days, lang))


def estimate_reading(res: pd.DataFrame, taus: tuple[int, int], say: Narrator, grace: int,
                     lang: str, with_interval: bool):
    """The sentence that reads the differences at both taus (with verdicts if intervals).

    >>> estimate_reading(res, (91, 182), say, 28, "nl", True)  # doctest: +SKIP
    """
    (tau1, tau2), f = taus, (lambda x: fmt_days(x, lang))
    r1, r2 = res.loc[tau1], res.loc[tau2]
    # a verdict is read only from finite intervals ("nan to nan" is no interval)
    if not finite(r1.lower, r1.upper, r2.lower, r2.upper):
        with_interval = False
    if not with_interval:
        return say("estimate_no_interval", tau1=tau1, tau2=tau2, grace=grace,
                   d1=f(r1.difference), d2=f(r2.difference))
    return say("estimate_reading", tau1=tau1, tau2=tau2,
               d1=f(r1.difference), lo1=f(r1.lower), hi1=f(r1.upper),
               verdict1=verdict_text(r1, say, grace, lang),
               d2=f(r2.difference), lo2=f(r2.lower), hi2=f(r2.upper),
               verdict2=verdict_text(r2, say, grace, lang))


def ccw_figure(ccw: Any, say: Narrator, grace: int, lang: str):
    """The two arms' curves of the share returned, with the end of the grace period.

    >>> fig = ccw_figure(ccw, say, 28, "nl")  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ccw.plot(ax=ax)
    ax.legend(ax.get_lines(), [say.text("arm_a", grace=grace), say.text("arm_b", grace=grace)],
              frameon=False)
    ax.axvline(grace, color="grey", lw=0.8, ls=":")
    ax.text(grace + 2, 0.03, say.text("plot_grace_end"), fontsize=8, color="grey")
    ax.set_xlabel(say.text("plot_xlabel"))
    ax.set_ylabel(t("plot_share_returned", lang))
    ax.yaxis.set_major_formatter(lambda v, _: number(v, lang, 1))  # 0,2 in Dutch
    ax.set_title(say.text("plot_title"))
    return fig


def hr_verdict_key(lower: float, upper: float) -> str:
    """What a hazard-ratio interval supports: faster, slower or no clear difference.

    >>> hr_verdict_key(1.1, 1.3), hr_verdict_key(0.7, 0.9), hr_verdict_key(0.9, 1.2)
    ('hr_faster', 'hr_slower', 'hr_unclear')
    """
    if lower > 1:
        return "hr_faster"
    if upper < 1:
        return "hr_slower"
    return "hr_unclear"


def fmt_hr(hr: Mapping[str, float] | None, say: Narrator, lang: str) -> str:
    """A hazard ratio with its interval for a table cell; a dash when there is none.

    >>> fmt_hr(None, say, "nl")  # doctest: +SKIP
    """
    if hr is None or not finite(hr["hr"]):
        return "–"
    if not finite(hr["lower"], hr["upper"]):
        return fmt_days(hr["hr"], lang, 2)
    return say.text("hr_ci", hr=fmt_days(hr["hr"], lang, 2),
                    lower=fmt_days(hr["lower"], lang, 2), upper=fmt_days(hr["upper"], lang, 2))


def hazard_ratio_reading(hr: pd.Series | None, say: Narrator, grace: int, lang: str,
                         with_interval: bool):
    """The sentence on the emulation's marginal hazard ratio; empty Markdown without one
    (``display(None)`` would print "None" on the page).

    >>> hazard_ratio_reading(ccw.hazard_ratio, say, 28, "nl", True)  # doctest: +SKIP
    """
    from IPython.display import Markdown

    if hr is None or not finite(hr["hr"]):
        return Markdown("")
    tau = int(hr["follow_up_days"])

    def f(x: float) -> str:
        return fmt_days(x, lang, 2)

    if not with_interval or not finite(hr["lower"], hr["upper"]):
        return say("hazard_ratio_no_interval", tau=tau, grace=grace, hr=f(hr["hr"]))
    return say("hazard_ratio", tau=tau, grace=grace, hr=f(hr["hr"]), lo=f(hr["lower"]),
               hi=f(hr["upper"]),
               verdict=say.text(hr_verdict_key(hr["lower"], hr["upper"])))


WEIGHT_STATS = ("mean", "min", "p50", "p99", "max")


def weights_table(weights: pd.DataFrame, say: Narrator, lang: str) -> pd.DataFrame:
    """Summary of the weights per arm, two decimals.

    >>> weights_table(ccw.weights, say, "nl")  # doctest: +SKIP
    """
    stats = list(WEIGHT_STATS)
    w = weights.set_index("arm")[stats].map(lambda x: fmt_days(x, lang, 2))
    w.columns = [say.text(f"col_w_{s}") for s in stats]
    w.index.name = say.text("col_arm")
    return w


def analysis_names(say: Narrator, grace: int) -> dict[str, str]:
    """The display names of the naive, landmark and clone-censor-weight analyses.

    >>> analysis_names(say, 28)["ccw"]  # doctest: +SKIP
    """
    return {"naive": say.text("an_naive"), "landmark": say.text("an_landmark", grace=grace),
            "ccw": say.text("an_ccw")}


def comparison_table(analyses: Mapping[str, Any], say: Narrator, lang: str,
                     names: Mapping[str, str]) -> pd.DataFrame:
    """One row per analysis: the difference and its interval at each tau, and the HR.

    Each analysis has an ``rmst`` frame with ``tau``, ``difference``, ``lower``, ``upper``
    and a ``hazard_ratio`` (``hr``, ``lower``, ``upper``; or None).

    >>> comparison_table({"ccw": ccw}, say, "nl", {"ccw": "CCW"})  # doctest: +SKIP
    """
    rows = {}
    for key, result in analyses.items():
        row = {}
        for r in result.rmst.itertuples():
            row[say.text("col_diff_to", tau=r.tau)] = fmt_days(r.difference, lang)
            row[say.text("col_ci_to", tau=r.tau)] = say.text(
                "ci", lower=fmt_days(r.lower, lang), upper=fmt_days(r.upper, lang)) if finite(
                r.lower, r.upper) else t("not_available", lang)
        row[say.text("col_hr")] = fmt_hr(getattr(result, "hazard_ratio", None), say, lang)
        rows[names[key]] = row
    comparison = pd.DataFrame.from_dict(rows, orient="index")
    comparison.index.name = say.text("col_analysis")
    return comparison


def compare_readings(analyses: Mapping[str, Any], tau: int, say: Narrator, lang: str,
                     with_interval: bool) -> list:
    """The sentences comparing the analyses at ``tau``; the naive warnings only if they hold.

    >>> for m in compare_readings(analyses, 182, say, "nl", True): display(m)  # doctest: +SKIP
    """
    diff = {key: result.rmst.set_index("tau").loc[tau] for key, result in analyses.items()}
    out = [say("compare_reading", tau=tau,
               **{k: fmt_days(v.difference, lang) for k, v in diff.items()})]
    if with_interval and finite(diff["ccw"].upper, diff["naive"].difference) and \
            diff["naive"].difference > diff["ccw"].upper:
        out.append(say("naive_worse"))
        if diff["naive"].difference > 0 > diff["ccw"].upper:
            out.append(say("naive_wrong_sign"))
    return out


def results_dir() -> Path:
    """The committed results of the simulation study (``benchmarks/results``)."""
    import thuiszit_eval

    return Path(thuiszit_eval.__file__).resolve().parents[1] / "benchmarks" / "results"


def _ranges(coverages: pd.Series, lang: str) -> str:
    return "–".join(sorted({percent(c, lang, 1) for c in coverages}))


def simulation_study_summary(results: Path, taus: tuple[int, int], lang: str,
                             method_names: Mapping[str, str] | None = None,
                             say: Narrator | None = None,
                             ) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """The simulation study's table for display and the numbers for its sentences.

    Reads ``sim_study_effects.csv`` and ``sim_study_effects_replicates.csv`` from
    ``results``; ``None`` when either is missing. The table keeps the estimands at
    ``taus``; with ``say`` its headers and names are in words, otherwise it is the raw
    rows. The numbers: ``study`` (n_reps, n_eligible, truth1, truth2) and ``reading``
    (ccw_bias, ccw_cov, naive_bias_lo, naive_bias_hi, naive_cov), formatted for ``lang``.

    >>> shown, numbers = simulation_study_summary(results_dir(), (91, 182), "en")
    >>> numbers["study"]["n_reps"]
    '200'
    """
    study_file = results / "sim_study_effects.csv"
    reps_file = results / "sim_study_effects_replicates.csv"
    if not (study_file.exists() and reps_file.exists()):
        return None
    tau1, tau2 = taus
    every = pd.read_csv(study_file)
    study = every[every["estimand"].isin([f"rmst_diff_{tau}" for tau in taus])]
    reps = pd.read_csv(reps_file)
    s = study.set_index(["method", "estimand"])
    naive_bias = s.loc["naive", "bias"]

    def f2(x: float) -> str:
        return fmt_days(x, lang, 2)

    numbers = {
        "study": dict(
            n_reps=number(study["n_reps"].max(), lang),
            n_eligible=number(reps.loc[reps["method"] == "ccw", "n_episodes"].mean(), lang),
            tau1=tau1, tau2=tau2,
            truth1=fmt_days(s.loc[("ccw", f"rmst_diff_{tau1}"), "truth"], lang),
            truth2=fmt_days(s.loc[("ccw", f"rmst_diff_{tau2}"), "truth"], lang)),
        "reading": dict(
            ccw_bias=f2(s.loc["ccw", "bias"].abs().max()),
            ccw_cov=_ranges(s.loc["ccw", "coverage_95"], lang),
            naive_bias_lo=fmt_days(naive_bias.abs().min(), lang, 0),
            naive_bias_hi=fmt_days(naive_bias.abs().max(), lang, 0),
            naive_cov=_ranges(s.loc["naive", "coverage_95"], lang)),
    }
    hr = every.set_index(["method", "estimand"])
    if {("ccw", "log_hr"), ("naive", "log_hr")} <= set(hr.index):
        ccw, naive = hr.loc[("ccw", "log_hr")], hr.loc[("naive", "log_hr")]
        numbers["reading_hr"] = dict(
            truth=fmt_days(np.exp(ccw["truth"]), lang, 2),
            ccw_mean=fmt_days(np.exp(ccw["mean_estimate"]), lang, 2),
            ccw_cov=percent(ccw["coverage_95"], lang, 1),
            naive_mean=fmt_days(np.exp(naive["mean_estimate"]), lang, 2))
    if say is None:
        return study.reset_index(drop=True), numbers
    names = dict(method_names or {})
    shown = pd.DataFrame({
        say.text("col_method"): study["method"].map(names),
        say.text("col_estimand"): study["estimand"].map(
            lambda e: say.text("estimand_rmst", tau=e.rsplit("_", 1)[1])),
        say.text("col_truth"): study["truth"].map(f2),
        say.text("col_bias"): study["bias"].map(f2),
        say.text("col_empirical_se"): study["empirical_se"].map(f2),
        say.text("col_estimated_se"): study["mean_estimated_se"].map(f2),
        say.text("col_coverage"): study["coverage_95"].map(lambda x: percent(x, lang, 1)),
    }).reset_index(drop=True)
    return shown, numbers


def _target_trial_truth(folder: Path, simulated: bool) -> dict[str, Any]:
    """The ``target_trial`` part of a simulated cohort's truth.json ({} for an own cohort)."""
    truth_file = Path(folder) / "truth.json"
    if not (simulated and truth_file.exists()):
        return {}
    return json.loads(truth_file.read_text()).get("target_trial", {})


def true_differences(folder: Path, simulated: bool,
                     taus: tuple[int, int]) -> tuple[float, float] | None:
    """The known true RMST differences at ``taus`` from a simulated cohort's truth.json.

    ``None`` for an own cohort, without truth.json, or when a tau is missing.

    >>> true_differences(Path("nowhere"), True, (91, 182)) is None
    True
    """
    true_rmst = _target_trial_truth(folder, simulated).get("rmst", {})
    if not all(str(tau) in true_rmst for tau in taus):
        return None
    return true_rmst[str(taus[0])]["difference"], true_rmst[str(taus[1])]["difference"]


def truth_hr_reading(folder: Path, simulated: bool, hr: pd.Series | None, say: Narrator,
                     lang: str, with_interval: bool):
    """The sentence comparing the emulation's HR with the true one; ``None`` if no truth.

    >>> truth_hr_reading(folder, simulated, ccw.hazard_ratio, say, "nl", True)  # doctest: +SKIP
    """
    if hr is None:
        return None
    tau = str(int(hr["follow_up_days"]))
    true = _target_trial_truth(folder, simulated).get("hazard_ratio", {}).get(tau)
    if true is None:
        return None
    value = true["hazard_ratio"]

    def f(x: float) -> str:
        return fmt_days(x, lang, 2)

    if with_interval and finite(hr["lower"], hr["upper"]):
        inside = say.text("in" if hr["lower"] <= value <= hr["upper"] else "out")
        return say("truth_hr", tau=tau, truth=f(value), inside=inside)
    return say("truth_hr_no_interval", tau=tau, truth=f(value), hr=f(hr["hr"]))


def truth_reading(folder: Path, simulated: bool, res: pd.DataFrame, taus: tuple[int, int],
                  say: Narrator, lang: str, with_interval: bool):
    """The sentence comparing the estimate with the known truth; ``None`` if no truth.

    >>> truth_reading(folder, simulated, res, (91, 182), say, "nl", True)  # doctest: +SKIP
    """
    truth = true_differences(folder, simulated, taus)
    if truth is None:
        return None
    (tau1, tau2), (tr1, tr2) = taus, truth
    r1, r2 = res.loc[tau1], res.loc[tau2]

    def f(x: float) -> str:
        return fmt_days(x, lang)

    def inside(r: Any, x: float) -> str:
        return say.text("in" if r.lower <= x <= r.upper else "out")

    if with_interval and finite(r1.lower, r1.upper, r2.lower, r2.upper):
        return say("truth_cohort", tau1=tau1, tau2=tau2, truth1=f(tr1), truth2=f(tr2),
                   in1=inside(r1, tr1), in2=inside(r2, tr2))
    return say("truth_cohort_no_interval", tau1=tau1, tau2=tau2, truth1=f(tr1),
               truth2=f(tr2), d1=f(r1.difference), d2=f(r2.difference))
