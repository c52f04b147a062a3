"""Survival figures: the drawn data equal the estimates; at-risk tables equal risk_table."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from pathlib import Path  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from thuiszit_eval.plots import cif_plot, forest_plot, km_plot, km_vs_aj_plot  # noqa: E402
from thuiszit_eval.survival import aalen_johansen, cox_ph, kaplan_meier  # noqa: E402

FIX = Path(__file__).parent / "fixtures" / "r_survival"


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    return pd.read_csv(FIX / "ds_lung.csv")


@pytest.fixture(scope="module")
def mgus2() -> pd.DataFrame:
    df = pd.read_csv(FIX / "ds_mgus2.csv")
    df["sex"] = df["male"].map({0: "meisje", 1: "jongen"})
    return df


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def by_gid(fig: Figure, gid: str):
    return [a for ax in fig.axes for a in ax.get_children() if a.get_gid() == gid]


def at_risk_axis(fig: Figure):
    (tab,) = [ax for ax in fig.axes if ax.get_label() == "at_risk"]
    return tab


def at_risk_numbers(fig: Figure, group: str) -> tuple[list[float], list[str]]:
    texts = [t for t in at_risk_axis(fig).texts if t.get_gid() == f"at_risk:{group}"]
    return [t.get_position()[0] for t in texts], [t.get_text() for t in texts]


def test_km_plot_returns_figure_and_draws_one_minus_surv(lung):
    km = kaplan_meier(lung, "time", "status", "sex")
    fig = km_plot(km)
    assert isinstance(fig, Figure)
    for g in km.groups:
        (line,) = by_gid(fig, f"curve:{g}")
        c = km.table[km.table.group == g]
        np.testing.assert_allclose(line.get_xdata()[1:], c["time"])
        np.testing.assert_allclose(line.get_ydata()[1:], 1 - c["surv"])
        assert line.get_xdata()[0] == 0 and line.get_ydata()[0] == 0
        assert line.get_drawstyle() == "steps-post"
    fig2 = km_plot(km, returned=False)
    (line,) = by_gid(fig2, f"curve:{km.groups[0]}")
    np.testing.assert_allclose(line.get_ydata()[1:], km._curve(km.groups[0])["surv"])


def test_km_plot_at_risk_table_equals_risk_table_at_ticks(lung):
    km = kaplan_meier(lung, "time", "status", "sex")
    for times in (None, [0, 28, 91, 182, 365, 730]):
        fig = km_plot(km, times=times)
        ax = fig.axes[0]
        ticks = list(ax.get_xticks())
        if times is not None:
            assert ticks == times
        rt = km.risk_table(ticks)
        for g in km.groups:
            xs, labels = at_risk_numbers(fig, g)
            assert xs == ticks  # aligned with the ticks (the axes share x)
            assert [int(s) for s in labels] == rt.loc[rt.group == g, "n_risk"].tolist()
        assert at_risk_axis(fig).get_shared_x_axes().joined(at_risk_axis(fig), ax)


def test_km_plot_reference_and_median_lines(lung):
    km = kaplan_meier(lung, "time", "status", "sex")
    fig = km_plot(km)
    for d in (28, 91):
        (ref,) = by_gid(fig, f"ref:{d}")
        assert list(ref.get_xdata()) == [d, d]
        assert ref.get_linestyle() == "--"
    texts = [t.get_text().strip() for t in fig.axes[0].texts]
    assert "4 weken" in texts and "3 maanden" in texts
    med = km.median().set_index("group")["quantile"]
    for g in km.groups:
        (m,) = by_gid(fig, f"median:{g}")
        assert list(m.get_xdata()) == [0, med[g], med[g]]
        assert list(m.get_ydata()) == [0.5, 0.5, 0]


def test_km_plot_min_at_risk_truncates(lung):
    km = kaplan_meier(lung, "time", "status", "sex")
    fig = km_plot(km, min_at_risk=20, times=[0, 200, 400, 600, 800])
    for g in km.groups:
        c = km._curve(g)
        (line,) = by_gid(fig, f"curve:{g}")
        kept = c[c.n_risk >= 20]
        assert len(line.get_xdata()) == len(kept) + 1 < len(c) + 1
        assert line.get_xdata()[-1] == kept["time"].iloc[-1]
        assert c.loc[c.time > line.get_xdata()[-1], "n_risk"].max() < 20
        _, labels = at_risk_numbers(fig, g)
        assert "<20" in labels
        assert all(s == "<20" or s == "0" or int(s) >= 20 for s in labels)


def test_cif_plot(mgus2):
    aj = aalen_johansen(mgus2, "time", "status", "sex")
    fig = cif_plot(aj, labels={2: "Vrijstelling"}, times=[0, 100, 200, 300])
    assert isinstance(fig, Figure)
    for s in (1, 2):
        ci = aj.cumulative_incidence(s)
        for g in ("jongen", "meisje"):
            (line,) = by_gid(fig, f"curve:{s}:{g}")
            np.testing.assert_allclose(line.get_ydata()[1:], ci.loc[ci.group == g, "pstate"])
            assert by_gid(fig, f"band:{s}:{g}")
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "Vrijstelling — jongen" in legend
    for g in ("jongen", "meisje"):
        xs, labels = at_risk_numbers(fig, g)
        assert xs == [0, 100, 200, 300]
        expected = [int((mgus2.loc[mgus2.sex == g, "time"] >= t).sum()) for t in xs]
        assert [int(s) for s in labels] == expected
        km = kaplan_meier(mgus2, "time", "status", "sex")
        rt = km.risk_table(xs)
        assert expected == rt.loc[rt.group == g, "n_risk"].tolist()


def test_km_vs_aj_plot_km_overstates_return(mgus2):
    km = kaplan_meier(mgus2, "time", "status")
    aj = aalen_johansen(mgus2, "time", "status")
    fig = km_vs_aj_plot(km, aj, state=1)
    assert isinstance(fig, Figure)
    (k,) = by_gid(fig, "km:all")
    (a,) = by_gid(fig, "aj:all")
    np.testing.assert_allclose(k.get_ydata()[1:], 1 - km.table["surv"])
    np.testing.assert_allclose(a.get_ydata()[1:], aj.cumulative_incidence(1)["pstate"])
    assert k.get_ydata()[-1] >= a.get_ydata()[-1]
    assert k.get_ydata()[-1] - a.get_ydata()[-1] > 0.1  # mgus2: deaths dominate
    assert by_gid(fig, "gap:all")
    assert any("overschat" in t.get_text() for t in fig.axes[0].texts)
    with pytest.raises(ValueError):
        km_vs_aj_plot(kaplan_meier(mgus2, "time", "status", event_code=2), aj, state=1)


def test_forest_plot_one_marker_per_term(lung):
    tab = cox_ph(lung.dropna(), "time", "status", ["age", "sex", "ph_ecog"]).table
    fig = forest_plot(tab)
    assert isinstance(fig, Figure)
    (markers,) = by_gid(fig, "hr")
    np.testing.assert_allclose(markers.get_xdata(), tab["hr"])
    assert len(markers.get_xdata()) == len(tab) == 3
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["age", "sex", "ph_ecog"]
    values = [t.get_text() for t in ax.texts if t.get_gid() == "hr_text"]
    r = tab.iloc[1]
    assert values[1] == (f"{r.hr:.2f} ({r.hr_lower:.2f}–{r.hr_upper:.2f})").replace(".", ",")
    assert forest_plot(tab, log_scale=False).axes[0].get_xscale() == "linear"


# --------------------------------------------------------------------------------------
# Languages: Dutch by default, English with lang="en"; explicit labels still override.
# --------------------------------------------------------------------------------------


def _texts(fig: Figure) -> list[str]:
    out = []
    for ax in fig.axes:
        out += [ax.get_xlabel(), ax.get_ylabel(), ax.get_title(loc="left"), ax.get_title()]
        out += [t.get_text().strip() for t in ax.texts]
        if ax.get_legend() is not None:
            out += [t.get_text() for t in ax.get_legend().get_texts()]
    for leg in fig.legends:
        out += [t.get_text() for t in leg.get_texts()]
    return out


def test_km_plot_languages(lung):
    km = kaplan_meier(lung, "time", "status", "sex")
    nl, en = km_plot(km), km_plot(km, lang="en")
    assert nl.axes[0].get_xlabel() == "Dagen sinds start afwezigheid"
    assert nl.axes[0].get_ylabel() == "Aandeel teruggekeerd naar school"
    assert en.axes[0].get_xlabel() == "Days since start of absence"
    assert en.axes[0].get_ylabel() == "Share returned to school"
    assert {"4 weeks", "3 months"} <= set(_texts(en))
    assert "4 weken" not in _texts(en)
    assert at_risk_axis(nl).get_title(loc="left") == "Aantal in de risicoset"
    assert at_risk_axis(en).get_title(loc="left") == "Number at risk"
    assert km_plot(km, returned=False, lang="en").axes[0].get_ylabel() == "Share not yet returned"
    over = km_plot(km, lang="en", xlabel="x", ylabel="y").axes[0]
    assert (over.get_xlabel(), over.get_ylabel()) == ("x", "y")
    with pytest.raises(ValueError):
        km_plot(km, lang="de")


def test_cif_plot_languages(mgus2):
    aj = aalen_johansen(mgus2, "time", "status")
    nl, en = cif_plot(aj), cif_plot(aj, lang="en")
    leg_nl = [t.get_text() for t in nl.axes[0].get_legend().get_texts()]
    leg_en = [t.get_text() for t in en.axes[0].get_legend().get_texts()]
    assert leg_nl == ["Teruggekeerd naar school", "Andere uitstroom (2)"]
    assert leg_en == ["Returned to school", "Other exit (2)"]
    assert nl.axes[0].get_ylabel() == "Cumulatieve incidentie"
    assert en.axes[0].get_ylabel() == "Cumulative incidence"
    assert en.axes[0].get_xlabel() == "Days since start of absence"
    assert cif_plot(aj, lang="en", ylabel="CIF").axes[0].get_ylabel() == "CIF"


def test_km_vs_aj_plot_languages(mgus2):
    km = kaplan_meier(mgus2, "time", "status")
    aj = aalen_johansen(mgus2, "time", "status")
    nl, en = km_vs_aj_plot(km, aj), km_vs_aj_plot(km, aj, lang="en")
    t_nl, t_en = _texts(nl), _texts(en)
    assert "Overschatting" in t_nl and "Overstatement" in t_en
    assert "Cumulative incidence (Aalen–Johansen)" in t_en
    assert nl.axes[0].get_ylabel() == "Aandeel teruggekeerd naar school"
    assert en.axes[0].get_ylabel() == "Share returned to school"
    (note_nl,) = [t for t in t_nl if "overschat" in t]
    (note_en,) = [t for t in t_en if "overstates" in t]
    assert "procentpunt" in note_nl and "," in note_nl.split("met")[-1]
    assert "percentage points" in note_en and "." in note_en.split("by")[-1]


def test_forest_plot_languages(lung):
    tab = cox_ph(lung.dropna(), "time", "status", ["age", "sex", "ph_ecog"]).table
    nl, en = forest_plot(tab).axes[0], forest_plot(tab, lang="en").axes[0]
    assert nl.get_xlabel() == "Hazard ratio (95%-BI)"
    assert en.get_xlabel() == "Hazard ratio (95% CI)"
    assert "HR (95%-BI)" in [t.get_text() for t in nl.texts]
    assert "HR (95% CI)" in [t.get_text() for t in en.texts]
    r = tab.iloc[1]
    values = [t.get_text() for t in en.texts if t.get_gid() == "hr_text"]
    assert values[1] == f"{r.hr:.2f} ({r.hr_lower:.2f}–{r.hr_upper:.2f})"
    en.figure.canvas.draw()
    assert not any("," in t.get_text() for t in en.get_xticklabels())
    assert forest_plot(tab, lang="en", xlabel="HR").axes[0].get_xlabel() == "HR"


def test_validation_flow_languages():
    from thuiszit_eval.cohort import Cohort
    from thuiszit_eval.plots import validation_flow
    from thuiszit_eval.schema import schema_dir

    report = Cohort.load(schema_dir() / "example").report
    nl, en = validation_flow(report).axes[0], validation_flow(report, lang="en").axes[0]
    assert nl.get_xlabel() == "rijen ingelezen"
    assert en.get_xlabel() == "rows read"
    assert nl.get_title().startswith("Rijen ingelezen, geaccepteerd en afgewezen — ")
    assert en.get_title().startswith("Rows read, accepted and rejected — ")
    leg_nl = [t.get_text() for t in nl.get_legend().get_texts()]
    leg_en = [t.get_text() for t in en.get_legend().get_texts()]
    assert leg_nl[0] == "geaccepteerd" and leg_en[0] == "accepted"
    assert all(s.startswith("afgewezen: ") for s in leg_nl[1:])
    assert all(s.startswith("rejected: ") for s in leg_en[1:])
    assert validation_flow(report, "Mijn titel").axes[0].get_title() == "Mijn titel"
