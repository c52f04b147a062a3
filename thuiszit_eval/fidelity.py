"""Back to School fidelity: is the programme delivered as designed, and does it matter?

The Back to School protocol (seed 000) is for children aged **5-14**, with group treatment
of **at most 3 dayparts a week** for **at most 3 months**, and **coaching of the child, the
parents and the teacher(s)**. Every started Back to School trajectory (an ``interventions``
row with code ``back_to_school`` and a ``start_date`` on or before follow-up end) is judged
on five criteria:

* ``age_5_14``: age at the start in completed years (from the birth month, as
  :func:`~thuiszit_eval.describe.age_in_years`) between 5 and 14;
* ``dayparts_max_3``: ``dayparts_per_week`` at most 3;
* ``duration_max_3m``: ``end_date − start_date`` at most :data:`MAX_DAYS` (91) days; an
  ongoing trajectory (no end date, or ending after follow-up end) is judged on the time so
  far (follow-up end − start), so it fails only once it has run longer than 91 days;
* ``coaching_all``: ``coaching_child``, ``coaching_parents`` and ``coaching_teacher`` all
  true;
* ``group_treatment``: ``group_treatment`` true.

A missing value leaves a criterion *unknown* (``<NA>``), never met by default; a trajectory
is **in protocol** when every criterion is met, **out of protocol** when at least one is not
met, and unknown otherwise (left out of the comparison).

**Return outcomes.** Time from the trajectory's start to return to school (any return, the
episode's end reason; competing endings and open episodes censored, as in
:func:`~thuiszit_eval.outcomes.survival_table`), Kaplan–Meier per protocol group. Only the
first Back to School trajectory of an episode, and only episodes still open on its start
day, count. Protocol deviation is **not randomised**: pupils whose trajectory runs longer
than 3 months are by definition still at home after 3 months, so ``duration_max_3m`` is
partly an outcome itself, and older or more complex pupils may get adapted trajectories.
The comparison describes; it does not estimate an effect of adherence.

Example
-------
>>> from thuiszit_eval.cohort import Cohort
>>> from thuiszit_eval.schema import schema_dir
>>> tr = trajectories(Cohort.load(schema_dir() / "example")).set_index("intervention_id")
>>> bool(tr.at["I0001a", "in_protocol"]), bool(tr.at["I0002a", "in_protocol"])
(True, False)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from .describe import age_in_years, suppress_small
from .disclosure import shown_share_is_safe
from .estimability import NotApplicable
from .messages import MESSAGES, t
from .outcomes import SAME_DAY, OutcomeDefinition, survival_table
from .survival import kaplan_meier

if TYPE_CHECKING:
    from .cohort import Cohort
    from .survival import KaplanMeierResult

__all__ = [
    "AGE_RANGE",
    "CRITERIA",
    "MAX_DAYPARTS",
    "MAX_DAYS",
    "criterion_label",
    "fidelity_table",
    "protocol_km",
    "protocol_outcomes",
    "protocol_return",
    "trajectories",
]

BACK_TO_SCHOOL = "back_to_school"
AGE_RANGE: tuple[int, int] = (5, 14)
MAX_DAYPARTS = 3
MAX_DAYS = 91
CRITERIA: tuple[str, ...] = ("age_5_14", "dayparts_max_3", "duration_max_3m", "coaching_all",
                             "group_treatment")


def criterion_label(name: str, lang: str = "nl") -> str:
    """Reader's name of a criterion or protocol group in ``nl`` or ``en``."""
    return MESSAGES.get(f"fidelity.criterion.{name}", {}).get(lang, name)


def _bool(values: pd.Series, known: pd.Series) -> pd.Series:
    """Nullable boolean: ``values`` where ``known``, else <NA>."""
    return pd.Series(values.to_numpy(dtype=bool), index=values.index,
                     dtype="boolean").mask(~known.to_numpy(dtype=bool))


def trajectories(cohort: Cohort, code: str = BACK_TO_SCHOOL) -> pd.DataFrame:
    """One row per started Back to School trajectory with its fidelity criteria (pupil
    level: for analysis, never for publication).

    Columns: intervention_id, episode_id, pupil_id, start_date, end_date, age_at_start,
    days (duration so far), ongoing, dayparts_per_week, one nullable boolean column per
    criterion in :data:`CRITERIA`, and ``in_protocol`` (all met; <NA> when unknown).
    """
    fu = cohort.follow_up_end
    iv = cohort.interventions
    cols = ["intervention_id", "episode_id", "pupil_id", "start_date", "end_date",
            "dayparts_per_week", "coaching_child", "coaching_parents", "coaching_teacher",
            "group_treatment"]
    if iv is None:
        iv = pd.DataFrame(columns=[*cols, "intervention_code"])
    tr = iv[(iv["intervention_code"] == code) & iv["start_date"].notna()
            & (iv["start_date"] <= fu)][cols].reset_index(drop=True)
    if tr.empty:  # a region without Back to School: the fidelity questions do not apply
        raise NotApplicable("needs_group", need="back_to_school")
    birth = tr["pupil_id"].map(cohort.pupils.drop_duplicates("pupil_id")
                               .set_index("pupil_id")["birth_month"])
    age = age_in_years(pd.to_datetime(birth), pd.to_datetime(tr["start_date"]))
    ongoing = tr["end_date"].isna() | (tr["end_date"] > fu)
    last = tr["end_date"].where(~ongoing, fu)
    days = (pd.to_datetime(last) - pd.to_datetime(tr["start_date"])).dt.days.astype(float)
    dp = pd.to_numeric(tr["dayparts_per_week"], errors="coerce").astype(float)
    years = np.floor(age.to_numpy(dtype=float, na_value=np.nan))
    lo, hi = AGE_RANGE
    coach = [tr[c].astype("boolean") for c in
             ("coaching_child", "coaching_parents", "coaching_teacher")]
    out = tr[["intervention_id", "episode_id", "pupil_id", "start_date", "end_date"]].copy()
    out["age_at_start"] = age.to_numpy(dtype=float, na_value=np.nan)
    out["days"] = days.to_numpy()
    out["ongoing"] = ongoing.to_numpy()
    out["dayparts_per_week"] = dp.to_numpy()
    out["age_5_14"] = _bool(pd.Series((years >= lo) & (years <= hi)), pd.Series(~np.isnan(years)))
    out["dayparts_max_3"] = _bool(dp <= MAX_DAYPARTS, dp.notna())
    out["duration_max_3m"] = _bool(days <= MAX_DAYS, days.notna())
    out["coaching_all"] = (coach[0] & coach[1] & coach[2]).to_numpy()
    out["group_treatment"] = tr["group_treatment"].astype("boolean").to_numpy()
    allc = out[list(CRITERIA)[0]]
    for c in CRITERIA[1:]:
        allc = allc & out[c]
    out["in_protocol"] = allc
    return out


def _wilson(k: np.ndarray, n: np.ndarray, conf_level: float = 0.95
            ) -> tuple[np.ndarray, np.ndarray]:
    z = stats.norm.ppf(0.5 + conf_level / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def fidelity_table(traj: pd.DataFrame, min_cell: int | None = 10, lang: str = "nl"
                   ) -> pd.DataFrame:
    """Per criterion and for all criteria together: trajectories judged (``n``), meeting
    it (``met``), not meeting it (``not_met``), unknown (``n_unknown``), and the share met
    with a 95% Wilson interval.

    Suppression: a row where ``met`` or ``not_met`` is below ``min_cell`` shows that count
    as ``"<10"`` and hides the other one and the share (it would give the small count
    back as ``n`` − shown count); ``n_unknown`` below ``min_cell`` shows ``"<10"``.
    """
    rows = []
    for c in [*CRITERIA, "all"]:
        v = traj["in_protocol" if c == "all" else c]
        known = v.notna()
        met = int(v[known].astype(bool).sum())
        n = int(known.sum())
        rows.append({"criterion": c, "label": criterion_label(c, lang), "n": n, "met": met,
                     "not_met": n - met, "n_unknown": int((~known).sum())})
    out = pd.DataFrame(rows)
    k, n = out["met"].to_numpy(float), out["n"].to_numpy(float)
    out["share_met"] = np.where(n > 0, k / np.where(n > 0, n, 1), np.nan)
    out["share_lower"], out["share_upper"] = _wilson(k, n)
    if not min_cell:
        return out
    est = ["share_met", "share_lower", "share_upper"]
    small = (out["met"] < min_cell) | (out["not_met"] < min_cell)
    # the share as written ("3%" of 350 may be 9) gives no small count back either
    unsafe = [not shown_share_is_safe(p, m, min_cell) for p, m in zip(out["share_met"], n,
                                                                       strict=True)]
    out.loc[unsafe, est] = np.nan
    shown = suppress_small(out, ["n", "met", "not_met", "n_unknown"], min_cell,
                           hide={"n": est, "met": est, "not_met": est})
    for c in ("met", "not_met"):
        # the complement of a suppressed count is hidden too
        other = "not_met" if c == "met" else "met"
        hide = small & (out[other] < min_cell) & (out[c] >= min_cell)
        shown.loc[hide, c] = "–"
    return shown


def protocol_return(cohort: Cohort, traj: pd.DataFrame | None = None,
                    definition: OutcomeDefinition | None = None) -> pd.DataFrame:
    """Time from the start of the episode's first Back to School trajectory to return.

    One row per trajectory (pupil level): intervention_id, episode_id, pupil_id,
    in_protocol, protocol ("in_protocol" / "out_of_protocol" / "unknown"), duration (days
    from the start), event (the survival table's code: 1 return, 2.. competing, 0
    censored). ``definition`` (default any return) sets the outcome; its origin is
    replaced by the trajectory's start. Episodes that ended before the start are left out.
    """
    traj = trajectories(cohort) if traj is None else traj
    first = traj.sort_values("start_date", kind="stable").drop_duplicates("episode_id")
    st = survival_table(cohort, definition or OutcomeDefinition()).data
    m = first.merge(st[["episode_id", "stop_date", "event"]], on="episode_id", how="inner")
    days = (m["stop_date"] - m["start_date"]).dt.days.to_numpy(dtype=float)
    keep = days >= 0
    m = m[keep].reset_index(drop=True)
    days = days[keep]
    ip = m["in_protocol"]
    protocol = np.where(ip.isna(), "unknown",
                        np.where(ip.fillna(False).astype(bool), "in_protocol", "out_of_protocol"))
    return pd.DataFrame({
        "intervention_id": m["intervention_id"], "episode_id": m["episode_id"],
        "pupil_id": m["pupil_id"], "in_protocol": ip, "protocol": protocol,
        "duration": np.where(days <= 0, SAME_DAY, days), "event": m["event"].astype(int),
    })


def protocol_km(cohort: Cohort, traj: pd.DataFrame | None = None, lang: str = "nl"
                ) -> KaplanMeierResult:
    """Kaplan–Meier of return from the start, in protocol against out of protocol
    (unknown protocol left out), for :func:`~thuiszit_eval.plots.km_plot`."""
    pr = protocol_return(cohort, traj)
    pr = pr[pr["protocol"] != "unknown"]
    return kaplan_meier(pr.assign(group=pr["protocol"].map(lambda g: criterion_label(g, lang))),
                        "duration", "event", group="group")


def protocol_outcomes(cohort: Cohort, traj: pd.DataFrame | None = None,
                      times: Sequence[float] = (28, 91, 182), min_cell: int | None = 10,
                      lang: str = "nl") -> pd.DataFrame:
    """Per protocol group: trajectories (``n``), returns (``events``), median days from the
    start to return with 95% CI, and the share returned at ``times`` (``returned_28d`` ...
    with ``_lower`` / ``_upper``). Groups with fewer than ``min_cell`` trajectories or
    returns show ``"<10"`` and no estimates."""
    pr = protocol_return(cohort, traj)
    rows = []
    for g in ("in_protocol", "out_of_protocol"):
        d = pr[pr["protocol"] == g]
        row: dict[str, object] = {"protocol": g, "label": criterion_label(g, lang),
                                  "n": len(d), "events": int((d["event"] == 1).sum())}
        if len(d):
            km = kaplan_meier(d, "duration", "event")
            med = km.median().iloc[0]
            row.update(median_days=med["quantile"], median_lower=med["lower"],
                       median_upper=med["upper"])
            for _, r in km.at_times(times).iterrows():
                k = f"returned_{r['time']:g}d"
                # too few left to show a share, or one that gives a small count back
                if min_cell and (r["n_risk"] < min_cell or not shown_share_is_safe(
                        r["returned"], len(d), min_cell)):
                    r[["returned", "returned_lower", "returned_upper"]] = np.nan
                row.update({k: r["returned"], f"{k}_lower": r["returned_lower"],
                            f"{k}_upper": r["returned_upper"]})
        rows.append(row)
    out = pd.DataFrame(rows)
    if not min_cell:
        return out
    est = [c for c in out.columns if c not in ("protocol", "label", "n", "events")]
    return suppress_small(out, ["n", "events"], min_cell, hide={"n": est, "events": est})


# --------------------------------------------------------------------------- presentation
#: Column headers of the presented tables: message keys ``fidelity.col.<key>``.
_HEAD_KEYS: tuple[str, ...] = ("criterion", "n", "met", "not_met", "share", "group", "returns",
                              "median", "within")


def present_fidelity(tab: pd.DataFrame, lang: str = "nl") -> pd.DataFrame:
    """:func:`fidelity_table` as a readable table."""
    from .process import fmt_ci, fmt_value

    h = {k: t(f"fidelity.col.{k}", lang) for k in _HEAD_KEYS}
    return pd.DataFrame({
        h["n"]: [fmt_value(v, lang, "count") for v in tab["n"]],
        h["met"]: [fmt_value(v, lang, "count") for v in tab["met"]],
        h["not_met"]: [fmt_value(v, lang, "count") for v in tab["not_met"]],
        h["share"]: [fmt_ci(r.share_met, r.share_lower, r.share_upper, lang)
                     for r in tab.itertuples()],
    }, index=pd.Index(tab["label"].to_numpy(), name=h["criterion"]))


def present_outcomes(tab: pd.DataFrame, lang: str = "nl") -> pd.DataFrame:
    """:func:`protocol_outcomes` as a readable table."""
    from .process import fmt_ci, fmt_value

    h = {k: t(f"fidelity.col.{k}", lang) for k in _HEAD_KEYS}
    out = pd.DataFrame({
        h["n"]: [fmt_value(v, lang, "count") for v in tab["n"]],
        h["returns"]: [fmt_value(v, lang, "count") for v in tab["events"]],
        h["median"]: [fmt_ci(r.get("median_days"), r.get("median_lower"),
                             r.get("median_upper"), lang, "days") for _, r in tab.iterrows()],
    }, index=pd.Index(tab["label"].to_numpy(), name=h["group"]))
    for c in tab.columns:
        if c.startswith("returned_") and c.endswith("d"):
            out[h["within"].format(d=c[len("returned_"):-1])] = [
                fmt_ci(e, lo, hi, lang) for e, lo, hi in
                zip(tab[c], tab[f"{c}_lower"], tab[f"{c}_upper"], strict=True)]
    return out
