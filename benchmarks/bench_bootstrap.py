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
import os
import resource
import tempfile
import time


def _worker_pids() -> list[int]:
    """Process ids of this process's live children (the joblib/loky workers), from /proc."""
    me, pids = os.getpid(), []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == me:
                pids.append(int(entry))
    return pids


def _peak_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a live process, from /proc (Linux)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


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
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_worker = max((_peak_mb(pid) for pid in _worker_pids()), default=0.0)
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
    print(f"peak RSS: main {peak_self:.0f} MB, largest joblib worker {peak_worker:.0f} MB")
    for _, r in d.iterrows():
        print(f"  tau {r['tau']:g}: days saved {r['days_saved']:.2f} "
              f"[{r['lower_pct']:.2f}, {r['upper_pct']:.2f}]")


if __name__ == "__main__":
    main()
