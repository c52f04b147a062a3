"""Fine–Gray subdistribution hazards, built as R ``survival::finegray`` + weighted ``coxph``.

lifelines has no Fine–Gray model. In R the data are expanded: an episode that ends in a
competing event stays in the risk set after its event time, in pieces cut at the
censoring times, with weight G(t)/G(T_i) (G = Kaplan–Meier of the censoring
distribution), and the subdistribution hazard model is a weighted Cox model on the
(fgstart, fgstop] pieces with Efron ties. :func:`finegray_expand` builds that table;
:func:`fine_gray` computes the same weighted Cox model without building it (the weights
factorise, see :class:`_FGCore`; delayed entry and strata included), because the expansion
grows as n × censoring times (4.7 million rows for 100,000 episodes with daily times).

Equality with R: :func:`finegray_expand` reproduces ``finegray()`` row for row (the
"events before censorings at tied times" convention and the pruning of intervals without
events of interest included); :func:`fine_gray` gives ``coxph(Surv(fgstart, fgstop,
fgstatus) ~ ..., weights = fgwt)``'s coefficients and its three variances. ``cmprsk::crr``
solves a slightly different estimating equation (Breslow-type ties, its own censoring
weights), so its coefficients agree only to about 3 significant digits and its standard
errors (which add a term for estimating G) lie close to the cluster-robust ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from ._common import check_columns, entry_array, survival_arrays
from ._coxcore import _group_sum, gram, newton
from .cox import CoxResult, term_table

FG_VARIANCES = ("cluster", "robust", "model")


def _censoring_cuts(t: np.ndarray, st: np.ndarray, event_code: int, censoring_ties: str):
    """Censoring KM cut points as R finegray: (zero, ct2, cp2, kept, j0).

    ct2: censoring times plus the last time; cp2[j]: G on (ct2[j-1], ct2[j]] (cp2[0] = 1);
    kept: interval indices holding an event of interest; j0: per row, the first cut at or
    after its exit time.
    """
    n = len(t)
    zero = 0.0 if t.min() > 0 else 2 * t.min() - 1
    utime = np.unique(np.concatenate([[zero], t]))
    # position of each time (1-based, as findInterval); with R's convention events move
    # 0.2 before censorings at the same time so the censoring KM counts them as gone
    pos = np.searchsorted(utime, t) + 1.0
    if censoring_ties not in ("survival", "cmprsk"):
        raise ValueError(f"censoring_ties must be 'survival' or 'cmprsk', got {censoring_ties!r}")
    newstop = pos - 0.2 * (st != 0) if censoring_ties == "survival" else pos
    cpos = np.unique(pos[st == 0])
    ns = np.sort(newstop)
    n_risk = n - np.searchsorted(ns, cpos, side="left")
    n_cens = np.bincount(np.searchsorted(cpos, pos[st == 0]), minlength=len(cpos))
    gsurv = np.cumprod(1 - n_cens / n_risk)
    ct2 = np.concatenate([utime[cpos.astype(int) - 1], [t.max()]])
    cp2 = np.concatenate([[1.0], gsurv])
    etimes = np.unique(t[st == event_code])
    # intervals (ct2[j-1], ct2[j]] that contain an event of interest are kept
    kept = np.unique(np.searchsorted(ct2, etimes, side="left"))
    kept = kept[kept >= 1]
    j0 = np.searchsorted(ct2, t, side="left")
    return zero, ct2, cp2, kept, j0


def _km_rows(n_risk: np.ndarray, n_event: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.cumprod(np.where(n_event > 0, 1 - n_event / n_risk, 1.0))


def _cuts_general(t, st, e, strat, event_code: int, has_entry: bool):
    """R ``finegray()``'s censoring cuts for (entry, exit] data and strata.

    Per stratum the censoring distribution G is the Kaplan–Meier of the censorings on the
    (entry, exit] risk sets; with delayed entry it is multiplied by the truncation
    distribution H (the reverse-time Kaplan–Meier of the entry times), as R does. Times are
    handled as positions in the sorted distinct times, with an event moved 0.2 before a
    censoring at the same time. Returns the entry times (``start``) and, per stratum with
    events of interest (R drops the others), its rows ``keep``, cut times ``ct2``, weights
    ``cp2`` (G on (ct2[j-1], ct2[j]]), the intervals ``kept`` that hold an event of
    interest and each row's first cut at or after its exit, ``j0``.
    """
    if has_entry:
        start = e.astype(float)
    else:
        zero = 0.0 if t.min() > 0 else 2 * t.min() - 1
        start = np.full(len(t), zero)
    utime = np.unique(np.concatenate([start, t]))
    nt1 = np.searchsorted(utime, start) + 1.0
    nt2 = np.searchsorted(utime, t) + 1.0
    nt2 = nt2 - 0.2 * (st != 0)
    delay = has_entry and bool(np.any(start > t.min()))
    out = []
    for level in np.unique(strat):
        keep = np.flatnonzero(strat == level)
        etimes = np.unique(t[keep][st[keep] == event_code])
        if len(etimes) == 0:
            continue  # R drops a stratum without events of interest
        a1, a2, sk = nt1[keep], nt2[keep], st[keep]
        cpos = np.unique(a2[sk == 0])
        s2, s1 = np.sort(a2), np.sort(a1)
        n_risk = (len(s2) - np.searchsorted(s2, cpos, "left")) - (
            len(s1) - np.searchsorted(s1, cpos, "left"))
        n_cens = np.bincount(np.searchsorted(cpos, a2[sk == 0]), minlength=len(cpos))
        gsurv = _km_rows(n_risk.astype(float), n_cens.astype(float))
        if delay:
            dtime = np.unique(a1)
            # reverse time: at risk at entry position p when entry <= p < exit
            r_risk = (np.searchsorted(s1, dtime, "right")
                      - np.searchsorted(s2, dtime, "right"))
            r_ev = np.bincount(np.searchsorted(dtime, a1), minlength=len(dtime))
            hsurv = _km_rows(r_risk[::-1].astype(float), r_ev[::-1].astype(float))[::-1]
            dprob = np.concatenate([hsurv[1:], [1.0]])
            temp = np.unique(np.concatenate([dtime, cpos]))
            i1 = np.searchsorted(dtime, temp, "right")
            i2 = np.searchsorted(cpos, temp, "right")
            ctime = utime[temp.astype(int) - 1]
            cprob = dprob[i1 - 1] * np.concatenate([[1.0], gsurv])[i2]
        else:
            ctime, cprob = utime[cpos.astype(int) - 1], gsurv
        ct2 = np.concatenate([ctime, [t[keep].max()]])
        cp2 = np.concatenate([[1.0], cprob])
        kept = np.unique(np.searchsorted(ct2, etimes, side="left"))
        kept = kept[kept >= 1]
        j0 = np.searchsorted(ct2, t[keep], side="left")
        out.append({"keep": keep, "ct2": ct2, "cp2": cp2, "kept": kept, "j0": j0})
    return start, out


def _expand_general(t, st, e, strat, event_code: int, has_entry: bool):
    """R ``finegray()`` for (entry, exit] data and strata: the pieces of every row.

    Uses :func:`_cuts_general`. Returns row, start, stop, status, weight arrays in R's
    order (strata sorted, rows in data order within a stratum).
    """
    start, cuts = _cuts_general(t, st, e, strat, event_code, has_entry)
    pieces = []
    for c in cuts:
        keep, ct2, cp2, kept, j0 = c["keep"], c["ct2"], c["cp2"], c["kept"], c["j0"]
        sk, tk = st[keep], t[keep]
        expand = (sk != 0) & (sk != event_code)
        stop0 = np.where(expand, ct2[j0], tk)
        n_extra = np.where(expand, len(kept) - np.searchsorted(kept, j0, side="right"), 0)
        rep = np.repeat(np.arange(len(keep)), n_extra)
        first_k = np.searchsorted(kept, j0, side="right")
        offs = np.arange(n_extra.sum()) - np.repeat(np.cumsum(n_extra) - n_extra, n_extra)
        jj = kept[np.repeat(first_k, n_extra) + offs]
        base = pd.DataFrame({"row": keep, "start": start[keep], "stop": stop0,
                             "status": (sk == event_code).astype(int), "wt": 1.0,
                             "_pos": np.arange(len(keep)), "_order": 0})
        extra = pd.DataFrame({"row": keep[rep], "start": ct2[jj - 1], "stop": ct2[jj],
                              "status": 0, "wt": cp2[jj] / cp2[j0][rep], "_pos": rep,
                              "_order": offs + 1})
        pieces.append(pd.concat([base, extra], ignore_index=True)
                      .sort_values(["_pos", "_order"], kind="stable"))
    out = pd.concat(pieces, ignore_index=True)
    return (out["row"].to_numpy(), out["start"].to_numpy(float), out["stop"].to_numpy(float),
            out["status"].to_numpy(int), out["wt"].to_numpy(float))


def finegray_expand(
    data: pd.DataFrame,
    duration: str = "duration",
    event: str = "event",
    *,
    event_code: int = 1,
    censoring_ties: str = "survival",
    entry: str | None = None,
    strata: str | None = None,
) -> pd.DataFrame:
    """Expanded counting-process data for a Fine–Gray model, as R ``finegray()``.

    ``censoring_ties``: "survival" (R finegray: an event at the same time as a censoring
    leaves first, so it is not in the censoring KM's risk set) or "cmprsk" (crr's
    censoring KM, the ordinary KM in which such events are still at risk).

    Returns ``data``'s columns (rows repeated) plus ``fgstart``, ``fgstop``, ``fgstatus``
    (1 = event ``event_code``), ``fgwt`` (censoring weight) and ``fgrow`` (row position in
    ``data``, for clustering).

    ``entry`` (delayed entry, R: ``finegray(Surv(entry, time, factor(status)) ~ ., id =
    id)``) and ``strata`` (a censoring distribution per stratum, R: ``... ~ strata(s)``)
    follow R's finegray as well; they need ``censoring_ties="survival"``.

    Example
    -------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"duration": [1, 2, 3, 4, 5], "event": [1, 2, 0, 1, 0]})
    >>> finegray_expand(df)[["fgstart", "fgstop", "fgstatus", "fgwt"]].round(3).values.tolist()
    [[0.0, 1.0, 1.0, 1.0], [0.0, 3.0, 0.0, 1.0], [3.0, 5.0, 0.0, 0.667], [0.0, 3.0, 0.0, 1.0], \
[0.0, 4.0, 1.0, 1.0], [0.0, 5.0, 0.0, 1.0]]
    """
    check_columns(data, [duration, event, entry, strata])
    t, st = survival_arrays(data, duration, event)
    if entry is not None or strata is not None:
        if censoring_ties != "survival":
            raise ValueError("entry and strata follow R's finegray(): use "
                             "censoring_ties='survival'")
        e = entry_array(data, entry, duration, t)
        sl = data[strata].astype(str).to_numpy() if strata else np.zeros(len(t), dtype=int)
        row, a, b, stat, wt = _expand_general(t, st, e, sl, event_code, entry is not None)
        out = data.iloc[row].reset_index(drop=True)
        for col, v in (("fgstart", a), ("fgstop", b), ("fgstatus", stat), ("fgwt", wt),
                       ("fgrow", row)):
            out[col] = v
        return out
    n = len(t)
    zero, ct2, cp2, kept, j0 = _censoring_cuts(t, st, event_code, censoring_ties)
    expand = (st != 0) & (st != event_code)
    fgstop = np.where(expand, ct2[np.minimum(j0, len(ct2) - 1)], t)
    tempwt = cp2[np.minimum(j0, len(cp2) - 1)]
    n_extra = np.where(expand, len(kept) - np.searchsorted(kept, j0, side="right"), 0)
    # extra pieces: for row i, the kept j's after j0[i]
    rep_rows = np.repeat(np.arange(n), n_extra)
    first_k = np.searchsorted(kept, j0, side="right")
    offs = np.arange(n_extra.sum()) - np.repeat(np.cumsum(n_extra) - n_extra, n_extra)
    jj = kept[np.repeat(first_k, n_extra) + offs]
    base = pd.DataFrame({"fgrow": np.arange(n), "fgstart": zero, "fgstop": fgstop,
                         "fgstatus": (st == event_code).astype(int), "fgwt": 1.0,
                         "_order": 0})
    extra = pd.DataFrame({"fgrow": rep_rows, "fgstart": ct2[jj - 1], "fgstop": ct2[jj],
                          "fgstatus": 0, "fgwt": cp2[jj] / tempwt[rep_rows],
                          "_order": offs + 1})
    pieces = pd.concat([base, extra], ignore_index=True)
    pieces = pieces.sort_values(["fgrow", "_order"], kind="stable").drop(columns="_order")
    out = data.iloc[pieces["fgrow"].to_numpy()].reset_index(drop=True)
    for col in ("fgstart", "fgstop", "fgstatus", "fgwt", "fgrow"):
        out[col] = pieces[col].to_numpy()
    return out


@dataclass
class _FGTerms:
    loglik: float
    score: np.ndarray
    information: np.ndarray
    resid_subject: np.ndarray | None = None  # Σ over an episode's pieces of w·(score resid)
    rr_pieces: np.ndarray | None = None  # Σ over all pieces of (w·r)(w·r)ᵀ


@dataclass
class _FGCuts:
    """Censoring cuts of all strata on one axis, for :class:`_FGCore`.

    ``rows``: the data rows in the model (strata with events of interest); per row
    ``start`` (entry), ``scode`` (stratum 0..S-1) and ``j0`` (global index of its first cut
    at or after its exit); ``ct2``, ``cp2``: the strata's cut times and weights
    concatenated, stratum s at ``ioff[s]:ioff[s+1]``; ``n_expanded``: R's row count.
    """

    rows: np.ndarray
    start: np.ndarray
    scode: np.ndarray
    j0: np.ndarray
    ct2: np.ndarray
    cp2: np.ndarray
    ioff: np.ndarray
    n_expanded: int


def _fg_cuts(t, st, event_code: int, censoring_ties: str, e=None, strat=None) -> _FGCuts:
    """:func:`_censoring_cuts` (no entry, no strata) or :func:`_cuts_general`, as _FGCuts."""
    if e is None and strat is None:
        zero, ct2, cp2, kept, j0 = _censoring_cuts(t, st, event_code, censoring_ties)
        start = np.full(len(t), zero)
        parts = [{"keep": np.arange(len(t)), "ct2": ct2, "cp2": cp2, "kept": kept, "j0": j0}]
    else:
        strat = np.zeros(len(t), dtype=int) if strat is None else strat
        start, parts = _cuts_general(t, st, np.zeros(len(t)) if e is None else e, strat,
                                     event_code, e is not None)
    ioff = np.concatenate([[0], np.cumsum([len(c["ct2"]) for c in parts])]).astype(int)
    n_exp = 0
    for c in parts:
        comp = (st[c["keep"]] != 0) & (st[c["keep"]] != event_code)
        n_exp += len(c["keep"]) + int(np.sum(
            len(c["kept"]) - np.searchsorted(c["kept"], c["j0"][comp], "right")))
    rows = np.concatenate([c["keep"] for c in parts])
    return _FGCuts(
        rows=rows, start=start[rows],
        scode=np.repeat(np.arange(len(parts)), [len(c["keep"]) for c in parts]),
        j0=np.concatenate([c["j0"] + ioff[k] for k, c in enumerate(parts)]),
        ct2=np.concatenate([c["ct2"] for c in parts]),
        cp2=np.concatenate([c["cp2"] for c in parts]), ioff=ioff, n_expanded=n_exp)


class _FGCore:
    """Weighted Cox pieces of the expanded Fine–Gray data, without expanding.

    An episode with a competing event at T_i is in the risk set at an event time t > T_i
    (of its stratum) with weight G(c_J)/G(c_j0) (J, j0: the censoring intervals of t and
    T_i), which factorises, so every risk-set sum is a plain sum over episodes at risk
    (entry < t <= T) plus cp2[J(t)] · (a cumulative sum over competing episodes with
    T < t). Identical to the weighted coxph on ``finegray_expand``'s rows, delayed entry
    and strata included. The sorting and indexing are done once; an evaluation at β is
    O(n·p²) time and O(n·p) memory, as :class:`~._coxcore.CoxCore` (the information is a
    weighted Gram matrix, never p × p per time). Arrays are over ``cuts.rows``.
    """

    def __init__(self, t, st, x, cuts: _FGCuts, *, event_code: int, ties: str) -> None:
        t, st, x = t[cuts.rows], st[cuts.rows], x[cuts.rows]
        ct2, cp2, j0, sc = cuts.ct2, cuts.cp2, cuts.j0, cuts.scode.astype(np.int64)
        n, p = x.shape
        self.n, self.p, self.cp2 = n, p, cp2
        self.x = np.ascontiguousarray(x - x.mean(axis=0))
        self.comp = (st != 0) & (st != event_code)
        dead = np.flatnonzero(st == event_code)
        tdeath = np.unique(t[dead])
        m = len(tdeath) + 1

        def key(s, v):  # (stratum, number of death times <= v): exact integer keys
            return s * m + np.searchsorted(tdeath, v, side="right")

        dkey = key(sc[dead], t[dead])
        self.dead = dead[np.argsort(dkey, kind="stable")]
        gkey, first, dcount = np.unique(np.sort(dkey), return_index=True, return_counts=True)
        self.first, self.dcount = first, dcount
        g = len(gkey)
        self.di = np.repeat(np.arange(g), dcount)
        jpos = np.arange(len(self.dead)) - np.repeat(first, dcount)
        self.frac = jpos / dcount[self.di] if ties == "efron" else np.zeros(len(self.dead))
        # censoring interval of each death time, within its stratum's cuts
        ts, ss = t[self.dead][first], sc[self.dead][first]
        self.jt = np.zeros(g, dtype=int)
        for s in np.unique(ss):
            sel = ss == s
            lo, hi = cuts.ioff[s], cuts.ioff[s + 1]
            self.jt[sel] = lo + np.searchsorted(ct2[lo:hi], ts[sel], side="left")
        self.fac = cp2[self.jt]
        self.iend = cuts.ioff[sc + 1]  # per row: end of its stratum's intervals
        # per row on the death-time axis: at risk with weight 1 for k_start <= k < k_exit,
        # then (competing episodes) with weight fac·q for k_exit <= k < k_end of stratum
        self.k_exit = np.searchsorted(gkey, key(sc, t), side="right")
        self.k_start = np.searchsorted(gkey, key(sc, cuts.start), side="right")
        self.k_strat = np.searchsorted(gkey, (sc + 1) * m, side="left")
        # the first piece of a competing episode runs to its cut ct2[j0] (weight 1 there)
        self.k_first = np.where(self.comp, np.searchsorted(gkey, key(sc, ct2[j0]), "right"),
                                self.k_exit)
        self.q = np.where(self.comp, 1 / cp2[j0], 0.0)
        self.j0 = j0
        self.ioff, self.sc = cuts.ioff, sc

        def signed(kplus, kminus, rows):  # +1 at kplus, −1 at kminus (bucket 0 left out)
            kb = np.concatenate([kplus, kminus])
            val = np.concatenate([np.ones(len(rows)), -np.ones(len(rows))])
            rr = np.concatenate([rows, rows])
            ok = (kb > 0) & (kb <= g)
            return sparse.csr_matrix((val[ok], (kb[ok], rr[ok])), shape=(g + 1, n))

        live = np.flatnonzero(self.k_exit > self.k_start)
        self.plain = signed(self.k_exit[live], self.k_start[live], live)
        ci = np.flatnonzero(self.comp & (self.k_strat > self.k_exit))
        self.after = sparse.csr_matrix(
            (np.concatenate([np.ones(len(ci)), -np.ones(len(ci))]),
             (np.concatenate([self.k_exit[ci], self.k_strat[ci]]), np.concatenate([ci, ci]))),
            shape=(g + 1, n))
        self.deathmat = sparse.csr_matrix((np.ones(len(self.dead)), (self.di, self.dead)),
                                          shape=(g, n))
        self.x_dead_sum = self.x[self.dead].sum(axis=0)
        self._last: tuple | None = None

    def _sums(self, beta):
        eta = self.x @ beta
        r = np.exp(eta)

        def by_k(mat, vals):  # Σ vals·[1, x] by bucket, signs included
            mm = sparse.csr_matrix((mat.data * vals[mat.indices], mat.indices, mat.indptr),
                                   mat.shape)
            return np.column_stack([np.asarray(mm.sum(axis=1)).ravel(), mm @ self.x])

        plain = by_k(self.plain, r)
        after = by_k(self.after, r * self.q)
        # at t_k: rows with k_start <= k < k_exit (reverse sums over the buckets), plus
        # fac_k · competing rows with k_exit <= k < end of stratum (forward sums)
        s = (np.cumsum(plain[::-1], axis=0)[::-1][1:]
             + self.fac[:, None] * np.cumsum(after, axis=0)[:-1])
        dd = by_k(self.deathmat, r)
        den = s[self.di, 0] - self.frac * dd[self.di, 0]
        return eta, r, s[:, 1:], dd[:, 1:], den

    def terms(self, beta, *, resid: bool = False) -> _FGTerms:
        beta = np.asarray(beta, dtype=float)
        key = beta.tobytes()
        if self._last is None or self._last[0] != key:  # the variances reuse the last step
            self._last = (key, self._sums(beta))
        eta, r, s1, d1, den = self._last[1]
        q1 = 1 / den
        f = self.frac
        a, b, al, be, ga = (_group_sum(v, self.first)
                            for v in (q1, q1 * f, q1 * q1, q1 * q1 * f, q1 * q1 * f * f))
        loglik = float(eta[self.dead].sum() - np.log(den).sum())
        score = self.x_dead_sum - (s1.T @ a - d1.T @ b)
        acum = np.concatenate([[0.0], np.cumsum(a)])
        afc = np.concatenate([[0.0], np.cumsum(a * self.fac)])
        c = r * (acum[self.k_exit] - acum[self.k_start]
                 + self.q * (afc[self.k_strat] - afc[self.k_exit]))
        c[self.dead] -= r[self.dead] * b[self.di]
        sb = s1.T @ (be[:, None] * d1)
        info = (gram(self.x, np.maximum(c, 0.0)) - s1.T @ (al[:, None] * s1) + sb + sb.T
                - d1.T @ (ga[:, None] * d1))
        out = _FGTerms(loglik, score, info)
        if resid:
            self._resid(out, r, s1, d1, den, a, b, al, be, ga)
        return out

    def _resid(self, out, r, s1, d1, den, a, b, al, be, ga) -> None:
        x, dead, di, p = self.x, self.dead, self.di, self.p
        cp2, fac = self.cp2, self.fac
        h, g = a, al[:, None] * s1 - be[:, None] * d1
        h2, g2 = a - b, (al - be)[:, None] * s1 - (be - ga)[:, None] * d1
        inv = _group_sum(1 / den, self.first)
        finv = _group_sum(self.frac / den, self.first)
        xmean = (inv[:, None] * s1 - finv[:, None] * d1) / self.dcount[:, None]

        def cum(v):  # cumulative over event times, with a leading 0
            return np.concatenate([np.zeros((1, *v.shape[1:])), np.cumsum(v, axis=0)])

        ch, cg = cum(h), cum(g)
        chw, cgw = cum(fac * h), cum(fac[:, None] * g)
        k0, k1, k2 = self.k_start, self.k_first, self.k_strat
        # first piece (weight 1): event times from entry to T_i (competing: to ct2[j0],
        # whose extra event times in (T_i, ct2[j0]] also have weight 1)
        entry = bool(np.any(k0 > 0))
        res0 = cg[k1] - cg[k0] if entry else cg[k1]
        res0 -= x * (ch[k1] - ch[k0] if entry else ch[k1])[:, None]
        res0 *= r[:, None]
        res0[dead] += x[dead] - xmean[di] - r[dead, None] * (
            x[dead] * (h2 - h)[di, None] - (g2 - g)[di])
        # pieces after the first for competing episodes: weight cp2[J]/cp2[j0]
        rq = r * self.q
        ci = np.flatnonzero(self.comp)
        k1c, k2c = k1[ci], k2[ci]
        res = res0.copy()
        res[ci] -= rq[ci, None] * (x[ci] * (chw[k2c] - chw[k1c])[:, None]
                                   - (cgw[k2c] - cgw[k1c]))
        out.resid_subject = res
        # per-piece sum of squares: the first piece plus one piece per interval j > j0 of
        # the episode's stratum (intervals without events of interest add nothing)
        nj = len(cp2)
        hj = np.bincount(self.jt, weights=h, minlength=nj)
        gj = np.column_stack([np.bincount(self.jt, weights=g[:, k], minlength=nj)
                              for k in range(p)]) if p else np.zeros((nj, 0))

        def between(v, lo, hi):  # Σ v[J] for lo <= J < hi
            cs = cum(v)
            return cs[hi] - cs[lo]

        jc, je = self.j0[ci], self.iend[ci]
        sa = between(cp2**2 * hj**2, jc + 1, je)
        sb = between((cp2**2 * hj)[:, None] * gj, jc + 1, je)
        e2 = rq[ci] ** 2
        xc = x[ci]
        cross = xc.T @ (e2[:, None] * sb)
        # Σ_i e2_i Σ_{J > j0_i} cp2_J² g_J g_Jᵀ = Σ_J cp2_J² g_J g_Jᵀ · Σ_{i: j0_i < J} e2_i
        # (within the stratum of J)
        ecum = cum(np.bincount(jc, weights=e2, minlength=nj))
        jstart = np.repeat(self.ioff[:-1], np.diff(self.ioff))
        ebefore = ecum[np.arange(nj)] - ecum[jstart]
        m = ((xc * (e2 * sa)[:, None]).T @ xc - cross - cross.T
             + gj.T @ ((cp2**2 * ebefore)[:, None] * gj))
        out.rr_pieces = res0.T @ res0 + m


def _expanded_design(data, duration, event, covariates, event_code, entry, strata,
                     censoring_ties="survival") -> tuple[dict, np.ndarray]:
    """R finegray rows as a Cox design (start, stop, event, x, weights, strata) and fgrow."""
    cols = list(dict.fromkeys(c for c in (duration, event, entry, strata, *covariates) if c))
    ex = finegray_expand(data[cols], duration, event, event_code=event_code, entry=entry,
                         strata=strata, censoring_ties=censoring_ties)
    x = ex[covariates].to_numpy(dtype=float)
    if strata:
        codes, labels = pd.factorize(ex[strata].astype(str), sort=True)
    else:
        codes, labels = np.zeros(len(ex), dtype=int), None
    design = {"start": ex["fgstart"].to_numpy(float), "stop": ex["fgstop"].to_numpy(float),
              "event": ex["fgstatus"].to_numpy(int), "x": x,
              "weights": ex["fgwt"].to_numpy(float), "strata": codes,
              "center": x.mean(axis=0), "strata_cols": [strata] if strata else [],
              "strata_labels": list(labels) if strata else None}
    return design, ex["fgrow"].to_numpy()


@dataclass
class FineGrayResult:
    """Fine–Gray subdistribution hazard model.

    ``table``: one row per term: coef (log subdistribution hazard ratio), hr = exp(coef),
    se (the chosen variance), se_model (inverse information: coxph's ``naive.var``),
    se_robust (per-row sandwich: what coxph prints with fractional weights and no id),
    se_cluster (sandwich clustered by episode: ``coxph(..., cluster=id)``), z, p, lower,
    upper, hr_lower, hr_upper.
    """

    table: pd.DataFrame
    n: int
    n_events: int
    n_expanded: int
    event_code: int
    variance: str
    method: str
    conf_level: float
    loglik: float
    _source: dict = field(repr=False, default_factory=dict)

    def predict_cif(self, newdata: pd.DataFrame, times: Sequence[float] | None = None
                    ) -> pd.DataFrame:
        """Predicted cumulative incidence for covariate profiles: 1 − ``survfit(fg, newdata=)``.

        The subdistribution model's baseline (Efron-corrected, on R's finegray rows) times
        exp(x'β): CIF(t | x) = 1 − exp(−Λ0(t)·exp(x'β)). Returns profile, [strata,] time,
        cif, std_err (SE of the CIF, with the chosen variance of β̂, as R's ``summary()``),
        lower, upper (R's "log" interval of 1 − CIF, turned around).

        Example
        -------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"duration": [2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
        ...                    "event": [1, 2, 1, 0, 1, 2, 1, 0, 1, 0],
        ...                    "x": [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0]})
        >>> fit = fine_gray(df, covariates=["x"])
        >>> fit.predict_cif(pd.DataFrame({"x": [0.0, 1.0]}), times=[8])["cif"].round(3).tolist()
        [0.335, 0.483]
        """
        cox = self._cox()
        p = cox.predict_survival(newdata, times)
        out = p.drop(columns=["surv", "lower", "upper"]).copy()
        out["cif"] = 1 - p["surv"]
        out["lower"] = 1 - p["upper"]
        out["upper"] = 1 - p["lower"]
        cols = ["profile", *(["strata"] if "strata" in out else []), "time", "cif",
                "std_err", "lower", "upper"]
        return out[cols]

    def _cox(self) -> CoxResult:
        """The weighted Cox model on the expanded rows, for predictions."""
        src = self._source
        if "design" not in src:
            src["design"] = _expanded_design(**src["args"])[0]
        var = {"model": None, "robust": src["v_row"], "cluster": src["v_cl"]}[self.variance]
        return CoxResult(table=self.table[["term", "coef"]], n=self.n, n_events=self.n_events,
                         loglik=self.loglik, ties=src["ties"], variance=self.variance,
                         conf_level=self.conf_level, event_code=1, var_model=src["v"],
                         var_robust=var, _design=src["design"])

    def summary(self) -> str:
        cols = ["term", "coef", "hr", "se", "z", "p", "hr_lower", "hr_upper"]
        return "\n".join([
            f"Fine–Gray model ({self.method}) for event code {self.event_code} "
            f"(variance = {self.variance}): "
            f"n = {self.n}, events = {self.n_events}, expanded rows = {self.n_expanded}",
            self.table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"),
        ])

    def __str__(self) -> str:
        return self.summary()


def fine_gray(
    data: pd.DataFrame,
    duration: str = "duration",
    event: str = "event",
    covariates: Sequence[str] | None = None,
    *,
    event_code: int = 1,
    variance: str = "cluster",
    method: str = "finegray",
    conf_level: float = 0.95,
    entry: str | None = None,
    strata: str | None = None,
) -> FineGrayResult:
    """Fine–Gray model for the cumulative incidence of ``event_code``.

    Equals R::

        fg <- finegray(Surv(time, factor(status)) ~ ., data, etype = "1")
        coxph(Surv(fgstart, fgstop, fgstatus) ~ x1 + x2, weights = fgwt, data = fg,
              cluster = id)   # variance = "cluster" (default)

    ``variance="robust"`` is coxph's default output without ``cluster`` (per expanded row),
    ``"model"`` its ``naive.var``. Covariates must be numeric.

    ``entry``: delayed-entry times (left truncation), as ``finegray(Surv(entry, time,
    factor(status)) ~ ., data, id = id)``; ``strata``: a censoring distribution and a
    baseline per stratum, as ``finegray(... ~ . + strata(s))`` and ``coxph(... +
    strata(s))``. Both give the weighted Cox model on R's expanded rows (without
    building them).

    ``method="crr"`` reproduces ``cmprsk::crr``'s coefficients exactly instead: Breslow
    ties and crr's censoring KM (events tied with a censoring stay at risk). crr's own
    standard error adds a term for estimating G that is not implemented here; the
    cluster-robust SE of this method is within about 1% of it.

    Example
    -------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"duration": [2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    ...                    "event": [1, 2, 1, 0, 1, 2, 1, 0, 1, 0],
    ...                    "x": [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0]})
    >>> fit = fine_gray(df, covariates=["x"])
    >>> fit.table[["term", "coef"]].round(4).values.tolist()
    [['x', 0.4806]]
    """
    if method not in ("finegray", "crr"):
        raise ValueError(f"method must be 'finegray' or 'crr', got {method!r}")
    ties = "efron" if method == "finegray" else "breslow"
    if variance not in FG_VARIANCES:
        raise ValueError(f"variance must be one of {FG_VARIANCES}, got {variance!r}")
    if covariates is None:
        covariates = [c for c in data.columns if c not in {duration, event, entry, strata}]
    covariates = list(covariates)
    check_columns(data, [duration, event, entry, strata, *covariates])
    t, st = survival_arrays(data, duration, event)
    try:
        x = data[covariates].to_numpy(dtype=float)
    except ValueError as err:
        raise TypeError(f"covariates must be numeric; make dummy columns first ({err})") from err
    args = {"data": data, "duration": duration, "event": event, "covariates": covariates,
            "event_code": event_code, "entry": entry, "strata": strata,
            "censoring_ties": "survival" if method == "finegray" else "cmprsk"}
    if (entry is not None or strata is not None) and method != "finegray":
        raise ValueError("entry and strata are available with method='finegray' only "
                         "(cmprsk::crr has neither)")
    e = entry_array(data, entry, duration, t) if entry is not None else None
    sl = data[strata].astype(str).to_numpy() if strata is not None else None
    cuts = _fg_cuts(t, st, event_code, args["censoring_ties"], e, sl)
    # own Newton solver on the un-expanded risk sets (see _FGCore), which are R's
    # finegray() rows without building them (4.7 million rows for 100,000 episodes);
    # lifelines' CoxPHFitter(entry_col=, weights_col=) on the expanded rows does not reach
    # R's solution on the pbc data
    core = _FGCore(t, st, x, cuts, event_code=event_code, ties=ties)
    beta = newton(core.terms, x.shape[1])
    ft = core.terms(beta, resid=True)
    v = np.linalg.inv(ft.information)
    u = ft.resid_subject  # per-episode sums: the sandwich clustered by episode
    v_cl = v @ (u.T @ u) @ v
    v_row = v @ ft.rr_pieces @ v
    v_cl, v_row = (v_cl + v_cl.T) / 2, (v_row + v_row.T) / 2
    ll = ft.loglik
    n_events = int((st == event_code).sum())
    n_expanded = cuts.n_expanded
    se = {"model": np.sqrt(np.diag(v)), "robust": np.sqrt(np.diag(v_row)),
          "cluster": np.sqrt(np.diag(v_cl))}
    table = term_table(beta, se["model"], se[variance], covariates, conf_level)
    table = table.rename(columns={"se_robust": "_chosen"}).drop(columns="_chosen")
    table.insert(5, "se_robust", se["robust"])
    table.insert(6, "se_cluster", se["cluster"])
    return FineGrayResult(
        table=table, n=len(data), n_events=n_events, n_expanded=n_expanded,
        event_code=event_code, variance=variance, method=method, conf_level=conf_level, loglik=ll,
        _source={"args": args, "ties": ties, "v": v, "v_row": v_row, "v_cl": v_cl},
    )
