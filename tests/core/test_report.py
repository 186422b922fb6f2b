"""Tests for flyte.core.report: a self-contained page with every section, safe against odd names."""

from __future__ import annotations

import numpy as np

from flyte.core.ingest import DataProfile
from flyte.core.report import render_report
from flyte.core.score import Metrics


def sample(labels=("0", "1")):
    metrics = Metrics(
        accuracy=0.8125, balanced_accuracy=0.75, roc_auc=0.9, log_loss=0.4, precision=0.7, recall=0.6, f1=0.65,
        labels=list(labels), confusion_matrix=[[5, 1], [2, 8]], rows=16,
    )
    profile = DataProfile(
        source="bundled://pima.csv", sha256="ab" * 32, rows=100, columns=3, target="class",
        feature_columns=["glucose", "<script>alert(1)</script>"], dtypes={"glucose": "float64", "class": "int64"},
        missing={"glucose": 4, "class": 0}, class_counts={"0": 60, "1": 40},
    )
    y = [0, 1] * 8
    proba = np.column_stack([np.linspace(0.9, 0.1, 16), np.linspace(0.1, 0.9, 16)])
    importance = {"glucose": 30.0, "<script>alert(1)</script>": 10.0}
    return render_report(metrics, y, proba, [0, 1], importance, profile)


def test_report_has_every_section_and_the_numbers():
    html = sample()
    for heading in ("Confusion matrix", "ROC curve", "Feature importance", "Data profile", "Class balance"):
        assert heading in html
    assert "0.812" in html and "0.900" in html  # accuracy and AUC cards, three decimals
    assert html.count("<svg") == 3
    assert "75.0%" in html  # glucose's share of total gain
    assert "4.0%" in html  # glucose missing share


def test_report_is_self_contained_and_escapes_names():
    html = sample()
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "http://" not in html and "https://" not in html  # renders with no network


def test_multiclass_report_draws_one_curve_per_class():
    metrics = Metrics(labels=["a", "b", "c"], confusion_matrix=[[2, 0, 0], [0, 2, 0], [0, 0, 2]], rows=6, average="macro")
    proba = np.eye(3)[[0, 0, 1, 1, 2, 2]] * 0.8 + 0.2 / 3
    html = render_report(metrics, list("aabbcc"), proba, ["a", "b", "c"], {"x": 1.0}, DataProfile(target="t"))
    roc = html.split('aria-label="ROC curve"')[1].split("</svg>")[0]
    assert roc.count('stroke-width="2"') == 3
    assert "(macro)" in html
