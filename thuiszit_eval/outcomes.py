"""Outcome definitions: from a :class:`~thuiszit_eval.cohort.Cohort` to survival data.

An :class:`OutcomeDefinition` says *when the clock starts* (``origin``), *what counts as a
return to school* (``event``), which episode endings are *competing events*, where follow-up
is *censored* (follow-up end, an optional ``horizon_days``) and on which *time scale*
durations are counted (calendar days or school days). Two functions turn a cohort into data
for the estimators:

* :func:`survival_table` -- one row per episode: ``duration``, integer ``event`` code
  (0 = censored, 1 = the return event, 2.. = competing causes), baseline covariates; the
  result is a :class:`SurvivalTable` that carries its definition and the excluded episodes.
* :func:`counting_process` -- the (start, stop] form of the same data, split where a
  time-varying exposure (an intervention, a process step) switches on. Use it for any
  comparison of interventions that start *during* the episode: counting the waiting time
  before the start as "treated" (a baseline "ever treated" indicator) is immortal-time bias.

Rules, stated once
------------------
**Origin.** ``absence_start`` (default), ``reported`` (``reported_date``), ``referral`` (the
earliest ``referral_date`` of the episode's interventions) or ``intervention_start`` (the
earliest intervention ``start_date``). Episodes without the origin date, with the origin after
the episode's end or after follow-up end are excluded and counted in
:attr:`SurvivalTable.n_excluded`.

**Event from the end reason** (always for ``any_return``; for the other events when the
cohort has no attendance table or the pupil has no attendance week after the origin): the
return is the episode's ``end_date`` when ``end_reason`` is ``returned_full``, ``returned_partial``,
``returned_special_education`` or ``returned_new_school``. For ``full_return`` and
``sustained_return`` a ``returned_partial`` end is *not* a full return and is censored at the
end date; ``sustained_return`` further requires that the pupil starts no new episode within
``sustained_weeks`` weeks of the return (otherwise censored at the end date). End reasons in
``competing`` are competing events at the end date (cause codes 2, 3, ... in the order of
``competing``), or censored there with ``competing_as_censoring=True``. The ends ``other`` and
``unknown`` (and any end reason not listed) are censored at the end date: nothing says the
pupil returned, nor that the pupil left the risk set for good. Ongoing episodes (no
``end_date``) and episodes ending after follow-up end are censored at follow-up end.

**Event from weekly attendance** (``partial_return``, ``full_return``,
``sustained_return`` when the pupil has attendance records). Only weeks with
``week_start`` strictly after the origin date count (the week in which the absence starts is
not a return), and only weeks before the observation window closes: follow-up end, the start
of the pupil's next episode, the end of the pupil's last recorded week, and -- when the
episode ended with a competing or other non-return reason -- the episode's end date (that
ending then applies if no return came first). The event date is the qualifying week's
``week_start`` (attendance is weekly; the Monday is the earliest day the return can be
dated).

* partial return: the first week with ``attended_dayparts > partial_threshold * 10``;
* full return: the first week with ``attended_dayparts >= full_threshold * 10``;
* sustained return: the first week of the first run of ``sustained_weeks`` consecutive
  full-attendance school weeks, the whole run within the window (so no new episode starts
  during it). Weeks with ``scheduled_dayparts == 0`` and weeks without a record are taken as
  non-school weeks (holidays): they neither count towards nor break a run. Any recorded
  school week below the full threshold breaks the run.

**Durations** are ``stop - origin`` in days (``time_scale="calendar"``) or in school days
(``"school_days"``: weekdays in ``[origin, stop)`` minus the ``school_calendar`` dates,
counted with :func:`numpy.busday_count`). A duration of 0 (event or censoring on the origin
day) is set to :data:`SAME_DAY` = 0.5: the event happened during the first day, and every
estimator needs a positive time. ``horizon_days`` (in units of the time scale) censors
longer durations at the horizon.

Example
-------
>>> from thuiszit_eval.cohort import Cohort
>>> from thuiszit_eval.schema import schema_dir
>>> cohort = Cohort.load(schema_dir() / "example")
>>> st = survival_table(cohort)
>>> row = st.data.set_index("episode_id").loc["E0001a"]
>>> float(row.duration), int(row.event), row.event_label
(98.0, 1, 'any_return')
>>> OutcomeDefinition(origin="reported", event="full_return").describe()[:45]
'Time from the report to leerplicht to full re'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .covariates import episode_covariates

if TYPE_CHECKING:
    from .cohort import Cohort

__all__ = [
    "COMPETING_DEFAULT",
    "FULL_RETURN_REASONS",
    "RETURN_REASONS",
    "SAME_DAY",
    "OutcomeDefinition",
    "RELAPSE_TYPES",
    "SurvivalTable",
    "counting_process",
    "relapse_table",
    "survival_table",
]

RETURN_REASONS: tuple[str, ...] = (
    "returned_full",
    "returned_partial",
    "returned_special_education",
    "returned_new_school",
)
#: End reasons that count as a *full* return when there is no attendance to measure it on.
FULL_RETURN_REASONS: tuple[str, ...] = (
    "returned_full",
    "returned_special_education",
    "returned_new_school",
)
COMPETING_DEFAULT: tuple[str, ...] = ("exemption_5a", "exemption_other", "moved", "aged_out")
#: Duration given to an event or censoring on the origin day (in units of the time scale).
SAME_DAY = 0.5
FULL_WEEK_DAYPARTS = 10

ORIGINS = ("absence_start", "reported", "referral", "intervention_start")
EVENTS = ("any_return", "partial_return", "full_return", "sustained_return")
TIME_SCALES = ("calendar", "school_days")

_ORIGIN_TEXT = {
    "absence_start": "the start of the absence",
    "reported": "the report to leerplicht",
    "referral": "the first referral to an intervention",
    "intervention_start": "the start of the first intervention",
}
_EVENT_TEXT = {
    "any_return": "any return to school (episode end reason)",
    "partial_return": "partial return (first week with {p} attended dayparts)",
    "full_return": "full return (first week with at least {f} of 10 dayparts attended)",
    "sustained_return": "sustained return ({k} consecutive weeks with at least {f} of 10 "
    "dayparts attended, no new episode)",
}


@dataclass(frozen=True)
class OutcomeDefinition:
    """What "time to return" means in an analysis.

    Parameters
    ----------
    origin:
        ``"absence_start"`` (default), ``"reported"``, ``"referral"`` or
        ``"intervention_start"``.
    event:
        ``"any_return"`` (default, from the end reason), ``"partial_return"``,
        ``"full_return"`` or ``"sustained_return"`` (from weekly attendance where present).
    sustained_weeks:
        Consecutive full-attendance school weeks a sustained return needs (default 4).
    full_threshold:
        Share of the 10 dayparts of a week that must be attended for a full week
        (default 0.8, i.e. 8 dayparts).
    partial_threshold:
        A partial return is a week with attended dayparts *above* ``partial_threshold * 10``
        (default 0: any attendance).
    competing:
        End reasons that are competing events (default exemption 5a, other exemptions,
        moved, aged out). Cause codes are 2, 3, ... in this order.
    competing_as_censoring:
        Treat the competing endings as censoring instead (sensitivity analysis; 1-KM then
        overstates return). Default ``False``.
    horizon_days:
        Censor follow-up at this duration (units of the time scale); ``None`` = no horizon.
    time_scale:
        ``"calendar"`` days (default) or ``"school_days"`` (weekdays minus the cohort's
        ``school_calendar`` dates).

    Example
    -------
    >>> d = OutcomeDefinition(event="sustained_return", horizon_days=365)
    >>> d.causes[2]
    ('exemption_5a',)
    """

    origin: str = "absence_start"
    event: str = "any_return"
    sustained_weeks: int = 4
    full_threshold: float = 0.8
    partial_threshold: float = 0.0
    competing: tuple[str, ...] = COMPETING_DEFAULT
    competing_as_censoring: bool = False
    horizon_days: float | None = None
    time_scale: str = "calendar"

    def __post_init__(self) -> None:
        if self.origin not in ORIGINS:
            raise ValueError(f"origin {self.origin!r}: expected one of {', '.join(ORIGINS)}")
        if self.event not in EVENTS:
            raise ValueError(f"event {self.event!r}: expected one of {', '.join(EVENTS)}")
        if self.time_scale not in TIME_SCALES:
            raise ValueError(
                f"time_scale {self.time_scale!r}: expected one of {', '.join(TIME_SCALES)}"
            )
        if int(self.sustained_weeks) < 1:
            raise ValueError("sustained_weeks must be at least 1")
        if not 0 < self.full_threshold <= 1 or not 0 <= self.partial_threshold < 1:
            raise ValueError(
                "thresholds are shares of 10 dayparts: 0 < full <= 1, 0 <= partial < 1")
        if self.horizon_days is not None and not self.horizon_days > 0:
            raise ValueError("horizon_days must be positive (or None)")
        bad = set(self.competing) & set(RETURN_REASONS)
        if bad:
            raise ValueError(f"competing contains return reasons: {sorted(bad)}")
        object.__setattr__(self, "competing", tuple(self.competing))

    @property
    def causes(self) -> dict[int, tuple[str, ...]]:
        """Event code -> end reason(s): 1 is the return; 2.. the competing causes."""
        full = self.event in ("full_return", "sustained_return")
        ret = FULL_RETURN_REASONS if full else RETURN_REASONS
        out: dict[int, tuple[str, ...]] = {1: ret}
        if not self.competing_as_censoring:
            for i, reason in enumerate(self.competing):
                out[i + 2] = (reason,)
        return out

    @property
    def labels(self) -> dict[int, str]:
        """Event code -> label (``event_label`` column)."""
        out = {0: "censored", 1: self.event}
        out.update({k: v[0] for k, v in self.causes.items() if k >= 2})
        return out

    def describe(self) -> str:
        """A readable sentence stating the definition."""
        ev = _EVENT_TEXT[self.event].format(
            p=f"more than {self.partial_threshold * 10:g}",
            f=f"{self.full_threshold * 10:g}",
            k=self.sustained_weeks,
        )
        unit = "calendar days" if self.time_scale == "calendar" else "school days"
        comp = ", ".join(self.competing) or "none"
        how = "treated as censoring" if self.competing_as_censoring else "competing events"
        hz = f"; censored at {self.horizon_days:g} {unit}" if self.horizon_days else ""
        return (
            f"Time from {_ORIGIN_TEXT[self.origin]} to {ev}, in {unit}; "
            f"{comp}: {how}; censored at follow-up end{hz}."
        )


@dataclass
class SurvivalTable:
    """One row per episode, with the definition that made it.

    ``data`` columns: episode_id, pupil_id, origin_date, stop_date, duration, event (int
    code), event_label, the group column if asked, then baseline covariates. ``n_excluded``
    maps a reason to the number of episodes excluded for it; ``cohort_name`` says where the
    data came from. ``stop_date`` is the date of the event or censoring (with a horizon: the
    date the horizon is reached).
    """

    data: pd.DataFrame
    definition: OutcomeDefinition
    n_excluded: dict[str, int] = field(default_factory=dict)
    group: str | None = None
    cohort_name: str = ""

    @property
    def causes(self) -> dict[int, tuple[str, ...]]:
        return self.definition.causes

    def summary(self) -> pd.DataFrame:
        """Counts per event label (overall and per group), with median follow-up."""
        keys = [self.group] if self.group else []
        d = self.data
        out = (
            d.groupby([*keys, "event", "event_label"], dropna=False)
            .agg(n=("episode_id", "size"), median_duration=("duration", "median"))
            .reset_index()
        )
        return out

    def __repr__(self) -> str:
        ex = ", ".join(f"{k}: {v}" for k, v in self.n_excluded.items()) or "none"
        ev = self.data["event_label"].value_counts().to_dict()
        return (
            f"<SurvivalTable {self.cohort_name}: {len(self.data)} episodes; "
            f"excluded {ex}; events {ev}>\n"
            f"{self.definition.describe()}"
        )


# --------------------------------------------------------------------------- helpers
def _holidays(cohort: Cohort) -> np.ndarray:
    cal = cohort.school_calendar
    if cal is None or len(cal) == 0:
        return np.array([], dtype="datetime64[D]")
    return np.unique(pd.to_datetime(cal["date"]).dropna().to_numpy().astype("datetime64[D]"))


def _elapsed(start: pd.Series | np.ndarray, stop: pd.Series | np.ndarray, scale: str,
             holidays: np.ndarray) -> np.ndarray:
    """Time from ``start`` to ``stop`` on the scale (NaN where either is missing)."""
    a = pd.to_datetime(pd.Series(np.asarray(start))).to_numpy().astype("datetime64[D]")
    b = pd.to_datetime(pd.Series(np.asarray(stop))).to_numpy().astype("datetime64[D]")
    ok = ~(np.isnat(a) | np.isnat(b))
    out = np.full(len(a), np.nan)
    if scale == "calendar":
        out[ok] = (b[ok] - a[ok]).astype(float)
    else:
        out[ok] = np.busday_count(a[ok], b[ok], holidays=holidays).astype(float)
    return out


def _origin_dates(cohort: Cohort, origin: str) -> pd.Series:
    ep = cohort.episodes
    if origin == "absence_start":
        return ep["absence_start"]
    if origin == "reported":
        return ep["reported_date"]
    iv = cohort.interventions
    col = "referral_date" if origin == "referral" else "start_date"
    if iv is None or len(iv) == 0:
        return pd.Series(pd.NaT, index=ep.index)
    first = iv.groupby("episode_id")[col].min()
    return ep["episode_id"].map(first)


def _covariates(cohort: Cohort, ep: pd.DataFrame) -> pd.DataFrame:
    """Baseline covariates per episode row of ``ep`` (needs episode_id, pupil_id, origin):
    the cohort's own, from :mod:`thuiszit_eval.covariates`."""
    return episode_covariates(cohort, ep, origin=ep["origin_date"])


def _main_intervention(cohort: Cohort, episode_ids: pd.Series) -> np.ndarray:
    iv = cohort.interventions
    if iv is None or len(iv) == 0:
        return np.full(len(episode_ids), "none", dtype=object)
    iv = iv.sort_values(["start_date", "referral_date"], kind="stable", na_position="last")
    first = iv.drop_duplicates("episode_id").set_index("episode_id")["intervention_code"]
    return episode_ids.map(first).fillna("none").to_numpy(dtype=object)


def _attendance_events(cohort: Cohort, ep: pd.DataFrame, d: OutcomeDefinition,
                       window_end: pd.Series) -> pd.Series:
    """Date of the attendance-measured event per row position of ``ep`` (NaT = none).

    Works on integer keys (row position, pupil code) so that 100,000s of episodes stay fast.
    """
    att = cohort.attendance
    pupils, pk = np.unique(ep["pupil_id"].astype(str).to_numpy(), return_inverse=True)
    apk = pd.Categorical(att["pupil_id"].astype(str), categories=pupils).codes
    ok = (apk >= 0) & att["week_start"].notna().to_numpy()
    a = pd.DataFrame({
        "pk": apk[ok],
        "week": att["week_start"].to_numpy()[ok],
        "attended": att["attended_dayparts"].astype(float).fillna(0).to_numpy()[ok],
        "scheduled": att["scheduled_dayparts"].astype(float).fillna(0).to_numpy()[ok],
    })
    m = pd.DataFrame({"row": np.arange(len(ep)), "pk": pk,
                      "origin": ep["origin_date"].to_numpy(),
                      "wend": window_end.to_numpy()}).merge(a, on="pk", how="inner")
    m = m[(m["week"] > m["origin"]) & (m["week"] < m["wend"])]
    attended = m["attended"].to_numpy()
    n = len(ep)

    def first(rows: pd.Series, dates: pd.Series) -> pd.Series:
        res = pd.Series(dates.to_numpy()).groupby(rows.to_numpy()).min()
        return res.reindex(range(n))

    if d.event == "partial_return":
        hit = m[attended > d.partial_threshold * FULL_WEEK_DAYPARTS]
        return first(hit["row"], hit["week"])
    full = attended >= d.full_threshold * FULL_WEEK_DAYPARTS - 1e-9
    if d.event == "full_return":
        return first(m["row"][full], m["week"][full])
    # sustained: runs over recorded school weeks (scheduled > 0), sorted per episode
    m = m.assign(full=full)[m["scheduled"].to_numpy() > 0].sort_values(["row", "week"])
    f = m["full"].to_numpy()
    rows = m["row"].to_numpy()
    brk = ~f | np.r_[True, rows[1:] != rows[:-1]]
    run = np.cumsum(brk)
    nfull = pd.Series(f.astype(int)).groupby(run).cumsum().to_numpy()
    run_start = pd.Series(m["week"].where(m["full"]).to_numpy()).groupby(run) \
        .transform("min").to_numpy()
    done = (nfull == d.sustained_weeks) & (
        (m["week"] + pd.Timedelta(days=7) <= m["wend"]).to_numpy())
    return first(pd.Series(rows[done]), pd.Series(run_start[done]))


# --------------------------------------------------------------------------- public API

def _horizon_date(origin: pd.Series, d: OutcomeDefinition, holidays) -> np.ndarray:
    """The date the horizon is reached from each origin, on the definition's time scale."""
    o = origin.to_numpy().astype("datetime64[D]")
    days = int(np.floor(d.horizon_days))
    if d.time_scale == "calendar":
        at = o + np.timedelta64(days, "D")
    else:
        at = np.busday_offset(o, days, roll="forward", holidays=holidays)
    return pd.to_datetime(at).to_numpy()

def survival_table(cohort: Cohort, definition: OutcomeDefinition | None = None,
                   group: str | None = None) -> SurvivalTable:
    """One row per episode: duration from the origin, event code, group, covariates.

    Parameters
    ----------
    cohort:
        A loaded :class:`~thuiszit_eval.cohort.Cohort`.
    definition:
        The :class:`OutcomeDefinition` (default: time from absence start to any return).
    group:
        ``"intervention"`` adds the episode's first-started intervention code (``"none"``
        without one) -- a *baseline* grouping: use :func:`counting_process` to compare
        interventions that start during the episode. Any other name must be a covariate
        column (e.g. ``"swv_id"``, ``"school_type"``) and is placed after ``event_label``.

    Returns
    -------
    SurvivalTable
        ``.data`` columns: episode_id, pupil_id, origin_date, stop_date, duration (> 0, in
        units of the time scale), [entry: only when the cohort metadata has
        ``observation_start``: time from the origin to that date for episodes already
        running on it, else 0 (delayed entry, ``Surv(entry, duration, event)``); episodes
        that ended on or before it are excluded as "ended before observation start"],
        event (0 censored, 1 return, 2.. competing, see ``.causes``), event_label, [group],
        end_reason, then baseline covariates (age at origin in years, birth taken as the
        1st of the birth month; episode_type, prior_episodes; every pupil column except
        support_needs and birth_month: sex, school_type, school_id, swv_id, need_* flags,
        the cohort's extra fields).

    Example
    -------
    >>> from thuiszit_eval.cohort import Cohort
    >>> from thuiszit_eval.schema import schema_dir
    >>> st = survival_table(Cohort.load(schema_dir() / "example"),
    ...                     OutcomeDefinition(competing_as_censoring=True))
    >>> int(st.data.loc[st.data.episode_id == "E0005a", "event"].iloc[0])
    0
    """
    d = definition or OutcomeDefinition()
    fu = cohort.follow_up_end
    ep = cohort.episodes.copy()
    ep["origin_date"] = pd.to_datetime(_origin_dates(cohort, d.origin)).to_numpy()
    excluded: dict[str, int] = {}
    reasons = [
        (ep["origin_date"].isna(), f"no {d.origin} date"),
        (ep["origin_date"] > fu, "origin after follow-up end"),
        (ep["end_date"].notna() & (ep["origin_date"] > ep["end_date"]),
         "origin after episode end"),
    ]
    keep = pd.Series(True, index=ep.index)
    for mask, why in reasons:
        n = int((mask & keep).sum())
        if n:
            excluded[why] = n
        keep &= ~mask
    ep = ep[keep].reset_index(drop=True)

    # ---- from the end reason
    reason = ep["end_reason"].astype(object)
    ended = ep["end_date"].notna() & (ep["end_date"] <= fu)
    stop = ep["end_date"].where(ended, fu)
    code = np.zeros(len(ep), dtype=int)
    for k, rs in d.causes.items():
        code[(ended & reason.isin(rs)).to_numpy()] = k
    # next episode of the same pupil (for sustained returns and attendance windows; any
    # return needs neither, and sorting a million episodes by pupil costs seconds)
    next_start = pd.Series(pd.NaT, index=ep.index, dtype="datetime64[ns]")
    if d.event != "any_return":
        order = cohort.episodes.sort_values(["pupil_id", "absence_start"], kind="stable")
        nxt = order.groupby("pupil_id")["absence_start"].shift(-1)
        next_start = ep["episode_id"].map(pd.Series(nxt.to_numpy(),
                                                    index=order["episode_id"]))
    if d.event == "sustained_return":
        relapse = next_start.notna() & (
            next_start < stop + pd.Timedelta(days=7 * d.sustained_weeks))
        code[((code == 1) & relapse).to_numpy()] = 0

    # ---- from weekly attendance, where the pupil has records
    att = cohort.attendance
    if d.event != "any_return" and att is not None and len(att):
        last_week = att.groupby("pupil_id")["week_start"].max() + pd.Timedelta(days=7)
        # attendance measures the event when the pupil has a recorded week after the origin
        has = (ep["pupil_id"].map(last_week) > ep["origin_date"] + pd.Timedelta(days=7)) \
            .to_numpy()
        non_return_end = ended & ~reason.isin(RETURN_REASONS)
        window = pd.concat([
            pd.Series(fu, index=ep.index),
            ep["pupil_id"].map(last_week),
            next_start,
            ep["end_date"].where(non_return_end),
        ], axis=1).min(axis=1)
        hit = pd.Series(_attendance_events(cohort, ep, d, window).to_numpy(), index=ep.index)
        a_code = np.where(non_return_end, code, 0)
        a_code = np.where(hit.notna(), 1, a_code)
        a_stop = hit.where(hit.notna(), ep["end_date"].where(non_return_end, window))
        code = np.where(has, a_code, code)
        stop = a_stop.where(has, stop)

    holidays = _holidays(cohort)
    dur = _elapsed(ep["origin_date"], stop, d.time_scale, holidays)
    dur = np.where(dur <= 0, SAME_DAY, dur)
    if d.horizon_days is not None:
        over = dur > d.horizon_days
        dur = np.where(over, float(d.horizon_days), dur)
        code = np.where(over, 0, code)
        stop = pd.Series(pd.to_datetime(stop).to_numpy(), index=ep.index)
        if over.any():
            stop[over] = _horizon_date(ep["origin_date"][over], d, holidays)
    labels = d.labels
    out = pd.DataFrame({
        "episode_id": ep["episode_id"].to_numpy(),
        "pupil_id": ep["pupil_id"].to_numpy(),
        "origin_date": ep["origin_date"].to_numpy(),
        "stop_date": pd.to_datetime(stop).to_numpy(),
        "duration": dur.astype(float),
        "event": np.asarray(code, dtype=int),
    })
    out["event_label"] = out["event"].map(labels)
    cov = _covariates(cohort, ep)
    if group == "intervention":
        out["intervention"] = _main_intervention(cohort, ep["episode_id"])
    elif group is not None:
        if group not in cov:
            raise ValueError(f"group {group!r}: not a covariate; use 'intervention' or one of "
                             f"{', '.join(cov.columns)}")
        out[group] = cov.pop(group).to_numpy()
    out["end_reason"] = reason.to_numpy()
    out = pd.concat([out, cov.reset_index(drop=True)], axis=1)
    obs = _observation_start(cohort)
    if obs is not None:
        out, n_gone = _delayed_entry(out, obs, d.time_scale, holidays)
        if n_gone:
            excluded["ended before observation start"] = n_gone
    return SurvivalTable(out, d, excluded, group, cohort.name)


def _observation_start(cohort: Cohort) -> pd.Timestamp | None:
    """The cohort's ``observation_start`` (datapackage ``thuiszit`` metadata), if any."""
    value = cohort.metadata.get("observation_start")
    if value in (None, ""):
        return None
    where = f"{cohort.folder}/datapackage.json" if cohort.folder else "the cohort metadata"
    try:
        obs = pd.to_datetime(str(value), format="%Y-%m-%d")
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where}: thuiszit.observation_start {value!r} is not a date "
                         "(YYYY-MM-DD)") from err
    if obs > cohort.follow_up_end:
        raise ValueError(f"{where}: thuiszit.observation_start {obs:%Y-%m-%d} is after "
                         f"follow_up_end {cohort.follow_up_end:%Y-%m-%d}")
    return obs


def _delayed_entry(out: pd.DataFrame, obs: pd.Timestamp, scale: str,
                   holidays: np.ndarray) -> tuple[pd.DataFrame, int]:
    """Left truncation of a prevalent cohort observed from ``obs`` on.

    An episode already running on ``obs`` is only seen because it lasted until then, so it
    enters the risk set at ``entry`` = time from its origin to ``obs`` (counting it from its
    origin would over-represent long episodes); later episodes have entry 0. Episodes that
    ended (or reached the horizon) on or before ``obs`` cannot be in such a registration
    and are dropped.
    """
    origin = out["origin_date"]
    before = (origin < obs).to_numpy()
    entry = np.zeros(len(out))
    if before.any():
        entry[before] = _elapsed(origin[before], pd.Series(obs, index=origin[before].index),
                                 scale, holidays)
    gone = (out["stop_date"] <= obs).to_numpy() | (entry >= out["duration"].to_numpy())
    out.insert(int(out.columns.get_loc("duration")) + 1, "entry", entry)
    return out[~gone].reset_index(drop=True), int(gone.sum())


def counting_process(cohort: Cohort, definition: OutcomeDefinition | None = None,
                     exposures: tuple[str, ...] = ("intervention",),
                     group: str | None = None) -> pd.DataFrame:
    """Counting-process (start, stop] rows: one per episode x interval between exposure starts.

    Time is measured from the definition's origin on its time scale, exactly as in
    :func:`survival_table`; the intervals of an episode partition ``(0, duration]``, or
    ``(entry, duration]`` when the cohort has an ``observation_start`` (delayed entry).

    Parameters
    ----------
    exposures:
        ``"intervention"`` adds one 0/1 column per intervention code in the cohort; an
        intervention code (e.g. ``"back_to_school"``) adds that column only; any other name
        is a process ``event_code`` (e.g. ``"plan_agreed"``, ``"care_started"``). A column
        is 0 before and 1 from the first start (event) date of that exposure in the episode
        on; a start on or before the origin is 1 from time 0, a start at or after the end of
        follow-up never switches on.

    Returns
    -------
    DataFrame
        id (= episode_id), episode_id, pupil_id, start, stop, event (1 = return on this
        interval, else 0 -- competing endings are 0 here, so ``event`` is the cause-specific
        indicator for Cox), event_code (the survival table's integer code, on the last
        interval only), the exposure columns, then the baseline covariates.

    Example
    -------
    >>> from thuiszit_eval.cohort import Cohort
    >>> from thuiszit_eval.schema import schema_dir
    >>> cohort = Cohort.load(schema_dir() / "example")
    >>> cp = counting_process(cohort, exposures=("back_to_school",))
    >>> cp.loc[cp.id == "E0001a", ["start", "stop", "event", "back_to_school"]].to_dict("list")
    {'start': [0.0, 56.0], 'stop': [56.0, 98.0], 'event': [0, 1], 'back_to_school': [0, 1]}
    """
    d = definition or OutcomeDefinition()
    st = survival_table(cohort, d, group=group)
    base = st.data
    holidays = _holidays(cohort)
    iv = cohort.interventions
    pe = cohort.process_events
    iv_codes = [] if iv is None else sorted(iv["intervention_code"].dropna().unique())
    starts: dict[str, pd.Series] = {}

    def first_start(code: str) -> pd.Series:
        return iv[iv["intervention_code"] == code].groupby("episode_id")["start_date"].min()

    for name in exposures:
        if name == "intervention":
            for c in iv_codes:
                starts[c] = first_start(c)
        elif iv is not None and name in set(iv["intervention_code"]):
            starts[name] = first_start(name)
        elif pe is not None and name in set(pe["event_code"]):
            starts[name] = pe[pe["event_code"] == name].groupby("episode_id")["event_date"].min()
        else:
            known = iv_codes + ([] if pe is None else sorted(pe["event_code"].dropna().unique()))
            raise ValueError(f"exposure {name!r}: not an intervention or process event code in "
                             f"this cohort; known: {', '.join(known)}")
    # time of switching on, per exposure and episode
    t_on: dict[str, np.ndarray] = {}
    for name, s in starts.items():
        date = base["episode_id"].map(s)
        t = _elapsed(base["origin_date"], date, d.time_scale, holidays)
        t = np.where(t < 0, 0.0, t)
        t_on[name] = np.where(t < base["duration"].to_numpy(), t, np.nan)
    n = len(base)
    idx = np.arange(n)
    cuts = [np.zeros(n), base["duration"].to_numpy()] + list(t_on.values())
    cut = pd.DataFrame({"row": np.tile(idx, len(cuts)), "t": np.concatenate(cuts)})
    cut = cut.dropna().drop_duplicates().sort_values(["row", "t"], kind="stable")
    cut["stop"] = cut.groupby("row")["t"].shift(-1)
    iv_rows = cut.dropna(subset=["stop"]).rename(columns={"t": "start"})
    rows = iv_rows["row"].to_numpy()
    out = pd.DataFrame({
        "id": base["episode_id"].to_numpy()[rows],
        "episode_id": base["episode_id"].to_numpy()[rows],
        "pupil_id": base["pupil_id"].to_numpy()[rows],
        "start": iv_rows["start"].to_numpy(float),
        "stop": iv_rows["stop"].to_numpy(float),
    })
    last = out["stop"].to_numpy() == base["duration"].to_numpy()[rows]
    code = np.where(last, base["event"].to_numpy()[rows], 0)
    out["event"] = (code == 1).astype(int)
    out["event_code"] = code
    for name, t in t_on.items():
        out[name] = (out["start"].to_numpy() >= t[rows]).astype(int)
    covs = base.drop(columns=["episode_id", "pupil_id", "duration", "event", "event_label"])
    out = pd.concat([out, covs.iloc[rows].reset_index(drop=True)], axis=1)
    if "entry" in out:
        # delayed entry (observation_start): the episode is at risk from its entry time on
        ent = out.pop("entry").to_numpy()
        seen = out["stop"].to_numpy() > ent
        out = out[seen].reset_index(drop=True)
        out["start"] = np.maximum(out["start"].to_numpy(), ent[seen])
    out.attrs["definition"] = d
    return out


#: Episode types that count as a relapse with ``next_types="thuiszitten"``: a new episode of
#: actually staying home (a new ``dreigend`` signal does not count).
RELAPSE_TYPES: tuple[str, ...] = ("lrv", "absoluut_verzuim")


def relapse_table(cohort: Cohort, definition: OutcomeDefinition | None = None,
                  next_types: str | tuple[str, ...] | None = None,
                  group: str | None = None) -> SurvivalTable:
    """Time from a return to school to the pupil's next episode (relapse).

    One row per episode that *ended in a return* (``end_reason`` in :data:`RETURN_REASONS`,
    end date on or before follow-up end). The clock starts at the return (the episode's
    ``end_date``); the event (code 1, label ``relapse``) is the ``absence_start`` of the
    pupil's first later episode of a type in ``next_types``; without one the row is censored
    at follow-up end. Episodes returning on the follow-up end day itself have no time at
    risk and are excluded (``n_excluded``).

    Parameters
    ----------
    definition:
        Only ``time_scale`` and ``horizon_days`` are used (default calendar days, no
        horizon); origin, event and competing settings of the definition do not apply.
    next_types:
        Which next episodes count: ``None`` (default) any type; ``"thuiszitten"`` =
        :data:`RELAPSE_TYPES` (lrv or absoluut verzuim: a later ``dreigend`` episode is
        passed over, the clock runs on to the next real thuiszit episode); or a tuple of
        episode_type codes.
    group:
        As in :func:`survival_table`: ``"intervention"`` (first intervention of the episode
        the pupil returned from) or a covariate column.

    Competing events: none. The cohort records why *episodes* end, not whether a pupil
    who is back at school later moves away, gets an exemption or ages out, so those pupils
    stay in the risk set until follow-up end (administrative censoring). If such exits are
    common the cumulative relapse probability is underestimated; use ``horizon_days`` to
    restrict follow-up to a period in which they are rare.

    Returns
    -------
    SurvivalTable
        ``.data`` columns: episode_id (the episode returned from), pupil_id, origin_date
        (the return), stop_date, duration, event (0 censored, 1 relapse), event_label,
        [group], end_reason (how the pupil returned), next_episode_id, next_episode_type,
        then the baseline covariates of :func:`survival_table`, measured at the return (age
        at the return; episode_type and prior_episodes of the episode returned from).

    Example
    -------
    >>> from thuiszit_eval.cohort import Cohort
    >>> from thuiszit_eval.schema import schema_dir
    >>> rt = relapse_table(Cohort.load(schema_dir() / "example"))
    >>> row = rt.data.set_index("episode_id").loc["E0001a"]
    >>> float(row.duration), int(row.event), row.next_episode_id
    (168.0, 1, 'E0002a')
    """
    d = definition or OutcomeDefinition()
    if next_types is None:
        types = None
    elif next_types == "thuiszitten":
        types = RELAPSE_TYPES
    elif isinstance(next_types, str):
        types = (next_types,)
    else:
        types = tuple(next_types)
    fu = cohort.follow_up_end
    allep = cohort.episodes.sort_values(["pupil_id", "absence_start"], kind="stable") \
        .reset_index(drop=True)
    ret = allep["end_reason"].isin(RETURN_REASONS) & allep["end_date"].notna() & (
        allep["end_date"] <= fu)
    # next qualifying episode per row: backward fill within the pupil over qualifying rows
    qual = allep["episode_type"].isin(types) if types is not None else \
        pd.Series(True, index=allep.index)
    pos = pd.Series(np.where(qual, np.arange(len(allep)), np.nan), index=allep.index)
    nxt = pos.groupby(allep["pupil_id"], sort=False).shift(-1)
    nxt = nxt.groupby(allep["pupil_id"], sort=False).bfill()
    # shift(-1) looks at the next row only when that row qualifies; back-filling within the
    # pupil then carries the first later qualifying row to every earlier row
    ep = allep[ret].copy()
    nxt = nxt[ret]
    excluded: dict[str, int] = {}
    at_end = ep["end_date"] >= fu
    if at_end.any():
        excluded["return on follow-up end"] = int(at_end.sum())
    ep, nxt = ep[~at_end], nxt[~at_end]
    has = nxt.notna().to_numpy()
    idx = nxt.fillna(0).astype(int).to_numpy()
    next_id = np.where(has, allep["episode_id"].to_numpy()[idx], None)
    next_type = np.where(has, allep["episode_type"].to_numpy()[idx], None)
    next_start = pd.Series(np.where(has, allep["absence_start"].to_numpy()[idx],
                                    np.datetime64("NaT")), index=ep.index)
    ep["origin_date"] = ep["end_date"]
    event = (has & (next_start <= fu).to_numpy()).astype(int)
    stop = next_start.where(event == 1, fu)
    holidays = _holidays(cohort)
    dur = _elapsed(ep["origin_date"], stop, d.time_scale, holidays)
    dur = np.where(dur <= 0, SAME_DAY, dur)
    stop = pd.Series(pd.to_datetime(stop).to_numpy(), index=ep.index)
    if d.horizon_days is not None:
        over = dur > d.horizon_days
        if over.any():
            stop[over] = _horizon_date(ep["origin_date"][over], d, holidays)
        dur = np.where(over, float(d.horizon_days), dur)
        event = np.where(over, 0, event)
    ep = ep.reset_index(drop=True)
    out = pd.DataFrame({
        "episode_id": ep["episode_id"].to_numpy(),
        "pupil_id": ep["pupil_id"].to_numpy(),
        "origin_date": ep["origin_date"].to_numpy(),
        "stop_date": stop.to_numpy(),
        "duration": dur.astype(float),
        "event": np.asarray(event, dtype=int),
    })
    out["event_label"] = np.where(out["event"] == 1, "relapse", "censored")
    cov = _covariates(cohort, ep)
    if group == "intervention":
        out["intervention"] = _main_intervention(cohort, ep["episode_id"])
    elif group is not None:
        if group not in cov:
            raise ValueError(f"group {group!r}: not a covariate; use 'intervention' or one of "
                             f"{', '.join(cov.columns)}")
        out[group] = cov.pop(group).to_numpy()
    out["end_reason"] = ep["end_reason"].to_numpy()
    out["next_episode_id"] = next_id
    out["next_episode_type"] = next_type
    out = pd.concat([out, cov.reset_index(drop=True)], axis=1)
    return SurvivalTable(out, d, excluded, group, cohort.name)
