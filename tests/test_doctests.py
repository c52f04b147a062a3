"""The worked examples in the docstrings of the modules added for any-cohort analysis run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["thuiszit_eval.covariates", "thuiszit_eval.estimability",
           "thuiszit_eval.imputation", "thuiszit_eval.narrative", "thuiszit_eval.demo"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str):
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
