"""Benchmark of the demo report: wall and CPU time, per notebook, cold and warm, by jobs.

Run ``python benchmarks/bench_report.py [--jobs 1 2] [--states cold warm]
[--proposed-notebooks] [--param n_boot=200]``. Each run is a fresh process that builds
the report of the 2,000-pupil demo cohort (as ``thuiszit-eval demo`` does) with ``jobs``
notebooks at a time:

* **cold**: an empty demo-cohort cache (the cohort is simulated first), a fresh matplotlib
  cache and a fresh bytecode cache (every module compiled again), as on first use;
* **warm**: the cohort, matplotlib and bytecode caches of the cold run reused (without a
  cold run: this user's own caches, e.g. ``~/.cache/thuiszit-eval``).

Printed per run: wall seconds of the whole command, of the notebook phase (first notebook
start to last notebook end, from papermill's metadata), CPU seconds of the process tree,
the machine's 1-minute load average before the run (the machine is shared: a load above the
core count stretches wall times), and per notebook its seconds (papermill) and the seconds
of its slowest cell. ``--proposed-notebooks`` runs copies of the notebooks with the
changes :data:`PROPOSED` for speed (``Cohort.load(`` → ``thuiszit_eval.demo.load_cohort(``,
so each kernel takes the run's shared cohort; notebook 12's power simulation without its
fixed ``n_jobs=2``); a no-op once the notebooks make these changes themselves.
``--markdown FILE`` writes the tables in Markdown for ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

#: The notebook changes proposed for speed (notebooks are edited by their owner): take the
#: run's shared cohort, and let the power simulation follow the report's share of the cores.
PROPOSED = (("Cohort.load(", "load_cohort("), ("n_jobs=2, progress=False", "progress=False"))


def proposed_copies(dest: Path) -> list[Path]:
    """Copies of the report's notebooks with the :data:`PROPOSED` changes."""
    from thuiszit_eval.report import notebook_paths

    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for nb in notebook_paths():
        doc = json.loads(nb.read_text(encoding="utf-8"))
        for cell in doc["cells"]:
            src = "".join(cell["source"])
            if cell["cell_type"] != "code":
                continue
            if "Cohort.load(" in src:
                src = "from thuiszit_eval.demo import load_cohort\n" + src
            for a, b in PROPOSED:
                src = src.replace(a, b)
            cell["source"] = src.splitlines(keepends=True)
        (dest / nb.name).write_text(json.dumps(doc), encoding="utf-8")
        out.append(dest / nb.name)
    return out


def _child(args: argparse.Namespace) -> None:
    """The measured process: the demo report, as the ``demo`` command builds it."""
    from thuiszit_eval.report import build_report
    from thuiszit_eval.simulate import demo_cohort_path

    params = dict(p.split("=", 1) for p in args.param or [])
    params = {k: int(v) if v.lstrip("-").isdigit() else v for k, v in params.items()}
    nbs = proposed_copies(Path(args.out).parent / "sources") if args.proposed else None
    rep = build_report(demo_cohort_path(), args.out, progress=False, jobs=args.jobs[0],
                       notebooks=nbs, parameters=params)
    print(json.dumps({"failed": [s.notebook for s in rep.failed]}))


def _notebook_times(out: Path) -> list[dict]:
    rows = []
    for nb in sorted((out / "notebooks").glob("*.ipynb")):
        doc = json.loads(nb.read_text(encoding="utf-8"))
        pm = doc["metadata"].get("papermill", {})
        cells = [(c["metadata"].get("papermill", {}).get("duration") or 0.0, i)
                 for i, c in enumerate(doc["cells"]) if c["cell_type"] == "code"]
        slow, idx = max(cells) if cells else (0.0, -1)
        rows.append({"notebook": nb.stem, "seconds": pm.get("duration") or 0.0,
                     "start": pm.get("start_time"), "end": pm.get("end_time"),
                     "slowest_cell": idx, "slowest_cell_s": slow,
                     "outside_cells_s": (pm.get("duration") or 0.0) - sum(c for c, _ in cells)})
    return rows


def _span(rows: list[dict]) -> float:
    ts = [(datetime.fromisoformat(r["start"]), datetime.fromisoformat(r["end"]))
          for r in rows if r["start"] and r["end"]]
    return (max(e for _, e in ts) - min(s for s, _ in ts)).total_seconds() if ts else 0.0


def _run(state: str, jobs: int, caches: Path | None, args: argparse.Namespace) -> dict:
    """One report in a fresh process; ``caches`` None: this user's own (warm) caches."""
    env = dict(os.environ)
    if caches is not None:
        env.update({"THUISZIT_EVAL_CACHE": str(caches / "cohort"),
                    "MPLCONFIGDIR": str(caches / "matplotlib"),
                    "PYTHONPYCACHEPREFIX": str(caches / "pycache")})
    out = Path(tempfile.mkdtemp(prefix=f"bench-report-{state}-{jobs}-")) / "report"
    cmd = [sys.executable, __file__, "--child", "--out", str(out), "--jobs", str(jobs)]
    cmd += ["--proposed-notebooks"] if args.proposed else []
    for p in args.param or []:
        cmd += ["--param", p]
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        sys.exit(f"{state} jobs={jobs} failed:\n{proc.stderr[-3000:]}")
    rows = _notebook_times(out)
    failed = json.loads(proc.stdout.strip().splitlines()[-1])["failed"]
    shutil.rmtree(out.parent, ignore_errors=True)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"state": state, "jobs": jobs, "wall_s": wall, "notebook_phase_s": _span(rows),
            "sum_notebook_s": sum(r["seconds"] for r in rows), "cpu_s": cpu,
            "load_before": load, "failed": failed, "notebooks": rows}


def _markdown(results: list[dict]) -> str:
    lines = ["| state | jobs | whole command (s) | notebook phase (s) | sum of notebooks (s) "
             "| CPU (s) | load before | failed |", "| --- | --- | --- | --- | --- | --- | --- "
             "| --- |"]
    for r in results:
        lines.append(f"| {r['state']} | {r['jobs']} | {r['wall_s']:.1f} | "
                     f"{r['notebook_phase_s']:.1f} | {r['sum_notebook_s']:.1f} | "
                     f"{r['cpu_s']:.1f} | {r['load_before']:.1f} | "
                     f"{', '.join(r['failed']) or 'none'} |")
    names = [n["notebook"] for n in results[0]["notebooks"]]
    head = " | ".join(f"{r['state']} j{r['jobs']}" for r in results)
    lines += ["", f"| notebook (s; slowest cell) | {head} |",
              "| --- |" + " --- |" * len(results)]
    for i, name in enumerate(names):
        cells = []
        for r in results:
            n = r["notebooks"][i]
            cells.append(f"{n['seconds']:.1f} (cell {n['slowest_cell']}: "
                         f"{n['slowest_cell_s']:.1f})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--states", nargs="+", default=["cold", "warm"],
                    choices=["cold", "warm"])
    ap.add_argument("--proposed-notebooks", dest="proposed", action="store_true")
    ap.add_argument("--param", action="append", metavar="NAME=VALUE")
    ap.add_argument("--markdown", metavar="FILE")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args)
        return
    args.jobs = sorted(set(args.jobs))
    results = []
    for jobs in args.jobs:
        caches = Path(tempfile.mkdtemp(prefix="bench-report-caches-"))
        try:
            for state in args.states:  # cold first: warm reuses what cold made
                cold_made = "cold" in args.states
                r = _run(state, jobs, caches if cold_made else None, args)
                results.append(r)
                print(f"{state} jobs={jobs}: command {r['wall_s']:.1f} s, notebooks "
                      f"{r['notebook_phase_s']:.1f} s (sum {r['sum_notebook_s']:.1f} s), "
                      f"CPU {r['cpu_s']:.1f} s, load before {r['load_before']:.1f}, "
                      f"failed: {', '.join(r['failed']) or 'none'}", flush=True)
                for n in r["notebooks"]:
                    print(f"   {n['notebook']:36s} {n['seconds']:6.1f} s  (slowest cell "
                          f"{n['slowest_cell']}: {n['slowest_cell_s']:.1f} s; outside cells "
                          f"{n['outside_cells_s']:.1f} s)", flush=True)
        finally:
            shutil.rmtree(caches, ignore_errors=True)
    if args.markdown:
        Path(args.markdown).write_text(_markdown(results) + "\n", encoding="utf-8")
    print(_markdown(results))


if __name__ == "__main__":
    main()
