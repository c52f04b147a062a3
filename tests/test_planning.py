"""Study planning: Schoenfeld's formula by hand, the hazard-ratio transform, the simulation."""

import math
import string

import numpy as np
import pandas as pd
import pytest

from thuiszit_eval.planning import (
    apply_hazard_ratio,
    km_rmst,
    power_curve,
    power_schoenfeld,
    schoenfeld_events,
    schoenfeld_pupils,
    simulate_rmst_power,
)
from thuiszit_eval.survival import cox_ph, kaplan_meier

Z975, Z80, Z90 = 1.959964, 0.841621, 1.281552


def test_schoenfeld_by_hand():
    d = 4 * (Z975 + Z80) ** 2 / math.log(1.5) ** 2  # 190.97
    assert schoenfeld_events(1.5, exact=True) == pytest.approx(d, rel=1e-5)
    assert schoenfeld_events(1.5) == 191
    assert schoenfeld_events(1 / 1.5) == 191  # symmetric in log HR
    # 90% power, HR 2: 4 (1.96 + 1.28)² / ln(2)² = 87.5 -> 88
    assert schoenfeld_events(2.0, power=0.9) == math.ceil(4 * (Z975 + Z90) ** 2
                                                          / math.log(2) ** 2) == 88
    # 2:1 allocation: p (1 - p) = 2/9 instead of 1/4
    assert schoenfeld_events(1.5, allocation=2, exact=True) == pytest.approx(d * 9 / 8,
                                                                             rel=1e-5)
    n = schoenfeld_pupils(1.5, event_probability=0.5)
    assert n == {"events": 191, "pupils": 382, "intervention": 191, "control": 191}
    with pytest.raises(ValueError):
        schoenfeld_events(1.0)


def test_power_is_the_inverse():
    d = schoenfeld_events(1.5, power=0.8, exact=True)
    assert float(power_schoenfeld(1.5, d)) == pytest.approx(0.8, abs=1e-9)
    c = power_curve([1.3, 1.5], [100, 400, 1600], event_probability=0.5)
    assert len(c) == 6
    for _, g in c.groupby("hr"):
        assert g["power"].is_monotonic_increasing
    assert (c[c.hr == 1.5]["power"].to_numpy() > c[c.hr == 1.3]["power"].to_numpy()).all()


def test_apply_hazard_ratio_gives_the_hazard_ratio():
    rng = np.random.default_rng(5)
    n = 3000
    latent = rng.exponential(100, n)
    limit = rng.uniform(50, 300, n)  # administrative censoring
    t, e = np.minimum(latent, limit), (latent <= limit).astype(int)
    treated = rng.random(n) < 0.5
    same_t, same_e = apply_hazard_ratio(t, e, treated, 1.0, rng, limit=limit)
    assert np.array_equal(same_t, t) and np.array_equal(same_e, e)
    t2, e2 = apply_hazard_ratio(t, e, treated, 2.0, rng, limit=limit)
    assert np.array_equal(t2[~treated], t[~treated])
    assert (t2[treated] <= limit[treated]).all()
    df = pd.DataFrame({"duration": t2, "event": e2, "x": treated.astype(float)})
    hr = float(cox_ph(df, covariates=["x"]).table["hr"].iloc[0])
    assert hr == pytest.approx(2.0, rel=0.12)


def test_km_rmst_matches_the_survival_module():
    rng = np.random.default_rng(2)
    t = np.round(rng.exponential(80, 300)) + 1
    e = (rng.random(300) < 0.7).astype(int)
    mean, var = km_rmst(t, e, 120)
    r = kaplan_meier(pd.DataFrame({"duration": t, "event": e})).rmst(120).iloc[0]
    assert mean == pytest.approx(r["rmst"], rel=1e-10)
    assert math.sqrt(var) == pytest.approx(r["std_err"], rel=1e-10)


def test_simulated_power_is_deterministic_and_parallel():
    from joblib import parallel_config

    kw = dict(hr=1.5, tau=182, n_sim=3, seed=11, progress=False)
    a = simulate_rmst_power([80], n_jobs=1, **kw)
    with parallel_config(backend="threading"):  # the parallel path without process start-up
        b = simulate_rmst_power([80], n_jobs=2, **kw)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == ["n_pupils", "n_episodes", "n_sim", "power", "rmst_difference",
                               "mc_se", "tau", "hr"]
    assert a["n_sim"].iloc[0] == 3 and 0 <= a["power"].iloc[0] <= 1


def test_dutch_and_english_narratives_match():
    from thuiszit_eval.narrative import sections

    def fields(text):
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    nl, en = sections("12_study_planning", "nl"), sections("12_study_planning", "en")
    assert list(nl) == list(en)
    for name in nl:
        assert fields(nl[name]) == fields(en[name]), name
