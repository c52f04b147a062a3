"""Study planning: events and pupils needed to detect a hazard ratio or an RMST difference.

**Schoenfeld's formula.** To detect a hazard ratio ``hr`` with a two-sided level ``alpha``
test and power ``power``, with a share ``p = r/(1 + r)`` of the episodes in the
intervention group (allocation ratio ``r`` = intervention : control), a log-rank test or
Cox model needs ::

    d = (z_{1-alpha/2} + z_{power})² / (p (1 - p) (ln hr)²)

events (returns), and ``d / event_probability`` episodes, where ``event_probability`` is
the share of episodes whose return is observed during follow-up. Inverting the formula
gives the power for a given number of events: ``Φ(sqrt(d p (1-p)) |ln hr| - z_{1-alpha/2})``.

**Simulation for an RMST difference.** :func:`simulate_rmst_power` draws cohorts from
:mod:`thuiszit_eval.simulate` (realistic return times, competing endings, censoring at
follow-up end), randomises the episodes to two arms and lets the intervention multiply the
return hazard by ``hr`` from day 0; the test is the Kaplan–Meier RMST difference up to
``tau`` (days at home saved) with its Greenwood-type SE. See :func:`apply_hazard_ratio`.

Example
-------
>>> int(schoenfeld_events(1.5))
191
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .messages import by_lang

RETURN_REASONS = ("returned_full", "returned_partial", "returned_special_education",
                  "returned_new_school")
_LABELS = by_lang("planning.label", ("x", "y", "hr", "sim", "target"))


def _share(allocation: float) -> float:
    if allocation <= 0:
        raise ValueError("allocation ratio must be positive")
    return allocation / (1 + allocation)


def schoenfeld_events(hr: float, alpha: float = 0.05, power: float = 0.8,
                      allocation: float = 1.0, exact: bool = False) -> float:
    """Events needed to detect ``hr`` (Schoenfeld); rounded up unless ``exact``."""
    if hr <= 0 or hr == 1:
        raise ValueError("hr must be positive and not 1")
    if not (0 < alpha < 1 and 0 < power < 1):
        raise ValueError("alpha and power must lie between 0 and 1")
    p = _share(allocation)
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    d = z**2 / (p * (1 - p) * math.log(hr) ** 2)
    return d if exact else float(math.ceil(d))


def schoenfeld_pupils(hr: float, event_probability: float, alpha: float = 0.05,
                      power: float = 0.8, allocation: float = 1.0) -> dict[str, int]:
    """Events and episodes (pupils) needed, total and per group."""
    if not 0 < event_probability <= 1:
        raise ValueError("event_probability must lie in (0, 1]")
    d = schoenfeld_events(hr, alpha, power, allocation)
    n = math.ceil(schoenfeld_events(hr, alpha, power, allocation, exact=True)
                  / event_probability)
    n1 = math.ceil(n * _share(allocation))
    return {"events": int(d), "pupils": int(n), "intervention": n1, "control": n - n1}


def power_schoenfeld(hr: float, events: float | np.ndarray, alpha: float = 0.05,
                     allocation: float = 1.0) -> np.ndarray:
    """Power of the two-sided test of ``hr`` with ``events`` events (Schoenfeld inverted)."""
    p = _share(allocation)
    z = stats.norm.ppf(1 - alpha / 2)
    d = np.asarray(events, dtype=float)
    return stats.norm.cdf(np.sqrt(d * p * (1 - p)) * abs(math.log(hr)) - z)


def power_curve(hrs: Sequence[float], n_pupils: Sequence[int], event_probability: float,
                alpha: float = 0.05, allocation: float = 1.0) -> pd.DataFrame:
    """Schoenfeld power per hazard ratio × number of episodes (columns hr, n_pupils,
    events, power)."""
    rows = []
    for hr in hrs:
        for n in n_pupils:
            d = n * event_probability
            rows.append({"hr": float(hr), "n_pupils": int(n), "events": d,
                         "power": float(power_schoenfeld(hr, d, alpha, allocation))})
    return pd.DataFrame(rows)


def requirements_table(hrs: Sequence[float], event_probability: float,
                       powers: Sequence[float] = (0.8, 0.9), alpha: float = 0.05,
                       allocation: float = 1.0) -> pd.DataFrame:
    """Events and pupils needed per hazard ratio × power (Schoenfeld)."""
    rows = [{"hr": float(hr), "power": float(pw),
             **schoenfeld_pupils(hr, event_probability, alpha, pw, allocation)}
            for hr in hrs for pw in powers]
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------ simulation
def episode_times(episodes: pd.DataFrame, follow_up_end: pd.Timestamp) -> pd.DataFrame:
    """Duration (days from absence start, at least 0.5), event (1 return, 0 otherwise:
    still home at follow-up end or a competing ending) and follow_up (days from absence
    start to the follow-up end) per episode."""
    fu = pd.Timestamp(follow_up_end)
    ended = episodes["end_date"].notna() & (episodes["end_date"] <= fu)
    stop = episodes["end_date"].where(ended, fu)
    dur = (stop - episodes["absence_start"]).dt.days.to_numpy(float)
    ev = (ended & episodes["end_reason"].isin(RETURN_REASONS)).to_numpy(int)
    avail = (fu - episodes["absence_start"]).dt.days.to_numpy(float)
    return pd.DataFrame({"duration": np.maximum(dur, 0.5), "event": ev,
                         "follow_up": np.maximum(avail, 0.5)})


def _nelson_aalen(t: np.ndarray, ev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    times, inv = np.unique(t, return_inverse=True)
    d = np.bincount(inv, weights=ev, minlength=len(times))
    c = np.bincount(inv, minlength=len(times))
    n_risk = np.cumsum(c[::-1])[::-1]
    keep = d > 0
    return times[keep], np.cumsum(d[keep] / n_risk[keep])


def apply_hazard_ratio(duration: np.ndarray, event: np.ndarray, treated: np.ndarray,
                       hr: float, rng: np.random.Generator,
                       limit: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Durations and events as they would be had the treated episodes' return hazard been
    ``hr`` times as high from day 0 (proportional hazards on the cohort's own return-time
    distribution).

    With Λ the cohort's Nelson–Aalen cumulative return hazard, an episode's latent return
    time T has Λ(T) ~ Exp(1); under the intervention it returns where Λ reaches Λ(T)/hr.
    A return observed at T moves to Λ⁻¹(Λ(T)/hr), censored at ``limit`` (the follow-up the
    episode had, e.g. days to the follow-up end; default T) if it moves past it. An
    episode censored (or ended otherwise) at C has Λ(T) = Λ(C) + E with E ~ Exp(1): it
    returns at Λ⁻¹((Λ(C) + E)/hr) if that is not after C, else stays censored at C.
    Controls are left as they are; with hr = 1 nothing changes.
    """
    t = np.asarray(duration, float)
    e = np.asarray(event, int)
    treated = np.asarray(treated, bool)
    lim = t if limit is None else np.maximum(np.asarray(limit, float), t)
    times, cum = _nelson_aalen(t, e)
    if len(times) == 0:
        return t.copy(), e.copy()
    lam = np.concatenate([[0.0], cum])[np.searchsorted(times, t, side="right")]
    target = np.where(e == 1, lam, lam + rng.exponential(1.0, len(t))) / hr
    idx = np.searchsorted(cum, target * (1 - 1e-12), side="left")  # first Λ >= target
    ret = times[np.minimum(idx, len(times) - 1)]
    hit = treated & (idx < len(times)) & np.where(e == 1, ret <= lim, ret <= t)
    t_out = np.where(hit, ret, np.where(treated & (e == 1), lim, t))
    e_out = np.where(treated, hit.astype(int), e)
    return t_out, e_out


def km_rmst(duration: np.ndarray, event: np.ndarray, tau: float) -> tuple[float, float]:
    """Kaplan–Meier restricted mean time without return up to ``tau`` and its variance, as
    :meth:`thuiszit_eval.survival.KaplanMeierResult.rmst` (R's survmean), in plain numpy
    so that the simulation workers stay light."""
    times, inv = np.unique(np.asarray(duration, float), return_inverse=True)
    d = np.bincount(inv, weights=np.asarray(event, float), minlength=len(times))
    n = np.cumsum(np.bincount(inv, minlength=len(times))[::-1])[::-1].astype(float)
    surv = np.cumprod(1 - d / n)
    keep = times <= tau
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = np.where(n - d == 0, 0.0, d / (n * (n - d)))[keep]
    tt = np.concatenate([[0.0], times[keep], [tau]])
    rect = np.diff(tt) * np.concatenate([[1.0], surv[keep]])
    after = np.cumsum(rect[::-1])[::-1][1:]
    return float(rect.sum()), float(np.sum(after**2 * hh))


def rmst_test(duration: np.ndarray, event: np.ndarray, treated: np.ndarray, tau: float,
              alpha: float = 0.05) -> tuple[float, float, bool]:
    """KM RMST difference (control − intervention: days at home saved) up to ``tau``, its
    SE and whether the two-sided test rejects at ``alpha``."""
    t, e, a = np.asarray(duration, float), np.asarray(event, int), np.asarray(treated, bool)
    m0, v0 = km_rmst(t[~a], e[~a], tau)
    m1, v1 = km_rmst(t[a], e[a], tau)
    diff, se = m0 - m1, float(np.sqrt(v0 + v1))
    return diff, se, bool(se > 0 and abs(diff / se) > stats.norm.ppf(1 - alpha / 2))


def _one_replicate(n_pupils: int, hr: float, tau: float, alpha: float, allocation: float,
                   seed: np.random.SeedSequence) -> tuple[float, float, bool, int]:
    from .simulate import FOLLOW_UP_END, simulate_cohort

    cohort_seed, own = seed.spawn(2)
    with warnings.catch_warnings():  # the (unused) truth on a tiny number of draws
        warnings.simplefilter("ignore", RuntimeWarning)
        sim = simulate_cohort(n_pupils, seed=int(cohort_seed.generate_state(1)[0]),
                              progress=False, truth_draws=100)
    et = episode_times(sim.tables["episodes"], pd.Timestamp(FOLLOW_UP_END))
    rng = np.random.default_rng(own)
    treated = rng.random(len(et)) < _share(allocation)
    t, e = apply_hazard_ratio(et["duration"].to_numpy(), et["event"].to_numpy(), treated,
                              hr, rng, limit=et["follow_up"].to_numpy())
    diff, se, reject = rmst_test(t, e, treated, tau, alpha)
    return diff, se, reject, int(len(et))


def simulate_rmst_power(n_pupils: Sequence[int], hr: float = 1.5, tau: float = 182,
                        n_sim: int = 200, alpha: float = 0.05, allocation: float = 1.0,
                        seed: int = 1, n_jobs: int = -1, progress: bool = True
                        ) -> pd.DataFrame:
    """Simulated power of the RMST-difference test per cohort size.

    Every replicate has its own child of ``SeedSequence(seed)``, so the result does not
    depend on ``n_jobs``. Runs in parallel with joblib; a tqdm bar unless ``progress`` is
    false. Columns: n_pupils, n_episodes (mean, rounded up), n_sim, power, mc_se (Monte
    Carlo SE), rmst_difference (mean days at home saved up to tau), tau, hr.
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    sizes = list(n_pupils)
    children = np.random.SeedSequence(seed).spawn(len(sizes) * n_sim)
    jobs = [(n, s) for i, n in enumerate(sizes) for s in children[i * n_sim:(i + 1) * n_sim]]
    par = Parallel(n_jobs=n_jobs, return_as="generator")
    gen = par(delayed(_one_replicate)(n, hr, tau, alpha, allocation, s) for n, s in jobs)
    res = list(tqdm(gen, total=len(jobs), disable=not progress, desc="RMST power"))
    out = pd.DataFrame(res, columns=["difference", "se", "reject", "n_episodes"])
    out["n_pupils"] = [n for n, _ in jobs]
    g = out.groupby("n_pupils", sort=False)
    # an episode count is a whole number: the mean over replicates, rounded up (a size)
    tab = pd.DataFrame({"n_episodes": np.ceil(g["n_episodes"].mean()).astype(int),
                        "n_sim": g.size(),
                        "power": g["reject"].mean(),
                        "rmst_difference": g["difference"].mean()}).reset_index()
    tab["mc_se"] = np.sqrt(tab["power"] * (1 - tab["power"]) / tab["n_sim"])
    tab["tau"], tab["hr"] = float(tau), float(hr)
    return tab


def power_plot(curve: pd.DataFrame, simulated: pd.DataFrame | None = None,
               lang: str = "nl", target: float = 0.8, ax=None):
    """Power against the number of episodes: one Schoenfeld line per hazard ratio, and the
    simulated RMST power (with ±2 Monte Carlo SE) as points."""
    import matplotlib.pyplot as plt

    lab = _LABELS[lang]
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    dec = (lambda v: f"{v:g}".replace(".", ",")) if lang == "nl" else (lambda v: f"{v:g}")
    for hr, c in curve.groupby("hr"):
        ax.plot(c["n_pupils"], c["power"], label=lab["hr"].format(hr=dec(hr)))
    if simulated is not None and len(simulated):
        ax.errorbar(simulated["n_episodes"], simulated["power"], yerr=2 * simulated["mc_se"],
                    fmt="o", color="black", capsize=3,
                    label=lab["sim"] + f" (HR {dec(simulated['hr'].iloc[0])})")
    ax.axhline(target, color="grey", ls=":", label=lab["target"].format(p=dec(target)))
    ax.set_xlabel(lab["x"])
    ax.set_ylabel(lab["y"])
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: dec(round(v, 6))))
    ax.legend(fontsize=8, loc="lower right")
    return ax.figure
