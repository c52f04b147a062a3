"""Time and peak memory of loading + validating simulated cohorts of growing size.

Run: ``python benchmarks/bench_validation.py [--sizes 10000 100000]`` (or ``--folder DIR ...``
to time cohort folders already written, e.g. by ``thuiszit-eval simulate``). Prints a table:
pupils, episodes, all rows read, seconds for the whole cohort, seconds for the pupils and
episodes tables alone, and peak memory (MB, maximum resident set size of a fresh process
per measurement; tracemalloc would slow pandas down several-fold and distort the timing),
and the CPU seconds (user + system) of the whole-cohort process, which other jobs on a
shared machine disturb less than the wall-clock time.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _measure(folder: Path) -> None:
    """Child process: load one folder, print seconds, peak RSS and counts as JSON."""
    from thuiszit_eval.cohort import Cohort

    t0 = time.perf_counter()
    cohort = Cohort.load(folder)
    seconds = time.perf_counter() - t0
    use = resource.getrusage(resource.RUSAGE_SELF)
    peak, cpu = use.ru_maxrss / 1024, use.ru_utime + use.ru_stime
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "cpu": cpu, "ok": cohort.report.ok,
                      "episodes": len(cohort.episodes), "pupils": len(cohort.pupils),
                      "rows": int(cohort.report.counts.rows_read.sum())}))


def _run(folder: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--measure", str(folder)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[2_000, 10_000, 100_000])
    ap.add_argument("--folder", type=Path, nargs="+",
                    help="time these cohort folders instead of simulating --sizes")
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        return _measure(Path(args.measure))
    from thuiszit_eval.simulate import write_simulated_cohort

    rows = []
    for n in args.folder or args.sizes:
        tmp = Path(tempfile.mkdtemp())
        try:
            full = n if isinstance(n, Path) else write_simulated_cohort(
                tmp / "full", n_pupils=n, seed=11, progress=False)
            core = tmp / "core"
            core.mkdir()
            for name in ("datapackage.json", "pupils.csv", "episodes.csv"):
                shutil.copy(full / name, core / name)
            f, c = _run(full), _run(core)
            assert f["ok"] and c["ok"]
            rows.append((f["pupils"], f["episodes"], f["rows"], f["seconds"], f["peak_mb"],
                         c["seconds"], c["peak_mb"], f["cpu"]))
        finally:
            shutil.rmtree(tmp)
    head = ("pupils", "episodes", "rows_read", "s_cohort", "peak_MB", "s_pupils+episodes",
            "peak_MB_core", "cpu_s_cohort")
    print(" | ".join(head))
    print(" | ".join("---" for _ in head))
    for r in rows:
        print(f"{r[0]:,} | {r[1]:,} | {r[2]:,} | {r[3]:.1f} | {r[4]:.0f} | {r[5]:.1f} | {r[6]:.0f} "
              f"| {r[7]:.1f}")


if __name__ == "__main__":
    main()
