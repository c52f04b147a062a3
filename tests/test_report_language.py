"""One language in every report (issue 13): what a reader sees has no code key, no
snake_case name, no text of the other language, no nan/None, traceback or local path.

The Dutch and the English report are rendered on the demo cohort, on a cohort of 15
pupils and on one of 300 pupils, with few bootstrap replicates and simulations (the method
is the same; the count only narrows the intervals). They are built once per test session
by ``tests/conftest.py`` and shared with the page-width, privacy and injection tests. This
test reuses ``visible_text`` and ``forbidden`` of ``test_report_matrix.py``, and also
requires each report to pass its own privacy scan.

The checks (:func:`language_findings`) are plain functions, so each is also tested on a
made-up text that must fail it.
"""

from __future__ import annotations

import re
import string
from functools import cache

import pandas as pd
import pytest
from test_report_matrix import forbidden, visible_text

from thuiszit_eval.messages import LANGS, MESSAGES
from thuiszit_eval.schema import schema_dir
from thuiszit_eval.simulate import demo_cohort_path

#: The cohorts of the test: the demo cohort, 15 and 300 pupils.
COHORTS = ("demo", "n15", "n300")
CASES = [(c, lang) for c in COHORTS for lang in LANGS]

#: A snake_case word: letters, then an underscore and more (``rows_read``, ``share_%``,
#: ``swv_id[SWV-02]``). Identifiers of the cohort itself (``SWV_01``) start with a capital.
SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[\w%]*")


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text))


#: Codes that are also ordinary words or symbols of a language and cannot be told apart
#: from them in running text: "so" (special primary education) and "none" in English ("so
#: that", "none of these"), and the one-letter sex codes (a formula's "f", "x").
ORDINARY = {"en": {"so", "none", "m", "f", "x"}, "nl": {"m", "f", "x"}}


@cache
def _codes() -> dict[str, set[str]]:
    """Per language: the codes of every code list that must not be shown as they are.

    A code is exempt where it is an ordinary word of the report's language: it is itself
    a word of some label or catalogue message of that language ("school", "online",
    "autism" in English; "online" in Dutch). English text also uses the Dutch terms of
    the field with a translation ("a thuiszitterstafel (case table)"), so a word of a Dutch
    label is exempt in English too. A code with an underscore is never exempt.
    """
    lists = [pd.read_csv(p, dtype=str) for p in sorted((schema_dir() / "codelists").glob("*.csv"))]
    codes = set().union(*(set(cl["code"]) for cl in lists))
    out = {}
    for lang in LANGS:
        labels = ("label_nl", "label_en") if lang == "en" else (f"label_{lang}",)
        vocabulary = set().union(
            *(_words(" ".join(cl[col])) for cl in lists for col in labels),
            *(_words(m[lang]) for m in MESSAGES.values()))
        out[lang] = {c for c in codes if "_" in c or c not in vocabulary | ORDINARY[lang]}
    return out


@cache
def _other_language(lang: str) -> set[str]:
    """Fragments of the catalogue in the other language(s): each message that differs
    between the languages, split at its ``{placeholders}``, fragments over 12 characters."""
    fragments = set()
    for msg in MESSAGES.values():
        if len(set(msg.values())) == 1:
            continue
        for other in LANGS:
            if other == lang or msg[other] == msg[lang]:
                continue
            for literal, *_ in string.Formatter().parse(msg[other]):
                literal = literal.strip(" .,;:()-–")
                if len(literal) > 12 and literal not in msg[lang]:
                    fragments.add(literal)
    return fragments


#: A file of the cohort, named as the analyst named it (``process_events.csv``): not a
#: word of either language, so left out of the language checks (not of ``forbidden``).
FILE_NAME = re.compile(r"[\w.-]+\.(?:csv|parquet|xlsx|json)\b")


def language_findings(text: str, lang: str) -> dict[str, str]:
    """What in ``text`` does not belong in a report in ``lang``, with some context."""
    found = dict(forbidden(text))
    text = FILE_NAME.sub("", text)

    def context(m: re.Match) -> str:
        return text[max(0, m.start() - 60):m.end() + 30]

    if m := SNAKE.search(text):
        found["snake_case"] = context(m)
    codes = _codes()[lang]
    for m in re.finditer(r"(?<![\w-])\w+(?![\w-])", text):
        if m.group() in codes:
            found["code key"] = context(m)
            break
    for frag in sorted(_other_language(lang), key=len, reverse=True):
        i = text.find(frag)
        if i >= 0:
            found["other language"] = text[max(0, i - 40):i + len(frag) + 40]
            break
    return found


def test_the_checks_find_what_they_look_for():
    assert language_findings("Groep: back_to_school, 12 dagen", "nl").keys() >= {
        "snake_case", "code key"}
    assert "code key" in language_findings("Terugkeer per groep: lrv en dreigend", "nl")
    assert "code key" in language_findings("schooltype: vo", "nl")
    assert "snake_case" in language_findings("kolom share_% en rows_read", "nl")
    assert language_findings("bestand process_events.csv, 12 rijen", "nl") == {}
    assert "other language" in language_findings(
        "Kerncijfers. " + MESSAGES["median_days"]["en"], "nl")
    assert "other language" in language_findings(MESSAGES["median_days"]["nl"], "en")
    assert "None" in language_findings("aandeel None", "nl")
    # ordinary words and labels are not code keys; the report's own language is fine
    assert language_findings(
        "Back to School: 52 dagen, thuis bij ouders, online. " + MESSAGES["median_days"]["nl"],
        "nl") == {}
    assert language_findings("Back to School at school, at home, online, autism; "
                             + MESSAGES["median_days"]["en"], "en") == {}


# --------------------------------------------------------------------------- the reports


@pytest.fixture(scope="module")
def reports(report_builds):
    """The six reports (tests/conftest.py builds each once per session)."""
    return {case: report_builds(*case) for case in CASES}


@pytest.mark.parametrize(("cohort", "lang"), CASES)
def test_report_speaks_one_language(reports, cohort: str, lang: str):
    rep = reports[(cohort, lang)]
    assert not rep.failed, rep.summary()
    text = visible_text(rep.html_path.read_text(encoding="utf-8"))
    assert language_findings(text, lang) == {}


# --------------------------------------------------------------------------- the figures


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")) if t.get_text()]


def test_km_plot_names_groups_in_the_report_language():
    import matplotlib.pyplot as plt

    from thuiszit_eval.plots import km_plot
    from thuiszit_eval.survival import kaplan_meier

    df = pd.DataFrame({"duration": [5, 8, 9, 12, 20, 30, 31, 40],
                       "event": [1, 0, 1, 1, 1, 1, 0, 1],
                       "group": ["back_to_school"] * 4 + ["none"] * 4})
    for lang, want in (("nl", ["Back to School", MESSAGES["no_intervention"]["nl"]]),
                       ("en", ["Back to School", MESSAGES["no_intervention"]["en"]])):
        fig = km_plot(kaplan_meier(df, group="group"), lang=lang)
        ax, tab = fig.axes
        assert [t.get_text() for t in ax.get_legend().get_texts()] == want
        assert [t.get_text() for t in tab.get_yticklabels()] == want
        assert not any(SNAKE.search(s) for s in _texts(fig))
        plt.close(fig)


def test_love_plot_names_covariates():
    import matplotlib.pyplot as plt

    from thuiszit_eval.effects.plots import love_plot

    bal = pd.DataFrame({"covariate": ["need_psychiatric", "swv_id[SWV-02]", "episode_type[lrv]",
                                      "log_days_home", "buurt_code"],
                        "smd": [0.3, 0.2, 0.1, 0.05, 0.01],
                        "smd_weighted": [0.01, 0.02, 0.01, 0.0, 0.0]})
    fig = love_plot(bal, lang="nl", titles={"buurt_code": "Buurt (CBS-code)"})
    shown = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert shown == ["Buurt (CBS-code)", "Dagen thuis vóór de start (log)",
                     "Type episode: langdurig relatief verzuim", "Samenwerkingsverband: SWV-02",
                     "Zorgbehoefte: psychiatrische problematiek"]
    plt.close(fig)


def test_region_table_and_funnel_read_in_words():
    import matplotlib.pyplot as plt

    from thuiszit_eval.cohort import Cohort
    from thuiszit_eval.regions import display_table, funnel_plot, region_table

    cohort = Cohort.load(demo_cohort_path())
    table = region_table(cohort, "swv_id")
    for lang in LANGS:
        shown = display_table(table, lang=lang)
        text = " ".join(map(str, [*shown.columns, *shown.to_numpy().ravel()]))
        assert language_findings(text, lang) == {}, text
    fig = funnel_plot(table, "nl")
    named = {t.get_text() for t in fig.axes[0].texts}
    outside = set(table.loc[table["funnel"].astype(str) != "within", "swv_id"])
    assert named == outside  # only the regions outside the limits are named
    plt.close(fig)


def test_a_simulated_cohort_is_named_in_the_report_language():
    from thuiszit_eval.cohort import Cohort
    from thuiszit_eval.describe import cohort_name

    demo = Cohort.load(demo_cohort_path())
    seed = demo.metadata["seed"]
    assert cohort_name(demo, "nl") == f"gesimuleerd cohort (seed {seed})"
    assert cohort_name(demo, "en") == f"simulated cohort (seed {seed})"
    example = Cohort.load(schema_dir() / "example")
    assert cohort_name(example, "nl") == example.name  # a real cohort keeps its own name


@pytest.mark.parametrize(("cohort", "lang"), CASES)
def test_report_passes_its_privacy_scan(reports, cohort: str, lang: str):
    """The scan of page, CSVs and executed notebooks (thuiszit_eval.disclosure) finds no id,
    no small count and no count a reader could recompute from a share or the other cells."""
    rep = reports[(cohort, lang)]
    assert rep.publishable, rep.findings
