"""The algorithm image (docker/Dockerfile) builds and can import the algorithm with
vantage6's own tools. Needs a running Docker daemon and network access to PyPI; skipped
with the reason otherwise."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "docker" / "Dockerfile"


def _docker_ready() -> str | None:
    if shutil.which("docker") is None:
        return "docker is not installed"
    proc = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False,
                          timeout=60)
    if proc.returncode != 0:
        return "the Docker daemon is not running (docker info failed)"
    return None


def test_dockerfile_names_the_algorithm_module():
    text = DOCKERFILE.read_text()
    assert "ENV PKG_NAME=thuiszit_eval.federated" in text
    assert "wrap_algorithm" in text and "-c requirements.lock" in text


@pytest.mark.skipif(_docker_ready() is not None, reason=f"cannot build the algorithm image: "
                    f"{_docker_ready()}")
def test_algorithm_image_builds():
    tag = "thuiszit-eval-federated:test"
    build = subprocess.run(["docker", "build", "-f", str(DOCKERFILE), "-t", tag, str(ROOT)],
                           capture_output=True, text=True, timeout=1800, check=False)
    assert build.returncode == 0, build.stderr[-3000:]
    run = subprocess.run(["docker", "run", "--rm", tag, "python", "-c",
                          "import thuiszit_eval.federated as f; print(f.HAVE_VANTAGE6, "
                          "callable(f.partial_survival_counts))"],
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.stdout.strip() == "True True", run.stderr
