"""Numerical kernels of the effects module: numpy only, so bootstrap workers start fast.

Everything a bootstrap replicate runs lives here (logistic and Cox fits, IPT weights,
weighted Kaplan–Meier, RMST): a joblib worker unpickles the replicate object and imports
only this module and numpy, not pandas, statsmodels or lifelines. Products Xᵀ W X are
summed over blocks of rows (:func:`xtwx`): OpenBLAS would otherwise spread each of these
small products over threads, which costs ~15× more than it saves on a 2-core machine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

BLOCK_ROWS = 256


def xtwx(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Xᵀ diag(w) X summed over blocks of :data:`BLOCK_ROWS` rows (single-threaded BLAS)."""
    out = np.zeros((x.shape[1], x.shape[1]))
    for i in range(0, len(x), BLOCK_ROWS):
        xb = x[i:i + BLOCK_ROWS]
        out += xb.T @ (xb * w[i:i + BLOCK_ROWS, None])
    return out


def replicate_weights(cluster_codes: np.ndarray, n_clusters: int,
                      seed: np.random.SeedSequence) -> np.ndarray:
    """Frequency weight per row for one cluster-bootstrap replicate."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_clusters, size=n_clusters)
    mult = np.bincount(draws, minlength=n_clusters).astype(float)
    return mult[cluster_codes]


def run_chunk(fn: Callable[[np.ndarray], np.ndarray], codes: np.ndarray, n_clusters: int,
               seeds: Sequence[np.random.SeedSequence]) -> list[np.ndarray | None]:
    """The replicates' statistics; None for a replicate whose models cannot be fitted (a
    resample of a small cohort can leave a covariate constant or a group without events):
    it is left out of the intervals and counted (``n_boot`` of the interval tables)."""
    out: list[np.ndarray | None] = []
    for s in seeds:
        try:
            with np.errstate(all="ignore"):
                out.append(np.asarray(fn(replicate_weights(codes, n_clusters, s)), dtype=float))
        except (np.linalg.LinAlgError, ValueError, ZeroDivisionError, FloatingPointError):
            out.append(None)
    return out


def iptw_weights(ps: np.ndarray, a: np.ndarray, freq: np.ndarray | None = None, *,
                 stabilised: bool = True, trim: tuple[float, float] | None = None,
                 truncate: tuple[float, float] | None = None
                 ) -> tuple[np.ndarray, int, int]:
    """(Stabilised) IPT weights with optional trimming and truncation.

    Returns the weights (0 for trimmed rows), the number of rows trimmed and the number
    of rows whose weight was truncated. ``freq`` are frequency weights (bootstrap).
    """
    ps = np.asarray(ps, dtype=float)
    a = np.asarray(a, dtype=float)
    freq = np.ones(len(a)) if freq is None else np.asarray(freq, dtype=float)
    keep = np.ones(len(a), dtype=bool)
    if trim is not None:
        lo, hi = trim
        keep = (ps >= lo) & (ps <= hi)
    n_trim = int((~keep & (freq > 0)).sum())
    fk = freq * keep
    p1 = float(np.sum(fk * a) / np.sum(fk)) if stabilised else 1.0
    p0 = 1.0 - p1 if stabilised else 1.0
    w = np.where(a == 1, p1 / ps, p0 / (1 - ps)) * keep
    n_trunc = 0
    if truncate is not None:
        use = keep & (freq > 0)
        lo_w, hi_w = np.percentile(w[use], truncate)
        capped = use & ((w < lo_w) | (w > hi_w))
        n_trunc = int(capped.sum())
        w = np.where(keep, np.clip(w, lo_w, hi_w), 0.0)
    return w, n_trim, n_trunc


def fit_logistic(x: np.ndarray, a: np.ndarray, freq: np.ndarray | None = None,
                 beta0: np.ndarray | None = None, max_iter: int = 50, tol: float = 1e-10
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Logistic regression by Newton–Raphson (the binomial GLM's IRLS), in numpy.

    ``x`` includes the intercept column; ``freq`` are frequency weights. Returns
    (coefficients, fitted probabilities clipped to [1e-8, 1 - 1e-8]). The same estimates
    as statsmodels' GLM (tested), without its per-fit overhead: used in every bootstrap
    replicate. Under (quasi-)separation the iterations stop at ``max_iter`` and the clipped
    scores are returned, as a GLM fit would.
    """
    f = np.ones(len(a)) if freq is None else np.asarray(freq, dtype=float)
    beta = np.zeros(x.shape[1]) if beta0 is None else np.array(beta0, dtype=float)
    ridge = 1e-10 * np.eye(x.shape[1])
    for _ in range(max_iter):
        p = 1 / (1 + np.exp(-(x @ beta)))
        grad = x.T @ (f * (a - p))
        hess = xtwx(x, f * p * (1 - p))
        step = np.linalg.solve(hess + ridge, grad)
        beta = beta + step
        if np.max(np.abs(step)) < tol:
            break
    p = 1 / (1 + np.exp(-(x @ beta)))
    return beta, np.clip(p, 1e-8, 1 - 1e-8)


class GroupIndex:
    """Per-group sort order and RMST widths, precomputed once for fast replicates."""

    def __init__(self, time: np.ndarray, taus: Sequence[float], grid: np.ndarray) -> None:
        self.times, self.tidx = np.unique(time, return_inverse=True)
        g = np.concatenate([[0.0], self.times])
        self.widths = np.vstack([np.diff(np.concatenate([np.minimum(g, tau), [tau]]))
                                 for tau in taus])  # len(taus) × (nt + 1)
        self.at_grid = np.searchsorted(self.times, grid, side="right")  # index in [1, S]

    def surv(self, d: np.ndarray, w: np.ndarray) -> np.ndarray:
        nt = len(self.times)
        n_event = np.bincount(self.tidx, weights=d * w, minlength=nt)
        n_risk = np.bincount(self.tidx, weights=w, minlength=nt)[::-1].cumsum()[::-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            haz = np.where(n_risk > 0, n_event / n_risk, 0.0)
        return np.concatenate([[1.0], np.cumprod(1 - haz)])

    def stats(self, d: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = self.surv(d, w)
        return self.widths @ s, s[self.at_grid]


class IPTWReplicate:
    """Picklable replicate statistic: re-fit the propensity model, weighted KM, RMST.

    ``exog`` is the propensity design matrix with intercept, ``beta0`` the full-sample
    coefficients (warm start), ``weight_options`` the keyword arguments of
    :func:`iptw_weights` (stabilised, trim, truncate).
    """

    def __init__(self, exog: np.ndarray, a: np.ndarray, beta0: np.ndarray,
                 weight_options: dict, time: np.ndarray, d: np.ndarray,
                 taus: Sequence[float], grid: np.ndarray) -> None:
        self.exog, self.a, self.beta0 = exog, a, beta0
        self.weight_options = weight_options
        self.d = d
        self.groups = [(np.flatnonzero(a == g), GroupIndex(time[a == g], taus, grid))
                       for g in (1, 0)]

    def __call__(self, freq: np.ndarray) -> np.ndarray:
        ps = fit_logistic(self.exog, self.a, freq, beta0=self.beta0)[1]
        w = freq * iptw_weights(ps, self.a, freq, **self.weight_options)[0]
        return combine([ix.stats(self.d[rows], w[rows]) for rows, ix in self.groups])


def combine(per_group: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """[rmst_t(taus), rmst_c(taus), rmst_c - rmst_t (taus), surv_t(grid), surv_c(grid)]."""
    (r1, s1), (r0, s0) = per_group
    return np.concatenate([r1, r0, r0 - r1, s1, s0])


class NaiveReplicate:
    """Picklable replicate statistic without adjustment (frequency weights only)."""

    def __init__(self, time, d, a, taus, grid) -> None:
        self.d = d
        self.groups = [(np.flatnonzero(a == g), GroupIndex(time[a == g], taus, grid))
                       for g in (1, 0)]

    def __call__(self, freq: np.ndarray) -> np.ndarray:
        return combine([ix.stats(self.d[rows], freq[rows]) for rows, ix in self.groups])


def breslow_cox(time: np.ndarray, d: np.ndarray, x: np.ndarray, freq: np.ndarray,
                beta0: np.ndarray | None = None, max_iter: int = 50
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cox model with Breslow ties by Newton–Raphson, fully vectorised (no loop over time).

    Returns (beta, distinct event times, Breslow cumulative baseline hazard at them, for
    the linear predictor ``x @ beta``). The information matrix is
    X' diag(f·r·H(t)) X − M' diag(D) M with H the baseline cumulative hazard at each
    row's time and M the risk-set means at the event times, so no n × p × p array is built.
    Equals :func:`thuiszit_eval.survival.cox_ph` with ``ties="breslow"`` (tested).
    """
    order = np.argsort(time, kind="stable")
    t, dd, xx, ff = time[order], d[order], x[order], freq[order]
    ev = (dd == 1) & (ff > 0)
    utimes = np.unique(t[ev])
    first = np.searchsorted(t, utimes, side="left")  # first row at risk at each event time
    uidx = np.searchsorted(utimes, t[ev])
    big_d = np.bincount(uidx, weights=ff[ev], minlength=len(utimes))
    sum_dx = (ff * dd)[:, None].T @ xx
    row_h = np.searchsorted(utimes, t, side="right")  # events at or before each row's time

    def terms(beta: np.ndarray):
        eta = xx @ beta
        with np.errstate(over="ignore", invalid="ignore"):
            r = ff * np.exp(eta)
        s0 = np.cumsum(r[::-1])[::-1][first]
        s1 = np.cumsum((r[:, None] * xx)[::-1], axis=0)[::-1][first]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            ll = float(np.sum(ff * dd * eta) - np.sum(big_d * np.log(s0)))
        m = s1 / s0[:, None]
        score = sum_dx.ravel() - big_d @ m
        dh = big_d / s0
        h = np.concatenate([[0.0], np.cumsum(dh)])[row_h]
        info = xtwx(xx, r * h) - xtwx(m, big_d)
        return ll, score, info, dh

    beta = np.zeros(x.shape[1]) if beta0 is None else np.array(beta0, dtype=float)
    ll, score, info, dh = terms(beta)
    for _ in range(max_iter):
        step = np.linalg.solve(info, score)
        for _half in range(20):
            with np.errstate(all="ignore"):  # an overshooting step: halved below
                new = terms(beta + step)
            if np.isfinite(new[0]) and new[0] >= ll - 1e-12 * abs(ll):
                break
            step = step / 2
        beta = beta + step
        done = abs(new[0] - ll) <= 1e-12 * max(1.0, abs(ll)) and np.max(np.abs(step)) < 1e-9
        ll, score, info, dh = new
        if done:
            break
    return beta, utimes, np.cumsum(dh)


class StdReplicate:
    """Picklable replicate: Cox fit on treatment + covariates, standardised curves."""

    def __init__(self, x: np.ndarray, time: np.ndarray, d: np.ndarray, taus, grid,
                 beta0: np.ndarray | None = None) -> None:
        self.centre = x.mean(axis=0)
        self.x = x - self.centre  # column 0 is the treatment
        self.time, self.d = time, d
        self.taus, self.grid = taus, grid
        self.beta0 = beta0

    def curves(self, freq: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                  np.ndarray]:
        beta, utimes, h0 = breslow_cox(self.time, self.d, self.x, freq, self.beta0)
        keep = utimes <= max(self.taus)
        utimes, h0 = utimes[keep], h0[keep]
        lp = self.x[:, 1:] @ beta[1:]
        w = freq / freq.sum()
        out = []
        for val in (1 - self.centre[0], -self.centre[0]):  # treatment set to 1, then 0
            s = np.exp(-np.outer(np.exp(lp + beta[0] * val), h0))  # n × T
            out.append(np.concatenate([[1.0], w @ s]))
        return out[0], out[1], beta, utimes

    def __call__(self, freq: np.ndarray) -> np.ndarray:
        s1, s0, _, utimes = self.curves(freq)
        g = np.concatenate([[0.0], utimes])
        widths = np.vstack([np.diff(np.concatenate([np.minimum(g, tau), [tau]]))
                            for tau in self.taus])
        at = np.searchsorted(utimes, self.grid, side="right")
        return combine([(widths @ s, s[at]) for s in (s1, s0)])


