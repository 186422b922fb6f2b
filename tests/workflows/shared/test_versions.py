"""Cache versions follow the code: a stage's closure, the task wiring and its libraries; a code edit misses the cache."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flyte.workflows import config

from flyte.workflows.shared import versions
from tests.flyte_package import BIN, REPO, clean_env

FAST = json.dumps({"max_rounds": 20, "early_stopping_rounds": 5, "learning_rate": 0.3})


def names(paths) -> set[str]:
    return {p.relative_to(versions.ROOT).as_posix() for p in paths}


def test_a_stage_closure_follows_imports_even_inside_functions_and_stops_at_the_project():
    fit = names(versions.closure("flyte.core.training.fit"))
    assert {"flyte/core/training/fit.py", "flyte/core/artifact/model.py", "flyte/core/artifact/schema.py", "flyte/core/data/labels.py", "flyte/core/data/tables.py"} <= fit
    assert "flyte/core/evaluation/score.py" not in fit and "flyte/core/evaluation/report.py" not in fit  # score's code is not fit's
    assert "flyte/core/evaluation/score.py" in names(versions.closure("flyte.core.evaluation.evaluate"))


def test_versions_are_the_manual_part_and_a_digest_and_differ_between_stages():
    stages = [config.INGEST_CACHE_VERSION, config.SPLIT_CACHE_VERSION, config.FIT_CACHE_VERSION,
              config.PREDICT_CACHE_VERSION, config.SCORE_CACHE_VERSION]  # fmt: skip
    assert all(re.fullmatch(r"\d+\.\d+-[0-9a-f]{16}(-[0-9a-f]{12})?", v) for v in stages)
    assert set(config.FIT_SETTINGS) == {"cpus", "memory_mib"}  # the leak threshold is a fit input now
    assert len(set(stages)) == len(stages)


def test_the_digest_changes_with_the_code_and_the_libraries(tmp_path, monkeypatch):
    shutil.copytree(REPO / "flyte", tmp_path / "flyte")
    monkeypatch.setattr(versions, "ROOT", tmp_path)
    before = {root: versions.code_digest(root, ("numpy",)) for root in ("flyte.core.training.fit", "flyte.core.evaluation.evaluate")}
    score = tmp_path / "flyte" / "core" / "evaluation" / "score.py"
    score.write_text(score.read_text().replace("accuracy=float(tp.sum() / n)", "accuracy=float(tp.sum() / n) * 0.5"))
    assert versions.code_digest("flyte.core.evaluation.evaluate", ("numpy",)) != before["flyte.core.evaluation.evaluate"]
    assert versions.code_digest("flyte.core.training.fit", ("numpy",)) == before["flyte.core.training.fit"]  # fit does not reach score.py
    monkeypatch.setattr(versions, "library_version", lambda name: f"{name}==99.0")
    assert versions.code_digest("flyte.core.training.fit", ("numpy",)) != before["flyte.core.training.fit"]  # an upgrade misses too


def run(copy, home, *args):
    proc = subprocess.run(
        [str(BIN / "pyflyte"), "run", "flyte/workflows/training/pipeline.py", "training_pipeline", "--hyperparameters", FAST, *args],
        cwd=copy, env={**clean_env(home), "PYTHONPATH": str(copy)}, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    accuracy = float(re.search(r"accuracy=([\d.]+)", proc.stdout)[1])
    model = re.search(r"model=(\S+?),", proc.stdout)[1]
    return accuracy, model


def test_an_edited_core_function_misses_the_cache_on_the_next_run(tmp_path):
    """The audit's case: change how score computes accuracy, rerun with the same inputs and the same cache."""
    copy, home = tmp_path / "repo", tmp_path / "home"
    shutil.copytree(REPO / "flyte", copy / "flyte", ignore=shutil.ignore_patterns("__pycache__"))
    first = run(copy, home)
    assert run(copy, home) == first  # unchanged code: served from the cache
    before = stage_versions(copy, home)
    score = copy / "flyte" / "core" / "evaluation" / "score.py"
    score.write_text(score.read_text().replace("accuracy=float(tp.sum() / n)", "accuracy=float(tp.sum() / n) * 0.5"))
    accuracy, model = run(copy, home)
    assert accuracy == pytest.approx(first[0] * 0.5)  # score ran again, with the new code
    # The published directory follows the new metrics (publish's closure holds score.py too); fit's closure did
    # not change, so its version is the same and the booster inside is the cached one, byte for byte.
    edited = stage_versions(copy, home)
    assert edited["FIT"] == before["FIT"] and edited["SCORE"] != before["SCORE"] and edited["PUBLISH"] != before["PUBLISH"]
    assert model != first[1]
    assert (Path(model) / "model.ubj").read_bytes() == (Path(first[1]) / "model.ubj").read_bytes()


def stage_versions(copy, home) -> dict[str, str]:
    """The copy's derived cache versions of fit, score and publish."""
    code = "from flyte.workflows import config as c; print(c.FIT_CACHE_VERSION, c.SCORE_CACHE_VERSION, c.PUBLISH_CACHE_VERSION)"
    proc = subprocess.run([sys.executable, "-c", code], cwd=copy, env={**clean_env(home), "PYTHONPATH": str(copy)},
                          capture_output=True, text=True, check=True)  # fmt: skip
    return dict(zip(("FIT", "SCORE", "PUBLISH"), proc.stdout.split()))


def test_the_fast_import_reader_agrees_with_pythons_parser_on_every_project_file():
    """versions reads imports with a regular expression (fast); ast is the reference it must match."""
    import ast

    def reference(path):
        found = set()
        for node in ast.walk(ast.parse(path.read_bytes())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
        return {n for n in found if n == "flyte" or n.startswith("flyte.")}

    files = sorted((REPO / "flyte").rglob("*.py"))
    assert len(files) > 20
    for path in files:
        assert set(versions._imports(path)) == reference(path), path


def test_a_second_digest_in_the_same_process_reads_no_metadata_and_no_unchanged_file(monkeypatch):
    """Each of the seventeen stages' versions used to parse every library's metadata and read every file of its
    closure again; what one stage read, the next reuses (an edited file is read again: the test above)."""
    import flyte.core.artifact.provenance as provenance

    def refuse(*args):
        raise AssertionError(f"read again: {args}")

    monkeypatch.setattr(provenance.metadata, "version", refuse)
    monkeypatch.setattr(Path, "read_bytes", refuse)
    monkeypatch.setattr(Path, "read_text", refuse)
    assert versions.derived("3.0", "flyte.core.evaluation.predict", config.XGBOOST) == config.PREDICT_CACHE_VERSION


def test_settings_a_task_passes_to_the_core_are_part_of_its_version():
    plain = versions.derived("1.0", "flyte.core.evaluation.evaluate", config.ARROW)
    one = versions.derived("1.0", "flyte.core.evaluation.evaluate", config.ARROW, settings={"exact_rows": 1_000_000, "auc_bins": 1 << 18})
    other = versions.derived("1.0", "flyte.core.evaluation.evaluate", config.ARROW, settings={"exact_rows": 2_000_000, "auc_bins": 1 << 18})
    assert len({plain, one, other}) == 3
    assert one == versions.derived("1.0", "flyte.core.evaluation.evaluate", config.ARROW, settings={"exact_rows": 1_000_000, "auc_bins": 1 << 18})
    # score's settings are its ScoreSettings input now, part of its cache key; its version is the code alone.
    assert config.SCORE_CACHE_VERSION == versions.derived("3.0", "flyte.core.evaluation.evaluate", config.ARROW)
