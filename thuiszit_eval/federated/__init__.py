"""Federated analysis on vantage6: the pooled answers while every pupil row stays home.

This module is the vantage6 algorithm: vantage6 calls its functions by name. *Partial*
functions (``partial_*``) run at each region (data station) on the region's cohort folder
and return aggregates that obey the minimum cell size; *central* functions
(``central_*``) send the partial tasks and combine. :mod:`.combine` and :mod:`.meta` turn
the combined aggregates into the package's result objects, and :mod:`.demo` runs the
whole analysis on the demo cohort split by samenwerkingsverband.

Example
-------
>>> from thuiszit_eval.federated import mock_client
>>> client = mock_client(["region_a/", "region_b/", "region_c/"])   # doctest: +SKIP
>>> task = client.task.create(input_={"method": "central_survival",
...                                   "kwargs": {"grid": "auto"}},
...                           organizations=[0])                     # doctest: +SKIP
"""

from ._v6 import HAVE_VANTAGE6, MockAlgorithmClient, mock_client, partial_messages
from .central import (
    FederationError,
    central_cox,
    central_logrank_strata,
    central_meta,
    central_survival,
    central_target_trial,
    central_validation,
)
from .partial import (
    partial_bin_check,
    partial_cox_event_times,
    partial_cox_meat,
    partial_cox_risksets,
    partial_cox_stratified,
    partial_logrank_sums,
    partial_model_levels,
    partial_region_estimates,
    partial_survival_counts,
    partial_target_trial,
    partial_validation,
)

__all__ = [
    "HAVE_VANTAGE6",
    "FederationError",
    "MockAlgorithmClient",
    "central_cox",
    "central_logrank_strata",
    "central_meta",
    "central_survival",
    "central_target_trial",
    "central_validation",
    "mock_client",
    "partial_bin_check",
    "partial_cox_event_times",
    "partial_cox_meat",
    "partial_cox_risksets",
    "partial_cox_stratified",
    "partial_logrank_sums",
    "partial_messages",
    "partial_model_levels",
    "partial_region_estimates",
    "partial_survival_counts",
    "partial_target_trial",
    "partial_validation",
]
