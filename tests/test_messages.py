"""The message catalogue: every key in both languages, with the same placeholders."""

from __future__ import annotations

import string

import pytest

from thuiszit_eval.messages import LANGS, MESSAGES, fmt_g, fmt_num, t


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_key_has_both_languages_with_same_placeholders(key):
    entry = MESSAGES[key]
    assert set(entry) == set(LANGS) == {"nl", "en"}
    for lang in LANGS:
        assert isinstance(entry[lang], str) and entry[lang].strip(), (key, lang)
    assert _fields(entry["nl"]) == _fields(entry["en"]), key


def test_t_default_dutch_and_formats():
    assert t("median_days") == "Mediaan aantal dagen tot terugkeer"
    assert t("median_days", "en") == "Median days to return"
    assert t("flow_rejected", "en", rule="dup") == "rejected: dup"
    assert t("flow_rejected", rule="dup") == "afgewezen: dup"


def test_t_unknown_language_raises():
    with pytest.raises(ValueError, match="language"):
        t("median_days", "de")
    with pytest.raises(ValueError):
        t("median_days", "")


def test_number_formatting_per_language():
    assert fmt_num(1.234) == "1,23"
    assert fmt_num(1.234, 1, "en") == "1.2"
    assert fmt_g(0.5, "nl") == "0,5" and fmt_g(0.5, "en") == "0.5"
    with pytest.raises(ValueError):
        fmt_num(1.0, 2, "fr")


def test_effects_figures_follow_the_language():
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    import pandas as pd

    from thuiszit_eval.effects.plots import adjusted_curve_plot, love_plot, overlap_plot

    bal = pd.DataFrame({"covariate": ["a", "b"], "smd": [0.3, -0.05],
                        "smd_weighted": [0.02, 0.01]})
    assert love_plot(bal, lang="en").axes[0].get_title() == "Covariate balance"
    assert love_plot(bal, lang="nl").axes[0].get_title() == "Balans van de kenmerken"
    fig = overlap_plot(np.array([0.2, 0.6, 0.4]), np.array([1, 0, 1]), lang="nl")
    assert fig.axes[0].get_xlabel() == "propensityscore"
    assert [x.get_text() for x in fig.axes[0].get_legend().get_texts()] == [
        "behandeld", "controle"]
    curves = pd.DataFrame({"group": ["x", "x"], "time": [1.0, 2.0], "surv": [0.8, 0.5]})
    ax = adjusted_curve_plot(curves, lang="en").axes[0]
    assert ax.get_xlabel() == "days since start of the intervention"
    assert ax.get_ylabel() == "still at home (not returned)"
