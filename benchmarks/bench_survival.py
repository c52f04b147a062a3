"""Time of the survival estimators against R's survival package, on the same data.

Run: ``python benchmarks/bench_survival.py [--sizes 10000 100000 1000000]``.

For each size, episode-level data (integer days, so heavy ties; event 0 censored /
1 return / 2 exemption / 3 moved; a 3-level group; covariates x1 binary, x2 and x3
continuous; 8 regions as clusters) are generated with numpy (fixed seed) and written once
to a temporary CSV that both sides read; reading it is not timed. Fits:

- ``km``:  ``kaplan_meier(group="g")``     vs ``survfit(Surv(t, e == 1) ~ g)``
- ``aj``:  ``aalen_johansen(group="g")``   vs ``survfit(Surv(t, factor(e)) ~ g)``
- ``cox``: ``cox_ph(cluster="region")``    vs ``coxph(Surv(t, e == 1) ~ x1 + x2 + x3 +
  cluster(region), ties = "efron")``
- ``fg``:  ``fine_gray()``                 vs ``finegray()`` + weighted ``coxph(cluster = id)``
  (R's time includes the expansion, which is how R fits the model)

Python fits run in one fresh subprocess per size; peak memory is that process's maximum
resident set size (including the data frame; tracemalloc would distort the timing). Each R
fit runs in its own ``Rscript benchmarks/bench_survival.R`` process, timed inside R with
``system.time`` and killed after ``--r-timeout`` seconds. R is skipped if Rscript is absent.
The Cox and Fine-Gray coefficients of both sides are compared (max abs difference).
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

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
FITS = ("km", "aj", "cox", "fg")
COVARIATES = ["x1", "x2", "x3"]


def make_data(n: int, seed: int = 20261123) -> pd.DataFrame:
    """Episodes with latent Weibull times per cause; median time to return ~80 days."""
    rng = np.random.default_rng(seed)
    g = rng.choice(np.array(["primary", "secondary", "special"]), size=n, p=[0.5, 0.35, 0.15])
    x1 = rng.binomial(1, 0.4, n).astype(float)            # e.g. earlier episode
    x2 = rng.normal(0.0, 1.0, n).round(3)                 # e.g. standardised prior absence
    x3 = rng.uniform(5.0, 17.0, n).round(2)               # e.g. age in years
    region = rng.integers(1, 9, n)
    frailty = rng.normal(0.0, 0.15, 9)[region]
    g_eff = np.select([g == "secondary", g == "special"], [-0.2, -0.5], 0.0)
    lp = 0.3 * x1 - 0.25 * x2 - 0.03 * (x3 - 11.0) + g_eff + frailty
    shape = 1.3
    scale = 80.0 / np.log(2.0) ** (1 / shape)
    t_return = scale * (rng.exponential(1.0, n) / np.exp(lp)) ** (1 / shape)
    t_exempt = rng.exponential(900.0, n) * np.where(g == "special", 0.4, 1.0)
    t_moved = rng.exponential(1500.0, n)
    t_cens = rng.uniform(20.0, 400.0, n)                  # administrative end of follow-up
    times = np.column_stack([t_cens, t_return, t_exempt, t_moved])
    e = times.argmin(axis=1)
    t = np.ceil(times.min(axis=1))                        # whole days: heavy ties
    return pd.DataFrame({"id": np.arange(1, n + 1), "t": t, "e": e, "g": g,
                         "x1": x1, "x2": x2, "x3": x3, "region": region})


def _read(csv: Path) -> pd.DataFrame:
    return pd.read_csv(csv, dtype={"g": str})


def _measure(csv: Path) -> None:
    """Child process: fit everything once on one CSV, print seconds, coefs, peak RSS."""
    from thuiszit_eval.survival import aalen_johansen, cox_ph, fine_gray, kaplan_meier

    d = _read(csv)
    calls = {
        "km": lambda: kaplan_meier(d, "t", "e", group="g"),
        "aj": lambda: aalen_johansen(d, "t", "e", group="g"),
        "cox": lambda: cox_ph(d, "t", "e", COVARIATES, cluster="region"),
        "fg": lambda: fine_gray(d, "t", "e", COVARIATES),
    }
    out: dict = {"seconds": {}, "coef": {}}
    for name, call in calls.items():
        t0 = time.perf_counter()
        fit = call()
        out["seconds"][name] = time.perf_counter() - t0
        if name in ("cox", "fg"):
            out["coef"][name] = fit.table.set_index("term").loc[COVARIATES, "coef"].tolist()
        if name == "fg":
            out["fg_expanded"] = fit.n_expanded
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def _python(csv: Path) -> dict:
    res = subprocess.run([sys.executable, __file__, "--measure", str(csv)],
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def _r(csv: Path, fit: str, timeout: float) -> tuple[float | None, list[float] | None, str]:
    """One fit in a fresh Rscript: (seconds, coefficients, note)."""
    t0 = time.perf_counter()
    try:
        res = subprocess.run(["Rscript", str(HERE / "bench_survival.R"), str(csv), fit],
                             capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, None, f"R skipped: over {timeout:.0f} s"
    if res.returncode != 0:
        err = res.stderr.strip().splitlines()
        return None, None, "R failed: " + (err[-1] if err else f"exit {res.returncode}")
    seconds, coef = None, None
    for line in res.stdout.splitlines():
        parts = line.split()
        if parts and parts[0] == "SECONDS":
            seconds = float(parts[1])
        elif parts and parts[0] == "COEF":
            coef = [float(v) for v in parts[1:]]
    return seconds, coef, f"R process {time.perf_counter() - t0:.0f} s incl. reading"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--r-timeout", type=float, default=300.0,
                    help="seconds before one R fit (process) is abandoned")
    ap.add_argument("--r-max-expanded", type=float, default=30e6,
                    help="skip R's Fine-Gray when finegray() would make more rows than this")
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        return _measure(Path(args.measure))

    have_r = shutil.which("Rscript") is not None
    if not have_r:
        print("Rscript not found: timing the Python side only.", file=sys.stderr)
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="bench_survival_"))
    try:
        for n in args.sizes:
            csv = tmp / f"episodes_{n}.csv"
            d = make_data(n)
            d.to_csv(csv, index=False)
            share = d["e"].value_counts(normalize=True).sort_index().round(3).to_dict()
            print(f"n={n:,}: {d['t'].nunique()} distinct days, event shares {share}, "
                  f"median t among returns {d.loc[d.e == 1, 't'].median():.0f}",
                  file=sys.stderr, flush=True)
            py = _python(csv)
            for fit in FITS:
                r_s, r_coef, note = None, None, "no Rscript"
                if have_r and fit == "fg" and py["fg_expanded"] > args.r_max_expanded:
                    note = (f"R skipped: finegray() would expand to "
                            f"{py['fg_expanded']:,} rows")
                elif have_r:
                    r_s, r_coef, note = _r(csv, fit, args.r_timeout)
                if r_coef is not None:
                    diff = np.max(np.abs(np.array(r_coef) - np.array(py["coef"][fit])))
                    note = f"coef max |diff| {diff:.1e}; " + note
                p_s = py["seconds"][fit]
                rows.append({"n": f"{n:,}", "estimator": fit, "python_s": round(p_s, 3),
                             "r_s": None if r_s is None else round(r_s, 3),
                             "ratio": None if not r_s else float(f"{p_s / r_s:.2g}"),
                             "python_peak_MB": round(py["peak_mb"]), "note": note})
                print(rows[-1], file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    table = pd.DataFrame(rows)
    print(table.to_markdown(index=False) if _has_tabulate() else table.to_string(index=False))


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
