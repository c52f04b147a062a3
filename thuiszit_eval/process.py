"""Process indicators: how fast the praktijkkaart and route-wijzer steps happen.

The praktijkkaart "Van thuis weer naar school" and the route-wijzer describe a process with
dated steps: the absence is reported to leerplicht, the school or leerplicht gets in touch
with pupil and parents, a plan is agreed, an intervention starts; pupils wait on waiting
lists; after the return they should be kept in view (follow-up). This module measures it.

Rules, stated once
------------------
**Steps as time-to-event.** For every episode the clock starts at the ``origin``
(``"absence_start"``, default, or ``"first_signal"``: the earliest ``signal`` event of the
episode, or its absence start when that is earlier or there is no signal). The steps are

* ``reported_leerplicht``: the earliest of the episode's ``reported_date`` and its
  ``reported_leerplicht`` event;
* ``first_contact``: the first ``contact_pupil`` or ``contact_parents`` event;
* ``plan_agreed``: the first ``plan_agreed`` event;
* ``intervention_start``: the first ``start_date`` of the episode's interventions, not
  counting the process-only codes in :data:`NOT_AN_INTERVENTION` (a case table, agendapunt
  4 and usual care are steps of the process, not an intervention being deployed).

Some steps never happen. Follow-up of an episode ends at its ``end_date`` (or at follow-up
end while it is open): a step that has not happened by then is **censored** there, and a
step recorded after the episode's end does not count as a step of the episode. A step on or
before the origin day gets duration :data:`~thuiszit_eval.outcomes.SAME_DAY`. Kaplan–Meier
then gives the median days to each step and the share reached within 2, 4 and 8 weeks.
Because the episode's end censors the step, these describe the pace *for pupils still at
home*: pupils who return quickly leave before they need a plan.

**Waiting lists.** A spell runs from a ``waiting_list_start`` event to the first
``waiting_list_end`` on or after it (same episode). Without a recorded end the spell is
censored at the end of the episode (or at follow-up end while the episode is open, or when
the spell starts after the episode ended).

**Kept in view** (praktijkkaart step 5). For every episode that ended in a return on or
before follow-up end: time from the return to the first ``follow_up`` event of the episode
on or after the return day, censored at follow-up end; the share kept in view is the
Kaplan–Meier share with a follow-up within ``weeks`` weeks.

**Faster steps and faster return.** A Cox model of return (any return, from the absence
start; competing endings censored: the cause-specific hazard) with ``first_contact`` and
``plan_agreed`` as *time-varying* exposures that switch on at their dates
(:func:`~thuiszit_eval.outcomes.counting_process`); robust standard errors clustered by
pupil. Counting a step as present from time 0 would credit it with the time before it
happened (immortal-time bias).

Every ``*_table`` function suppresses small counts (``min_cell``, default 10): a count below
``min_cell`` becomes ``"<10"``, a count whose complement (total − count) is below
``min_cell`` becomes ``">N"``, and the estimates of such rows are hidden.

Example
-------
>>> from thuiszit_eval.cohort import Cohort
>>> from thuiszit_eval.schema import schema_dir
>>> st = step_times(Cohort.load(schema_dir() / "example"))
>>> r = st[(st.episode_id == "E0001a") & (st.step == "reported_leerplicht")].iloc[0]
>>> float(r.duration), int(r.event)
(35.0, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .describe import suppress_small
from .disclosure import shown_share_is_safe
from .estimability import require_table
from .messages import MESSAGES, t
from .outcomes import RETURN_REASONS, SAME_DAY, OutcomeDefinition, counting_process
from .survival import cox_ph, kaplan_meier

if TYPE_CHECKING:
    from .cohort import Cohort
    from .survival import KaplanMeierResult

__all__ = [
    "NOT_AN_INTERVENTION",
    "ORIGINS",
    "STEPS",
    "kept_in_view",
    "kept_in_view_table",
    "step_km",
    "step_label",
    "step_table",
    "step_times",
    "steps_and_return",
    "waiting_list_spells",
    "waiting_list_table",
]

STEPS: tuple[str, ...] = ("reported_leerplicht", "first_contact", "plan_agreed",
                          "intervention_start")
ORIGINS: tuple[str, ...] = ("absence_start", "first_signal")
#: Intervention codes that are process steps, not the deployment of an intervention.
NOT_AN_INTERVENTION: tuple[str, ...] = ("thuiszitterstafel", "agendapunt_4", "usual_care")


def step_label(step: str, lang: str = "nl") -> str:
    """Reader's name of a step (or indicator) in ``nl`` or ``en``."""
    return MESSAGES.get(f"process.step.{step}", {}).get(lang, step)


# --------------------------------------------------------------------------- helpers
def _days(a: pd.Series, b: pd.Series) -> np.ndarray:
    return ((pd.to_datetime(b) - pd.to_datetime(a)).dt.days).to_numpy(dtype=float)


def _first(pe: pd.DataFrame, codes: Sequence[str]) -> pd.Series:
    """First event date per episode_id among ``codes``."""
    if pe is None or len(pe) == 0:
        return pd.Series(dtype="datetime64[ns]")
    sel = pe[pe["event_code"].isin(codes) & pe["episode_id"].notna()]
    return sel.groupby("episode_id")["event_date"].min()


def _episode_window(cohort: Cohort, origin: str = "absence_start",
                    episode_types: Sequence[str] | None = None) -> pd.DataFrame:
    """episode_id, pupil_id, origin_date, stop_date (episode end, or follow-up end)."""
    if origin not in ORIGINS:
        raise ValueError(f"origin {origin!r}: expected one of {', '.join(ORIGINS)}")
    fu = cohort.follow_up_end
    ep = cohort.episodes
    if episode_types is not None:
        ep = ep[ep["episode_type"].isin(episode_types)]
    out = ep[["episode_id", "pupil_id"]].copy()
    org = ep["absence_start"]
    if origin == "first_signal":
        sig = ep["episode_id"].map(_first(cohort.process_events, ["signal"]))
        org = pd.concat([org, sig], axis=1).min(axis=1)
    out["origin_date"] = pd.to_datetime(org).to_numpy()
    ended = ep["end_date"].notna() & (ep["end_date"] <= fu)
    out["stop_date"] = ep["end_date"].where(ended, fu).to_numpy()
    keep = out["origin_date"].notna() & (out["origin_date"] <= out["stop_date"])
    return out[keep].reset_index(drop=True)


def _step_dates(cohort: Cohort, step: str, episode_ids: pd.Series) -> pd.Series:
    pe = cohort.process_events
    if step == "reported_leerplicht":
        ev = episode_ids.map(_first(pe, ["reported_leerplicht"]))
        rep = episode_ids.map(cohort.episodes.set_index("episode_id")["reported_date"])
        return pd.concat([pd.to_datetime(ev), pd.to_datetime(rep)], axis=1).min(axis=1)
    if step == "first_contact":
        return pd.to_datetime(episode_ids.map(_first(pe, ["contact_pupil", "contact_parents"])))
    if step == "intervention_start":
        iv = cohort.interventions
        if iv is None or len(iv) == 0:
            return pd.Series(pd.NaT, index=episode_ids.index)
        iv = iv[~iv["intervention_code"].isin(NOT_AN_INTERVENTION)]
        return pd.to_datetime(episode_ids.map(iv.groupby("episode_id")["start_date"].min()))
    return pd.to_datetime(episode_ids.map(_first(pe, [step])))


def _time_to_event(origin: pd.Series, date: pd.Series, stop: pd.Series
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Duration (days, > 0) and event flag: the event when ``date`` is on or before ``stop``."""
    hit = (date.notna() & (date <= stop)).to_numpy()
    end = date.where(hit, stop)
    dur = np.maximum(_days(origin, end), 0.0)
    return np.where(dur <= 0, SAME_DAY, dur), hit.astype(int)


def _suppress(df: pd.DataFrame, total: str, part: str, hide: Sequence[str],
              min_cell: int | None) -> pd.DataFrame:
    """suppress_small on ``total`` and ``part``; a ``part`` whose complement ``total − part``
    is below ``min_cell`` is shown as ``">N"`` (N = total − min_cell), estimates hidden."""
    if not min_cell:
        return df
    hide = list(hide)
    out = suppress_small(df, [total, part], min_cell, hide={total: hide, part: hide})
    n = pd.to_numeric(df[total], errors="coerce")
    k = pd.to_numeric(df[part], errors="coerce")
    comp_small = ((n - k) < min_cell) & (k >= min_cell) & (n >= min_cell)
    if comp_small.any():
        out[part] = out[part].astype(object)
        out.loc[comp_small, part] = [f">{int(v) - min_cell}" for v in n[comp_small]]
        for c in hide:
            out[c] = out[c].astype(object).where(~comp_small, None)
    return out


def _km_row(data: pd.DataFrame, times: Sequence[float], prefix: str, names: Sequence[str],
            flip: bool = False, min_at_risk: int | None = None) -> dict[str, float]:
    """Median (with CI) and the KM share at ``times`` (returned = 1 − S, or S if flip);
    shares at times with fewer than ``min_at_risk`` at risk, or that give back a count
    below ``min_at_risk`` with the number of rows (as a whole percentage, see
    :func:`thuiszit_eval.disclosure.shown_share_is_safe`), are left missing."""
    km = kaplan_meier(data, "duration", "event")
    med = km.median().iloc[0]
    row = {"n": len(data), "events": int(data["event"].sum()),
           "median_days": med["quantile"], "median_lower": med["lower"],
           "median_upper": med["upper"]}
    at = km.at_times(times)
    for name, (_, r) in zip(names, at.iterrows(), strict=True):
        share = r["surv"] if flip else r["returned"]
        # a share of n as shown ("3%" of 350 may be 9) must give no small count back
        if min_at_risk and (r["n_risk"] < min_at_risk or not shown_share_is_safe(
                share, len(data), min_at_risk)):
            r = r.copy()
            r[["surv", "lower", "upper", "returned", "returned_lower", "returned_upper"]] = np.nan
        if flip:
            row[f"{prefix}_{name}"] = r["surv"]
            row[f"{prefix}_{name}_lower"], row[f"{prefix}_{name}_upper"] = r["lower"], r["upper"]
        else:
            row[f"{prefix}_{name}"] = r["returned"]
            row[f"{prefix}_{name}_lower"] = r["returned_lower"]
            row[f"{prefix}_{name}_upper"] = r["returned_upper"]
    return row


# --------------------------------------------------------------------------- steps
def step_times(cohort: Cohort, origin: str = "absence_start",
               steps: Sequence[str] = STEPS,
               episode_types: Sequence[str] | None = None) -> pd.DataFrame:
    """Time from the origin to each process step, one row per episode × step (pupil level:
    for analysis, never for publication).

    Columns: episode_id, pupil_id, step, origin_date, step_date (NaT when not reached
    during the episode), duration (days, > 0), event (1 = step reached, 0 = censored at the
    episode's end or follow-up end). ``episode_types`` restricts the episodes (e.g.
    ``("lrv", "absoluut_verzuim")``).
    """
    win = _episode_window(cohort, origin, episode_types)
    parts = []
    for step in steps:
        date = _step_dates(cohort, step, win["episode_id"])
        date.index = win.index
        date = date.where(date <= win["stop_date"])
        dur, ev = _time_to_event(win["origin_date"], date, win["stop_date"])
        parts.append(pd.DataFrame({
            "episode_id": win["episode_id"], "pupil_id": win["pupil_id"], "step": step,
            "origin_date": win["origin_date"], "step_date": date.to_numpy(),
            "duration": dur, "event": ev,
        }))
    return pd.concat(parts, ignore_index=True)


def step_table(cohort: Cohort, origin: str = "absence_start", steps: Sequence[str] = STEPS,
               weeks: Sequence[int] = (2, 4, 8), min_cell: int | None = 10,
               lang: str = "nl", episode_types: Sequence[str] | None = None) -> pd.DataFrame:
    """Per step: episodes (``n``), steps reached (``events``), Kaplan–Meier median days
    with 95% CI, and the share reached within each of ``weeks`` (``reached_2w``, with
    ``_lower`` / ``_upper``). Small counts suppressed (``min_cell=None``: none).
    Raises :class:`~thuiszit_eval.estimability.NotApplicable` without process steps."""
    require_table(cohort, "process_events", "process")
    st = step_times(cohort, origin, steps, episode_types)
    names = [f"{w}w" for w in weeks]
    rows = []
    for step in steps:
        d = st[st["step"] == step]
        rows.append({"step": step, "label": step_label(step, lang),
                     **_km_row(d, [7.0 * w for w in weeks], "reached", names,
                                 min_at_risk=min_cell)})
    out = pd.DataFrame(rows)
    est = [c for c in out.columns if c not in ("step", "label", "n", "events")]
    return _suppress(out, "n", "events", est, min_cell)


def step_km(cohort: Cohort, origin: str = "absence_start", steps: Sequence[str] = STEPS,
            lang: str = "nl", episode_types: Sequence[str] | None = None
            ) -> KaplanMeierResult:
    """One Kaplan–Meier curve per step (groups "1. …", "2. …" in step order), for
    :func:`~thuiszit_eval.plots.km_plot`."""
    st = step_times(cohort, origin, steps, episode_types)
    order = {s: f"{i}. {step_label(s, lang)}" for i, s in enumerate(steps, 1)}
    return kaplan_meier(st.assign(step=st["step"].map(order)), "duration", "event",
                        group="step")


# --------------------------------------------------------------------------- waiting lists
def waiting_list_spells(cohort: Cohort) -> pd.DataFrame:
    """One row per waiting-list spell: episode_id, pupil_id, start, end (NaT = not
    recorded), duration (days), event (1 = left the list, 0 = censored), still_open (the
    spell is censored at follow-up end: the pupil is still waiting then)."""
    pe = cohort.process_events
    cols = ["episode_id", "pupil_id", "start", "end", "duration", "event", "still_open"]
    if pe is None or len(pe) == 0:
        return pd.DataFrame(columns=cols)
    pe = pe[pe["episode_id"].notna()]
    starts = pe[pe["event_code"] == "waiting_list_start"][["episode_id", "pupil_id",
                                                             "event_date"]]
    ends = pe[pe["event_code"] == "waiting_list_end"][["episode_id", "event_date"]]
    starts = starts.rename(columns={"event_date": "start"}).sort_values("start")
    ends = ends.rename(columns={"event_date": "end"}).sort_values("end")
    sp = pd.merge_asof(starts, ends, left_on="start", right_on="end", by="episode_id",
                       direction="forward").sort_values(["episode_id", "start"])
    fu = cohort.follow_up_end
    win = _episode_window(cohort).set_index("episode_id")["stop_date"]
    stop = pd.to_datetime(sp["episode_id"].map(win)).fillna(fu)
    stop = stop.where(stop >= sp["start"], fu)
    end = sp["end"].where(sp["end"] <= fu)
    censor = stop.where(end.isna(), end)
    dur, ev = _time_to_event(sp["start"], end, censor)
    sp = sp.assign(end=end, duration=dur, event=ev,
                   still_open=((ev == 0) & (censor >= fu)).to_numpy())
    return sp[cols].reset_index(drop=True)


def waiting_list_table(cohort: Cohort, weeks: Sequence[int] = (4, 8, 13, 26),
                       min_cell: int | None = 10, lang: str = "nl") -> pd.DataFrame:
    """Time on waiting lists: spells (``n``), spells ended (``events``), pupils still
    waiting at follow-up end (``n_still_waiting``), Kaplan–Meier median days on the list
    with 95% CI, and the share *still waiting* after each of ``weeks``."""
    sp = waiting_list_spells(cohort)
    names = [f"{w}w" for w in weeks]
    if len(sp) == 0:
        row = {"n": 0, "events": 0}
    else:
        row = _km_row(sp, [7.0 * w for w in weeks], "still_waiting", names, flip=True,
                      min_at_risk=min_cell)
    out = pd.DataFrame([{"indicator": "waiting_list", "label": step_label("waiting_list", lang),
                         **row, "n_still_waiting": int(sp["still_open"].sum())}])
    est = [c for c in out.columns
           if c not in ("indicator", "label", "n", "events", "n_still_waiting")]
    out = _suppress(out, "n", "events", est, min_cell)
    if min_cell:
        out = suppress_small(out, ["n_still_waiting"], min_cell)
    return out


# --------------------------------------------------------------------------- kept in view
def kept_in_view(cohort: Cohort) -> pd.DataFrame:
    """Per episode that ended in a return: days from the return to the first follow-up
    event (duration, event = 1) or to follow-up end (event = 0). Pupil level."""
    fu = cohort.follow_up_end
    ep = cohort.episodes
    ret = ep[ep["end_reason"].isin(RETURN_REASONS) & ep["end_date"].notna()
             & (ep["end_date"] < fu)]
    pe = cohort.process_events
    fups = pd.DataFrame(columns=["episode_id", "event_date"])
    if pe is not None:
        fups = pe[(pe["event_code"] == "follow_up") & pe["episode_id"].notna()]
    m = fups.merge(ret[["episode_id", "end_date"]], on="episode_id")
    first = m[m["event_date"] >= m["end_date"]].groupby("episode_id")["event_date"].min()
    date = pd.to_datetime(ret["episode_id"].map(first))
    dur, ev = _time_to_event(ret["end_date"], date, pd.Series(fu, index=ret.index))
    return pd.DataFrame({"episode_id": ret["episode_id"].to_numpy(),
                         "pupil_id": ret["pupil_id"].to_numpy(),
                         "return_date": ret["end_date"].to_numpy(),
                         "follow_up_date": date.to_numpy(), "duration": dur, "event": ev})


def kept_in_view_table(cohort: Cohort, weeks: int = 8, min_cell: int | None = 10,
                       lang: str = "nl") -> pd.DataFrame:
    """Returns (``n``), returns followed up (``events``), and the Kaplan–Meier share with a
    follow-up event within ``weeks`` weeks of the return (``kept_in_view`` with 95% CI)."""
    kv = kept_in_view(cohort)
    row: dict[str, float] = {"n": len(kv), "events": int(kv["event"].sum())}
    if len(kv):
        r = kaplan_meier(kv, "duration", "event").at_times([7.0 * weeks]).iloc[0]
        if min_cell and (r["n_risk"] < min_cell or not shown_share_is_safe(
                r["returned"], len(kv), min_cell)):
            r[["returned", "returned_lower", "returned_upper"]] = np.nan
        row.update(kept_in_view=r["returned"], kept_in_view_lower=r["returned_lower"],
                   kept_in_view_upper=r["returned_upper"])
    out = pd.DataFrame([{"indicator": "kept_in_view", "label": step_label("kept_in_view", lang),
                         "weeks": weeks, **row}])
    est = [c for c in out.columns if c.startswith("kept_in_view")]
    return _suppress(out, "n", "events", est, min_cell)


# --------------------------------------------------------------------------- Cox
def steps_and_return(cohort: Cohort, exposures: Sequence[str] = ("first_contact",
                                                                 "plan_agreed"),
                     definition: OutcomeDefinition | None = None,
                     adjust: Sequence[str] = (), min_cell: int | None = 10,
                     lang: str = "nl") -> pd.DataFrame:
    """Time-varying Cox model of return with process steps as exposures.

    Each exposure is 0 before and 1 from its first date in the episode on
    (:func:`~thuiszit_eval.outcomes.counting_process`); ``first_contact`` is the first of
    ``contact_pupil`` / ``contact_parents``. ``adjust`` adds numeric baseline covariates of
    the counting-process table (e.g. ``"age"``). Robust SEs clustered by pupil.

    Returns one row per exposure: step, label, hr, hr_lower, hr_upper, p, ``n_exposed``
    (episodes in which the step happened before the episode ended), ``events_exposed``
    (returns after the step), ``events_unexposed`` (returns before it). HR > 1: once the
    step has happened, the hazard of return is higher. Association, not effect.
    """
    pe = cohort.process_events
    present = set() if pe is None else set(pe["event_code"])
    codes: dict[str, list[str]] = {}
    for e in exposures:
        src = ["contact_pupil", "contact_parents"] if e == "first_contact" else [e]
        codes[e] = [c for c in src if c in present]
    used = [e for e in exposures if codes[e]]
    cols = ["step", "label", "hr", "hr_lower", "hr_upper", "p", "n_exposed", "events_exposed",
            "events_unexposed"]
    if not used:
        return pd.DataFrame(columns=cols)
    raw = tuple(dict.fromkeys(c for e in used for c in codes[e]))
    cp = counting_process(cohort, definition, exposures=raw)
    for e in used:
        cp[e] = cp[codes[e]].max(axis=1)
    terms = [*used, *adjust]
    cp = cp.dropna(subset=list(adjust))
    rows = []
    for e in used:
        on = cp[e] == 1
        rows.append({"step": e, "label": step_label(e, lang),
                     "n_exposed": int(cp.loc[on, "id"].nunique()),
                     "events_exposed": int(cp.loc[on, "event"].sum()),
                     "events_unexposed": int(cp.loc[~on, "event"].sum())})
    # a model needs events with and without each exposure; too few: no estimate
    least = min(min(r["events_exposed"], r["events_unexposed"]) for r in rows)
    tab = None
    if least >= max(min_cell or 0, 1):
        try:
            fit = cox_ph(cp, "stop", "event", terms, start="start", cluster="pupil_id")
            tab = fit.table.set_index("term")
        except np.linalg.LinAlgError:
            tab = None
    for r in rows:
        for k in ("hr", "hr_lower", "hr_upper", "p"):
            r[k] = tab.at[r["step"], k] if tab is not None else np.nan
    out = pd.DataFrame(rows, columns=cols)
    if min_cell:
        est = ["hr", "hr_lower", "hr_upper", "p"]
        out = suppress_small(out, ["n_exposed", "events_exposed", "events_unexposed"],
                             min_cell, hide={c: est for c in ("n_exposed", "events_exposed",
                                                               "events_unexposed")})
    return out


# --------------------------------------------------------------------------- presentation
def head(key: str, lang: str = "nl", **fmt: object) -> str:
    """A column header of the presented tables in ``nl`` or ``en``."""
    return t(f"process.col.{key}", lang, **fmt)


def fmt_value(x: object, lang: str = "nl", kind: str = "days") -> str:
    """A number as text (``days``: whole days, ``pct``: a share as %, ``ratio``: 2 decimals);
    texts such as ``"<10"`` pass unchanged, missing values become ``"–"``."""
    from .narrative import number, percent

    if isinstance(x, str):
        return x
    if x is None or pd.isna(x):
        return "–"
    if kind == "pct":
        return percent(float(x), lang)
    if kind == "ratio":
        return number(float(x), lang, 2)
    if kind == "count":
        return number(float(x), lang)
    return number(float(x), lang)


def fmt_ci(est: object, lo: object, hi: object, lang: str = "nl", kind: str = "pct") -> str:
    """``"46% (42–50%)"``; ``"–"`` when the estimate is hidden or missing."""
    if est is None or (not isinstance(est, str) and pd.isna(est)):
        return "–"
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return fmt_value(est, lang, kind)
    lo_s, hi_s = fmt_value(lo, lang, kind), fmt_value(hi, lang, kind)
    if lo_s == hi_s:  # an interval without width (no step reached yet) says nothing
        return fmt_value(est, lang, kind)
    return f"{fmt_value(est, lang, kind)} ({lo_s}–{hi_s})"


def _fmt_p(p: float, lang: str) -> str:
    from .narrative import number

    if pd.isna(p):
        return "–"
    return ("<0,001" if lang == "nl" else "<0.001") if p < 0.001 else number(p, lang, 3)


def present_steps(tab: pd.DataFrame, lang: str = "nl") -> pd.DataFrame:
    """:func:`step_table` as a readable table (one row per step, texts)."""
    out = pd.DataFrame({
        head("episodes", lang): [fmt_value(v, lang, "count") for v in tab["n"]],
        head("reached", lang): [fmt_value(v, lang, "count") for v in tab["events"]],
        head("median", lang): [fmt_ci(r.median_days, r.median_lower, r.median_upper, lang,
                                      "days") for r in tab.itertuples()],
    }, index=pd.Index(tab["label"].to_numpy(), name=head("step", lang)))
    for c in tab.columns:
        if c.startswith("reached_") and c.endswith("w"):
            w = c[len("reached_"):-1]
            out[head("within", lang, w=w)] = [
                fmt_ci(e, lo, hi, lang) for e, lo, hi in
                zip(tab[c], tab[f"{c}_lower"], tab[f"{c}_upper"], strict=True)]
    return out


def present_waiting(tab: pd.DataFrame, lang: str = "nl") -> pd.DataFrame:
    """:func:`waiting_list_table` as a readable one-row table."""
    r = tab.iloc[0]
    out = {head("spells", lang): fmt_value(r["n"], lang, "count"),
           head("ended", lang): fmt_value(r["events"], lang, "count"),
           head("median", lang): fmt_ci(r.get("median_days"), r.get("median_lower"),
                                        r.get("median_upper"), lang, "days")}
    for c in tab.columns:
        if c.startswith("still_waiting_") and c.endswith("w"):
            w = c[len("still_waiting_"):-1]
            out[head("still_after", lang, w=w)] = fmt_ci(r[c], r[f"{c}_lower"],
                                                        r[f"{c}_upper"], lang)
    # in words when suppressed: the column (shown transposed) also holds shares of all
    # spells, which "<10" would seem to be the denominator of
    still = r["n_still_waiting"]
    out[head("still_at_end", lang)] = (t("suppressed", lang) if isinstance(still, str)
                                       else fmt_value(still, lang, "count"))
    return pd.DataFrame([out], index=pd.Index([r["label"]], name=head("indicator", lang)))


def present_kept_in_view(tab: pd.DataFrame, lang: str = "nl") -> pd.DataFrame:
    """:func:`kept_in_view_table` as a readable one-row table."""
    r = tab.iloc[0]
    out = {head("returns", lang): fmt_value(r["n"], lang, "count"),
           head("followed", lang): fmt_value(r["events"], lang, "count"),
           head("kept", lang, w=int(r["weeks"])): fmt_ci(
               r.get("kept_in_view"), r.get("kept_in_view_lower"), r.get("kept_in_view_upper"),
               lang)}
    return pd.DataFrame([out], index=pd.Index([r["label"]], name=head("indicator", lang)))


def present_cox(tab: pd.DataFrame, lang: str = "nl") -> pd.DataFrame:
    """:func:`steps_and_return` as a readable table."""
    return pd.DataFrame({
        head("n_exposed", lang): [fmt_value(v, lang, "count") for v in tab["n_exposed"]],
        head("events_exposed", lang): [fmt_value(v, lang, "count")
                                       for v in tab["events_exposed"]],
        head("hr", lang): [fmt_ci(r.hr, r.hr_lower, r.hr_upper, lang, "ratio")
                           for r in tab.itertuples()],
        head("p", lang): [_fmt_p(v, lang) for v in pd.to_numeric(tab["p"], errors="coerce")],
    }, index=pd.Index(tab["label"].to_numpy(), name=head("step", lang)))
