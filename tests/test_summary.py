"""The end-of-run summary: what it names, the gate in one line, drift as flagged features only, no line over 300."""

from __future__ import annotations

from pathlib import Path

from flytekit.types.directory import FlyteDirectory
from flytekit.types.file import FlyteFile
from flytekit.types.structured import StructuredDataset

from flyte import summary
from flyte.core.artifact.drift import DriftSummary, FeatureDrift
from flyte.core.gate.gate import GateDecision
from flyte.core.evaluation.score import Metrics
from flyte.workflows.batch.pipeline import BatchOutputs
from flyte.workflows.training.pipeline import TrainingOutputs

METRICS = Metrics(accuracy=0.75984, balanced_accuracy=0.71423, roc_auc=0.85182, log_loss=0.46296, f1=0.62106, rows=254)


def training(decision: GateDecision) -> TrainingOutputs:
    return TrainingOutputs(
        model=FlyteDirectory("/runs/a/published"), metrics=METRICS, decision=decision, report=FlyteFile("/runs/b/report.html"),
        outcome="the gate's outcome line",
    )


def drift(flagged: int, features: int = 8, name_length: int = 8) -> DriftSummary:
    names = [f"f{i:0{name_length - 1}d}" for i in range(features)]
    bins = [f"[{i}, {i + 1})" for i in range(40)]
    out = [FeatureDrift(feature=n, kind="numeric", psi=0.5 + i / 100, flagged=i < flagged, bins=bins,
                        reference_share=[0.025] * 40, batch_share=[0.025] * 40) for i, n in enumerate(names)]  # fmt: skip
    return DriftSummary(threshold=0.2, rows=100, reference_rows=411, flagged=names[:flagged], features=out)


def test_a_training_summary_names_the_model_report_metrics_gate_decks_and_next_command():
    decision = GateDecision(promote=True, reasons=["no champion yet"], promoted_version="20261207T0233Z-a30b")
    lines = summary.summary_lines(training(decision), [("Model report", Path("/runs/f/deck.html"))])
    text = "\n".join(lines)
    assert "Model:   /runs/a/published" in lines and "Report:  /runs/b/report.html" in lines
    header, values = lines[lines.index("Metrics (test rows):") + 1 :][:2]
    assert header.split() == ["rows", "accuracy", "balanced_accuracy", "roc_auc", "log_loss", "f1"]
    assert values.split() == ["254", "0.7598", "0.7142", "0.8518", "0.4630", "0.6211"]
    assert "Gate:    promoted as 20261207T0233Z-a30b: no champion yet" in lines
    assert "  Model report: /runs/f/deck.html" in lines
    assert lines[-1] == (
        "Next: python -m flyte.cli run flyte/workflows/batch/pipeline.py batch_predict --model /runs/a/published"
        " (add --dataset '{\"source\": ...}' for rows of your own)"
    )
    assert "Metrics(" not in text and "GateDecision(" not in text


def test_the_gate_is_one_line_however_many_reasons_and_each_line_is_at_most_300_characters():
    reasons = [f"reason {i}: " + "x" * 120 for i in range(10)]
    lines = summary.summary_lines(training(GateDecision(promote=False, reasons=reasons, champion_version="v7")), [])
    gate = [line for line in lines if line.startswith("Gate:")]
    assert len(gate) == 1 and gate[0].startswith("Gate:    kept the champion v7: reason 0: ") and gate[0].endswith("…")
    assert max(len(line) for line in lines) <= summary.MAX_LINE_CHARS
    assert "Decks: none written this run" in "\n".join(lines)


def test_a_batch_summary_names_predictions_csv_report_and_only_the_flagged_features():
    outputs = BatchOutputs(
        predictions=StructuredDataset(uri="/runs/p/predictions"), report=FlyteFile("/runs/r/report.html"),
        drift=drift(flagged=2), metrics=None, csv=FlyteFile("/runs/p/predictions.csv"),
    )  # fmt: skip
    lines = summary.summary_lines(outputs, [])
    assert "Predictions: /runs/p/predictions (Parquet)" in lines and "CSV:         /runs/p/predictions.csv" in lines
    assert "Drift:       100 rows against 411 training rows; 2 of 8 features past PSI 0.2: f0000000 (0.50), f0000001 (0.51)" in lines
    text = "\n".join(lines)
    assert "[3, 4)" not in text and "f0000002" not in text  # no bins, no unflagged feature
    assert "uri=None" not in text and lines[-1].startswith("Next: open /runs/r/report.html")


def test_many_flagged_features_are_cut_with_a_count_of_the_rest():
    outputs = BatchOutputs(StructuredDataset(uri="/p"), FlyteFile("/r.html"), drift(flagged=60, features=60, name_length=30), None, None)
    lines = summary.summary_lines(outputs, [])
    line = next(line for line in lines if line.startswith("Drift:"))
    assert len(line) <= summary.MAX_LINE_CHARS and line.endswith("more (the report lists them all)")
    shown = line.count("(0.")
    assert 0 < shown < 60 and f"… and {60 - shown} more" in line
    assert "CSV:         not written" in "\n".join(lines)


def test_an_undrifted_batch_says_so():
    assert summary.drift_line(drift(flagged=0)).endswith("no feature past PSI 0.2")


def test_any_other_output_is_listed_field_by_field_and_cut():
    lines = summary.summary_lines("y" * 1000, [])
    assert lines == ["Output: " + "y" * (summary.MAX_LINE_CHARS - len("Output: ") - 1) + "…"]


def test_the_projects_flags_are_taken_out_wherever_given():
    argv, options = summary.split_options(["--quiet", "run", "--raw-outputs", "wf.py", "wf", "--dataset", "{}"])
    assert argv == ["run", "wf.py", "wf", "--dataset", "{}"] and options == summary.Options(quiet=True, raw=True)
    assert summary.split_options(["run", "wf.py", "wf"]) == (["run", "wf.py", "wf"], summary.Options())


def test_decks_written_lists_this_runs_pages_by_their_tabs(tmp_path):
    import os

    tab = '<li onclick="handleLinkClick(this)">{}</li>'
    old, new = tmp_path / "a" / "deck.html", tmp_path / "b" / "deck.html"
    for path, tabs in ((old, ["Input", "Model report"]), (new, ["Model report", "Quality gate", "Timeline"])):
        path.parent.mkdir()
        path.write_text("".join(tab.format(t) for t in tabs))
    os.utime(old, (1000, 1000))
    assert summary.decks_written(tmp_path, since=5000) == [("Model report, Quality gate", new)]
    # Each page is named by the tabs it adds: a local run's later pages repeat the earlier ones'.
    assert summary.decks_written(tmp_path, since=0) == [("Model report", old), ("Quality gate", new)]


def test_a_tuning_summary_adds_the_trials_report_the_search_and_the_chosen_settings():
    from flyte.core.training.hyperparameters import Hyperparameters
    from flyte.core.tuning.search import TrialResult
    from flyte.workflows.tuning.pipeline import TuningOutputs

    best = Hyperparameters(learning_rate=0.1, max_depth=4)
    trials = [TrialResult(index=0, mean_log_loss=0.52, std_log_loss=0.02), TrialResult(index=3, hyperparameters=best, mean_log_loss=0.48, std_log_loss=0.01)]
    outputs = TuningOutputs(
        best_hyperparameters=best, cv_results=trials, model=FlyteDirectory("/runs/t/published"), metrics=METRICS,
        decision=GateDecision(promote=True, reasons=["every floor holds"], promoted_version="v9"),
        report=FlyteFile("/runs/t/report.html"), trials_report=FlyteFile("/runs/t/trials.html"),
        outcome="promoted: v9 is the champion",
    )  # fmt: skip
    lines = summary.summary_lines(outputs, [])
    assert "Trials:  /runs/t/trials.html" in lines and "Model:   /runs/t/published" in lines
    assert "Search:  2 trials; best trial 3: cross-validated log loss 0.4800 ± 0.0100" in lines
    best_line = next(line for line in lines if line.startswith("Best:"))
    assert "learning_rate=0.1" in best_line and "max_depth=4" in best_line
    assert lines[-1].startswith("Next: python -m flyte.cli run flyte/workflows/batch/pipeline.py batch_predict --model /runs/t/published")
