"""Prevention: among dreigende thuiszitters, time from the first signal to thuiszitten.

Definitions (one row per ``dreigend`` episode):

- **Origin** (first signal): the earliest of the episode's ``absence_start``, its
  ``signal`` process events and the pupil's ``signal`` events without an episode dated
  after the end of the pupil's previous episode and not after this ``absence_start``.
- **Event** (becoming a thuiszitter): the ``absence_start`` of the pupil's first
  ``lrv`` or ``absoluut_verzuim`` episode that starts after the origin, plus ``add_days``
  (default 0: the start of the absence that became thuiszitten; ``add_days=28`` counts to the
  day the 4 weeks' absence criterion is met).
- **Censoring**: at the follow-up end; at the start of the pupil's next ``dreigend`` episode
  (which starts a new row); and at the end of the dreigend episode when it ended by an
  exemption, moving away or ageing out (the pupil leaves compulsory education or the
  region, so a later thuiszit episode cannot be seen).
- **Group**: the first early-signalling intervention of the dreigend episode
  (:data:`EARLY`: thuiszitterstafel, agendapunt 4, leerkracht traject, vroegsignalering;
  from the interventions table, else from the ``case_table`` / ``agendapunt_4`` process
  events), ``none`` without one.

The comparison is **unadjusted** and the group is fixed at the origin although the
intervention starts later: pupils who become thuiszitter early have less time to receive
one (immortal time), and teams choose whom to discuss. Differences between the curves are
not effects of the interventions.

Example
-------
>>> EARLY[0]
'thuiszitterstafel'
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .cohort import Cohort
from .describe import suppress_small
from .estimability import NotApplicable
from .messages import by_lang, t
from .survival import kaplan_meier

EARLY = ("thuiszitterstafel", "agendapunt_4", "leerkracht_traject", "vroegsignalering")
THUISZIT_TYPES = ("lrv", "absoluut_verzuim")
LEAVES_VIEW = ("exemption_5a", "exemption_other", "moved", "aged_out")
_PROCESS_CODES = {"case_table": "thuiszitterstafel", "agendapunt_4": "agendapunt_4"}
TIMES = (28, 91, 182, 365)


def _early_group(cohort: Cohort, episode_ids: pd.Series) -> np.ndarray:
    found = pd.Series(dtype=object)
    iv = cohort.interventions
    if iv is not None and len(iv):
        iv = iv[iv["intervention_code"].isin(EARLY) & iv["episode_id"].isin(episode_ids)]
        when = iv["start_date"].fillna(iv["referral_date"])
        iv = iv.assign(_when=when).sort_values(["_when"], kind="stable", na_position="last")
        found = iv.drop_duplicates("episode_id").set_index("episode_id")["intervention_code"]
    pe = cohort.process_events
    if pe is not None and len(pe):
        pe = pe[pe["event_code"].isin(list(_PROCESS_CODES)) & pe["episode_id"].isin(episode_ids)]
        pe = pe.sort_values("event_date", kind="stable").drop_duplicates("episode_id")
        extra = pe.set_index("episode_id")["event_code"].map(_PROCESS_CODES)
        found = pd.concat([found, extra[~extra.index.isin(found.index)]])
    return episode_ids.map(found).fillna("none").to_numpy(dtype=object)


def prevention_table(cohort: Cohort, add_days: int = 0) -> pd.DataFrame:
    """One row per dreigend episode: origin_date, stop_date, duration (days, > 0), event
    (1 = became a thuiszitter), group. No ids are returned."""
    fu = cohort.follow_up_end
    ep = cohort.episodes.sort_values(["pupil_id", "absence_start"], kind="stable")
    dr = ep[ep["episode_type"] == "dreigend"].copy()
    if dr.empty:
        raise NotApplicable("needs_group", need="dreigend")
    origin = dr["absence_start"]
    pe = cohort.process_events
    if pe is not None and len(pe):
        sig = pe[pe["event_code"] == "signal"]
        linked = sig.groupby("episode_id")["event_date"].min()
        # signals without an episode: the pupil's, after the end of the previous episode
        prev_end = ep.groupby("pupil_id")["end_date"].shift(1)
        win = dr[["episode_id", "pupil_id", "absence_start"]].assign(
            _prev=prev_end.loc[dr.index].to_numpy())
        free = sig[sig["episode_id"].isna()][["pupil_id", "event_date"]]
        m = win.merge(free, on="pupil_id")
        m = m[(m["event_date"] <= m["absence_start"])
              & (m["_prev"].isna() | (m["event_date"] > m["_prev"]))]
        unlinked = m.groupby("episode_id")["event_date"].min()
        origin = pd.concat([origin, dr["episode_id"].map(linked),
                            dr["episode_id"].map(unlinked)], axis=1).min(axis=1)
    dr["origin_date"] = origin
    dr = dr[dr["origin_date"].notna() & (dr["origin_date"] <= fu)]
    ts = ep[ep["episode_type"].isin(THUISZIT_TYPES)][["pupil_id", "absence_start"]]
    nd = ep[ep["episode_type"] == "dreigend"][["pupil_id", "absence_start"]]

    def first_after(other: pd.DataFrame, strictly_after: pd.Series) -> pd.Series:
        m = dr[["episode_id", "pupil_id"]].assign(_o=strictly_after.to_numpy()).merge(
            other, on="pupil_id", how="left")
        m = m[m["absence_start"] > m["_o"]]
        return dr["episode_id"].map(m.groupby("episode_id")["absence_start"].min())

    became = first_after(ts, dr["origin_date"]) + pd.Timedelta(days=add_days)
    next_dreigend = first_after(nd, dr["absence_start"])
    leaves = dr["end_date"].where(dr["end_reason"].isin(LEAVES_VIEW))
    censor = pd.concat([pd.Series(fu, index=dr.index), next_dreigend, leaves],
                       axis=1).min(axis=1)
    event = became.notna() & (became <= censor)
    stop = became.where(event, censor)
    dur = (stop - dr["origin_date"]).dt.days.to_numpy(float)
    return pd.DataFrame({
        "origin_date": dr["origin_date"].to_numpy(), "stop_date": stop.to_numpy(),
        "duration": np.maximum(dur, 0.5), "event": event.to_numpy(int),
        "group": _early_group(cohort, dr["episode_id"]),
    })


def prevention_km(data: pd.DataFrame, times: Sequence[float] = TIMES, min_cell: int = 10
                  ) -> pd.DataFrame:
    """Share become a thuiszitter (1 − KM) at ``times`` per group and overall, with n,
    events; groups with fewer than ``min_cell`` episodes or events show no estimates."""
    parts = []
    for label, d, by in (("all", data, None), (None, data, "group")):
        fit = kaplan_meier(d, group=by)
        at = fit.at_times(times)
        if label:
            at["group"] = label
        at = at.assign(n=at["group"].map(fit.n), events=at["group"].map(fit.n_events))
        parts.append(at)
    at = pd.concat(parts, ignore_index=True)
    wide = at.pivot_table(index="group", columns="time", values="returned", sort=False)
    wide.columns = [f"{int(t)}d" for t in wide.columns]
    counts = at.drop_duplicates("group").set_index("group")[["n", "events"]].astype(int)
    out = counts.join(wide).reset_index()
    est = list(wide.columns)
    # the groups add up to 'all': one suppressed group count would follow by subtraction
    out["_part"] = np.where(out["group"] == "all", "all", "groups")
    out = suppress_small(out, ["n", "events"], min_cell,
                         hide={"n": ["events", *est], "events": est}, within=[["_part"]])
    return out.drop(columns="_part")


def summary_numbers(data: pd.DataFrame, table: pd.DataFrame, min_cell: int = 10,
                    lang: str = "nl") -> dict[str, object]:
    """Numbers for the narrative (counts below ``min_cell`` as "<min_cell"); ``enough`` is
    false when there are fewer than ``min_cell`` dreigend episodes or events (then only
    the counts are reported)."""
    from .narrative import number

    n, ev = int(len(data)), int(data["event"].sum())
    enough = n >= min_cell and ev >= min_cell

    def show(k: int) -> str:
        return number(k, lang) if k >= min_cell else f"<{min_cell}"

    return {"n_dreigend": show(n), "n_events": show(ev), "enough": enough,
            "n_groups_shown": len(shown_groups(table)) if enough else 0,
            "n_groups": int((table["group"] != "all").sum()), "min_cell": min_cell}


_LABELS = by_lang("prevention.label", ("x", "y", "all", "none"))


def group_label(group: str, lang: str = "nl") -> str:
    """Display name of a group: the intervention code list's label, 'all', 'none'."""
    from .describe import code_labels

    lab = _LABELS[lang]
    return lab.get(group) or code_labels("intervention", lang).get(group, group)


def display_table(table: pd.DataFrame, lang: str = "nl") -> pd.DataFrame:
    """A :func:`prevention_km` table for reading: labels, shares in % (1 decimal)."""
    out = table.copy()
    out["group"] = out["group"].map(lambda g: group_label(g, lang))
    names = {c: t(f"prevention.col.{c}", lang) for c in ("group", "n", "events")}
    for c in [c for c in out if c.endswith("d") and c[:-1].isdigit()]:
        x = pd.to_numeric(out[c], errors="coerce")
        out[c] = (100 * x).round(1).astype(object).where(x.notna(), "")  # never "None"
        names[c] = t("prevention.col.within", lang, days=c[:-1])
    out = out.astype(object).where(out.notna(), "")
    return out.rename(columns=names)


def prevention_plot(data: pd.DataFrame, table: pd.DataFrame, lang: str = "nl",
                    min_cell: int = 10):
    """KM share become a thuiszitter, all dreigend episodes and each shown group; None
    when there are too few episodes or events."""
    from .plots import km_plot

    if not summary_numbers(data, table, min_cell)["enough"]:
        return None
    lab = _LABELS[lang]
    shown = shown_groups(table)
    d = pd.concat([data.assign(group=lab["all"]), data[data["group"].isin(shown)]])
    d["group"] = d["group"].map(lambda g: g if g == lab["all"] else group_label(g, lang))
    return km_plot(kaplan_meier(d, group="group"), min_at_risk=min_cell, lang=lang,
                   xlabel=lab["x"], ylabel=lab["y"], reference_days=(28, 91, 182))


def shown_groups(table: pd.DataFrame) -> list[str]:
    """Groups of a :func:`prevention_km` table whose estimates are shown (not 'all')."""
    ok = pd.to_numeric(table["events"], errors="coerce").notna()
    return [g for g in table.loc[ok, "group"] if g != "all"]
