"""Figures. Each function takes a tidy result and returns a matplotlib Figure.

Example
-------
>>> from thuiszit_eval.cohort import Cohort
>>> from thuiszit_eval.schema import schema_dir
>>> from thuiszit_eval.plots import validation_flow
>>> fig = validation_flow(Cohort.load(schema_dir() / "example").report)
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from .validation import ValidationReport


def validation_flow(report: ValidationReport, title: str | None = None) -> Figure:
    """Horizontal bars per table: rows accepted, and rows rejected split by rule."""
    flow = report.flow()
    tables = flow.loc[flow.stage == "read", "table"].tolist()
    rejected = flow[flow.stage == "rejected"]
    rules = rejected.groupby("rule")["rows"].sum().sort_values(ascending=False).index.tolist()
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(tables) + 2.4))
    left = pd.Series(0.0, index=tables)
    acc = flow[flow.stage == "accepted"].set_index("table")["rows"].reindex(tables)
    ax.barh(tables, acc, color="#4c9a6a", label="accepted")
    left += acc
    colours = plt.get_cmap("tab10")
    for i, rule in enumerate(rules):
        n = rejected[rejected.rule == rule].set_index("table")["rows"].reindex(tables).fillna(0)
        ax.barh(tables, n, left=left, color=colours(i % 10), label=f"rejected: {rule}")
        left += n
    ax.invert_yaxis()
    ax.set_xlabel("rows read")
    ax.set_title(title or f"Rows read, accepted and rejected — {report.cohort}")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, fontsize="small",
              frameon=False)
    fig.tight_layout()
    return fig
