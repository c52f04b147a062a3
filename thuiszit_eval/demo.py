"""The demo cohort for notebooks and commands run without a cohort of one's own.

Notebooks take a ``cohort_folder`` parameter; left empty, they run on the simulated demo
cohort. Only this module (with the command line, study planning and the tests) reaches
into the simulator: estimation, outcome and report code never does, so an analysis cannot
silently lean on the simulator's field names, dates or truth.

Example
-------
>>> from pathlib import Path
>>> cohort_or_demo("data_schema/example") == Path("data_schema/example")
True
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["cohort_or_demo"]


def cohort_or_demo(cohort_folder: str | Path | None) -> Path:
    """``cohort_folder`` as a path, or the demo cohort (simulated on first use) when empty."""
    if cohort_folder:
        return Path(cohort_folder)
    from .simulate import demo_cohort_path

    return demo_cohort_path()
