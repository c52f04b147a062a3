"""Tables and figures of notebook 13 (the mock federation of the demo cohort), in Dutch or
English. Numbers only; the reading is in ``narrative/13_multi_region.<lang>.md``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..describe import code_labels
from .disclosure import from_table
from .meta import forest_plot, forest_table

_TX = {
    "region": {"nl": "regio", "en": "region"},
    "pupils_read": {"nl": "leerlingen gelezen", "en": "pupils read"},
    "episodes_read": {"nl": "episodes gelezen", "en": "episodes read"},
    "rejected": {"nl": "rijen afgewezen", "en": "rows rejected"},
    "day": {"nl": "dag", "en": "day"},
    "federated": {"nl": "federatief", "en": "federated"},
    "single": {"nl": "één machine", "en": "single machine"},
    "diff": {"nl": "grootste verschil", "en": "largest difference"},
    "what": {"nl": "schatting", "en": "estimate"},
    "km": {"nl": "aandeel terug (Kaplan–Meier)", "en": "share returned (Kaplan–Meier)"},
    "aj": {"nl": "cumulatieve incidentie terugkeer (Aalen–Johansen)",
           "en": "cumulative incidence of return (Aalen–Johansen)"},
    "term": {"nl": "interventie", "en": "intervention"},
    "hr_strata": {"nl": "HR, gestratificeerd naar regio", "en": "HR, stratified by region"},
    "hr_pooled": {"nl": "HR, één baseline", "en": "HR, one baseline"},
    "hr": {"nl": "hazard ratio van terugkeer", "en": "hazard ratio of return"},
    "k": {"nl": "regio's", "en": "regions"},
    "est": {"nl": "gepoold", "en": "pooled"},
    "lower": {"nl": "95%-BI onder", "en": "95% CI lower"},
    "upper": {"nl": "95%-BI boven", "en": "95% CI upper"},
    "share": {"nl": "aandeel terug binnen {t} dagen", "en": "share returned within {t} days"},
}


def tx(key: str, lang: str, **fmt: object) -> str:
    s = _TX[key][lang]
    return s.format(**fmt) if fmt else s


def tiny(x: float) -> str:
    """A difference as a reader sees it: below 1e-10 is floating-point noise (its exact
    size differs between machines, so it is not printed)."""
    return "< 1e-10" if x < 1e-10 else f"{x:.2g}"


def validation_table(fed: Mapping[str, Any], lang: str = "nl") -> pd.DataFrame:
    """Per region: pupils and episodes read, rows rejected (all tables)."""
    rows = []
    small = f"<{fed['min_cell']}"

    def shown(v):  # a region suppressed counts below the minimum cell size
        return small if v is None or pd.isna(v) else int(v)

    for r in fed["validation"]["regions"]:
        if not r.get("ok"):
            continue
        t = from_table(r["counts"]).set_index("table")
        rej = t["rows_rejected"]
        rows.append({tx("region", lang): r["region"],
                     tx("pupils_read", lang): shown(t.at["pupils", "rows_read"]),
                     tx("episodes_read", lang): shown(t.at["episodes", "rows_read"]),
                     tx("rejected", lang): int(rej.fillna(0).sum())
                     if rej.notna().all() else small})
    return pd.DataFrame(rows)


def curve_table(fed: Mapping[str, Any], pooled: Mapping[str, Any], lang: str = "nl",
                times: Sequence[float] = (91.0, 182.0, 365.0)) -> pd.DataFrame:
    """Share returned (KM) and cumulative incidence of return (AJ), federated vs pooled.

    On a binned time axis the figures are given at the bin ends (within a bin nothing is
    known); on exact days at ``times``.
    """
    out = []
    for key, col in (("km", "returned"), ("aj", "pstate")):
        grid = fed[f"{key}_grid"]
        at = times if grid is None else [float(x) for x in grid[1:]]
        f = fed[key].at_times(at)[col].to_numpy()
        p = pooled[key].at_times(at)[col].to_numpy()
        for t, a, b in zip(at, f, p, strict=True):
            out.append({tx("what", lang): tx(key, lang), tx("day", lang): int(t),
                        tx("federated", lang): round(float(a), 4),
                        tx("single", lang): round(float(b), 4),
                        tx("diff", lang): tiny(abs(a - b))})
    return pd.DataFrame(out)


def cox_table(fed: Mapping[str, Any], pooled: Mapping[str, Any], lang: str = "nl"
              ) -> pd.DataFrame:
    """Hazard ratios of the interventions: region-stratified and one-baseline Cox,
    federated beside single machine."""
    labels = code_labels("main_intervention", lang)
    rows = []
    for term in fed["cox_strata"]["spec"]["exposures"]:
        row = {tx("term", lang): labels.get(term, term)}
        for key, lab in (("cox_strata", "hr_strata"), ("cox_pooled", "hr_pooled")):
            f = fed[key]
            hr_f = float(np.exp(f["coef"][f["terms"].index(term)]))
            hr_p = float(pooled[key].table.set_index("term").at[term, "hr"])
            row[f"{tx(lab, lang)} ({tx('federated', lang)})"] = round(hr_f, 3)
            row[f"{tx(lab, lang)} ({tx('single', lang)})"] = round(hr_p, 3)
        rows.append(row)
    return pd.DataFrame(rows)


def meta_rows(fed: Mapping[str, Any], measure: str, term: str
              ) -> tuple[list[str], list[float], list[float], dict]:
    """Regions, estimates, SEs and the pooled result of one meta-analysed quantity."""
    m = fed["meta"]
    pooled = next((p for p in m["pooled"] if p["measure"] == measure and p["term"] == term),
                  None)
    if pooled is None:
        return [], [], [], {}
    reg, est, se = [], [], []
    for r in m["regions"]:
        items = r["cox"] if measure == "log_hr" else r["km"]
        for c in items:
            key = c["term"] if measure == "log_hr" else f"{c['time']:g}"
            if key == term:
                reg.append(r["region"])
                est.append(c["coef"] if measure == "log_hr" else c["returned"])
                se.append(c["se"])
    return reg, est, se, pooled


def heterogeneity_table(fed: Mapping[str, Any], lang: str = "nl") -> pd.DataFrame:
    """Every meta-analysed quantity: pooled estimate with CI, regions, tau², I²."""
    labels = code_labels("main_intervention", lang)
    rows = []
    for p in fed["meta"]["pooled"]:
        hr = p["measure"] == "log_hr"
        f = np.exp if hr else (lambda v: v)
        name = (f"HR {labels.get(p['term'], p['term'])}" if hr
                else tx("share", lang, t=p["term"]))
        rows.append({tx("what", lang): name, tx("k", lang): p["k"],
                     tx("est", lang): round(float(f(p["estimate"])), 3),
                     tx("lower", lang): round(float(f(p["lower"])), 3),
                     tx("upper", lang): round(float(f(p["upper"])), 3),
                     "tau²": round(p["tau2"], 4), "I²": f"{100 * p['i2']:.0f}%"})
    return pd.DataFrame(rows)


def forest(fed: Mapping[str, Any], measure: str, term: str, lang: str = "nl", ax=None):
    """Forest plot of one quantity: hazard ratio (log scale) or share returned; an empty
    axis with a note when fewer than two regions could estimate it."""
    reg, est, se, pooled = meta_rows(fed, measure, term)
    if not pooled:
        import matplotlib.pyplot as plt
        ax = ax or plt.subplots(figsize=(6, 2))[1]
        ax.text(0.5, 0.5, "< 2 regio's" if lang == "nl" else "< 2 regions", ha="center")
        ax.set_axis_off()
        return ax
    hr = measure == "log_hr"
    tab = forest_table(reg, est, se, pooled, exp=hr)
    labels = code_labels("main_intervention", lang)
    title = labels.get(term, term) if hr else tx("share", lang, t=term)
    return forest_plot(tab, pooled, title=title, xlabel=tx("hr", lang) if hr else "",
                       ref=1.0 if hr else None, log=hr, ax=ax)


def federate(cohort_folder: str = "", min_cell: int = 10, group: str = "female"
             ) -> dict[str, Any]:
    """Split a cohort (default: the demo cohort) by samenwerkingsverband, run the federated
    analysis through a mock vantage6 federation and the single-machine reference.

    Returns ``fed``, ``pooled``, ``n_regions``, ``n_messages``, ``n_refused`` and
    ``axis`` (the time axes in words per language-neutral key).
    """
    import tempfile
    from pathlib import Path

    from ..demo import cohort_or_demo
    from ._v6 import mock_client, partial_messages
    from .demo import run_federated, run_pooled, split_cohort

    source = cohort_or_demo(cohort_folder)
    try:
        folders = split_cohort(source, Path(tempfile.mkdtemp(prefix="thuiszit-fed-")))
    except ValueError as exc:  # no swv_id column: nothing to federate
        folders, why = [], str(exc)
    if len(folders) < 2:
        why = why if not folders else "the cohort has only one samenwerkingsverband"
        keys = ("validation", "km", "aj", "logrank", "logrank_strata", "cox_strata",
                "cox_pooled", "meta", "target_trial")
        return {"fed": {**dict.fromkeys(keys, why), "min_cell": min_cell},
                "pooled": {}, "n_regions": len(folders), "n_messages": 0, "n_refused": 0}
    client = mock_client(folders)
    fed = run_federated(client, group=group, min_cell=min_cell)
    pooled = run_pooled(folders, fed, group=group)
    msgs = partial_messages(client)
    return {"fed": fed, "pooled": pooled, "n_regions": len(folders),
            "n_messages": len(msgs),
            "n_refused": sum(1 for m in msgs if not m["message"].get("ok"))}


def axis_text(grid, lang: str = "nl") -> str:
    """A time axis in words: exact days, or the bin ends."""
    if grid is None:
        return "exacte dagen" if lang == "nl" else "exact days"
    ends = ", ".join(f"{x:g}" for x in grid[1:])
    return (f"vakken die eindigen op dag {ends}" if lang == "nl"
            else f"bins ending at day {ends}")


def largest_difference(fed: Mapping[str, Any], pooled: Mapping[str, Any]) -> str:
    """The largest absolute difference over every compared figure, as a reader sees it."""
    from .demo import comparison
    cmp = comparison(fed, pooled)
    return tiny(float(cmp["abs_difference"].max())) if len(cmp) else "—"


def logrank_sentence(fed: Mapping[str, Any], lang: str = "nl") -> str:
    """The pooled (unstratified) log-rank result in a sentence, or why it is not there."""
    from ..narrative import number
    lr = fed["logrank"]
    if isinstance(lr, str):
        return ("Een gepoolde (ongestratificeerde) toets vraagt een tijdtabel per groep die "
                "geen tijdas binnen de celregel kon geven." if lang == "nl" else
                "A pooled (unstratified) test needs a time table per group that no time axis "
                "within the cell rule could give.")
    axis = axis_text(fed["logrank_grid"], lang)
    if lang == "nl":
        return (f"De gepoolde (ongestratificeerde) toets op {axis}: chi² = "
                f"{number(lr.chisq, lang, 2)}, p = {number(lr.p, lang, 3)}.")
    return (f"The pooled (unstratified) test on {axis}: chi² = {number(lr.chisq, lang, 2)}, "
            f"p = {number(lr.p, lang, 3)}.")


def target_trial_numbers(tt: Mapping[str, Any], lang: str = "nl") -> dict[str, str]:
    """The pooled target-trial RMST differences, formatted for the narrative."""
    from ..narrative import number
    out = {"k_refused": str(len(tt["refused"]))}
    for p in tt["pooled"]:
        t = p["tau"]
        out[f"d{t}"] = number(p["estimate"], lang, 1)
        out[f"lo{t}"] = number(p["lower"], lang, 1)
        out[f"hi{t}"] = number(p["upper"], lang, 1)
        out[f"k{t}"] = str(p["k"])
        out[f"i2_{t}"] = f"{100 * p['i2']:.0f}%"
    return out
