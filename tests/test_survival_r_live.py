"""Re-run the R reference scripts and compare with the committed fixtures.

This proves the fixtures in tests/fixtures/r_survival/ (tests/r/reference_survival.R) and
tests/fixtures/r_survival_extra/ (tests/r/reference_survival_extra.R) are what the
committed R scripts produce. It needs R with the survival and cmprsk packages (Debian: r-base-core,
r-cran-survival, r-cran-cmprsk) and is skipped when ``Rscript`` is not on the PATH.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = {"r_survival": ROOT / "tests" / "r" / "reference_survival.R",
           "r_survival_extra": ROOT / "tests" / "r" / "reference_survival_extra.R"}
FIXTURES = ROOT / "tests" / "fixtures"

pytestmark = pytest.mark.skipif(
    shutil.which("Rscript") is None,
    reason="Rscript not found: install R with the survival and cmprsk packages to re-run "
    "the R reference script (the committed fixtures are still tested by test_survival.py)",
)


@pytest.fixture(scope="module", params=sorted(SCRIPTS))
def folder(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory, folder: str) -> Path:
    out = tmp_path_factory.mktemp(folder)
    proc = subprocess.run(["Rscript", str(SCRIPTS[folder]), str(out)], capture_output=True,
                          text=True, timeout=300, check=False)
    if proc.returncode != 0 and "there is no package called" in proc.stderr:
        pytest.skip(f"R package missing: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, proc.stderr
    return out


def test_same_r_package_versions(fresh: Path, folder: str):
    old = pd.read_csv(FIXTURES / folder / "metadata.csv").set_index("key")["value"]
    new = pd.read_csv(fresh / "metadata.csv").set_index("key")["value"]
    if not old[["survival", "cmprsk"]].equals(new[["survival", "cmprsk"]]):
        pytest.skip(f"fixtures made with survival {old['survival']} / cmprsk {old['cmprsk']}, "
                    f"this R has {new['survival']} / {new['cmprsk']}: compare by hand, "
                    "then regenerate the fixtures")


def test_script_writes_every_committed_fixture(fresh: Path, folder: str):
    assert sorted(p.name for p in fresh.glob("*.csv")) == sorted(
        p.name for p in (FIXTURES / folder).glob("*.csv"))


def test_fixtures_reproduced(fresh: Path, folder: str):
    for p in sorted((FIXTURES / folder).glob("*.csv")):
        if p.name != "metadata.csv":
            _same(p, fresh / p.name)


def _same(old_path: Path, new_path: Path) -> None:
    name = old_path.name
    old = pd.read_csv(old_path)
    new = pd.read_csv(new_path)
    assert list(old.columns) == list(new.columns)
    assert old.shape == new.shape
    for col in old.columns:
        if pd.api.types.is_numeric_dtype(old[col]):
            np.testing.assert_allclose(new[col].to_numpy(float), old[col].to_numpy(float),
                                       rtol=1e-9, atol=1e-12, equal_nan=True,
                                       err_msg=f"{name}: {col}")
        else:
            assert old[col].astype(str).tolist() == new[col].astype(str).tolist(), \
                f"{name}: {col}"
