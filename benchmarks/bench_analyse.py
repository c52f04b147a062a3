"""Time and peak memory of ``thuiszit-eval analyse`` on simulated cohorts, split by step.

Run: ``python benchmarks/bench_analyse.py [--episodes 10000 100000 1000000]``. Each cohort is
simulated once (about 0.85 pupils per episode) into ``--cache`` and reused; each measurement
runs in a fresh process: loading (only the tables ``analyse`` uses) plus the whole analysis,
peak memory = that process's maximum resident set size, CPU = its user + system seconds
(less disturbed by other jobs on a shared machine than the wall clock). Prints one table
with the total and one column per step (seconds):

- ``load``: :meth:`Cohort.load` of pupils, episodes and interventions (read + validate);
- ``survival_table`` .. ``figures``: the steps of :func:`analyse_cohort` (its ``timings``).

``--all-tables`` loads every table as ``analyse`` did before it asked for only the tables
it uses; ``--no-models`` leaves out the Cox and Fine–Gray models (so that the rest can be
timed at a size where the Cox core does not fit in memory).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEPS = ("load", "survival_table", "km_aj_logrank", "descriptive_tables", "cox", "fine_gray",
         "write_tables", "figures")
PUPILS_PER_EPISODE = 0.85


def _measure(folder: Path, all_tables: bool, models: bool) -> None:
    """Child process: load and analyse one folder, print seconds, peak RSS, steps as JSON."""
    from thuiszit_eval import analyse
    from thuiszit_eval.cohort import Cohort

    if not models:  # time everything but the two models: they are not fitted
        def _skip(*args, **kwargs):
            raise analyse.NotEstimable("events_per_term", what="cox", n_terms=1, need=1,
                                       per_term=1, n_events=0)
        analyse.require_events = _skip
    steps: dict[str, float] = {}
    t0 = time.perf_counter()
    cohort = Cohort.load(folder, tables=None if all_tables else analyse.needed_tables())
    steps["load"] = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as out:
        analyse.analyse_cohort(cohort, out, timings=steps)
    seconds = time.perf_counter() - t0
    use = resource.getrusage(resource.RUSAGE_SELF)
    peak, cpu = use.ru_maxrss / 1024, use.ru_utime + use.ru_stime
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "cpu": cpu,
                      "episodes": len(cohort.episodes), "pupils": len(cohort.pupils),
                      "steps": steps}))


def _run(folder: Path, all_tables: bool, models: bool) -> dict:
    cmd = [sys.executable, __file__, "--measure", str(folder)]
    cmd += ["--all-tables"] * all_tables + ["--no-models"] * (not models)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def cohort_folder(cache: Path, episodes: int) -> Path:
    """The simulated cohort of about ``episodes`` episodes (seed 15), simulated if absent."""
    from thuiszit_eval.simulate import write_simulated_cohort

    folder = cache / f"episodes-{episodes}"
    if not (folder / "datapackage.json").exists():
        write_simulated_cohort(folder, n_pupils=round(episodes * PUPILS_PER_EPISODE), seed=15,
                               progress=False)
    return folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--episodes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "bench-analyse",
                    help="folder for the simulated cohorts (kept between runs)")
    ap.add_argument("--folder", type=Path, nargs="+",
                    help="analyse these cohort folders instead of simulated ones")
    ap.add_argument("--all-tables", action="store_true",
                    help="load all six tables (as analyse did before)")
    ap.add_argument("--no-models", action="store_true", help="leave out Cox and Fine–Gray")
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        return _measure(Path(args.measure), args.all_tables, not args.no_models)
    folders = args.folder or [cohort_folder(args.cache, n) for n in args.episodes]
    head = ("episodes", "pupils", "seconds", "cpu_s", "peak_MB", *STEPS)
    print(" | ".join(head))
    print(" | ".join("---" for _ in head))
    for folder in folders:
        r = _run(folder, args.all_tables, not args.no_models)
        steps = [f"{r['steps'][s]:.2f}" if s in r["steps"] else "—" for s in STEPS]
        print(f"{r['episodes']:,} | {r['pupils']:,} | {r['seconds']:.1f} | {r['cpu']:.1f} | "
              f"{r['peak_mb']:,.0f} | "
              + " | ".join(steps), flush=True)


if __name__ == "__main__":
    main()
