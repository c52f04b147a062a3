"""Cluster bootstrap in parallel: resample pupils, re-run the whole estimator.

A pupil can have several episodes, so the resampling unit is the pupil (cluster
bootstrap): a replicate draws ``n_pupils`` pupils with replacement and every episode of a
drawn pupil enters as often as the pupil was drawn. The replicate is passed to the
estimator as a vector of *frequency weights* per row (0, 1, 2, ...), so no data are copied
and design matrices are reused.

Determinism: replicate ``b`` draws from its own generator seeded by the ``b``-th child of
``numpy.random.SeedSequence(seed)``, so the result does not depend on ``n_jobs`` or on how
replicates are split over workers (parallel == serial, bit for bit).

Example
-------
>>> import numpy as np
>>> x = np.arange(10.0)
>>> clusters = np.repeat(np.arange(5), 2)
>>> reps = cluster_bootstrap(lambda f: np.array([np.average(x, weights=f)]), clusters,
...                          n_boot=20, seed=1, n_jobs=1, progress=False)
>>> reps.shape
(20, 1)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from joblib import Parallel, cpu_count, delayed
from scipy import stats
from tqdm.auto import tqdm

from ..estimability import NotEstimable
from ._fast import replicate_weights, run_chunk

__all__ = ["bootstrap_intervals", "cluster_bootstrap", "replicate_weights"]


def cluster_bootstrap(
    fn: Callable[[np.ndarray], np.ndarray],
    clusters: np.ndarray | pd.Series,
    n_boot: int = 500,
    seed: int = 1,
    *,
    n_jobs: int = -1,
    progress: bool = True,
    chunk_size: int | None = None,
    desc: str = "bootstrap",
) -> np.ndarray:
    """Run ``fn(freq_weights)`` on ``n_boot`` cluster-bootstrap replicates.

    Parameters
    ----------
    fn:
        Maps a per-row frequency-weight vector to a 1-D array of statistics. It must
        re-run every estimation step (e.g. re-fit the propensity model), so the
        intervals account for estimated weights. It must be picklable for ``n_jobs != 1``
        (a module-level function or an object method).
    clusters:
        Cluster label per row (the pupil id).
    n_boot, seed:
        Number of replicates; replicate ``b`` uses ``SeedSequence(seed).spawn(n_boot)[b]``.
    n_jobs:
        joblib workers (``-1`` = every core, ``1`` = serial in this process).
    progress:
        Show a tqdm bar of finished replicates.
    chunk_size:
        Replicates per joblib task (default: about four tasks per worker).

    Returns
    -------
    numpy.ndarray
        ``n_boot`` × k array of replicate statistics (row ``b`` = replicate ``b``).
    """
    codes, uniq = pd.factorize(np.asarray(clusters), sort=True)
    n_clusters = len(uniq)
    if n_boot < 1:
        raise ValueError("n_boot must be at least 1")
    seeds = np.random.SeedSequence(seed).spawn(n_boot)
    workers = cpu_count() if n_jobs in (-1, None) else max(1, int(n_jobs))
    if chunk_size is None:
        chunk_size = max(1, int(np.ceil(n_boot / (4 * workers))))
    chunks = [seeds[i:i + chunk_size] for i in range(0, n_boot, chunk_size)]
    out: list[np.ndarray] = []
    with tqdm(total=n_boot, desc=desc, disable=not progress) as bar:
        if workers == 1:
            for ch in chunks:
                out.append(run_chunk(fn, codes, n_clusters, ch))
                bar.update(len(ch))
        else:
            par = Parallel(n_jobs=workers, return_as="generator")
            for ch, res in zip(chunks, par(delayed(run_chunk)(fn, codes, n_clusters, ch)
                                           for ch in chunks), strict=True):
                out.append(res)
                bar.update(len(ch))
    reps = [r for chunk in out for r in chunk]
    ok = [r for r in reps if r is not None]
    if not ok:
        raise NotEstimable("singular", what="bootstrap")
    k = len(ok[0])
    return np.vstack([r if r is not None else np.full(k, np.nan) for r in reps])


def bootstrap_intervals(estimate: np.ndarray | Sequence[float], reps: np.ndarray,
                        names: Sequence[str] | None = None, conf_level: float = 0.95
                        ) -> pd.DataFrame:
    """Percentile and normal intervals from bootstrap replicates.

    Columns: term, estimate, boot_se (SD of the replicates), lower_pct, upper_pct
    (percentile interval), lower_norm, upper_norm (estimate ± z·boot_se), p_norm
    (two-sided, H0: 0, from the normal approximation), n_boot (finite replicates used).

    >>> r = np.random.default_rng(0).normal(1.0, 0.5, size=(2000, 1))
    >>> t = bootstrap_intervals([1.0], r, ["x"])
    >>> round(float(t["boot_se"].iloc[0]), 1)
    0.5
    """
    est = np.asarray(estimate, dtype=float).ravel()
    reps = np.asarray(reps, dtype=float).reshape(len(reps), -1)
    names = list(names) if names is not None else [f"stat{i}" for i in range(len(est))]
    alpha = 1 - conf_level
    z = float(stats.norm.ppf(1 - alpha / 2))
    rows = []
    for j, name in enumerate(names):
        r = reps[:, j]
        r = r[np.isfinite(r)]
        se = float(np.std(r, ddof=1)) if len(r) > 1 else np.nan
        lo, hi = (np.quantile(r, [alpha / 2, 1 - alpha / 2]) if len(r)
                  else (np.nan, np.nan))
        p = float(2 * stats.norm.sf(abs(est[j]) / se)) if se and se > 0 else np.nan
        rows.append({"term": name, "estimate": est[j], "boot_se": se,
                     "lower_pct": float(lo), "upper_pct": float(hi),
                     "lower_norm": est[j] - z * se, "upper_norm": est[j] + z * se,
                     "p_norm": p, "n_boot": len(r)})
    return pd.DataFrame(rows)
