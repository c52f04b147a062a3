"""The cohort's own covariates: schema fields, declared extra fields, the default set."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pandas as pd
import pytest

from thuiszit_eval import covariates as C
from thuiszit_eval import regression as R
from thuiszit_eval.cohort import Cohort
from thuiszit_eval.effects.target_trial import eligible_episodes
from thuiszit_eval.estimability import NotEstimable
from thuiszit_eval.schema import schema_dir

EXAMPLE = schema_dir() / "example"

ROOT = Path(__file__).resolve().parent.parent
#: modules allowed to import the simulator: itself, the demo helper, the CLI's simulate
#: and demo commands, and study planning (power by simulation)
MAY_SIMULATE = {"thuiszit_eval/simulate.py", "thuiszit_eval/demo.py", "thuiszit_eval/cli.py",
                "thuiszit_eval/planning.py"}


def _imports_simulate(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if mod.endswith("simulate") or (mod in ("", "thuiszit_eval") and any(
                    a.name == "simulate" for a in node.names)):
                lines.append(node.lineno)
        elif isinstance(node, ast.Import) and any(a.name.endswith(".simulate")
                                                  for a in node.names):
            lines.append(node.lineno)
    return lines


def test_no_estimation_outcome_report_or_notebook_code_imports_the_simulator():
    offenders = []
    for path in sorted((ROOT / "thuiszit_eval").rglob("*.py")):
        if path.relative_to(ROOT).as_posix() in MAY_SIMULATE:
            continue
        hits = _imports_simulate(ast.parse(path.read_text(encoding="utf-8")))
        offenders += [f"{path.relative_to(ROOT)}:{n}" for n in hits]
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for i, cell in enumerate(json.loads(nb.read_text(encoding="utf-8"))["cells"]):
            if cell["cell_type"] == "code":
                src = "".join(cell["source"])
                if "simulate" in src and _imports_simulate(ast.parse(src)):
                    offenders.append(f"{nb.name} cell {i}")
    assert offenders == []


def test_the_checker_sees_an_import():
    assert _imports_simulate(ast.parse("from ..simulate import FOLLOW_UP_END")) == [1]
    assert _imports_simulate(ast.parse("from thuiszit_eval import simulate")) == [1]
    assert _imports_simulate(ast.parse("from thuiszit_eval.demo import x")) == []


@pytest.fixture(scope="module")
def example() -> Cohort:
    return Cohort.load(EXAMPLE)


def test_declared_extra_field_is_in_the_default_set(example: Cohort):
    assert [f.name for f in C.extra_fields(example)] == ["ses_index"]
    terms = C.default_adjustment_set(example)
    assert "ses_index" in terms and "ses_score" not in terms
    cat = C.catalogue(example).set_index("covariate")
    assert cat.loc["ses_index", "source"] == "extra" and cat.loc["ses_index", "default"]


def test_covariates_follow_the_source_columns(example: Cohort):
    ep = example.episodes
    cov = C.episode_covariates(example)  # aligned with the episodes' rows
    pu = example.pupils.set_index("pupil_id")
    sex = ep["pupil_id"].map(pu["sex"])
    assert (cov["female"] == (sex == "f")).all()
    # completed years by month, as the validator counts age
    bm = pd.to_datetime(ep["pupil_id"].map(pu["birth_month"]))
    ab = ep["absence_start"]
    months = (ab.dt.year - bm.dt.year) * 12 + (ab.dt.month - bm.dt.month)
    assert (cov["age_12plus"] == (months >= 144)).all()
    first = ep.sort_values("absence_start").groupby("pupil_id").head(1).index
    assert not cov.loc[first, "prior_episode"].any()
    assert cov.loc[~ep.index.isin(first), "prior_episode"].all()


def test_renamed_and_undeclared_free_text_covariates():
    tables = {"pupils": pd.DataFrame({
        "pupil_id": ["a", "b", "c"], "birth_month": pd.to_datetime(["2010-01-01"] * 3),
        "sex": ["m", "f", "f"], "support_needs": ["autism", "", "autism|family"],
        "sociaal_economische_status": [0.1, -1.0, 2.0], "wijk": ["x", "y", "z"]}),
        "episodes": pd.DataFrame({
            "episode_id": ["e1", "e2", "e3"], "pupil_id": ["a", "b", "c"],
            "episode_type": ["lrv"] * 3,
            "absence_start": pd.to_datetime(["2023-01-01", "2023-02-01", "2023-03-01"])})}
    assert [f.name for f in C.extra_fields(tables)] == ["sociaal_economische_status", "wijk"]
    terms = C.default_adjustment_set(tables)
    assert "sociaal_economische_status" in terms and "wijk" not in terms
    assert "need_autism" in terms and "need_family" in terms


def test_specification_strings():
    default = ["a", "b", "c"]
    assert C.parse_spec(None, default) == default
    assert C.parse_spec("default", default) == default
    assert C.parse_spec("b,x", default) == ["b", "x"]
    assert C.parse_spec("default,-b,+x", default) == ["a", "c", "x"]
    rows = pd.DataFrame({"a": [1, 2], "b": [0, 1]})
    with pytest.raises(C.CovariateError, match="ses_score"):
        C.resolve("a,ses_score", {}, rows, base=("a", "b"))


def test_missing_values_are_counted():
    rows = pd.DataFrame({"a": [1, None, 3, None], "b": [1, 2, None, None]})
    kept, rep = C.complete_cases(rows, ["a", "b"])
    assert len(kept) == 1
    assert rep.set_index("covariate")["n_missing"].to_dict() == {"a": 2, "b": 2, "any": 3}


def test_target_trial_adjusts_for_the_cohorts_ses_field(example: Cohort):
    el = eligible_episodes(example)
    assert "ses_index" in el.attrs["covariates"]
    # the example's two pupils without ses_index are left out, and counted
    miss = el.attrs["missing"].set_index("covariate")["n_missing"]
    assert miss["any"] == miss.get("ses_index", 0)


def test_cox_on_the_example_adjusts_for_ses_index_or_says_why(example: Cohort):
    with pytest.raises(NotEstimable) as info:
        R.fit_cox_models(example)
    assert "terugkeren" in info.value.text("nl") and "returns" in info.value.text("en")
    # the design holds the cohort's own SES field; with the minimums relaxed the model is
    # tried and its failure (7 returns, 16 terms) is said in words, not a LinAlgError
    from thuiszit_eval.estimability import relaxed
    from thuiszit_eval.outcomes import OutcomeDefinition

    with relaxed():
        _, X, _ = R._time_varying_frame(example, OutcomeDefinition(), None, None)
        assert "ses_index" in X.columns
        with pytest.raises(NotEstimable, match="do not support"):
            R.fit_cox_models(example)


def test_effect_estimators_run_on_the_example_with_its_ses_index(example: Cohort):
    """CCW, landmark and IPTW on data_schema/example adjust for its ses_index; its 15
    episodes are below every minimum, so this checks the machinery (relaxed), and by
    default each says why it cannot estimate."""
    from thuiszit_eval.effects import (
        IPTWSurvival,
        PropensityModel,
        default_covariates,
        point_treatment_data,
    )
    from thuiszit_eval.effects.landmark import landmark_analysis
    from thuiszit_eval.effects.target_trial import adjustment_terms, clone_censor_weight
    from thuiszit_eval.estimability import quiet, relaxed

    for run in (lambda: clone_censor_weight(example, n_boot=0, progress=False),
                lambda: landmark_analysis(example, hazard_ratio=False, progress=False),
                lambda: point_treatment_data(example)):
        with pytest.raises(NotEstimable):
            run()
    with relaxed(), quiet():
        el = eligible_episodes(example)
        assert "ses_index" in adjustment_terms(el)
        ccw = clone_censor_weight(example, n_boot=0, progress=False)
        assert ccw.n_episodes == len(el)
        landmark_analysis(example, hazard_ratio=False, progress=False)
        data = point_treatment_data(example)
        covs = default_covariates(data)
        assert "ses_index" in covs
        fit = IPTWSurvival(PropensityModel(covs)).fit(data)
        assert "ses_index" in fit.propensity_.design_.columns


def test_dict_of_tables_needs_a_follow_up_end(example: Cohort):
    tables = {t: getattr(example, t) for t in ("pupils", "episodes", "interventions")}
    with pytest.raises(ValueError, match="follow_up_end"):
        eligible_episodes(tables)
    assert len(eligible_episodes(tables, follow_up_end="2024-07-31")) == len(
        eligible_episodes(example))
