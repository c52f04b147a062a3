"""One message catalogue for the fixed text of reports, in Dutch (default) and English.

Labels of coded values come from the code lists (:func:`thuiszit_eval.schema.labels`);
everything else a reader sees in the report's fixed narrative comes from here, so that a
translation is one file, not literals scattered over modules.

Example
-------
>>> t("median_days", "en")
'Median days to return'
>>> t("median_days")
'Mediaan aantal dagen tot terugkeer'
"""

from __future__ import annotations

LANGS = ("nl", "en")

MESSAGES: dict[str, dict[str, str]] = {
    "report_title": {
        "nl": "Evaluatie terugkeer naar school van thuiszitters",
        "en": "Evaluation of thuiszitters' return to school",
    },
    "cohort": {"nl": "Cohort", "en": "Cohort"},
    "follow_up_end": {"nl": "Einde follow-up", "en": "End of follow-up"},
    "generated_with": {
        "nl": "Gemaakt met thuiszit-eval {version}; alle tabellen zijn geaggregeerd en "
        "aantallen kleiner dan {min_cell} zijn onderdrukt.",
        "en": "Made with thuiszit-eval {version}; all tables are aggregated and counts "
        "below {min_cell} are suppressed.",
    },
    "key_figures": {"nl": "Kerncijfers", "en": "Key figures"},
    "key_figures_note": {
        "nl": "Terugkeer = elke terugkeer naar school, gemeten vanaf de start van de "
        "afwezigheid; vrijstellingen, verhuizing en het einde van de leerplicht zijn "
        "concurrerende uitkomsten. Kaplan-Meier-schattingen met 95%-betrouwbaarheidsinterval; "
        "niet gecorrigeerd voor verschillen tussen groepen (zie de hoofdstukken over effecten).",
        "en": "Return = any return to school, measured from the start of the absence; "
        "exemptions, moving away and ageing out are competing outcomes. Kaplan-Meier "
        "estimates with 95% confidence interval; not adjusted for differences between groups "
        "(see the chapters on effects).",
    },
    "group": {"nl": "Groep", "en": "Group"},
    "all_episodes": {"nl": "Alle episodes", "en": "All episodes"},
    "episodes": {"nl": "Episodes", "en": "Episodes"},
    "pupils": {"nl": "Leerlingen", "en": "Pupils"},
    "median_days": {
        "nl": "Mediaan aantal dagen tot terugkeer",
        "en": "Median days to return",
    },
    "back_within_4w": {"nl": "Terug binnen 4 weken", "en": "Back within 4 weeks"},
    "back_within_3m": {"nl": "Terug binnen 3 maanden", "en": "Back within 3 months"},
    "not_reached": {"nl": "niet bereikt", "en": "not reached"},
    "suppressed": {"nl": "onderdrukt (te weinig leerlingen)", "en": "suppressed (too few pupils)"},
    "adjusted_effect": {
        "nl": "Gecorrigeerd effect (target trial, Back to School binnen 4 weken)",
        "en": "Adjusted effect (target trial, Back to School within 4 weeks)",
    },
    "contents": {"nl": "Inhoud", "en": "Contents"},
    "section_failed": {
        "nl": "Dit hoofdstuk kon niet worden uitgevoerd",
        "en": "This section could not be executed",
    },
    "status_ok": {"nl": "uitgevoerd", "en": "executed"},
    "status_failed": {"nl": "mislukt", "en": "failed"},
    "no_intervention": {"nl": "geen interventie gestart", "en": "no intervention started"},
}


def t(key: str, lang: str = "nl", **fmt: object) -> str:
    """The message ``key`` in ``lang`` (``nl`` or ``en``), formatted with ``fmt``."""
    if lang not in LANGS:
        raise ValueError(f"language {lang!r} not available; choose one of {', '.join(LANGS)}")
    text = MESSAGES[key][lang]
    return text.format(**fmt) if fmt else text
