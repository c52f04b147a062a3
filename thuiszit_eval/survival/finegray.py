"""Fine–Gray subdistribution hazards, built as R ``survival::finegray`` + weighted ``coxph``.

lifelines has no Fine–Gray model. In R the data are expanded: an episode that ends in a
competing event stays in the risk set after its event time, in pieces cut at the
censoring times, with weight G(t)/G(T_i) (G = Kaplan–Meier of the censoring
distribution), and the subdistribution hazard model is a weighted Cox model on the
(fgstart, fgstop] pieces with Efron ties. :func:`finegray_expand` builds that table;
:func:`fine_gray` computes the same weighted Cox model without building it (the weights
factorise, see ``_fg_terms``), because the expansion grows as n × censoring times
(12.5 million rows for 100,000 episodes with daily times).

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
from ._coxcore import CoxCore, _group_sum, newton
from .cox import CoxResult, _cluster_sum, term_table

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


def _expand_general(t, st, e, strat, event_code: int, has_entry: bool):
    """R ``finegray()`` for (entry, exit] data and strata: the pieces of every row.

    Per stratum the censoring distribution G is the Kaplan–Meier of the censorings on the
    (entry, exit] risk sets; with delayed entry it is multiplied by the truncation
    distribution H (the reverse-time Kaplan–Meier of the entry times), as R does. Times are
    handled as positions in the sorted distinct times, with an event moved 0.2 before a
    censoring at the same time. Returns row, start, stop, status, weight arrays in R's
    order (strata sorted, rows in data order within a stratum).
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
    pieces = []
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
        tk = t[keep]
        j0 = np.searchsorted(ct2, tk, side="left")
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


class _FGCore:
    """Weighted Cox pieces of the expanded Fine–Gray data, without expanding.

    An episode with a competing event at T_i is in the risk set at an event time t > T_i
    with weight G(c_J)/G(c_j0) (J, j0: the censoring intervals of t and T_i), which
    factorises, so every risk-set sum is a plain sum over episodes with T ≥ t plus
    cp2[J(t)] · (a cumulative sum over competing episodes with T < t). Identical to the
    weighted coxph on ``finegray_expand``'s rows. The sorting and indexing are done once;
    an evaluation at β is O(n·p²) time and O(n·p) memory, as :class:`~._coxcore.CoxCore`
    (the information is a weighted Gram matrix, never p × p per time).
    """

    def __init__(self, t, st, x, cuts, *, event_code: int, ties: str) -> None:
        _, ct2, cp2, _, j0 = cuts
        n, p = x.shape
        self.n, self.p, self.ct2, self.cp2, self.j0 = n, p, ct2, cp2, j0
        self.x = np.ascontiguousarray(x - x.mean(axis=0))
        self.comp = (st != 0) & (st != event_code)
        dead = np.flatnonzero(st == event_code)
        self.dead = dead[np.argsort(t[dead], kind="stable")]
        ut, first, dcount = np.unique(t[self.dead], return_index=True, return_counts=True)
        self.ut, self.first, self.dcount = ut, first, dcount
        g = len(ut)
        self.di = np.repeat(np.arange(g), dcount)
        jpos = np.arange(len(self.dead)) - np.repeat(first, dcount)
        self.frac = jpos / dcount[self.di] if ties == "efron" else np.zeros(len(self.dead))
        self.jt = np.searchsorted(ct2, ut, side="left")  # censoring interval of each time
        self.fac = cp2[self.jt]
        # death times <= T_i: weight 1 before, weight fac·q after (competing episodes)
        self.k = np.searchsorted(ut, t, side="right")
        self.q = np.where(self.comp, 1 / cp2[np.minimum(j0, len(cp2) - 1)], 0.0)
        self.kmat = sparse.csr_matrix((np.ones(n), (self.k, np.arange(n))), shape=(g + 1, n))
        self.deathmat = sparse.csr_matrix((np.ones(len(self.dead)), (self.di, self.dead)),
                                          shape=(g, n))
        self.x_dead_sum = self.x[self.dead].sum(axis=0)

    def _sums(self, beta):
        eta = self.x @ beta
        r = np.exp(eta)
        km, dm = self.kmat, self.deathmat

        def by_k(vals):  # Σ vals·[r, r·x] by k (bucket b: rows with b death times <= T)
            m = sparse.csr_matrix((vals[km.indices], km.indices, km.indptr), km.shape)
            return np.column_stack([np.asarray(m.sum(axis=1)).ravel(), m @ self.x])

        plain = by_k(r)
        after = by_k(r * self.q)
        # at t_j: rows with k > j (T ≥ t_j), plus fac_j · competing rows with k <= j
        s = (np.cumsum(plain[::-1], axis=0)[::-1][1:]
             + self.fac[:, None] * np.cumsum(after, axis=0)[:-1])
        dm_r = sparse.csr_matrix((r[dm.indices], dm.indices, dm.indptr), dm.shape)
        d1 = np.asarray(dm_r @ self.x)
        d0 = np.asarray(dm_r.sum(axis=1)).ravel()
        den = s[self.di, 0] - self.frac * d0[self.di]
        return eta, r, s[:, 1:], d1, den

    def terms(self, beta, *, resid: bool = False) -> _FGTerms:
        beta = np.asarray(beta, dtype=float)
        eta, r, s1, d1, den = self._sums(beta)
        q1 = 1 / den
        f = self.frac
        a, b, al, be, ga = (_group_sum(v, self.first)
                            for v in (q1, q1 * f, q1 * q1, q1 * q1 * f, q1 * q1 * f * f))
        loglik = float(eta[self.dead].sum() - np.log(den).sum())
        score = self.x_dead_sum - (s1.T @ a - d1.T @ b)
        acum = np.concatenate([[0.0], np.cumsum(a)])
        afc = np.concatenate([[0.0], np.cumsum(a * self.fac)])
        c = r * (acum[self.k] + self.q * (afc[-1] - afc[self.k]))
        c[self.dead] -= r[self.dead] * b[self.di]
        z = self.x * np.sqrt(np.maximum(c, 0.0))[:, None]
        sb = s1.T @ (be[:, None] * d1)
        info = z.T @ z - s1.T @ (al[:, None] * s1) + sb + sb.T - d1.T @ (ga[:, None] * d1)
        out = _FGTerms(loglik, score, info)
        if resid:
            self._resid(out, eta, r, s1, d1, den, a, b, al, be, ga)
        return out

    def _resid(self, out, eta, r, s1, d1, den, a, b, al, be, ga) -> None:
        x, dead, di, comp, p = self.x, self.dead, self.di, self.comp, self.p
        ct2, cp2, j0, fac = self.ct2, self.cp2, self.j0, self.fac
        h, g = a, al[:, None] * s1 - be[:, None] * d1
        h2, g2 = a - b, (al - be)[:, None] * s1 - (be - ga)[:, None] * d1
        inv = _group_sum(1 / den, self.first)
        finv = _group_sum(self.frac / den, self.first)
        xmean = (inv[:, None] * s1 - finv[:, None] * d1) / self.dcount[:, None]

        def cum(v):  # cumulative over event times, with a leading 0
            return np.concatenate([np.zeros((1, *v.shape[1:])), np.cumsum(v, axis=0)])

        ch, cg = cum(h), cum(g)
        chw, cgw = cum(fac * h), cum(fac[:, None] * g)
        # weight-1 part: event times up to T_i (for competing episodes up to ct2[j0] is the
        # same set of event times except those in (T_i, ct2[j0]], which also have weight 1)
        k_end = np.where(comp, np.searchsorted(self.ut, ct2[np.minimum(j0, len(ct2) - 1)],
                                                side="right"), self.k)
        res0 = -r[:, None] * (x * ch[k_end][:, None] - cg[k_end])
        res0[dead] += x[dead] - xmean[di] - r[dead, None] * (
            x[dead] * (h2 - h)[di, None] - (g2 - g)[di])
        # pieces after the first for competing episodes: weight cp2[J]/cp2[j0]
        rq = r * self.q
        tail = -rq[:, None] * (x * (chw[-1] - chw[k_end])[:, None] - (cgw[-1] - cgw[k_end]))
        out.resid_subject = res0 + tail
        # per-piece sum of squares: the first piece plus one piece per interval j > j0
        nj = len(ct2)
        hj = np.bincount(self.jt, weights=h, minlength=nj)
        gj = np.column_stack([np.bincount(self.jt, weights=g[:, k], minlength=nj)
                              for k in range(p)]) if p else np.zeros((nj, 0))

        def suffix(v):  # Σ over intervals > j
            cs = np.cumsum(v[::-1], axis=0)[::-1]
            return np.concatenate([cs[1:], np.zeros((1, *v.shape[1:]))])

        sa = suffix(cp2**2 * hj**2)
        sb = suffix((cp2**2 * hj)[:, None] * gj)
        ci = np.flatnonzero(comp)
        jc = j0[ci]
        e2 = rq[ci] ** 2
        xc = x[ci]
        cross = xc.T @ (e2[:, None] * sb[jc])
        # Σ_i e2_i Σ_{J > j0_i} cp2_J² g_J g_Jᵀ = Σ_J cp2_J² g_J g_Jᵀ · Σ_{i: j0_i < J} e2_i
        ecum = np.concatenate([[0.0], np.cumsum(np.bincount(jc, weights=e2, minlength=nj))])
        m = ((xc * (e2 * sa[jc])[:, None]).T @ xc - cross - cross.T
             + gj.T @ ((cp2**2 * ecum[:nj])[:, None] * gj))
        out.rr_pieces = res0.T @ res0 + m


def _fg_terms(t, st, x, beta, cuts, *, event_code: int, ties: str, resid: bool = False
              ) -> _FGTerms:
    """:meth:`_FGCore.terms` once (a fit prepares the core once and evaluates it often)."""
    return _FGCore(t, st, x, cuts, event_code=event_code, ties=ties).terms(beta, resid=resid)


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
    strata(s))``. Both fit the weighted Cox model on the expanded rows.

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
    if entry is not None or strata is not None:
        if method != "finegray":
            raise ValueError("entry and strata are available with method='finegray' only "
                             "(cmprsk::crr has neither)")
        design, fgrow = _expanded_design(**args)
        dz = design
        # one prepared core: the fit, then one residual pass for both sandwiches
        core = CoxCore(dz["start"], dz["stop"], dz["event"], dz["x"], dz["weights"],
                       dz["strata"], ties=ties)
        beta = newton(core.terms, len(covariates))
        ft = core.terms(beta, resid=True)
        v = np.linalg.inv(ft.information)
        dfb = (dz["weights"][:, None] * ft.resid) @ v
        v_row = dfb.T @ dfb
        dcl = _cluster_sum(dfb, fgrow)
        v_cl = dcl.T @ dcl
        ll = ft.loglik
        se = {"model": np.sqrt(np.diag(v)), "robust": np.sqrt(np.diag(v_row)),
              "cluster": np.sqrt(np.diag(v_cl))}
        table = term_table(beta, se["model"], se[variance], covariates, conf_level)
        table = table.rename(columns={"se_robust": "_chosen"}).drop(columns="_chosen")
        table.insert(5, "se_robust", se["robust"])
        table.insert(6, "se_cluster", se["cluster"])
        return FineGrayResult(
            table=table, n=len(data), n_events=int((st == event_code).sum()),
            n_expanded=len(dz["stop"]), event_code=event_code, variance=variance,
            method=method, conf_level=conf_level, loglik=ll,
            _source={"args": args, "design": design, "ties": ties, "v": v, "v_row": v_row,
                     "v_cl": v_cl})
    cuts = _censoring_cuts(t, st, event_code,
                           "survival" if method == "finegray" else "cmprsk")
    # own Newton solver on the un-expanded risk sets (see _fg_terms); lifelines'
    # CoxPHFitter(entry_col=, weights_col=) on the expanded rows does not reach R's
    # solution on the pbc data and would need the (possibly huge) expansion
    core = _FGCore(t, st, x, cuts, event_code=event_code, ties=ties)
    beta = newton(core.terms, x.shape[1])
    ft = core.terms(beta, resid=True)
    v = np.linalg.inv(ft.information)
    dfb = ft.resid_subject @ v
    v_cl = dfb.T @ dfb
    v_row = v @ ft.rr_pieces @ v
    ll = ft.loglik
    n_events = int((st == event_code).sum())
    _, ct2, _, kept, j0 = cuts
    comp = (st != 0) & (st != event_code)
    n_expanded = int(len(t) + np.sum(len(kept) - np.searchsorted(kept, j0[comp], "right")))
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
