"""A local training run refuses a feature that copies the target, and the card lists what was checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from flyte.core.data.dataset import DatasetSpec
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.workflows.training.pipeline import training_pipeline
from tests.data_factory import binary_frame

FAST = Hyperparameters(max_rounds=30, early_stopping_rounds=5, learning_rate=0.3)


def leaky_csv(tmp_path: Path) -> Path:
    df = binary_frame(rows=400)
    df["outcome_code"] = df["y"] * 7  # recorded after the outcome: the label in other words
    path = tmp_path / "leaky.csv"
    df.to_csv(path, index=False)
    return path


def test_a_run_with_a_copy_of_the_target_is_refused_naming_the_column(tmp_path):
    spec = DatasetSpec(source=str(leaky_csv(tmp_path)), target="y")
    with pytest.raises(Exception, match=r"feature 'outcome_code' alone predicts target 'y' on the training rows: leak score 1\.0000"):
        training_pipeline(dataset=spec, hyperparameters=FAST, registry=str(tmp_path / "registry"))


def test_an_allowed_column_trains_and_the_card_says_so(tmp_path):
    spec = DatasetSpec(source=str(leaky_csv(tmp_path)), target="y", allow_predictive_columns=["outcome_code"])
    run = training_pipeline(dataset=spec, hyperparameters=FAST, registry=str(tmp_path / "registry"))
    card = (Path(run.model.download()) / "model_card.html").read_text()
    assert "Leakage check" in card and "above the threshold, allowed" in card
    assert "allow_predictive_columns: outcome_code" in card
