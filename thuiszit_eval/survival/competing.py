"""Aalen–Johansen cumulative incidence under competing events.

Matches R ``survfit(Surv(time, factor(status)) ~ group)`` (a multi-state fit): ``pstate``,
its infinitesimal-jackknife ``std.err`` and the "log" interval. Point estimates also equal
``cmprsk::cuminc``; cuminc's variance (Gray's delta-method formula) is a different
estimator, a few percent away from the infinitesimal-jackknife one: it is
:func:`thuiszit_eval.survival.cuminc` (with Gray's test, :func:`~thuiszit_eval.survival.
gray_test`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._common import (
    CONF_TYPES,
    check_columns,
    conf_band,
    entry_array,
    survival_arrays,
    weight_array,
)
from .km import DEFAULT_TIMES, _weighted_at_or_after, group_labels


def _aj_one(t: np.ndarray, ev: np.ndarray, causes: np.ndarray) -> dict[str, np.ndarray]:
    """AJ estimate and IJ variance for one group.

    The influence of an episode on p(t) depends only on its exit time and exit cause, so
    the sum of squared influences is a handful of cumulative sums (no n × T matrix).
    """
    times, tidx = np.unique(t, return_inverse=True)
    nt, k = len(times), len(causes)
    cnt = np.bincount(tidx, minlength=nt).astype(float)
    d = np.zeros((nt, k))
    for j, c in enumerate(causes):
        d[:, j] = np.bincount(tidx, weights=(ev == c).astype(float), minlength=nt)
    n = cnt[::-1].cumsum()[::-1]  # at risk just before each time
    da_k = d / n[:, None]
    da = da_k.sum(axis=1)
    p0 = np.cumprod(1 - da)
    p0m = np.concatenate([[1.0], p0[:-1]])  # p0(t-)
    f = np.cumsum(p0m[:, None] * da_k, axis=0)  # cumulative incidence per cause
    # influence of an episode still at risk after t (the same for all of them)
    with np.errstate(divide="ignore", invalid="ignore"):
        incr = np.where(da < 1, da / (n * (1 - da)), 0.0)
    a0 = p0 * np.cumsum(incr)
    last = da >= 1  # everyone left at risk exits with an event: nobody remains after
    a0[last] = p0m[last] / n[last]
    a0m = np.concatenate([[0.0], a0[:-1]])
    ak = np.cumsum(a0m[:, None] * da_k - (p0m / n)[:, None] * da_k, axis=0)
    # exit influences at each time: censored = (a0, ak); cause c: a0 - p0m/n, ak + e_c p0m/n
    h = p0m / n
    with np.errstate(divide="ignore", invalid="ignore"):
        w_cens = np.where(p0 > 0, a0 / p0, 0.0)
        w_ev = np.where(p0 > 0, (a0 - h) / p0, 0.0)
    m_cens = cnt - d.sum(axis=1)
    # per-time sums over exit groups of m·w², m·w·U_k, m·U_k²
    sw2 = m_cens * w_cens**2 + d.sum(axis=1) * w_ev**2
    swu = np.zeros((nt, k))
    su2 = np.zeros((nt, k))
    for j in range(k):
        u_other = ak[:, j]  # U_k for exits with cause != j
        u_own = ak[:, j] + h
        d_other = d.sum(axis=1) - d[:, j]
        swu[:, j] = m_cens * w_cens * u_other + d_other * w_ev * u_other + d[:, j] * w_ev * u_own
        su2[:, j] = (m_cens + d_other) * u_other**2 + d[:, j] * u_own**2
    big_a = np.cumsum(sw2)
    big_b = np.cumsum(sw2[:, None] * f, axis=0)
    big_c = np.cumsum(sw2[:, None] * f**2, axis=0)
    big_d = np.cumsum(swu, axis=0)
    big_e = np.cumsum(swu * f, axis=0)
    big_g = np.cumsum(su2, axis=0)
    n_after = n - cnt
    var0 = p0**2 * big_a + n_after * a0**2
    vark = (big_g + 2 * f * big_d - 2 * big_e + f**2 * big_a[:, None] - 2 * f * big_b
            + big_c + n_after[:, None] * ak**2)
    return {"time": times, "n_risk": n, "n_event": d, "p0": p0, "f": f,
            "var0": np.maximum(var0, 0), "vark": np.maximum(vark, 0)}


def _aj_entry(t: np.ndarray, ev: np.ndarray, causes: np.ndarray, e: np.ndarray,
              w: np.ndarray) -> dict[str, np.ndarray]:
    """AJ with delayed entry and case weights; IJ variance in closed form.

    With j indexing the event times, the influence of episode i on p0 is
    p0(j)·(C(min(j, x_i)) − C(m_i) − [event]·g(x_i)) (m_i, x_i: event times up to its
    entry and exit; C the cumulative Σ dΛ/(n(1 − dΛ)), g = 1/(n(1 − dΛ))), and on F_k it
    is linear in F_k(j) and Q_k(j) − B_k(j) with per-episode coefficients, so
    Σ_i w_i² U_i(j)² is a handful of cumulative sums. Falls back to
    :func:`_aj_general` when everyone at risk has an event at some time (dΛ = 1).
    """
    times, tidx = np.unique(t, return_inverse=True)
    nt, k = len(times), len(causes)
    etimes = np.unique(t[ev > 0])
    nj = len(etimes)
    wev = np.zeros((nj, k))
    ej = np.searchsorted(etimes, t)  # valid where ev > 0
    for q, c in enumerate(causes):
        m = ev == c
        wev[:, q] = np.bincount(ej[m], weights=w[m], minlength=nj)
    n_risk = _weighted_at_or_after(t, w, etimes) - _weighted_at_or_after(e, w, etimes)
    da_k = wev / n_risk[:, None]
    da = da_k.sum(axis=1)
    if np.any(da >= 1):
        return _aj_general(t, ev, causes, e, w)
    z0 = np.zeros(1)
    p0 = np.concatenate([[1.0], np.cumprod(1 - da)])  # index j: after j event times
    big_p = p0[:-1]  # p0 just before event time j (1-based j -> index j-1)
    cj = da / (n_risk * (1 - da))
    gj = 1 / (n_risk * (1 - da))
    hj = big_p / n_risk
    cc = np.concatenate([z0, np.cumsum(cj)])
    a_k = big_p[:, None] * da_k
    f_k = np.vstack([np.zeros((1, k)), np.cumsum(a_k, axis=0)])
    b_k = np.vstack([np.zeros((1, k)), np.cumsum(a_k / n_risk[:, None], axis=0)])
    q_k = np.vstack([np.zeros((1, k)), np.cumsum(a_k * cc[:-1, None], axis=0)])
    m = np.searchsorted(etimes, e, side="right")
    x = np.searchsorted(etimes, t, side="right")
    dlt = ev > 0
    xe = np.maximum(x - 1, 0)
    zi = cc[x] - cc[m] - np.where(dlt, gj[xe], 0.0)
    own = np.zeros((len(t), k))
    hit = np.flatnonzero(dlt)
    own[hit, np.searchsorted(causes, ev[hit])] = hj[xe[hit]]
    alpha = (q_k[x] - q_k[m] - cc[m, None] * (f_k[x] - f_k[m]) - (b_k[x] - b_k[m])
             - zi[:, None] * f_k[x] + own)
    gamma = -q_k[m] + cc[m, None] * f_k[m] + b_k[m]
    ci = cc[m]
    w2 = w**2

    def cum_at(idx: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Σ v over episodes with idx <= j, for j = 0..nj."""
        out = np.zeros((nj + 2, *v.shape[1:]))
        np.add.at(out, idx, v)
        return np.cumsum(out, axis=0)[: nj + 1]

    # exited by j (x_i <= j)
    e1 = cum_at(x, w2[:, None] * alpha**2)
    e2 = cum_at(x, (w2 * zi)[:, None] * alpha)
    e3 = cum_at(x, w2 * zi**2)
    # at risk after j (m_i < j < x_i): added at m_i + 1, removed at x_i
    live = x > m

    def at_risk(v: np.ndarray) -> np.ndarray:
        vv = v * (live if v.ndim == 1 else live[:, None])
        return cum_at(m + 1, vv) - cum_at(x, vv)

    r0, r1, r2 = at_risk(w2), at_risk(w2 * ci), at_risk(w2 * ci**2)
    rg = at_risk(w2[:, None] * gamma)
    rcg = at_risk((w2 * ci)[:, None] * gamma)
    rgg = at_risk(w2[:, None] * gamma**2)
    g_k = q_k - b_k
    var_k = (e1 + 2 * f_k * e2 + f_k**2 * e3[:, None] + g_k**2 * r0[:, None]
             + f_k**2 * r2[:, None] + rgg - 2 * g_k * f_k * r1[:, None] + 2 * g_k * rg
             - 2 * f_k * rcg)
    var_0 = p0**2 * (e3 + cc**2 * r0 - 2 * cc * r1 + r2)
    # rows at every distinct exit time: the values after the event times up to it
    jrow = np.searchsorted(etimes, times, side="right")
    d = np.zeros((nt, k))
    for q, c in enumerate(causes):
        d[:, q] = np.bincount(tidx, weights=w * (ev == c), minlength=nt)
    cnt = np.bincount(tidx, minlength=nt).astype(float)
    n_count = cnt[::-1].cumsum()[::-1] - (len(e) - np.searchsorted(np.sort(e), times, "left"))
    return {"time": times, "n_risk": n_count, "n_event": d, "p0": p0[jrow],
            "f": f_k[jrow], "var0": np.maximum(var_0[jrow], 0),
            "vark": np.maximum(var_k[jrow], 0)}


def _aj_general(t: np.ndarray, ev: np.ndarray, causes: np.ndarray, e: np.ndarray,
                w: np.ndarray) -> dict[str, np.ndarray]:
    """AJ estimate and IJ variance with delayed entry and case weights, step by step.

    The influence of each episode is carried forward over the event times (as R's
    multi-state survfit does): episodes × event times. :func:`_aj_entry` gives the same
    in closed form and uses this only when dΛ = 1 at some time (everyone left at risk
    has an event); tests/test_survival_extra.py checks that the two agree.
    """
    times, tidx = np.unique(t, return_inverse=True)
    nt, k, n = len(times), len(causes), len(t)
    wsum = np.bincount(tidx, weights=w, minlength=nt)
    d = np.zeros((nt, k))
    for j, c in enumerate(causes):
        d[:, j] = np.bincount(tidx, weights=w * (ev == c), minlength=nt)
    o_e = np.argsort(e, kind="stable")
    ent_after = np.concatenate([np.cumsum(w[o_e][::-1])[::-1], [0.0]])[
        np.searchsorted(e[o_e], times, side="left")]
    nrisk = wsum[::-1].cumsum()[::-1] - ent_after
    p0 = np.ones(nt)
    f = np.zeros((nt, k))
    var0 = np.zeros(nt)
    vark = np.zeros((nt, k))
    u0 = np.zeros(n)
    uk = np.zeros((n, k))
    cur_p0, cur_f = 1.0, np.zeros(k)
    cause_idx = np.searchsorted(causes, ev)  # valid only where ev > 0
    for j in range(nt):
        dj = d[j]
        if dj.sum() > 0:
            at = (e < times[j]) & (t >= times[j])
            da_k = dj / nrisk[j]
            hit = np.flatnonzero((tidx == j) & (ev > 0))
            # d(dA_k)/dw_i = (dN_ik − Y_i dA_k) / n: the at-risk part, then the events
            risk_part = at * (cur_p0 / nrisk[j])
            uk += u0[:, None] * da_k[None, :] - risk_part[:, None] * da_k[None, :]
            u0 = u0 * (1 - da_k.sum()) + risk_part * da_k.sum()
            uk[hit, cause_idx[hit]] += cur_p0 / nrisk[j]
            u0[hit] -= cur_p0 / nrisk[j]
            cur_f = cur_f + cur_p0 * da_k
            cur_p0 = cur_p0 * (1 - da_k.sum())
            wu0, wuk = w * u0, w[:, None] * uk
            v0, vk = float(wu0 @ wu0), (wuk**2).sum(axis=0)
        elif j == 0:
            v0, vk = 0.0, np.zeros(k)
        p0[j], f[j], var0[j], vark[j] = cur_p0, cur_f, v0, vk
    # R reports unweighted numbers at risk for multi-state curves
    cnt = np.bincount(tidx, minlength=nt).astype(float)
    n_count = cnt[::-1].cumsum()[::-1] - np.concatenate(
        [np.arange(n, 0, -1, dtype=float), [0.0]])[np.searchsorted(e[o_e], times, "left")]
    return {"time": times, "n_risk": n_count, "n_event": d, "p0": p0, "f": f,
            "var0": var0, "vark": vark}


@dataclass
class AalenJohansenResult:
    """Cumulative incidence of each event type (Aalen–Johansen), per group.

    ``table``: one row per group × time × state with columns group, time, n_risk (still
    event-free just before t), state (0 = no event yet, 1 = returned, 2, ... = competing
    events), n_event (events of that type at t), pstate (probability of being in the
    state: 1 − all incidences for state 0, the cumulative incidence otherwise), std_err
    (infinitesimal jackknife, as R's multi-state survfit), lower, upper.
    """

    table: pd.DataFrame
    n: pd.Series
    causes: list[int]
    conf_level: float
    conf_type: str
    group: str | None

    def cumulative_incidence(self, state: int = 1) -> pd.DataFrame:
        """The rows of one event type (default 1 = return to school)."""
        return self.table[self.table["state"] == state].reset_index(drop=True)

    def at_times(self, times: Sequence[float] = DEFAULT_TIMES, state: int = 1
                 ) -> pd.DataFrame:
        """Step-function values of ``state`` at ``times`` (last estimate at or before t).

        Before a group's first exit the incidence is 0 with limits 0 and 0, as R's
        ``summary(fit, times=)``; state 0 (no event yet) is 1 with limits 1 and 1 there (R
        prints 0 and 0 for those limits, an interval that excludes its own estimate).
        """
        times_a = np.sort(np.asarray(times, dtype=float))
        ci = self.cumulative_incidence(state)
        p_start = 1.0 if state == 0 else 0.0
        out = []
        for g, c in ci.groupby("group", sort=False):
            idx = np.searchsorted(c["time"].to_numpy(), times_a, side="right") - 1
            row = {"group": g, "time": times_a, "state": state}
            for col, start in (("pstate", p_start), ("std_err", 0.0), ("lower", p_start),
                               ("upper", p_start)):
                v = c[col].to_numpy()[np.maximum(idx, 0)]
                row[col] = np.where(idx >= 0, v, start)
            out.append(pd.DataFrame(row))
        return pd.concat(out, ignore_index=True)

    def summary(self, times: Sequence[float] = DEFAULT_TIMES) -> str:
        lines = [f"Aalen–Johansen cumulative incidence (states {self.causes}), "
                 f"CI {self.conf_level:.0%} {self.conf_type}"]
        for s in self.causes:
            at = self.at_times(times, s)
            lines.append(f"state {s}:")
            for _, r in at.iterrows():
                ci = (f"({r['lower']:.3f}–{r['upper']:.3f})"
                      if np.isfinite(r["lower"]) and np.isfinite(r["upper"])
                      else "(no interval: no such event yet)")
                lines.append(f"  {r['group']:>10} t={r['time']:<8g} {r['pstate']:.3f} {ci}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def aalen_johansen(
    data: pd.DataFrame,
    duration: str = "duration",
    event: str = "event",
    group: str | None = None,
    *,
    conf_level: float = 0.95,
    conf_type: str = "log",
    entry: str | None = None,
    weights: str | None = None,
) -> AalenJohansenResult:
    """Aalen–Johansen cumulative incidence of every event code > 0, per group.

    Matches R ``survfit(Surv(time, factor(status)) ~ group)``: pstate, std.err
    (infinitesimal jackknife) and lower/upper ("log" is R's default ``conf.type``).

    ``entry``: column of delayed-entry times (left truncation: at risk on (entry,
    duration]), as ``survfit(Surv(entry, time, factor(status)) ~ group, id = id)``;
    ``weights``: column of case weights, as ``survfit(..., weights = w)`` (IJ variance).

    Example
    -------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"duration": [2, 3, 3, 5, 8], "event": [1, 2, 1, 0, 1]})
    >>> aj = aalen_johansen(df)
    >>> aj.cumulative_incidence(1)["pstate"].round(3).tolist()
    [0.2, 0.4, 0.4, 0.8]
    """
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}, got {conf_type!r}")
    check_columns(data, [duration, event, group, entry, weights])
    t, ev = survival_arrays(data, duration, event)
    general = entry is not None or weights is not None
    e = entry_array(data, entry, duration, t) if entry else np.full(len(t), -np.inf)
    w = weight_array(data, weights)
    causes = np.array(sorted(c for c in np.unique(ev) if c > 0))
    labels, levels = group_labels(data, group)
    parts, n = [], {}
    for g in levels:
        m = labels == g
        r = (_aj_entry(t[m], ev[m], causes, e[m], w[m]) if general
             else _aj_one(t[m], ev[m], causes))
        n[g] = int(m.sum())
        nt = len(r["time"])
        base = {"group": g, "time": r["time"], "n_risk": r["n_risk"]}
        states = [(0, r["n_event"].sum(axis=1), r["p0"], r["var0"])]
        states += [(int(c), r["n_event"][:, j], r["f"][:, j], r["vark"][:, j])
                   for j, c in enumerate(causes)]
        for s, de, p, v in states:
            se = np.sqrt(v)
            with np.errstate(divide="ignore", invalid="ignore"):
                se_log = np.where(se == 0, 0.0, se / p)
            lo, hi = conf_band(p, se_log, conf_type, conf_level)
            parts.append(pd.DataFrame({**base, "state": np.full(nt, s), "n_event": de,
                                       "pstate": p, "std_err": se, "lower": lo,
                                       "upper": hi}))
    table = pd.concat(parts, ignore_index=True)
    return AalenJohansenResult(table=table, n=pd.Series(n), causes=[0, *map(int, causes)],
                               conf_level=conf_level, conf_type=conf_type, group=group)
