"""Survival estimators for time to return to school, proven against R.

Inputs are tidy DataFrames with one row per episode: a duration column (days), an integer
event column (0 = censored, 1 = return to school, 2, 3, ... = competing events) and
optional group / covariate / cluster columns. Every function returns a result object with a
tidy ``.table`` and a ``summary()``; ``tests/r/reference_survival.R`` holds the R reference.
"""

from .competing import AalenJohansenResult, aalen_johansen
from .cox import CoxResult, ZphResult, cox_ph
from .finegray import FineGrayResult, fine_gray, finegray_expand
from .km import KaplanMeierResult, kaplan_meier
from .logrank import LogRankResult, logrank_test

__all__ = [
    "AalenJohansenResult",
    "aalen_johansen",
    "CoxResult",
    "FineGrayResult",
    "KaplanMeierResult",
    "LogRankResult",
    "ZphResult",
    "cox_ph",
    "fine_gray",
    "finegray_expand",
    "kaplan_meier",
    "logrank_test",
]
