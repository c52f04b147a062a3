"""Vectorised Cox partial-likelihood pieces for (start, stop] data with weights and strata.

lifelines fits the models; this module supplies what it does not compute the R way:
Efron score residuals (for R's robust and cluster-robust variance), the 2p × 2p
information of the cox.zph score test, and a Newton solver for Breslow ties.

Efron's approximation with d tied deaths at t is evaluated as d sub-steps j = 0..d-1 in
which the deaths' risk weights are scaled by (1 − j/d); every sub-step is one row of the
arrays below, so there are as many rows as deaths and no Python loop over time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class CoxTerms:
    loglik: float
    score: np.ndarray  # U(beta), p
    information: np.ndarray  # p × p
    resid: np.ndarray | None  # score residuals, n × p (unweighted, as residuals(type="score"))
    zph_u: np.ndarray | None  # sum over deaths of g(t)·(x − xbar), p
    zph_imat: np.ndarray | None  # 2p × 2p information with g(t) blocks


def _rev_sum_at(sorted_key: np.ndarray, values: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Σ values[k] over rows with sorted_key[k] ≥ t (sorted_key ascending)."""
    cs = np.concatenate([np.cumsum(values[::-1], axis=0)[::-1],
                         np.zeros((1, *values.shape[1:]))])
    return cs[np.searchsorted(sorted_key, t, side="left")]


def cox_terms(
    start: np.ndarray, stop: np.ndarray, event: np.ndarray, x: np.ndarray,
    weights: np.ndarray, strata: np.ndarray, beta: np.ndarray, *, ties: str = "efron",
    resid: bool = False, gtime: np.ndarray | None = None,
) -> CoxTerms:
    """Log-likelihood, score, information (and optionally residuals / zph pieces) at beta.

    ``gtime``: per-row g(t) (only used at death rows), for the cox.zph score test.
    """
    n, p = x.shape
    x = x - x.mean(axis=0)  # centring: same estimates, stabler sums (as R)
    eta = x @ beta
    r = weights * np.exp(eta)
    loglik, u = 0.0, np.zeros(p)
    imat = np.zeros((p, p))
    res = np.zeros((n, p)) if resid else None
    zu = np.zeros(p) if gtime is not None else None
    zi = np.zeros((2 * p, 2 * p)) if gtime is not None else None
    for s in np.unique(strata):
        rows = np.flatnonzero(strata == s)
        ev_rows = rows[event[rows] == 1]
        if len(ev_rows) == 0:
            continue
        # deaths sorted by time; ut = distinct death times; di = index of each death's time
        ev_rows = ev_rows[np.argsort(stop[ev_rows], kind="stable")]
        ut, di, dcount = np.unique(stop[ev_rows], return_inverse=True, return_counts=True)
        xs, rs = x[rows], r[rows]
        rx = rs[:, None] * xs
        rxx = rx[:, :, None] * xs[:, None, :]
        o_stop = np.argsort(stop[rows], kind="stable")
        o_start = np.argsort(start[rows], kind="stable")
        st_s, sta_s = stop[rows][o_stop], start[rows][o_start]

        # at risk at t: start < t <= stop
        s0, s1, s2 = (_rev_sum_at(st_s, v[o_stop], ut) - _rev_sum_at(sta_s, v[o_start], ut)
                      for v in (rs, rx, rxx))
        nd = len(ut)
        d_r = np.bincount(di, weights=r[ev_rows], minlength=nd)
        d_rx = np.zeros((nd, p))
        np.add.at(d_rx, di, r[ev_rows, None] * x[ev_rows])
        d_rxx = np.zeros((nd, p, p))
        np.add.at(d_rxx, di, r[ev_rows, None, None] * x[ev_rows, :, None] * x[ev_rows, None, :])
        d_w = np.bincount(di, weights=weights[ev_rows], minlength=nd)
        # one sub-step per death: fraction j/d of the tied deaths removed from the risk set
        first = np.concatenate([[0], np.cumsum(dcount)[:-1]])
        j = np.arange(len(ev_rows)) - np.repeat(first, dcount)
        frac = j / dcount[di] if ties == "efron" else np.zeros(len(ev_rows))
        wt = (d_w / dcount)[di]  # each sub-step carries the mean death weight
        den = s0[di] - frac * d_r[di]
        num1 = s1[di] - frac[:, None] * d_rx[di]
        num2 = s2[di] - frac[:, None, None] * d_rxx[di]
        xbar = num1 / den[:, None]
        vmat = num2 / den[:, None, None] - xbar[:, :, None] * xbar[:, None, :]
        loglik += float(np.sum(weights[ev_rows] * eta[ev_rows]) - np.sum(wt * np.log(den)))
        u += weights[ev_rows] @ x[ev_rows] - wt @ xbar
        imat += np.einsum("k,kij->ij", wt, vmat)
        if gtime is not None:
            g = gtime[ev_rows]  # constant within a death time
            zu += (weights[ev_rows] * g) @ x[ev_rows] - (wt * g) @ xbar
            blk = np.einsum("k,kij->ij", wt * g, vmat)
            zi[:p, :p] += np.einsum("k,kij->ij", wt, vmat)
            zi[:p, p:] += blk
            zi[p:, :p] += blk
            zi[p:, p:] += np.einsum("k,kij->ij", wt * g * g, vmat)
        if resid:
            haz = wt / den  # hazard increment of each sub-step
            h = np.bincount(di, weights=haz, minlength=nd)
            gsum = np.zeros((nd, p))
            np.add.at(gsum, di, haz[:, None] * xbar)
            # deaths carry only (1 − j/d) of their risk in sub-step j
            h2 = np.bincount(di, weights=(1 - frac) * haz, minlength=nd)
            g2 = np.zeros((nd, p))
            np.add.at(g2, di, ((1 - frac) * haz)[:, None] * xbar)
            xmean = np.zeros((nd, p))
            np.add.at(xmean, di, xbar / dcount[di, None])
            ch = np.concatenate([[0.0], np.cumsum(h)])
            cg = np.vstack([np.zeros((1, p)), np.cumsum(gsum, axis=0)])
            # index of cumulated sums: number of death times <= t
            i_stop = np.searchsorted(ut, stop[rows], side="right")
            i_start = np.searchsorted(ut, start[rows], side="right")
            eh = np.exp(eta[rows])
            hh = ch[i_stop] - ch[i_start]
            gg = cg[i_stop] - cg[i_start]
            rr = -eh[:, None] * (xs * hh[:, None] - gg)
            # deaths: add dN part and swap their risk part for the (1 − j/d) version
            pos = np.searchsorted(rows, ev_rows)
            eh_d = np.exp(eta[ev_rows])
            rr[pos] += (x[ev_rows] - xmean[di]
                        - eh_d[:, None] * (x[ev_rows] * (h2 - h)[di, None] - (g2 - gsum)[di]))
            res[rows] = rr
    return CoxTerms(loglik, u, imat, res, zu, zi)


def newton(terms, p: int, beta0: np.ndarray | None = None, max_iter: int = 100
           ) -> np.ndarray:
    """Newton–Raphson with step halving, as R's coxph (the log-likelihood is concave).

    ``terms(beta)`` returns an object with ``loglik``, ``score`` and ``information``.
    Stops when the relative change of the log-likelihood is below 1e-12 and the last
    step is below 1e-10, tighter than coxph's default (eps = 1e-9).
    """
    beta = np.zeros(p) if beta0 is None else np.asarray(beta0, dtype=float)
    with np.errstate(all="ignore"):
        t = terms(beta)
    if not np.isfinite(t.loglik):
        beta = np.zeros(p)
        t = terms(beta)
    for _ in range(max_iter):
        step = np.linalg.solve(t.information, t.score)
        for _half in range(30):
            with np.errstate(all="ignore"):
                new = terms(beta + step)
            if np.isfinite(new.loglik) and new.loglik >= t.loglik - 1e-12 * abs(t.loglik):
                break
            step = step / 2
        beta = beta + step
        done = (abs(new.loglik - t.loglik) <= 1e-12 * max(1.0, abs(t.loglik))
                and np.max(np.abs(step)) < 1e-10)
        t = new
        if done:
            break
    return beta


def newton_cox(start, stop, event, x, weights, strata, *, ties: str = "efron",
               beta0: np.ndarray | None = None) -> np.ndarray:
    """Cox model coefficients by :func:`newton` on :func:`cox_terms`."""
    return newton(lambda b: cox_terms(start, stop, event, x, weights, strata, b, ties=ties),
                  x.shape[1], beta0)
