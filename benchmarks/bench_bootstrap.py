"""Benchmark of the IPTW bootstrap: 500 replicates of the RMST difference, 10,000 pupils.

Run ``python benchmarks/bench_bootstrap.py [--pupils 10000] [--boot 500] [--jobs -1]``.
Every replicate resamples pupils (cluster bootstrap), re-fits the propensity model and
recomputes both weighted Kaplan–Meier curves and the RMST at 91 and 182 days. Prints the
cohort size, the seconds of the fit and of the bootstrap, and the peak resident memory of
this process and of its joblib workers (``ru_maxrss``). Target (issue 5): under 60 s on
2 cores.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pupils", type=int, default=10_000)
    ap.add_argument("--boot", type=int, default=500)
    ap.add_argument("--jobs", type=int, default=-1)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    from joblib import cpu_count

    from thuiszit_eval.cohort import Cohort
    from thuiszit_eval.effects import (
        IPTWSurvival,
        PropensityModel,
        default_covariates,
        point_treatment_data,
    )
    from thuiszit_eval.simulate import write_simulated_cohort

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        write_simulated_cohort(tmp, args.pupils, seed=args.seed, progress=False)
        data = point_treatment_data(Cohort.load(tmp))
        t_data = time.perf_counter() - t0
    cov = default_covariates(data)
    t0 = time.perf_counter()
    fit = IPTWSurvival(PropensityModel(cov)).fit(data)
    t_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    fit.bootstrap(args.boot, seed=args.seed, n_jobs=args.jobs, progress=False)
    t_boot = time.perf_counter() - t0
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)  # reap the workers so their RSS is counted
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    d = fit.difference_
    print(f"pupils simulated: {args.pupils:,}; episodes analysed: {len(data):,} "
          f"({int(data['treated'].sum()):,} Back to School, "
          f"{int((data['treated'] == 0).sum()):,} process intervention); "
          f"{len(fit.propensity_.design_.columns)} design columns")
    print(f"cores: {cpu_count()}, n_jobs: {args.jobs}")
    print(f"simulate + load + survival table: {t_data:.1f} s")
    print(f"IPTW fit (propensity, curves, RMST, weighted Cox): {t_fit:.2f} s")
    print(f"bootstrap, {args.boot} replicates: {t_boot:.1f} s "
          f"({1000 * t_boot / args.boot:.0f} ms per replicate wall-clock)")
    print(f"peak RSS: main {peak_self:.0f} MB, largest worker {peak_child:.0f} MB")
    for _, r in d.iterrows():
        print(f"  tau {r['tau']:g}: days saved {r['days_saved']:.2f} "
              f"[{r['lower_pct']:.2f}, {r['upper_pct']:.2f}]")


if __name__ == "__main__":
    main()
