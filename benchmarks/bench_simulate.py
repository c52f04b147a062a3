"""Benchmark of the cohort simulator: seconds, rows per table and peak memory.

Run ``python benchmarks/bench_simulate.py [N ...]`` (default 2,000 / 10,000 / 100,000
pupils). Each size runs in a fresh process so the peak resident memory (``ru_maxrss``)
and the one-off Monte Carlo truth (cached per process) are counted per size.

Example output line::

    n_pupils  seconds  peak_MB  pupils  episodes  interventions  attendance ...
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time

TABLES = ["pupils", "episodes", "interventions", "attendance", "process_events",
          "school_calendar"]


def run_one(n_pupils: int) -> dict[str, float]:
    """Write one cohort of ``n_pupils`` and measure it (in this process)."""
    from thuiszit_eval.simulate import write_simulated_cohort

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        folder = write_simulated_cohort(tmp, n_pupils, seed=1, progress=False)
        seconds = time.perf_counter() - t0
        rows = {t: sum(1 for _ in open(folder / f"{t}.csv", encoding="utf-8")) - 1
                for t in TABLES}
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"n_pupils": n_pupils, "seconds": round(seconds, 2),
            "peak_MB": round(peak_mb), **rows}


def main(sizes: list[int]) -> None:
    """Print one table row per size, each measured in a fresh interpreter."""
    results = []
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(n)], check=True,
                             capture_output=True, text=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    cols = ["n_pupils", "seconds", "peak_MB", *TABLES]
    widths = [max(len(c), *(len(f"{r[c]:,}") for r in results)) for c in cols]
    print("  ".join(c.rjust(w) for c, w in zip(cols, widths, strict=True)))
    for r in results:
        print("  ".join(f"{r[c]:,}".rjust(w) for c, w in zip(cols, widths, strict=True)))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(run_one(int(sys.argv[2]))))
    else:
        main([int(a) for a in sys.argv[1:]] or [2_000, 10_000, 100_000])
