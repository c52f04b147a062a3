"""Survival estimators for time to return to school, proven against R.

Inputs are tidy DataFrames with one row per episode: a duration column (days), an integer
event column (0 = censored, 1 = return to school, 2, 3, ... = competing events) and
optional group / covariate / cluster columns. Every function returns a result object with a
tidy ``.table`` and a ``summary()``; ``tests/r/reference_survival.R`` and
``tests/r/reference_survival_extra.R`` hold the R reference. Every estimator takes an
optional ``entry`` column (delayed entry: at risk on (entry, duration], a prevalent cohort).
"""

from .competing import AalenJohansenResult, aalen_johansen
from .cox import CoxResult, ZphResult, cox_ph
from .finegray import FineGrayResult, fine_gray, finegray_expand
from .gray import GrayTestResult, cuminc, gray_test
from .km import KaplanMeierResult, kaplan_meier
from .logrank import LogRankResult, TrendResult, logrank_test

__all__ = [
    "AalenJohansenResult",
    "aalen_johansen",
    "CoxResult",
    "FineGrayResult",
    "GrayTestResult",
    "KaplanMeierResult",
    "LogRankResult",
    "TrendResult",
    "ZphResult",
    "cox_ph",
    "cuminc",
    "fine_gray",
    "finegray_expand",
    "gray_test",
    "kaplan_meier",
    "logrank_test",
]
