"""The gate compares challenger and champion only on rows neither trained on: the grown table, the changed seed."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest

from flyte.core.gate import gate_rows
from flyte.core.data.dataset import DatasetSpec
from flyte.core.evaluation.evaluate import evaluate
from flyte.core.training.fit import train_model
from flyte.core.gate.gate import GateRules, judge
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.data.ingest import ingest_table
from flyte.core.artifact.model import load_model, save_model
from flyte.core.evaluation.predict import predict_table
from flyte.core.publishing.publish import CardSettings, publish_model
from flyte.core.registry.registry import Registry
from flyte.core.artifact.schema import read_schema
from flyte.core.data.split import PART_NAMES, SplitParams, split_table
from tests.data_factory import read_frame

#: Deep trees and many rounds: the model fits its training rows far better than new ones, which is what made
#: a champion scored on its own training rows look better than any retrain.
OVERFIT = Hyperparameters(max_rounds=60, early_stopping_rounds=60, learning_rate=0.3, max_depth=8)
RULES = GateRules(min_accuracy=0.0, min_roc_auc=0.0, max_log_loss=10.0, alpha=0.05, bootstrap_replicates=200,
                  bootstrap_seed=7, require_better=False, replace_incompatible=False, min_unseen_rows=100)  # fmt: skip
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def table(rows: int, seed: int = 5) -> pd.DataFrame:
    """Binary rows with label noise (about 80% is the best accuracy): room to overfit. ``a`` is unique: a row's id."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4))
    y = ((x[:, 0] + 0.7 * x[:, 1] - 0.4 * x[:, 2] + rng.normal(scale=0.9, size=rows)) > 0).astype(int)
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "d": x[:, 3], "y": y})


def trained(work: Path, df: pd.DataFrame, split: SplitParams, record_rule: bool = True):
    """Ingest, split, fit, predict, score and publish as the pipeline does; returns (published dir, parts, metrics)."""
    work.mkdir(parents=True)
    df.to_csv(work / "data.csv", index=False)
    spec = DatasetSpec(source=str(work / "data.csv"), target="y")
    profile = ingest_table(work / "data.csv", spec, work / "table", split=split).profile
    parts = {name: work / name for name in PART_NAMES}
    summary = split_table(work / "table", profile, split, parts)
    fit_dir = save_model(train_model(parts["train"], parts["validation"], profile, OVERFIT), work / "fit")
    predict_table(load_model(fit_dir), parts["test"], work / "predictions")
    metrics = evaluate(parts["test"], work / "predictions", read_schema(fit_dir), profile).metrics
    published = publish_model(
        fit_dir, work / "published", parts["test"], work / "predictions", metrics, profile, spec, split, OVERFIT,
        "Use for $target.", "local", CardSettings(replicates=100), {}, split=summary if record_rule else None,
    ).directory  # fmt: skip
    return published, parts, metrics


def judged(tmp_path: Path, champion_df, champion_split, challenger_df, challenger_split, rules=RULES, record_rule=True):
    registry = Registry(str(tmp_path / "registry"))
    champion, champion_parts, _ = trained(tmp_path / "champion", champion_df, champion_split, record_rule)
    registry.promote(champion, ["first"], NOW, expected_champion="")
    challenger, parts, metrics = trained(tmp_path / "challenger", challenger_df, challenger_split)
    args = (challenger, parts["test"], tmp_path / "challenger" / "predictions", metrics, str(registry.location),
            registry.champion_identity(), rules)  # fmt: skip
    with mock.patch("flyte.core.gate.gate_rows.unseen_rows", wraps=gate_rows.unseen_rows) as spy:
        result = judge(*args, tmp_path / "scratch")
    return result.decision, champion_parts, parts, spy, args


def worse(r: str) -> bool:
    return r.startswith("significantly worse")


def compared_ids(spy, test: Path) -> set[float]:
    """The ids (column ``a``) of the test rows the comparison used, from what unseen_rows returned."""
    assert spy.call_count == 1
    mask = gate_rows.unseen_rows(*spy.call_args.args).mask
    return set(read_frame(test)["a"][mask])


def champion_seen_ids(parts: dict[str, Path]) -> set[float]:
    return set(read_frame(parts["train"])["a"]) | set(read_frame(parts["validation"])["a"])


def test_a_retrain_on_a_grown_table_is_compared_only_on_rows_the_champion_never_saw(tmp_path):
    """The nightly case at a tenth of the size: the champion on the first 7k rows, the retrain after 3k are
    appended, same settings. Neither may be judged worse, and no compared row is one the champion learned from."""
    df = table(10_000)
    decision, champion_parts, parts, spy, _ = judged(tmp_path, df.iloc[:7_000], SplitParams(), df, SplitParams())
    c = decision.comparison
    assert c.compared and not decision.floors_only
    assert not any(worse(r) for r in decision.reasons), decision.reasons
    assert decision.promote
    ids = compared_ids(spy, parts["test"])
    assert len(ids) == c.rows and c.rows + c.seen_rows == c.test_rows
    assert not ids & champion_seen_ids(champion_parts)
    # Every row of the champion's own test part is still a test row, and compared: appending moved none.
    assert set(read_frame(champion_parts["test"])["a"]) <= ids


@pytest.mark.parametrize("seeds", [(7, 8), (8, 7)])
def test_a_changed_split_seed_is_compared_only_on_rows_neither_model_saw(tmp_path, seeds):
    df = table(10_000)
    decision, champion_parts, parts, spy, args = judged(tmp_path, df, SplitParams(seed=seeds[0]), df, SplitParams(seed=seeds[1]))
    c = decision.comparison
    assert c.compared and decision.promote, decision.reasons
    assert not any(worse(r) for r in decision.reasons)
    ids = compared_ids(spy, parts["test"])
    assert len(ids) == c.rows and not ids & champion_seen_ids(champion_parts)
    assert ids == set(read_frame(champion_parts["test"])["a"]) & set(read_frame(parts["test"])["a"])
    # About a third of the challenger's test rows are the champion's test rows too (0.33 each, independent seeds).
    assert 0.25 < c.rows / c.test_rows < 0.42
    assert any(f"on the {c.rows} test rows neither model trained on" in r for r in decision.reasons)
    # The same pair judged on every test row, as before the rule was recorded: the champion, scored partly on
    # rows it trained on, looks significantly better. This is what the unseen-row restriction prevents.
    everything = gate_rows.Unseen(np.ones(c.test_rows, dtype=bool), "")
    with mock.patch("flyte.core.gate.gate_rows.unseen_rows", return_value=everything):
        flattered = judge(*args, tmp_path / "scratch-all").decision
    assert not flattered.promote and any(worse(r) for r in flattered.reasons), flattered.reasons


def test_too_few_unseen_rows_the_floors_decide_and_the_decision_says_so(tmp_path):
    df = table(3_000)
    rules = GateRules(**{**RULES.__dict__, "min_unseen_rows": 5_000})
    decision, _, _, _, _ = judged(tmp_path, df, SplitParams(seed=7), df, SplitParams(seed=8), rules)
    assert decision.floors_only and not decision.comparison.compared and decision.promote
    assert decision.comparison.rows + decision.comparison.seen_rows == decision.comparison.test_rows > 0
    assert any(r.startswith("too few test rows to judge against the champion") and "min_unseen_rows=5000" in r
               for r in decision.reasons)  # fmt: skip


def test_a_champion_without_a_recorded_rule_counts_every_row_as_seen(tmp_path):
    df = table(3_000)
    decision, _, _, _, _ = judged(tmp_path, df, SplitParams(), df, SplitParams(), record_rule=False)
    assert decision.floors_only and decision.comparison.rows == 0 and decision.comparison.seen_rows == decision.comparison.test_rows
    assert any("records no split rule" in r for r in decision.reasons)


def test_a_recorded_rule_of_another_version_is_not_trusted():
    from flyte.core.artifact.manifest import Manifest

    good = {"method": "row-hash", "hash_version": 1, "seed": 7, "test_ratio": 0.33, "validation_ratio": 0.2, "key_column": ""}
    assert gate_rows.recorded_rule(Manifest(split={"rule": good})).seed == 7
    for bad in ({**good, "hash_version": 2}, {**good, "method": "shuffle"}, {**good, "seed": "7"}, {**good, "test_ratio": 1.5}):
        assert gate_rows.recorded_rule(Manifest(split={"rule": bad})) is None
    assert gate_rows.recorded_rule(Manifest()) is None
