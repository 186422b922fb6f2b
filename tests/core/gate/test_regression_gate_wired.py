"""The regression gate's paired test wired end to end: a worse challenger refused with its interval and Wilcoxon p,
an equally good retrain on grown data promoted, require_better met only by a better one, the streamed path."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flyte.core.artifact.model import load_model, save_model
from flyte.core.artifact.schema import read_schema
from flyte.core.data.dataset import DatasetSpec
from flyte.core.data.ingest import ingest_table
from flyte.core.data.split import PART_NAMES, SplitParams, split_table
from flyte.core.evaluation.evaluate import evaluate
from flyte.core.evaluation.predict import predict_table
from flyte.core.gate.gate import GateRules, judge
from flyte.core.gate.regression_gate import compare_regression
from flyte.core.gate.regression_stats import BOOTSTRAP, NORMAL
from flyte.core.publishing.publish import CardSettings, publish_model
from flyte.core.registry.registry import Registry
from flyte.core.training.fit import train_model
from flyte.core.training.hyperparameters import Hyperparameters

GOOD = Hyperparameters(max_rounds=200, early_stopping_rounds=20, learning_rate=0.1, max_depth=4)
#: Two rounds at a small rate: predictions barely leave the mean, far worse than GOOD on any rows.
POOR = Hyperparameters(max_rounds=2, early_stopping_rounds=2, learning_rate=0.05, max_depth=2)
RULES = dict(min_accuracy=0.0, min_roc_auc=0.0, max_log_loss=10.0, alpha=0.05, bootstrap_replicates=200, bootstrap_seed=7,
             require_better=False, replace_incompatible=False, min_unseen_rows=100, min_r2=-100.0)  # fmt: skip
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def table(rows: int, seed: int = 3) -> pd.DataFrame:
    """A smooth target with noise sd 1; ``a`` is unique, a row's id."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    y = 3 * x[:, 0] + 2 * np.sin(2 * x[:, 1]) - x[:, 2] ** 2 + rng.normal(size=rows)
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": y})


def trained(work: Path, df: pd.DataFrame, hp: Hyperparameters):
    work.mkdir(parents=True)
    df.to_csv(work / "data.csv", index=False)
    spec = DatasetSpec(source=str(work / "data.csv"), target="y", problem_type="regression")
    split = SplitParams()
    profile = ingest_table(work / "data.csv", spec, work / "table", split=split).profile
    parts = {name: work / name for name in PART_NAMES}
    summary = split_table(work / "table", profile, split, parts)
    fit_dir = save_model(train_model(parts["train"], parts["validation"], profile, hp), work / "fit")
    predict_table(load_model(fit_dir), parts["test"], work / "predictions")
    metrics = evaluate(parts["test"], work / "predictions", read_schema(fit_dir), profile).metrics
    published = publish_model(fit_dir, work / "published", parts["test"], work / "predictions", metrics, profile, spec, split,
                              hp, "Predicts $target.", "local", CardSettings(replicates=100), {}, split=summary).directory  # fmt: skip
    return published, parts["test"], work / "predictions", metrics


def judged(tmp_path: Path, champion_df, champion_hp, challenger_df, challenger_hp, analytic_rows=0, judge_rows=0, **rules):
    registry = Registry(str(tmp_path / "registry"))
    champion = trained(tmp_path / "champion", champion_df, champion_hp)[0]
    registry.promote(champion, ["first"], NOW, expected_champion="")
    model, test, predictions, metrics = trained(tmp_path / "challenger", challenger_df, challenger_hp)
    return judge(model, test, predictions, metrics, str(registry.location), registry.champion_identity(),
                 GateRules(**{**RULES, **rules}), tmp_path / "scratch", analytic_rows=analytic_rows,
                 judge_rows=judge_rows).decision  # fmt: skip


def test_a_clearly_worse_challenger_is_refused_with_its_interval_and_wilcoxon_p(tmp_path):
    df = table(3_000)
    decision = judged(tmp_path, df, GOOD, df, POOR)
    c = decision.regression
    assert c.compared and c.tested and not decision.floors_only and not decision.promote
    assert c.method == BOOTSTRAP and c.replicates == 200 and c.seed == 7
    assert 0 < c.rmse_ci_low < c.rmse_difference < c.rmse_ci_high and c.wilcoxon_p < 1e-6
    reason = next(r for r in decision.reasons if r.startswith("significantly worse than the champion"))
    assert f"95% CI of the RMSE difference [{c.rmse_ci_low:+.4g}, {c.rmse_ci_high:+.4g}]" in reason
    assert f"Wilcoxon signed-rank p = {c.wilcoxon_p:.4g}" in reason


def test_an_equally_good_retrain_on_grown_data_is_not_judged_worse_and_is_promoted(tmp_path):
    df = table(4_000)
    decision = judged(tmp_path, df.iloc[:2_800], GOOD, df, GOOD)
    c = decision.regression
    assert c.tested and c.rows >= 100 and c.verdict != "significantly worse"
    assert not any(r.startswith("significantly worse") for r in decision.reasons), decision.reasons
    assert decision.promote and decision.reasons[-1] == "promote: every floor holds and the comparison allows it"


def test_require_better_is_met_by_a_better_challenger_only(tmp_path):
    df = table(3_000)
    better = judged(tmp_path / "better", df, POOR, df, GOOD, require_better=True)
    assert better.promote and better.regression.verdict == "significantly better"
    assert any(r.startswith("significantly better than the champion") for r in better.reasons)
    same = judged(tmp_path / "same", df, GOOD, df, GOOD, require_better=True)
    assert not same.promote
    assert any(r.startswith("not significantly better than the champion, which require_better asks") for r in same.reasons)


def test_from_analytic_rows_on_the_champion_is_streamed_into_a_normal_interval(tmp_path):
    df = table(3_000)
    decision = judged(tmp_path, df, GOOD, df, POOR, analytic_rows=100)
    c = decision.regression
    assert c.tested and c.method == NORMAL and c.replicates == 0 and c.wilcoxon_method == "normal, binned"
    assert 0 < c.rmse_ci_low < c.rmse_difference < c.rmse_ci_high and not decision.promote


def test_above_judge_rows_the_floors_stream_and_the_champion_is_met_on_a_seeded_sample(tmp_path):
    """Bounded memory at any row count: the same verdict on a sample of about 400 of the ~1,000 test rows, the R²
    floor from the score task's streamed metrics over every row (so the same-rows check still holds exactly)."""
    df = table(3_000)
    full = judged(tmp_path / "full", df, GOOD, df, POOR)
    sampled = judged(tmp_path / "sampled", df, GOOD, df, POOR, judge_rows=400)
    assert not sampled.promote and sampled.regression.tested and sampled.regression.verdict == "significantly worse"
    assert full.regression.test_rows > 900 and 300 < sampled.regression.test_rows < 500
    assert [f.value for f in sampled.floors] == pytest.approx([f.value for f in full.floors], rel=1e-9)
    assert any(r.startswith("judged in bounded memory") and "judge_rows=400" in r for r in sampled.reasons)
    # Streamed from analytic_rows on as well: the champion's predictions for the sampled rows only.
    streamed = judged(tmp_path / "streamed", df, GOOD, df, POOR, analytic_rows=100, judge_rows=400)
    assert streamed.regression.method == NORMAL and streamed.regression.rows == sampled.regression.rows


def test_the_in_memory_and_streamed_paths_agree_on_the_same_rows():
    rng = np.random.default_rng(0)
    y = rng.normal(size=5_000)
    ours, theirs = y + rng.normal(scale=1.1, size=5_000), y + rng.normal(size=5_000)
    rules = GateRules(**{**RULES, "bootstrap_replicates": 400})
    boot = compare_regression(y, ours, theirs, rules)
    normal = compare_regression(y, ours, theirs, rules, analytic_rows=1_000)
    assert boot.method == BOOTSTRAP and normal.method == NORMAL and boot.rmse_difference == normal.rmse_difference
    assert abs(boot.rmse_ci_low - normal.rmse_ci_low) < 0.02 and abs(boot.rmse_ci_high - normal.rmse_ci_high) < 0.02
    assert boot.verdict == normal.verdict == "significantly worse"
    capped = compare_regression(y, ours, theirs, rules, budget=200 * 5_000)
    assert capped.replicates == 200


def test_the_gate_page_tabulates_a_regression_comparison():
    from flyte.core.gate.decision import GateDecision
    from flyte.core.gate.gate_report import render_gate
    from flyte.core.gate.regression_comparison import RegressionComparison

    c = RegressionComparison(compared=True, rows=812, test_rows=900, seen_rows=88, challenger_rmse=12.5, champion_rmse=10.25,
                             rmse_difference=2.25, challenger_mae=9.5, champion_mae=8.0, tested=True, rmse_ci_low=1.125,
                             rmse_ci_high=3.375, wilcoxon_p=0.000123, confidence=0.95, replicates=200, seed=7,
                             wilcoxon_method="normal", challenger_closer=300, champion_closer=500, verdict="significantly worse")  # fmt: skip
    html = render_gate(GateDecision(False, ["significantly worse"], champion="v1@x", champion_version="v1", regression=c), "y")
    assert "<tr><td>RMSE</td><td>12.5</td><td>10.25</td><td>+2.25</td><td>[+1.125, +3.375]</td></tr>" in html
    assert "<tr><td>MAE</td><td>9.5</td><td>8</td><td>+1.5</td>" in html
    assert "<tr><td>Wilcoxon p</td><td colspan=4>0.000123</td></tr>" in html and "<tr><td>rows</td><td colspan=4>812</td></tr>" in html
    assert "95% CI" in html and "200 resamples" in html and "88 of the challenger&#x27;s 900 test rows were left out" in html
    assert "McNemar" not in html and "ROC AUC" not in html
    untested = render_gate(GateDecision(True, ["ok"], regression=RegressionComparison(compared=True, rows=50)), "y")
    assert "not tested" in untested and "Wilcoxon p</td>" not in untested and "floors alone decided" in untested
    classifier = render_gate(GateDecision(True, ["ok"]), "y")
    assert "Wilcoxon" not in classifier
