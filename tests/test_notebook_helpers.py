"""The small helpers notebooks 04 and 06 call for their sentences (hand-made inputs)."""

import pandas as pd
import pytest

from thuiszit_eval.effects.adjusted import text_count, text_number, truncation_numbers
from thuiszit_eval.regression import compare_reading, ph_terms_text, truth_reading


def _models() -> pd.DataFrame:
    rows = [  # term, model, hr, lower, upper
        ("a", "time-varying", 1.5, 1.2, 1.9), ("a", "ever received", 0.7, 0.5, 0.9),
        ("b", "time-varying", 0.8, 0.6, 0.95), ("b", "ever received", 0.9, 0.7, 1.1),
        ("c", "time-varying", 1.1, 0.9, 1.3), ("c", "ever received", 1.0, 0.8, 1.2),
        ("d", "time-varying", None, None, None), ("d", "ever received", 0.5, 0.3, 0.8),
        ("female", "time-varying", 0.5, 0.3, 0.7), ("female", "ever received", 0.5, 0.3, 0.7),
    ]
    m = pd.DataFrame(rows, columns=["term", "model", "hr", "hr_lower", "hr_upper"])
    kind = ["covariate" if t == "female" else "intervention" for t in m["term"]]
    return m.assign(kind=kind, label=m["term"].str.capitalize())


@pytest.mark.parametrize(("lang", "digits", "expected"), [
    ("nl", 2, "1.234,57"), ("en", 2, "1,234.57"), ("nl", 0, "1.235"), ("en", 1, "0.5"),
])
def test_text_number_per_language(lang, digits, expected):
    x = 0.5 if expected == "0.5" else 1234.567
    assert text_number(x, lang, digits) == expected


def test_text_number_default_two_digits():
    assert text_number(0.1234, "nl") == "0,12"


@pytest.mark.parametrize(("n", "lang", "expected"), [
    (9, "nl", "<10"), (10, "nl", "10"), (1500, "nl", "1.500"), (1500, "en", "1,500"),
    (0, "en", "<10"),
])
def test_text_count_suppresses_below_min_cell(n, lang, expected):
    assert text_count(n, lang, min_cell=10) == expected


def test_text_count_other_min_cell():
    assert text_count(4, "en", min_cell=5) == "<5"
    assert text_count(5, "en", min_cell=5) == "5"


def test_truncation_numbers():
    cap = {"smd_before": 0.314, "smd_after": 0.021, "smd_after_uncapped": 0.015,
           "p_lo": 1, "p_hi": 99, "n_truncated": 8, "n": 1500, "cap_lo": 1.05,
           "cap_hi": 9.876, "max_w_uncapped": 41.26}
    assert truncation_numbers(cap, "en", min_cell=10) == {
        "smd_before": "0.31", "smd_after": "0.02", "smd_after_uncapped": "0.01",
        "cap_lo": "1.05", "cap_hi": "9.88", "p_lo": "1", "p_hi": "99",
        "n_truncated": "<10", "n": "1,500", "max_w_uncapped": "41.3"}


def test_compare_reading_counts_interventions_in_both_models():
    # d lacks a time-varying estimate and female is no intervention: a, b, c count
    assert compare_reading(_models()) == {"n_iv": 3, "n_lower": 2, "n_harm": 1, "n_harm_tv": 1}


def test_truth_reading_counts_coverage():
    truth = {"a": 1.6, "b": 1.0, "c": 1.25, "d": 0.5, "female": 0.5}
    numbers, missed = truth_reading(_models(), truth, "en")
    assert numbers["n_truth"] == 3
    assert numbers["n_tv_cover"] == 2     # a (1.2-1.9), c (0.9-1.3); b misses 1.0
    assert numbers["n_ever_cover"] == 1   # b (0.7-1.1); c (0.8-1.2) misses 1.25
    assert (numbers["top"], numbers["top_true"]) == ("A", "1.60")
    assert numbers["top_tv"] == "1.50 (1.20–1.90)"
    assert numbers["top_ever"] == "0.70 (0.50–0.90)"
    assert missed == "*B*"


def test_truth_reading_language_and_nothing_missed():
    numbers, missed = truth_reading(_models(), {"a": 1.3, "c": 1.0}, "nl")
    assert numbers["n_truth"] == 2 and numbers["n_tv_cover"] == 2
    assert numbers["top_tv"] == "1,50 (1,20–1,90)"
    assert missed == ""


def test_truth_reading_interval_bounds_are_inclusive():
    numbers, missed = truth_reading(_models(), {"a": 1.9, "b": 0.6}, "en")
    assert numbers["n_tv_cover"] == 2 and missed == ""


def test_ph_terms_text():
    rows = pd.DataFrame({"label": ["girl", "age"], "p": [0.0123, 0.04]})
    assert ph_terms_text(rows, "nl") == "*girl* (p = 0,012), *age* (p = 0,040)"
    assert ph_terms_text(rows, "en") == "*girl* (p = 0.012), *age* (p = 0.040)"
    assert ph_terms_text(rows.iloc[:0], "en") == ""
