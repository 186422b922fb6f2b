"""Fixtures for running the workflow through the real `pyflyte run` command line."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.flyte_package import BIN, REPO, clean_env

RUN = ["run", "flyte/workflows/training.py", "training_pipeline"]


@dataclass
class CliRun:
    stdout: str
    metrics: dict[str, float]
    model: Path
    report: Path


def pyflyte_run(home: Path, *args: str) -> CliRun:
    """`pyflyte run` in a fresh process with its own HOME (so its own local cache); parses what it prints."""
    proc = subprocess.run(
        [str(BIN / "pyflyte"), *RUN, *args], cwd=REPO, env=clean_env(home), capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    metrics_text = re.search(r"metrics=Metrics\((.*?)\)", out, flags=re.DOTALL)
    assert metrics_text, out
    metrics = {k: float(v) for k, v in re.findall(r"(\w+)=(-?[\d.]+(?:e-?\d+)?)\b", metrics_text[1])}
    model = re.search(r"model=(\S+?),", out)
    report = re.search(r"report=(\S+?)\)\s*$", out.strip())
    assert model and report, out
    return CliRun(stdout=out, metrics=metrics, model=Path(model[1]), report=Path(report[1]))


@pytest.fixture(scope="session")
def cli_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli-home")


@pytest.fixture(scope="session")
def cli_default_run(cli_home) -> CliRun:
    """The README's run: `pyflyte run flyte/workflows/training.py training_pipeline`, all defaults."""
    return pyflyte_run(cli_home)
