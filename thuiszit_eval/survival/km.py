"""Kaplan–Meier curves with Greenwood variance, quantiles, RMST and at-risk tables.

Matches R ``survival::survfit(Surv(time, status) ~ group, conf.type=...)`` and its
``summary(fit, times=)``, ``quantile(fit)`` and ``print(fit, rmean=tau)`` methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ._common import (
    CONF_TYPES,
    check_columns,
    conf_band,
    entry_array,
    survival_arrays,
    weight_array,
    zval,
)

DEFAULT_TIMES = (28.0, 91.0, 182.0, 365.0)
_KM_COLUMNS = [
    "group", "time", "n_risk", "n_event", "n_censor", "surv", "std_err", "std_err_log",
    "lower", "upper",
]


def _km_one(t: np.ndarray, d: np.ndarray, e: np.ndarray | None = None,
            w: np.ndarray | None = None, robust: bool = False) -> pd.DataFrame:
    """KM on one group: one row per distinct exit time (events or censorings), as survfit.

    ``e``: delayed-entry times (at risk on (e, t]); ``w``: case weights (risk sets and
    counts are weighted sums). ``robust``: infinitesimal-jackknife SE instead of Greenwood.
    """
    e = np.zeros(len(t)) if e is None else e
    w = np.ones(len(t)) if w is None else w
    times, tidx = np.unique(t, return_inverse=True)
    nt = len(times)
    wsum = np.bincount(tidx, weights=w, minlength=nt)
    n_event = np.bincount(tidx, weights=w * d, minlength=nt)
    # at risk at t: exit >= t minus entry >= t (entries are strictly before exits)
    n_risk = wsum[::-1].cumsum()[::-1] - _weighted_at_or_after(e, w, times)
    n_censor = wsum - n_event
    with np.errstate(divide="ignore", invalid="ignore"):
        haz = np.where(n_event > 0, n_event / n_risk, 0.0)
        surv = np.cumprod(1 - haz)
        if robust:
            se_log = _km_ij_se_log(t, d, e, w, times, tidx, n_risk, haz)
        else:
            # Greenwood on the log scale, as survfit's std.err (Inf once S reaches 0)
            gw = np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0)
            se_log = np.sqrt(np.cumsum(gw))
    return pd.DataFrame({
        "time": times, "n_risk": n_risk.astype(float), "n_event": n_event.astype(float),
        "n_censor": n_censor.astype(float), "surv": surv, "std_err_log": se_log,
    })


def _weighted_at_or_after(x: np.ndarray, w: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Σ w over rows with x >= at, for each value of ``at``."""
    o = np.argsort(x, kind="stable")
    cs = np.concatenate([np.cumsum(w[o][::-1])[::-1], [0.0]])
    return cs[np.searchsorted(x[o], at, side="left")]


def _km_ij_se_log(t, d, e, w, times, tidx, n_risk, haz) -> np.ndarray:
    """Infinitesimal-jackknife SE of log S(t), as ``survfit(..., robust = TRUE)``.

    The influence of pupil i on log S(t) is −Σ_s (dN_i(s) − Y_i(s) dΛ(s)) / (n(s)(1 − dΛ(s)))
    over event times s ≤ t; the at-risk part is C(min(t, exit)) − C(entry) with C the
    cumulative sum of dΛ / (n(1 − dΛ)), so Σ_i w_i² U_i(t)² is a few cumulative sums.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        den = n_risk * (1 - haz)
        c = np.where(haz > 0, haz / den, 0.0)
        jump = np.where(haz > 0, 1 / den, 0.0)
    cc = np.cumsum(c)
    c_exit = cc[tidx]
    # C at the entry: last time strictly... at risk on (e, t], so event times s > e count
    k_e = np.searchsorted(times, e, side="right")
    c_entry = np.concatenate([[0.0], cc])[k_e]
    u_exit = c_exit - c_entry - d * jump[tidx]  # final influence, fixed after exit
    w2 = w**2
    nt = len(times)
    # exited by t (exit <= t): cumulative Σ w² U²
    done = np.cumsum(np.bincount(tidx, weights=w2 * u_exit**2, minlength=nt))
    # still at risk after t (entry < t < exit): U = C(t) − C(entry)
    after = lambda v: (_weighted_at_or_after(t, v, times)  # noqa: E731
                       - np.bincount(tidx, weights=v, minlength=nt)
                       - _weighted_at_or_after(e, v, times))
    s0, s1, s2 = after(w2), after(w2 * c_entry), after(w2 * c_entry**2)
    var = done + cc**2 * s0 - 2 * cc * s1 + s2
    return np.sqrt(np.maximum(var, 0))


def _findq(x: np.ndarray, y: np.ndarray, probs: np.ndarray, tol: float) -> np.ndarray:
    """Port of ``survival:::findq``: first x where the increasing y reaches p.

    When y equals p over a flat stretch the midpoint of that stretch is returned, as R.
    """
    keep = ~np.isnan(y)
    x, y = x[keep], y[keep]
    out = np.full(len(probs), np.nan)
    if len(y) == 0 or np.max(y) < np.min(probs):
        return out
    xmax = x[-1]
    _, first = np.unique(y, return_index=True)  # drop duplicated y values (keep first)
    first = np.sort(first)
    x, y = x[first], y[first]
    n = len(y)
    for k, p in enumerate(probs):
        if p == 0:
            out[k] = x[0]
            continue
        i1 = np.searchsorted(y + tol, p, side="left")
        i2 = np.searchsorted(y - tol, p, side="left")
        if abs(p - y[-1]) < tol and i1 < n:
            out[k] = (x[i1] + xmax) / 2
        elif i1 < n and i2 < n:
            out[k] = (x[i1] + x[i2]) / 2
    return out


@dataclass
class KaplanMeierResult:
    """Kaplan–Meier estimates per group.

    ``table`` has one row per group × distinct time (event or censoring), as R's survfit:

    - ``group``: group label ("all" without groups)
    - ``time``: time in the duration's unit (days)
    - ``n_risk``, ``n_event``, ``n_censor``: at risk just before ``time``; events of interest
      and censorings (competing events count as censorings) at ``time``
    - ``surv``: S(t), the share not yet returned
    - ``std_err``: SE of S(t) (Greenwood), as ``summary.survfit``'s std.err
    - ``std_err_log``: SE of log S(t), as ``survfit$std.err``
    - ``lower``, ``upper``: pointwise CI for S(t) with the chosen ``conf_type``
    """

    table: pd.DataFrame
    n: pd.Series
    n_events: pd.Series
    conf_level: float
    conf_type: str
    event_code: int
    duration: str
    event: str
    group: str | None
    _data: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(
        repr=False, default_factory=dict)  # per group: exit, entry and weight arrays

    @property
    def groups(self) -> list[str]:
        return list(self.n.index)

    def _curve(self, g: str) -> pd.DataFrame:
        return self.table[self.table["group"] == g]

    def _at_risk(self, g: str, times: np.ndarray) -> np.ndarray:
        """(Weighted) number at risk at each time: entry < t <= exit."""
        t, e, w = self._data[g]
        return (_weighted_at_or_after(t, w, times) - _weighted_at_or_after(e, w, times)
                ).astype(float)

    def quantiles(self, probs: Sequence[float] = (0.25, 0.5, 0.75)) -> pd.DataFrame:
        """Time by which a share ``prob`` has returned (1 − S(t) ≥ prob), with CI.

        Matches ``quantile(fit, probs, conf.int=TRUE)``; the interval comes from the
        curve's confidence band (Brookmeyer–Crowley), so it depends on ``conf_type``.
        Columns: group, prob, quantile, lower, upper (NaN where not reached).
        """
        probs_a = np.asarray(probs, dtype=float)
        tol = np.sqrt(np.finfo(float).eps)
        rows = []
        for g in self.groups:
            c = self._curve(g)
            x = np.concatenate([[0.0], c["time"].to_numpy()])
            ys = [np.concatenate([[0.0], 1 - c[col].to_numpy()])
                  for col in ("surv", "lower", "upper")]
            q, lo, hi = (_findq(x, y, probs_a, tol) for y in ys)
            rows.append(pd.DataFrame({"group": g, "prob": probs_a, "quantile": q,
                                      "lower": lo, "upper": hi}))
        return pd.concat(rows, ignore_index=True)

    def median(self) -> pd.DataFrame:
        """Median time to return with CI (``print(fit)``'s median, 0.95LCL, 0.95UCL)."""
        return self.quantiles([0.5]).drop(columns="prob")

    def at_times(self, times: Sequence[float] = DEFAULT_TIMES) -> pd.DataFrame:
        """Estimates at given times, as ``summary(fit, times=, extend=TRUE)``.

        Columns: group, time, n_risk, n_event and n_censor (since the previous requested
        time), surv, std_err, lower, upper, and ``returned`` = 1 − S(t) with
        ``returned_lower`` = 1 − upper, ``returned_upper`` = 1 − lower.
        """
        times_a = np.sort(np.asarray(times, dtype=float))
        out = []
        for g in self.groups:
            c = self._curve(g)
            ct = c["time"].to_numpy()
            # last curve row at or before each requested time (-1 = before the first)
            idx = np.searchsorted(ct, times_a, side="right") - 1

            def pick(col: str, start: float, idx: np.ndarray = idx, c: pd.DataFrame = c):
                return np.where(idx >= 0, c[col].to_numpy()[np.maximum(idx, 0)], start)

            cum_ev = np.concatenate([[0.0], c["n_event"].cumsum().to_numpy()])
            cum_ce = np.concatenate([[0.0], c["n_censor"].cumsum().to_numpy()])
            ev = np.diff(np.concatenate([[0.0], cum_ev[idx + 1]]))
            ce = np.diff(np.concatenate([[0.0], cum_ce[idx + 1]]))
            # as summary.survfit: the number at risk at the first curve time >= t (with
            # delayed entry, pupils entering between t and that time count, as in R)
            nxt = np.searchsorted(ct, times_a, side="left")
            nr = np.concatenate([c["n_risk"].to_numpy(), [0.0]])
            n_risk = nr[nxt]
            surv = pick("surv", 1.0)
            out.append(pd.DataFrame({
                "group": g, "time": times_a, "n_risk": n_risk.astype(float),
                "n_event": ev, "n_censor": ce, "surv": surv,
                "std_err": pick("std_err", 0.0), "lower": pick("lower", 1.0),
                "upper": pick("upper", 1.0),
            }))
        res = pd.concat(out, ignore_index=True)
        res["returned"] = 1 - res["surv"]
        res["returned_lower"] = 1 - res["upper"]
        res["returned_upper"] = 1 - res["lower"]
        return res

    def risk_table(self, times: Sequence[float]) -> pd.DataFrame:
        """Numbers at risk (entry < t ≤ duration) per group at ``times``, for plots."""
        times_a = np.asarray(times, dtype=float)
        rows = []
        for g in self.groups:
            rows.append(pd.DataFrame({"group": g, "time": times_a,
                                      "n_risk": self._at_risk(g, times_a)}))
        return pd.concat(rows, ignore_index=True)

    def rmst(self, tau: float) -> pd.DataFrame:
        """Restricted mean time without return up to ``tau``, as ``print(fit, rmean=tau)``.

        The SE is survival:::survmean's: sum over event times of (area after t)² ·
        d/(n(n − d)). The CI is the normal interval rmst ± z·se (R prints none).
        Columns: group, tau, rmst, std_err, lower, upper.
        """
        z = zval(self.conf_level)
        rows = []
        for g in self.groups:
            c = self._curve(g)
            t, s = c["time"].to_numpy(), c["surv"].to_numpy()
            n, d = c["n_risk"].to_numpy(), c["n_event"].to_numpy()
            keep = t <= tau
            with np.errstate(divide="ignore", invalid="ignore"):
                hh = np.where(n - d == 0, 0.0, d / (n * (n - d)))[keep]
            tt = np.concatenate([[0.0], t[keep], [tau]])
            ss = np.concatenate([[1.0], s[keep]])
            rect = np.diff(tt) * ss
            # area from each kept time to tau
            after = np.cumsum(rect[::-1])[::-1][1:]
            var = float(np.sum(after**2 * hh))
            mean = float(rect.sum())
            se = np.sqrt(var)
            rows.append({"group": g, "tau": float(tau), "rmst": mean, "std_err": se,
                         "lower": mean - z * se, "upper": mean + z * se})
        return pd.DataFrame(rows)

    def rmst_difference(self, tau: float, groups: tuple[str, str] | None = None
                        ) -> pd.DataFrame:
        """RMST difference (first − second group) up to ``tau`` with a normal CI.

        The groups are independent samples, so var(diff) = se1² + se2². Columns: group_1,
        group_2, tau, difference, std_err, lower, upper, p.
        """
        r = self.rmst(tau).set_index("group")
        g1, g2 = groups if groups is not None else tuple(self.groups[:2])
        if g1 not in r.index or g2 not in r.index:
            raise KeyError(f"groups must be two of {self.groups}, got {(g1, g2)}")
        diff = r.at[g1, "rmst"] - r.at[g2, "rmst"]
        se = float(np.hypot(r.at[g1, "std_err"], r.at[g2, "std_err"]))
        z = zval(self.conf_level)
        p = float(2 * stats.norm.sf(abs(diff) / se)) if se > 0 else np.nan
        return pd.DataFrame([{"group_1": g1, "group_2": g2, "tau": float(tau),
                              "difference": diff, "std_err": se, "lower": diff - z * se,
                              "upper": diff + z * se, "p": p}])

    def summary(self, times: Sequence[float] = DEFAULT_TIMES) -> str:
        """Readable text: n, events and median per group, then the share returned."""
        med = self.median().set_index("group")
        lines = [
            f"Kaplan–Meier: time = {self.duration!r}, event = {self.event!r} "
            f"(code {self.event_code}; other codes censored), CI {self.conf_level:.0%} "
            f"{self.conf_type}",
            f"{'group':>12} {'n':>8} {'events':>8} {'median':>10} {'lower':>10} {'upper':>10}",
        ]
        for g in self.groups:
            lines.append(
                f"{g:>12} {self.n[g]:>8d} {self.n_events[g]:>8d}"
                f" {_num(med.at[g, 'quantile'], 'not reached'):>10}"
                f" {_num(med.at[g, 'lower'], '-'):>10} {_num(med.at[g, 'upper'], '-'):>10}"
            )
        at = self.at_times(times)
        lines.append("Share returned (1 − S) at given times:")
        for _, r in at.iterrows():
            ci = (f"({r['returned_lower']:.3f}–{r['returned_upper']:.3f})"
                  if np.isfinite(r["returned_lower"]) and np.isfinite(r["returned_upper"])
                  else "(no interval)")
            lines.append(f"{r['group']:>12} t={r['time']:<8g} {r['returned']:.3f} {ci}, "
                         f"at risk {r['n_risk']:.0f}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _num(v: float, missing: str) -> str:
    """A number for a summary line, or words where it cannot be estimated."""
    return f"{v:.4g}" if np.isfinite(v) else missing


def group_labels(data: pd.DataFrame, group: str | None) -> tuple[np.ndarray, list[str]]:
    """String labels per row and the sorted distinct labels (sorted on the raw values)."""
    if group is None:
        return np.full(len(data), "all", dtype=object), ["all"]
    raw = data[group]
    levels = pd.unique(raw)
    try:
        levels = sorted(levels)
    except TypeError:
        levels = sorted(levels, key=str)
    return raw.astype(str).to_numpy(dtype=object), [str(v) for v in levels]


def kaplan_meier(
    data: pd.DataFrame,
    duration: str = "duration",
    event: str = "event",
    group: str | None = None,
    *,
    event_code: int = 1,
    conf_level: float = 0.95,
    conf_type: str = "log",
    entry: str | None = None,
    weights: str | None = None,
    robust: bool | None = None,
) -> KaplanMeierResult:
    """Kaplan–Meier estimate of the share not yet returned, per group.

    Rows whose event code is not ``event_code`` count as censored (so competing events are
    censored: use :func:`aalen_johansen` for cumulative incidence under competing events).

    Matches R ``survfit(Surv(time, status == event_code) ~ group, conf.type=conf_type)``:
    Greenwood variance, CI transform "log" (R's default), "log-log", "plain" or "logit".

    ``entry``: column of delayed-entry times (left truncation, at risk on (entry, duration]),
    as ``Surv(entry, time, status)``. ``weights``: column of case weights, as ``survfit(...,
    weights = w)``; ``robust`` picks the infinitesimal-jackknife SE (``robust = TRUE``)
    instead of Greenwood; ``None`` follows R: robust when a weight is not a whole number.

    Example
    -------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"duration": [5, 8, 8, 12, 20], "event": [1, 0, 1, 2, 1]})
    >>> fit = kaplan_meier(df)
    >>> fit.table[["time", "n_risk", "surv"]].round(3).values.tolist()[:2]
    [[5.0, 5.0, 0.8], [8.0, 4.0, 0.6]]
    """
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}, got {conf_type!r}")
    check_columns(data, [duration, event, group, entry, weights])
    t, ev = survival_arrays(data, duration, event)
    # without entry everyone is at risk from the start, time 0 included (as survfit)
    e = entry_array(data, entry, duration, t) if entry else np.full(len(t), -np.inf)
    w = weight_array(data, weights)
    if robust is None:
        robust = bool(np.any(np.mod(w, 1) != 0))
    d = (ev == event_code).astype(float)
    labels, levels = group_labels(data, group)
    parts, store, n, ne = [], {}, {}, {}
    for g in levels:
        m = labels == g
        c = _km_one(t[m], d[m], e[m], w[m], robust)
        c.insert(0, "group", g)
        lo, hi = conf_band(c["surv"].to_numpy(), c["std_err_log"].to_numpy(), conf_type,
                           conf_level)
        # R reports 0 for the robust SE once S reaches 0 (Greenwood's is Inf there)
        c["std_err"] = np.where((c["surv"] == 0) & robust, 0.0, c["surv"] * c["std_err_log"])
        c["lower"], c["upper"] = lo, hi
        parts.append(c)
        store[g] = (t[m], e[m], w[m])
        n[g] = int(m.sum())
        ne[g] = int(d[m].sum())
    table = pd.concat(parts, ignore_index=True)[_KM_COLUMNS]
    return KaplanMeierResult(
        table=table, n=pd.Series(n), n_events=pd.Series(ne), conf_level=conf_level,
        conf_type=conf_type, event_code=event_code, duration=duration, event=event,
        group=group, _data=store,
    )
