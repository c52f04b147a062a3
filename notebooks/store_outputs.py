"""Re-run the notebooks in place on their default cohort, so they are stored with outputs.

nbval (in the test suite) re-runs each notebook and compares its outputs with the stored
ones; after a change to a notebook or to what it shows, store the new outputs with::

    .venv/bin/python notebooks/store_outputs.py            # every notebook, two at a time
    .venv/bin/python notebooks/store_outputs.py 04 07      # only these

Each notebook runs with papermill without parameters: the defaults of its parameters cell
(the demo cohort, or the example cohort for 00 and 01). Papermill's record of local paths
is removed from the stored notebook (the run time it records stays: the report starts the
longest notebooks first).
"""

from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(path: Path) -> str:
    import papermill as pm

    from thuiszit_eval.disclosure import scrub_notebook

    pm.execute_notebook(str(path), str(path), kernel_name="python3", cwd=str(HERE),
                        progress_bar=False)
    scrub_notebook(path)  # papermill records this checkout's paths in the metadata
    return path.name


def main(argv: list[str]) -> None:
    paths = sorted(HERE.glob("[0-9][0-9]_*.ipynb"))
    if argv:
        paths = [p for p in paths if p.name[:2] in argv]
    from thuiszit_eval.demo import cohort_or_demo

    cohort_or_demo("")  # simulate the demo cohort once, before the parallel runs
    with ProcessPoolExecutor(max_workers=2) as pool:
        for name in pool.map(run, paths):
            print("stored", name)


if __name__ == "__main__":
    main(sys.argv[1:])
