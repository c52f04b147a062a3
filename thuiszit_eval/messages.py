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

from collections.abc import Sequence

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
    # ---- privacy scan of the report (thuiszit_eval.report.privacy_check) --------------
    "privacy.not_publishable": {
        "nl": "Niet publiceerbaar: de privacycontrole van dit rapport vond {n} "
        "bevinding(en), zoals aantallen onder de minimale celgrootte of aantallen die uit "
        "een percentage terug te rekenen zijn. Ze staan in privacy_findings.txt naast dit "
        "rapport. Deel of publiceer dit rapport niet voordat ze zijn opgelost.",
        "en": "Not publishable: the privacy check of this report found {n} finding(s), such "
        "as counts below the minimum cell size or counts that can be worked back from a "
        "share. They are listed in privacy_findings.txt beside this report. Do not share "
        "or publish this report until they are resolved.",
    },
    "privacy.passed": {
        "nl": "Privacycontrole geslaagd: het rapport bevat geen leerling- of "
        "episodenummers, geen aantallen onder {min_cell} en geen aantallen die uit "
        "percentages of totalen terug te rekenen zijn.",
        "en": "Privacy check passed: the report holds no pupil or episode ids, no counts "
        "below {min_cell} and no counts that can be worked back from shares or totals.",
    },
    "key_figures": {"nl": "Kerncijfers", "en": "Key figures"},
    "key_figures_note": {
        "nl": "Terugkeer = elke terugkeer naar school, gemeten vanaf de start van de "
        "afwezigheid; vrijstellingen, verhuizing en het einde van de leerplicht zijn "
        "concurrerende uitkomsten. 'Terug binnen' is de cumulatieve incidentie van terugkeer "
        "(Aalen-Johansen), die deze concurrerende uitkomsten niet als 'nog thuis' telt; de "
        "mediaan is een Kaplan-Meier-schatting. Tussen haakjes het 95%-betrouwbaarheidsinterval. "
        "Een aandeel dat een aantal kleiner dan {min_cell} zou verraden, is niet getoond.",
        "en": "Return = any return to school, measured from the start of the absence; "
        "exemptions, moving away and ageing out are competing outcomes. 'Back within' is the "
        "cumulative incidence of return (Aalen-Johansen), which does not count these competing "
        "outcomes as 'still at home'; the median is a Kaplan-Meier estimate. In brackets the 95% "
        "confidence interval. A share that would give away a count below {min_cell} is not shown.",
    },
    # ---- front page and page layout (thuiszit_eval.report, helper D) ---------------------
    "key_adjusted_heading": {"nl": "Wat werkt: gecorrigeerde effecten",
                             "en": "What works: adjusted effects"},
    "key_adjusted_faster": {
        "nl": "Leerlingen met {group} keren {hr} keer zo snel terug naar school ({lo}–{hi}) "
        "als vergelijkbare leerlingen zonder deze interventie.",
        "en": "Pupils with {group} return to school {hr} times as fast ({lo}–{hi}) as "
        "comparable pupils without it.",
    },
    "key_adjusted_slower": {
        "nl": "Leerlingen met {group} keren langzamer terug naar school dan vergelijkbare "
        "leerlingen zonder deze interventie: {hr} keer zo snel ({lo}–{hi}).",
        "en": "Pupils with {group} return to school more slowly than comparable pupils without "
        "it: {hr} times as fast ({lo}–{hi}).",
    },
    "key_adjusted_unclear": {
        "nl": "Leerlingen met {group} keren niet aantoonbaar sneller of langzamer terug dan "
        "vergelijkbare leerlingen zonder deze interventie ({hr} keer zo snel, {lo}–{hi}).",
        "en": "Pupils with {group} return neither clearly faster nor clearly slower than "
        "comparable pupils without it ({hr} times as fast, {lo}–{hi}).",
    },
    "key_adjusted_suppressed": {
        "nl": "Voor {group} zijn er te weinig leerlingen of terugkeren om een effect te tonen.",
        "en": "For {group} there are too few pupils or returns to show an effect.",
    },
    "key_adjusted_not_available": {
        "nl": "Voor {group} kan het effect in dit cohort niet worden geschat.",
        "en": "For {group} the effect cannot be estimated in this cohort.",
    },
    "key_adjusted_none": {
        "nl": "Dit cohort heeft geen interventiegroep waarvan het effect kan worden geschat.",
        "en": "This cohort has no intervention group whose effect can be estimated.",
    },
    "key_unadjusted_heading": {"nl": "Ongecorrigeerde cijfers per groep",
                               "en": "Unadjusted figures per group"},
    "immortal_time_caveat": {
        "nl": "Let op: deze tabel vergelijkt episodes naar de interventie die ze uiteindelijk "
        "kregen, zonder correctie. De tijd vóór de start van een interventie telt mee voor de "
        "interventiegroep: een leerling die pas na weken aan een interventie begint, kan in "
        "die weken niet terugkeren 'met interventie'. Een latere start laat een interventie "
        "dus trager lijken. Daarom is een verschil in deze tabel geen effect van een "
        "interventie{example}; de gecorrigeerde effecten hierboven tellen een interventie pas "
        "vanaf haar start.",
        "en": "Note: this table compares episodes by the intervention they eventually got, "
        "without adjustment. The time before an intervention starts counts for the "
        "intervention group: a pupil who starts an intervention only after weeks cannot "
        "return 'with the intervention' in those weeks. A later start therefore makes an "
        "intervention look slower. This is why a difference in this table is not an effect "
        "of an intervention{example}; the adjusted effects above count an intervention only "
        "from its start.",
    },
    "immortal_time_example": {
        "nl": " (zoals de mediaan van {with_days} dagen met {group} tegenover {without_days} "
        "dagen bij {reference})",
        "en": " (such as the median of {with_days} days with {group} against {without_days} "
        "days for {reference})",
    },
    "reference_group": {"nl": "referentiegroep", "en": "reference group"},
    "share_not_shown": {"nl": "niet getoond (kleine aantallen)",
                        "en": "not shown (small numbers)"},
    "figure_alt_title": {"nl": "Figuur: {title}.", "en": "Figure: {title}."},
    "figure_alt_plain": {"nl": "Figuur.", "en": "Figure."},
    "figure_alt_x": {"nl": "Horizontale as: {label}.", "en": "Horizontal axis: {label}."},
    "figure_alt_y": {"nl": "Verticale as: {label}.", "en": "Vertical axis: {label}."},
    "figure_alt_legend": {"nl": "Legenda: {items}.", "en": "Legend: {items}."},
    "figure_alt_heading": {"nl": "Figuur bij: {heading}.", "en": "Figure for: {heading}."},
    "figure_alt_section": {"nl": "Figuur in hoofdstuk {title}.",
                           "en": "Figure in section {title}."},
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
        "nl": "Gecorrigeerde hazard ratio van terugkeer (95%-BI)",
        "en": "Adjusted hazard ratio of return (95% CI)",
    },
    "adjusted_effect_note": {
        "nl": "De gecorrigeerde hazard ratio komt uit een tijdsafhankelijk Cox-model (de "
        "interventie telt pas vanaf haar start, gecorrigeerd voor leerlingkenmerken, "
        "gestratificeerd naar samenwerkingsverband, standaardfouten geclusterd op leerling; "
        "zie hoofdstuk 04): boven 1 = snellere terugkeer dan zonder die interventie.",
        "en": "The adjusted hazard ratio comes from a time-varying Cox model (the intervention "
        "counts only from its start, adjusted for pupil characteristics, stratified by "
        "samenwerkingsverband, standard errors clustered on pupil; see chapter 04): above 1 = "
        "faster return than without it.",
    },
    "not_available": {"nl": "niet beschikbaar", "en": "not available"},
    "validation.rule.missing_file": {
        "nl": "een verplichte tabel heeft geen bestand in de map",
        "en": "a required table has no file in the folder",
    },
    "validation.rule.empty_file": {
        "nl": "het bestand heeft geen rijen (een waarschuwing bij optionele tabellen)",
        "en": "the file has no rows (a warning for optional tables)",
    },
    "validation.rule.missing_column": {
        "nl": "een verplichte kolom ontbreekt: elke rij van de tabel wordt afgewezen",
        "en": "a required column is absent: every row of the table is rejected",
    },
    "validation.rule.unknown_column": {
        "nl": (
            "een kolom die niet in het schema staat en niet als extra veld in datapackage.json "
            "is opgegeven; hij wordt genegeerd"
        ),
        "en": (
            "a column that is neither in the schema nor declared as extra field in "
            "datapackage.json; it is ignored"
        ),
    },
    "validation.rule.malformed_row": {
        "nl": "de rij heeft een ander aantal velden dan de kopregel",
        "en": "the row has a different number of fields than the header",
    },
    "validation.rule.duplicate_column": {
        "nl": (
            "twee kolommen met dezelfde naam (hoofdletters en spaties tellen niet): elke rij "
            "wordt afgewezen"
        ),
        "en": (
            "two columns with the same name (ignoring case and spaces): every row is rejected"
        ),
    },
    "validation.rule.invalid_text": {
        "nl": "bytes die geen tekst zijn in de codering van het bestand, of stuurtekens",
        "en": "bytes that are not text in the file's encoding, or control characters",
    },
    "validation.rule.spreadsheet_formula": {
        "nl": "een Excel-formule zonder opgeslagen waarde, of een Excel-foutwaarde (#DEEL/0!)",
        "en": "an Excel formula without a stored value, or an Excel error value (#DIV/0!)",
    },
    "validation.rule.direct_identifier": {
        "nl": (
            "een kolom bevat BSN's, namen of contactgegevens: de hele tabel wordt geweigerd tot"
            " hij gepseudonimiseerd is"
        ),
        "en": (
            "a column holds BSNs, names or contact details: the whole table is refused until it"
            " is pseudonymised"
        ),
    },
    "validation.rule.required": {
        "nl": "een verplicht veld is leeg",
        "en": "a required field is empty",
    },
    "validation.rule.invalid_date": {
        "nl": "geen datum, of een datum die niet bestaat (31-02)",
        "en": "not a date, or a date that does not exist (31-02)",
    },
    "validation.rule.invalid_yearmonth": {
        "nl": "geen maand JJJJ-MM",
        "en": "not a month YYYY-MM",
    },
    "validation.rule.invalid_integer": {
        "nl": "geen geheel getal",
        "en": "not a whole number",
    },
    "validation.rule.invalid_number": {
        "nl": "geen getal",
        "en": "not a number",
    },
    "validation.rule.invalid_boolean": {
        "nl": "geen waar/onwaar",
        "en": "not true/false",
    },
    "validation.rule.unknown_code": {
        "nl": (
            "een code die niet in de codelijst staat (de dichtstbijzijnde geldige code wordt "
            "voorgesteld)"
        ),
        "en": "a code not in the code list (the nearest valid code is suggested)",
    },
    "validation.rule.pattern": {
        "nl": "een id of code in de verkeerde vorm",
        "en": "an id or code in the wrong format",
    },
    "validation.rule.out_of_range": {
        "nl": "een getal buiten het toegestane bereik",
        "en": "a number outside its allowed range",
    },
    "validation.rule.implausible_date": {
        "nl": "een datum vóór {year} (bijv. Excels 1900)",
        "en": "a date before {year} (e.g. Excel's 1900)",
    },
    "validation.rule.after_follow_up_end": {
        "nl": "een datum na het einde van de follow-up van het cohort",
        "en": "a date after the cohort's follow-up end",
    },
    "validation.rule.duplicate_id": {
        "nl": "de sleutel is al gebruikt door een eerdere rij (die blijft behouden)",
        "en": "the key was already used by an earlier row (that one is kept)",
    },
    "validation.rule.end_before_start": {
        "nl": "een einddatum vóór de startdatum",
        "en": "an end date before the start date",
    },
    "validation.rule.end_reason_without_end_date": {
        "nl": "een reden van beëindiging maar geen einddatum",
        "en": "an end reason but no end date",
    },
    "validation.rule.end_date_without_reason": {
        "nl": "een einddatum zonder reden van beëindiging; gelezen als 'onbekend'",
        "en": "an end date without end reason; read as 'unknown'",
    },
    "validation.rule.reported_before_start": {
        "nl": "gemeld bij leerplicht vóór het begin van het verzuim",
        "en": "reported to leerplicht before the absence started",
    },
    "validation.rule.overlapping_episode": {
        "nl": (
            "begint voordat een eerdere episode van dezelfde leerling eindigde (de latere "
            "episode wordt afgewezen)"
        ),
        "en": (
            "starts before an earlier episode of the same pupil ended (the later episode is "
            "rejected)"
        ),
    },
    "validation.rule.age_out_of_range": {
        "nl": "leeftijd bij begin van het verzuim buiten 4-23 jaar",
        "en": "age at absence start outside 4-23 years",
    },
    "validation.rule.unknown_pupil": {
        "nl": "verwijst naar een leerling die niet bij de geaccepteerde leerlingen hoort",
        "en": "refers to a pupil that is not among the accepted pupils",
    },
    "validation.rule.unknown_episode": {
        "nl": "verwijst naar een episode die niet bij de geaccepteerde episodes hoort",
        "en": "refers to an episode that is not among the accepted episodes",
    },
    "validation.rule.episode_of_other_pupil": {
        "nl": "gekoppeld aan een episode van een andere leerling",
        "en": "linked to an episode of another pupil",
    },
    "validation.rule.start_before_referral": {
        "nl": "een interventie die start vóór haar aanmelding",
        "en": "an intervention starting before its referral",
    },
    "validation.rule.outside_episode": {
        "nl": (
            "een interventie buiten haar episode, meer dan de tolerantie "
            "(intervention_tolerance_days)"
        ),
        "en": (
            "an intervention outside its episode by more than the tolerance "
            "(intervention_tolerance_days)"
        ),
    },
    "validation.rule.attended_above_scheduled": {
        "nl": "meer dagdelen aanwezig dan ingeroosterd",
        "en": "more dayparts attended than scheduled",
    },
    "validation.rule.not_monday": {
        "nl": "week_start is geen maandag",
        "en": "week_start is not a Monday",
    },
    "validation.rule.weekend_date": {
        "nl": "een niet-schooldag in het weekend (weekenden tellen nooit mee)",
        "en": "a non-school day on a weekend (weekends never count)",
    },
    "effects.unweighted": {"nl": "ongewogen", "en": "unweighted"},
    "effects.weighted": {"nl": "IPT-gewogen", "en": "IPT-weighted"},
    "effects.abs_smd": {"nl": "|gestandaardiseerd verschil|",
                        "en": "|standardised mean difference|"},
    "effects.balance_title": {"nl": "Balans van de kenmerken", "en": "Covariate balance"},
    "effects.treated": {"nl": "behandeld", "en": "treated"},
    "effects.control": {"nl": "controle", "en": "control"},
    "effects.propensity_score": {"nl": "propensityscore", "en": "propensity score"},
    "effects.overlap_y": {"nl": "episodes (controle onder de as)",
                          "en": "episodes (control below)"},
    "effects.overlap_title": {"nl": "Overlap van de propensityscores",
                              "en": "Overlap of propensity scores"},
    "effects.still_home": {"nl": "nog thuis (niet teruggekeerd)",
                           "en": "still at home (not returned)"},
    "effects.days_since_start": {"nl": "dagen sinds de start van de interventie",
                                 "en": "days since start of the intervention"},
    "effects.at_risk": {"nl": "in de risicoset (episodes, ongewogen): ",
                        "en": "at risk (episodes, unweighted): "},
    "contents": {"nl": "Inhoud", "en": "Contents"},
    "section_failed": {
        "nl": "Dit hoofdstuk kon niet worden uitgevoerd",
        "en": "This section could not be executed",
    },
    "status_ok": {"nl": "uitgevoerd", "en": "executed"},
    "status_failed": {"nl": "mislukt", "en": "failed"},
    "status_not_applicable": {"nl": "niet van toepassing", "en": "not applicable"},
    "answerable": {
        "nl": "Dit cohort beantwoordt {n} van de {total} hoofdstukken; de andere zijn niet van "
        "toepassing en zeggen waarom.",
        "en": "This cohort answers {n} of the {total} sections; the others are not "
        "applicable and say why.",
    },
    "section_failed_cause": {
        "nl": "Er ging iets mis in cel {cell} ({cause}). Meld dit aan de beheerders van "
        "thuiszit-eval met de uitgevoerde notebook.",
        "en": "Something went wrong in cell {cell} ({cause}). Report this to the "
        "thuiszit-eval maintainers with the executed notebook.",
    },
    # One name for the group without an intervention in the whole report: the code list's
    # label of usual_care, which notebook 02 and the narratives use.
    "no_intervention": {"nl": "gebruikelijke zorg", "en": "usual care"},
    # ---- figures (thuiszit_eval.plots) -------------------------------------------------
    "plot_days_since_start": {
        "nl": "Dagen sinds start afwezigheid",
        "en": "Days since start of absence",
    },
    "plot_ref_4w": {"nl": "4 weken", "en": "4 weeks"},
    "plot_ref_3m": {"nl": "3 maanden", "en": "3 months"},
    "plot_ref_days": {"nl": "{days} dagen", "en": "{days} days"},
    "plot_at_risk": {
        "nl": "Aantal in de risicoset",
        "en": "Number at risk",
    },
    "plot_share_returned": {
        "nl": "Aandeel teruggekeerd naar school",
        "en": "Share returned to school",
    },
    "plot_share_not_returned": {
        "nl": "Aandeel nog niet teruggekeerd",
        "en": "Share not yet returned",
    },
    "plot_returned": {"nl": "Teruggekeerd naar school", "en": "Returned to school"},
    "plot_other_exit": {"nl": "Andere uitstroom ({state})", "en": "Other exit ({state})"},
    "plot_cum_incidence": {"nl": "Cumulatieve incidentie", "en": "Cumulative incidence"},
    "plot_overstatement": {"nl": "Overschatting", "en": "Overstatement"},
    "plot_km_censored": {
        "nl": "1 − Kaplan–Meier (andere uitstroom gecensureerd)",
        "en": "1 − Kaplan–Meier (other exits censored)",
    },
    "plot_aj": {
        "nl": "Cumulatieve incidentie (Aalen–Johansen)",
        "en": "Cumulative incidence (Aalen–Johansen)",
    },
    "plot_km_vs_aj_note": {
        "nl": "Uitstroom negeren overschat de terugkeer\nop dag {day} met {gap} procentpunt",
        "en": "Ignoring other exits overstates return\non day {day} by {gap} percentage points",
    },
    "plot_hr_axis": {"nl": "Hazard ratio (95%-BI)", "en": "Hazard ratio (95% CI)"},
    "plot_hr_header": {"nl": "HR (95%-BI)", "en": "HR (95% CI)"},
    "flow_title": {
        "nl": "Rijen ingelezen, geaccepteerd en afgewezen — {cohort}",
        "en": "Rows read, accepted and rejected — {cohort}",
    },
    "flow_rows_read": {"nl": "rijen ingelezen", "en": "rows read"},
    "flow_accepted": {"nl": "geaccepteerd", "en": "accepted"},
    "flow_rejected": {"nl": "afgewezen: {rule}", "en": "rejected: {rule}"},
    # ---- short labels of display tables (thuiszit_eval.describe) -------------------------
    "describe.table": {"nl": "tabel", "en": "table"},
    "describe.file": {"nl": "bestand", "en": "file"},
    "describe.rows_read": {"nl": "aantal ingelezen", "en": "rows read"},
    "describe.rows_accepted": {"nl": "aantal geaccepteerd", "en": "rows accepted"},
    "describe.rows_rejected": {"nl": "aantal afgewezen", "en": "rows rejected"},
    "describe.rows_warned": {"nl": "aantal met waarschuwing", "en": "rows warned"},
    "describe.rows": {"nl": "aantal rijen", "en": "rows"},
    "describe.rule": {"nl": "regel", "en": "rule"},
    "describe.severity": {"nl": "ernst", "en": "severity"},
    "describe.action": {"nl": "gevolg", "en": "action"},
    "describe.description": {"nl": "omschrijving", "en": "description"},
    "describe.stage": {"nl": "stap", "en": "stage"},
    "describe.read": {"nl": "ingelezen", "en": "read"},
    "describe.accepted": {"nl": "geaccepteerd", "en": "accepted"},
    "describe.rejected": {"nl": "afgewezen", "en": "rejected"},
    "describe.reject": {"nl": "afwijzen", "en": "reject"},
    "describe.warn": {"nl": "waarschuwen", "en": "warn"},
    "describe.row rejected": {"nl": "rij afgewezen", "en": "row rejected"},
    "describe.row kept": {"nl": "rij behouden", "en": "row kept"},
    "describe.variable": {"nl": "kenmerk", "en": "characteristic"},
    "describe.level": {"nl": "categorie", "en": "level"},
    "describe.main_intervention": {"nl": "hoofdinterventie", "en": "main intervention"},
    "describe.end_status": {"nl": "afloop van de episode", "en": "how the episode ended"},
    "describe.episode_type": {"nl": "type episode", "en": "episode type"},
    "describe.age_band": {"nl": "leeftijdsgroep (jaren)", "en": "age band (years)"},
    "describe.swv_id": {"nl": "samenwerkingsverband", "en": "samenwerkingsverband"},
    "describe.total": {"nl": "totaal", "en": "total"},
    "describe.support_need": {"nl": "ondersteuningsbehoefte", "en": "support need"},
    "describe.age_short": {"nl": "leeftijd", "en": "age"},
    "describe.ongoing": {"nl": "loopt nog bij einde follow-up", "en": "ongoing at follow-up end"},
    "describe.pct_of_episodes": {
        "nl": "% van de episodes (cellen met minder dan {min_cell} episodes niet getoond)",
        "en": "% of episodes (cells with fewer than {min_cell} episodes not shown)",
    },
    "describe.and": {"nl": "en", "en": "and"},
    "describe.yes": {"nl": "ja", "en": "yes"},
    "describe.no": {"nl": "nee", "en": "no"},
    "describe.missing": {"nl": "ontbreekt", "en": "missing"},
    "describe.other": {"nl": "anders", "en": "other"},
    # ---- process steps and table headers (thuiszit_eval.process) -------------------------
    "process.step.reported_leerplicht": {
        "nl": "gemeld bij leerplicht",
        "en": "reported to leerplicht",
    },
    "process.step.first_contact": {
        "nl": "eerste contact (leerling of ouders)",
        "en": "first contact (pupil or parents)",
    },
    "process.step.plan_agreed": {"nl": "plan vastgesteld", "en": "plan agreed"},
    "process.step.intervention_start": {"nl": "start interventie", "en": "intervention started"},
    "process.step.waiting_list": {"nl": "wachtlijst", "en": "waiting list"},
    "process.step.kept_in_view": {
        "nl": "in beeld gehouden na terugkeer",
        "en": "kept in view after return",
    },
    "process.col.step": {"nl": "Stap", "en": "Step"},
    "process.col.indicator": {"nl": "Indicator", "en": "Indicator"},
    "process.col.episodes": {"nl": "Episodes", "en": "Episodes"},
    "process.col.reached": {"nl": "Stap gezet", "en": "Step reached"},
    "process.col.median": {"nl": "Mediaan dagen (95%-BI)", "en": "Median days (95% CI)"},
    "process.col.within": {"nl": "Binnen {w} weken", "en": "Within {w} weeks"},
    "process.col.spells": {"nl": "Wachtlijstperiodes", "en": "Waiting-list spells"},
    "process.col.ended": {"nl": "Beëindigd", "en": "Ended"},
    "process.col.still_at_end": {
        "nl": "Aantal nog wachtend bij einde follow-up",
        "en": "Count still waiting at follow-up end",
    },
    "process.col.still_after": {
        "nl": "Nog wachtend na {w} weken",
        "en": "Still waiting after {w} weeks",
    },
    "process.col.returns": {"nl": "Aantal terugkeren", "en": "Count of returns"},
    "process.col.followed": {"nl": "Nazorg geregistreerd", "en": "Follow-up recorded"},
    "process.col.kept": {
        "nl": "Nazorg binnen {w} weken (95%-BI)",
        "en": "Follow-up within {w} weeks (95% CI)",
    },
    "process.col.hr": {
        "nl": "Hazard ratio terugkeer (95%-BI)",
        "en": "Hazard ratio of return (95% CI)",
    },
    "process.col.p": {"nl": "p", "en": "p"},
    "process.col.n_exposed": {
        "nl": "Aantal episodes met stap",
        "en": "Count of episodes with step",
    },
    "process.col.events_exposed": {
        "nl": "Aantal terugkeren na stap",
        "en": "Count of returns after step",
    },
    # ---- fidelity criteria and table headers (thuiszit_eval.fidelity) --------------------
    "fidelity.criterion.age_5_14": {
        "nl": "leeftijd 5-14 jaar bij start",
        "en": "aged 5-14 at start",
    },
    "fidelity.criterion.dayparts_max_3": {
        "nl": "hoogstens 3 dagdelen per week",
        "en": "at most 3 dayparts a week",
    },
    "fidelity.criterion.duration_max_3m": {
        "nl": "hoogstens 3 maanden (91 dagen)",
        "en": "at most 3 months (91 days)",
    },
    "fidelity.criterion.coaching_all": {
        "nl": "coaching van kind, ouders en leerkracht",
        "en": "coaching of child, parents and teacher",
    },
    "fidelity.criterion.group_treatment": {"nl": "groepsbehandeling", "en": "group treatment"},
    "fidelity.criterion.all": {
        "nl": "alle criteria (volgens protocol)",
        "en": "all criteria (in protocol)",
    },
    "fidelity.criterion.in_protocol": {"nl": "volgens protocol", "en": "in protocol"},
    "fidelity.criterion.out_of_protocol": {"nl": "afwijkend van protocol", "en": "out of protocol"},
    "fidelity.criterion.days_since_start": {
        "nl": "Dagen sinds start Back to School",
        "en": "Days since start of Back to School",
    },
    "fidelity.col.criterion": {"nl": "Criterium", "en": "Criterion"},
    "fidelity.col.n": {"nl": "Aantal trajecten", "en": "Count of trajectories"},
    "fidelity.col.met": {"nl": "Voldaan", "en": "Met"},
    "fidelity.col.not_met": {"nl": "Niet voldaan", "en": "Not met"},
    "fidelity.col.share": {"nl": "Aandeel voldaan (95%-BI)", "en": "Share met (95% CI)"},
    "fidelity.col.group": {"nl": "Groep", "en": "Group"},
    "fidelity.col.returns": {"nl": "Teruggekeerd", "en": "Returned"},
    "fidelity.col.median": {"nl": "Mediaan dagen (95%-BI)", "en": "Median days (95% CI)"},
    "fidelity.col.within": {"nl": "Terug binnen {d} dagen", "en": "Back within {d} days"},
    # ---- labels and headers of the Cox tables (thuiszit_eval.regression) -----------------
    "regression.age_12plus": {"nl": "12 jaar of ouder", "en": "age 12 or older"},
    "regression.female": {"nl": "meisje", "en": "girl"},
    "regression.prior_episode": {"nl": "eerdere episode", "en": "earlier episode"},
    "regression.living_out_of_home": {"nl": "uithuisgeplaatst", "en": "living out of home"},
    "regression.ses_score": {"nl": "SES-score (per SD)", "en": "SES score (per SD)"},
    "regression.episode_type": {"nl": "type episode", "en": "episode type"},
    "regression.age": {"nl": "leeftijd (per jaar)", "en": "age (per year)"},
    "regression.prior_episodes": {
        "nl": "aantal eerdere episodes",
        "en": "number of earlier episodes",
    },
    "regression.need": {"nl": "behoefte", "en": "need"},
    "regression.region": {"nl": "regio", "en": "region"},
    "regression.ref": {"nl": "ref.", "en": "ref."},
    "regression.all_terms": {"nl": "alle termen samen", "en": "all terms together"},
    "regression.ph_changes": {
        "nl": "hazard ratio verandert in de tijd (p < {alpha})",
        "en": "hazard ratio changes over time (p < {alpha})",
    },
    "regression.ph_constant": {
        "nl": "geen aanwijzing tegen een constante hazard ratio",
        "en": "no evidence against a constant hazard ratio",
    },
    "regression.returned": {"nl": "teruggekeerd naar school", "en": "returned to school"},
    "regression.censored": {
        "nl": "gecensureerd (nog thuis aan het einde van de follow-up, of anders beëindigd)",
        "en": "censored (still at home at follow-up end, or ended otherwise)",
    },
    "regression.episodes_with": {"nl": "episodes met", "en": "episodes with"},
    "regression.returns_exposed": {
        "nl": "terugkeren tijdens blootstelling",
        "en": "returns while exposed",
    },
    "regression.returns": {"nl": "terugkeren", "en": "returns"},
    "regression.hr_ci": {"nl": "HR (95%-BI)", "en": "HR (95% CI)"},
    "regression.hr_model_ci": {"nl": "HR {model} (95%-BI)", "en": "HR {model} (95% CI)"},
    "regression.true_hr": {"nl": "ware HR (simulatie)", "en": "true HR (simulation)"},
    "regression.cs_hr": {
        "nl": "oorzaakspecifieke HR (tempo van terugkeer)",
        "en": "cause-specific HR (rate of return)",
    },
    "regression.fg_hr": {
        "nl": "Fine–Gray-HR (aandeel teruggekeerd)",
        "en": "Fine–Gray HR (share returned)",
    },
    "regression.day": {"nl": "dag {day}", "en": "day {day}"},
    "regression.one_minus_km": {
        "nl": "1 − Kaplan–Meier (andere uitstroom gecensureerd)",
        "en": "1 − Kaplan–Meier (other endings censored)",
    },
    "regression.overstatement": {
        "nl": "overschatting van terugkeer (procentpunt)",
        "en": "overstatement of return (percentage points)",
    },
    "regression.time-varying": {"nl": "tijdsafhankelijk", "en": "time-varying"},
    "regression.ever received": {"nl": "ooit ontvangen", "en": "ever received"},
    # ---- states, axis titles and headers (thuiszit_eval.multistate) ----------------------
    "multistate.state.home": {"nl": "thuis", "en": "home"},
    "multistate.state.partial": {"nl": "gedeeltelijk terug", "en": "partly back"},
    "multistate.state.full": {"nl": "volledig terug", "en": "fully back"},
    "multistate.state.relapse": {"nl": "terugval (nieuwe episode)", "en": "relapse (new episode)"},
    "multistate.axis.x": {"nl": "dagen sinds begin verzuim", "en": "days since absence start"},
    "multistate.axis.y": {"nl": "aandeel leerlingen", "en": "share of pupils"},
    "multistate.col.time": {"nl": "dag", "en": "day"},
    "multistate.col.n_risk": {"nl": "nog gevolgd", "en": "still followed"},
    "multistate.col.relapse": {"nl": "teruggevallen", "en": "relapsed"},
    "multistate.col.ci": {"nl": "95%-BI", "en": "95% CI"},
    "multistate.col.sustained_weeks": {
        "nl": "weken volledig op school",
        "en": "full weeks at school",
    },
    "multistate.col.episodes": {"nl": "episodes", "en": "episodes"},
    "multistate.col.events": {
        "nl": "duurzaam terug ≤ dag {d:g}",
        "en": "sustained return by day {d:g}",
    },
    "multistate.col.share": {"nl": "aandeel duurzaam terug", "en": "share in sustained return"},
    "multistate.relapse_axis.x": {"nl": "dagen sinds terugkeer", "en": "days since the return"},
    "multistate.relapse_axis.y": {"nl": "aandeel teruggevallen", "en": "share relapsed"},
    "multistate.relapse_axis.risk_title": {
        "nl": "Aantal nog gevolgd zonder terugval",
        "en": "Number still followed without relapse",
    },
    # ---- power plot labels (thuiszit_eval.planning) --------------------------------------
    "planning.label.x": {"nl": "aantal leerlingen (episodes)", "en": "number of pupils (episodes)"},
    "planning.label.y": {"nl": "onderscheidend vermogen (power)", "en": "power"},
    "planning.label.hr": {
        "nl": "HR {hr} (formule Schoenfeld)",
        "en": "HR {hr} (Schoenfeld's formula)",
    },
    "planning.label.sim": {"nl": "RMST-verschil, simulatie", "en": "RMST difference, simulation"},
    "planning.label.target": {"nl": "power {p}", "en": "power {p}"},
    # ---- prevention plot labels (thuiszit_eval.prevention) -------------------------------
    "prevention.label.x": {
        "nl": "dagen sinds het eerste signaal",
        "en": "days since the first signal",
    },
    "prevention.label.y": {
        "nl": "aandeel thuiszitter geworden",
        "en": "share become a thuiszitter",
    },
    "prevention.label.all": {"nl": "alle dreigende", "en": "all at risk"},
    "prevention.label.none": {"nl": "geen vroegsignalering", "en": "no early signalling"},
    # ---- funnel plot labels (thuiszit_eval.regions) --------------------------------------
    "regions.label.x": {"nl": "effectief aantal episodes", "en": "effective number of episodes"},
    "regions.label.y": {
        "nl": "aandeel terug binnen {days} dagen",
        "en": "share back within {days} days",
    },
    "regions.label.avg": {"nl": "gemiddelde cohort", "en": "cohort average"},
    "regions.label.lim": {"nl": "{pct} controlegrens", "en": "{pct} control limit"},
    # ---- target trial protocol table and title (thuiszit_eval.effects.target_trial) ------
    "target_trial.col_specification": {"nl": "specificatie", "en": "specification"},
    "target_trial.col_component": {"nl": "onderdeel", "en": "component"},
    "target_trial.title": {
        "nl": "Geëmuleerde target trial: {treatment} binnen {grace_days} dagen na de melding",
        "en": "Emulated target trial: {treatment} within {grace_days} days of the report",
    },
    # ---- Table 1 variable names (thuiszit_eval.describe) ---------------------------------
    "describe.variable.n": {"nl": "episodes (n)", "en": "episodes (n)"},
    "describe.variable.sex": {"nl": "geslacht", "en": "sex"},
    "describe.variable.age": {
        "nl": "leeftijd bij start afwezigheid, jaren: gemiddelde (SD)",
        "en": "age at absence start, years: mean (SD)",
    },
    "describe.variable.age_band": {"nl": "leeftijdsgroep (jaren)", "en": "age band (years)"},
    "describe.variable.school_type": {"nl": "schoolsoort", "en": "school type"},
    "describe.variable.living_situation": {"nl": "woonsituatie", "en": "living situation"},
    "describe.variable.episode_type": {"nl": "type episode", "en": "episode type"},
    "describe.variable.swv_id": {"nl": "samenwerkingsverband", "en": "samenwerkingsverband"},
    # ---- what cannot be estimated (thuiszit_eval.estimability) ---------------------------
    "estimable.events_per_term": {
        "nl": "{what} kan niet worden geschat: het model heeft {n_terms} termen en vraagt "
        "minstens {need} terugkeren ({per_term} per term); dit cohort heeft er {n_events}.",
        "en": "{what} cannot be estimated: it has {n_terms} terms and needs at least {need} "
        "returns ({per_term} per term); this cohort has {n_events}.",
    },
    "estimable.arms": {
        "nl": "{what} kan niet worden geschat: elke vergeleken groep moet minstens {min_n} "
        "episodes en {min_events} terugkeren hebben, en dat is in dit cohort niet zo.",
        "en": "{what} cannot be estimated: each compared group needs at least {min_n} "
        "episodes and {min_events} returns, and this cohort does not have them.",
    },
    "estimable.no_treatment": {
        "nl": "{what} kan niet worden geschat: in dit cohort is {treatment} nooit gestart.",
        "en": "{what} cannot be estimated: {treatment} never started in this cohort.",
    },
    "estimable.no_interventions": {
        "nl": "{what} kan niet worden geschat: dit cohort heeft geen gestarte interventies.",
        "en": "{what} cannot be estimated: this cohort has no started interventions.",
    },
    "estimable.se_region_few": {
        "nl": "Een standaardfout geclusterd op samenwerkingsverband vraagt minstens 3 "
        "samenwerkingsverbanden; dit cohort heeft er {g}.",
        "en": "A standard error clustered on samenwerkingsverband needs at least 3 of them; "
        "this cohort has {g}.",
    },
    "estimable.singular": {
        "nl": "{what} kan niet worden geschat: de gegevens laten het model niet toe (een "
        "groep zonder terugkeer of termen die elkaar volledig bepalen).",
        "en": "{what} cannot be estimated: the data do not support the model (a group "
        "without returns, or terms that determine each other).",
    },
    "estimable.needs_table": {
        "nl": "Niet van toepassing: dit hoofdstuk heeft de tabel {table} nodig ({purpose}); "
        "dit cohort heeft die niet of ze is leeg.",
        "en": "Not applicable: this section needs the table {table} ({purpose}); this cohort "
        "does not have it, or it is empty.",
    },
    "estimable.needs_group": {
        "nl": "Niet van toepassing: dit hoofdstuk vraagt {need}; dit cohort heeft die niet.",
        "en": "Not applicable: this section needs {need}; this cohort does not have them.",
    },
    "estimable.table.attendance": {"nl": "aanwezigheid (attendance)",
                                   "en": "attendance"},
    "estimable.table.process_events": {"nl": "processtappen (process_events)",
                                       "en": "process steps (process_events)"},
    "estimable.table.interventions": {"nl": "interventies (interventions)",
                                      "en": "interventions"},
    "estimable.table.school_calendar": {"nl": "schoolkalender (school_calendar)",
                                        "en": "school calendar (school_calendar)"},
    "estimable.purpose.partial_return": {
        "nl": "gedeeltelijke en volledige terugkeer worden op de wekelijkse aanwezigheid gemeten",
        "en": "partial and full return are measured on weekly attendance"},
    "estimable.purpose.process": {
        "nl": "de stappen van de praktijkkaart worden uit de processtappen gelezen",
        "en": "the praktijkkaart steps are read from the process steps"},
    "estimable.purpose.effects": {
        "nl": "interventies worden met elkaar vergeleken",
        "en": "interventions are compared"},
    "estimable.need.dreigend": {
        "nl": "episodes van dreigende thuiszitters (type dreigend)",
        "en": "episodes of pupils at risk (type dreigend)"},
    "estimable.need.back_to_school": {
        "nl": "episodes waarin Back to School is gestart",
        "en": "episodes in which Back to School started"},
    "estimable.need.shares": {
        "nl": "genoeg episodes voor een aandeel: een aandeel en de rest moeten elk minstens de "
        "minimale celgrootte tellen",
        "en": "enough episodes for a share: a share and its rest must each count at least the "
        "minimum cell size"},
    "estimable.need.two_groups": {
        "nl": "twee vergelijkbare groepen (Back to School en een vergelijkingsgroep) van "
        "voldoende omvang",
        "en": "two comparable groups (Back to School and a comparison group) of sufficient "
        "size"},
    "estimable.what.cox": {"nl": "Het Cox-model", "en": "The Cox model"},
    "estimable.what.iptw": {"nl": "De gewogen vergelijking (IPTW)",
                            "en": "The weighted comparison (IPTW)"},
    "estimable.what.ccw": {"nl": "De emulatie van de target trial",
                           "en": "The target-trial emulation"},
    "estimable.what.landmark": {"nl": "De landmark-analyse", "en": "The landmark analysis"},
    "estimable.what.fine_gray": {"nl": "Het Fine-Gray-model", "en": "The Fine-Gray model"},
    "estimable.what.bootstrap": {"nl": "Het bootstrap-interval", "en": "The bootstrap interval"},
    "estimable.what.case_mix": {"nl": "Het case-mixmodel van de regio's",
                                "en": "The regions' case-mix model"},
    "se.pupil": {
        "nl": "standaardfouten robuust, geclusterd op leerling",
        "en": "standard errors robust, clustered on pupil",
    },
    "se.region": {
        "nl": "standaardfouten robuust, geclusterd op samenwerkingsverband, t-verdeling met "
        "{df} vrijheidsgraden",
        "en": "standard errors robust, clustered on samenwerkingsverband, t distribution on "
        "{df} degrees of freedom",
    },
    "se.model": {"nl": "modelgebaseerde standaardfouten", "en": "model-based standard errors"},
    "missing_left_out": {
        "nl": "{n} episodes zijn weggelaten omdat een covariaat ontbrak ({which}); "
        "meervoudige imputatie staat in thuiszit_eval.imputation.",
        "en": "{n} episodes were left out because a covariate value was missing ({which}); "
        "multiple imputation is in thuiszit_eval.imputation.",
    },
    "fewer_than": {"nl": "minder dan {n}", "en": "fewer than {n}"},
    "se.note": {"nl": "Intervallen: 95%-betrouwbaarheidsintervallen, {se}.",
                "en": "Intervals: 95% confidence intervals, {se}."},
    # ---- helper F (issue 13): covariate names, table headers and values of the figures and
    # notebooks. describe.<column> keys are the headers describe.headers() gives.
    "effects.cov.support_need": {"nl": "Zorgbehoefte", "en": "Support need"},
    "effects.cov.swv_id": {"nl": "Samenwerkingsverband", "en": "Samenwerkingsverband"},
    "effects.cov.episode_type": {"nl": "Type episode", "en": "Episode type"},
    "effects.cov.living_situation": {"nl": "Woonsituatie", "en": "Living situation"},
    "effects.cov.sex": {"nl": "Geslacht", "en": "Sex"},
    "effects.cov.school_type": {"nl": "Schooltype", "en": "School type"},
    "effects.cov.age": {"nl": "Leeftijd", "en": "Age"},
    "effects.cov.age_12plus": {"nl": "12 jaar of ouder", "en": "Age 12 or older"},
    "effects.cov.female": {"nl": "Meisje", "en": "Girl"},
    "effects.cov.prior_episode": {"nl": "Eerdere episode", "en": "Earlier episode"},
    "effects.cov.prior_episodes": {"nl": "Aantal eerdere episodes",
                                   "en": "Number of earlier episodes"},
    "effects.cov.living_out_of_home": {"nl": "Uithuisgeplaatst", "en": "Living out of home"},
    "effects.cov.ses_score": {"nl": "Sociaaleconomische score", "en": "Socio-economic score"},
    "effects.cov.days_home": {"nl": "Dagen thuis vóór de start",
                              "en": "Days at home before the start"},
    "effects.cov.log_days_home": {"nl": "Dagen thuis vóór de start (log)",
                                  "en": "Days at home before the start (log)"},
    "effects.cov.absoluut_verzuim": {"nl": "Absoluut verzuim", "en": "Absolute absence"},
    "effects.cov.dreigend": {"nl": "Dreigend thuiszitten", "en": "At risk of staying home"},
    "effects.method.iptw": {"nl": "Wegen (IPTW)", "en": "Weighting (IPTW)"},
    "effects.method.standardisation": {"nl": "Standaardisatie (Cox-model)",
                                       "en": "Standardisation (Cox model)"},
    "effects.term.treated": {"nl": "{group} (tegenover {control})",
                             "en": "{group} (versus {control})"},
    "describe.pupils": {"nl": "leerlingen", "en": "pupils"},
    "describe.episodes": {"nl": "episodes", "en": "episodes"},
    "describe.interventions": {"nl": "interventies", "en": "interventions"},
    "describe.attendance": {"nl": "aanwezigheid", "en": "attendance"},
    "describe.process_events": {"nl": "processtappen", "en": "process steps"},
    "describe.school_calendar": {"nl": "schoolkalender", "en": "school calendar"},
    "describe.group": {"nl": "groep", "en": "group"},
    "describe.mean_w": {"nl": "gemiddeld gewicht", "en": "mean weight"},
    "describe.max_w": {"nl": "grootste gewicht", "en": "largest weight"},
    "describe.ess": {"nl": "effectieve steekproefomvang", "en": "effective sample size"},
    "describe.method": {"nl": "methode", "en": "method"},
    "describe.tau": {"nl": "tot dag", "en": "up to day"},
    "describe.rmst_treated": {"nl": "dagen thuis, interventie",
                              "en": "days at home, intervention"},
    "describe.rmst_control": {"nl": "dagen thuis, vergelijking", "en": "days at home, comparison"},
    "describe.days_saved": {"nl": "bespaarde dagen thuis", "en": "days at home saved"},
    "describe.lower": {"nl": "ondergrens", "en": "lower limit"},
    "describe.upper": {"nl": "bovengrens", "en": "upper limit"},
    "describe.unadjusted": {"nl": "ongecorrigeerd", "en": "unadjusted"},
    "describe.term": {"nl": "vergelijking", "en": "comparison"},
    "describe.hr": {"nl": "HR", "en": "HR"},
    "describe.hr_lower": {"nl": "HR ondergrens", "en": "HR lower limit"},
    "describe.hr_upper": {"nl": "HR bovengrens", "en": "HR upper limit"},
    "describe.time": {"nl": "dag", "en": "day"},
    "describe.returned": {"nl": "teruggekeerd", "en": "returned"},
    "describe.still_home": {"nl": "nog thuis", "en": "still at home"},
    "describe.municipality_code": {"nl": "gemeente", "en": "municipality"},
    "describe.observed": {"nl": "waargenomen terugkeren", "en": "observed returns"},
    "describe.expected": {"nl": "verwachte terugkeren", "en": "expected returns"},
    "describe.share_pct": {"nl": "aandeel terug (%)", "en": "share returned (%)"},
    "describe.lower_pct": {"nl": "ondergrens (%)", "en": "lower limit (%)"},
    "describe.upper_pct": {"nl": "bovengrens (%)", "en": "upper limit (%)"},
    "describe.n_eff": {"nl": "effectief aantal episodes", "en": "effective number of episodes"},
    "describe.funnel": {"nl": "plaats in de funnelplot", "en": "place in the funnel plot"},
    "describe.oe": {"nl": "O/E", "en": "O/E"},
    "describe.oe_lower": {"nl": "O/E ondergrens", "en": "O/E lower limit"},
    "describe.oe_upper": {"nl": "O/E bovengrens", "en": "O/E upper limit"},
    "describe.power": {"nl": "power", "en": "power"},
    "describe.events": {"nl": "terugkeren", "en": "returns"},
    "describe.intervention": {"nl": "interventiegroep", "en": "intervention group"},
    "describe.control": {"nl": "vergelijkingsgroep", "en": "comparison group"},
    "describe.n_pupils": {"nl": "leerlingen", "en": "pupils"},
    "describe.n_episodes": {"nl": "episodes (gemiddeld, naar boven afgerond)",
                            "en": "episodes (mean, rounded up)"},
    "describe.n_sim": {"nl": "herhalingen", "en": "replicates"},
    "describe.rmst_difference": {"nl": "RMST-verschil (dagen)", "en": "RMST difference (days)"},
    "describe.mc_se": {"nl": "Monte-Carlo-SE van de power", "en": "Monte Carlo SE of the power"},
    "regions.funnel.within": {"nl": "binnen de grenzen", "en": "within the limits"},
    "regions.funnel.above 95%": {"nl": "boven de 95%-grens", "en": "above the 95% limit"},
    "regions.funnel.above 99.8%": {"nl": "boven de 99,8%-grens", "en": "above the 99.8% limit"},
    "regions.funnel.below 95%": {"nl": "onder de 95%-grens", "en": "below the 95% limit"},
    "regions.funnel.below 99.8%": {"nl": "onder de 99,8%-grens", "en": "below the 99.8% limit"},
    "prevention.col.group": {"nl": "groep", "en": "group"},
    "prevention.col.n": {"nl": "episodes", "en": "episodes"},
    "prevention.col.events": {"nl": "thuiszitter geworden", "en": "became a thuiszitter"},
    "prevention.col.within": {"nl": "binnen {days} dagen (%)", "en": "within {days} days (%)"},
    "describe.simulated_cohort": {"nl": "gesimuleerd cohort (seed {seed})",
                                  "en": "simulated cohort (seed {seed})"},
    "describe.region": {"nl": "regio", "en": "region"},
    "describe.value": {"nl": "waarde", "en": "value"},
}


def fmt_num(x: float, digits: int = 2, lang: str = "nl") -> str:
    """``x`` with ``digits`` decimals in ``lang`` (:func:`thuiszit_eval.formatting.number`)."""
    from .formatting import number

    return number(x, check_lang(lang), digits)


def fmt_g(x: float, lang: str = "nl") -> str:
    """``x`` like ``:g`` in ``lang`` (:func:`thuiszit_eval.formatting.general`)."""
    from .formatting import general

    return general(x, check_lang(lang))


def check_lang(lang: str) -> str:
    """``lang`` if it is available, else ValueError."""
    if lang not in LANGS:
        raise ValueError(f"language {lang!r} not available; choose one of {', '.join(LANGS)}")
    return lang


def t(key: str, lang: str = "nl", **fmt: object) -> str:
    """The message ``key`` in ``lang`` (``nl`` or ``en``), formatted with ``fmt``."""
    check_lang(lang)
    text = MESSAGES[key][lang]
    return text.format(**fmt) if fmt else text


def by_lang(prefix: str, keys: Sequence[str]) -> dict[str, dict[str, str]]:
    """``{lang: {key: t(f"{prefix}.{key}", lang)}}`` for every language (templates unformatted).

    >>> by_lang("describe", ["total"])
    {'nl': {'total': 'totaal'}, 'en': {'total': 'total'}}
    """
    return {lang: {k: t(f"{prefix}.{k}", lang) for k in keys} for lang in LANGS}
