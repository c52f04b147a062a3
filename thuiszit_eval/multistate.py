"""Partial return and relapse: a multi-state view of an episode from weekly attendance.

Per episode the clock starts at ``absence_start`` (day 0, state ``home``). Every recorded
school week (``scheduled_dayparts > 0``) after day 0 sets the state from the dayparts
attended: ``home`` (0), ``partial`` (more than 0, fewer than ``full_threshold × 10``) or
``full`` (at least ``full_threshold × 10``, as in :mod:`thuiszit_eval.outcomes`). The state
changes on the week's start date; weeks without school (holidays) keep the state. States
may go back (full → partial → home). A new episode of the same pupil moves the history into
the absorbing state ``relapse`` on its ``absence_start``. Otherwise the history is censored
at the end of the pupil's attendance records (last week + 7 days) or at follow-up end,
whichever comes first.

:func:`multistate_data` gives the counting-process data (one row per stay in a state:
id, tstart, tstop, from_state, to_state; ``to_state == "censored"`` on a censored last
stay). :func:`state_occupation` is the Aalen–Johansen estimator with a general transition
matrix (back-transitions allowed) and the infinitesimal-jackknife standard error, summed
per id: it matches R ``survfit(Surv(tstart, tstop, state) ~ 1, id = id, istate =
from_state)`` (``pstate`` and ``std.err``; see tests/r/multistate_reference.R).

The data built here hold episode ids: show only the aggregated results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .cohort import Cohort
from .estimability import NotEstimable, require_table
from .messages import by_lang
from .outcomes import (
    FULL_WEEK_DAYPARTS,
    RELAPSE_TYPES,
    OutcomeDefinition,
    relapse_table,
    survival_table,
)
from .survival import aalen_johansen, kaplan_meier

STATES: tuple[str, ...] = ("home", "partial", "full", "relapse")
CENSORED = "censored"

#: Short labels of the states (code list, as in :mod:`thuiszit_eval.messages`).
STATE_LABELS: dict[str, dict[str, str]] = by_lang("multistate.state",
                                                  ("home", "partial", "full", "relapse"))
_AXES = {lang: tuple(v.values()) for lang, v in by_lang("multistate.axis", ("x", "y")).items()}


# --------------------------------------------------------------------------- histories
def _next_start(episodes: pd.DataFrame, next_types: tuple[str, ...] | None) -> pd.Series:
    """Absence start of the pupil's first later episode (of ``next_types``), per row."""
    ep = episodes[["pupil_id", "absence_start"]].reset_index()
    later = episodes[["pupil_id", "absence_start", "episode_type"]]
    if next_types is not None:
        later = later[later["episode_type"].isin(next_types)]
    m = ep.merge(later[["pupil_id", "absence_start"]].rename(
        columns={"absence_start": "next_start"}), on="pupil_id")
    m = m[m["next_start"] > m["absence_start"]]
    return m.groupby("index")["next_start"].min().reindex(ep["index"]).set_axis(
        episodes.index)


def multistate_data(cohort: Cohort, full_threshold: float = 0.8,
                    next_types: str | tuple[str, ...] | None = None) -> pd.DataFrame:
    """Counting-process multi-state data: one row per stay of an episode in a state.

    Columns: id (episode_id), pupil_id, tstart, tstop (days since absence start),
    from_state, to_state (a state of :data:`STATES`, or ``"censored"``). ``next_types``:
    which later episodes count as a relapse (``None`` any; ``"thuiszitten"`` =
    :data:`~thuiszit_eval.outcomes.RELAPSE_TYPES`; or a tuple of episode types).
    Episodes without time under observation (no attendance records after the start and no
    later episode) are left out.
    """
    require_table(cohort, "attendance", "partial_return")
    types = (RELAPSE_TYPES if next_types == "thuiszitten" else (next_types,)
             if isinstance(next_types, str) else next_types)
    fu = cohort.follow_up_end
    ep = cohort.episodes.dropna(subset=["absence_start"]).sort_values(
        ["pupil_id", "absence_start"], kind="stable").reset_index(drop=True)
    ep = ep[ep["absence_start"] < fu].reset_index(drop=True)
    nxt = _next_start(ep, types)
    att = cohort.attendance.dropna(subset=["week_start"])
    rec_end = (att.groupby("pupil_id")["week_start"].max() + pd.Timedelta(days=7))
    end = ep["pupil_id"].map(rec_end).clip(upper=fu)
    relapse = nxt.notna() & (nxt <= fu)
    stop = nxt.where(relapse, end)
    T = (stop - ep["absence_start"]).dt.days
    keep = T.fillna(0).to_numpy() > 0
    ep, T, relapse = ep[keep].reset_index(drop=True), T[keep].to_numpy(float), \
        relapse[keep].to_numpy()
    # weekly states after day 0 and before the end of the history
    a = att[att["scheduled_dayparts"].fillna(0).to_numpy() > 0]
    a = pd.DataFrame({"pupil_id": a["pupil_id"].to_numpy(), "week": a["week_start"].to_numpy(),
                      "att": a["attended_dayparts"].astype(float).fillna(0).to_numpy()})
    w = pd.DataFrame({"row": np.arange(len(ep)), "pupil_id": ep["pupil_id"].to_numpy(),
                      "origin": ep["absence_start"].to_numpy(), "T": T}).merge(a, on="pupil_id")
    w["t"] = (w["week"] - w["origin"]).dt.days.astype(float)
    w = w[(w["t"] > 0) & (w["t"] < w["T"])].sort_values(["row", "t"], kind="stable")
    full = w["att"].to_numpy() >= full_threshold * FULL_WEEK_DAYPARTS - 1e-9
    w["state"] = np.where(full, 2, np.where(w["att"].to_numpy() > 0, 1, 0))
    rows = w["row"].to_numpy()
    st = w["state"].to_numpy()
    first = np.r_[True, rows[1:] != rows[:-1]]
    prev = np.where(first, 0, np.r_[0, st[:-1]])
    ch = w[st != prev]  # state changes
    # stays: from 0 (home) to the first change, between changes, last change to the end
    crow, ct, cs = ch["row"].to_numpy(), ch["t"].to_numpy(), ch["state"].to_numpy()
    n = len(ep)
    row = np.r_[np.arange(n), crow]
    tstart = np.r_[np.zeros(n), ct]
    frm = np.r_[np.zeros(n, dtype=int), cs]
    order = np.lexsort((tstart, row))
    row, tstart, frm = row[order], tstart[order], frm[order]
    last = np.r_[row[1:] != row[:-1], True]
    tstop = np.where(last, T[row], np.r_[tstart[1:], 0.0])
    to = np.where(last, np.where(relapse[row], 3, -1), np.r_[frm[1:], 0])
    names = np.array([*STATES, CENSORED], dtype=object)
    return pd.DataFrame({
        "id": ep["episode_id"].to_numpy()[row], "pupil_id": ep["pupil_id"].to_numpy()[row],
        "tstart": tstart, "tstop": tstop, "from_state": names[frm], "to_state": names[to]})


# --------------------------------------------------------------------------- estimator
@dataclass
class StateOccupation:
    """Aalen–Johansen state-occupation probabilities.

    ``table``: one row per time × state: time, n_risk (histories under observation just
    before t), state, pstate, std_err (infinitesimal jackknife per id, as R's survfit).
    """

    table: pd.DataFrame
    states: tuple[str, ...]
    n: int

    def wide(self, column: str = "pstate") -> pd.DataFrame:
        """Times as rows, states as columns."""
        return self.table.pivot(index="time", columns="state", values=column)[
            list(self.states)]

    def at_times(self, times: Sequence[float]) -> pd.DataFrame:
        """pstate (and std_err) per state at ``times`` (last estimate at or before t)."""
        p, s = self.wide("pstate"), self.wide("std_err")
        tt = np.asarray(times, dtype=float)
        idx = np.searchsorted(p.index.to_numpy(), tt, side="right") - 1
        start = np.array([1.0 if x == self.states[0] else 0.0 for x in self.states])
        pv = np.where(idx[:, None] >= 0, p.to_numpy()[np.maximum(idx, 0)], start)
        sv = np.where(idx[:, None] >= 0, s.to_numpy()[np.maximum(idx, 0)], 0.0)
        out = [pd.DataFrame({"time": tt, "state": st, "pstate": pv[:, j], "std_err": sv[:, j]})
               for j, st in enumerate(self.states)]
        return pd.concat(out, ignore_index=True)


def state_occupation(data: pd.DataFrame, states: Sequence[str] = STATES,
                     initial: str | None = None) -> StateOccupation:
    """Aalen–Johansen probabilities of being in each state, with IJ standard errors.

    ``data``: counting-process rows (id, tstart, tstop, from_state, to_state; to_state
    ``"censored"`` or a state). At each event time t the transition matrix is
    A(t) = I + dN(t)/Y(t) (rows at risk: tstart < t ≤ tstop) and p(t) = p(t−) A(t); every
    history starts in ``initial`` (default the first state) at time 0. The influence of
    each id follows U(t) = U(t−) A(t) + p(t−) ∂A(t)/∂w; std_err = sqrt(Σ_id U²).
    Rows are given at every distinct tstop (events and censorings), as R prints them.

    Example
    -------
    >>> d = pd.DataFrame({"id": [1, 1, 2, 3], "tstart": [0, 2, 0, 0], "tstop": [2, 5, 3, 4],
    ...                   "from_state": ["home", "full", "home", "home"],
    ...                   "to_state": ["full", "censored", "censored", "partial"]})
    >>> so = state_occupation(d)
    >>> so.wide().loc[4.0].round(3).tolist()
    [0.0, 0.667, 0.333, 0.0]
    """
    states = tuple(states)
    s_idx = {s: i for i, s in enumerate(states)}
    k = len(states)
    ids, iid = np.unique(data["id"].astype(str).to_numpy(), return_inverse=True)
    t0 = data["tstart"].to_numpy(float)
    t1 = data["tstop"].to_numpy(float)
    frm = data["from_state"].map(s_idx).to_numpy()
    to = data["to_state"].map(lambda x: s_idx.get(x, -1)).to_numpy()
    if np.isnan(frm.astype(float)).any():
        raise ValueError(f"from_state must be one of {states}")
    frm = frm.astype(int)
    to = to.astype(int)
    if np.any(t1 <= t0):
        raise ValueError("every row needs tstart < tstop")
    ev = (to >= 0) & (to != frm)
    times = np.unique(t1)
    p = np.zeros(k)
    p[s_idx[initial or states[0]]] = 1.0
    u = np.zeros((len(ids), k))
    ev_t = t1[ev]
    o0, o1 = np.sort(t0), np.sort(t1)
    out_p, out_v, out_n = [], [], []
    for t in times:
        out_n.append(np.searchsorted(o0, t, side="left") - np.searchsorted(o1, t, side="left"))
        if np.any(ev_t == t):
            risk = (t0 < t) & (t1 >= t)
            ny = np.bincount(frm[risk], minlength=k).astype(float)
            here = ev & (t1 == t)
            dn = np.zeros((k, k))
            np.add.at(dn, (frm[here], to[here]), 1.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                haz = np.where(ny[:, None] > 0, dn / ny[:, None], 0.0)
            a = np.eye(k) + haz - np.diag(haz.sum(axis=1))
            # influence of each at-risk row: row j of dA/dw = (dN_i − Y_i·haz_j) / n_j
            rj = frm[risk]
            dmat = np.zeros((risk.sum(), k))
            jumped = here[risk]
            dmat[np.flatnonzero(jumped), to[risk][jumped]] = 1.0
            dmat[np.flatnonzero(jumped), rj[jumped]] -= 1.0
            dmat -= haz[rj] - np.diag(haz.sum(axis=1))[rj]
            dmat /= ny[rj][:, None]
            h = p[rj][:, None] * dmat
            u = u @ a
            np.add.at(u, iid[risk], h)
            p = p @ a
        out_p.append(p.copy())
        out_v.append(np.sqrt((u ** 2).sum(axis=0)))
    pv, sv = np.array(out_p), np.array(out_v)
    table = pd.concat([pd.DataFrame({"time": times, "n_risk": out_n, "state": s,
                                     "pstate": pv[:, j], "std_err": sv[:, j]})
                       for j, s in enumerate(states)], ignore_index=True)
    table["n_risk"] = table["n_risk"].astype(int)
    return StateOccupation(table=table, states=states, n=len(ids))


# --------------------------------------------------------------------------- figure
def stacked_area_plot(so: StateOccupation, *, lang: str = "nl", min_at_risk: int | None = None,
                      max_days: float | None = None, ax=None, colours: Mapping[str, str] | None
                      = None):
    """Stacked area of the state-occupation probabilities over days since absence start.

    The areas stop at the last time with at least ``min_at_risk`` histories under
    observation (privacy and precision). Returns the figure.
    """
    import matplotlib.pyplot as plt

    w = so.wide()
    n = so.table.drop_duplicates("time").set_index("time")["n_risk"]
    if min_at_risk is not None:
        w = w[(n.reindex(w.index) >= min_at_risk).cummin().to_numpy()]
    if max_days is not None:
        w = w[w.index <= max_days]
    x = np.r_[0.0, np.repeat(w.index.to_numpy(), 2)]
    start = np.array([1.0 if s == so.states[0] else 0.0 for s in so.states])
    vals = np.vstack([start, w.to_numpy()])
    y = np.vstack([start, *[r for i in range(1, len(vals)) for r in (vals[i - 1], vals[i])]])
    colours = colours or {"home": "#b2182b", "partial": "#fdb863", "full": "#4393c3",
                          "relapse": "#6a3d9a"}
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 4.2))
    else:
        fig = ax.figure
    lab = STATE_LABELS.get(lang, STATE_LABELS["en"])
    ax.stackplot(x, y.T, labels=[lab.get(s, s) for s in so.states],
                 colors=[colours.get(s, "grey") for s in so.states], alpha=0.9)
    xl, yl = _AXES.get(lang, _AXES["en"])
    ax.set_xlabel(xl)
    ax.set_ylabel(yl)
    ax.set_ylim(0, 1)
    ax.set_xlim(0, x[-1] if len(x) else 1)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- summaries
def occupation_table(so: StateOccupation, times: Sequence[float], *, lang: str = "nl",
                     min_cell: int = 10, formatted: bool = True) -> pd.DataFrame:
    """Share in each state at ``times`` (rows: day; columns: state labels in ``lang``).

    Hidden ("–", or NaN when ``formatted=False``, then in percent) where fewer than
    ``min_cell`` histories are still followed at that day.
    """
    at = so.at_times(times).pivot(index="time", columns="state", values="pstate")[
        list(so.states)]
    n = so.table.drop_duplicates("time").set_index("time")["n_risk"]
    idx = np.searchsorted(n.index.to_numpy(), np.asarray(at.index, float), side="left")
    n_at = np.where(idx < len(n), n.to_numpy()[np.minimum(idx, len(n) - 1)], 0)
    out = 100 * at
    out[n_at < min_cell] = np.nan
    # a share of the cohort's episodes is shown only where no small count follows from it
    safe = np.array([[shareable(p, so.n, min_cell, n_risk=k) for p in row]
                     for row, k in zip(at.to_numpy(float), n_at, strict=True)], dtype=bool)
    out = out.where(safe.reshape(out.shape) if out.size else out.notna())
    lab = STATE_LABELS.get(lang, STATE_LABELS["en"])
    out = out.rename(columns=lab).rename_axis(None, axis=1)
    if not formatted:
        return out
    out = out.apply(lambda col: [_pct(v / 100, lang) for v in col])
    out.index = [f"{t:g}" for t in out.index]
    return out.rename_axis(_COLS.get(lang, _COLS["en"])["time"])


def relapse_curve(cohort: Cohort, times: Sequence[float] = (91, 182, 365),
                  next_types: str | tuple[str, ...] | None = None, *, min_cell: int = 10):
    """Kaplan–Meier of the time from a return to the next episode (relapse).

    Returns (fit, table): the KM fit on :func:`~thuiszit_eval.outcomes.relapse_table` and
    per time: n_risk (still followed, suppressed below ``min_cell``), relapse (cumulative
    share relapsed, 1 − KM), lower, upper (95%; hidden where fewer than ``min_cell``).
    """
    from .describe import suppress_small

    rt = relapse_table(cohort, next_types=next_types)
    fit = kaplan_meier(rt.data)
    at = fit.at_times(times)
    ok = [shareable(p, len(rt.data), min_cell) for p in at["returned"]]
    at.loc[~np.array(ok, dtype=bool), ["returned", "returned_lower", "returned_upper"]] = np.nan
    tab = pd.DataFrame({"time": at["time"], "n_risk": at["n_risk"].astype(int),
                        "relapse": at["returned"], "lower": at["returned_lower"],
                        "upper": at["returned_upper"]})
    return fit, suppress_small(tab, ["n_risk"], min_cell,
                               hide={"n_risk": ["relapse", "lower", "upper"]})


def sustained_sensitivity(cohort: Cohort, weeks: Sequence[int] = (2, 4, 8),
                          at_day: float = 182, *, min_cell: int = 10) -> pd.DataFrame:
    """Share of episodes that reached a sustained return by ``at_day``, per definition.

    For each ``sustained_weeks`` k (consecutive full-attendance school weeks), the
    Aalen–Johansen cumulative incidence of a sustained return (other endings compete) at
    ``at_day`` days since absence start. Columns: sustained_weeks, episodes, events (by
    ``at_day``), share, lower, upper (95%); counts below ``min_cell`` are suppressed and
    their estimates hidden.
    """
    from .describe import suppress_small

    rows = []
    for k in weeks:
        st = survival_table(cohort, OutcomeDefinition(event="sustained_return",
                                                      sustained_weeks=int(k)))
        d = st.data
        if (d["event"] == 1).any():
            r = aalen_johansen(d).at_times([at_day], 1).iloc[0]
        else:  # no sustained return at all (a small cohort): the incidence is 0 throughout
            r = pd.Series({"pstate": 0.0, "lower": np.nan, "upper": np.nan})
        rows.append({"sustained_weeks": int(k), "episodes": len(d),
                     "events": int(((d["event"] == 1) & (d["duration"] <= at_day)).sum()),
                     "share": r["pstate"], "lower": r["lower"], "upper": r["upper"]})
    out = pd.DataFrame(rows)
    if len(out):
        ok = [shareable(p, n, min_cell) for p, n in zip(out["share"], out["episodes"],
                                                         strict=True)]
        out.loc[~np.array(ok, dtype=bool), ["share", "lower", "upper"]] = np.nan
    return suppress_small(out, ["episodes", "events"], min_cell,
                          hide={"episodes": ["share", "lower", "upper"],
                                "events": ["share", "lower", "upper"]})


# --------------------------------------------------------------------------- display
_COLS = by_lang("multistate.col", ("time", "n_risk", "relapse", "ci", "sustained_weeks",
                                   "episodes", "events", "share"))


def shareable(p: float, n: float, min_cell: int = 10, n_risk: float | None = None) -> bool:
    """Whether a share ``p`` (0–1) of ``n`` episodes may be shown, as this module writes
    it (0 or 1 decimal): no count from 1 to ``min_cell − 1`` follows from it or from its
    rest (:func:`thuiszit_eval.disclosure.shown_share_is_safe`); with ``n_risk`` (the
    histories still followed) the same holds for ``p·n_risk``.

    >>> shareable(0.067, 15), shareable(0.5, 40), shareable(0.5, 40, n_risk=12)
    (False, True, False)
    """
    from .disclosure import share_is_safe, shown_share_is_safe

    if p is None or not np.isfinite(p):
        return False
    if not all(shown_share_is_safe(p, n, min_cell, d) for d in (0, 1)):
        return False
    return n_risk is None or share_is_safe(p * n_risk, n_risk, min_cell)


def require_shareable(n: int, min_cell: int = 10) -> None:
    """Raise :class:`~thuiszit_eval.estimability.NotEstimable` when ``n`` episodes are too
    few for any share to be shown: a share and its rest must each count ``min_cell``, so
    fewer than ``2·min_cell`` episodes leave nothing to publish.

    >>> require_shareable(40, 10)
    >>> try:
    ...     require_shareable(15, 10)
    ... except NotEstimable as e:
    ...     print(e.text("en")[:40])
    Not applicable: this section needs enoug
    """
    if n < 2 * min_cell:
        raise NotEstimable("needs_group", need="shares")


def _pct(p: object, lang: str, digits: int = 1) -> str:
    from .narrative import percent

    return "–" if p is None or pd.isna(p) else percent(float(p), lang, digits)


def _ci(lo: object, hi: object, lang: str) -> str:
    if lo is None or pd.isna(lo):
        return "–"
    return f"{_pct(lo, lang)} – {_pct(hi, lang)}"


def display_relapse(tab: pd.DataFrame, lang: str = "nl") -> pd.DataFrame:
    """The table of :func:`relapse_curve` with percentages and headers in ``lang``."""
    c = _COLS.get(lang, _COLS["en"])
    return pd.DataFrame({
        c["time"]: tab["time"].map(lambda t: f"{t:g}"),
        c["n_risk"]: tab["n_risk"],
        c["relapse"]: [_pct(p, lang) for p in tab["relapse"]],
        c["ci"]: [_ci(lo, hi, lang) for lo, hi in zip(tab["lower"], tab["upper"], strict=True)],
    }).set_index(c["time"])


def display_sensitivity(sens: pd.DataFrame, lang: str = "nl", at_day: float = 182
                        ) -> pd.DataFrame:
    """The table of :func:`sustained_sensitivity` with percentages and headers in ``lang``."""
    c = _COLS.get(lang, _COLS["en"])
    return pd.DataFrame({
        c["sustained_weeks"]: sens["sustained_weeks"],
        c["episodes"]: sens["episodes"],
        c["events"].format(d=at_day): sens["events"],
        c["share"]: [_pct(p, lang) for p in sens["share"]],
        c["ci"]: [_ci(lo, hi, lang) for lo, hi in zip(sens["lower"], sens["upper"],
                                                       strict=True)],
    }).set_index(c["sustained_weeks"])


def key_numbers(so: StateOccupation, relapse: pd.DataFrame, sens: pd.DataFrame, *,
                lang: str = "nl", min_cell: int = 10) -> dict[str, str]:
    """Cohort-dependent numbers for the narrative, formatted for ``lang`` ("–" = hidden)."""
    from .narrative import number

    occ = occupation_table(so, [91, 182, 365], lang="en", min_cell=min_cell, formatted=False)
    occ.columns = list(so.states)

    def at(t: float, s: str) -> str:
        v = occ.loc[float(t), s]
        return "–" if v is None or pd.isna(v) else _pct(v / 100, lang, 0)

    rel = relapse.set_index("time")["relapse"]
    sh = sens.set_index("sustained_weeks")["share"]
    out = {"n_episodes": number(so.n, lang) if so.n >= min_cell else f"<{min_cell}"}
    for t, name in ((91, "3m"), (182, "6m"), (365, "12m")):
        for s in so.states:
            out[f"{s}_{name}"] = at(t, s)
    for t, name in ((182, "6m"), (365, "12m")):
        out[f"relapse_after_{name}"] = _pct(rel.get(float(t)), lang, 0)
    for k in sh.index:
        out[f"sustained_{k}w"] = _pct(sh.get(k), lang, 0)
    return out


#: Titles of the relapse curve: x axis, y axis, numbers-at-risk table.
RELAPSE_AXES = {lang: tuple(v.values()) for lang, v in
                by_lang("multistate.relapse_axis", ("x", "y", "risk_title")).items()}
