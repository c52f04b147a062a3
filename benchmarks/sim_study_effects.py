"""Simulation study: naive, landmark and clone-censor-weight estimates against the truth.

Each replicate simulates a cohort with :func:`thuiszit_eval.simulate.simulate_cohort`
(seed from a :class:`numpy.random.SeedSequence`), and estimates the RMST difference
("days at home", A - B) at 91 and 182 days since the report with

* ``naive``: ever vs never Back to School, clock from the report, unadjusted;
* ``landmark``: started by day 28 vs not among pupils home at day 28, IPT-weighted,
  RMST from the landmark to tau;
* ``ccw``: the target-trial emulation by clone-censor-weight.

All three are compared with the target-trial truth of ``truth.json`` (RMST difference
-3.43 days at 91 and -9.30 at 182): that is the policy question each of them is used to
answer. Only the CCW estimator targets it by design; the landmark analysis estimates a
different quantity (days at home from day 28 among pupils still home then), so its "bias"
mixes estimator bias and estimand difference.

Hazard ratios (``log_hr``) are compared in the same way with the target-trial hazard ratio
of ``truth.json``: the marginal HR of return under A vs B up to day 182 (a Cox model of
the arm fitted to both counterfactual worlds, HR 1.18), which the CCW emulation estimates
by a weighted Cox model of the arm on its clones. Hazards are not proportional between the
strategies, so this is a time-averaged contrast; the naive and landmark hazard ratios are
also compared with the structural (conditional) HR of Back to School from its start day,
1.5 (``log_hr_structural``), which neither targets exactly.

Within-replicate SEs are the robust influence-function SEs (clustered on pupils, weights
taken as known), not the bootstrap: 200 replicates x 200 bootstrap fits would not fit the
time budget. Cox SEs are lifelines' robust (sandwich) SEs.

Run::

    python benchmarks/sim_study_effects.py            # 200 replicates of 4,000 pupils
    python benchmarks/sim_study_effects.py --reps 20 --pupils 2000

Writes ``benchmarks/results/sim_study_effects.csv`` (summary table),
``sim_study_effects_replicates.csv`` and ``sim_study_effects.png``; prints the table.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from tqdm.auto import tqdm

RESULTS = Path(__file__).resolve().parent / "results"
TRUE_HR = 1.5  # structural HR of Back to School from its start (simulate.GAMMA)
METHODS = ("naive", "landmark", "ccw")
ESTIMANDS = ("rmst_diff_91", "rmst_diff_182", "log_hr", "log_hr_structural")


def one_replicate(seed: int, n_pupils: int, n_boot: int = 0
                  ) -> list[dict[str, float | str | int]]:
    """Simulate one cohort and return one row per method and estimand.

    With ``n_boot > 0`` only the CCW estimate is computed, with bootstrap SE and
    percentile interval (method ``ccw_bootstrap``), to check the robust SE against it.
    """
    from thuiszit_eval.effects.landmark import landmark_analysis
    from thuiszit_eval.effects.target_trial import (
        clone_censor_weight,
        eligible_episodes,
        naive_analysis,
    )
    from thuiszit_eval.simulate import simulate_cohort

    sim = simulate_cohort(n_pupils, seed=seed, progress=False)
    el = eligible_episodes(sim)
    if n_boot > 0:
        res = clone_censor_weight(el, n_boot=n_boot, seed=seed, n_jobs=1, progress=False)
        h = res.hazard_ratio
        return [*({"seed": seed, "method": "ccw_bootstrap", "estimand": f"rmst_diff_{r.tau}",
                   "estimate": r.difference, "se": r.se, "lower": r.lower,
                   "upper": r.upper, "n_episodes": res.n_episodes}
                  for r in res.rmst.itertuples()),
                {"seed": seed, "method": "ccw_bootstrap", "estimand": "log_hr",
                 "estimate": float(np.log(h["hr"])), "se": h["se_log"],
                 "lower": float(np.log(h["lower"])), "upper": float(np.log(h["upper"])),
                 "n_episodes": res.n_episodes}]
    results = {
        "naive": naive_analysis(el),
        "landmark": landmark_analysis(el, n_boot=0, progress=False),
        "ccw": clone_censor_weight(el, n_boot=0, progress=False),
    }
    rows: list[dict[str, float | str | int]] = []
    for method, res in results.items():
        for r in res.rmst.itertuples():
            rows.append({"seed": seed, "method": method, "estimand": f"rmst_diff_{r.tau}",
                         "estimate": r.difference, "se": r.se,
                         "n_episodes": res.n_episodes})
        if res.hazard_ratio is not None:
            h = res.hazard_ratio
            rows.append({"seed": seed, "method": method, "estimand": "log_hr",
                         "estimate": float(np.log(h["hr"])), "se": h["se_log"],
                         "n_episodes": res.n_episodes})
    return rows


def truth_values() -> dict[str, float]:
    """Target-trial RMST differences and log HR (day 182); the structural log HR."""
    from thuiszit_eval.simulate import compute_truth

    tt = compute_truth()["target_trial"]
    rmst = tt["rmst"]
    return {"rmst_diff_91": rmst["91"]["difference"],
            "rmst_diff_182": rmst["182"]["difference"],
            "log_hr": tt["hazard_ratio"]["182"]["log_hazard_ratio"],
            "log_hr_structural": float(np.log(TRUE_HR))}


def run_study(n_reps: int = 200, n_pupils: int = 4000, seed: int = 2026, n_jobs: int = -1,
              progress: bool = True, n_boot: int = 0) -> pd.DataFrame:
    """All replicates (one row per replicate, method and estimand); deterministic.

    The replicate seeds are the same for any ``n_reps`` prefix, so a bootstrap check on
    the first replicates (``n_boot > 0``) uses the same cohorts as the main study.
    """
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(n_reps)]
    gen = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(one_replicate)(s, n_pupils, n_boot) for s in seeds)
    rows = [row for rep in tqdm(gen, total=n_reps, desc="replicates", disable=not progress)
            for row in rep]
    return pd.DataFrame(rows)


def summarise(reps: pd.DataFrame, truth: dict[str, float] | None = None) -> pd.DataFrame:
    """Bias, empirical SE, mean estimated SE and 95% coverage per method and estimand."""
    truth = truth or truth_values()
    # the naive and landmark HRs also against the structural HR (same estimates)
    other = reps[(reps["estimand"] == "log_hr") & reps["method"].isin(["naive", "landmark"])]
    reps = pd.concat([reps, other.assign(estimand="log_hr_structural")], ignore_index=True)
    out = []
    for (method, estimand), g in reps.groupby(["method", "estimand"], sort=False):
        t = truth[estimand]
        est, se = g["estimate"].to_numpy(), g["se"].to_numpy()
        if {"lower", "upper"} <= set(g) and g["lower"].notna().all():
            cover = (g["lower"].to_numpy() <= t) & (t <= g["upper"].to_numpy())
        else:
            cover = np.abs(est - t) <= 1.959964 * se
        out.append({
            "method": method, "estimand": estimand, "truth": t, "n_reps": len(g),
            "mean_estimate": est.mean(), "bias": est.mean() - t,
            "mc_se_bias": est.std(ddof=1) / np.sqrt(len(g)),
            "empirical_se": est.std(ddof=1), "mean_estimated_se": se.mean(),
            "coverage_95": cover.mean(),
        })
    tab = pd.DataFrame(out)
    order = {k: i for i, k in enumerate([*METHODS, "ccw_bootstrap", *ESTIMANDS])}
    tab = tab.sort_values(["estimand", "method"], key=lambda s: s.map(order), kind="stable")
    return tab.reset_index(drop=True)


def figure(reps: pd.DataFrame, truth: dict[str, float], path: Path) -> None:
    """Estimates per method (box and points) against the truth: RMST and log HR."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    est = [e for e in ("rmst_diff_91", "rmst_diff_182", "log_hr") if e in set(reps["estimand"])]
    fig, axes = plt.subplots(1, len(est), figsize=(5.2 * len(est), 4.2), squeeze=False)
    for ax, e in zip(axes[0], est, strict=True):
        data = [reps.loc[(reps["method"] == m) & (reps["estimand"] == e), "estimate"]
                for m in METHODS]
        ax.boxplot(data, showfliers=False)
        ax.set_xticks(range(1, len(METHODS) + 1), METHODS)
        rng = np.random.default_rng(0)
        for i, d in enumerate(data, start=1):
            ax.scatter(i + rng.uniform(-0.15, 0.15, len(d)), d, s=6, alpha=0.35)
        ax.axhline(truth[e], color="black", ls="--", lw=1, label="target-trial truth")
        ax.axhline(0, color="grey", lw=0.5)
        if e == "log_hr":
            ax.axhline(truth["log_hr_structural"], color="tab:red", ls=":", lw=1,
                       label="structural HR 1.5 (from start)")
            ax.set_title("log hazard ratio of return, A vs B (to day 182)")
            ax.set_ylabel("log HR (positive = faster return under A)")
        else:
            ax.set_title(f"RMST difference A - B at {e.rsplit('_', 1)[1]} days")
            ax.set_ylabel("days at home (negative = fewer under A)")
        ax.legend(frameon=False, loc="best", fontsize=8)
    n = reps["seed"].nunique()
    fig.suptitle(f"Simulation study, {n} replicates: naive vs landmark vs clone-censor-weight")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--pupils", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--jobs", type=int, default=-1)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--boot-check", type=int, default=0, metavar="K",
                    help="only: bootstrap SE of the CCW estimate on the first K replicates")
    ap.add_argument("--boot", type=int, default=100, help="bootstrap replicates for it")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    truth = truth_values()
    if args.boot_check:
        reps = run_study(args.boot_check, args.pupils, args.seed, args.jobs,
                         not args.no_progress, n_boot=args.boot)
        tab = summarise(reps, truth)
        args.out.mkdir(parents=True, exist_ok=True)
        tab.to_csv(args.out / "sim_study_effects_bootstrap.csv", index=False,
                   float_format="%.4f")
        print(tab.round(3).to_string(index=False))
        print(f"\nbootstrap check: {args.boot_check} replicates x {args.boot} bootstrap "
              f"fits, {time.perf_counter() - t0:.0f} s")
        return tab
    reps = run_study(args.reps, args.pupils, args.seed, args.jobs, not args.no_progress)
    tab = summarise(reps, truth)
    seconds = time.perf_counter() - t0
    args.out.mkdir(parents=True, exist_ok=True)
    tab.to_csv(args.out / "sim_study_effects.csv", index=False, float_format="%.4f")
    reps.to_csv(args.out / "sim_study_effects_replicates.csv", index=False,
                float_format="%.5f")
    figure(reps, truth, args.out / "sim_study_effects.png")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(tab.round(3).to_string(index=False))
    print(f"\n{args.reps} replicates of {args.pupils:,} pupils, seed {args.seed}, "
          f"{os.cpu_count()} cores: {seconds:.0f} s")
    return tab


if __name__ == "__main__":
    main()
