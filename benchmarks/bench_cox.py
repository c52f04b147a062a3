"""Cox and Fine-Gray at national scale: our fit against lifelines and R, 10k to 1M rows.

Run: ``python benchmarks/bench_cox.py [--sizes 10000 100000 300000 1000000]
[--r-timeout 300] [--r-max-rows 300000] [--no-r]``.

Design (cohort-like, as ``analyse``'s Cox model): 18 numeric terms (2 group dummies, age,
3 episode-type dummies, 12 need_* flags), whole-day durations up to 650 days (so about 650
distinct days and hundreds of tied returns per day at 1M rows), event 0 censored / 1 return
/ 2 exemption / 3 moved, a pupil id per episode (ids drawn from 0.85·n, so about 0.6
pupils per episode; not used by the fits here) and 25 regions. Fits, each timed on its own:

- ``cox``: ``cox_ph(...)`` (Efron, model-based SE) vs lifelines ``CoxPHFitter``
  (``batch_mode=True``, Efron, the same 18 terms) vs R ``coxph(Surv(t, e == 1) ~ ...)``;
- ``cox_region``: ``cox_ph(..., cluster="region")`` vs R ``coxph(... + cluster(region))``;
- ``fg``: ``fine_gray(...)`` (cluster by episode) vs R ``finegray()`` + weighted ``coxph``
  with ``cluster = id`` (R's time includes the expansion, which is how R fits the model).

Each size and side runs in its own fresh process (Python: ``--measure``; R:
``Rscript benchmarks/bench_cox.R``), so "peak MB" is that process's maximum resident set
size, data included; R processes are killed after ``--r-timeout`` seconds and R is not run
above ``--r-max-rows``. The data are generated with numpy (fixed seed) and written once to a
CSV read by every process; reading is not timed. The last lines print the log-log slope of
time against rows between 100k and 1M for each estimator, where both sizes were measured.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
NEEDS = [f"need_{k:02d}" for k in range(12)]
TERMS = ["g_secondary", "g_special", "age", "type_b", "type_c", "type_d", *NEEDS]
FITS = ("cox", "cox_region", "fg")


def make_data(n: int, seed: int = 20261205) -> pd.DataFrame:
    """Episodes with an 18-term design, whole-day times (≤ 650 days), competing events."""
    rng = np.random.default_rng(seed)
    pupil = np.sort(rng.integers(0, max(1, int(0.85 * n)), n))
    g = rng.choice(3, size=n, p=[0.5, 0.35, 0.15])
    age = rng.uniform(5.0, 17.0, n).round(1)
    etype = rng.choice(4, size=n, p=[0.55, 0.2, 0.15, 0.1])
    needs = rng.binomial(1, np.linspace(0.05, 0.4, 12), (n, 12)).astype(float)
    region = rng.integers(1, 26, n)
    frailty = rng.normal(0.0, 0.15, 26)[region]
    lp = (np.select([g == 1, g == 2], [-0.2, -0.5], 0.0) - 0.03 * (age - 11)
          + np.array([0.0, 0.2, -0.3, 0.1])[etype] + needs @ np.linspace(-0.3, 0.3, 12)
          + frailty)
    shape = 1.2
    scale = 90.0 / np.log(2.0) ** (1 / shape)
    t_return = scale * (rng.exponential(1.0, n) / np.exp(lp)) ** (1 / shape)
    t_exempt = rng.exponential(1200.0, n)
    t_moved = rng.exponential(2000.0, n)
    t_cens = rng.uniform(30.0, 650.0, n)
    times = np.column_stack([t_cens, t_return, t_exempt, t_moved])
    e = times.argmin(axis=1)
    t = np.ceil(times.min(axis=1))
    d = pd.DataFrame({"id": np.arange(1, n + 1), "pupil": pupil, "region": region,
                      "t": t, "e": e, "g_secondary": (g == 1).astype(float),
                      "g_special": (g == 2).astype(float), "age": age})
    for k, name in enumerate(["type_b", "type_c", "type_d"], start=1):
        d[name] = (etype == k).astype(float)
    d[NEEDS] = needs
    return d


def _measure(csv: Path, side: str, fit: str) -> None:
    """Child process: one fit on one CSV; prints seconds, coefficients and peak RSS."""
    d = pd.read_csv(csv)
    if side == "ours":
        from thuiszit_eval.survival import cox_ph, fine_gray
        call = {"cox": lambda: cox_ph(d, "t", "e", TERMS),
                "cox_region": lambda: cox_ph(d, "t", "e", TERMS, cluster="region"),
                "fg": lambda: fine_gray(d, "t", "e", TERMS)}[fit]
        t0 = time.perf_counter()
        res = call()
        sec = time.perf_counter() - t0
        coef = res.table.set_index("term").loc[TERMS, "coef"].tolist()
    else:  # lifelines, Cox only
        from lifelines import CoxPHFitter
        df = d[[*TERMS, "t"]].assign(ev=(d["e"] == 1).astype(int))
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cph = CoxPHFitter().fit(df, "t", "ev", batch_mode=True)
        sec = time.perf_counter() - t0
        coef = cph.params_.loc[TERMS].tolist()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": sec, "coef": coef, "peak_mb": peak}))


def _python(csv: Path, side: str, fit: str) -> dict:
    res = subprocess.run([sys.executable, __file__, "--measure", str(csv), side, fit],
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def _r(csv: Path, fit: str, timeout: float) -> dict:
    """One fit in a fresh Rscript: seconds, coefficients, peak MB (or a note why not)."""
    # own session, so a timeout stops R itself and not only /usr/bin/time
    proc = subprocess.Popen(["/usr/bin/time", "-f", "MAXRSS %M", "Rscript",
                             str(HERE / "bench_cox.R"), str(csv), fit],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {"note": f"R stopped after {timeout:.0f} s"}
    if proc.returncode != 0:
        err = [ln for ln in stderr.strip().splitlines() if not ln.startswith("MAXRSS")]
        return {"note": "R failed: " + (err[-1] if err else f"exit {proc.returncode}")}
    out: dict = {}
    for line in (stdout + stderr).splitlines():
        parts = line.split()
        if parts and parts[0] == "SECONDS":
            out["seconds"] = float(parts[1])
        elif parts and parts[0] == "COEF":
            out["coef"] = [float(v) for v in parts[1:]]
        elif parts and parts[0] == "MAXRSS":
            out["peak_mb"] = float(parts[1]) / 1024
    return out


def _slope(rows: list[dict], key: str, est: str) -> str:
    t = {r["n"]: r[key] for r in rows if r["estimator"] == est and r.get(key)}
    if 100_000 in t and 1_000_000 in t:
        return f"{np.log(t[1_000_000] / t[100_000]) / np.log(10):.2f}"
    return "not measured at both 100k and 1M"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+",
                    default=[10_000, 100_000, 300_000, 1_000_000])
    ap.add_argument("--r-timeout", type=float, default=300.0,
                    help="seconds before one R fit (process) is abandoned")
    ap.add_argument("--r-max-rows", type=int, default=300_000,
                    help="R is not run above this many rows (it takes minutes there)")
    ap.add_argument("--no-r", action="store_true", help="skip R")
    ap.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        return _measure(Path(args.measure[0]), args.measure[1], args.measure[2])
    have_r = shutil.which("Rscript") is not None and not args.no_r
    rows: list[dict] = []
    tmp = Path(tempfile.mkdtemp(prefix="bench_cox_"))
    try:
        for n in args.sizes:
            csv = tmp / f"episodes_{n}.csv"
            d = make_data(n)
            d.to_csv(csv, index=False)
            print(f"n={n:,}: {d['t'].nunique()} distinct days, "
                  f"{(d['e'] == 1).sum():,} returns, {d['pupil'].nunique():,} pupils",
                  file=sys.stderr, flush=True)
            for fit in FITS:
                ours = _python(csv, "ours", fit)
                row = {"n": n, "estimator": fit, "ours_s": round(ours["seconds"], 3),
                       "ours_MB": round(ours["peak_mb"])}
                notes = []
                if fit == "cox":
                    ll = _python(csv, "lifelines", fit)
                    row["lifelines_s"] = round(ll["seconds"], 3)
                    row["lifelines_MB"] = round(ll["peak_mb"])
                    row["ours/lifelines"] = round(ours["seconds"] / ll["seconds"], 2)
                    diff = np.max(np.abs(np.array(ll["coef"]) - ours["coef"]))
                    notes.append(f"lifelines coef max abs diff {diff:.0e}")
                if not have_r:
                    notes.append("R not run")
                elif n > args.r_max_rows:
                    notes.append(f"R not run above {args.r_max_rows:,} rows")
                else:
                    r = _r(csv, fit, args.r_timeout)
                    if "seconds" in r:
                        row["R_s"] = round(r["seconds"], 3)
                        row["R_MB"] = round(r.get("peak_mb", np.nan))
                        row["ours/R"] = float(f"{ours['seconds'] / r['seconds']:.2g}")
                        diff = np.max(np.abs(np.array(r["coef"]) - ours["coef"]))
                        notes.append(f"R coef max abs diff {diff:.0e}")
                    else:
                        notes.append(r["note"])
                row["note"] = "; ".join(notes)
                rows.append(row)
                print(row, file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    cols = ["n", "estimator", "ours_s", "lifelines_s", "R_s", "ours/lifelines", "ours/R",
            "ours_MB", "lifelines_MB", "R_MB", "note"]
    print("| " + " | ".join(cols) + " |")
    print("|" + " --- |" * len(cols))
    for row in rows:
        cells = [f"{row['n']:,}" if c == "n" else str(row.get(c, "—")) for c in cols]
        print("| " + " | ".join(cells) + " |")
    print()
    for est, key in (("cox", "ours_s"), ("cox", "lifelines_s"), ("cox_region", "ours_s"),
                     ("fg", "ours_s")):
        who = "lifelines" if key == "lifelines_s" else "ours"
        print(f"log-log slope of time vs rows, 100k to 1M, {est} ({who}): "
              f"{_slope(rows, key, est)}")


if __name__ == "__main__":
    main()
