"""Synthetic thuiszit cohorts with a known truth, written in the cohort format.

The simulator exists so that every estimator in this package can be checked against a
number that is *known*: it draws pupils, episodes, interventions, weekly attendance,
process steps and a school calendar from an explicit model, and writes the true
parameters (hazard ratios, baseline hazard, region effects and a marginal target-trial
estimand) to ``truth.json`` next to the tables.

Example
-------
>>> from thuiszit_eval.simulate import simulate_cohort
>>> sim = simulate_cohort(n_pupils=200, seed=3, progress=False)
>>> sorted(sim.tables)[:3]
['attendance', 'episodes', 'interventions']
>>> round(sim.truth["hazard_ratios"]["back_to_school"], 2)
1.5

Model and assumptions (the numbers are module constants below)
--------------------------------------------------------------
Calendar and follow-up
    Follow-up ends on :data:`FOLLOW_UP_END` (2025-06-30). First absence starts are spread
    uniformly over the school days of the two school years before it (from 2023-08-21).
    The school calendar has Dutch-style holidays (autumn week 43, two Christmas weeks,
    spring week 8, May weeks 17-18, summer weeks 29-34, region "midden") and the public
    holidays (New Year, Good Friday, Easter Monday, King's Day, Liberation Day in 2025,
    Ascension Day, Whit Monday, Christmas) that fall on weekdays.
Regions
    Eight samenwerkingsverbanden (``SWV-01`` ..), each with 3-5 municipalities (GMnnnn) and
    schools of each type. Their effects on the return hazard are fixed constants
    (:data:`REGION_LOG_HR`, a "random effect" drawn once), so the truth does not depend on
    the seed; they are recorded in ``truth.json``.
Pupils
    Age at the first episode 5-17 years, weighted towards 12-16 (most thuiszitters are in
    secondary education, DOMAIN.md); birth month so that the validator's month-based age
    equals it. School type follows age (po/so below 12, vo/vso 12-15, vo/mbo/vso 16+) and
    6-13% are not enrolled (``none``: absoluut verzuim). Living situation mostly ``home``;
    support needs drawn independently with the prevalences in :data:`NEED_PREVALENCE`
    (ZMOLK more often in so/vso, psychiatric more often from 12), several per pupil
    possible. Extra covariates: ``ses_score`` (neighbourhood SES, standard normal, affects
    return) and ``neighbourhood_type`` (categorical text, no effect).
Episodes
    Type ``absoluut_verzuim`` when not enrolled, otherwise ``dreigend`` (12%) or ``lrv``.
    After a return 30% relapse: a new episode 2 weeks to a year later (at most 3 episodes,
    never overlapping). Reported to leerplicht 0-6 weeks after the absence start
    (15% of lrv/absoluut verzuim and 60% of dreigend never reported); a report that would
    come after the episode ended, or after follow-up end, is not in the export.
Return to school (the causal model)
    Cause-specific hazard in days ``t`` since absence start::

        h_return(t | X, A(t)) = h0(t) * exp(beta'X + region + gamma_k * 1[t >= start_k])

    with Weibull ``h0(t) = (k/lam) (t/lam)^(k-1)`` (:data:`WEIBULL_SHAPE`,
    :data:`WEIBULL_SCALE`; decreasing hazard, so a long tail and "time already home"
    lowers the return rate). Times are drawn by inverting the cumulative hazard piecewise
    around the intervention start. The episode's ``end_date`` is
    ``absence_start + ceil(T)`` days, so in the counting-process form ``(start, stop]``
    an intervention starting on day ``s`` is effective on ``(s, stop]`` exactly as
    generated.
Competing endings
    Constant hazards for exemption 5a (higher with psychiatric, ZMOLK, autism), other
    exemption and moving away; ageing out at the first day of the month of the 18th
    birthday. Administrative censoring at follow-up end (empty end_date and end_reason).
    A return is split over returned_full / partial / special_education / new_school
    (special education more often with ZMOLK or autism; new school more often when not
    enrolled).
Interventions
    One *main* intervention per episode at most. Back to School (BtS) only for episodes
    whose pupil is 5-14 at the report date: initiation is a piecewise-constant daily
    hazard in days since the report (:data:`BTS_RATES` on :data:`INIT_BREAKS`), times
    ``exp(alpha'X)`` with *baseline* covariates only (needs, living situation, episode
    type, weeks already home at the report, region) -- no unmeasured confounding -- and
    zero once the pupil turns 15 (month-based), so every BtS start is at age 5-14.
    Confounding by indication: autism, psychiatric needs, school refusal and a long wait
    before the report raise initiation and lower the return hazard. Pupils aged 15+ at
    the report can get expert_begeleider or onderwijs_zorg_maatwerk (own hazard ratios).
    Process interventions (thuiszitterstafel, agendapunt_4) have no effect (HR 1).
    Referral lies 1-6 weeks before the start (never before the report): the exposure
    starts weeks into the episode, so naive ever/never comparisons suffer immortal-time
    bias. BtS fidelity: 2-3 dayparts mostly (10% four), planned 6-13 weeks (15% longer,
    up to 22 weeks), teacher coaching missing in 12%.
Attendance
    Weekly rows per episode, bounded to about 25: three weeks before (declining
    attendance), the first three and the last six weeks of the episode (0 attended), every
    BtS week (``facility``, at most the planned dayparts), and up to ten weeks after a
    return with a rebuilding timetable (full: 4 -> 10 dayparts, partial: stays 4-8). A
    full week is ``2 x school days``. Nothing after follow-up end.
Process events
    Praktijkkaart / route-wijzer steps with realistic delays after the report; some steps
    missing; never after follow-up end, and steps of the episode never after its end
    (except placement_found and follow_up around a return).
Target-trial truth
    See :func:`compute_truth`: RMST at 91 and 182 days since the report under "start BtS
    within 28 days" vs "do not start within 28 days", with competing events and
    administrative censoring removed (hypothetical estimand), by Monte Carlo with common
    random numbers on >= 200,000 eligible episodes. A clone-censor-weight analysis of a
    simulated cohort reproduces it (``tests/test_simulate.py``).

Messy mode (``messy_rate > 0``) injects export errors into the written files and lists
each in ``injected_errors.csv``; independently of the rate, pupils and school_calendar are
then written ``;``-delimited in cp1252 (declared in datapackage.json), which is not an
error.

Shapes: cohorts unlike the demo
-------------------------------
Researchers bring cohorts the demo does not resemble, so the simulator can vary the
*shape* of a cohort (keyword arguments of :func:`simulate_cohort` and
:func:`write_simulated_cohort`, flags of ``thuiszit-eval simulate``). With every option at
its default the output is byte-identical to the simulator before shapes existed (a test
pins the hashes), and the random draws never depend on ``tables``, ``covariate_names`` or
``observation_start``, so such cohorts differ from the default only where the option says.

``tables``
    Which tables are written: ``pupils`` and ``episodes`` always; ``interventions``,
    ``attendance``, ``process_events`` and ``school_calendar`` can each be left out (a
    leerplicht export often has only the first three).
``covariate_names``
    The extra covariates under other names, e.g. ``{"ses_score": "ses_index"}``; they are
    declared as ``extra_fields`` under those names and truth.json's ``beta``,
    ``hazard_ratios_covariates`` and ``covariate_coding`` name them as written. ``None``
    as a name leaves a covariate out; without SES, truth.json lists it under
    ``unmeasured_covariates`` (it still affects return, but given the region it is
    independent of every intervention, so it confounds none of them).
``n_regions``, ``region_prefix``
    1 to :data:`MAX_REGIONS` samenwerkingsverbanden with ids ``{prefix}01`` ... (e.g.
    ``SWV2301``). The first eight have the demo's effects (shares renormalised); regions
    9 and up have effects, shares and municipalities drawn once with a fixed seed. The
    target-trial truth is computed for the cohort's own regions.
``arms``
    The interventions present (codes of :data:`GAMMA`). An absent one has initiation
    hazard zero: no episode gets it (the pupils are the same as with it). truth.json keeps
    the hazard ratios of the present ones only and lists the absent ones under
    ``interventions_absent``; without Back to School, ``target_trial`` is
    ``{"available": false, "reason": ...}`` (there is no trial of starting it to emulate).
``observation_start`` (a prevalent cohort)
    The export holds only episodes still running on that date (``end_date`` empty or
    later) or starting after it, as a registration that starts on that date would, with
    their pupils, interventions and process events, and their pupils' attendance from
    three weeks before the first such episode. ``datapackage.json`` carries
    ``thuiszit.observation_start``. The structural truth is unchanged: ``beta``, the
    hazard ratios and the region effects are conditional on the time already home, so
    they hold for these episodes, but only an analysis with delayed entry (each episode
    at risk from ``max(0, observation_start - absence_start)`` days) reproduces them;
    episodes already home on that date are length-biased, so Kaplan-Meier curves without
    delayed entry overstate time at home. ``prior_episode`` is not fully observable (an
    earlier episode that ended before the date is not exported; episode ids still end in
    ``-E2``/``-E3``). The target-trial numbers describe all eligible episodes of the
    simulated (incident) population: a reference, not the exact estimand, for an
    emulation on the prevalent export. truth.json says this under ``observation_start``.
``file_format``
    ``csv``, ``parquet`` or ``xlsx`` (one Excel workbook per table, dates as date cells,
    numbers as numbers, with fixed time stamps so the bytes are reproducible).

Any non-default shape is recorded in truth.json under ``shape``. :data:`SHAPES` names
preset shapes (``tiny`` = 40 pupils, ``tiny_15``, ``required_only_renamed``, ``no_bts``,
``single_region``, ``many_regions``, ``no_covariates``, ``prevalent``, ``parquet``,
``excel``), each validating with zero rejected rows; :func:`write_shape` writes one, and
:data:`REPORT_MATRIX` lists those the report test of issue 11 runs::

    >>> from thuiszit_eval.simulate import write_shape
    >>> folder = write_shape("no_bts", "cohort_no_bts", seed=1)  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from dateutil.easter import easter
from tqdm.auto import tqdm

from . import __version__

__all__ = [
    "SimulatedCohort",
    "simulate_cohort",
    "write_simulated_cohort",
    "demo_cohort_path",
    "compute_truth",
    "episode_covariates",
    "counting_process",
    "FOLLOW_UP_END",
    "DEMO_SEED",
    "DEMO_PUPILS",
    "SHAPES",
    "REPORT_MATRIX",
    "write_shape",
]

# ----------------------------------------------------------------------------------------
# Parameters (the "truth"); change them and truth.json follows.
# ----------------------------------------------------------------------------------------
FOLLOW_UP_END = dt.date(2025, 6, 30)
FIRST_START_FROM = dt.date(2023, 8, 21)  # ~two school years before follow-up end
FIRST_START_TO = dt.date(2025, 6, 13)
DEMO_SEED = 20250630
DEMO_PUPILS = 2000
INTERVENTION_TOLERANCE_DAYS = 14

WEIBULL_SHAPE = 0.8
WEIBULL_SCALE = 105.0  # days

#: log hazard ratios of the return hazard, per covariate (coding in COVARIATE_CODING)
BETA: dict[str, float] = {
    "female": 0.05,
    "age_12plus": -0.25,
    "need_autism": -0.30,
    "need_psychiatric": -0.45,
    "need_zmolk": -0.35,
    "need_school_refusal": -0.25,
    "need_bullying_trauma": -0.10,
    "need_behaviour": 0.10,
    "need_family": -0.10,
    "living_out_of_home": -0.20,
    "absoluut_verzuim": -0.30,
    "dreigend": 0.40,
    "prior_episode": 0.15,
    "ses_score": 0.10,
}
COVARIATE_CODING: dict[str, str] = {
    "female": "1 if pupils.sex == 'f', else 0",
    "age_12plus": "1 if age at absence_start >= 12 years, else 0; age in completed years "
    "from birth_month as the validator computes it: ((year*12+month of absence_start) - "
    "(year*12+month of birth_month)) // 12",
    "need_autism": "1 if 'autism' in pupils.support_needs",
    "need_psychiatric": "1 if 'psychiatric' in pupils.support_needs",
    "need_zmolk": "1 if 'zmolk' in pupils.support_needs",
    "need_school_refusal": "1 if 'school_refusal' in pupils.support_needs",
    "need_bullying_trauma": "1 if 'bullying_trauma' in pupils.support_needs",
    "need_behaviour": "1 if 'behaviour' in pupils.support_needs",
    "need_family": "1 if 'family' in pupils.support_needs",
    "living_out_of_home": "1 if pupils.living_situation in (kleinschalig_verblijf, "
    "residential, foster)",
    "absoluut_verzuim": "1 if episodes.episode_type == 'absoluut_verzuim'",
    "dreigend": "1 if episodes.episode_type == 'dreigend' (reference: lrv)",
    "prior_episode": "1 if the pupil had an earlier episode (by absence_start)",
    "ses_score": "pupils.ses_score (extra field), per unit (standard deviation)",
}
REGION_LOG_HR = np.array([0.25, -0.30, 0.10, 0.0, -0.15, 0.35, -0.05, -0.20])
REGION_SHARE = np.array([0.16, 0.14, 0.13, 0.12, 0.12, 0.12, 0.11, 0.10])
#: region differences in access to Back to School (log initiation-rate ratio)
REGION_BTS_ACCESS = np.array([0.3, -0.5, 0.2, 0.0, 0.4, -0.3, 0.1, -0.2])

#: main interventions: log HR on return, effective from the start day onward
GAMMA: dict[str, float] = {
    "back_to_school": float(np.log(1.5)),
    "expert_begeleider": float(np.log(1.3)),
    "onderwijs_zorg_maatwerk": float(np.log(1.15)),
    "thuiszitterstafel": 0.0,
    "agendapunt_4": 0.0,
}
INIT_BREAKS = np.array([0.0, 14.0, 28.0, 56.0, 91.0, 182.0])  # days since report
BTS_RATES = np.array([0.010, 0.014, 0.010, 0.006, 0.002])  # per day, 0 after day 182
OTHER_RATES = np.array([0.004, 0.006, 0.006, 0.004, 0.002])
#: log initiation-rate ratios (baseline covariates only)
ALPHA: dict[str, float] = {
    "need_autism": 0.40,
    "need_psychiatric": 0.50,
    "need_school_refusal": 0.30,
    "living_out_of_home": -0.40,
    "absoluut_verzuim": -0.60,
    "dreigend": -0.80,
    "weeks_home_at_report": 0.15,
}

#: competing causes: constant daily hazards and log HRs
COMPETING_BASE = {"exemption_5a": 0.00030, "exemption_other": 0.00008, "moved": 0.00020}
COMPETING_BETA = {
    "exemption_5a": {"need_psychiatric": 1.2, "need_zmolk": 1.5, "need_autism": 0.5},
    "exemption_other": {},
    "moved": {"living_out_of_home": 0.7},
}
NEEDS = ["autism", "zmolk", "school_refusal", "bullying_trauma", "psychiatric", "behaviour",
         "chronic_illness", "learning", "family", "other"]
NEED_PREVALENCE = np.array([0.30, 0.05, 0.35, 0.15, 0.16, 0.15, 0.08, 0.15, 0.20, 0.05])
P_RELAPSE = 0.30
MAX_EPISODES = 3
NEIGHBOURHOODS = ["centrum", "vooroorlogse wijk", "naoorlogse wijk", "vinexwijk",
                  "dorpskern", "geïsoleerd buitengebied"]
TRUTH_DRAWS = 200_000
TRUTH_SEED = 424242
TAUS = (91, 182)
GRACE_DAYS = 28

TABLES = ["pupils", "episodes", "interventions", "attendance", "process_events",
          "school_calendar"]
#: tables every cohort has; a shape may leave out any of the others
REQUIRED_TABLES = ("pupils", "episodes")
#: the extra covariates of the pupils table (declared as ``extra_fields``)
EXTRA_COVARIATES = ("ses_score", "neighbourhood_type")
#: file formats :func:`write_simulated_cohort` writes (``xlsx``: one workbook per table)
FILE_FORMATS = ("csv", "parquet", "xlsx")
DEFAULT_REGIONS = 8
DEFAULT_REGION_PREFIX = "SWV-"
MAX_REGIONS = 99  # two-digit region numbers
EXTRA_REGION_SEED = 20230822
RETURN_REASONS = ["returned_full", "returned_partial", "returned_special_education",
                  "returned_new_school"]
_EPOCH = np.datetime64("1970-01-01", "D")


def _day(d: dt.date) -> int:
    return int((np.datetime64(d, "D") - _EPOCH).astype(int))


FU_DAY = _day(FOLLOW_UP_END)


# ----------------------------------------------------------------------------------------
# Result type
# ----------------------------------------------------------------------------------------
@dataclass
class SimulatedCohort:
    """A simulated cohort in memory.

    Attributes:
        tables: table name -> DataFrame with typed columns (dates as ``datetime64``),
            named and coded as in ``data_schema/``.
        metadata: the ``thuiszit`` block of datapackage.json.
        truth: the true parameters (what ``truth.json`` holds).
        extra: internal per-episode arrays (true intervention start, covariates); not
            written.
    """

    tables: dict[str, pd.DataFrame]
    metadata: dict[str, Any]
    truth: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict, repr=False)


# ----------------------------------------------------------------------------------------
# Calendar
# ----------------------------------------------------------------------------------------
def school_calendar(first: dt.date, last: dt.date) -> pd.DataFrame:
    """Non-school weekdays between ``first`` and ``last`` (Dutch-style, region midden).

    >>> cal = school_calendar(dt.date(2024, 12, 1), dt.date(2025, 1, 10))
    >>> cal["reason"].value_counts().to_dict()
    {'holiday': 7, 'public_holiday': 3}
    """
    days: dict[dt.date, str] = {}

    def weeks(year: int, isoweeks: list[int]) -> None:
        for w in isoweeks:
            for wd in range(1, 6):
                days.setdefault(dt.date.fromisocalendar(year, w, wd), "holiday")

    for y in range(first.year - 1, last.year + 1):
        pub = [dt.date(y, 1, 1), dt.date(y, 12, 25), dt.date(y, 12, 26)]
        e = easter(y)
        pub += [e - dt.timedelta(days=2), e + dt.timedelta(days=1), e + dt.timedelta(days=39),
                e + dt.timedelta(days=50)]
        kd = dt.date(y, 4, 27)
        pub.append(kd - dt.timedelta(days=1) if kd.weekday() == 6 else kd)
        if y % 5 == 0:
            pub.append(dt.date(y, 5, 5))
        for d in pub:
            if d.weekday() < 5:
                days[d] = "public_holiday"
        weeks(y, [8, 17, 18, 29, 30, 31, 32, 33, 34, 43])
        xmas = dt.date(y, 12, 22)
        monday = xmas - dt.timedelta(days=xmas.weekday()) if xmas.weekday() < 5 else (
            xmas + dt.timedelta(days=7 - xmas.weekday()))
        for i in range(14):
            d = monday + dt.timedelta(days=i)
            if d.weekday() < 5:
                days.setdefault(d, "holiday")
    out = pd.DataFrame(sorted((d, r) for d, r in days.items() if first <= d <= last),
                       columns=["date", "reason"])
    out["date"] = pd.to_datetime(out["date"])
    return out


class _Calendar:
    """Day-indexed lookups: school day flags, next school day, school days per week."""

    def __init__(self, first: int, last: int) -> None:
        self.first, self.last = first, last
        n = last - first + 1
        cal = school_calendar(_date(first), _date(last))
        off = np.zeros(n, bool)
        off[(cal["date"].values.astype("datetime64[D]") - _EPOCH).astype(int) - first] = True
        dayno = np.arange(first, last + 1)
        weekday = (dayno + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
        self.school = (weekday < 5) & ~off
        idx = np.where(self.school, np.arange(n), n)
        self._next = np.minimum.accumulate(idx[::-1])[::-1]
        self.table = cal

    def next_school_day(self, day: np.ndarray) -> np.ndarray:
        i = np.clip(day - self.first, 0, len(self.school) - 1)
        j = self._next[i]
        return np.where(j < len(self.school), j + self.first, day)

    def school_days_in_week(self, monday: np.ndarray) -> np.ndarray:
        csum = np.concatenate([[0], np.cumsum(self.school)])
        a = np.clip(monday - self.first, 0, len(self.school))
        b = np.clip(monday - self.first + 5, 0, len(self.school))
        return csum[b] - csum[a]


def _date(day: int) -> dt.date:
    return (_EPOCH + np.timedelta64(int(day), "D")).astype(dt.date)


def _month_index(day: np.ndarray) -> np.ndarray:
    return (np.asarray(day).astype("datetime64[D]").astype("datetime64[M]")).astype(np.int64)


def _month_first_day(month_idx: np.ndarray) -> np.ndarray:
    return (np.asarray(month_idx).astype("datetime64[M]").astype("datetime64[D]")).astype(
        np.int64)


def _monday(day: np.ndarray) -> np.ndarray:
    return day - (day + 3) % 7


# ----------------------------------------------------------------------------------------
# Hazard helpers
# ----------------------------------------------------------------------------------------
def _h0_cum(t: np.ndarray) -> np.ndarray:
    return (np.maximum(t, 0.0) / WEIBULL_SCALE) ** WEIBULL_SHAPE


def _h0_inv(h: np.ndarray) -> np.ndarray:
    return WEIBULL_SCALE * np.maximum(h, 0.0) ** (1.0 / WEIBULL_SHAPE)


def _return_time(e: np.ndarray, lp: np.ndarray, gamma: np.ndarray, s: np.ndarray,
                 t0: np.ndarray | None = None) -> np.ndarray:
    """Invert the cumulative return hazard: exposure effective from day ``s`` onward.

    ``e`` are unit-exponential draws; with ``t0`` the time is drawn conditionally on
    survival to ``t0`` (``t0 <= s``).
    """
    h_start = 0.0 if t0 is None else _h0_cum(t0) * np.exp(lp)
    target = h_start + e
    hs = _h0_cum(np.where(np.isfinite(s), s, 0.0)) * np.exp(lp)
    before = ~np.isfinite(s) | (target < hs)
    t_before = _h0_inv(target * np.exp(-lp))
    with np.errstate(over="ignore", invalid="ignore"):
        t_after = _h0_inv(_h0_cum(np.where(np.isfinite(s), s, 0.0))
                          + (target - hs) * np.exp(-(lp + gamma)))
    return np.where(before, t_before, t_after)


def _piecewise_inverse(e: np.ndarray, mult: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """Time (days since report) at which the cumulative initiation hazard reaches ``e``.

    Piecewise-constant rates on :data:`INIT_BREAKS`, multiplied per row by ``mult``;
    ``inf`` when the hazard is exhausted (no initiation after the last break).
    """
    widths = np.diff(INIT_BREAKS)
    cum = np.concatenate([[0.0], np.cumsum(rates * widths)])  # at the breaks
    target = e / np.maximum(mult, 1e-300)
    j = np.searchsorted(cum, target, side="right") - 1
    out = np.full(e.shape, np.inf)
    ok = j < len(rates)
    jj = j[ok]
    out[ok] = INIT_BREAKS[jj] + (target[ok] - cum[jj]) / rates[jj]
    return out


def _init_cum(u: float, rates: np.ndarray) -> float:
    """Baseline cumulative initiation hazard at ``u`` days since the report."""
    widths = np.clip(u - INIT_BREAKS[:-1], 0, np.diff(INIT_BREAKS))
    return float(np.sum(rates * widths))


# ----------------------------------------------------------------------------------------
# Structure: regions, municipalities, schools (fixed, seed-independent)
# ----------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _structure() -> dict[str, Any]:
    rng = np.random.default_rng(20230821)
    n_reg = len(REGION_LOG_HR)
    codes = rng.choice(np.arange(3, 2000), size=40, replace=False)
    munis, k = [], 0
    for _ in range(n_reg):
        m = int(rng.integers(3, 6))
        munis.append([f"GM{c:04d}" for c in sorted(codes[k:k + m])])
        k += m
    per_type = {"po": 24, "so": 3, "vo": 8, "vso": 3, "mbo": 3}
    schools: dict[tuple[int, str], list[str]] = {}
    for r in range(n_reg):
        for st, m in per_type.items():
            schools[(r, st)] = [f"SCH-{st.upper()}-{r + 1:02d}{x:03d}" for x in range(m)]
    return {"swv": [f"SWV-{r + 1:02d}" for r in range(n_reg)], "munis": munis,
            "schools": schools}


@dataclass(frozen=True)
class _Regions:
    """The samenwerkingsverbanden of one shape: ids, effects, shares and structure."""

    ids: tuple[str, ...]
    log_hr: np.ndarray
    share: np.ndarray
    access: np.ndarray
    munis: list[list[str]]
    schools: dict[tuple[int, str], list[str]]


@functools.lru_cache(maxsize=1)
def _extra_structure() -> dict[str, Any]:
    """Regions 9..MAX_REGIONS: effects, shares and municipalities drawn once (fixed seed).

    Region k has the same effect and municipalities whatever the number of regions, so
    cohorts of 10 and 12 regions share their first ten.
    """
    rng = np.random.default_rng(EXTRA_REGION_SEED)
    n_extra = MAX_REGIONS - len(REGION_LOG_HR)
    used = {int(m[2:]) for ms in _structure()["munis"] for m in ms}
    free = np.array([c for c in range(3, 2000) if c not in used])
    sizes = rng.integers(3, 6, n_extra)
    codes = rng.choice(free, size=int(sizes.sum()), replace=False)
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    return {
        "log_hr": np.round(rng.normal(0.0, 0.2, n_extra), 2),
        "access": np.round(rng.normal(0.0, 0.3, n_extra), 2),
        "share": np.round(rng.uniform(0.08, 0.16, n_extra), 2),
        "munis": [[f"GM{c:04d}" for c in sorted(codes[bounds[i]:bounds[i + 1]])]
                  for i in range(n_extra)],
    }


@functools.lru_cache(maxsize=16)
def _regions(n_regions: int = DEFAULT_REGIONS, prefix: str = DEFAULT_REGION_PREFIX
             ) -> _Regions:
    """The region model of ``n_regions`` regions with ids ``{prefix}01`` ...

    Eight regions with prefix ``SWV-`` is the demo's model exactly (the module constants).
    Fewer regions keep the first ``n`` with their shares renormalised; more regions add
    the fixed regions of :func:`_extra_structure`.
    """
    st = _structure()
    k = len(REGION_LOG_HR)
    if n_regions <= k:
        log_hr, access = REGION_LOG_HR[:n_regions], REGION_BTS_ACCESS[:n_regions]
        share, munis = REGION_SHARE[:n_regions], st["munis"][:n_regions]
    else:
        ex = _extra_structure()
        m = n_regions - k
        log_hr = np.concatenate([REGION_LOG_HR, ex["log_hr"][:m]])
        access = np.concatenate([REGION_BTS_ACCESS, ex["access"][:m]])
        share = np.concatenate([REGION_SHARE, ex["share"][:m]])
        munis = st["munis"] + ex["munis"][:m]
    if n_regions != k:
        share = share / share.sum()
    per_type = {"po": 24, "so": 3, "vo": 8, "vso": 3, "mbo": 3}
    schools = dict(st["schools"]) if n_regions <= k else {
        (r, t): [f"SCH-{t.upper()}-{r + 1:02d}{x:03d}" for x in range(m_)]
        for r in range(n_regions) for t, m_ in per_type.items()}
    ids = tuple(f"{prefix}{r + 1:02d}" for r in range(n_regions))
    return _Regions(ids, log_hr, share, access, munis, schools)


# ----------------------------------------------------------------------------------------
# Core simulation (vectorised, no per-pupil loops)
# ----------------------------------------------------------------------------------------
def _pupils(n: int, rng: np.random.Generator, cal: _Calendar, reg: _Regions
            ) -> dict[str, np.ndarray]:
    first0, first1 = _day(FIRST_START_FROM), _day(FIRST_START_TO)
    start0 = cal.next_school_day(rng.integers(first0, first1 + 1, n))
    ages = np.arange(5, 18)
    w = np.array([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 11, 10, 6], float)
    age0 = rng.choice(ages, n, p=w / w.sum())
    birth_idx = _month_index(start0) - (age0 * 12 + rng.integers(0, 12, n))
    region = rng.choice(len(reg.share), n, p=reg.share)
    u = rng.random(n)
    school_type = np.where(
        age0 < 12, np.select([u < 0.82, u < 0.94], ["po", "so"], "none"),
        np.where(age0 < 16, np.select([u < 0.72, u < 0.90], ["vo", "vso"], "none"),
                 np.select([u < 0.35, u < 0.75, u < 0.87], ["vo", "mbo", "vso"], "none")))
    prev = np.broadcast_to(NEED_PREVALENCE, (n, len(NEEDS))).copy()
    special = np.isin(school_type, ["so", "vso"])
    prev[special, NEEDS.index("zmolk")] = 0.20
    prev[age0 >= 12, NEEDS.index("psychiatric")] = 0.20
    prev[age0 < 12, NEEDS.index("psychiatric")] = 0.10
    needs = rng.random((n, len(NEEDS))) < prev
    u = rng.random(n)
    living = np.select([u < 0.86, u < 0.91, u < 0.94, u < 0.98],
                       ["home", "kleinschalig_verblijf", "residential", "foster"], "other")
    u = rng.random(n)
    sex = np.select([u < 0.55, u < 0.985, u < 0.995], ["m", "f", "x"], "unknown")
    muni = np.empty(n, object)
    school = np.empty(n, object)
    ri = rng.random(n)
    si = rng.random(n)
    for r in range(len(reg.share)):
        m = region == r
        ms = reg.munis[r]
        muni[m] = np.array(ms, object)[(ri[m] * len(ms)).astype(int)]
        for stype in ["po", "so", "vo", "vso", "mbo"]:
            mm = m & (school_type == stype)
            sl = reg.schools[(r, stype)]
            school[mm] = np.array(sl, object)[(si[mm] * len(sl)).astype(int)]
    school[school_type == "none"] = ""
    ses = np.round(rng.normal(0.2 * reg.log_hr[region], 1.0, n), 2)
    nbh = np.array(NEIGHBOURHOODS, object)[rng.choice(len(NEIGHBOURHOODS), n,
                                                      p=[.15, .2, .25, .15, .17, .08])]
    return {"start0": start0, "birth_idx": birth_idx, "region": region,
            "school_type": school_type, "needs": needs, "living": living, "sex": sex,
            "municipality": muni, "school_id": school, "ses": ses, "neighbourhood": nbh}


def _lin(cov: dict[str, np.ndarray], coef: dict[str, float], n: int) -> np.ndarray:
    out = np.zeros(n)
    for k, b in coef.items():
        out += b * cov[k]
    return out


def _episode_covs(p: dict[str, np.ndarray], pid: np.ndarray, start: np.ndarray,
                  etype: np.ndarray, k: int) -> dict[str, np.ndarray]:
    needs = p["needs"][pid]
    age = (_month_index(start) - p["birth_idx"][pid]) // 12
    cov = {f"need_{c}": needs[:, i].astype(float) for i, c in enumerate(NEEDS)}
    cov.update({
        "female": (p["sex"][pid] == "f").astype(float),
        "age_12plus": (age >= 12).astype(float),
        "living_out_of_home": np.isin(p["living"][pid], ["kleinschalig_verblijf",
                                                          "residential", "foster"]).astype(float),
        "absoluut_verzuim": (etype == "absoluut_verzuim").astype(float),
        "dreigend": (etype == "dreigend").astype(float),
        "prior_episode": np.full(len(pid), float(k > 0)),
        "ses_score": p["ses"][pid],
        "age": age.astype(float),
    })
    return cov


def _simulate_core(n: int, rng: np.random.Generator, cal: _Calendar,
                   reg: _Regions | None = None,
                   arms: frozenset[str] = frozenset(GAMMA)) -> dict[str, Any]:
    """Pupils and episodes with their main intervention, as arrays (one row per episode).

    A main intervention not in ``arms`` has initiation hazard zero; the first episode's
    random draws are the same (later episodes follow from the changed returns).
    """
    reg = reg or _regions()
    p = _pupils(n, rng, cal, reg)
    eps: list[dict[str, np.ndarray]] = []
    active = np.arange(n)
    start = p["start0"].copy()
    for k in range(MAX_EPISODES):
        m = len(active)
        if m == 0:
            break
        pid = active
        a = start[pid] if k == 0 else start
        stype = p["school_type"][pid]
        etype = np.where(stype == "none", "absoluut_verzuim",
                         np.where(rng.random(m) < 0.12, "dreigend", "lrv"))
        cov = _episode_covs(p, pid, a, etype, k)
        lp = _lin(cov, BETA, m) + reg.log_hr[p["region"][pid]]
        # report delay 0-6 weeks; some never reported
        never = rng.random(m) < np.where(etype == "dreigend", 0.60, 0.15)
        d = np.clip(np.round(2 + rng.gamma(2.0, 7.0, m)), 0, 42).astype(np.int64)
        # main intervention: BtS for 5-14 at report, another programme for 15+
        rep_day = a + d
        age_rep = (_month_index(rep_day) - p["birth_idx"][pid]) // 12
        bts_elig = (age_rep >= 5) & (age_rep <= 14) & ~never
        cov["weeks_home_at_report"] = d / 7.0
        alpha_lp = _lin(cov, ALPHA, m)
        mult_bts = np.exp(alpha_lp + reg.access[p["region"][pid]])
        mult_oth = np.exp(alpha_lp)
        e_init = rng.exponential(1.0, m)
        u_bts = _piecewise_inverse(e_init, mult_bts, BTS_RATES)
        u_oth = _piecewise_inverse(e_init, mult_oth, OTHER_RATES)
        cap15 = _month_first_day(p["birth_idx"][pid] + 15 * 12)  # first day aged 15
        off_bts = np.ceil(u_bts)
        bts_ok = bts_elig & np.isfinite(off_bts) & (rep_day + np.nan_to_num(
            off_bts, posinf=1e9) < cap15)
        oth_code = np.where(rng.random(m) < 0.5, "expert_begeleider", "onderwijs_zorg_maatwerk")
        oth_ok = ~never & (age_rep >= 15) & np.isfinite(u_oth)
        if "back_to_school" not in arms:
            bts_ok = np.zeros(m, bool)
        if not {"expert_begeleider", "onderwijs_zorg_maatwerk"} <= arms:
            oth_ok &= np.isin(oth_code, list(arms))
        main_code = np.where(bts_ok, "back_to_school", np.where(oth_ok, oth_code, ""))
        s = np.where(bts_ok, d + off_bts, np.where(oth_ok, d + np.ceil(u_oth), np.inf))
        s = np.maximum(s, d + 1)
        gamma = np.where(main_code == "back_to_school", GAMMA["back_to_school"],
                         np.where(main_code == "expert_begeleider", GAMMA["expert_begeleider"],
                                  GAMMA["onderwijs_zorg_maatwerk"]))
        t_ret = _return_time(rng.exponential(1.0, m), lp, gamma, s)
        comp = {}
        for cause, base in COMPETING_BASE.items():
            rate = base * np.exp(_lin(cov, COMPETING_BETA[cause], m))
            comp[cause] = rng.exponential(1.0, m) / rate
        comp["aged_out"] = (_month_first_day(p["birth_idx"][pid] + 18 * 12) - a).astype(float)
        names = ["return", *comp]
        times = np.column_stack([t_ret, *comp.values()])
        which = np.argmin(times, axis=1)
        t_end = times[np.arange(m), which]
        end_day = np.where(which == names.index("aged_out"), t_end, np.ceil(t_end))
        end_day = np.maximum(end_day, 1).astype(np.int64)
        fu_rel = FU_DAY - a
        observed = end_day <= fu_rel
        stop = np.where(observed, end_day, fu_rel)
        # return subtype
        u = rng.random(m)
        heavy = (cov["need_zmolk"] > 0) | ((cov["need_autism"] > 0) & np.isin(stype, ["so",
                                                                                       "vso"]))
        p_full = np.where(stype == "none", 0.15, 0.45)
        p_part = np.where(stype == "none", 0.15, 0.25)
        p_spec = np.where(heavy, 0.35, np.where(stype == "none", 0.30, 0.15))
        sub = np.select([u < p_full, u < p_full + p_part, u < p_full + p_part + p_spec],
                        RETURN_REASONS[:3], RETURN_REASONS[3])
        reason = np.where(which == 0, sub, np.array(names, object)[which])
        reason = np.where(observed, reason, "")
        # reports after the episode's end or after follow-up end are not exported
        reported = ~never & (d < stop) & (rep_day <= FU_DAY)
        started = np.isfinite(s) & (s < stop) & reported & (main_code != "")
        eps.append({
            "pid": pid, "k": np.full(m, k), "start": a, "etype": etype, "d": d,
            "reported": reported, "stop": stop, "observed": observed, "reason": reason,
            "main_code": np.where(started, main_code, ""),
            "main_start": np.where(started, s, -1).astype(np.int64),
            "lp": lp, "bts_elig_age": (age_rep >= 5) & (age_rep <= 14),
            "mult_bts": mult_bts, "cap15_rel": cap15 - rep_day,
            "age": cov["age"],
        })
        # relapse after a return: a new episode 2 weeks to ~a year later
        returned = observed & (which == 0)
        relapse = returned & (rng.random(m) < P_RELAPSE)
        gap = 14 + np.minimum(rng.exponential(110.0, m), 340).astype(np.int64)
        nxt = cal.next_school_day(a + end_day + gap)
        age_next = (_month_index(nxt) - p["birth_idx"][pid]) // 12
        go = relapse & (nxt <= _day(FIRST_START_TO)) & (age_next <= 17)
        active, start = pid[go], nxt[go]
    ep = {key: np.concatenate([e[key] for e in eps]) for key in eps[0]}
    return {"pupils": p, "episodes": ep}


# ----------------------------------------------------------------------------------------
# Truth
# ----------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def compute_truth(n_draws: int = TRUTH_DRAWS, n_regions: int = DEFAULT_REGIONS,
                  region_prefix: str = DEFAULT_REGION_PREFIX) -> dict[str, Any]:
    """True parameters and the target-trial RMST contrast (seed-independent, cached).

    The eligible population is generated by the same model as the cohorts (draws of
    :func:`_simulate_core` until ``n_draws`` eligible episodes). For each eligible episode
    the return time after the report is redrawn in two counterfactual worlds with common
    random numbers (same exponential draws for return and initiation):

    * A: the natural BtS initiation hazard on [0, 28) days since report; anyone not
      started at day 28 starts at day 28 (also the few who turned 15 in between);
    * B: no initiation on [0, 28); the natural initiation hazard after day 28.

    Competing events and administrative censoring are removed.

    The population has the regions of the cohort (``n_regions``, ids with
    ``region_prefix``): region effects and shares change the case mix, so the target-trial
    numbers depend on them; the structural parameters do not.

    >>> t = compute_truth(20_000)
    >>> t["target_trial"]["rmst"]["182"]["difference"] < 0  # A returns faster
    True
    """
    reg = _regions(n_regions, region_prefix)
    rng = np.random.default_rng(TRUTH_SEED)
    cal = _Calendar(_day(FIRST_START_FROM) - 400, FU_DAY + 10)
    parts: list[dict[str, np.ndarray]] = []
    total, n_ep, n_pupils = 0, 0, 0
    while total < n_draws:
        core = _simulate_core(100_000, rng, cal, reg)
        ep = core["episodes"]
        elig = (np.isin(ep["etype"], ["lrv", "absoluut_verzuim"]) & ep["reported"]
                & ep["bts_elig_age"])  # reported implies still home at the report
        parts.append({k: v[elig] for k, v in ep.items()})
        total += int(elig.sum())
        n_ep += len(ep["pid"])
        n_pupils += 100_000
    el = {k: np.concatenate([p_[k] for p_ in parts])[:n_draws] for k in parts[0]}
    m = len(el["d"])
    d = el["d"].astype(float)
    e_ret = rng.exponential(1.0, m)
    e_init = rng.exponential(1.0, m)
    mult = el["mult_bts"]
    cap = el["cap15_rel"].astype(float)
    # world A: natural on [0, 28), forced at 28
    u_nat = _piecewise_inverse(e_init, mult, BTS_RATES)
    off_nat = np.ceil(u_nat)
    nat_ok = np.isfinite(off_nat) & (off_nat <= GRACE_DAYS) & (off_nat < cap)
    s_a = d + np.where(nat_ok, off_nat, GRACE_DAYS)
    # world B: hazard zero on [0, 28), natural after (same draw, shifted cumulative)
    u_b = _piecewise_inverse(e_init + mult * _init_cum(GRACE_DAYS, BTS_RATES), mult,
                             BTS_RATES)
    off_b = np.ceil(u_b)
    b_ok = np.isfinite(off_b) & (off_b < cap)
    s_b = np.where(b_ok, d + off_b, np.inf)
    g = np.full(m, GAMMA["back_to_school"])
    t_a = np.ceil(_return_time(e_ret, el["lp"], g, s_a, t0=d)) - d
    t_b = np.ceil(_return_time(e_ret, el["lp"], g, s_b, t0=d)) - d
    rmst: dict[str, Any] = {}
    for tau in TAUS:
        ya, yb = np.minimum(t_a, tau), np.minimum(t_b, tau)
        diff = ya - yb
        rmst[str(tau)] = {
            "tau_days": tau,
            "strategy_A_start_within_28d": float(ya.mean()),
            "strategy_B_no_start_within_28d": float(yb.mean()),
            "difference": float(diff.mean()),
            "difference_mc_se": float(diff.std(ddof=1) / np.sqrt(m)),
            "mc_se_A": float(ya.std(ddof=1) / np.sqrt(m)),
            "mc_se_B": float(yb.std(ddof=1) / np.sqrt(m)),
            "definition": "E[min(T_return - reported_date, tau)] in days; A minus B",
        }
        rmst[str(tau)]["cumulative_return_A"] = float(np.mean(t_a <= tau))
        rmst[str(tau)]["cumulative_return_B"] = float(np.mean(t_b <= tau))
    forced_after_15 = float(np.mean(~nat_ok & (cap <= GRACE_DAYS)))
    # the marginal HR A vs B: the Cox fit (Breslow ties, as the CCW emulation) on both
    # worlds, follow-up cut at tau; lazy import, effects imports this module
    from .effects.marginal_hr import marginal_hazard_ratio_paired

    hr: dict[str, Any] = {}
    for tau in TAUS:
        fit = marginal_hazard_ratio_paired(t_a, t_b, tau)
        hr[str(tau)] = {"follow_up_days": tau, "hazard_ratio": fit["hr"],
                        "log_hazard_ratio": fit["beta"], "mc_se_log": fit["mc_se_log"]}
    return {
        "model": "cause-specific proportional hazards for return to school, time t in days "
                 "since absence_start: h(t|X,A(t)) = h0(t) exp(beta'X + region_swv + "
                 "sum_k gamma_k 1[t >= start_k]); the intervention is effective from its "
                 "start_date (t = start_date - absence_start) onward",
        "time_origin": "absence_start",
        "time_unit": "days",
        "end_day": "end_date - absence_start = ceil(T) for returns and random competing "
                   "events, so an event on day s+1 or later after a start on day s is "
                   "exposed: use counting-process intervals (start, stop]",
        "baseline_hazard": {
            "family": "weibull", "shape": WEIBULL_SHAPE, "scale_days": WEIBULL_SCALE,
            "cumulative": "H0(t) = (t / scale) ** shape",
        },
        "beta": dict(BETA),
        "hazard_ratios_covariates": {k: float(np.exp(v)) for k, v in BETA.items()},
        "covariate_coding": dict(COVARIATE_CODING),
        "region_log_hr": {r: float(v) for r, v in zip(reg.ids, reg.log_hr, strict=True)},
        "region_note": "region effects are fixed (conditional log HR per swv_id); use "
                       "strata or swv_id dummies to adjust",
        "gamma_log_hr": dict(GAMMA),
        "hazard_ratios": {k: float(np.exp(v)) for k, v in GAMMA.items()},
        "hazard_ratio_note": "cause-specific HR for return vs usual care (no main "
                             "intervention), effective from the intervention's start_date",
        "competing_events": {
            "daily_hazard": dict(COMPETING_BASE),
            "log_hr": {k: dict(v) for k, v in COMPETING_BETA.items()},
            "aged_out": "deterministic at the first day of the month of the 18th birthday",
            "other_end_reasons": "never generated: other, unknown",
        },
        "initiation": {
            "who": "back_to_school: episodes whose pupil is 5-14 (month-based) at the "
                   "report date and reported; expert_begeleider / onderwijs_zorg_maatwerk "
                   "(50/50): 15 and older at report",
            "time_origin": "reported_date",
            "breaks_days": INIT_BREAKS.tolist(),
            "bts_daily_rates": BTS_RATES.tolist(),
            "other_daily_rates": OTHER_RATES.tolist(),
            "log_rate_ratios": dict(ALPHA),
            "bts_region_access_log_rr": {r: float(v) for r, v in zip(reg.ids, reg.access,
                                                                     strict=True)},
            "weeks_home_at_report": "(reported_date - absence_start) / 7",
            "age_limit": "BtS only while age <= 14 (no start on or after the first day of "
                         "the month the pupil turns 15)",
            "start_day": "start_date = reported_date + ceil(U), U the initiation time",
        },
        "target_trial": {
            "eligible": "episodes of type lrv or absoluut_verzuim, pupil aged 5-14 "
                        "(month-based completed years) at reported_date, reported, and "
                        "still at home at the report (end_date empty or > reported_date)",
            "time_zero": "reported_date",
            "outcome": "return to school (end_reason returned_*)",
            "strategy_A": "start Back to School within 28 days of the report: natural "
                          "initiation hazard on [0, 28); anyone still home and not "
                          "started at day 28 starts at day 28",
            "strategy_B": "do not start Back to School within 28 days: initiation hazard "
                          "zero on [0, 28), natural initiation hazard after day 28",
            "grace_period_days": GRACE_DAYS,
            "censoring_note": "exemptions and moving depend on support needs and living "
                              "situation, so estimating this estimand needs inverse "
                              "probability of censoring weights for them (given the "
                              "baseline covariates) besides the clone-censoring weights; "
                              "a CCW analysis with both reproduces these numbers (see "
                              "tests/test_simulate.py::test_ccw_estimate_matches_target_"
                              "trial_truth)",
            "sign": "negative difference = shorter time home (faster return) under A",
            "estimand": "hypothetical: competing events (exemptions, moving, ageing out) "
                        "and administrative censoring removed, i.e. the return-time "
                        "distribution had no one been able to leave otherwise",
            "time_scale": "integer days end_date - reported_date (as in the data)",
            "rmst": rmst,
            "hazard_ratio": hr,
            "hazard_ratio_definition": "marginal hazard ratio of return, A vs B: the "
                                       "probability limit of a Cox model with the arm as "
                                       "only covariate (Breslow ties on integer days) "
                                       "fitted to both counterfactual worlds with "
                                       "follow-up cut at tau days since the report; "
                                       "hazards are not proportional (A starts in the "
                                       "first 28 days, B may start later), so this is a "
                                       "time-averaged contrast that depends on tau; "
                                       "the CCW emulation estimates it at max(tau)",
            "n_draws": m,
            "n_pupils_simulated": n_pupils,
            "n_episodes_simulated": n_ep,
            "common_random_numbers": True,
            "share_forced_start_after_turning_15": forced_after_15,
            "monte_carlo_seed": TRUTH_SEED,
        },
    }


# ----------------------------------------------------------------------------------------
# Tables
# ----------------------------------------------------------------------------------------
def _fmt_days(days: np.ndarray) -> np.ndarray:
    """Integer days -> ISO strings ('' for -1), formatting each distinct day once."""
    days = np.asarray(days, np.int64)
    uniq, inv = np.unique(days, return_inverse=True)
    txt = np.datetime_as_string(uniq.astype("datetime64[D]"), unit="D").astype(object)
    txt[uniq < 0] = ""
    return txt[inv]


def _ts(days: np.ndarray) -> pd.Series:
    days = np.asarray(days, np.int64)
    out = days.astype("datetime64[D]").astype("datetime64[ns]")
    return pd.Series(np.where(days < 0, np.datetime64("NaT"), out))


def _build_tables(core: dict[str, Any], rng: np.random.Generator, cal: _Calendar,
                  bar: Any, reg: _Regions, arms: frozenset[str]
                  ) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    p, ep = core["pupils"], core["episodes"]
    n = len(p["start0"])
    pupil_ids = np.array([f"P{i:07d}" for i in range(1, n + 1)], object)
    # ---------------------------------------------------------------- pupils
    needs_txt = np.full(n, "", object)
    for i, c in enumerate(NEEDS):
        has = p["needs"][:, i]
        needs_txt[has] = needs_txt[has] + np.where(needs_txt[has] == "", c, "|" + c)
    birth = (p["birth_idx"].astype("datetime64[M]")).astype(str).astype(object)
    pupils = pd.DataFrame({
        "pupil_id": pupil_ids, "birth_month": birth, "sex": p["sex"],
        "school_type": p["school_type"], "school_id": p["school_id"],
        "swv_id": np.array(reg.ids, object)[p["region"]],
        "municipality_code": p["municipality"], "living_situation": p["living"],
        "support_needs": needs_txt, "ses_score": p["ses"],
        "neighbourhood_type": p["neighbourhood"],
    })
    bar.update(1)
    # ---------------------------------------------------------------- episodes
    order = np.lexsort((ep["start"], ep["pid"]))
    ep = {k: v[order] for k, v in ep.items()}
    m = len(order)
    pid = ep["pid"]
    a = ep["start"]
    ep_ids = np.char.add(np.char.add(pupil_ids[pid].astype(str), "-E"),
                         (ep["k"] + 1).astype(str)).astype(object)
    end_abs = np.where(ep["observed"], a + ep["stop"], -1)
    rep_abs = np.where(ep["reported"], a + ep["d"], -1)
    episodes = pd.DataFrame({
        "episode_id": ep_ids, "pupil_id": pupil_ids[pid], "episode_type": ep["etype"],
        "absence_start": _ts(a), "reported_date": _ts(rep_abs), "end_date": _ts(end_abs),
        "end_reason": ep["reason"],
    })
    bar.update(1)
    # ---------------------------------------------------------------- interventions
    last_day = np.where(ep["observed"], a + ep["stop"], FU_DAY)  # episode window end
    rows: list[pd.DataFrame] = []
    has = ep["main_code"] != ""
    idx = np.flatnonzero(has)
    k = len(idx)
    start = a[idx] + ep["main_start"][idx]
    wait = 7 + rng.integers(0, 36, k)
    referral = np.maximum(start - wait, rep_abs[idx])
    is_bts = ep["main_code"][idx] == "back_to_school"
    u = rng.random(k)
    dayparts = np.select([u < 0.05, u < 0.40, u < 0.90], [1, 2, 3], 4).astype(float)
    long_ = rng.random(k) < 0.15
    dur = np.where(long_, rng.integers(92, 155, k), rng.integers(42, 92, k))
    dur = np.where(is_bts, dur, rng.integers(60, 200, k))
    group = rng.random(k) < 0.95
    planned_end = start + dur
    ep_end = end_abs[idx]
    end = np.where(ep_end >= 0, np.minimum(planned_end, ep_end + rng.integers(0, 11, k)),
                   planned_end)
    end = np.where(end > FU_DAY, -1, end)

    def flags(prob: float) -> pd.Series:
        val = pd.Series(rng.random(k) < prob, dtype="boolean")
        val[~is_bts] = pd.NA
        return val

    rows.append(pd.DataFrame({
        "episode_idx": idx, "pupil_id": pupil_ids[pid[idx]], "intervention_code":
        ep["main_code"][idx], "referral_date": referral, "start_date": start, "end_date": end,
        "dayparts_per_week": np.where(is_bts, np.where(group, dayparts, 0.0), np.nan),
        "coaching_child": flags(0.97), "coaching_parents": flags(0.93),
        "coaching_teacher": flags(0.88),
        "group_treatment": pd.Series(group, dtype="boolean").where(is_bts, pd.NA),
    }))
    proc_dates: dict[str, np.ndarray] = {}
    for code, prob in (("thuiszitterstafel", 0.25), ("agendapunt_4", 0.30)):
        day = cal.next_school_day(rep_abs + rng.integers(7, 61, m))  # meetings on school days
        ok = (rep_abs >= 0) & (rng.random(m) < prob) & (day < last_day) & (day <= FU_DAY)
        ok &= code in arms  # an absent process intervention: same draws, no rows
        proc_dates[code] = np.where(ok, day, -1)
        j = np.flatnonzero(ok)
        rows.append(pd.DataFrame({
            "episode_idx": j, "pupil_id": pupil_ids[pid[j]], "intervention_code": code,
            "referral_date": day[j], "start_date": day[j], "end_date": day[j],
        }))
    iv = pd.concat(rows, ignore_index=True).sort_values(
        ["episode_idx", "start_date", "intervention_code"], kind="stable")
    iv.insert(0, "intervention_id", [f"INT{i:08d}" for i in range(1, len(iv) + 1)])
    iv.insert(1, "episode_id", ep_ids[iv["episode_idx"].to_numpy()])
    bts_rows = iv[iv["intervention_code"] == "back_to_school"]
    for c in ("referral_date", "start_date", "end_date"):
        iv[c] = _ts(iv[c].fillna(-1).to_numpy(np.int64)).to_numpy()
    interventions = iv.drop(columns="episode_idx").reset_index(drop=True)
    for c in ("dayparts_per_week",):
        interventions[c] = interventions[c].astype(float)
    for c in ("coaching_child", "coaching_parents", "coaching_teacher", "group_treatment"):
        interventions[c] = interventions[c].astype("boolean")
    bar.update(1)
    # ---------------------------------------------------------------- attendance
    attendance = _attendance(ep, pupil_ids, a, end_abs, bts_rows, rng, cal)
    bar.update(1)
    # ---------------------------------------------------------------- process events
    process = _process_events(ep, ep_ids, pupil_ids, a, rep_abs, end_abs, last_day,
                              proc_dates, rng)
    bar.update(1)
    calendar = cal.table[cal.table["date"] <= pd.Timestamp(FOLLOW_UP_END)]
    calendar = calendar[calendar["date"] >= pd.Timestamp(FIRST_START_FROM)
                        - pd.Timedelta(days=365)].reset_index(drop=True)
    tables = {"pupils": pupils, "episodes": episodes, "interventions": interventions,
              "attendance": attendance, "process_events": process,
              "school_calendar": calendar}
    extra = {"episode_order": order, "main_start_rel": ep["main_start"],
             "main_code": ep["main_code"]}
    return tables, extra


def _segments(n_rows: np.ndarray, first_off: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row -> (segment index, week offset) for segments of ``n_rows`` weeks."""
    n_rows = np.maximum(n_rows, 0)
    seg = np.repeat(np.arange(len(n_rows)), n_rows)
    starts = np.concatenate([[0], np.cumsum(n_rows)[:-1]])
    within = np.arange(len(seg)) - np.repeat(starts, n_rows)
    return seg, first_off[seg] + within


def _attendance(ep: dict[str, np.ndarray], pupil_ids: np.ndarray, a: np.ndarray,
                end_abs: np.ndarray, bts: pd.DataFrame, rng: np.random.Generator,
                cal: _Calendar) -> pd.DataFrame:
    w0 = _monday(a)  # week of the absence start
    stop_abs = a + ep["stop"]
    w_end = _monday(stop_abs)  # week of the return (or of follow-up end)
    n_during = (w_end - w0) // 7  # whole weeks home before the end week
    absolute = ep["etype"] == "absoluut_verzuim"
    parts = []
    # before: 3 weeks, declining attendance (signals)
    seg, off = _segments(np.full(len(a), 3), np.full(len(a), -3))
    parts.append((seg, off, 0))
    # during: first 3 and last 6 weeks
    seg, off = _segments(np.minimum(n_during, 3), np.zeros(len(a), np.int64))
    parts.append((seg, off, 1))
    late_from = np.maximum(n_during - 6, 3)
    seg, off = _segments(n_during - late_from, late_from)
    parts.append((seg, off, 1))
    # after a return: up to 10 weeks of rebuilding
    returned = np.isin(ep["reason"], RETURN_REASONS)
    seg, off = _segments(np.where(returned, 10, 0), n_during)
    parts.append((seg, off, 2))
    segs = np.concatenate([s for s, _, _ in parts])
    offs = np.concatenate([o for _, o, _ in parts])
    kind = np.concatenate([np.full(len(s), k_) for s, _, k_ in parts])
    week = w0[segs] + 7 * offs
    sd = cal.school_days_in_week(week)
    full = 2 * sd
    r = len(segs)
    sched = full.copy()
    att = np.zeros(r, np.int64)
    loc = np.full(r, "", object)
    # before
    b = kind == 0
    pr = np.select([offs == -3, offs == -2], [0.9, 0.75], 0.5)
    sched[b & absolute[segs]] = 0
    att[b] = rng.binomial(sched[b], pr[b])
    loc[b & (sched > 0)] = "school"
    # during: nothing attended; not enrolled -> no timetable
    dmask = kind == 1
    sched[dmask & absolute[segs]] = 0
    # after: rebuilding timetable
    am = kind == 2
    j = offs - n_during[segs]
    reason = ep["reason"][segs]
    plan = np.where(reason == "returned_partial", np.minimum(4 + j // 2, 8),
                    np.minimum(4 + 2 * j, 10))
    sched[am] = np.minimum(plan[am], full[am])
    att[am] = rng.binomial(sched[am], 0.9)
    loc[am] = np.select([reason[am] == "returned_special_education",
                         reason[am] == "returned_new_school"],
                        ["special_education", "other_school"], "school")
    rows = pd.DataFrame({"seg": segs, "week": week, "sched": sched, "att": att, "loc": loc,
                         "prio": np.where(kind == 1, 1, np.where(kind == 2, 2, 3))})
    # Back to School weeks at the facility (priority over everything else)
    if len(bts):
        ei = bts["episode_idx"].to_numpy()
        s_abs = bts["start_date"].to_numpy(np.int64)
        e_abs = bts["end_date"].to_numpy(np.int64)
        e_abs = np.where(e_abs < 0, FU_DAY, e_abs)
        e_abs = np.minimum(e_abs, stop_abs[ei] - 1)
        ws = _monday(s_abs)
        nw = np.clip((_monday(e_abs) - ws) // 7 + 1, 0, 26)
        sseg, soff = _segments(nw, np.zeros(len(ei), np.int64))
        wk = ws[sseg] + 7 * soff
        dp = np.nan_to_num(bts["dayparts_per_week"].to_numpy(float)).astype(np.int64)
        sch = np.minimum(dp[sseg], 2 * cal.school_days_in_week(wk))
        rows = pd.concat([rows, pd.DataFrame({
            "seg": ei[sseg], "week": wk, "sched": sch, "att": rng.binomial(sch, 0.8),
            "loc": np.where(sch > 0, "facility", ""), "prio": 0})], ignore_index=True)
    rows = rows[(rows["week"] <= FU_DAY) & (rows["week"] >= 0)]
    rows["pupil"] = ep["pid"][rows["seg"].to_numpy()]
    rows = rows.sort_values(["pupil", "week", "prio"], kind="stable")
    rows = rows.drop_duplicates(["pupil", "week"], keep="first")
    return pd.DataFrame({
        "pupil_id": pupil_ids[rows["pupil"].to_numpy()],
        "week_start": _ts(rows["week"].to_numpy()).to_numpy(),
        "scheduled_dayparts": rows["sched"].to_numpy(np.int64),
        "attended_dayparts": rows["att"].to_numpy(np.int64),
        "location": rows["loc"].to_numpy(),
    })


def _process_events(ep: dict[str, np.ndarray], ep_ids: np.ndarray, pupil_ids: np.ndarray,
                    a: np.ndarray, rep_abs: np.ndarray, end_abs: np.ndarray,
                    last_day: np.ndarray, proc: dict[str, np.ndarray],
                    rng: np.random.Generator) -> pd.DataFrame:
    m = len(a)
    rep = np.where(rep_abs >= 0, rep_abs, a + 14)  # unreported: steps from ~2 weeks
    reported = rep_abs >= 0

    def ri(lo: int, hi: int) -> np.ndarray:
        return rng.integers(lo, hi + 1, m)

    def ev(day: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.where(mask, day, -1)

    wl_start = rep + ri(7, 42)
    has_wl = rng.random(m) < 0.30
    wl_end = wl_start + ri(28, 180)
    returned = np.isin(ep["reason"], RETURN_REASONS)
    place = np.isin(ep["reason"], ["returned_special_education", "returned_new_school"])
    steps = {
        "signal": ev(np.where(ep["etype"] == "dreigend", a, a - ri(0, 21)),
                     rng.random(m) < 0.95),
        "reported_leerplicht": rep_abs,
        "reported_swv": ev(rep + ri(0, 21), reported & (rng.random(m) < 0.5)),
        "contact_pupil": ev(rep + ri(1, 21), rng.random(m) < 0.8),
        "contact_parents": ev(rep + ri(0, 14), rng.random(m) < 0.9),
        "network_mapped": ev(rep + ri(14, 56), rng.random(m) < 0.6),
        "plan_agreed": ev(rep + ri(21, 84), rng.random(m) < 0.55),
        "case_table": proc["thuiszitterstafel"],
        "agendapunt_4": proc["agendapunt_4"],
        "waiting_list_start": ev(wl_start, has_wl),
        "waiting_list_end": ev(wl_end, has_wl),
        "care_started": ev(wl_end + ri(0, 14), has_wl & (rng.random(m) < 0.8)),
        "placement_found": ev(np.maximum(end_abs - ri(0, 21), a), place),
        "follow_up": ev(end_abs + ri(14, 56), returned & (rng.random(m) < 0.7)),
    }
    frames = []
    for code, day in steps.items():
        ok = (day >= 0) & (day <= FU_DAY)
        if code not in ("signal", "placement_found", "follow_up"):
            ok &= day <= last_day  # steps of the episode stay inside it
        j = np.flatnonzero(ok)
        frames.append(pd.DataFrame({"ei": j, "day": day[j], "code": code}))
    ev_df = pd.concat(frames, ignore_index=True)
    code_order = {c: i for i, c in enumerate(steps)}
    ev_df["co"] = ev_df["code"].map(code_order)
    ev_df = ev_df.sort_values(["ei", "day", "co"], kind="stable")
    out = pd.DataFrame({
        "event_id": [f"EV{i:09d}" for i in range(1, len(ev_df) + 1)],
        "pupil_id": pupil_ids[ep["pid"][ev_df["ei"].to_numpy()]],
        "episode_id": ep_ids[ev_df["ei"].to_numpy()],
        "event_code": ev_df["code"].to_numpy(),
        "event_date": _ts(ev_df["day"].to_numpy()).to_numpy(),
    })
    return out


_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9_-]{2,60}$")


@dataclass(frozen=True)
class _Shape:
    """The validated shape options of one cohort (see :func:`simulate_cohort`)."""

    tables: tuple[str, ...]
    covariate_names: tuple[tuple[str, str | None], ...]  # simulator name -> written name
    n_regions: int
    region_prefix: str
    arms: frozenset[str]
    observation_start: dt.date | None

    @property
    def is_default(self) -> bool:
        return self == _shape()

    def written_name(self, covariate: str) -> str | None:
        return dict(self.covariate_names)[covariate]

    def describe(self) -> dict[str, Any]:
        """The shape as recorded in truth.json."""
        return {
            "tables": list(self.tables),
            "covariate_names": dict(self.covariate_names),
            "n_regions": self.n_regions,
            "region_ids": list(_regions(self.n_regions, self.region_prefix).ids),
            "interventions_present": [c for c in GAMMA if c in self.arms],
            "interventions_absent": [c for c in GAMMA if c not in self.arms],
            "observation_start": (None if self.observation_start is None
                                  else self.observation_start.isoformat()),
        }


def _shape(tables: Sequence[str] | None = None,
           covariate_names: Mapping[str, str | None] | None = None,
           n_regions: int = DEFAULT_REGIONS, region_prefix: str = DEFAULT_REGION_PREFIX,
           arms: Sequence[str] | None = None,
           observation_start: dt.date | str | None = None) -> _Shape:
    """Check the shape options and give them one canonical form; ValueError says what is
    wrong and what is allowed."""
    tabs = list(TABLES) if tables is None else list(tables)
    unknown = sorted(set(tabs) - set(TABLES))
    if unknown:
        raise ValueError(f"unknown table(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(TABLES)}")
    missing = [t for t in REQUIRED_TABLES if t not in tabs]
    if missing:
        raise ValueError(f"tables must include {' and '.join(REQUIRED_TABLES)} (missing: "
                         f"{', '.join(missing)})")
    names: dict[str, str | None] = {c: c for c in EXTRA_COVARIATES}
    for key, new in (covariate_names or {}).items():
        if key not in EXTRA_COVARIATES:
            raise ValueError(f"covariate {key!r} cannot be renamed; the simulator's extra "
                             f"covariates are {', '.join(EXTRA_COVARIATES)}")
        if new is not None and not _NAME_RE.match(str(new)):
            raise ValueError(f"covariate name {new!r}: use lower-case letters, digits and _ "
                             "(starting with a letter)")
        names[key] = None if new is None else str(new)
    written = [v for v in names.values() if v is not None]
    if len(set(written)) < len(written):
        raise ValueError(f"covariate names must differ: {written}")
    renamed = [v for k, v in names.items() if v is not None and v != k]
    clash: list[str] = []
    if renamed:
        from .schema import table_schema  # lazy: only renamed covariates need it

        taken = set(table_schema("pupils").field_names)
        clash = [v for v in renamed if v in taken or v.startswith("need_")]
    if clash:
        raise ValueError(f"covariate name(s) {', '.join(clash)} clash with a pupils field "
                         "(or a need_<code> column); choose another name")
    if not 1 <= int(n_regions) <= MAX_REGIONS:
        raise ValueError(f"n_regions must be 1 to {MAX_REGIONS}, not {n_regions}")
    if not _PREFIX_RE.match(region_prefix):
        raise ValueError(f"region_prefix {region_prefix!r}: use 2-60 letters, digits, - or _")
    arm_set = frozenset(GAMMA if arms is None else arms)
    bad = sorted(arm_set - set(GAMMA))
    if bad:
        raise ValueError(f"unknown intervention(s) {', '.join(bad)}; choose from "
                         f"{', '.join(GAMMA)}")
    obs = None
    if observation_start is not None:
        try:
            obs = pd.Timestamp(observation_start).date()
        except (ValueError, TypeError) as exc:
            raise ValueError(f"observation_start {observation_start!r} is not a date "
                             "(YYYY-MM-DD)") from exc
        if not FIRST_START_FROM < obs < FOLLOW_UP_END:
            raise ValueError(f"observation_start must lie after {FIRST_START_FROM} (the "
                             f"first absence start) and before {FOLLOW_UP_END} (follow-up "
                             f"end), not {obs}")
    return _Shape(tuple(t for t in TABLES if t in tabs), tuple(names.items()),
                  int(n_regions), region_prefix, arm_set, obs)


def _prevalent(tables: dict[str, pd.DataFrame], start: dt.date) -> dict[str, pd.DataFrame]:
    """Only what a registration that started on ``start`` holds: episodes still running
    on that day (end_date empty or later) or starting after it, with their pupils,
    interventions and process events, and their pupils' attendance from three weeks
    before the first such episode."""
    day = pd.Timestamp(start)
    ep = tables["episodes"]
    ep = ep[ep["end_date"].isna() | (ep["end_date"] > day)].reset_index(drop=True)
    if ep.empty:
        raise ValueError(f"no episode is still running on {start} or starts after it; "
                         "choose an earlier observation_start or more pupils")
    out = dict(tables)
    out["episodes"] = ep
    out["pupils"] = tables["pupils"][tables["pupils"]["pupil_id"].isin(ep["pupil_id"])
                                     ].reset_index(drop=True)
    for name in ("interventions", "process_events"):
        df = tables[name]
        out[name] = df[df["episode_id"].isin(ep["episode_id"])].reset_index(drop=True)
    first = ep.groupby("pupil_id")["absence_start"].min()
    first = first - pd.to_timedelta(first.dt.dayofweek + 21, unit="D")
    att = tables["attendance"]
    since = att["pupil_id"].map(first)
    out["attendance"] = att[since.notna() & (att["week_start"] >= since)].reset_index(drop=True)
    return out


_TRUTH_PREVALENT = (
    "prevalent cohort: the export holds only episodes still running on observation_start "
    "(end_date empty or after it) or starting after it, as a registration that starts on "
    "that date would. The structural truth is unchanged: beta, gamma (hazard_ratios) and "
    "the region effects are conditional hazard ratios given the time already home, so "
    "they hold for these episodes too. Episodes already home on observation_start are "
    "left-truncated (length-biased: short episodes that ended before it are missing), so "
    "an analysis reproduces the truth only with delayed entry, each episode entering the "
    "risk set at max(0, observation_start - absence_start) days; without it, "
    "Kaplan-Meier curves and median times overstate time at home. prior_episode is not "
    "fully observable: an earlier episode that ended before observation_start is not in "
    "the export (the episode_id suffix -E2/-E3 still numbers the episodes). The "
    "target_trial numbers describe all eligible episodes of the simulated population "
    "(time zero at the report, incident); for reports before observation_start the "
    "export lacks the episodes that ended early, and episodes reported after it are "
    "somewhat more often repeat episodes, so they are a reference, not the exact "
    "estimand, of an emulation on this export."
)


def _shape_truth(truth: dict[str, Any], shape: _Shape) -> dict[str, Any]:
    """truth.json of a non-default shape: names as written, absent arms, the shape."""
    truth = copy.deepcopy(truth)
    ses = shape.written_name("ses_score")
    for key in ("beta", "hazard_ratios_covariates", "covariate_coding"):
        truth[key].pop("ses_score")
    if ses is not None:
        truth["beta"][ses] = BETA["ses_score"]
        truth["hazard_ratios_covariates"][ses] = float(np.exp(BETA["ses_score"]))
        truth["covariate_coding"][ses] = (f"pupils.{ses} (extra field), per unit "
                                          "(standard deviation)")
    else:
        truth["unmeasured_covariates"] = {"ses_score": {
            "log_hr": BETA["ses_score"],
            "note": "neighbourhood SES affects return but is not in this export; given "
                    "the region it is independent of every intervention, so it does not "
                    "confound their hazard ratios (a model without it estimates them "
                    "marginally over SES, a difference too small to see at log HR 0.10 "
                    "per SD)"}}
    absent = [c for c in GAMMA if c not in shape.arms]
    for key in ("gamma_log_hr", "hazard_ratios"):
        truth[key] = {c: v for c, v in truth[key].items() if c in shape.arms}
    if absent:
        truth["interventions_absent"] = {
            c: "not in this cohort: its initiation hazard is zero, so no episode has it and "
               "its effect cannot be estimated" for c in absent}
    if "back_to_school" not in shape.arms:
        truth["target_trial"] = {
            "available": False,
            "reason": "Back to School is absent from this cohort (initiation hazard zero), "
                      "so there is no target trial of starting it to emulate and no "
                      "target-trial truth"}
    if shape.observation_start is not None:
        truth["observation_start"] = {"date": shape.observation_start.isoformat(),
                                      "meaning": _TRUTH_PREVALENT}
    truth["shape"] = shape.describe()
    return truth


def simulate_cohort(n_pupils: int = 2000, seed: int = 1, progress: bool = True,
                    truth_draws: int = TRUTH_DRAWS, *,
                    tables: Sequence[str] | None = None,
                    covariate_names: Mapping[str, str | None] | None = None,
                    n_regions: int = DEFAULT_REGIONS,
                    region_prefix: str = DEFAULT_REGION_PREFIX,
                    arms: Sequence[str] | None = None,
                    observation_start: dt.date | str | None = None) -> SimulatedCohort:
    """Simulate a cohort in memory, in the default or another shape.

    Args:
        n_pupils: number of pupils (each has at least one episode).
        seed: seed of the numpy Generator; same seed, same cohort.
        progress: show a tqdm progress bar.
        truth_draws: eligible episodes used for the target-trial Monte Carlo truth.
        tables: tables to include (default all of :data:`TABLES`); pupils and episodes
            always.
        covariate_names: new names of the extra covariates, e.g.
            ``{"ses_score": "ses_index"}``; ``None`` as a name leaves that covariate out.
        n_regions: number of samenwerkingsverbanden, 1 to :data:`MAX_REGIONS`.
        region_prefix: region ids are ``{region_prefix}01``, ``{region_prefix}02``, ...
        arms: intervention codes present (default all of :data:`GAMMA`); an absent one has
            initiation hazard zero.
        observation_start: keep only episodes still running on this date or starting
            after it (a prevalent cohort); ``thuiszit.observation_start`` in metadata.

    Returns:
        A :class:`SimulatedCohort` with typed tables, metadata and truth (the module
        docstring says what the truth means for each shape option). Leaving a table out,
        renaming covariates or setting ``observation_start`` changes nothing else: the
        random draws are the same. Leaving an intervention out keeps the same pupils;
        their episodes differ from the first return that intervention would have changed.

    >>> sim = simulate_cohort(300, seed=2, progress=False)
    >>> int((sim.tables["episodes"]["absence_start"] > pd.Timestamp(FOLLOW_UP_END)).sum())
    0
    >>> small = simulate_cohort(40, seed=2, progress=False, tables=["pupils", "episodes"],
    ...                         covariate_names={"ses_score": "ses_index"}, n_regions=3,
    ...                         region_prefix="SWV23")
    >>> sorted(small.tables), sorted(small.tables["pupils"]["swv_id"].unique())[0]
    (['episodes', 'pupils'], 'SWV2301')
    """
    if n_pupils < 1:
        raise ValueError("n_pupils must be at least 1")
    shape = _shape(tables, covariate_names, n_regions, region_prefix, arms,
                   observation_start)
    reg = _regions(shape.n_regions, shape.region_prefix)
    with tqdm(total=7, desc=f"simulating {n_pupils:,} pupils", disable=not progress) as bar:
        rng = np.random.default_rng(seed)
        cal = _Calendar(_day(FIRST_START_FROM) - 400, FU_DAY + 10)
        core = _simulate_core(n_pupils, rng, cal, reg, shape.arms)
        bar.update(1)
        tabs, extra = _build_tables(core, rng, cal, bar, reg, shape.arms)
        if shape.is_default:  # the demo's call, cached under this key
            truth = compute_truth(truth_draws)
        else:
            truth = compute_truth(truth_draws, shape.n_regions, shape.region_prefix)
        bar.update(1)
    metadata = {
        "cohort_name": f"Simulated cohort (seed {seed}, {n_pupils} pupils)",
        "region": "simulated", "follow_up_end": FOLLOW_UP_END.isoformat(),
        "pseudonymised": True, "simulated": True, "seed": int(seed),
        "intervention_tolerance_days": INTERVENTION_TOLERANCE_DAYS,
    }
    if shape.observation_start is not None:
        tabs = _prevalent(tabs, shape.observation_start)
        metadata["observation_start"] = shape.observation_start.isoformat()
    renames = {k: v for k, v in shape.covariate_names if v is not None and v != k}
    dropped = [k for k, v in shape.covariate_names if v is None]
    if renames or dropped:
        tabs["pupils"] = tabs["pupils"].drop(columns=dropped).rename(columns=renames)
    tabs = {name: tabs[name] for name in shape.tables}
    truth = dict(truth) if shape.is_default else _shape_truth(truth, shape)
    truth["cohort"] = {"seed": int(seed), "n_pupils": int(n_pupils),
                       "n_episodes": int(len(tabs["episodes"])),
                       "generator": f"thuiszit_eval.simulate {__version__}"}
    if shape.observation_start is not None:
        truth["cohort"]["n_pupils_in_export"] = int(len(tabs["pupils"]))
    return SimulatedCohort(tabs, metadata, truth, extra)


# ----------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------
_DATE_COLS = {"episodes": ["absence_start", "reported_date", "end_date"],
              "interventions": ["referral_date", "start_date", "end_date"],
              "attendance": ["week_start"], "process_events": ["event_date"],
              "school_calendar": ["date"]}
_BOOL_COLS = ["coaching_child", "coaching_parents", "coaching_teacher", "group_treatment"]
_EXTRA_FIELDS = [
    {"name": "ses_score", "type": "number",
     "description": "Neighbourhood socio-economic status score (standardised; higher = "
                    "more advantaged)"},
    {"name": "neighbourhood_type", "type": "string",
     "description": "Type of neighbourhood of residence (categorical)"},
]


def _as_text(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """All columns as strings exactly as written to CSV ('' = missing)."""
    out = {}
    for c in df.columns:
        s = df[c]
        if c in _DATE_COLS.get(name, []):
            v = s.to_numpy("datetime64[D]")
            days = np.where(np.isnat(v), -1, v.astype(np.int64))
            out[c] = _fmt_days(days)
        elif c in _BOOL_COLS:
            out[c] = s.map({True: "true", False: "false"}).astype(object).fillna("").to_numpy()
        elif pd.api.types.is_float_dtype(s):
            txt = s.map(lambda x: "" if pd.isna(x) else (f"{x:.0f}" if float(x).is_integer()
                                                        else f"{x:.2f}"))
            out[c] = txt.to_numpy(object)
        else:
            out[c] = s.astype(str).to_numpy(object) if s.dtype != object else s.to_numpy()
    return pd.DataFrame(out)


def _write_csv(df: pd.DataFrame, path: Path, delimiter: str = ",",
               encoding: str = "utf-8") -> None:
    tbl = pa.Table.from_arrays([pa.array(df[c].to_numpy(object), pa.string())
                                for c in df.columns], names=list(df.columns))
    sink = pa.BufferOutputStream()
    # no quoting: no value contains a delimiter, quote or newline (pyarrow raises if one
    # did); the header is written by hand because pyarrow always quotes it
    pacsv.write_csv(tbl, sink, write_options=pacsv.WriteOptions(
        delimiter=delimiter, quoting_style="none", include_header=False))
    data = (delimiter.join(df.columns) + "\n").encode() + sink.getvalue().to_pybytes()
    if encoding.lower() not in ("utf-8", "utf8"):
        data = data.decode("utf-8").encode(encoding)
    path.write_bytes(data)


def _typed_frame(name: str, df: pd.DataFrame, numbers: Sequence[str] = ("ses_score",)
                 ) -> pd.DataFrame:
    """Text table -> typed columns (dates, booleans, numbers) for Parquet and Excel.

    A column keeps its text when some value does not parse (messy mode). ``numbers``:
    the numeric extra covariates as written.
    """
    cols = {}
    for c in df.columns:
        s = df[c].replace("", None)
        if c in _DATE_COLS.get(name, []):
            parsed = pd.to_datetime(s, format="%Y-%m-%d", errors="coerce")
            ok = parsed.notna() | s.isna()
            cols[c] = parsed.dt.date if ok.all() else s
        elif c in _BOOL_COLS:
            mapped = s.map({"true": True, "false": False})
            cols[c] = mapped.astype("boolean") if (mapped.notna() | s.isna()).all() else s
        elif c in ("scheduled_dayparts", "attended_dayparts", "dayparts_per_week", *numbers):
            num = pd.to_numeric(s, errors="coerce")
            ok = (num.notna() | s.isna()).all()
            if ok and c not in numbers and c != "dayparts_per_week":
                num = num.astype("Int64")
            cols[c] = num if ok else s
        else:
            cols[c] = s
    return pd.DataFrame(cols)


def _write_parquet(name: str, df: pd.DataFrame, path: Path,
                   numbers: Sequence[str] = ("ses_score",)) -> None:
    """Typed Parquet; a column keeps its text when some value does not parse (messy)."""
    pq.write_table(pa.Table.from_pandas(_typed_frame(name, df, numbers), preserve_index=False),
                   path, compression="zstd")


#: a fixed time stamp inside .xlsx files, so the same cohort gives the same bytes
_XLSX_TIME = dt.datetime(2025, 6, 30)


def _write_xlsx(name: str, df: pd.DataFrame, path: Path,
                numbers: Sequence[str] = ("ses_score",)) -> None:
    """One Excel workbook with the table on one sheet, typed as an export would be.

    Dates are date cells, counts and scores numbers, flags TRUE/FALSE, codes and ids text
    (``birth_month`` stays ``YYYY-MM`` text). Time stamps inside the file are fixed, so the
    bytes are reproducible.
    """
    import zipfile

    from openpyxl import Workbook

    typed = _typed_frame(name, df, numbers)
    wb = Workbook(write_only=True)
    wb.properties.created = wb.properties.modified = _XLSX_TIME
    ws = wb.create_sheet(name)
    ws.append(list(typed.columns))
    cols = []
    for c in typed.columns:
        s = typed[c]
        if isinstance(s.dtype, pd.BooleanDtype | pd.Int64Dtype):
            s = s.astype(object)
        vals = s.to_numpy(object)
        vals[pd.isna(s).to_numpy()] = None
        cols.append(vals)
    for row in zip(*cols, strict=True):
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    # openpyxl stamps each zip member with the current time: rewrite them with a fixed one
    # and stamps dcterms:modified with the current time on save: fix both
    stamp = _XLSX_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp, data)
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=_XLSX_TIME.timetuple()[:6]),
                         data, compress_type=zipfile.ZIP_DEFLATED)


def _extra_fields(shape: _Shape) -> list[dict[str, Any]]:
    """The pupils table's ``extra_fields`` under the names the shape writes."""
    out = []
    for spec in _EXTRA_FIELDS:
        written = shape.written_name(spec["name"])
        if written is not None:
            out.append({**spec, "name": written})
    return out


def write_simulated_cohort(out: str | Path, n_pupils: int = 2000, seed: int = 1,
                           messy_rate: float = 0.0, file_format: str = "csv",
                           progress: bool = True, *,
                           tables: Sequence[str] | None = None,
                           covariate_names: Mapping[str, str | None] | None = None,
                           n_regions: int = DEFAULT_REGIONS,
                           region_prefix: str = DEFAULT_REGION_PREFIX,
                           arms: Sequence[str] | None = None,
                           observation_start: dt.date | str | None = None) -> Path:
    """Simulate a cohort and write it as a cohort folder.

    The folder holds ``datapackage.json``, one file per table, ``truth.json`` and, in
    messy mode, ``injected_errors.csv``. Files are byte-identical for the same arguments.
    Files of tables this shape leaves out, or in another format, are removed from ``out``.

    Args:
        out: output folder (created; existing cohort files are overwritten).
        n_pupils: number of pupils.
        seed: random seed.
        messy_rate: fraction of rows per table given an injected export error (0 = clean).
        file_format: ``"csv"``, ``"parquet"`` or ``"xlsx"`` (Excel).
        progress: show a progress bar.
        tables, covariate_names, n_regions, region_prefix, arms, observation_start: the
            cohort's shape, as in :func:`simulate_cohort`; renamed covariates are declared
            as ``extra_fields`` under their new names.

    Returns:
        The folder path.

    >>> import tempfile
    >>> folder = write_simulated_cohort(tempfile.mkdtemp(), 100, seed=5, progress=False)
    >>> sorted(p.name for p in folder.iterdir())[:3]
    ['attendance.csv', 'datapackage.json', 'episodes.csv']
    >>> folder = write_simulated_cohort(tempfile.mkdtemp(), 40, seed=5, progress=False,
    ...                                 file_format="xlsx", tables=["pupils", "episodes"])
    >>> sorted(p.name for p in folder.iterdir())
    ['datapackage.json', 'episodes.xlsx', 'pupils.xlsx', 'truth.json']
    """
    if file_format not in FILE_FORMATS:
        raise ValueError(f"file_format must be one of {', '.join(FILE_FORMATS)}")
    if not 0.0 <= messy_rate < 0.5:
        raise ValueError("messy_rate must be in [0, 0.5)")
    shape = _shape(tables, covariate_names, n_regions, region_prefix, arms,
                   observation_start)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sim = simulate_cohort(n_pupils, seed, progress=progress, tables=shape.tables,
                          covariate_names=dict(shape.covariate_names),
                          n_regions=shape.n_regions, region_prefix=shape.region_prefix,
                          arms=sorted(shape.arms), observation_start=shape.observation_start)
    texts = {name: _as_text(name, df) for name, df in sim.tables.items()}
    injected = None
    if messy_rate > 0:
        texts, injected = inject_errors(texts, messy_rate, np.random.default_rng([seed, 7919]))
    messy = messy_rate > 0
    numbers = [n for n in (shape.written_name("ses_score"),) if n is not None]
    for name in TABLES:  # a previous run in another format or shape would leave stale files
        for fmt in FILE_FORMATS:
            if name not in texts or fmt != file_format:
                (out / f"{name}.{fmt}").unlink(missing_ok=True)
    resources = []
    for name in tqdm([t for t in TABLES if t in texts], desc="writing tables",
                     disable=not progress):
        df = texts[name]
        res: dict[str, Any] = {"name": name, "path": f"{name}.{file_format}",
                               "format": file_format}
        if file_format == "csv":
            enc, delim = "utf-8", ","
            if messy and name in ("pupils", "school_calendar"):
                enc, delim = "cp1252", ";"
                res["dialect"] = {"delimiter": ";"}
            res["encoding"] = enc
            _write_csv(df, out / res["path"], delim, enc)
        elif file_format == "parquet":
            _write_parquet(name, df, out / res["path"], numbers)
        else:
            _write_xlsx(name, df, out / res["path"], numbers)
        if name == "pupils":
            extra_fields = _extra_fields(shape)
            if extra_fields:
                res["extra_fields"] = extra_fields
        resources.append(res)
    dp = {
        "profile": "data-package", "name": f"sim-cohort-seed-{seed}",
        "title": f"Simulated thuiszit cohort ({n_pupils} pupils, seed {seed}"
                 f"{', messy' if messy else ''})",
        "thuiszit": sim.metadata, "resources": resources,
    }
    (out / "datapackage.json").write_text(json.dumps(dp, indent=2, ensure_ascii=False) + "\n",
                                          encoding="utf-8")
    (out / "truth.json").write_text(json.dumps(sim.truth, indent=2, sort_keys=True) + "\n",
                                    encoding="utf-8")
    err_path = out / "injected_errors.csv"
    if injected is not None:
        injected.to_csv(err_path, index=False, lineterminator="\n")
    elif err_path.exists():
        err_path.unlink()
    return out


# ----------------------------------------------------------------------------------------
# Messy mode
# ----------------------------------------------------------------------------------------
#: kinds of injected errors per table (column they touch)
MESSY_KINDS: dict[str, list[tuple[str, str]]] = {
    "pupils": [("unknown_code", "living_situation"), ("age_out_of_range", "birth_month"),
               ("duplicate_row", "")],
    "episodes": [("swapped_dates", "absence_start;end_date"),
                 ("impossible_date", "absence_start"), ("after_follow_up_end", "end_date"),
                 ("unknown_code", "episode_type"), ("reason_without_end", "end_reason"),
                 ("unknown_pupil", "pupil_id"), ("duplicate_row", "")],
    "interventions": [("unknown_code", "intervention_code"),
                      ("other_pupils_episode", "pupil_id"), ("impossible_date", "start_date"),
                      ("after_follow_up_end", "end_date"), ("duplicate_row", "")],
    "attendance": [("attended_gt_scheduled", "attended_dayparts"),
                   ("unknown_pupil", "pupil_id"), ("impossible_date", "week_start"),
                   ("unknown_code", "location")],
    "process_events": [("after_follow_up_end", "event_date"),
                       ("impossible_date", "event_date"), ("unknown_code", "event_code"),
                       ("unknown_pupil", "pupil_id"), ("duplicate_row", "")],
}


def _typo(values: np.ndarray) -> np.ndarray:
    """Realistic misspellings that are never valid codes (``back_to_scool``)."""
    out = []
    for v in values:
        v = str(v)
        if v == "back_to_school":
            out.append("back_to_scool")
            continue
        i = max(1, len(v) - 3)
        out.append(v[:i] + v[i + 1:] if len(v) > 2 else v + "x")
    return np.array(out, object)


def inject_errors(texts: dict[str, pd.DataFrame], rate: float,
                  rng: np.random.Generator) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Inject export errors into text tables; return new tables and the error list.

    Each kind of :data:`MESSY_KINDS` hits about ``rate * rows / kinds`` rows (at least
    one) of its table; no row is hit twice; duplicates are appended at the end so every
    recorded row number (header = 1) is the row in the written file.

    >>> sim = simulate_cohort(100, seed=1, progress=False)
    >>> texts = {k: _as_text(k, v) for k, v in sim.tables.items()}
    >>> _, errs = inject_errors(texts, 0.02, np.random.default_rng(0))
    >>> sorted(errs["kind"].unique())[:3]
    ['after_follow_up_end', 'age_out_of_range', 'attended_gt_scheduled']
    """
    texts = {k: v.copy() for k, v in texts.items()}
    fu = np.datetime64(FOLLOW_UP_END, "D")
    pupil_ids = texts["pupils"]["pupil_id"].to_numpy()
    records: list[pd.DataFrame] = []
    for table, kinds in MESSY_KINDS.items():
        if table not in texts:  # a shape without this table
            continue
        df = texts[table]
        n = len(df)
        if n == 0:
            continue
        per_kind = max(1, int(round(rate * n / len(kinds))))
        free = np.ones(n, bool)
        dups: list[int] = []

        def pick(mask: np.ndarray, free: np.ndarray = free, per_kind: int = per_kind
                 ) -> np.ndarray:
            cand = np.flatnonzero(mask & free)
            if len(cand) == 0:
                return cand
            rows = np.sort(rng.choice(cand, min(per_kind, len(cand)), replace=False))
            free[rows] = False
            return rows

        for kind, column in kinds:
            if kind == "duplicate_row":
                rows = pick(np.ones(n, bool))
                dups.extend(rows.tolist())
                continue
            if kind == "swapped_dates":
                rows = pick((df["end_date"] != "") & (df["end_date"] > df["absence_start"]))
                orig = (df["absence_start"].iloc[rows] + ";" + df["end_date"].iloc[rows]).to_numpy()
                new_start = df["end_date"].iloc[rows].to_numpy()
                new_end = df["absence_start"].iloc[rows].to_numpy()
                df.iloc[rows, df.columns.get_loc("absence_start")] = new_start
                df.iloc[rows, df.columns.get_loc("end_date")] = new_end
                inj = np.array([f"{s};{e}" for s, e in zip(new_start, new_end, strict=True)],
                               object)
            else:
                col = df[column]
                if kind == "unknown_code":
                    rows = pick(col.to_numpy() != "")
                    inj = _typo(col.iloc[rows].to_numpy())
                elif kind == "impossible_date":
                    rows = pick(col.to_numpy() != "")
                    yr = col.iloc[rows].str[:4].to_numpy()
                    day = np.where(rng.random(len(rows)) < 0.5, "-02-30", "-04-31")
                    inj = np.char.add(yr.astype(str), day).astype(object)
                elif kind == "after_follow_up_end":
                    rows = pick(col.to_numpy() != "")
                    late = fu + rng.integers(1, 120, len(rows)).astype("timedelta64[D]")
                    inj = np.datetime_as_string(late, unit="D").astype(object)
                elif kind == "reason_without_end":
                    rows = pick(df["end_date"].to_numpy() == "")
                    inj = np.full(len(rows), "returned_full", object)
                elif kind == "unknown_pupil":
                    rows = pick(np.ones(n, bool))
                    inj = np.array([f"PX{x:07d}" for x in rng.integers(0, 10**7, len(rows))],
                                   object)
                elif kind == "other_pupils_episode":
                    rows = pick(np.ones(n, bool))
                    other = pupil_ids[rng.integers(0, len(pupil_ids), len(rows))]
                    same = other == col.iloc[rows].to_numpy()
                    other[same] = pupil_ids[(np.searchsorted(pupil_ids, other[same]) + 1)
                                            % len(pupil_ids)]
                    inj = other
                    if len(pupil_ids) < 2:
                        rows, inj = rows[:0], inj[:0]
                elif kind == "attended_gt_scheduled":
                    sched = pd.to_numeric(df["scheduled_dayparts"]).to_numpy()
                    rows = pick(sched <= 9)
                    inj = (sched[rows] + 1 + (rng.random(len(rows)) < 0.3)).clip(max=10)
                    inj = inj.astype(int).astype(str).astype(object)
                elif kind == "age_out_of_range":
                    rows = pick(np.ones(n, bool))
                    yr = col.iloc[rows].str[:4].astype(int).to_numpy() - 25
                    inj = np.array([f"{y}-06" for y in yr], object)
                else:  # pragma: no cover - kinds are fixed above
                    raise ValueError(kind)
                orig = col.iloc[rows].to_numpy()
                df.iloc[rows, df.columns.get_loc(column)] = inj
            records.append(pd.DataFrame({"table": table, "row": rows + 2, "column": column,
                                         "kind": kind, "original": orig, "injected": inj}))
        if dups:
            dups_sorted = sorted(dups)
            extra = df.iloc[dups_sorted]
            records.append(pd.DataFrame({
                "table": table, "row": np.arange(n, n + len(dups_sorted)) + 2,
                "column": "", "kind": "duplicate_row",
                "original": [f"copy of row {r + 2}" for r in dups_sorted], "injected": ""}))
            df = pd.concat([df, extra], ignore_index=True)
        texts[table] = df
    errs = pd.concat(records, ignore_index=True)
    order = {t: i for i, t in enumerate(TABLES)}
    errs = errs.sort_values(["table", "row"], key=lambda s: s.map(order) if s.name == "table"
                            else s, kind="stable").reset_index(drop=True)
    return texts, errs


# ----------------------------------------------------------------------------------------
# Shapes: preset cohorts for tests that must hold on any valid cohort
# ----------------------------------------------------------------------------------------
#: Preset shapes: keyword arguments of :func:`write_simulated_cohort` (``n_pupils``,
#: ``file_format`` and the shape options). Each validates with zero rejected rows.
SHAPES: dict[str, dict[str, Any]] = {
    "default": dict(n_pupils=600),
    "tiny": dict(n_pupils=40),
    "tiny_15": dict(n_pupils=15),
    "required_only_renamed": dict(
        n_pupils=600, tables=("pupils", "episodes", "interventions"),
        covariate_names={"ses_score": "ses_index", "neighbourhood_type": "buurttype"},
        n_regions=5, region_prefix="SWV23"),
    "no_bts": dict(n_pupils=600, arms=tuple(c for c in GAMMA if c != "back_to_school")),
    "single_region": dict(n_pupils=600, n_regions=1, region_prefix="SWV23"),
    "many_regions": dict(n_pupils=600, n_regions=20, region_prefix="SWV-VO-"),
    "no_covariates": dict(n_pupils=600,
                          covariate_names={"ses_score": None, "neighbourhood_type": None}),
    "prevalent": dict(n_pupils=600, observation_start="2024-01-01"),
    "parquet": dict(n_pupils=600, file_format="parquet"),
    # Excel with fewer pupils: reading .xlsx (openpyxl) takes ~10 s for 600 pupils
    "excel": dict(n_pupils=200, file_format="xlsx"),
}
#: The shapes of issue 11's report test (besides ``data_schema/example``): 40 pupils, only
#: the required tables plus interventions with renamed covariates, no Back to School, a
#: single region, Parquet and Excel.
REPORT_MATRIX = ("tiny", "required_only_renamed", "no_bts", "single_region", "parquet",
                 "excel")


def write_shape(name: str, out: str | Path, seed: int = 1, progress: bool = False,
                **overrides: Any) -> Path:
    """Write the preset cohort shape ``name`` of :data:`SHAPES` to ``out``.

    ``overrides`` replace preset arguments (e.g. ``n_pupils=300`` for a faster test).

    >>> import tempfile
    >>> folder = write_shape("required_only_renamed", tempfile.mkdtemp(), n_pupils=50)
    >>> sorted(p.name for p in folder.iterdir())
    ['datapackage.json', 'episodes.csv', 'interventions.csv', 'pupils.csv', 'truth.json']
    """
    if name not in SHAPES:
        raise ValueError(f"unknown shape {name!r}; choose from {', '.join(SHAPES)}")
    kwargs = {**copy.deepcopy(SHAPES[name]), **overrides}
    return write_simulated_cohort(out, seed=seed, progress=progress, **kwargs)


def demo_cohort_path(refresh: bool = False) -> Path:
    """The demo cohort (2,000 pupils, fixed seed), written once to a cache folder.

    The folder is ``$THUISZIT_EVAL_CACHE/demo-v<version>`` or
    ``~/.cache/thuiszit-eval/demo-v<version>``; it is reused when complete (a
    ``.complete`` marker is written last) unless ``refresh`` is true.

    >>> demo_cohort_path().joinpath("datapackage.json").exists()  # doctest: +SKIP
    True
    """
    root = Path(os.environ.get("THUISZIT_EVAL_CACHE") or Path.home() / ".cache" /
                "thuiszit-eval")
    target = root / f"demo-v{__version__}"
    if not refresh and (target / ".complete").exists():
        return target
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".demo-", dir=root))
    try:
        write_simulated_cohort(tmp, DEMO_PUPILS, DEMO_SEED, progress=False)
        (tmp / ".complete").write_text("ok\n")
        if target.exists():
            shutil.rmtree(target)
        try:
            tmp.rename(target)
        except OSError:  # another process won the race; use its copy
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


# ----------------------------------------------------------------------------------------
# Analysis helpers for checking the truth (the outcomes module will do this properly)
# ----------------------------------------------------------------------------------------
def episode_covariates(tables: dict[str, pd.DataFrame],
                       ses_column: str = "ses_score") -> pd.DataFrame:
    """One row per episode with the covariates coded as in ``truth['covariate_coding']``.

    Works on typed tables (``SimulatedCohort.tables`` or a loaded cohort's tables with
    ``support_needs`` as text). Columns: episode_id, pupil_id, swv_id, absence_start,
    reported_date, end_date, end_reason, episode_type, age, and every key of ``BETA``,
    with SES under ``ses_column`` (its name in the cohort); a cohort without that column
    gets no SES column.
    """
    pu = tables["pupils"].set_index("pupil_id")
    ep = tables["episodes"].copy()
    for c in ("absence_start", "reported_date", "end_date"):
        ep[c] = pd.to_datetime(ep[c])
    ep = ep.sort_values(["pupil_id", "absence_start"], kind="stable")
    p = pu.loc[ep["pupil_id"]]
    needs = p["support_needs"].fillna("").astype(str)
    out = ep[["episode_id", "pupil_id", "episode_type", "absence_start", "reported_date",
              "end_date", "end_reason"]].reset_index(drop=True)
    out["swv_id"] = p["swv_id"].to_numpy()
    bm = pd.PeriodIndex(p["birth_month"].astype(str), freq="M")
    am = pd.PeriodIndex(ep["absence_start"], freq="M")
    months = (am.year - bm.year) * 12 + (am.month - bm.month)
    out["age"] = np.asarray(months) // 12
    out["female"] = (p["sex"].to_numpy() == "f").astype(float)
    out["age_12plus"] = (out["age"] >= 12).astype(float)
    for c in NEEDS:
        out[f"need_{c}"] = needs.str.split("|").apply(lambda x, c=c: c in x).to_numpy(float)
    out["living_out_of_home"] = p["living_situation"].isin(
        ["kleinschalig_verblijf", "residential", "foster"]).to_numpy(float)
    out["absoluut_verzuim"] = (out["episode_type"] == "absoluut_verzuim").astype(float)
    out["dreigend"] = (out["episode_type"] == "dreigend").astype(float)
    out["prior_episode"] = (out.groupby("pupil_id").cumcount() > 0).astype(float)
    if ses_column in p.columns:
        out[ses_column] = pd.to_numeric(p[ses_column]).to_numpy(float)
    return out


MAIN_INTERVENTIONS = ("back_to_school", "expert_begeleider", "onderwijs_zorg_maatwerk")


def counting_process(tables: dict[str, pd.DataFrame],
                     follow_up_end: dt.date | str = FOLLOW_UP_END,
                     ses_column: str = "ses_score",
                     observation_start: dt.date | str | None = None) -> pd.DataFrame:
    """Counting-process (start, stop] rows per episode, time in days since absence_start.

    The event is a return to school (end_reason ``returned_*``); competing endings and
    follow-up end censor. Each main intervention (:data:`MAIN_INTERVENTIONS`) is a
    time-varying 0/1 column from its start day on. Covariates as in
    :func:`episode_covariates`. With ``observation_start`` (a prevalent cohort) each
    episode enters at ``max(0, observation_start - absence_start)`` days (delayed entry):
    rows before it are cut, so the hazard ratios of the truth apply.

    >>> sim = simulate_cohort(200, seed=4, progress=False)
    >>> cp = counting_process(sim.tables)
    >>> bool((cp["stop"] > cp["start"]).all())
    True
    """
    cov = episode_covariates(tables, ses_column)
    fu = pd.Timestamp(follow_up_end)
    stop_date = cov["end_date"].fillna(fu)
    cov["T"] = (stop_date - cov["absence_start"]).dt.days.astype(float)
    cov["event"] = cov["end_reason"].isin(RETURN_REASONS).astype(int)
    iv = tables.get("interventions")
    if iv is None:  # a cohort without an interventions table: nobody is exposed
        iv = pd.DataFrame({"episode_id": [], "intervention_code": [],
                           "start_date": pd.Series([], dtype="datetime64[ns]")})
    iv = iv[iv["intervention_code"].isin(MAIN_INTERVENTIONS) & iv["start_date"].notna()]
    iv = iv.sort_values("start_date").drop_duplicates("episode_id")
    cov = cov.merge(iv[["episode_id", "intervention_code", "start_date"]], on="episode_id",
                    how="left")
    s = (pd.to_datetime(cov["start_date"]) - cov["absence_start"]).dt.days
    split = s.notna() & (s > 0) & (s < cov["T"])
    base = cov.drop(columns=["start_date"])
    for c in MAIN_INTERVENTIONS:
        base[c] = 0
    first = base.copy()
    first["start"] = 0.0
    first["stop"] = np.where(split, s, base["T"])
    first["event"] = np.where(split, 0, base["event"])
    second = base[split].copy()
    second["start"] = s[split].to_numpy(float)
    second["stop"] = second["T"]
    for c in MAIN_INTERVENTIONS:
        second[c] = (second["intervention_code"] == c).astype(int)
    cp = pd.concat([first, second], ignore_index=True)
    if observation_start is not None:
        entry = (pd.Timestamp(observation_start) - cp["absence_start"]).dt.days.clip(lower=0)
        cp["start"] = np.maximum(cp["start"], entry.astype(float))
    cp = cp[cp["stop"] > cp["start"]]
    return cp.sort_values(["episode_id", "start"], kind="stable").reset_index(drop=True)
