"""Numbers, dates and tables in the report's language, from one place (Babel)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from thuiszit_eval import formatting as fmt
from thuiszit_eval.messages import fmt_g, fmt_num
from thuiszit_eval.narrative import _table_html, number, percent


@pytest.mark.parametrize(("x", "lang", "digits", "expected"), [
    (2319, "nl", 0, "2.319"), (2319, "en", 0, "2,319"), (999, "nl", 0, "999"),
    (1234567.891, "nl", 2, "1.234.567,89"), (1234567.891, "en", 1, "1,234,567.9"),
    (0.456, "nl", 2, "0,46"), (-1.5, "en", 1, "-1.5"), (-0.0004, "nl", 2, "0,00"),
    (float("nan"), "nl", 0, ""), (float("inf"), "en", 2, ""), (None, "nl", 0, ""),
])
def test_number(x, lang, digits, expected):
    assert fmt.number(x, lang, digits) == expected


def test_every_route_to_a_number_gives_the_same_text():
    """narrative.number/percent, messages.fmt_num/fmt_g and the table formatter agree: whole
    numbers from 1000 are grouped everywhere ("2.319" never beside "2319")."""
    for lang, grouped in (("nl", "2.319"), ("en", "2,319")):
        assert number(2319, lang) == fmt_num(2319, 0, lang) == grouped
        assert fmt_g(2319.0, lang) == grouped
        cells = fmt.format_table(pd.DataFrame({"n": [2319, 5], "x": [2319.0, np.nan],
                                               "mixed": [2319, "<10"]}), lang)
        assert cells.loc[0].tolist() == [grouped, grouped, grouped]
    assert percent(0.469, "nl", 1) == "46,9%" and percent(0.469, "en") == "47%"
    assert fmt_g(0.5, "nl") == "0,5" and fmt_g(365.0, "en") == "365"


def test_percent_interval_and_estimate():
    assert fmt.percent(float("nan"), "nl") == ""
    assert fmt.interval(1.331, 1.734, "nl") == "1,33–1,73"
    assert fmt.interval(0.195, 0.229, "en", 1, pct=True) == "19.5%–22.9%"
    assert fmt.estimate_with_interval(1.523, 1.331, np.nan, "nl") == "1,52"
    assert fmt.estimate_with_interval(np.nan, 1, 2, "en") == ""
    # an interval that shows no width says nothing
    assert fmt.estimate_with_interval(0.0, 0.0, 0.0001, "nl", 1, pct=True) == "0,0%"


def test_dates_are_written_out_in_the_language():
    assert fmt.date("2025-06-30", "nl") == "30 juni 2025"
    assert fmt.date(pd.Timestamp("2025-06-30"), "en") == "30 June 2025"
    assert fmt.date(None, "nl") == "" and fmt.date("not a date", "en") == ""


def test_unknown_language_is_refused(monkeypatch):
    with pytest.raises(ValueError, match="'fr' not available"):
        fmt.number(1, "fr")
    monkeypatch.setenv("THUISZIT_EVAL_LANG", "en")
    assert fmt.report_lang() == "en" and fmt.report_lang("nl") == "nl"
    monkeypatch.delenv("THUISZIT_EVAL_LANG")
    assert fmt.report_lang() == "nl"


def test_table_drops_a_positional_index_and_keeps_a_labelled_one():
    df = pd.DataFrame({"hr": [1.5, 0.25, 2.0], "p": [0.0004, 0.5, 0.123456]})
    plain = fmt.format_table(df, "nl")
    assert list(plain.columns) == ["hr", "p"]
    assert plain["hr"].tolist() == ["1,50", "0,25", "2,00"]  # one count of decimals per column
    assert plain["p"].tolist() == ["0,0004", "0,500", "0,123"]  # a tiny value is not "0,000"
    named = fmt.format_table(df.set_axis(pd.Index(["a", "b", "c"], name="Groep")), "nl")
    assert list(named.columns) == ["Groep", "hr", "p"] and named["Groep"].tolist() == list("abc")
    labelled = fmt.format_table(df.set_axis(["x", "y", "z"]), "en")
    assert list(labelled.columns) == ["", "hr", "p"] and labelled.iloc[:, 0].tolist() == list("xyz")
    shuffled = fmt.format_table(df.set_axis([2, 0, 1]), "en")  # positions after a sort
    assert list(shuffled.columns) == ["hr", "p"]


def test_table_cells_missing_booleans_and_years():
    df = pd.DataFrame({"jaar": [2023, 2024], "n": [1259.0, np.nan], "label": ["a", None],
                       "ok": [True, False], "school_year": [2024, 2025]})
    nl = fmt.format_table(df, "nl")
    assert nl.loc[0].tolist() == ["2023", "1.259", "a", "ja", "2024"]
    assert nl.loc[1].tolist() == ["2024", "", "", "nee", "2025"]
    assert fmt.format_table(df, "en")["ok"].tolist() == ["yes", "no"]


def test_table_html_has_no_index_column_and_no_nan(monkeypatch):
    df = pd.DataFrame({"n": [2319, 12], "share": [0.5, None], "g": ["a", None]})
    html = _table_html(df, "nl")
    assert "<th></th>" not in html and ">0<" not in html  # no index column
    assert "NaN" not in html and "None" not in html and ">2.319<" in html and ">0,5<" in html
    monkeypatch.setenv("THUISZIT_EVAL_LANG", "en")  # the kernel's language is the default
    assert ">2,319<" in _table_html(df)
    cells = re.findall(r"<td>([^<]*)</td>", html)
    assert not [c for c in cells if re.fullmatch(r"\d{4,}", c)]  # never an ungrouped count


def test_figure_alt_text_comes_from_the_figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2)
    fig.suptitle("Terugkeer $t$")
    a.plot([0, 1], [0, 1], label="Back to School")
    a.plot([0, 1], [1, 0], label="_hidden")
    a.legend()
    a.set(xlabel="Dagen sinds start", ylabel="Aandeel")
    b.set(xlabel="Dagen sinds start", title="Per groep")
    assert fmt.figure_alt(fig, "nl") == (
        "Figuur: Terugkeer t; Per groep. Horizontale as: Dagen sinds start. "
        "Verticale as: Aandeel. Legenda: Back to School.")
    assert fmt.figure_alt(fig, "en").startswith("Figure: Terugkeer t; Per groep. Horizontal")
    empty, _ = plt.subplots()
    assert fmt.figure_alt(empty, "en") == ""
    plt.close("all")


def test_docstring_examples():
    import doctest

    result = doctest.testmod(fmt, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 5 and result.failed == 0


def test_a_name_on_the_columns_does_not_shift_the_rows():
    """pandas puts the columns' name where the index header goes; without the index it
    would shift every row by one cell. It titles the row labels, or spans the columns."""
    waits = pd.DataFrame({"wachtlijst": [468, 204]}, index=["periodes", "beëindigd"])
    waits.columns.name = "Indicator"
    html = _table_html(waits, "nl")
    assert "<th></th>" not in html and "<th>Indicator</th>" in html
    assert re.findall(r"<td>([^<]*)</td>", html) == ["periodes", "468", "beëindigd", "204"]
    within = pd.DataFrame({"4 weken": ["2%"], "3 maanden": ["24%"]},
                          index=pd.Index(["a"], name="Groep"))
    within.columns.name = "terug binnen"
    html = _table_html(within, "nl")
    assert '<th colspan="2" halign="left">terug binnen</th>' in html and "<th>Groep</th>" in html
    assert re.findall(r"<td>([^<]*)</td>", html) == ["a", "2%", "24%"]


def test_table_decimals_follow_the_column_and_dates_are_written_out():
    df = pd.DataFrame({"expected": [145.8333, 32.1], "mc_se": [0.10683, 0.2],
                       "start": pd.to_datetime(["2024-07-31", None])})
    out = fmt.format_table(df, "nl")
    assert out["expected"].tolist() == ["145,8", "32,1"]  # four significant digits at most
    assert out["mc_se"].tolist() == ["0,107", "0,200"]
    assert out["start"].tolist() == ["31 juli 2024", ""]
