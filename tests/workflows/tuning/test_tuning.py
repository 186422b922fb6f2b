"""tuning_pipeline end to end: local runs, the per-trial cache, the graph keeping test rows from the trials, the CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from unittest import mock

import pytest
from flytekit.core.array_node_map_task import ArrayNodeMapTask

from flyte.core.tuning import cross_validation
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.artifact.model import load_model
from flyte.core.tuning.search import SearchSpace, sample_trials
from flyte.workflows.tuning.pipeline import nightly_tuning_lp, tuning_pipeline, tuning_pipeline_lp
from tests.flyte_package import BIN, REPO, clean_env

FAST = Hyperparameters(max_rounds=40, early_stopping_rounds=10, learning_rate=0.3)
TINY = SearchSpace(trials=3, folds=3)


@pytest.fixture
def registry(tmp_path) -> str:
    """A model registry of the test's own: a run never promotes into the repo."""
    return str(tmp_path / "registry")


def test_tiny_search_on_the_second_dataset_shape(mixed_csv, registry):
    _, spec = mixed_csv
    out = tuning_pipeline(registry=registry, dataset=spec, hyperparameters=FAST, search=TINY)
    assert [r.index for r in out.cv_results] == [0, 1, 2]
    assert [r.hyperparameters for r in out.cv_results] == [t.hyperparameters for t in sample_trials(TINY, FAST)]
    best = min(out.cv_results, key=lambda r: (r.mean_log_loss, r.index))
    assert out.best_hyperparameters == best.hyperparameters
    model = load_model(Path(out.model.download()))  # refit with the best configuration
    assert model.schema.labels == ["alpha", "beta", "gamma"]
    assert out.metrics.rows > 0 and out.metrics.accuracy > 0.6
    page = Path(out.trials_report.download()).read_text()
    assert "Hyperparameter search" in page and f"{best.index} ★" in page


def test_a_rerun_with_more_trials_reuses_the_finished_ones(mixed_csv, registry):
    _, spec = mixed_csv
    with mock.patch.object(cross_validation, "cross_validate", wraps=cross_validation.cross_validate) as spy:
        first = tuning_pipeline(registry=registry, dataset=spec, hyperparameters=FAST, search=TINY)
        assert sorted(c.args[3].index for c in spy.call_args_list) == [0, 1, 2]
        spy.reset_mock()
        more = tuning_pipeline(registry=registry, dataset=spec, hyperparameters=FAST, search=SearchSpace(trials=5, folds=3))
        assert sorted(c.args[3].index for c in spy.call_args_list) == [3, 4]  # trials 0-2 came from the cache
        spy.reset_mock()
        tuning_pipeline(registry=registry, dataset=spec, hyperparameters=FAST, search=SearchSpace(trials=5, folds=3))
        assert spy.call_count == 0  # the whole run again: everything cached
    assert more.cv_results[:3] == first.cv_results


def test_other_folds_are_other_trials(mixed_csv, registry):
    """The folds are part of each trial's key: changing them must not serve the old scores."""
    _, spec = mixed_csv
    with mock.patch.object(cross_validation, "cross_validate", wraps=cross_validation.cross_validate) as spy:
        tuning_pipeline(registry=registry, dataset=spec, hyperparameters=FAST, search=SearchSpace(trials=2, folds=3))
        tuning_pipeline(registry=registry, dataset=spec, hyperparameters=FAST, search=SearchSpace(trials=2, folds=4))
    assert spy.call_count == 4


def map_node():
    (node,) = [n for n in tuning_pipeline.nodes if isinstance(n.flyte_entity, ArrayNodeMapTask)]
    return node


def test_the_trials_never_receive_the_test_part():
    """The compiled graph: the map task's inputs are bound to split's train and validation outputs, never test."""
    node = map_node()
    split = next(n for n in tuning_pipeline.nodes if n.flyte_entity.name == "flyte.workflows.training.tasks.split")
    bound = {b.var: b.binding.promise for b in node.bindings if b.binding.promise is not None}
    from_split = {var: p.var for var, p in bound.items() if p.node_id == split.id}
    assert from_split == {"train": "train", "validation": "validation"}
    assert "test" not in {p.var for p in bound.values()}
    assert sorted(node.flyte_entity.python_interface.inputs) == ["cv", "profile", "train", "trial", "validation"]
    assert node.flyte_entity.bound_inputs == {"cv", "profile", "train", "validation"}  # only `trial` is mapped


def test_launch_plans_are_defined():
    assert tuning_pipeline_lp.name == "flyte.workflows.tuning.pipeline.tuning_pipeline"
    assert nightly_tuning_lp.name == "tuning_pipeline_nightly"
    assert nightly_tuning_lp.schedule.kickoff_time_input_arg == "data_as_of"


def test_pyflyte_run_tiny_search_on_the_bundled_data(tmp_path):
    """README's command, with a tiny search: the outputs print, and the best configuration is one of the trials."""
    search = {"trials": 3, "folds": 3, "max_depth": {"low": 2, "high": 4, "integer": True}}
    proc = subprocess.run(
        [str(BIN / "pyflyte"), "run", "flyte/workflows/tuning/pipeline.py", "tuning_pipeline", "--search", json.dumps(search),
         "--hyperparameters", json.dumps({"max_rounds": 60, "early_stopping_rounds": 10}),
         "--registry", str(tmp_path / "registry")],
        cwd=REPO, env=clean_env(tmp_path), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "best_hyperparameters=Hyperparameters(" in out and "cv_results=[TrialResult(index=0" in out
    assert out.count("TrialResult(") == 3 and "rows=259" in out  # the test part: 259 of 768 rows under the default seed
    assert "max_rounds=60" in out
    assert "decision=GateDecision(promote=True" in out and (tmp_path / "registry" / "pima-indians-diabetes" / "champion.json").is_file()


def test_pyflyte_run_refuses_a_bad_search_before_running(tmp_path):
    proc = subprocess.run(
        [str(BIN / "pyflyte"), "run", "flyte/workflows/tuning/pipeline.py", "tuning_pipeline", "--search", '{"trails": 3}'],
        cwd=REPO, env=clean_env(tmp_path), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "did you mean 'trials'" in proc.stdout + proc.stderr
